"""TRL 1.16's GRPOTrainer trains the shipped demo model for 3 steps on CPU with ``record_rollouts`` attached,
and the run folder it writes is a valid run in our format, step by step, with TRL's own numbers in it."""

from __future__ import annotations

import os

import pytest

from conftest import TRAINER_ROOT, schema_validator
from mgrpo.runlog import read_run

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("WANDB_DISABLED", "true")

DEMO_MODEL = TRAINER_ROOT / "models" / "mgrpo-demo-tiny"
STEPS, QUESTIONS, GROUP = 3, 2, 3


def correctness(prompts, completions, answer, **_):
    from mgrpo.task import verify

    return [verify(completion, truth).reward for completion, truth in zip(completions, answer)]


def brevity(prompts, completions, **_):
    """A second reward function that returns None for the first row, as TRL allows (unscored)."""
    return [None if index == 0 else -len(completion) / 100 for index, completion in enumerate(completions)]


def train_with_lens(out, grpo_overrides: dict | None = None, **record_options):
    """TRL trains the demo model for STEPS steps with record_rollouts attached; (run folder, trainer)."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from mgrpo.integrations.trl import record_rollouts
    from mgrpo.prompts import build_layer1_prompt
    from mgrpo.task import ChainTask

    torch.manual_seed(0)
    problems = ChainTask(seed=0).eval_problems(STEPS * QUESTIONS)
    dataset = Dataset.from_dict({
        "prompt": [build_layer1_prompt(problem.question) for problem in problems],
        "answer": [problem.answer for problem in problems],
        "problem_id": [problem.id for problem in problems],
    })
    tokenizer = AutoTokenizer.from_pretrained(DEMO_MODEL)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(DEMO_MODEL, dtype=torch.float32)
    settings = dict(
        output_dir=str(out / "trl-output"), per_device_train_batch_size=QUESTIONS * GROUP, num_generations=GROUP,
        gradient_accumulation_steps=1, max_steps=STEPS, learning_rate=1e-4, beta=0.0, max_completion_length=24,
        temperature=1.0, top_k=0, shuffle_dataset=False, use_cpu=True, bf16=False, fp16=False, report_to="none",
        logging_steps=1, save_strategy="no", disable_tqdm=True, log_completions=False, dataloader_num_workers=0,
        seed=0,
    )
    settings.update(grpo_overrides or {})
    trainer = GRPOTrainer(model=model, reward_funcs=[correctness, brevity], args=GRPOConfig(**settings),
                          train_dataset=dataset, processing_class=tokenizer)
    run_dir = out / "lens-run"
    record_rollouts(trainer, run_dir, **record_options)
    trainer.train()
    return run_dir, trainer


@pytest.fixture(scope="module")
def trl_run(tmp_path_factory):
    # log_completions: TRL also writes its own completions parquet files, which the importer reads (below)
    return train_with_lens(tmp_path_factory.mktemp("trl"), {"log_completions": True, "num_completions_to_print": 0},
                           correct_from="correctness")


def test_run_folder_validates_step_by_step(trl_run, run_schema):
    run_dir, trainer = trl_run
    run = read_run(run_dir)
    assert run["malformed"] == 0
    manifest = run["manifest"]
    schema_validator(run_schema, "manifest").validate(manifest)
    assert manifest["status"] == "finished" and manifest["source"]["kind"] == "trl-live"
    assert manifest["source"]["logprob_sources"] == ["recomputed"]
    assert sorted(run["rollouts"]) == [1, 2, 3]
    assert [line["step"] for line in run["metrics"]] == [1, 2, 3]
    for line in run["metrics"]:
        schema_validator(run_schema, "metricsLine").validate(line)
    for step, records in run["rollouts"].items():
        assert len(records) == QUESTIONS * GROUP
        for record in records:
            schema_validator(run_schema, "rolloutRecord").validate(record)
            assert record["step"] == step


def test_records_hold_trls_numbers(trl_run):
    run_dir, trainer = trl_run
    run = read_run(run_dir)
    by_prompt = {row["prompt"]: row for row in trainer.train_dataset}
    for step, records in run["rollouts"].items():
        # groups are runs of num_generations consecutive rows, each with one prompt and one question id
        for group in range(QUESTIONS):
            members = [record for record in records if record["group"] == group]
            assert [record["sample"] for record in members] == list(range(GROUP))
            assert len({record["prompt"] for record in members}) == 1
            assert len({record["question_id"] for record in members}) == 1
            rewards = [record["reward"] for record in members]
            mean = sum(rewards) / GROUP
            std = (sum((value - mean) ** 2 for value in rewards) / GROUP) ** 0.5
            for record in members:
                assert record["group_reward_mean"] == pytest.approx(mean)
                assert record["group_reward_std"] == pytest.approx(std)
                # TRL's advantage (sample std, scale_rewards "group"): (r - mean) / (std_sample + 1e-4)
                sample_std = (sum((value - mean) ** 2 for value in rewards) / (GROUP - 1)) ** 0.5
                assert record["advantage"] == pytest.approx((record["reward"] - mean) / (sample_std + 1e-4), abs=1e-4)
        for index, record in enumerate(records):
            # the first row of each batch has no brevity score (None): left out, and the sum is correctness alone
            if index == 0:
                assert "brevity" not in record["rewards"]
                assert record["reward"] == record["rewards"]["correctness"]
            else:
                assert record["reward"] == pytest.approx(record["rewards"]["correctness"] + record["rewards"]["brevity"])
                assert record["rewards"]["brevity"] == pytest.approx(-len(record["completion"]) / 100)
            assert record["correct"] == (record["rewards"]["correctness"] > 0)
            # ground truth and question id come from the data set's columns
            assert record["ground_truth"] == by_prompt[record["prompt"]]["answer"]
            assert record["question_id"] == by_prompt[record["prompt"]]["problem_id"]
            assert len(record["token_logprobs"]) == len(record["token_offsets"]) == record["completion_tokens"]
            # the demo tokenizer has one token per character (EOS decodes to ""): token data and text are aligned
            eos = 1 if record["finish_reason"] == "stop" else 0
            assert record["completion_tokens"] == len(record["completion"]) + eos
            assert all(value <= 0 for value in record["token_logprobs"])
            assert record["finish_reason"] in ("stop", "length")
            if record["finish_reason"] == "length":
                assert record["completion_tokens"] == 24
    # TRL's logged mean reward for a step is the mean of the records' rewards (all rows scored by correctness)
    logged = [entry["reward"] for entry in trainer.state.log_history if "reward" in entry]
    for step, value in zip(sorted(run["rollouts"]), logged):
        rewards = [record["reward"] for record in run["rollouts"][step]]
        assert value == pytest.approx(sum(rewards) / len(rewards), abs=1e-5)


def test_trls_own_logprobs_and_absent_fields(tmp_path, run_schema):
    """num_iterations=2 makes TRL compute old_per_token_logps itself: those are recorded, nothing recomputed.
    Without correct_from, correctness is absent (null) and run.json says so."""
    from test_import_sources import relaxed

    run_dir, _ = train_with_lens(tmp_path, {"num_iterations": 2}, token_logprobs=False)
    run = read_run(run_dir)
    manifest = run["manifest"]
    assert manifest["source"]["logprob_sources"] == ["trl-old-policy"]
    assert manifest["source"]["absent_fields"] == ["correct"]
    schema = relaxed(run_schema, manifest["source"]["absent_fields"])
    # TRL generates every num_iterations = 2 steps: at steps 1 and 3; step 2 trains on step 1's rollouts
    assert {step: len(records) for step, records in run["rollouts"].items()} == {1: 6, 2: 0, 3: 6}
    assert [line.get("rollouts_from_step") for line in run["metrics"]] == [None, 1, None]
    for line in run["metrics"]:
        schema_validator(schema, "metricsLine").validate(line)
    records = [record for step in run["rollouts"].values() for record in step]
    for record in records:
        schema_validator(schema, "rolloutRecord").validate(record)
        assert record["correct"] is None and record["logprob_source"] == "trl-old-policy"
        assert record["token_entropies"] is None  # TRL's old log-probs come without entropies
        assert len(record["token_logprobs"]) == record["completion_tokens"]


def test_rejects_an_unknown_correct_from(tmp_path):
    with pytest.raises(ValueError, match="not one of the trainer's reward functions"):
        train_with_lens(tmp_path, correct_from="accuracy")


TWO_RANK_SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_trl_integration import train_with_lens, QUESTIONS, GROUP
train_with_lens(Path({out!r}), {{"per_device_train_batch_size": QUESTIONS * GROUP // 2}}, correct_from="correctness")
# Ended as our own trainer ends its workers: TRL (accelerate) leaves the gloo group alive, and its teardown at
# interpreter exit aborted rank 1 in C++ once in CI ("terminate called without an active exception").
import torch.distributed as dist
from mgrpo.distributed import exit_worker
dist.barrier()
dist.destroy_process_group()
exit_worker(0)
"""


