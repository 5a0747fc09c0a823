"""Each importer on its hand-written sample folder (tests/fixtures/sources/): the run folder validates against
the run-format schema, and the numbers are the hand-computed ones."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas
import pytest

from conftest import TRAINER_ROOT, schema_validator
from mgrpo.importers import RunImporter, SourceOptions, open_source
from mgrpo.importers.records import NON_NULLABLE_LAYER_FIELDS, NON_NULLABLE_METRICS_FIELDS, NON_NULLABLE_RECORD_FIELDS
from mgrpo.runlog import read_run

SOURCES = TRAINER_ROOT / "tests" / "fixtures" / "sources"


def write_trl_folder(folder: Path, tables: dict) -> Path:
    """completions/completions_NNNNN.parquet as TRL 1.16's GRPOTrainer.log writes them (DataFrame.to_parquet)."""
    (folder / "completions").mkdir(parents=True, exist_ok=True)
    for name, columns in tables.items():
        pandas.DataFrame(columns).to_parquet(folder / "completions" / name, index=False)
    return folder


def trl_fixture(tmp_path: Path) -> Path:
    return write_trl_folder(tmp_path / "trl-output", json.loads((SOURCES / "trl" / "completions.json").read_text()))


def import_folder(source: Path, run_dir: Path, kind: str | None = None, **options) -> RunImporter:
    importer = RunImporter(open_source(source, kind, SourceOptions(**options)), run_dir)
    importer.import_all()
    return importer


def relaxed(run_schema: dict, absent: list[str]) -> dict:
    """The run-format schema with null allowed exactly for the fields run.json lists as absent from the source
    (the schema types them without null; the importer writes null rather than inventing them)."""
    schema = copy.deepcopy(run_schema)
    for name in absent:
        if name.startswith("layer1."):
            properties, name = schema["$defs"]["layerStats"]["properties"], name.split(".", 1)[1]
        elif name in NON_NULLABLE_METRICS_FIELDS:
            properties = schema["$defs"]["metricsLine"]["properties"]
        elif name == "model.name_or_path":
            properties, name = schema["$defs"]["manifest"]["properties"]["model"]["properties"], "name_or_path"
        else:
            properties = schema["$defs"]["rolloutRecord"]["properties"]
        properties[name] = {"anyOf": [properties[name], {"type": "null"}]}
    return schema


def validate_imported_run(run_dir: Path, run_schema: dict) -> dict:
    """Every file validates against the schema, null allowed only where run.json says the source lacks the
    value, and that list names only fields the schema cannot hold as null."""
    run = read_run(run_dir)
    assert run["malformed"] == 0
    absent = run["manifest"]["source"]["absent_fields"]
    allowed = set(NON_NULLABLE_RECORD_FIELDS) | set(NON_NULLABLE_METRICS_FIELDS) | {
        f"layer1.{name}" for name in NON_NULLABLE_LAYER_FIELDS} | {"model.name_or_path"}
    assert set(absent) <= allowed, set(absent) - allowed
    schema = relaxed(run_schema, absent)
    schema_validator(schema, "manifest").validate(run["manifest"])
    for line in run["metrics"]:
        schema_validator(schema, "metricsLine").validate(line)
    for records in run["rollouts"].values():
        for record in records:
            schema_validator(schema, "rolloutRecord").validate(record)
    assert [line["step"] for line in run["metrics"]] == sorted(run["rollouts"])
    return run


def by_group(records: list[dict]) -> list[list[dict]]:
    groups: dict[int, list[dict]] = {}
    for record in records:
        groups.setdefault(record["group"], []).append(record)
    return [groups[key] for key in sorted(groups)]


def test_verl(tmp_path, run_schema):
    run = validate_imported_run(import_folder(SOURCES / "verl", tmp_path / "run").run_dir, run_schema)
    assert run["manifest"]["source"]["kind"] == "verl"
    step1 = by_group(run["rollouts"][1])
    # uid a1b2_0_{0,1,2}: one group, ordered by index although the file has them as rows 3, 1, 5
    assert [record["source"]["fields"]["request_id"] for record in step1[0]] == ["r-10", "r-11", "r-12"]
    assert [record["reward"] for record in step1[0]] == [0.0, 1.0, 1.0]
    assert step1[0][0]["group_reward_mean"] == pytest.approx(2 / 3)
    assert step1[0][0]["group_reward_std"] == pytest.approx((2 / 9) ** 0.5)  # population std of 0, 1, 1
    assert [record["correct"] for record in step1[0]] == [False, True, True]  # from verl's acc
    assert step1[0][0]["ground_truth"] == "5" and step1[0][0]["advantage"] is None
    assert [(record["group_reward_mean"], record["group_reward_std"]) for record in step1[1]] == [(0.5, 0.5)] * 2
    # step 2 has no uid: groups by identical input, the same question id as step 1 (Compare Across Steps)
    step2 = by_group(run["rollouts"][2])
    assert [record["reward"] for record in step2[1]] == [1.0, -0.5]
    assert step2[1][0]["group_reward_mean"] == pytest.approx(0.25) and step2[1][0]["group_reward_std"] == 0.75
    assert step2[1][0]["question_id"] == step1[0][0]["question_id"]
    assert "question_id" in step2[1][0]["derived"]
    metrics = {line["step"]: line for line in run["metrics"]}
    assert metrics[2]["layer1"]["frac_reward_zero_std"] == 0.5  # 1,1 is flat; 1,-0.5 is not
    assert metrics[1]["layer1"]["accuracy"] == pytest.approx(3 / 5)
    assert metrics[1]["loss"] is None  # verl's rollout dump has no loss
    assert {"advantage", "token_logprobs", "finish_reason", "loss"} <= set(run["manifest"]["source"]["absent_fields"])


