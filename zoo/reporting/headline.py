"""A report's headline: one compact table (per variant: rate, seeds, params, accuracy with its interval,
samples to 99%, CPU latency, and what the statistics support against the baseline) and one figure,
written beside the report as `headline.md` and, where the project's README carries the markers
`<!-- headline:EXPERIMENT -->` ... `<!-- /headline:EXPERIMENT -->`, copied between them, so the
README's result is rewritten with every report and never goes stale.

One comparison run at several budgets (issue 30: the heads at 128,000 samples, the best of them again
at 512,000, each budget an experiment and a report of its own) shares one block: the begin marker
`<!-- headline:MAIN OTHER ... -->` names the main experiment (its rows, verdicts and figure) and the
others, each a column of accuracy at its budget. Whichever of them is reported rewrites the block; the
others are read from their committed report folders."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

HEADLINE_FILE = "headline.md"
_NAME = r"[\w.-]+"


@dataclass
class Part:
    """One experiment's share of a headline: its compared runs and their summary (zoo.reporting.report)."""

    experiment: str
    summary: pd.DataFrame  # one row per variant, numbers
    runs: pd.DataFrame  # the compared runs (rate checks left out)
    kept_apart: int = 0  # rate-check runs left out of the comparison
    only_checks: bool = False  # every run so far is a rate check
    figure: str | None = None  # its accuracy figure, in its folder

    @property
    def budget(self) -> str:
        """'128k': how many training samples its runs had."""
        return f"{self.runs['samples'].max() / 1e3:,.0f}k"


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


def headline_table(summary: pd.DataFrame, baseline: str, alpha: float, bounds, claim_seeds: int,
                   others: list[Part] = (), budget: str = "") -> pd.DataFrame:
    """The rows people compare heads by; `bounds(row, metric)` formats a mean and its interval. `others`:
    the comparison at other budgets (`budget` names this one's): each adds a column of accuracy, its
    verdict beside this budget's, and its samples to 99% where this budget did not reach them."""
    shown = pd.DataFrame({"head": summary["variant"], "seeds": summary["seeds"]})
    labelled = summary["variant"].astype(str).str.contains(" · ").any()  # labels already name the preset
    if "preset" in summary and summary["preset"].nunique() > 1 and not labelled:
        shown.insert(1, "preset (rate)", summary["preset"])
    shown["params"] = summary["params"].map(lambda v: "—" if not np.isfinite(v) else f"{v:,.0f}")
    at = f" at {budget}" if others else ""
    shown[f"test full-sequence acc (%){at} [95% CI]"] = [bounds(row, "test_seq_acc") for _, row in summary.iterrows()]
    labels = [part.budget for part in others]  # two experiments at one budget are told apart by name
    budgets = {(label if labels.count(label) == 1 else f"{label} ({part.experiment})"):
               part.summary.set_index("variant", drop=False) for label, part in zip(labels, others)}
    for name, rows in budgets.items():
        shown[f"at {name} (seeds)"] = [f"{bounds(rows.loc[variant], 'test_seq_acc')} ({rows.loc[variant, 'seeds']})"
                                       if variant in rows.index else "—" for variant in summary["variant"]]
    samples = []
    for _, row in summary.iterrows():  # the first budget that reached 99%, this one first
        reached = [(name, rows.loc[row["variant"]]) for name, rows in budgets.items()
                   if row["variant"] in rows.index and rows.loc[row["variant"], "reached_99"] > 0]
        name, source = (budget, row) if row["reached_99"] > 0 or not reached else reached[0]
        samples.append(_samples_to_99(source) + (f" (at {name})" if others and source is not row else ""))
    shown["samples to 99% (validation)"] = samples
    shown["CPU ms/image (b1)"] = summary["latency_ms_per_image"].map(lambda v: "—" if not np.isfinite(v) else f"{v:.1f}")
    shown[f"against {baseline}"] = [
        verdict(row, baseline, alpha, claim_seeds)
        + "".join(f"; at {name}: {verdict(rows.loc[row['variant']], baseline, alpha, claim_seeds)}"
                  for name, rows in budgets.items() if row["variant"] in rows.index and row["variant"] != baseline)
        for _, row in summary.iterrows()]
    return shown


