"""A report's headline: one compact table (per variant: rate, seeds, params, accuracy with its interval,
samples to 99%, CPU latency, and what the statistics support against the baseline) and one figure,
written beside the report as `headline.md` and, where the project's README carries the markers
`<!-- headline:EXPERIMENT -->` ... `<!-- /headline:EXPERIMENT -->`, copied between them, so the
README's result is rewritten with every report and never goes stale."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HEADLINE_FILE = "headline.md"


def verdict(row, baseline: str, alpha: float, claim_seeds: int) -> str:
    """What the statistics support for one variant against the baseline, in a few words: better or
    worse only where Holm's p < alpha and both sides have `claim_seeds` seeds (row["claimable"])."""
    if row["variant"] == baseline:
        return "the baseline"
    if not np.isfinite(row["diff_vs_baseline"]):
        return "— (the baseline has no runs yet)"
    difference = f"{100 * row['diff_vs_baseline']:+.2f} points"
    if not np.isfinite(row["p_holm"]):
        return f"{difference}; too few seeds for a test"
    if row["p_holm"] < alpha and row["claimable"]:
        return f"**{'better' if row['diff_vs_baseline'] > 0 else 'worse'}** ({difference}, Holm's p = {row['p_holm']:.2g})"
    if row["p_holm"] < alpha:
        return f"not yet a claim ({difference}, Holm's p = {row['p_holm']:.2g}; claims need {claim_seeds} seeds a side)"
    return f"no claim ({difference}, Holm's p = {row['p_holm']:.2g})"


def headline_table(summary: pd.DataFrame, baseline: str, alpha: float, bounds, claim_seeds: int) -> pd.DataFrame:
    """The rows people compare heads by; `bounds(row, metric)` formats a mean and its interval."""
    shown = pd.DataFrame({"head": summary["variant"], "seeds": summary["seeds"]})
    labelled = summary["variant"].astype(str).str.contains(" · ").any()  # labels already name the preset
    if "preset" in summary and summary["preset"].nunique() > 1 and not labelled:
        shown.insert(1, "preset (rate)", summary["preset"])
    shown["params"] = summary["params"].map(lambda v: "—" if not np.isfinite(v) else f"{v:,.0f}")
    shown["test full-sequence acc (%) [95% CI]"] = [bounds(row, "test_seq_acc") for _, row in summary.iterrows()]
    shown["samples to 99% (validation)"] = [
        "not reached" if reached == 0 else f"{value / 1e3:,.1f}k" + ("" if reached == seeds else f" ({reached}/{seeds} seeds)")
        for value, reached, seeds in zip(summary["samples_to_99"], summary["reached_99"], summary["seeds"])]
    shown["CPU ms/image (b1)"] = summary["latency_ms_per_image"].map(lambda v: "—" if not np.isfinite(v) else f"{v:.1f}")
    shown[f"against {baseline}"] = [verdict(row, baseline, alpha, claim_seeds) for _, row in summary.iterrows()]
    return shown


def headline_markdown(table_markdown: str, prefix: str, figure: str | None, caption: str) -> str:
    """The block: the caption, the table, the figure; `prefix` leads the paths to the report's folder
    ("" from inside it, "reports/NAME/" from the repository root)."""
    lines = [caption.replace("](README.md)", f"]({prefix}README.md)"), "", table_markdown, ""]
    if figure:
        lines += [f"![test full-sequence accuracy per head, every seed shown]({prefix}{figure})", ""]
    return "\n".join(lines)


def readme_for(out: Path, experiment: str, project_dir: Path) -> Path | None:
    """The project's README when `out` is the experiment's committed report folder (reports/NAME)."""
    committed = (project_dir / "reports" / experiment).resolve()
    return project_dir / "README.md" if Path(out).resolve() == committed else None


def begin_marker(experiment: str) -> str:
    return f"<!-- headline:{experiment} -->"


def end_marker(experiment: str) -> str:
    return f"<!-- /headline:{experiment} -->"


def update_block(readme: Path, experiment: str, block: str) -> bool:
    """Put `block` between the experiment's markers in `readme`; True when the file changed. A README
    without both markers (in that order) is left as it is."""
    if not readme.is_file():
        return False
    text = readme.read_text()
    begin, end = begin_marker(experiment), end_marker(experiment)
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        return False
    updated = text[:start + len(begin)] + "\n" + block.strip("\n") + "\n" + text[stop:]
    if updated == text:
        return False
    readme.write_text(updated)
    return True