def test_trl_files_with_group_size(tmp_path, run_schema):
    importer = import_folder(trl_fixture(tmp_path), tmp_path / "run", group_size=2)
    run = validate_imported_run(importer.run_dir, run_schema)
    step1 = by_group(run["rollouts"][1])
    assert [record["reward"] for record in step1[0]] == [1.5, 0.5]  # correctness + format
    # format returned None (NaN in the file) for the last row: left out of rewards, not counted as 0
    assert step1[1][1]["rewards"] == {"correctness": 1.0} and step1[1][1]["reward"] == 1.0
    assert step1[1][0]["group_reward_mean"] == 1.25 and step1[1][0]["group_reward_std"] == 0.25
    assert [record["advantage"] for record in step1[0]] == [0.7071, -0.7071]  # TRL's, as written
    assert step1[0][0]["ground_truth"] == "7"  # the extra column 'answer'
    assert importer.stats.rewards_not_finite == 1
    step2 = by_group(run["rollouts"][2])
    assert step2[0][0]["prompt"] == "user: Q: 5*5" and step2[0][0]["completion"] == "5*5=25\nA: 25"
    assert step2[0][0]["rewards"] == {"correctness": 1.0, "format": 0.5}


def test_trl_files_group_by_prompt_without_group_size(tmp_path, run_schema):
    run = validate_imported_run(import_folder(trl_fixture(tmp_path), tmp_path / "run").run_dir, run_schema)
    assert [len(group) for group in by_group(run["rollouts"][1])] == [2, 2]
    assert run["manifest"]["source"]["kind"] == "trl"


def test_nemo_rl(tmp_path, run_schema):
    importer = import_folder(SOURCES / "nemo-rl", tmp_path / "run")
    run = validate_imported_run(importer.run_dir, run_schema)
    first = run["rollouts"][1][0]
    assert first["prompt"] == "<|im_start|>user\nWhat is 4+4?<|im_end|>\n<|im_start|>assistant\n"
    assert first["completion"] == "4+4=8. Answer: 8<|im_end|>"
    assert (first["prompt_tokens"], first["completion_tokens"]) == (12, 3)  # 12 zero log-probs, then 3 tokens
    assert first["token_logprobs"] == [-0.1, -0.2, -0.05] and first["token_offsets"] is None
    assert first["advantage"] == 1.0 and first["question_id"] == "idx-7"
    assert [len(group) for group in by_group(run["rollouts"][1])] == [2, 2]
    assert "val_data_step2.jsonl" in run["manifest"]["source"]["skipped_files"]


def test_nemo_rl_with_tokenizer_splits_by_token(tmp_path, run_schema):
    """With --tokenizer, prompt and completion are decoded from token_ids at the first generated token."""
    from transformers import AutoTokenizer

    model_dir = TRAINER_ROOT / "models" / "mgrpo-demo-tiny"
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    prompt_ids = tokenizer.encode("Q: 3+4\n", add_special_tokens=False)
    completion_ids = tokenizer.encode("3+4=7\nA: 7\n", add_special_tokens=False)
    source = tmp_path / "logs"
    source.mkdir()
    ids = prompt_ids + completion_ids
    row = {"content": ["Q: 3+4\n3+4=7\nA: 7\n"], "rewards": [1.0], "advantages": [0.0],
           "generation_logprobs": [[0.0] * len(prompt_ids) + [-0.5] * len(completion_ids)],
           "token_ids": [ids], "input_lengths": [len(ids)], "idx": [0]}
    (source / "train_data_step1.jsonl").write_text(json.dumps(row) + "\n")
    run = validate_imported_run(import_folder(source, tmp_path / "run", tokenizer=str(model_dir)).run_dir,
                                run_schema)
    record = run["rollouts"][1][0]
    assert record["completion"] == "3+4=7\nA: 7\n" and record["prompt_tokens"] == len(prompt_ids)
    assert record["token_offsets"] == list(range(len(completion_ids)))  # one character per token
    assert "token_offsets" not in run["manifest"]["source"]["absent_fields"]


def test_prime_rl(tmp_path, run_schema):
    run = validate_imported_run(import_folder(SOURCES / "prime-rl", tmp_path / "run").run_dir, run_schema)
    step1 = by_group(run["rollouts"][1])
    assert step1[0][0]["prompt"] == "user: What is 6/2?" and step1[0][0]["ground_truth"] == "3"
    assert [record["advantage"] for record in step1[0]] == [0.5, -0.5]
    assert step1[0][0]["rewards"] == {"correct_answer": 1.0}
    assert [record["finish_reason"] for record in step1[1]] == ["length", "stop"]
    metrics = {line["step"]: line for line in run["metrics"]}
    assert (metrics[1]["loss"], metrics[1]["kl"]) == (0.125, 0.002)
    assert metrics[1]["layer1"]["truncated_fraction"] == 0.25
    assert any("eval" in name for name in run["manifest"]["source"]["skipped_files"])
    assert step1[0][0]["question_id"] == run["rollouts"][2][0]["question_id"] == "example-0"