def test_two_ranks_write_one_run_from_the_main_process(tmp_path, run_schema):
    """torchrun with two CPU ranks (gloo): each rank generates half of every batch; the main process alone
    writes, and the records of both ranks carry their own token data."""
    import subprocess
    import sys

    from conftest import REPO_ROOT, subprocess_env

    script = tmp_path / "two_ranks.py"
    script.write_text(TWO_RANK_SCRIPT.format(tests=str(TRAINER_ROOT / "tests"), out=str(tmp_path)))
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             str(script)], capture_output=True, text=True, timeout=300, env=subprocess_env(),
                            cwd=str(REPO_ROOT))
    assert result.returncode == 0, result.stderr[-3000:]
    run = read_run(tmp_path / "lens-run")
    assert run["manifest"]["world_size"] == 2 and run["manifest"]["status"] == "finished"
    assert [line["step"] for line in run["metrics"]] == [1, 2, 3]
    for step, records in run["rollouts"].items():
        assert len(records) == QUESTIONS * GROUP
        ids = [record["id"] for record in records]
        assert len(set(ids)) == len(ids), "no record written twice"
        for record in records:
            schema_validator(run_schema, "rolloutRecord").validate(record)
            eos = 1 if record["finish_reason"] == "stop" else 0
            assert record["completion_tokens"] == len(record["completion"]) + eos
        for group in range(QUESTIONS):
            assert len({record["prompt"] for record in records if record["group"] == group}) == 1


