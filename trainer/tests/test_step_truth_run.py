"""Step truth in a real training run on the shipped demo model: every record carries the chain checker's
labels, metrics lines and evaluations carry the step-truth metrics computed from them, and a failing user
checker is counted, never fatal."""

import io
import json

import pytest

from conftest import schema_validator, write_config
from mgrpo.config import DEMO_MODEL_DIR, resolve_config
from mgrpo.metrics import step_truth_metrics
from mgrpo.protocol import Protocol
from mgrpo.runlog import read_run
from mgrpo.steps import label_chain_steps
from mgrpo.trainer import Trainer, UsageError


def demo_config(**overrides) -> dict:
    config = {"preset": "demo", "device": "cpu", "seed": 5, "max_steps": 1, "questions_per_step": 2,
              "num_generations": 2, "layer2_num_generations": 2, "max_completion_length": 40, "save_steps": 0,
              "eval_steps": 1, "eval_size": 3, "eval_num_samples": 0, "chain_min_ops": 2, "chain_max_ops": 3,
              "num_threads": 1}
    config.update(overrides)
    return config


def train(tmp_path, **overrides):
    config = resolve_config(write_config(tmp_path, demo_config(**overrides)))
    out = io.StringIO()
    code = Trainer(config, tmp_path / "run", Protocol(out)).run()
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    assert DEMO_MODEL_DIR.is_dir()
    folder = tmp_path_factory.mktemp("step-truth-run")
    code, _events = train(folder)
    assert code == 0
    return read_run(folder / "run")


def test_records_carry_the_chain_checkers_labels(demo_run, run_schema):
    records = demo_run["rollouts"][1]
    validator = schema_validator(run_schema, "rolloutRecord")
    for record in records:
        validator.validate(record)
        question = record["prompt"].split("\n")[0].removeprefix("Q: ")
        spans = [(span["start"], span["end"]) for span in record["steps"]]
        assert len(record["step_labels"]) == len(spans)
        assert {"step_labels": record["step_labels"], "first_wrong_step": record["first_wrong_step"]} == \
            label_chain_steps(question, record["completion"], spans).as_record_fields()
    # The demo model writes chains: most of its steps are checkable.
    labels = [item["label"] for record in records for item in record["step_labels"]]
    assert labels.count("unchecked") < len(labels) / 2


def test_metrics_and_evaluations_carry_step_truth(demo_run, run_schema):
    records = demo_run["rollouts"][1]
    line = demo_run["metrics"][0]
    schema_validator(run_schema, "metricsLine").validate(line)
    layer1 = [r for r in records if r["layer"] == 1]
    by_id = {r["id"]: r for r in layer1}
    pairs = [(by_id[r["parent_id"]], r) for r in records if r["layer"] == 2]
    assert line["step_truth"] == step_truth_metrics(layer1, pairs, 0)
    assert line["step_truth"]["t1"]["samples"] == 4 and line["step_truth"]["implicit"]["all"]["n"] == 8
    for result in demo_run["evals"].values():
        schema_validator(run_schema, "evalResult").validate(result)
        assert result["step_truth"]["t1"]["samples"] == 3
        for problem in result["problems"]:
            assert problem["t1_step_labels"] is not None and problem["t2_step_labels"] is not None


def test_a_failing_user_checker_is_counted_not_fatal(tmp_path, monkeypatch):
    (tmp_path / "broken_checker.py").write_text("def check(step, context):\n    raise RuntimeError('bug')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, events = train(tmp_path, step_checker="broken_checker:check", eval_steps=0)
    assert code == 0, events
    run = read_run(tmp_path / "run")
    records = run["rollouts"][1]
    steps = sum(len(record["steps"]) for record in records)
    assert run["metrics"][0]["step_truth"]["checker_errors"] == steps > 0
    assert all(item["label"] == "unchecked" for record in records for item in record["step_labels"])


def test_an_unknown_user_checker_is_a_usage_error(tmp_path):
    # cmd_train turns a UsageError into an error event and exit code 2.
    with pytest.raises(UsageError, match="step_checker 'no_such_module_h5:check': cannot import module"):
        train(tmp_path, step_checker="no_such_module_h5:check")
