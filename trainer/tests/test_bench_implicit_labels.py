"""bench/trainer/implicit_labels.py on the example run, whose counts are known by hand: three wrong first answers
fixed by a correction, each departing at the first step the checker marks wrong."""

from __future__ import annotations

import sys

from conftest import EXAMPLE_RUN, REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench" / "trainer"))
import implicit_labels  # noqa: E402


def test_counts_and_report_on_the_example_run():
    counts = implicit_labels.run_counts(EXAMPLE_RUN)
    assert (counts.true_positive, counts.false_positive, counts.false_negative) == (3, 0, 0)
    text = implicit_labels.report([counts], "cmd")
    assert "| precision of implicit \"wrong\" (the checker agrees) | 1.000 |" in text
    assert "3 of 3" in text


def test_pooled_is_a_ratio_of_sums_not_a_mean_of_ratios():
    runs = [implicit_labels.RunCounts("a", 1, 0, 0, 0, 0, 0, 0), implicit_labels.RunCounts("b", 1, 3, 0, 0, 0, 0, 0)]
    precision = implicit_labels.FIGURES[0]
    assert implicit_labels.pooled(runs, precision[1], precision[2]) == 2 / 5