def test_importing_trls_own_files_agrees_with_the_live_record(trl_run, tmp_path, run_schema):
    """TRL's log_completions parquet files, imported with --group-size, give the same rows, groups, rewards and
    advantages the live recorder wrote (the importer reads real TRL output, not only hand-made samples)."""
    from test_import_sources import import_folder, validate_imported_run

    run_dir, trainer = trl_run
    live = read_run(run_dir)["rollouts"]
    imported = validate_imported_run(import_folder(trainer.args.output_dir, tmp_path / "imported",
                                                   group_size=GROUP).run_dir, run_schema)
    assert imported["manifest"]["source"]["kind"] == "trl"
    assert sorted(imported["rollouts"]) == sorted(live)
    for step, records in imported["rollouts"].items():
        assert len(records) == len(live[step])
        for mine, theirs in zip(records, live[step]):
            assert (mine["group"], mine["sample"]) == (theirs["group"], theirs["sample"])
            assert (mine["prompt"], mine["completion"]) == (theirs["prompt"], theirs["completion"])
            assert mine["rewards"] == pytest.approx(theirs["rewards"])
            assert mine["reward"] == pytest.approx(theirs["reward"])  # reward weights are all 1 here
            assert mine["advantage"] == pytest.approx(theirs["advantage"])
            assert mine["group_reward_mean"] == pytest.approx(theirs["group_reward_mean"])
            assert mine["group_reward_std"] == pytest.approx(theirs["group_reward_std"])
            assert mine["token_logprobs"] is None  # TRL's files have no token data
