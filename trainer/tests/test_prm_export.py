"""Step-label export (TRL stepwise supervision) on the example run, and implicit labels vs the checker."""

import json
import shutil

import pytest

from conftest import EXAMPLE_RUN
from mgrpo.prm_export import export_rows, export_step_labels, implicit_labels, implicit_vs_checker
from mgrpo.runlog import append_step_values, read_run
from mgrpo.task import step_spans


def record(completion: str, correct: bool) -> dict:
    return {"completion": completion, "correct": correct,
            "steps": [{"start": s, "end": e} for s, e in step_spans(completion)]}


def test_implicit_rows_on_the_fixture():
    rows = export_rows(read_run(EXAMPLE_RUN), "implicit")
    # The three wrong first answers that a correction fixed; each correction departs at step 2 (index 1).
    assert [row["id"] for row in rows] == ["s000001-q000-l1-001", "s000001-q001-l1-000", "s000002-q000-l1-000"]
    assert rows[0] == {"id": "s000001-q000-l1-001", "question_id": "train-000017", "prompt": "Q: 3+5*2-7\n",
                       "completions": ["3+5=8", "8*2=9"], "labels": [True, False],
                       "label_sources": ["implicit", "implicit"]}
    assert all(row["labels"] == [True, False] for row in rows)


def test_checker_rows_cut_before_an_unchecked_step():
    rows = {row["id"]: row for row in export_rows(read_run(EXAMPLE_RUN), "checker")}
    assert len(rows) == 24
    assert rows["s000002-q000-l1-001-l2-001"]["labels"] == [False, True, True]  # the lucky chain
    # "4+4=8" then a line that is not a step: only the first step is labelled.
    assert rows["s000002-q001-l1-001"]["completions"] == ["4+4=8"] and rows["s000002-q001-l1-001"]["labels"] == [True]


def test_value_rows_from_cached_step_values(tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(EXAMPLE_RUN, run_dir)
    assert export_rows(read_run(run_dir), "value") == []
    line = {"record_id": "s000001-q000-l1-001", "step": 1, "checkpoint": "m", "k": 4, "seed": 0, "temperature": 1.0,
            "prefix_value": 0.75, "values": [0.75, 0.0, 0.0], "drops": [0.0, 0.75, 0.0], "likely_error": 1,
            "time": "2026-01-01T00:00:00Z"}
    append_step_values(run_dir, dict(line, values=[1.0, 1.0, 1.0]))
    append_step_values(run_dir, line)  # the newest estimate wins
    rows = export_rows(read_run(run_dir), "value")
    assert [(row["id"], row["labels"], row["label_sources"]) for row in rows] == [
        ("s000001-q000-l1-001", [True, False, False], ["value"] * 3)]


def test_implicit_labels_rules():
    wrong = record("3+5=8\n8*2=9\n9-7=2\nA: 2\n", False)
    fixed_at_1 = record("3+5=8\n8*2=6\n6-7=9\nA: 9\n", True)
    fixed_at_0 = record("3+5=3\n3*2=6\n6-7=9\nA: 9\n", True)
    still_wrong = record("3+1=4\nA: 4\n", False)
    assert implicit_labels(wrong, [fixed_at_1]) == [True, False]
    assert implicit_labels(wrong, [fixed_at_1, fixed_at_0, still_wrong]) == [False]  # earliest fixing departure
    assert implicit_labels(wrong, [still_wrong]) is None                              # nothing fixed it
    assert implicit_labels(fixed_at_1, [fixed_at_1]) is None                          # a right first answer
    # A correction that only adds the step its parent left out: every written step is right.
    assert implicit_labels(record("3+5=8\n8*2=6\nA: 6\n", False), [fixed_at_1]) == [True, True]


def test_implicit_vs_checker_on_the_fixture():
    run = read_run(EXAMPLE_RUN)
    records = [r for step in sorted(run["rollouts"]) for r in run["rollouts"][step]]
    agreement = implicit_vs_checker(records)
    # Each of the 3 rows: step 1 right by both (true negative), step 2 wrong by both (true positive).
    assert agreement.as_dict() == {"rows": 3, "true_positive": 3, "false_positive": 0, "false_negative": 0,
                                   "true_negative": 3, "precision": 1.0, "recall": 1.0}


def test_implicit_vs_checker_counts_disagreements():
    parent = record("3+5=3\n3*2=6\n6-7=9\nA: 1\n", False)   # checker: wrong, right, right
    parent.update(id="p", layer=1, parent_id=None, question_id="q", prompt="Q: 3+5*2-7\n",
                  step_labels=[{"label": label, "source": "checker"} for label in ("wrong", "right", "right")])
    late = record("3+5=3\n3*2=6\n6-7=9\nA: 9\n", True)     # departs only at the answer: no departure
    fix = record("3+5=3\n3*2=5\n5-7=8\n8+1=9\nA: 9\n", True)  # departs at step 2 (index 1)
    fix.update(id="c", layer=2, parent_id="p", question_id="q", prompt="", step_labels=None)
    late.update(id="c2", layer=2, parent_id="p", question_id="q", prompt="", step_labels=None)
    agreement = implicit_vs_checker([parent, fix, late])
    # Implicit: step 1 right (checker wrong: a miss), step 2 wrong (checker right: a false alarm).
    assert agreement.as_dict() == {"rows": 1, "true_positive": 0, "false_positive": 1, "false_negative": 1,
                                   "true_negative": 0, "precision": 0.0, "recall": 0.0}


def test_export_writes_json_lines_and_rejects_an_unknown_source(tmp_path):
    out = tmp_path / "labels" / "prm.jsonl"
    summary = export_step_labels(EXAMPLE_RUN, out)
    assert summary["rows"] == 3 and summary["implicit_vs_checker"]["precision"] == 1.0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [set(row) for row in rows] == [{"id", "question_id", "prompt", "completions", "labels", "label_sources"}] * 3
    with pytest.raises(ValueError, match="label source must be one of implicit, checker, value, got 'oracle'"):
        export_rows(read_run(EXAMPLE_RUN), "oracle")
