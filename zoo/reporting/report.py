"""Comparison reports from the finished zoo runs of an experiment or from committed CSVs: `index.html`
(self-contained, figures embedded), `README.md` with the figures beside it, and the run tables as CSV
so a report can be rebuilt without the store. The command is `python -m zoo.report`
(zoo.commands.report); variants are architectures or presets (zoo.tracking.run_tables)."""

from __future__ import annotations

import base64
import html
import io
import math
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from zoo import config as config_lib
from zoo.reporting import checks as checks_lib, paired
from zoo.tracking.run_tables import ReportDataError, RunTables
from zoo.reporting.stats import accuracy_interval, holm, p_beats, samples_to_reach, welch_p_value

# validation accuracies whose first crossing is reported (samples to ...); 99.46% is the reference's
# published test figure (shared/DESIGN.md), reached there after 2,048,000 samples
THRESHOLDS = (0.90, 0.95, 0.99, 0.9946)


def threshold_key(threshold: float) -> str:
    """'90', '99', '99.46': how a threshold names its columns."""
    return f"{100 * threshold:.2f}".rstrip("0").rstrip(".")


ALPHA = 0.05
# the protocol (DESIGN.md): a claim needs at least this many seeds on each side; with fewer, a p-value is
# shown but nothing is called better or worse (two nearly equal seeds make Welch's variance, and its p, too small)
CLAIM_SEEDS = 5


@dataclass
class Report:
    tables: RunTables
    baseline: str
    summary: pd.DataFrame  # one row per variant: numbers, not strings
    figures: dict[str, object]  # file name -> matplotlib figure
    findings: list[str]
    checks: pd.DataFrame = None  # a grid of [[groups]]: the runs at each arch's other presets (rate checks), by preset
    exported: RunTables = None  # every run given, the checks included: what the CSVs keep (tables: the compared runs)


def variant_order(runs: pd.DataFrame, baseline: str) -> list[str]:
    """The baseline first, then by mean test accuracy (best first)."""
    means = runs.groupby("variant")["test_seq_acc"].mean().sort_values(ascending=False)
    return sorted(means.index, key=lambda variant: (variant != baseline, -means[variant]))


def summarize(tables: RunTables, baseline: str) -> pd.DataFrame:
    """Per variant: mean and 95% interval over seeds (a bootstrap that stays within 0..1; for the
    full-sequence accuracy the test captchas are drawn again too), cost figures, samples to targets,
    and against the baseline: the difference, P(a run beats a baseline run), Welch's p and Holm's p."""
    runs, curves = tables.runs, tables.curves
    base_values = runs.loc[runs["variant"] == baseline, "test_seq_acc"]
    rows = []
    for variant in variant_order(runs, baseline):
        group = runs[runs["variant"] == variant]
        row = {"variant": variant, "seeds": len(group), "samples": group["samples"].max(),
               "preset": ", ".join(sorted(group["preset"].astype(str).unique()))}
        test_size = _test_size(group)
        for metric in ("test_seq_acc", "test_char_acc", "test_ned"):
            bounds = accuracy_interval(group[metric], test_size if metric == "test_seq_acc" else None)
            row[metric], row[f"{metric}_low"], row[f"{metric}_high"] = bounds.mean, bounds.low, bounds.high
        for metric in ("params", "model_mb", "inference_images_per_s", "latency_ms_per_image", "train_time_s"):
            row[metric] = group[metric].mean()
        for threshold in THRESHOLDS:
            reached = [samples_to_reach(curves[curves["run_id"] == run_id], threshold) for run_id in group["run_id"]]
            row[f"samples_to_{threshold_key(threshold)}"] = np.nanmean(reached) if any(np.isfinite(reached)) else math.nan
            row[f"reached_{threshold_key(threshold)}"] = int(np.isfinite(reached).sum())
        row["diff_vs_baseline"] = row["test_seq_acc"] - base_values.mean() if len(base_values) else math.nan
        row["p_beats_baseline"] = p_beats(group["test_seq_acc"], base_values) if variant != baseline else math.nan
        row["p_vs_baseline"] = welch_p_value(group["test_seq_acc"], base_values) if variant != baseline else math.nan
        row["claimable"] = variant != baseline and min(len(group), len(base_values)) >= CLAIM_SEEDS
        rows.append(row)
    summary = pd.DataFrame(rows)
    summary["p_holm"] = holm(summary["p_vs_baseline"])  # corrected for the number of comparisons made
    return summary


