"""Correction metrics (MGRPO.md) against hand computations, including the undefined cases."""

import pytest

from mgrpo.metrics import correction_metrics, format_table, layer_stats, outcome_label


def test_correction_metrics_hand_computed():
    pairs = [(True, True), (True, False), (False, True), (False, False), (False, False)]
    m = correction_metrics(pairs)
    assert m["n"] == 5
    assert m["acc_t1"] == pytest.approx(0.4) and m["acc_t2"] == pytest.approx(0.4)
    assert m["delta"] == pytest.approx(0.0)
    assert m["delta_i2c"] == pytest.approx(0.2) and m["delta_c2i"] == pytest.approx(0.2)
    assert m["cl"] == pytest.approx(0.5) and m["cs"] == pytest.approx(1 / 3)
    assert m["rss"] == pytest.approx((0.4 - 0.16) / (2 * 0.4 * 0.6))
    # The decomposition Acc@t2 = Acc@t1 * CL + (1 - Acc@t1) * CS holds.
    assert m["acc_t2"] == pytest.approx(m["acc_t1"] * m["cl"] + (1 - m["acc_t1"]) * m["cs"])


def test_correction_metrics_undefined_cases_are_none():
    all_right = correction_metrics([(True, True), (True, False)])
    assert all_right["cs"] is None and all_right["rss"] is None and all_right["cl"] == 0.5
    all_wrong = correction_metrics([(False, True), (False, False)])
    assert all_wrong["cl"] is None and all_wrong["rss"] is None and all_wrong["cs"] == 0.5
    empty = correction_metrics([])
    assert empty["n"] == 0 and all(empty[key] is None for key in empty if key != "n")


def test_delta_identities():
    # SCoRe's base row has Delta = Acc@t2 - Acc@t1 and i->c - c->i = Delta; check on an equivalent sample.
    pairs = [(True, True)] * 6 + [(True, False)] * 2 + [(False, True)] * 1 + [(False, False)] * 1
    m = correction_metrics(pairs)
    assert m["delta"] == pytest.approx(m["delta_i2c"] - m["delta_c2i"])
    assert m["rss"] == pytest.approx((0.7 - 0.64) / (2 * 0.8 * 0.2))


def test_outcome_labels():
    assert outcome_label(False, True) == "i->c"
    assert outcome_label(True, False) == "c->i"
    assert outcome_label(True, True) == "c->c"
    assert outcome_label(False, False) == "i->i"


def test_layer_stats():
    records = [
        {"reward": 1.0, "correct": True, "completion_tokens": 10, "finish_reason": "stop"},
        {"reward": 0.0, "correct": False, "completion_tokens": 20, "finish_reason": "length"},
        {"reward": 1.0, "correct": True, "completion_tokens": 30, "finish_reason": "stop"},
        {"reward": 1.0, "correct": True, "completion_tokens": 40, "finish_reason": "stop"},
    ]
    stats = layer_stats(records, [[1.0, 0.0], [1.0, 1.0]], 1.5)
    assert stats["samples"] == 4 and stats["groups"] == 2
    assert stats["reward_mean"] == 0.75 and stats["reward_std"] == pytest.approx(0.4330127)
    assert stats["accuracy"] == 0.75 and stats["completion_length_mean"] == 25 and stats["completion_length_max"] == 40
    assert stats["truncated_fraction"] == 0.25 and stats["frac_reward_zero_std"] == 0.5
    assert stats["generation_seconds"] == 1.5
    empty = layer_stats([], [], 0.0)
    assert empty["reward_mean"] is None and empty["frac_reward_zero_std"] is None


def test_format_table_shows_na_for_undefined():
    table = format_table(correction_metrics([(True, True)]))
    assert "| 1 | 100.0 | 100.0 | +0.0 |" in table and "n/a" in table
