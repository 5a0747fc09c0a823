"""The hand-made example run validates against the run-format schema, record by record, and the config
schema is complete (a description and a valid default for every key)."""

import json

import jsonschema

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