def _test_size(group: pd.DataFrame) -> float | None:
    """How many test captchas the runs were tested on: their logged data.test_size, or (runs tracked
    before it was kept in the tables) their preset's; None when neither is known."""
    if "test_size" in group and group["test_size"].notna().any():
        return float(group["test_size"].max())
    try:
        sizes = {config_lib.load_preset(str(preset)).data.test_size for preset in group["preset"].unique()}
    except config_lib.ConfigError:
        return None
    return float(sizes.pop()) if len(sizes) == 1 else None


def findings(summary: pd.DataFrame, baseline: str, compares: str = "architecture") -> list[str]:
    """Plain-language statements, each one backed by the intervals or the test in the table."""
    lines = []
    plural = {"architecture": "architectures", "preset": "presets", "variant": "variants"}[compares]
    fewest, most = summary["seeds"].min(), summary["seeds"].max()
    seeds = f"{fewest}" if fewest == most else f"{fewest}-{most}"
    fewest_samples, most_samples = summary["samples"].min(), summary["samples"].max()
    samples = (f"{most_samples:,.0f} training samples per run" if fewest_samples == most_samples else
               f"{fewest_samples:,.0f} to {most_samples:,.0f} training samples per run (budgets differ: see the samples column)")
    tests = int(np.isfinite(summary["p_vs_baseline"]).sum())
    made = (f"corrected for the {tests} comparison{'s' if tests != 1 else ''} made" if tests else
            "corrected for the comparisons made; none has the two seeds on each side a test needs yet")
    lines.append(f"{len(summary)} {plural}, {seeds} seed{'' if seeds == '1' else 's'} each, {samples}. "
                 f"A difference from the baseline is called significant when Holm's p < {ALPHA} (Welch's t-test on "
                 f"the runs' test full-sequence accuracies, {made}) and both sides have at least {CLAIM_SEEDS} seeds "
                 "(the protocol's minimum for a claim); the seed is the unit.")
    single = list(summary.loc[summary["seeds"] < 2, "variant"])
    if most < 2:
        lines.append(f"With a single seed per {compares} no difference can be called significant; the table shows single runs.")
    elif single:
        one = len(single) == 1
        lines.append(f"{', '.join(single)} {'has' if one else 'have'} a single seed so far: no test is made for "
                     f"{'it' if one else 'them'}, and {'its' if one else 'each'} interval covers only that run's test "
                     "captchas, not seed-to-seed variation.")
    best = summary.sort_values("test_seq_acc", ascending=False).iloc[0]
    lines.append(f"Highest mean test accuracy: {best['variant']} at {_bounds(best, 'test_seq_acc')}.")
    if baseline in set(summary["variant"]):
        base = summary[summary["variant"] == baseline].iloc[0]
        better, worse, early, same = [], [], [], []
        for row in summary[summary["variant"] != baseline].itertuples():
            test = (f"P(a run beats a {baseline} run) = {row.p_beats_baseline:.2f}, Holm's p = {row.p_holm:.3g}"
                    if np.isfinite(row.p_holm) else "too few seeds for a test")
            text = f"{row.variant} ({100 * row.diff_vs_baseline:+.2f} points, {test})"
            if np.isfinite(row.p_holm) and row.p_holm < ALPHA:
                if row.claimable:
                    (better if row.diff_vs_baseline > 0 else worse).append(text)
                else:
                    early.append(f"{row.variant} ({100 * row.diff_vs_baseline:+.2f} points, Holm's p = {row.p_holm:.3g}, "
                                 f"{row.seeds} seeds against {base['seeds']})")
            else:
                same.append(text)
        lines.append(f"Baseline {baseline}: {_bounds(base, 'test_seq_acc')}.")
        if better:
            lines.append("Significantly better than the baseline: " + "; ".join(better) + ".")
        if worse:
            lines.append("Significantly worse than the baseline: " + "; ".join(worse) + ".")
        if early:
            lines.append(f"Below Holm's {ALPHA} but with fewer than {CLAIM_SEEDS} seeds on a side, so not yet a claim: "
                         + "; ".join(early) + ".")
        if same:
            lines.append("Not distinguishable from the baseline at this number of seeds (no claim is made): " + "; ".join(same) + ".")
    if compares == "architecture" and "conv_only" in set(summary["variant"]) and baseline in set(summary["variant"]):
        control = summary[summary["variant"] == "conv_only"].iloc[0]
        gap = f"{100 * control['diff_vs_baseline']:+.2f} points against {baseline}"
        if not np.isfinite(control["p_holm"]):
            verdict = f"{gap}, too few seeds to test whether recurrence matters"
        elif not control["claimable"]:
            verdict = f"{gap} (Holm's p = {control['p_holm']:.3g}); whether recurrence matters is claimed at {CLAIM_SEEDS} seeds a side"
        elif control["p_holm"] < ALPHA and control["diff_vs_baseline"] < 0:
            verdict = f"{gap}: recurrence matters here"
        else:
            verdict = f"{gap}: this budget does not show that recurrence matters"
        lines.append(f"Control conv_only (no recurrent head): {_bounds(control, 'test_seq_acc')}; {verdict}.")
    return lines


