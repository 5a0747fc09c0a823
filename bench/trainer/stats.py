"""Intervals for benchmark figures measured on held-out problems over several training seeds.

Every figure here is a function of per-problem 0/1 outcomes (right at t1, right at t2, ...). A training seed
is a unit of its own (the whole run changes with it), and within a seed every policy answers the same
problems, so the comparisons are paired. The interval is a two-stage (hierarchical) percentile bootstrap:
draw seeds with replacement, then, within each drawn seed, problems with replacement, the SAME problems for
every policy; the figure is computed from the seed-averaged column means. It thus counts both sources of
variation (which seeds, which problems) and keeps the pairing that makes a difference between two policies
far tighter than either accuracy alone. With one seed it is the ordinary paired bootstrap over problems.
With few seeds the seed stage is coarse (5 seeds: 126 distinct multisets); the intervals are then wide,
which is the honest answer.

``mcnemar_exact`` is the exact test beside it for a paired 0/1 comparison (discordant pairs, binomial).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

Statistic = Callable[[np.ndarray], np.ndarray]
"""Maps seed-averaged column means, shape (..., columns), to one figure per row, shape (...)."""


@dataclass(frozen=True)
class Estimate:
    """A figure on the data as measured (``point``) and its bootstrap percentile interval."""

    point: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def column_means(per_seed: Sequence[np.ndarray]) -> np.ndarray:
    """The seed-averaged column means of the data as measured: each seed weighs the same."""
    check_columns(per_seed)
    return np.mean([np.asarray(columns, dtype=float).mean(axis=0) for columns in per_seed], axis=0)


def check_columns(per_seed: Sequence[np.ndarray]) -> None:
    if not per_seed:
        raise ValueError("bootstrap needs at least one seed's columns")
    widths = {np.asarray(columns).shape[1] if np.asarray(columns).ndim == 2 else None for columns in per_seed}
    if None in widths or len(widths) != 1:
        raise ValueError(f"every seed needs a 2-D (problems x columns) array with the same columns, got widths {widths}")
    for index, columns in enumerate(per_seed):
        if np.asarray(columns).shape[0] == 0:
            raise ValueError(f"seed {index} has no problems")


def bootstrap_means(per_seed: Sequence[np.ndarray], reps: int = 2000, seed: int = 0) -> np.ndarray:
    """(reps, columns): seed-averaged column means of ``reps`` two-stage resamples.

    Each replicate draws as many seeds as there are, with replacement, and for every drawn seed a fresh
    resample of its problems (multinomial counts over the problems, which is the same as drawing problem
    indices with replacement)."""
    check_columns(per_seed)
    rng = np.random.default_rng(seed)
    data = [np.asarray(columns, dtype=float) for columns in per_seed]
    n_seeds = len(data)
    total = np.zeros((reps, data[0].shape[1]))
    drawn = rng.integers(0, n_seeds, size=(reps, n_seeds)) if n_seeds > 1 else np.zeros((reps, 1), dtype=int)
    for slot in range(n_seeds):
        for index, columns in enumerate(data):
            chosen = drawn[:, slot] == index
            count = int(chosen.sum())
            if count == 0:
                continue
            n = columns.shape[0]
            weights = rng.multinomial(n, np.full(n, 1.0 / n), size=count) / n  # (count, n)
            total[chosen] += weights @ columns
    return total / n_seeds


def estimate(per_seed: Sequence[np.ndarray], statistic: Statistic, reps: int = 2000, seed: int = 0,
             confidence: float = 0.95, resampled: np.ndarray | None = None) -> Estimate:
    """``statistic`` on the data and its ``confidence`` percentile interval. Pass ``resampled`` (from
    ``bootstrap_means`` on the same data) to read many figures off one set of resamples."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    point = float(statistic(column_means(per_seed)[None, :])[0])
    means = bootstrap_means(per_seed, reps, seed) if resampled is None else resampled
    values = np.asarray(statistic(means), dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return Estimate(point, math.nan, math.nan)
    tail = (1 - confidence) / 2
    low, high = np.quantile(values, [tail, 1 - tail], method="inverted_cdf")
    return Estimate(point, float(low), float(high))


def mcnemar_exact(only_first: int, only_second: int) -> float:
    """Two-sided exact McNemar p-value for paired 0/1 outcomes: ``only_first`` pairs where the first policy
    is right and the second wrong, ``only_second`` the reverse. Under "no difference" each discordant pair is
    a fair coin, so p = min(1, 2 * P(Binomial(b + c, 1/2) <= min(b, c)))."""
    if only_first < 0 or only_second < 0:
        raise ValueError(f"counts must be >= 0, got {only_first} and {only_second}")
    n = only_first + only_second
    if n == 0:
        return 1.0
    k = min(only_first, only_second)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def column(index: int) -> Statistic:
    """The statistic that reads one column."""
    return lambda means: means[..., index]


def difference(first: Statistic, second: Statistic) -> Statistic:
    return lambda means: first(means) - second(means)


def larger(first: Statistic, second: Statistic) -> Statistic:
    """The higher of two figures, chosen afresh in every resample (so the choice's luck is in the interval)."""
    return lambda means: np.maximum(first(means), second(means))


def ratio(numerator: Statistic, denominator: Statistic) -> Statistic:
    """numerator / denominator, NaN where the denominator is 0 (such resamples are left out)."""
    def compute(means: np.ndarray) -> np.ndarray:
        top, bottom = np.asarray(numerator(means), dtype=float), np.asarray(denominator(means), dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), np.nan)
    return compute


# --------------------------------------------------------------------------------------------------
# The self-correction table (MGRPO.md) from per-problem outcome columns
# --------------------------------------------------------------------------------------------------

# One block of columns per policy, one row per held-out problem: right at t1, right at t2, wrong->right,
# right->wrong, and right through a flawed chain (a wrong, missing or extra step) at t1 / t2.
OUTCOME_COLUMNS = ("t1", "t2", "i2c", "c2i", "t1_flawed", "t2_flawed")


def figure(name: str, block: int) -> Statistic:
    """A figure of the policy whose outcome columns start at column ``block * len(OUTCOME_COLUMNS)``:
    acc_t1, acc_t2, best (the higher of the two), delta, delta_i2c, delta_c2i, cl, cs, rss, flawed_t1,
    flawed_t2 (share of right answers whose chain is flawed)."""
    base = block * len(OUTCOME_COLUMNS)

    def c(key: str) -> Statistic:
        return column(base + OUTCOME_COLUMNS.index(key))

    t1, t2 = c("t1"), c("t2")
    one = lambda means: np.ones(means.shape[:-1])  # noqa: E731
    figures: dict[str, Statistic] = {
        "acc_t1": t1,
        "acc_t2": t2,
        "best": larger(t1, t2),
        "delta": difference(t2, t1),
        "delta_i2c": c("i2c"),
        "delta_c2i": c("c2i"),
        # CL = P(right at t2 | right at t1); right at both = right at t1 minus right->wrong.
        "cl": ratio(difference(t1, c("c2i")), t1),
        "cs": ratio(c("i2c"), difference(one, t1)),
        "rss": ratio(lambda m: t2(m) - t1(m) ** 2, lambda m: 2 * t1(m) * (1 - t1(m))),
        "flawed_t1": ratio(c("t1_flawed"), t1),
        "flawed_t2": ratio(c("t2_flawed"), t2),
    }
    if name not in figures:
        raise ValueError(f"unknown figure {name!r}; known: {', '.join(figures)}")
    return figures[name]
