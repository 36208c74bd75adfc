"""`python -m zoo.report [--experiment heads] [--out reports/heads] [--from-csv DIR [DIR ...] [--presets A,B]] [--baseline NAME]`

Builds a comparison report from the finished zoo runs of one MLflow experiment (or from the CSV
files a previous report exported; several folders, e.g. campaigns that each ran one recipe, are
merged into one comparison named by `--out`, `--presets` keeping the runs of some presets only):
`index.html` (self-contained, figures embedded), `README.md`
with the figures beside it, and the run tables as CSV so the report can be rebuilt without the store.
It compares variants: architectures (a grid of one preset) or presets (a grid of recipes for one
architecture, e.g. learning-rate schedules); see zoo.tracking.run_tables.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from zoo import cli
from zoo.config import repo_path
from zoo.reporting.report import MERGED_FROM, SPEED_CSV, build, folder_notes, load_speed, write
from zoo.tracking.run_tables import ReportDataError, RunTables


def _tables_from_csv(folders: list[Path], out: Path | None, presets: list[str] | None,
                     baseline: str | None = None) -> tuple[RunTables, str]:
    """One folder's tables (a rebuild), or several folders' merged under --out's name, and a note that says
    what was merged (kept in notes.txt, so the merged folder rebuilds on its own)."""
    from zoo.tracking import run_tables

    if len(folders) == 1 and not presets:
        return RunTables.from_csv(folders[0]), ""
    if out is None:
        raise ReportDataError("merging report folders (several --from-csv, or --presets) needs --out: the merged report's folder and name")
    tables = run_tables.merged([RunTables.from_csv(folder) for folder in folders], Path(out).name, presets)
    command = (f"python -m zoo.report --from-csv {' '.join(repo_path(folder) for folder in folders)}"
               + (f" --presets {','.join(presets)}" if presets else "") + (f" --baseline {baseline}" if baseline else "")
               + f" --out {repo_path(out)}")
    return tables, f"{MERGED_FROM}{len(folders)} report folder(s) by `{command}`; {len(tables.runs)} runs."


def _speed_folder(out: Path, rebuilt_from: Path | None) -> Path | None:
    """Where the speed table (`zoo.speed`, one process on one machine) comes from: the output folder's own,
    else, for a rebuild of one folder into another, that folder's (like its notes); None when neither has one."""
    for folder in (out, *([rebuilt_from] if rebuilt_from else [])):
        if (Path(folder) / SPEED_CSV).is_file():
            return Path(folder)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m zoo.report", __doc__)
    parser.add_argument("--experiment", default="heads", help="MLflow experiment of zoo runs (default: heads)")
    parser.add_argument("--out", type=cli.blank_means(Path, None), help="output folder (default: reports/<experiment>)")
    parser.add_argument("--from-csv", type=Path, nargs="+", metavar="DIR", help="rebuild from the runs.csv/curves.csv/"
                        "char_errors.csv of a report folder; several folders are merged into one comparison (--out "
                        "names it; a run in two folders counts once)")
    parser.add_argument("--presets", type=cli.comma_separated, metavar="A,B",
                        help="with --from-csv: only the runs of these presets")
    parser.add_argument("--baseline", help="the variant every other one is tested against (default: bigru for "
                        "a grid of architectures, the grid's first preset for a grid of presets)")
    parser.add_argument("--note", action="append", default=[], help="a caveat to print under the summary (repeatable; "
                        "kept in notes.txt, reused by --from-csv: a rebuild of the folder, or a merge again into the same --out)")
    args = parser.parse_args(argv)
    from zoo.tracking import run_tables
    from zoo import tracking

    try:
        notes = args.note
        # one folder given: a rebuild, whose state, kept models and speed table the new folder takes
        rebuilt_from = args.from_csv[0] if args.from_csv and len(args.from_csv) == 1 else None
        if args.presets and not args.from_csv:
            raise ReportDataError("--presets picks runs from --from-csv folders; give the folders")
        if args.from_csv:
            tables, merge_note = _tables_from_csv(args.from_csv, args.out, args.presets, args.baseline)
            # without --note, a rebuild keeps the folder's notes, and a merge again into --out keeps --out's
            kept = args.out if merge_note else rebuilt_from
            if not notes:
                notes = [line for line in folder_notes(kept)
                         if not (merge_note and line.startswith(MERGED_FROM))]  # the merge line is written anew
            notes = [*notes, *([merge_note] if merge_note else [])]
        else:
            tables = run_tables.from_mlflow(args.experiment)
        out = args.out or Path("reports") / tables.experiment
        speed_folder = _speed_folder(out, rebuilt_from)
        written = write(build(tables, args.baseline, load_speed(speed_folder)), out, notes, made_in=rebuilt_from)
        if speed_folder is not None and speed_folder != out:  # the rebuilt folder stands on its own
            written.append(Path(shutil.copy2(speed_folder / SPEED_CSV, out / SPEED_CSV)))
    except (ReportDataError, tracking.TrackingError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    tracking.record_in_launched_run(tags={"kind": "report", "experiment": tables.experiment},
                                    params={"experiment": tables.experiment, "out": str(out),
                                            "from_csv": " ".join(map(str, args.from_csv or [])), "baseline": args.baseline or ""},
                                    metrics={"runs": len(tables.runs)}, folder=out, artifact_path="report")
    return 0


if __name__ == "__main__":
    sys.exit(main())
