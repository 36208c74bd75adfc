"""Paired views of a comparison: runs tested on the same captchas, compared captcha by captcha.

Each run keeps the test captchas it misread (zoo.tracking.run_tables: `misreads`); every other
captcha of its test split it read right. So for two variants the captchas that *every* seed of one
reads and *no* seed of the other reads can be listed, counted and shown: what one head has learned
that the other has not, beyond seed-to-seed luck.
"""

from __future__ import annotations

import pandas as pd

from zoo.tracking.run_tables import RunTables


def misread_sets(tables: RunTables, variant: str) -> list[set[int]] | None:
    """The misread test indices of each run of `variant`; None when a run did not log them (older runs)."""
    runs = tables.runs[tables.runs["variant"] == variant]
    by_run = tables.misreads.groupby("run_id")["index"].agg(lambda values: set(map(int, values)))
    sets = []
    for run in runs.itertuples():
        if run.run_id in by_run.index:
            sets.append(by_run[run.run_id])
        elif run.test_seq_acc == 1.0:  # a perfect run misread nothing
            sets.append(set())
        else:
            return None
    return sets or None


def only_read_by(tables: RunTables, variant: str, other: str) -> list[int] | None:
    """Test indices every run of `variant` reads and no run of `other` reads (sorted); None without misreads."""
    mine, theirs = misread_sets(tables, variant), misread_sets(tables, other)
    if mine is None or theirs is None:
        return None
    return sorted(set.intersection(*theirs) - set.union(*mine))


def paired_counts(tables: RunTables, baseline: str, variants: list[str]) -> pd.DataFrame:
    """Per variant: captchas only it reads (every seed) and only the baseline reads (every seed)."""
    rows = []
    for variant in variants:
        if variant == baseline:
            continue
        gained, lost = only_read_by(tables, variant, baseline), only_read_by(tables, baseline, variant)
        if gained is not None and lost is not None:
            rows.append({"variant": variant, "only_variant_reads": len(gained), "only_baseline_reads": len(lost)})
    return pd.DataFrame(rows, columns=["variant", "only_variant_reads", "only_baseline_reads"])


def test_captcha(data, index: int):
    """Test captcha `index` of a DataConfig's test split, as every run of it was tested on (image, label)."""
    from zoo.data.stream import source_for

    return source_for(data, "test").sample(index)


def paired_figure(tables: RunTables, baseline: str, variants: list[str], data, per_side: int = 4):
    """One row per variant: up to `per_side` captchas every seed of it reads and no baseline seed reads,
    then as many the other way round, each titled with its label and the other side's reading; the row
    is named with both counts, and says so where there is none either way."""
    from zoo import plotting

    readings = tables.misreads.merge(tables.runs[["run_id", "variant"]], on="run_id")
    sides = {v: (only_read_by(tables, v, baseline), only_read_by(tables, baseline, v)) for v in variants if v != baseline}
    shown = [v for v, (gained, lost) in sides.items() if gained is not None and lost is not None]
    if not shown:
        return None
    figure, axes = plotting.subplots(len(shown), 2 * per_side, figsize=(2 * per_side * 1.7, 1.15 * len(shown) + 0.6), squeeze=False)
    for row, variant in enumerate(shown):
        for side, (reader, loser) in enumerate(((variant, baseline), (baseline, variant))):
            indices = sides[variant][side][:per_side]
            for column in range(per_side):
                axis = axes[row, side * per_side + column]
                axis.set_xticks([])
                axis.set_yticks([])
                if column >= len(indices):
                    axis.set_frame_on(False)  # an empty cell, not axis("off"): the row's name stays on its first
                    continue
                image, label = test_captcha(data, indices[column])
                misread = readings[(readings["variant"] == loser) & (readings["index"] == indices[column])]["read"]
                axis.imshow(image)
                axis.set_title(f"{label}: {loser} read {misread.iloc[0] or '(none)'}" if len(misread) else label, fontsize=6)
                for spine in axis.spines.values():
                    spine.set_edgecolor("tab:green" if reader == variant else "tab:red")
        gained, lost = (len(indices) for indices in sides[variant])
        axes[row, 0].set_ylabel(f"{variant}\n+{gained} / -{lost}", fontsize=8, rotation=0, ha="right", va="center")
        if not gained and not lost:
            axes[row, 0].text(0, 0.5, "none either way", fontsize=7, color="grey", va="center", transform=axes[row, 0].transAxes)
    figure.suptitle(f"Test captchas every seed of one reads and no seed of the other: left (green) the row's head "
                    f"over {baseline}, right (red) {baseline} over it (row: how many each way)", fontsize=9)
    return figure
