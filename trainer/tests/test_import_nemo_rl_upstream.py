"""NeMo-RL's train_data_step{N}.jsonl as its writer produces them (fixtures/sources/nemo-rl-upstream, built by
build_fixture.py after NVIDIA-NeMo/RL 7ea279ab grpo.py + logger.log_batched_dict_as_jsonl): content is a list of
message strings, idx is the row number, the loss mask marks generated tokens, sequences are right-padded."""

from __future__ import annotations

import json

import pytest

from conftest import TRAINER_ROOT
from test_import_sources import SOURCES, by_group, import_folder, validate_imported_run

UPSTREAM = SOURCES / "nemo-rl-upstream"
TINY = TRAINER_ROOT / "models" / "mgrpo-demo-tiny"


def rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (UPSTREAM / name).read_text().splitlines()]


@pytest.fixture
def run(tmp_path, run_schema):
    return validate_imported_run(import_folder(UPSTREAM, tmp_path / "run").run_dir, run_schema)


def test_fixture_has_the_writer_layout():
    """Guards the fixture itself: batch values one-row lists, idx a bare row counter, padding past input_lengths."""
    lines = rows("train_data_step1.jsonl")
    assert [line["idx"] for line in lines] == [0, 1, 2, 3]
    assert all(isinstance(line["content"][0], list) and len(line["content"]) == 1 for line in lines)
    assert all(len(line["token_ids"][0]) % 4 == 0 and len(line["token_ids"][0]) > line["input_lengths"][0]
               for line in lines[2:])  # the shorter prompt's rows carry padding


def test_message_strings_split_into_prompt_and_generated_text(run):
    """content is [[prompt chunk, generated text, environment answer]]; the old reader found no completion."""
    step1 = run["rollouts"][1]
    assert len(step1) == 4
    first = step1[0]
    assert first["prompt"] == "Q: 4+4\nA: " and first["completion"] == "4+4=8. 8"
    assert first["source"]["fields"]["environment_observation"] == "Environment: correct"
    assert [record["completion"] for record in step1] == ["4+4=8. 8", "9", "4", "9-5=4"]


def test_groups_by_prompt_tokens_not_by_row_number(run):
    """idx is 0..3 (the line number): grouping by it made four groups of one."""
    step1 = by_group(run["rollouts"][1])
    assert [[record["completion"] for record in group] for group in step1] == [["4+4=8. 8", "9"], ["4", "9-5=4"]]
    assert step1[0][0]["group_reward_mean"] == 0.5 and step1[1][0]["group_reward_std"] == 0.0
    assert step1[0][0]["question_id"] != "idx-0"


def test_token_counts_and_logprobs_stop_at_the_generated_tokens(run):
    """The boundary is the loss mask: environment tokens and padding after the generation are not completion."""
    first = run["rollouts"][1][0]
    line = rows("train_data_step1.jsonl")[0]
    generated = [k for k, bit in enumerate(line["token_loss_mask"][0]) if bit]
    assert (first["prompt_tokens"], first["completion_tokens"]) == (10, 9) == (generated[0], len(generated))
    assert first["token_logprobs"] == line["generation_logprobs"][0][10:19]


def test_advantage_is_the_expanded_per_token_value(run):
    step1 = run["rollouts"][1]
    assert [record["advantage"] for record in step1] == pytest.approx([0.7071, -0.7071, 0.0, 0.0], abs=1e-4)


def test_multi_turn_and_dynamic_sampling(run):
    """Two generated turns, each followed by the environment's answer; filtered_rewards is the row's reward."""
    step2 = run["rollouts"][2]
    first, second = step2
    assert first["prompt"] == "Q: 6*7\nA: "
    assert first["completion"] == "41Environment: incorrect42"
    assert first["source"]["fields"]["environment_observation"] == "Environment: correct"
    assert [record["reward"] for record in step2] == [1.0, 0.0]  # the unfiltered batch's rewards are 0.0, 0.0
    assert second["source"]["fields"]["rewards_unfiltered_batch"] == 0.0
    line = rows("train_data_step2.jsonl")[0]
    mask = line["token_loss_mask"][0]
    last = max(k for k, bit in enumerate(mask) if bit)
    assert first["completion_tokens"] == last + 1 - first["prompt_tokens"]
    assert len(by_group(step2)) == 1


def test_loss_mask_boundary_survives_a_zero_logprob(tmp_path, run_schema):
    """A generated token of probability 1 has log-prob 0.0: the old first-non-zero rule moved the boundary."""
    lines = rows("train_data_step1.jsonl")
    lines[0]["generation_logprobs"][0][10] = 0.0
    source = tmp_path / "logs"
    source.mkdir()
    (source / "train_data_step1.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    run = validate_imported_run(import_folder(source, tmp_path / "run").run_dir, run_schema)
    first = run["rollouts"][1][0]
    assert first["prompt_tokens"] == 10 and first["token_logprobs"][0] == 0.0


def test_with_tokenizer_decodes_the_generated_tokens(tmp_path, run_schema):
    run = validate_imported_run(import_folder(UPSTREAM, tmp_path / "run", tokenizer=str(TINY)).run_dir, run_schema)
    step1 = run["rollouts"][1]
    assert [record["completion"] for record in step1] == ["4+4=8. 8", "9", "4", "9-5=4"]  # <eos> skipped
    assert step1[0]["prompt"] == "Q: 4+4\nA: "
    assert [len(by_group(run["rollouts"][step])) for step in (1, 2)] == [2, 1]