def default_baseline(tables: RunTables) -> str:
    """bigru for a grid of architectures; for a grid of presets, the first preset its config lists."""
    if tables.compares == "architecture":
        return "bigru"
    grid = checks_lib.grid_config_for(tables.experiment)
    presets = tomllib.loads(Path(grid).read_text()).get("presets", []) if grid else []
    labels = list(dict.fromkeys(tables.runs["variant"]))
    first = [label for preset in presets for label in labels if label == preset or label.endswith(f" · {preset}")]
    return first[0] if first else sorted(labels)[0]


SPEED_CSV = "speed.csv"  # written by `python -m zoo.speed GRID` into the report's folder


def load_speed(folder: Path | None) -> pd.DataFrame | None:
    """The speed table `zoo.speed` wrote into a report folder (arch, params, images/s, ms/image, machine), if any."""
    path = Path(folder) / SPEED_CSV if folder is not None else None
    return pd.read_csv(path) if path is not None and path.is_file() else None


def with_speed(summary: pd.DataFrame, speed: pd.DataFrame | None, runs: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The summary with its speed columns from one process on one machine (`speed`, by each variant's
    architecture), and a line saying where the speed columns come from."""
    columns = ["params", "inference_images_per_s", "latency_ms_per_image"]
    arch_of = runs.drop_duplicates("variant").set_index("variant")["arch"].astype(str)
    if speed is None or not set(arch_of) <= set(speed["arch"]):
        return summary, ("Speed columns: as each run logged them at its end, on its own machine (not comparable "
                         "across machines; `python -m zoo.speed GRID` measures them in one process)")
    measured = speed.set_index("arch")
    summary = summary.assign(**{column: summary["variant"].map(arch_of).map(measured[column]) for column in columns})
    return summary, (f"Speed columns: every architecture timed in one process by `python -m zoo.speed` on "
                     f"{measured['machine'].iloc[0]} ({measured['keras_backend'].iloc[0]}, float32, {measured['measured'].iloc[0]}); "
                     "the models are untrained copies (speed does not depend on the weights)")


def build(tables: RunTables, baseline: str | None = None, speed: pd.DataFrame | None = None) -> Report:
    from zoo.reporting import figures as plots

    if tables.runs.empty:
        raise ReportDataError(f"experiment {tables.experiment!r} has no finished zoo runs to report on")
    given = tables
    tables, checks = checks_lib.separate_checks(tables)
    baseline = baseline or default_baseline(tables)
    if baseline not in set(tables.runs["variant"]):
        print(f"note: baseline {baseline!r} has no runs in {tables.experiment!r} (its {tables.compares}s: "
              f"{', '.join(sorted(set(tables.runs['variant'])))}); tests against it are skipped", file=sys.stderr)
    summary, speed_note = with_speed(summarize(tables, baseline), speed, tables.runs)
    variants = list(summary["variant"])
    figures = {
        "accuracy.png": plots.accuracy_bars(tables.runs, summary, baseline),
        "learning_curves.png": plots.learning_curves(tables.curves, variants, THRESHOLDS),
        "pareto.png": plots.pareto(summary),
    }
    if not tables.char_errors.empty:
        figures["character_errors.png"] = plots.error_heatmap(tables.char_errors, variants)
    counts = paired.paired_counts(tables, baseline, variants)
    if not counts.empty:
        summary = summary.merge(counts, on="variant", how="left")
        data = _test_data(tables, baseline)
        figure = paired.paired_figure(tables, baseline, variants, data) if data is not None else None
        if figure is not None:
            figures["paired.png"] = figure
    setups = setup_finding(tables.runs, baseline)
    return Report(tables, baseline, summary, figures,
                  [*findings(summary, baseline, tables.compares), *([setups] if setups else []), speed_note], checks, given)


def _test_data(tables: RunTables, baseline: str):
    """The data config the baseline's runs were tested on (from its preset), to draw test captchas; None if unknown."""
    presets = tables.runs.loc[tables.runs["variant"] == baseline, "preset"].astype(str).unique()
    try:
        return config_lib.load_preset(presets[0]).data if len(presets) else None
    except config_lib.ConfigError:
        return None


# ---- rendering ----------------------------------------------------------------------------------

def display_table(summary: pd.DataFrame, compares: str = "architecture") -> pd.DataFrame:
    """The summary as people read it: percentages with intervals, rounded costs."""
    shown = pd.DataFrame({compares: summary["variant"], "seeds": summary["seeds"]})
    if summary["samples"].nunique() > 1:  # a merged report of several budgets: say each one's
        shown["samples"] = summary["samples"].map(lambda v: f"{v / 1e3:,.1f}k")
    if compares == "architecture" and summary["preset"].nunique() > 1:  # each head at the rate its check chose
        shown["preset"] = summary["preset"]
    shown["test seq acc (%) [95% CI]"] = [_bounds(row, "test_seq_acc") for _, row in summary.iterrows()]
    shown["test char acc (%)"] = [_bounds(row, "test_char_acc") for _, row in summary.iterrows()]
    shown["test NED"] = [_bounds(row, "test_ned", 1, 4) for _, row in summary.iterrows()]
    shown["vs baseline (points)"] = ["—" if not np.isfinite(d) or name == summary["variant"].iloc[0] else f"{100 * d:+.2f}"
                                     for name, d in zip(summary["variant"], summary["diff_vs_baseline"])]
    shown["P(beats baseline)"] = ["—" if not np.isfinite(v) else f"{v:.2f}" for v in summary["p_beats_baseline"]]
    shown["p (Welch)"] = ["—" if not np.isfinite(v) else f"{v:.3g}" for v in summary["p_vs_baseline"]]
    shown["p (Holm)"] = ["—" if not np.isfinite(v) else f"{v:.3g}" + (" *" if v < ALPHA and claim else "")
                         for v, claim in zip(summary["p_holm"], summary["claimable"])]
    if "only_variant_reads" in summary:  # captcha by captcha: every seed reads it, no baseline seed does (and back)
        shown["captchas only it / only baseline reads"] = [
            "—" if not np.isfinite(a) else f"{a:.0f} / {b:.0f}" for a, b in zip(summary["only_variant_reads"], summary["only_baseline_reads"])]
    shown["params"] = summary["params"].map(lambda v: f"{v:,.0f}")
    shown["model MB"] = summary["model_mb"].map(lambda v: f"{v:.2f}")
    shown["images/s (b128)"] = summary["inference_images_per_s"].map(lambda v: f"{v:,.0f}")
    shown["ms/image (b1)"] = summary["latency_ms_per_image"].map(lambda v: f"{v:.1f}")
    shown["train time (min)"] = summary["train_time_s"].map(lambda v: f"{v / 60:.1f}")
    for threshold in THRESHOLDS:
        key = threshold_key(threshold)
        shown[f"samples to {key}%"] = [
            "not reached" if reached == 0 else f"{value / 1e3:,.1f}k" + ("" if reached == seeds else f" ({reached}/{seeds} seeds)")
            for value, reached, seeds in zip(summary[f"samples_to_{key}"], summary[f"reached_{key}"], summary["seeds"])
        ]
    return shown


def _bounds(row, metric: str, scale: float = 100, digits: int = 2) -> str:
    """"97.52 [97.31, 97.70]": the mean and its interval, times `scale` (a percentage by default; no interval with one run and nothing to draw)."""
    mean, low, high = (row[metric] * scale, row[f"{metric}_low"] * scale, row[f"{metric}_high"] * scale)
    return f"{mean:.{digits}f}" + (f" [{low:.{digits}f}, {high:.{digits}f}]" if np.isfinite(low) else "")


def markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(str(value) for value in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def provenance(tables: RunTables, out: Path, baseline: str, made_in: Path | None = None) -> dict[str, str]:
    """How the report was made. `made_in`: the folder whose campaign state and kept models tell how its runs
    were trained (a report rebuilt from another folder's CSVs: that folder; default `out`)."""
    from zoo.tracking import kept_models

    runs = tables.runs
    made_in = Path(made_in or out)
    grid = checks_lib.grid_config_for(tables.experiment)
    runner = "zoo.campaign" if (made_in / CAMPAIGN_STATE_FILE).is_file() else "zoo.compare"  # a campaign's folder has its state
    train = (f"python -m {runner} {grid}" if grid else
             f"python -m zoo.train --arch ARCH --preset {'/'.join(sorted(runs['preset'].unique()))} --seed SEED "
             f"--set tracking.experiment={tables.experiment}")
    kept = kept_models.kept(made_in)
    out, made_in = config_lib.repo_path(out), config_lib.repo_path(made_in)
    versions = {column.removeprefix("version_"): ", ".join(sorted(runs[column].dropna().astype(str).unique()))
                for column in runs.columns if column.startswith("version_") and runs[column].notna().any()}
    models = ({"models kept (one per architecture; read with zoo.evaluate / zoo.predict --model)":
               ", ".join(f"{made_in}/{kept_models.MODELS_DIR}/{name}" for name in sorted(kept.values()))} if kept else {})
    return {
        "experiment": tables.experiment,
        "runs": f"{len(runs)} finished runs",
        "presets": ", ".join(sorted(runs["preset"].astype(str).unique())),
        "train": train,
        "report": f"python -m zoo.report --experiment {tables.experiment} --out {out}"
                  + ("" if baseline == default_baseline(tables) else f" --baseline {baseline}"),
        "baseline": baseline,
        "rebuild from CSV": f"python -m zoo.report --from-csv {out} --out {out}",
        "git commits of the runs": ", ".join(sorted(runs["git_commit"].dropna().astype(str).unique())) or "unknown",
        "trained on (backend · precision · machine: runs)": trained_on(runs),
        **models,
        **versions,
    }


SETUP_COLUMNS = ("keras_backend", "precision", "machine")  # where and how a run trained (zoo.tracking.run_tables)


def trained_on(runs: pd.DataFrame) -> str:
    """'tensorflow · bf16 · Intel(R) Xeon(R) ... : 7; not recorded: 33': the runs per setup."""
    setups = runs.reindex(columns=SETUP_COLUMNS)  # rows committed before the tables kept them: empty
    known = setups.notna().all(axis=1)
    counts = setups[known].groupby(list(SETUP_COLUMNS)).size()
    parts = [f"{' · '.join(setup)}: {count}" for setup, count in counts.items()]
    if (~known).any():
        parts.append(f"not recorded (rows committed before the run tables kept it): {int((~known).sum())}")
    return "; ".join(parts)


def setup_finding(runs: pd.DataFrame, baseline: str) -> str | None:
    """Where the compared runs trained on more than one backend or precision (a tier run partly on a GPU with
    JAX, partly on CPUs with TensorFlow): the baseline's seeds on each, so a reader can see whether they agree."""
    setups = runs.reindex(columns=SETUP_COLUMNS[:2]).dropna()
    distinct = setups.drop_duplicates().shape[0]
    if distinct < 2:
        return None
    base = runs.loc[setups.index].loc[lambda frame: frame["variant"] == baseline]
    each = [f"{backend} · {precision}: {100 * group['test_seq_acc'].mean():.2f}% ({len(group)} seed{'s' * (len(group) != 1)})"
            for (backend, precision), group in base.groupby(["keras_backend", "precision"])]
    return (f"The runs trained on {distinct} backend/precision setups; {baseline}'s seeds on each: "
            + ("; ".join(each) if each else "none yet") + " (a difference between setups larger than between seeds "
            "would make the comparison across them unfair).")


STATISTICS_NOTE = [
    "Intervals: a percentile bootstrap over the seeds; for the full-sequence accuracy each drawn run's "
    "test captchas are drawn again too (binomial), so no interval passes 100% (with 3-5 seeds it is narrower than a "
    "t-interval would be: the claims rest on the tests, not on intervals that do not overlap). P(beats baseline): the share of "
    "(run, baseline run) pairs the run wins, ties half. p (Welch): Welch's t-test of the runs' accuracies against "
    "the baseline's (the seed is the unit); p (Holm): corrected for the number of comparisons, * where < 0.05 and both sides have at least "
    f"{CLAIM_SEEDS} seeds (the protocol's minimum for a claim: with fewer, two close seeds can make Welch's p small by chance). "
    "Every run is tested on the same test captchas. Train time: each run's wall-clock minutes as it ran, on "
    "whatever machine and load it had (paused, or beside other work): a record, not a speed comparison; speed is "
    "the images/s and ms/image columns.",
]
NOTES_FILE = "notes.txt"
CAMPAIGN_STATE_FILE = "STATE.md"  # zoo.campaign writes it beside its report


def folder_notes(folder: Path | None) -> list[str]:
    """The caveats a report folder keeps in notes.txt (--note), one a line; [] when it has none."""
    path = Path(folder) / NOTES_FILE if folder is not None else None
    return path.read_text().splitlines() if path is not None and path.is_file() else []


def write(report: Report, out: Path, notes: list[str] = (), made_in: Path | None = None) -> list[Path]:
    """index.html (figures embedded), README.md (figures beside it), the PNGs and the run CSVs;
    `notes` (the author's caveats: what ran beside the grid, ...) go under the summary and into
    notes.txt, so a rebuild from the CSVs keeps them; `made_in`: see provenance."""
    out.mkdir(parents=True, exist_ok=True)
    (report.exported or report.tables).to_csv(out)  # every run, the checks too: a campaign's record of what is done
    if notes:
        (out / NOTES_FILE).write_text("\n".join(notes) + "\n")
    images = {}
    for name, figure in report.figures.items():
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110)
        (out / name).write_bytes(buffer.getvalue())
        images[name] = base64.b64encode(buffer.getvalue()).decode()
    table = display_table(report.summary, report.tables.compares)
    facts = provenance(report.tables, out, report.baseline, made_in)
    title = f"captcha-zoo comparison: {report.tables.experiment}"
    captions = {
        "accuracy.png": f"Test full-sequence accuracy per {report.tables.compares}",
        "learning_curves.png": "Validation accuracy against training samples",
        "pareto.png": "Accuracy against size and latency (Pareto view)",
        "character_errors.png": f"Which characters each {report.tables.compares} still misreads",
        "paired.png": "Paired: test captchas one reads in every seed and the other in none",
    }
    check_lines, check_table, edge = [], None, None
    if report.checks is not None and len(report.checks):
        check_table = report.checks.rename_axis(None).reset_index().rename(columns={"index": "arch", "compared_at": "compared at"})
        for column in check_table.columns[1:-1]:
            check_table[column] = check_table[column].map(lambda v: "—" if not np.isfinite(v) else f"{100 * v:.2f}")
        check_lines = ["## Checks before the seeds (test seq acc %, one seed each)", "",
                       "Each architecture is compared at the preset (peak rate) where it has its seeds; the runs at "
                       "its other presets are the check that chose it, left out of the comparison above (a cell "
                       "the check did not run itself is the same seed's run in the comparison).", "",
                       markdown_table(check_table), ""]
        edge = checks_lib.rate_edge_note(report.checks)
        if edge:
            check_lines += [edge, ""]
    note_lines = ["## Notes", "", *[f"- {line}" for line in notes], ""] if notes else []
    markdown = [f"# {title}", "", "## Summary", "", *[f"- {line}" for line in report.findings], "", *note_lines,
                "## Results (mean over seeds [95% interval])", "", markdown_table(table), "", *STATISTICS_NOTE, "", *check_lines,
                *[f"### {captions[name]}\n\n![{captions[name]}]({name})\n" for name in report.figures],
                "## How this was made", "", *[f"- {key}: `{value}`" for key, value in facts.items()], "",
                "The CSV files beside this report (runs.csv, curves.csv, char_errors.csv) hold every number above.", ""]
    (out / "README.md").write_text("\n".join(markdown))
    written = [out / "index.html", out / "README.md"]
    readme = write_headline(report, out)
    if readme is not None:
        written.append(readme)
    page = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:0.85em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}img{max-width:100%}code{background:#f4f4f4}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><h2>Summary</h2><ul>",
        *[f"<li>{html.escape(line)}</li>" for line in report.findings],
        "</ul>",
        *(["<h2>Notes</h2><ul>", *[f"<li>{html.escape(line)}</li>" for line in notes], "</ul>"] if notes else []),
        "<h2>Results (mean over seeds [95% interval])</h2>",
        table.to_html(index=False, escape=True),
        *[f"<p>{html.escape(line)}</p>" for line in STATISTICS_NOTE],
        *([f"<h2>{html.escape(check_lines[0].removeprefix('## '))}</h2>", f"<p>{html.escape(check_lines[2])}</p>",
           check_table.to_html(index=False, escape=True), *([f"<p>{html.escape(edge)}</p>"] if edge else [])]
          if check_table is not None else []),
        *[f"<h3>{captions[name]}</h3><img alt='{name}' src='data:image/png;base64,{data}'>" for name, data in images.items()],
        "<h2>How this was made</h2><ul>",
        *[f"<li>{html.escape(key)}: <code>{html.escape(value)}</code></li>" for key, value in facts.items()],
        "</ul></body></html>",
    ]
    (out / "index.html").write_text("\n".join(page))
    return written


