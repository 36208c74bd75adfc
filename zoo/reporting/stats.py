"""The statistics of a comparison: intervals over seeds, tests against a baseline, samples to a target."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

SAME = 1e-12  # relative: values closer than this are the same number written two ways (0.7 vs 0.7000000000000001)

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


@dataclass(frozen=True)
class Bounds:
    """A mean and an interval that need not be symmetric (it stays within what the metric can take)."""

    mean: float
    low: float
    high: float
    n: int


def accuracy_interval(accuracies, test_size: float | None = None, confidence: float = 0.95,
                      draws: int = 20_000, seed: int = 0) -> Bounds:
    """Mean accuracy over seeds and a two-level percentile bootstrap interval: seeds drawn with
    replacement, then each drawn run's accuracy drawn again as Binomial(test_size, its accuracy) /
    test_size (the test captchas are a sample too). Every draw is a share of captchas, so the interval
    cannot pass 0 or 1; with one seed it is that run's binomial interval, without `test_size` the
    seeds' bootstrap alone (it cannot be wider than the seeds' range)."""
    values = np.asarray([v for v in accuracies if np.isfinite(v)], dtype=float)
    if len(values) == 0:
        return Bounds(float("nan"), float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    picked = values[rng.integers(0, len(values), size=(draws, len(values)))]  # draws x seeds
    if test_size and np.isfinite(test_size) and test_size > 0:
        picked = rng.binomial(int(test_size), picked) / int(test_size)
    means = picked.mean(axis=1)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    if len(values) == 1 and not test_size:
        low = high = float("nan")  # one run and no test size: nothing to draw an interval from
    return Bounds(float(values.mean()), float(low), float(high), len(values))


def p_beats(values, baseline) -> float:
    """P(a run of A beats a run of B): the share of (A seed, B seed) pairs where A's value is higher,
    ties counting half (the common-language effect size; 0.5 = no tendency). nan if either is empty."""
    a, b = np.asarray(values, dtype=float), np.asarray(baseline, dtype=float)
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    return float(((a[:, None] > b[None, :]) + 0.5 * (a[:, None] == b[None, :])).mean())


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of p-values for the number of comparisons (nan entries stay nan
    and are not counted): the family-wise error stays at alpha when adjusted p < alpha is called."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p[index]))
        adjusted[index] = running
    return adjusted


def mcnemar_exact(correct, baseline_correct) -> tuple[int, int, float]:
    """Two readers on the same captchas: (read by `correct`'s only, read by the baseline's only, the
    exact two-sided McNemar p-value), the binomial test of the discordant captchas at 1/2. Captchas both
    read, or both missed, say nothing about which reads more; p = 1 when none is discordant."""
    a, b = np.asarray(correct, dtype=bool), np.asarray(baseline_correct, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired results must cover the same captchas, got {a.shape} and {b.shape}")
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    if only_a + only_b == 0:
        return only_a, only_b, 1.0
    return only_a, only_b, float(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)


def welch_p_value(values, baseline) -> float:
    """Two-sided Welch's t-test p-value of `values` against `baseline` (nan if either has < 2 values).

    Two identical constant samples give p = 1; different constant samples give p = 0. The test runs on
    the samples' moments (scipy's ttest_ind_from_stats): seeds that agree to the last bit (a head at 0%
    or 100%, tied runs) are an answer, not the "catastrophic cancellation" scipy warns of on raw data.
    """
    a, b = np.asarray(values, dtype=float), np.asarray(baseline, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    spread_a, spread_b = (np.where(np.ptp(x) <= SAME * max(1.0, np.abs(x).max()), 0.0, x.std(ddof=1)) for x in (a, b))
    if spread_a == 0 and spread_b == 0:
        return 1.0 if abs(a.mean() - b.mean()) <= SAME * max(1.0, np.abs(a).max(), np.abs(b).max()) else 0.0
    return float(stats.ttest_ind_from_stats(a.mean(), spread_a, len(a), b.mean(), spread_b, len(b), equal_var=False).pvalue)


def samples_to_reach(curve: pd.DataFrame, threshold: float) -> float:
    """Training samples at the first epoch whose val_seq_acc >= threshold (nan if never).

    curve: one run's rows with columns samples_seen and val_seq_acc.
    """
    reached = curve[curve["val_seq_acc"] >= threshold].sort_values("samples_seen")
    return float(reached["samples_seen"].iloc[0]) if len(reached) else float("nan")
