"""Evaluation sharded over ranks: each rank evaluates its share of the held-out problems and rank 0 writes the
eval file a single process writes. Two CPU processes under torchrun (gloo), the same code path as GPUs."""

import json
import subprocess
import sys

import pytest

from conftest import REPO_ROOT, schema_validator, subprocess_env, tiny_config, write_config
from mgrpo.distributed import Distributed
from mgrpo.runlog import read_run


def test_shards_are_contiguous_balanced_and_cover_every_item_once():
    def shares(count, world):
        return [Distributed(rank=rank, world_size=world).shard(count) for rank in range(world)]

    assert shares(8, 2) == [slice(0, 4), slice(4, 8)]
    assert shares(5, 2) == [slice(0, 3), slice(3, 5)]  # the earlier rank takes the extra one
    assert shares(7, 3) == [slice(0, 3), slice(3, 5), slice(5, 7)]
    assert shares(1, 2) == [slice(0, 1), slice(1, 1)]  # fewer items than ranks: an empty share
    assert shares(0, 4) == [slice(0, 0)] * 4
    assert shares(6, 1) == [slice(0, 6)]
    items = list(range(11))
    assert [item for share in shares(11, 4) for item in items[share]] == items
    with pytest.raises(ValueError, match="count >= 0"):
        Distributed().shard(-1)


def _train(tmp_path, name: str, ranks: int, config: dict) -> dict:
    folder = tmp_path / name
    folder.mkdir()
    run_dir = folder / "run"
    train = ["-m", "mgrpo", "train", "--config", str(write_config(folder, config)), "--run-dir", str(run_dir)]
    if ranks > 1:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(ranks), *train]
    else:
        command = [sys.executable, *train]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, env=subprocess_env(),
                            cwd=str(REPO_ROOT))
    assert result.returncode == 0, result.stderr[-3000:]
    return {"events": [json.loads(line) for line in result.stdout.splitlines()], "run": read_run(run_dir),
            "stderr": result.stderr}


@pytest.mark.parametrize("strategy", ["ddp", "fsdp"])
def test_two_ranks_write_the_eval_file_of_one_process(tmp_path, tiny_model_dir, run_schema, strategy):
    # The step-0 evaluation is of the model both runs load. Generation batches of 4 make the 1-process run's
    # batches the ranks' shares (same padding, so the same float rounding in greedy decoding); 8 problems
    # rotate through all 3 guiding phrases, so a phrase taken by a rank's local index would show. Two
    # sampled answers per problem run the sampled path on both ranks (its draws depend on the rank count).
    config = tiny_config(tiny_model_dir, max_steps=1, save_steps=0, eval_size=8, eval_num_samples=2,
                         generation_batch_size=4, distributed_strategy=strategy,
                         guiding_phrases=["Check it.", "Look again.", "Is that right?"])
    one = _train(tmp_path, "one", 1, config)
    two = _train(tmp_path, "two", 2, config)

    one_eval, two_eval = one["run"]["evals"][0], two["run"]["evals"][0]
    schema_validator(run_schema, "evalResult").validate(two_eval)
    assert two_eval["n"] == 8 and len(two_eval["problems"]) == 8
    assert two_eval["problems"] == one_eval["problems"], "the same problems, completions and verdicts, in order"
    assert [p["guiding_phrase"] for p in two_eval["problems"]] == ["Check it.", "Look again.", "Is that right?"] * 2 \
        + ["Check it.", "Look again."]
    assert two_eval["metrics"] == one_eval["metrics"]
    assert two_eval["step_truth"] == one_eval["step_truth"]
    assert 0.0 <= two_eval["sampled_accuracy"] <= 1.0
    # Each rank did its half (rank 0 did not work alone while rank 1 waited).
    assert "rank 0 evaluates held-out problems 1-4 of 8" in two["stderr"]
    assert "rank 1 evaluates held-out problems 5-8 of 8" in two["stderr"]
    # The 2-rank run also evaluated the end of training (step 1), and announced each evaluation once.
    assert sorted(two["run"]["evals"]) == [0, 1]
    evals = [event for event in two["events"] if event["event"] == "eval"]
    assert [event["step"] for event in evals] == [0, 1]
    assert evals[0]["metrics"] == one_eval["metrics"]