def write_headline(report: Report, out: Path, project_dir: Path | None = None) -> Path | None:
    """headline.md beside the report and, for a committed report (reports/NAME of `project_dir`, the
    project by default) that a block of the project's README shows, that block rewritten
    (zoo.reporting.headline: the block's other experiments read from their committed folders); returns
    the README when it changed."""
    from zoo.reporting import headline

    project_dir = project_dir or config_lib.PROJECT_DIR
    own = headline_part(report.tables, report.summary, report.checks, report.exported,
                        "accuracy.png" if "accuracy.png" in report.figures else None)
    experiment = report.tables.experiment
    readme = headline.readme_for(out, experiment, project_dir)
    names = headline.block_names(readme, experiment)  # None: no block of the README shows it
    parts = [own if name == experiment else part_from_folder(project_dir / "reports" / name, report.baseline)
             for name in names or [experiment]]
    shown = [part for part in parts if part is not None]
    beside = shown if parts[0] is own else [own]  # the block itself beside the main report; its own rows beside another
    (out / headline.HEADLINE_FILE).write_text(_headline_block(beside, report.baseline, ""))
    if names is None or parts[0] is None:  # no block, or its main experiment has no committed report yet
        return None
    block = _headline_block(shown, report.baseline, f"reports/{names[0]}/")
    return readme if headline.update_block(readme, names[0], block) else None


