"""The statistics of a comparison: intervals over seeds, tests against a baseline, samples to a target."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class Interval:
    mean: float
    half_width: float  # of the two-sided confidence interval; nan with a single seed
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width


def mean_ci(values, confidence: float = 0.95) -> Interval:
    """Mean and Student-t confidence half-width over seeds (sample std, n - 1 degrees of freedom)."""
    values = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    if len(values) == 0:
        return Interval(float("nan"), float("nan"), 0)
    if len(values) == 1:
        return Interval(float(values[0]), float("nan"), 1)
    sem = values.std(ddof=1) / np.sqrt(len(values))
    return Interval(float(values.mean()), float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * sem), len(values))


def welch_p_value(values, baseline) -> float:
    """Two-sided Welch's t-test p-value of `values` against `baseline` (nan if either has < 2 values).

    Two identical constant samples give p = 1; different constant samples give p = 0.
    """
    a, b = np.asarray(values, dtype=float), np.asarray(baseline, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    if a.std(ddof=1) == 0 and b.std(ddof=1) == 0:
        return 1.0 if a.mean() == b.mean() else 0.0
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def samples_to_reach(curve: pd.DataFrame, threshold: float) -> float:
    """Training samples at the first epoch whose val_seq_acc >= threshold (nan if never).

    curve: one run's rows with columns samples_seen and val_seq_acc.
    """
    reached = curve[curve["val_seq_acc"] >= threshold].sort_values("samples_seen")
    return float(reached["samples_seen"].iloc[0]) if len(reached) else float("nan")
