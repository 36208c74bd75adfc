"""Figures of a comparison report, drawn from the run tables (zoo.tracking.run_tables) only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from zoo import plotting


def _yerr(row) -> list[list[float]]:
    """An asymmetric error bar (percent) from a summary row's test_seq_acc interval; none where it has none."""
    if not np.isfinite(row["test_seq_acc_low"]):
        return [[0.0], [0.0]]
    return [[100 * (row["test_seq_acc"] - row["test_seq_acc_low"])], [100 * (row["test_seq_acc_high"] - row["test_seq_acc"])]]


def _colors(variants: list[str]) -> dict[str, tuple]:
    palette = plotting.colormap("tab10" if len(variants) <= 10 else "tab20")
    return {variant: palette(i % palette.N) for i, variant in enumerate(variants)}


def learning_curves(curves: pd.DataFrame, variants: list[str], thresholds: tuple[float, ...] = ()):
    """Validation full-sequence accuracy vs training samples (mean line and min-max band over seeds),
    and beside it the error on a log scale, where 95 / 99 / 99.46% (`thresholds`) are told apart."""
    colors = _colors(variants)
    figure, (axis, error_axis) = plotting.subplots(1, 2, figsize=(14, 5))
    floor = 0.01  # % error drawn for a perfect check (1 in 10,000): a log axis has no 0
    for variant in variants:
        rows = curves[curves["variant"] == variant]
        by_samples = rows.groupby("samples_seen")["val_seq_acc"]
        x = by_samples.mean().index / 1e3  # samples -> thousands
        label = f"{variant} ({rows['seed'].nunique()} seeds)"
        for target, to_percent in ((axis, lambda acc: 100 * acc), (error_axis, lambda acc: np.maximum(100 * (1 - acc), floor))):
            target.plot(x, to_percent(by_samples.mean()), marker=".", color=colors[variant], label=label)
            target.fill_between(x, to_percent(by_samples.min()), to_percent(by_samples.max()), color=colors[variant], alpha=0.15, linewidth=0)
    axis.set(xlabel="training samples (thousands)", ylabel="validation full-sequence accuracy (%)",
             title="Learning curves (line: mean over seeds, band: min-max)")
    error_axis.set(xlabel="training samples (thousands)", ylabel="validation full-sequence error (%, log scale)",
                   yscale="log", title="The same as error, log scale: the last points told apart")
    lowest = max(100 * (1 - curves["val_seq_acc"].max()), floor) if len(curves) else floor
    error_axis.set_ylim(lowest / 2, 100)
    for threshold in thresholds:
        error = 100 * (1 - threshold)
        if error < lowest / 2:
            continue  # no run came near it: its line and label would sit below the axis
        error_axis.axhline(error, color="grey", linestyle=":", linewidth=1)
        error_axis.annotate(f"{100 * threshold:g}%", (0, error), xycoords=("axes fraction", "data"), fontsize=8,
                            color="grey", xytext=(2, 2), textcoords="offset points")
    for target in (axis, error_axis):
        target.grid(alpha=0.3)
    axis.legend(fontsize=8, ncol=2)
    return figure


def pareto(summary: pd.DataFrame):
    """Test accuracy (mean and 95% interval over seeds) against parameters and against batch-1 latency
    (the summary's speed columns: one process on one machine where the report has them)."""
    variants = list(summary["variant"])
    colors = _colors(variants)
    figure, axes = plotting.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    for axis, column, label in ((axes[0], "params", "parameters (thousands)"), (axes[1], "latency_ms_per_image", "latency at batch 1 (ms/image)")):
        points = []
        for _, row in summary.iterrows():
            variant, accuracy = row["variant"], 100 * row["test_seq_acc"]
            x = row[column] / (1e3 if column == "params" else 1)
            axis.errorbar(x, accuracy, yerr=_yerr(row), fmt="o", color=colors[variant], capsize=3, label=variant)
            axis.annotate(variant, (x, accuracy), textcoords="offset points", xytext=(5, 4), fontsize=8)
            points.append((x, accuracy))
        front = _pareto_front(points)
        axis.plot(*zip(*front), color="grey", linestyle="--", linewidth=1, label="Pareto front")
        axis.set(xlabel=label)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("test full-sequence accuracy (%)")
    axes[0].set_title("accuracy vs size")
    axes[1].set_title("accuracy vs latency")
    axes[1].legend(fontsize=8, loc="lower right")
    return figure


def _pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points no other point beats on both cost (lower x) and accuracy (higher y), by cost."""
    front, best = [], -np.inf
    for x, y in sorted(points):
        if y > best:
            front.append((x, y))
            best = y
    return front


def error_heatmap(char_errors: pd.DataFrame, variants: list[str], top: int = 16):
    """Error rate (%) per true character and variant, for the characters with the most errors."""
    totals = char_errors.groupby(["variant", "char"])[["errors", "occurrences"]].sum()
    rates = (100 * totals["errors"] / totals["occurrences"].clip(lower=1)).unstack("char").reindex(variants)
    worst = char_errors.groupby("char")["errors"].sum().sort_values(ascending=False).index[:top]
    rates = rates[list(worst)]
    figure, axis = plotting.subplots(figsize=(max(6, 0.55 * len(worst) + 2), 0.45 * len(variants) + 1.6))
    image = axis.imshow(rates.to_numpy(dtype=float), cmap="Reds", aspect="auto", vmin=0)
    axis.set_xticks(range(len(worst)), [f"'{c}'" for c in worst])
    axis.set_yticks(range(len(variants)), variants)
    for (row, column), value in np.ndenumerate(rates.to_numpy(dtype=float)):
        if np.isfinite(value):
            axis.text(column, row, f"{value:.1f}", ha="center", va="center", fontsize=7,
                      color="white" if value > 0.6 * np.nanmax(rates.to_numpy(dtype=float)) else "black")
    axis.set(xlabel="true character (the most misread first)", title="test error rate per character (%), all seeds pooled")
    figure.colorbar(image, ax=axis, fraction=0.03)
    return figure


def accuracy_bars(runs: pd.DataFrame, summary: pd.DataFrame, baseline: str):
    """Test accuracy per variant: the mean (diamond) with its 95% interval, every seed as a dot; the
    axis spans the results, not 0-100%, so tenths of a point show."""
    variants = list(summary["variant"])
    colors = _colors(variants)
    figure, axis = plotting.subplots(figsize=(max(6, 0.8 * len(variants) + 2), 4.2))
    for position, (_, row) in enumerate(summary.iterrows()):
        variant = row["variant"]
        values = 100 * runs.loc[runs["variant"] == variant, "test_seq_acc"]
        axis.errorbar(position, 100 * row["test_seq_acc"], yerr=_yerr(row), fmt="D", color=colors[variant], capsize=5,
                      markersize=8, markeredgecolor="black" if variant == baseline else colors[variant])
        axis.scatter(np.full(len(values), position) + 0.12, values, color="black", s=10, zorder=3)
    axis.set_xticks(range(len(variants)), variants, rotation=30, ha="right")
    axis.set(ylabel="test full-sequence accuracy (%)", title=f"mean, 95% interval and seeds (outlined: baseline {baseline})")
    axis.grid(axis="y", alpha=0.3)
    return figure