def _headline_block(parts, baseline: str, prefix: str) -> str:
    from zoo.reporting import headline

    main, others = parts[0], parts[1:]
    table = headline.headline_table(main.summary, baseline, ALPHA, _bounds, CLAIM_SEEDS, others, main.budget)
    return headline.headline_markdown(markdown_table(table), prefix, main.figure, headline.caption(parts, baseline, CLAIM_SEEDS))


def headline_part(tables: RunTables, summary: pd.DataFrame, checks, exported: RunTables | None, figure: str | None):
    """An experiment's share of a headline (zoo.reporting.headline.Part)."""
    from zoo.reporting import headline

    given = exported.runs if exported is not None else tables.runs
    return headline.Part(tables.experiment, summary, tables.runs, len(given) - len(tables.runs) if checks is not None else 0,
                         checks is None and checks_lib.only_checks(tables), figure)


def part_from_folder(folder: Path, baseline: str):
    """The headline part of a committed report folder (its CSVs and speed table); None when it has no runs."""
    if not (Path(folder) / "runs.csv").is_file():
        return None
    given = RunTables.from_csv(folder)
    tables, checks = checks_lib.separate_checks(given)
    summary, _ = with_speed(summarize(tables, baseline), load_speed(folder), tables.runs)
    figure = "accuracy.png" if (Path(folder) / "accuracy.png").is_file() else None
    return headline_part(tables, summary, checks, given, figure)


MERGED_FROM = "Merged from "  # the note a merge writes starts so
