"""The learning benchmark's statistics (bench/trainer/stats.py) against cases whose answer is known by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "trainer"))
import stats  # noqa: E402


def col(values):
    return np.asarray(values, dtype=float).reshape(-1, 1)


def test_a_constant_outcome_has_a_zero_width_interval():
    result = stats.estimate([col([1, 1, 1, 1]), col([1, 1])], stats.column(0))
    assert (result.point, result.low, result.high) == (1.0, 1.0, 1.0)
    assert result.excludes_zero()


def test_two_problems_one_right_give_the_whole_range():
    # Resampling 2 problems: mean 0, 0.5 or 1 with probabilities 1/4, 1/2, 1/4, so the 2.5% and 97.5%
    # quantiles are 0 and 1 (P(fewer than 2.5% of 2000 draws at 0) is negligible).
    result = stats.estimate([col([0, 1])], stats.column(0), reps=2000)
    assert (result.point, result.low, result.high) == (0.5, 0.0, 1.0)
    assert not result.excludes_zero()


def test_the_seed_stage_resamples_whole_seeds():
    # Seed A all wrong, seed B all right: no problem resample changes a seed's mean, only which seeds are
    # drawn: (A, A) -> 0, (A, B) -> 0.5, (B, B) -> 1 with probabilities 1/4, 1/2, 1/4.
    means = stats.bootstrap_means([col([0, 0, 0]), col([1, 1, 1, 1])], reps=4000, seed=1)[:, 0]
    assert set(np.round(means, 9)) == {0.0, 0.5, 1.0}
    assert np.mean(means == 0.5) == pytest.approx(0.5, abs=0.03)
    assert np.mean(means == 0.0) == pytest.approx(0.25, abs=0.03)
    result = stats.estimate([col([0, 0, 0]), col([1, 1, 1, 1])], stats.column(0), reps=4000)
    assert (result.point, result.low, result.high) == (0.5, 0.0, 1.0)


def test_one_seed_matches_the_binomial_standard_error():
    # 400 problems, 200 right: the bootstrap standard error of the mean is sqrt(0.5 * 0.5 / 400) = 0.025, so
    # the 95% interval is about 0.5 +- 0.049.
    data = col([1] * 200 + [0] * 200)
    means = stats.bootstrap_means([data], reps=4000, seed=3)[:, 0]
    assert means.std() == pytest.approx(0.025, rel=0.08)
    result = stats.estimate([data], stats.column(0), reps=4000, seed=3)
    assert result.low == pytest.approx(0.451, abs=0.008) and result.high == pytest.approx(0.549, abs=0.008)


def test_pairing_cancels_what_both_policies_share():
    rng = np.random.default_rng(7)
    right = rng.integers(0, 2, size=300)
    # Policy B answers exactly like A: the paired difference is 0 in every resample.
    paired = np.column_stack([right, right]).astype(float)
    same = stats.estimate([paired], stats.difference(stats.column(0), stats.column(1)))
    assert (same.point, same.low, same.high) == (0.0, 0.0, 0.0)
    # B differs from A on 10 problems (A right, B wrong there): the difference is 10/300 and never negative.
    b = right.copy()
    flipped = np.flatnonzero(right == 1)[:10]
    b[flipped] = 0
    result = stats.estimate([np.column_stack([right, b]).astype(float)],
                            stats.difference(stats.column(0), stats.column(1)))
    assert result.point == pytest.approx(10 / 300)
    assert result.low > 0 and result.high < 0.06


def test_larger_picks_the_better_column_in_every_resample():
    data = np.column_stack([[1, 0, 1, 0], [1, 1, 1, 0]]).astype(float)  # means 0.5 and 0.75
    best = stats.larger(stats.column(0), stats.column(1))
    assert stats.estimate([data], best).point == 0.75
    means = stats.bootstrap_means([data], reps=500)
    assert np.all(best(means) >= means[:, 1]) and np.all(best(means) >= means[:, 0])


def test_ratio_leaves_out_resamples_with_a_zero_denominator():
    # CS = P(right at t2 | wrong at t1) as mean(wrong t1 and right t2) / mean(wrong t1).
    i2c = [1, 0, 0, 0]
    wrong_t1 = [1, 1, 0, 0]
    data = np.column_stack([i2c, wrong_t1]).astype(float)
    cs = stats.ratio(stats.column(0), stats.column(1))
    assert stats.estimate([data], cs).point == 0.5
    values = cs(stats.bootstrap_means([data], reps=400))
    assert np.isnan(values).any()  # some resamples draw only the two problems right at t1
    finite = values[~np.isnan(values)]
    assert finite.min() >= 0 and finite.max() <= 1


def test_mcnemar_exact_against_hand_computed_binomial_tails():
    assert stats.mcnemar_exact(5, 0) == pytest.approx(2 / 2 ** 5)                   # 0.0625
    assert stats.mcnemar_exact(2, 10) == pytest.approx(2 * (1 + 12 + 66) / 2 ** 12)   # 0.03857
    assert stats.mcnemar_exact(10, 2) == stats.mcnemar_exact(2, 10)
    assert stats.mcnemar_exact(3, 3) == 1.0
    assert stats.mcnemar_exact(0, 0) == 1.0
    with pytest.raises(ValueError, match="counts must be >= 0"):
        stats.mcnemar_exact(-1, 2)


def test_bad_input_is_refused_with_what_is_wrong():
    with pytest.raises(ValueError, match="at least one seed"):
        stats.bootstrap_means([])
    with pytest.raises(ValueError, match="same columns"):
        stats.bootstrap_means([np.zeros((3, 2)), np.zeros((3, 3))])
    with pytest.raises(ValueError, match="seed 1 has no problems"):
        stats.bootstrap_means([np.zeros((3, 2)), np.zeros((0, 2))])
    with pytest.raises(ValueError, match="confidence"):
        stats.estimate([col([0, 1])], stats.column(0), confidence=1.5)