def _samples_to_99(row) -> str:
    reached, seeds = row["reached_99"], row["seeds"]
    return ("not reached" if reached == 0 else
            f"{row['samples_to_99'] / 1e3:,.1f}k" + ("" if reached == seeds else f" ({reached}/{seeds} seeds)"))


def caption(parts: list[Part], baseline: str, claim_seeds: int) -> str:
    """What the block was made from and how to read it. Links: the main report as `README.md`, the
    others as `../NAME/README.md` (headline_markdown leads them to where the block stands)."""
    def made_from(part: Part, first: bool) -> str:
        runs = part.runs
        test_size = runs["test_size"].dropna().astype(int).unique() if "test_size" in runs else []
        tested = f", each tested on the same {test_size[0]:,} captchas" if len(test_size) == 1 else ""
        apart = (f" ({part.kept_apart} rate-check run{'s' * (part.kept_apart != 1)} kept apart: in the full report)"
                 if part.kept_apart > 0 else "")
        runs_of = "finished runs of" if first else "of"
        return f"{len(runs)} {runs_of} `{part.experiment}`{apart} ({runs['samples'].max():,.0f} training samples a run{tested})"

    main, others = parts[0], parts[1:]
    reports = (f"Full reports: [{main.experiment}](README.md)" + "".join(f", [{part.experiment}](../{part.experiment}/README.md)"
                                                                  for part in others) if others else "Full report: [README.md](README.md)")
    text = (f"*Written by `python -m zoo.report` from {' and '.join(made_from(part, i == 0) for i, part in enumerate(parts))}: "
            f"mean over seeds with a 95% interval that stays within 0-100%; each head against `{baseline}` by Welch's "
            "t-test over seeds, Holm-corrected for the number of comparisons; better or worse is claimed only with "
            f"{claim_seeds} seeds a side. {reports}.*")
    if main.only_checks:
        text += ("\n\n**So far only the rate checks** (one seed of each head at each peak rate, before the compared "
                 "seeds): they choose each head's rate and support no claim about which head reads best.")
    return text


def headline_markdown(table_markdown: str, prefix: str, figure: str | None, caption: str) -> str:
    """The block: the caption, the table, the figure; `prefix` leads the paths to the report's folder
    ("" from inside it, "reports/NAME/" from the repository root)."""
    beside = f"{Path(prefix).parent}/" if prefix else "../"  # where the other experiments' folders are
    lines = [caption.replace("](README.md)", f"]({prefix}README.md)").replace("](../", f"]({beside}"), "", table_markdown, ""]
    if figure:
        lines += [f"![test full-sequence accuracy per head, every seed shown]({prefix}{figure})", ""]
    return "\n".join(lines)


def readme_for(out: Path, experiment: str, project_dir: Path) -> Path | None:
    """The project's README when `out` is the experiment's committed report folder (reports/NAME)."""
    committed = (project_dir / "reports" / experiment).resolve()
    return project_dir / "README.md" if Path(out).resolve() == committed else None


def end_marker(experiment: str) -> str:
    return f"<!-- /headline:{experiment} -->"


def _begin(experiment: str) -> re.Pattern:
    """The begin marker of the block whose main experiment is `experiment`, whatever others it names."""
    return re.compile(rf"<!-- headline:{re.escape(experiment)}((?: {_NAME})*) -->")


def block_names(readme: Path | None, experiment: str) -> list[str] | None:
    """The experiments of the README's block that shows `experiment`, the main one first; None when none does."""
    if readme is None or not readme.is_file():
        return None
    for match in re.finditer(rf"<!-- headline:({_NAME}(?: {_NAME})*) -->", readme.read_text()):
        names = match.group(1).split()
        if experiment in names:
            return names
    return None


def update_block(readme: Path, experiment: str, block: str) -> bool:
    """Put `block` between the markers of the block whose main experiment is `experiment`; True when the
    file changed. A README without both markers (in that order) is left as it is."""
    if not readme.is_file():
        return False
    text = readme.read_text()
    begin = _begin(experiment).search(text)
    stop = text.find(end_marker(experiment), begin.end()) if begin else -1
    if stop < 0:
        return False
    updated = text[:begin.end()] + "\n" + block.strip("\n") + "\n" + text[stop:]
    if updated == text:
        return False
    readme.write_text(updated)
    return True
