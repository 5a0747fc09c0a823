"""The hand-made example run validates against the run-format schema, record by record, and the config
schema is complete (a description and a valid default for every key)."""

import json

import jsonschema
import pytest

from conftest import EXAMPLE_RUN, schema_validator
from mgrpo.config import load_schema
from mgrpo.runlog import read_run


def test_example_run_validates(run_schema):
    run = read_run(EXAMPLE_RUN)
    assert run["malformed"] == 0
    schema_validator(run_schema, "manifest").validate(run["manifest"])
    assert run["metrics"], "the fixture has metrics lines"
    for line in run["metrics"]:
        schema_validator(run_schema, "metricsLine").validate(line)
    records = [record for step in run["rollouts"].values() for record in step]
    assert any(record["layer"] == 2 for record in records)
    for record in records:
        schema_validator(run_schema, "rolloutRecord").validate(record)
    for result in run["evals"].values():
        schema_validator(run_schema, "evalResult").validate(result)


def test_config_schema_is_complete():
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for key, subschema in schema["properties"].items():
        assert subschema.get("description"), key
        if key != "$schema":
            assert "default" in subschema, key
            jsonschema.Draft202012Validator(subschema).validate(subschema["default"])
    for key in ("filter_equal_reward_groups", "correction_bonus", "layer2_inputs", "layer2_num_generations"):
        assert "UNCONFIRMED" in schema["properties"][key]["description"], key
    json.dumps(schema)


def test_fixture_step_truth_is_what_the_trainer_computes(run_schema):
    """The fixture's step labels and step-truth metrics are the chain checker's and metrics.py's, and it has a
    right answer reached through a wrong step (the flawed chain viewers flag)."""
    from mgrpo.metrics import step_truth_metrics
    from mgrpo.steps import label_chain_steps
    from mgrpo.task import step_spans

    run = read_run(EXAMPLE_RUN)
    assert run["manifest"]["format_version"] == 2
    flawed = []
    for step, records in run["rollouts"].items():
        by_id = {record["id"]: record for record in records}
        for record in records:
            question = record["prompt"].split("\n")[0].removeprefix("Q: ")
            spans = [(span["start"], span["end"]) for span in record["steps"]]
            assert spans == step_spans(record["completion"]), record["id"]
            expected = label_chain_steps(question, record["completion"], spans).as_record_fields()
            assert {key: record[key] for key in expected} == expected, record["id"]
            if record["correct"] and record["first_wrong_step"] is not None:
                flawed.append(record["id"])
        line = next(line for line in run["metrics"] if line["step"] == step)
        pairs = [(by_id[r["parent_id"]], r) for r in records if r["layer"] == 2]
        assert line["step_truth"] == step_truth_metrics([r for r in records if r["layer"] == 1], pairs)
    assert flawed == ["s000002-q000-l1-001-l2-001"]
    for result in run["evals"].values():
        assert result["step_truth"]["implicit"]["i2c"] == {"n": 1, "exact": 1, "before": 0, "after": 0,
                                                          "no_departure": 0, "no_error": 0, "exact_rate": 1.0}
    schema_validator(run_schema, "rolloutRecord").validate(
        dict(run["rollouts"][1][0], step_labels=None, first_wrong_step=None))
    with pytest.raises(jsonschema.ValidationError):
        schema_validator(run_schema, "rolloutRecord").validate(
            dict(run["rollouts"][1][0], step_labels=[{"label": "maybe", "source": "checker"}]))
