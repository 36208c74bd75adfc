"""`python -m zoo.campaign experiments/grids/campaign-reference.toml [--commit] [--hours H] [--ship NAME]`:
a long grid that outlives any one process or machine.

A campaign is a comparison config (`kind = "comparison"`) run one training at a time (or `--jobs`), each resumed
from its checkpoint when one is there. Before the first run and after each one it writes, under
`reports/<experiment>/`:

* `STATE.md`: runs done / in progress / left, measured hours per run and the estimate for the rest;
* the comparison report with `runs.csv` and `curves.csv` (each finished run's row and curve), as
  `python -m zoo.report` writes it, once a run has finished.

`--commit` commits that folder (and a newly shipped model) with git as soon as a run finishes, so
losing the machine loses at most the run in flight. `--ship NAME` ships the best finished run as
`zoo/pretrained/NAME` when it beats the model shipped under that name on the same task. `--hours H`
starts no run after H hours (a borrowed GPU's time budget). `--jobs N` trains N runs at once, the
CPU cores split between their data workers (a GPU has room for several runs of this size; on a
2-core CPU one at a time is fastest). Rerun the same command to go on.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from zoo import cli
from zoo.commits import commit
from zoo.fitting import processes
from zoo.grids import compare
from zoo import config as config_lib
from zoo.config import ConfigError


@dataclass
class RunState:
    name: str
    status: str  # finished / in progress / new
    epochs_done: int
    epochs: int
    samples: int
    hours: float | None  # measured training time (sum of epoch times), when the run was tracked
    test_seq_acc: float | None
    machine: str | None = None  # where it trained (the run's `machine` param), when the store holds the run


def committed_tables(out: Path):
    """The run tables committed under `out` by an earlier campaign command (None when there are none):
    on a fresh machine, without the tracking store, they say which runs are already done."""
    from zoo.tracking import run_tables

    if not (out / run_tables.CSV_NAMES["runs"]).is_file():
        return None
    try:
        return run_tables.RunTables.from_csv(out)
    except (run_tables.ReportDataError, ValueError, KeyError):
        return None


def run_states(grid: compare.GridConfig, out: Path | None = None) -> list[RunState]:
    """Where each run of the grid stands, from the tracking store, the checkpoints and the run tables
    committed under `out` (a run finished on another machine counts as finished)."""
    from zoo import tracking
    from zoo.fitting.checkpoints import RunCheckpoint

    committed = committed_tables(out) if out is not None else None
    states = []
    for config in grid.run_configs():
        status = compare.run_status(config)
        if status != "finished" and committed is not None:
            rows = committed.runs[committed.runs["config_hash"].astype(str) == config_lib.config_hash(config)]
            if len(rows):
                row = rows.iloc[-1]
                epoch_times = committed.curves.loc[committed.curves["run_id"] == row["run_id"], "epoch_time"]
                states.append(RunState(config.run_name, "finished", config.train.epochs, config.train.epochs,
                                       config.train.samples, float(epoch_times.sum()) / 3600 or None,
                                       float(row["test_seq_acc"])))
                continue
        checkpoint = RunCheckpoint(config).state()
        run_id = None
        if status == "finished":
            run_id = tracking.finished_run_ids(config.tracking.experiment, config_lib.config_hash(config),
                                               config_lib.arch_hash(config))[0]
        elif checkpoint is not None:
            run_id = checkpoint.run_id
        summary = tracking.run_summary(run_id) if run_id else {}
        epochs_done = config.train.epochs if status == "finished" else int(summary.get("epochs_logged", 0))
        states.append(RunState(config.run_name, "in progress" if status == "resume" else status, epochs_done,
                               config.train.epochs, config.train.samples, summary.get("train_hours"),
                               summary.get("test_seq_acc"), summary.get("machine")))
    return states


def state_markdown(grid: compare.GridConfig, states: list[RunState], machine: str) -> str:
    done = [s for s in states if s.status == "finished"]
    # hours per sample, so runs of several budgets are estimated by their own sizes
    measured = [s.hours / (s.samples * s.epochs_done / s.epochs) for s in states if s.hours and s.epochs_done and s.samples]
    per_sample = sum(measured) / len(measured) if measured else None
    left = sum(s.samples * (1 - s.epochs_done / s.epochs) for s in states if s.status != "finished")
    lines = [
        f"# Campaign `{grid.experiment}`: state",
        "",
        f"Written by `python -m zoo.campaign {grid.source}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"on {machine}. Rerun that command to go on: unfinished runs resume from their checkpoints.",
        "",
        f"**{len(done)} of {len(states)} runs finished**, {sum(s.status == 'in progress' for s in states)} in progress, "
        f"{sum(s.status == 'new' for s in states)} not started."
        + (f" Measured: {per_sample * 100_000:.2f} h per 100,000 samples (on the machines below); about "
           f"{left * per_sample:.1f} h of runs left." if per_sample else ""),
        "",
        "| run | status | epochs | samples | training hours | test seq acc | trained on |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in states:
        hours = f"{s.hours:.2f}" if s.hours else ""
        accuracy = f"{s.test_seq_acc:.2%}" if s.test_seq_acc is not None else ""
        lines.append(f"| {s.name} | {s.status} | {s.epochs_done}/{s.epochs} | {s.samples:,} | {hours} | {accuracy} | {s.machine or ''} |")
    lines += ["", "Finished runs' rows and curves: `runs.csv`, `curves.csv` beside this file "
              f"(`python -m zoo.report --from-csv reports/{grid.experiment}` rebuilds the report).", ""]
    return "\n".join(lines)


def write_state(grid: compare.GridConfig, out: Path) -> list[RunState]:
    """STATE.md, and the report with its CSVs once any run has finished; returns the run states."""
    from zoo.fitting import hardware
    from zoo.reporting import report

    states = run_states(grid, out)
    out.mkdir(parents=True, exist_ok=True)
    (out / report.CAMPAIGN_STATE_FILE).write_text(state_markdown(grid, states, hardware.describe()))
    tables = _all_finished(grid, out)
    if tables is not None:
        report.write(report.build(tables, speed=report.load_speed(out)), out)
    return states


def _all_finished(grid: compare.GridConfig, out: Path):
    """The finished runs of the store and, for runs the store does not hold (finished on another
    machine), their committed rows; None when there are none."""
    import pandas as pd

    from zoo.tracking import run_tables
    from zoo import tracking

    try:
        stored = run_tables.from_mlflow(grid.experiment)
    except (run_tables.ReportDataError, tracking.TrackingError):
        stored = None
    committed = committed_tables(out)
    if committed is None or stored is None:
        return stored or committed
    kept = ~committed.runs["run_id"].isin(stored.runs["run_id"])
    old_ids = set(committed.runs.loc[kept, "run_id"])

    def merged(name: str):
        frames = [getattr(committed, name), getattr(stored, name)]
        frames[0] = frames[0][frames[0]["run_id"].isin(old_ids)]
        return pd.concat([frame.drop(columns="variant", errors="ignore") for frame in frames], ignore_index=True)

    return run_tables.RunTables(grid.experiment, merged("runs"), merged("curves"), merged("char_errors"), merged("misreads"))


@dataclass
class Shipping:
    shipped: bool
    line: str  # what was shipped, or why not


def ship_if_better(grid: compare.GridConfig, name: str, folder: Path | None = None) -> Shipping | None:
    """Ship the grid's best finished run as `name` when nothing is shipped under that name, or when the
    run is the same task (charset, lengths, input size, data source) tested on the same test (seed,
    size) and beats the shipped model there; anything else is refused, saying why. None: no run yet."""
    from zoo.inference import pretrained
    from zoo import tracking

    best = tracking.best_finished_run(grid.experiment)
    if best is None:
        return None
    folder = folder or pretrained.PRETRAINED_DIR
    refusal = pretrained.why_not_ship(tracking.model_run(best["model_uri"]), best["test_seq_acc"],
                                      pretrained.shipped_card(name, folder))
    if refusal:
        return Shipping(False, f"not shipped as {name}: the best run, {best['run_name']}, is {refusal}")
    pretrained.ship(best["model_uri"], name, folder)
    return Shipping(True, f"shipped {name}: {best['run_name']} ({best['test_seq_acc']:.2%} on the test set)")


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m zoo.campaign", __doc__)
    parser.add_argument("config", help="a comparison config, e.g. experiments/grids/campaign-reference.toml")
    parser.add_argument("--commit", action="store_true", help="git-commit the state, report CSVs and shipped model after each run")
    parser.add_argument("--hours", type=float, help="start no run after this many hours (e.g. a borrowed GPU's budget)")
    parser.add_argument("--ship", metavar="NAME", help="ship the best finished run as zoo/pretrained/NAME when it beats the shipped one")
    parser.add_argument("--status", action="store_true", help="write STATE.md and the report (with --ship/--commit: ship, commit) and train nothing")
    parser.add_argument("--out", type=Path, help="state and report folder (default: reports/<experiment>)")
    parser.add_argument("--jobs", type=int, default=1, help="trainings at once (default 1); on a GPU several runs "
                        "fit beside each other, and the CPU cores are split between their data workers")
    parser.add_argument("--checkpoint-dir", help="where the runs' checkpoints live (default: the config's, ./checkpoints)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be a positive number of trainings at once, got {args.jobs}")
    if args.hours is not None and not args.hours > 0:
        parser.error(f"--hours must be a positive number of hours, got {args.hours}")
    try:
        grid = compare.load_grid(args.config)
        if args.checkpoint_dir:
            grid.local["checkpoint_dir"] = args.checkpoint_dir  # result-neutral: the runs stay the same runs
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = args.out or config_lib.PROJECT_DIR / "reports" / grid.experiment
    states = write_state(grid, out)
    done = f"{sum(s.status == 'finished' for s in states)} of {len(states)} runs finished"
    from zoo.reporting.report import CAMPAIGN_STATE_FILE  # loaded by write_state already

    print(f"{grid.experiment}: {done}; state in {out / CAMPAIGN_STATE_FILE}")
    if args.ship or args.commit:  # runs finished before this command (by a killed campaign, or elsewhere) count too
        _ship_and_commit(grid, args, out, "recorded" if args.status else f"started ({done})")
    if args.status:
        return 0
    todo = [config for config, state in zip(grid.run_configs(), states) if state.status != "finished"]
    workers = max(1, processes.cores() // args.jobs)  # the runs share the cores that render their captchas
    started, running, failed = time.monotonic(), {}, []
    try:
        while todo or running:
            while todo and len(running) < args.jobs:
                if args.hours is not None and time.monotonic() - started > args.hours * 3600:
                    print(f"--hours {args.hours} spent; rerun to go on")
                    todo = []
                    break
                config = todo.pop(0)
                claim, status = compare.claim_run(config, f"campaign {grid.source}")
                if claim is None:
                    continue
                print(f"{config.run_name}: {'resuming' if status == 'resume' else 'training'}", flush=True)
                command = compare.train_command(grid, config, status)
                if args.jobs > 1:
                    command += ["--set", f"data.workers={workers}"]  # result-neutral
                running[processes.start_child(command, compare._child_environment())] = (config, claim)
            if not running:
                break
            process = processes.wait_any(running)
            config, claim = running.pop(process)
            claim.close()
            if process.returncode != 0:
                failed.append(config.run_name)
                print(f"{config.run_name}: FAILED (exit {process.returncode}); the campaign goes on", file=sys.stderr)
            write_state(grid, out)
            _ship_and_commit(grid, args, out, f"{config.run_name} {'finished' if process.returncode == 0 else 'failed'}")
    except KeyboardInterrupt:
        processes.stop_after_interrupt(list(running))
        names = ", ".join(config.run_name for config, _ in running.values())
        print(f"\n{names}: interrupted; rerun the same command to resume the campaign", file=sys.stderr)
        return 130
    return 1 if failed else 0


def _ship_and_commit(grid: compare.GridConfig, args: argparse.Namespace, out: Path, what: str) -> None:
    from zoo.inference import pretrained

    shipping = ship_if_better(grid, args.ship) if args.ship else None
    shipped = shipping is not None and shipping.shipped
    if shipping:
        print(shipping.line, flush=True)
    if args.commit:
        paths = [out] + ([pretrained.PRETRAINED_DIR / args.ship] if shipped else [])
        commit(paths, f"campaign {grid.experiment}: {what}" + (f"; {shipping.line}" if shipped else ""))


if __name__ == "__main__":
    sys.exit(main())
