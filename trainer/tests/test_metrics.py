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


# Step truth (issue 9) -------------------------------------------------------------------------------

from mgrpo.metrics import chain_truth, departure_position, implicit_supervision, step_truth_metrics  # noqa: E402
from mgrpo.steps import label_chain_steps  # noqa: E402
from mgrpo.task import step_spans, verify  # noqa: E402

QUESTION = "3+5*2-7"  # 8, 6, 9


def chain_record(completion: str) -> dict:
    """A rollout record's step fields for a completion of QUESTION, labelled by the chain checker."""
    spans = step_spans(completion)
    record = {"completion": completion, "correct": verify(completion, "9").correct,
              "steps": [{"start": s, "end": e} for s, e in spans]}
    record.update(label_chain_steps(QUESTION, completion, spans).as_record_fields())
    return record


SOUND = "3+5=8\n8*2=6\n6-7=9\nA: 9\n"
A = chain_record(SOUND)                                   # right, sound
B = chain_record("3+5=8\n8*2=9\n9-7=2\nA: 2\n")           # wrong, first error 1
C = chain_record("3+5=3\n3*2=6\n6-7=9\nA: 9\n")           # right by luck, first error 0
D = chain_record("3+5=8\n8*2=6\nA: 6\n")                  # wrong, stops early: first error 2 (missing)
PAIRS = [
    (B, chain_record(SOUND)),                                 # i->c, departs at 1 = error: exact
    (B, chain_record("3+5=1\n1*2=2\n2-7=5\nA: 5\n")),         # i->i, departs at 0 < 1: before
    (D, chain_record(SOUND)),                                 # i->c, only adds the missing step: 2 = 2, exact
    (A, chain_record(SOUND)),                                 # c->c from a sound parent: no_error
    (C, chain_record(SOUND)),                                 # c->c, departs at 0 = error: exact
    (B, chain_record("3+5=8\n8*2=9\n9-7=2\nA: 2\n")),         # i->i, same steps: no_departure
    (D, chain_record("3+5=8\n8*2=6\n6-7=9\n9+1=0\nA: 0\n")),  # i->i, departs at 2 = 2: exact
    (B, chain_record("3+5=8\n8*2=9\n9-7=9\nA: 9\n")),         # i->c by luck, departs at 2 > 1: after
]


def test_departure_position_follows_the_extension_divergence():
    assert departure_position(["3+5=8", "8*2=9", "9-7=2"], ["3+5=8", "8*2=6", "6-7=9"]) == 1
    assert departure_position(["a", "b"], ["a", "b"]) is None
    assert departure_position(["x=1", "y=2", "z=3"], ["x=1", "y=5", "z=3"]) == 1
    # The extension says {layer1Step: 1, layer2Step: 2} for an appended step: max is 2, one past layer 1.
    assert departure_position(["x=1", "y=2"], ["x=1", "y=2", "check"]) == 2
    assert departure_position(["x=1", "y=2", "check"], ["x=1", "y=2"]) == 2
    assert departure_position([], ["x=1"]) == 0


def test_chain_truth_hand_computed():
    assert [B["first_wrong_step"], C["first_wrong_step"], D["first_wrong_step"]] == [1, 0, 2]
    t1 = chain_truth([A, B, C, D])
    # Right answers A and C; C is flawed. Labels: 3 + 3 + 3 + 2 = 11 checked, B and C one wrong each.
    assert t1 == {"samples": 4, "right_answers": 2, "flawed_right_answers": 1, "flawed_chain_rate": 0.5,
                  "steps_checked": 11, "steps_right": 9, "step_accuracy": 9 / 11, "with_error": 3,
                  "first_error_mean": 1.0, "first_error_counts": [1, 1, 1]}
    t2 = chain_truth([correction for _, correction in PAIRS])
    # Right: 4 sound corrections + the lucky one (flawed); wrong steps: 1 + 1 + 1 (extra) + 2 = 5 of 25.
    assert t2["right_answers"] == 5 and t2["flawed_right_answers"] == 1 and t2["flawed_chain_rate"] == 0.2
    assert t2["steps_checked"] == 25 and t2["step_accuracy"] == 0.8
    assert t2["first_error_counts"] == [1, 2, 0, 1] and t2["first_error_mean"] == 1.25


def test_implicit_supervision_hand_computed():
    result = implicit_supervision(PAIRS)
    assert result["i2c"] == {"n": 3, "exact": 2, "before": 0, "after": 1, "no_departure": 0, "no_error": 0,
                             "exact_rate": pytest.approx(2 / 3)}
    assert result["all"] == {"n": 8, "exact": 4, "before": 1, "after": 1, "no_departure": 1, "no_error": 1,
                             "exact_rate": pytest.approx(4 / 6)}


def test_step_truth_metrics_null_without_labels_and_empty_cases():
    unlabelled = {"completion": SOUND, "correct": True, "steps": [], "step_labels": None, "first_wrong_step": None}
    assert step_truth_metrics([unlabelled], [(unlabelled, unlabelled)]) is None
    empty = chain_truth([])
    assert empty["flawed_chain_rate"] is None and empty["step_accuracy"] is None
    assert empty["first_error_mean"] is None and empty["first_error_counts"] == []
    line = step_truth_metrics([A, B, C, D], PAIRS, checker_errors=2)
    assert line["checker_errors"] == 2 and line["t1"]["samples"] == 4 and line["implicit"]["i2c"]["n"] == 3


def test_format_step_truth():
    from mgrpo.metrics import format_step_truth

    assert format_step_truth(None) is None
    text = format_step_truth(step_truth_metrics([A, B, C, D], PAIRS))
    assert text.splitlines() == [
        "t1: flawed chains 50.0% of right answers (1/2), step accuracy 81.8% (9/11)",
        "t2: flawed chains 20.0% of right answers (1/5), step accuracy 80.0% (20/25)",
        "wrong->right corrections: first departure at layer 1's first wrong step 2, before 0, after 1 (exact 66.7%)",
    ]
