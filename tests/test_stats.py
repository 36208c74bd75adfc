"""The comparison statistics on hand-made numbers."""

import math
import warnings

import numpy as np

import pandas as pd
import pytest

from zoo.reporting.stats import mcnemar_exact, mean_ci, samples_to_reach, welch_p_value


def test_mean_ci_uses_student_t_with_n_minus_1_degrees_of_freedom():
    interval = mean_ci([0.90, 0.92, 0.94])
    # sd = 0.02, sem = 0.02 / sqrt(3), t(0.975, 2) = 4.302653
    assert interval.mean == pytest.approx(0.92)
    assert interval.half_width == pytest.approx(4.302653 * 0.02 / math.sqrt(3), rel=1e-6)
    assert (interval.low, interval.high, interval.n) == (pytest.approx(0.92 - interval.half_width), pytest.approx(0.92 + interval.half_width), 3)


def test_mean_ci_of_two_values_and_of_one():
    two = mean_ci([1.0, 3.0])  # sd = sqrt(2), sem = 1, t(0.975, 1) = 12.7062
    assert two.mean == 2.0 and two.half_width == pytest.approx(12.7062, rel=1e-4)
    one = mean_ci([0.5])
    assert one.mean == 0.5 and math.isnan(one.half_width) and one.n == 1
    assert mean_ci([]).n == 0 and mean_ci([float("nan"), 0.25]).mean == 0.25


def test_welch_p_value_by_hand():
    # t = (2 - 5) / sqrt(1/3 + 1/3) = -3.674, df = 4 (equal variances): two-sided p = 0.02131
    assert welch_p_value([1, 2, 3], [4, 5, 6]) == pytest.approx(0.02131, abs=2e-5)
    assert welch_p_value([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert welch_p_value([0.5, 0.5], [0.5, 0.5]) == 1.0 and welch_p_value([0.4, 0.4], [0.5, 0.5]) == 0.0
    assert math.isnan(welch_p_value([0.5], [0.4, 0.6]))


def test_welch_p_value_of_tied_seeds_is_computed_without_a_precision_warning():
    """Seeds that agree exactly (or up to the last bit) are a constant sample: scipy's ttest_ind warns of
    catastrophic cancellation on them; the moments it is given instead are exact."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # a: variance 0; b: mean 0.85, variance 0.0025 -> t = 0.05 / sqrt(0.0025 / 3) = 1.732, df = 2: p = 0.2254
        assert welch_p_value([0.9, 0.9, 0.9], [0.8, 0.85, 0.9]) == pytest.approx(0.22540, abs=1e-5)
        assert welch_p_value([0.7, 0.7000000000000001, 0.7], [0.7, 0.7]) == 1.0
        assert welch_p_value([0.7, 0.7000000000000001], [0.71, 0.71]) == 0.0


def test_samples_to_reach_is_the_first_epoch_at_or_over_the_threshold():
    curve = pd.DataFrame({"samples_seen": [300, 100, 200, 400], "val_seq_acc": [0.96, 0.5, 0.90, 0.93]})
    assert samples_to_reach(curve, 0.90) == 200
    assert samples_to_reach(curve, 0.95) == 300
    assert math.isnan(samples_to_reach(curve, 0.99))


def test_holm_matches_the_step_down_by_hand_and_skips_nan():
    from zoo.reporting.stats import holm

    # sorted 0.01, 0.02, 0.04 of 3 tests: 3 x 0.01 = 0.03, 2 x 0.02 = 0.04, 1 x 0.04 = 0.04 (kept monotone)
    assert np.allclose(holm([0.04, 0.01, float("nan"), 0.02])[[0, 1, 3]], [0.04, 0.03, 0.04])
    assert np.isnan(holm([0.04, 0.01, float("nan"), 0.02])[2])
    assert holm([0.5, 0.9]).tolist() == [1.0, 1.0]  # capped at 1


def test_p_beats_counts_pairs_and_half_ties():
    from zoo.reporting.stats import p_beats

    assert p_beats([0.9, 0.8], [0.85]) == 0.5
    assert p_beats([0.9, 0.9], [0.8, 0.9]) == 0.75
    assert np.isnan(p_beats([], [0.5]))


def test_accuracy_intervals_never_pass_one_and_cover_the_seeds():
    from zoo.reporting.stats import accuracy_interval, mean_ci

    seeds = [0.999, 1.0, 0.998, 1.0, 1.0]
    t = mean_ci(seeds)
    assert t.high > 1  # the t-interval the issue complained of
    bounds = accuracy_interval(seeds, test_size=10_000)
    assert bounds.low < bounds.mean < bounds.high <= 1.0 and bounds.n == 5
    one = accuracy_interval([0.975], test_size=10_000)  # one seed: the binomial interval of 10,000 captchas
    assert one.low == pytest.approx(0.975 - 1.96 * (0.975 * 0.025 / 10_000) ** 0.5, abs=6e-4)
    assert one.high == pytest.approx(0.975 + 1.96 * (0.975 * 0.025 / 10_000) ** 0.5, abs=6e-4)
    wide = accuracy_interval([0.90, 0.98, 0.95], test_size=10_000)
    assert 0.90 <= wide.low < 0.93 and 0.96 < wide.high <= 0.98
    assert np.isnan(accuracy_interval([0.9]).low)  # one run, no test size: no interval


def test_mcnemar_exact_counts_the_discordant_captchas_and_tests_them_at_one_half():
    a = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], dtype=bool)  # 8 read
    b = np.array([1, 1, 0, 0, 0, 0, 0, 0, 1, 0], dtype=bool)  # 3 read
    only_a, only_b, p = mcnemar_exact(a, b)
    assert (only_a, only_b) == (6, 1)
    assert p == pytest.approx(2 * (1 + 7) / 2**7)  # two-sided binomial: P(X <= 1) + P(X >= 6) of 7 at 1/2
    assert mcnemar_exact(a, a) == (0, 0, 1.0)  # nothing discordant: no evidence either way
    assert mcnemar_exact(b, a)[:2] == (1, 6)
    with pytest.raises(ValueError, match="same captchas"):
        mcnemar_exact(a, b[:5])
