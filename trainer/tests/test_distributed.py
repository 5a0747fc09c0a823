"""torchrun with two CPU processes (gloo): the same code path a multi-GPU run takes. Rank 0 alone writes
the run directory and speaks the protocol; the records of both ranks' questions are in it."""

import json
import sys

import pytest

from conftest import REPO_ROOT, schema_validator, subprocess_env, tiny_config, write_config
from mgrpo.runlog import read_run


@pytest.mark.parametrize("strategy", ["ddp", "fsdp"])
def test_torchrun_two_ranks_write_one_valid_run(tmp_path, tiny_model_dir, run_schema, strategy):
    import subprocess

    import torch

    questions_per_rank = 2
    # fsdp: sampling, evaluation (each rank its share) and checkpoints all have to work on a sharded model.
    config = tiny_config(tiny_model_dir, max_steps=2, save_steps=2, eval_size=2 if strategy == "fsdp" else 0,
                         questions_per_step=questions_per_rank, distributed_strategy=strategy,
                         layer2_inputs="wrong_only")
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "mgrpo", "train", "--config", str(write_config(tmp_path, config)), "--run-dir", str(run_dir)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, env=subprocess_env(),
                            cwd=str(REPO_ROOT))
    assert result.returncode == 0, result.stderr[-3000:]

    events = [json.loads(line) for line in result.stdout.splitlines()]
    event_validator = schema_validator(run_schema, "event")
    for event in events:
        event_validator.validate(event)
    kinds = [event["event"] for event in events]
    assert kinds.count("started") == 1 and kinds.count("finished") == 1, "only rank 0 speaks the protocol"
    assert kinds.count("step") == 2

    run = read_run(run_dir)
    assert run["malformed"] == 0 and run["manifest"]["status"] == "finished"
    assert run["manifest"]["world_size"] == 2
    record_validator = schema_validator(run_schema, "rolloutRecord")
    for step in (1, 2):
        records = run["rollouts"][step]
        for record in records:
            record_validator.validate(record)
        layer1 = [r for r in records if r["layer"] == 1]
        ids = [r["id"] for r in records]
        assert len(ids) == len(set(ids)), "no record written twice"
        # both ranks' questions: 2 per rank, num_generations answers each
        assert sorted({r["group"] for r in layer1}) == list(range(2 * questions_per_rank))
        assert len(layer1) == 2 * questions_per_rank * config["num_generations"]
        layer1_ids = {r["id"] for r in layer1}
        assert all(r["parent_id"] in layer1_ids for r in records if r["layer"] == 2)
    # Each rank's own random state is in the checkpoint (ranks sample with different generator seeds).
    folder = run_dir / "checkpoints" / "step-000002"
    rank0 = torch.load(folder / "rng.pt", weights_only=False)
    rank1 = torch.load(folder / "rng-rank-1.pt", weights_only=False)
    assert not torch.equal(rank0["sampling_generator"], rank1["sampling_generator"])
    from transformers import AutoModelForCausalLM

    AutoModelForCausalLM.from_pretrained(str(folder))  # a whole model, also when it was sharded
    if strategy == "fsdp":
        assert run["evals"], "the ranks evaluated on the gathered model"


def _update_result(tmp_path, tiny_model_dir, name: str, ranks: int, **overrides):
    import subprocess

    import torch

    folder = tmp_path / name
    folder.mkdir()
    config = tiny_config(tiny_model_dir, eval_size=0, micro_batch_size=2, beta=0.05, learning_rate=1e-3,
                         warmup_steps=0, max_grad_norm=0.0, **overrides)
    out = folder / "result.pt"
    worker = str(REPO_ROOT / "trainer" / "tests" / "distributed_worker.py")
    args = [str(write_config(folder, config)), str(folder / "run"), str(out)]
    if ranks == 1:
        command = [sys.executable, worker, *args]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(ranks),
                   worker, *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, env=subprocess_env(),
                            cwd=str(REPO_ROOT))
    assert result.returncode == 0, result.stderr[-3000:]
    return torch.load(out, weights_only=False)


def _assert_same_update(one, two):
    import pytest
    import torch

    assert two["loss"] == pytest.approx(one["loss"], rel=1e-5)
    assert two["kl"] == pytest.approx(one["kl"], rel=1e-4, abs=1e-9)
    assert one["grads"].keys() == two["grads"].keys() and one["grads"]
    for name, gradient in one["grads"].items():
        torch.testing.assert_close(two["grads"][name], gradient, rtol=1e-4, atol=1e-7, msg=name)
    for name, weight in one["params"].items():
        # AdamW's first step is lr x g / (|g| + 1e-8): where |g| is below ~1e-5, rounding-level differences in g
        # move it visibly, so the weights are compared where the step is determined by the gradient.
        gradient = one["grads"].get(name)
        settled = gradient.abs() > 1e-5 if gradient is not None else torch.ones_like(weight, dtype=torch.bool)
        torch.testing.assert_close(two["params"][name][settled], weight[settled], rtol=1e-5, atol=1e-6, msg=name)


def test_ddp_on_two_cpu_processes_gives_the_one_process_update(tmp_path, tiny_model_dir):
    one = _update_result(tmp_path, tiny_model_dir, "one", 1)
    two = _update_result(tmp_path, tiny_model_dir, "ddp", 2, distributed_strategy="ddp")
    _assert_same_update(one, two)


def test_fsdp2_on_two_cpu_processes_gives_the_one_process_update(tmp_path, tiny_model_dir):
    one = _update_result(tmp_path, tiny_model_dir, "one", 1)
    two = _update_result(tmp_path, tiny_model_dir, "fsdp", 2, distributed_strategy="fsdp")
    _assert_same_update(one, two)


def test_ddp_with_shared_prefix_forward_gives_the_one_process_packed_update(tmp_path, tiny_model_dir):
    # Two forwards (prompt, then completions through its cache) before each backward, through DDP.
    one = _update_result(tmp_path, tiny_model_dir, "one", 1)
    two = _update_result(tmp_path, tiny_model_dir, "ddp-shared", 2, distributed_strategy="ddp",
                         shared_prefix_forward=True)
    _assert_same_update(one, two)


def test_a_worker_exits_with_its_code_and_its_output_flushed():
    """exit_worker skips the interpreter's teardown (os._exit), which would also skip flushing: buffered output
    and log records must still come out."""
    import subprocess

    script = ("import logging, sys\n"
              "from mgrpo.distributed import exit_worker\n"
              "logging.basicConfig(stream=sys.stderr, format='%(message)s')\n"
              "print('buffered, no newline', end='')\n"
              "logging.getLogger('t').warning('a log record')\n"
              "exit_worker(3)\n")
    env = {key: value for key, value in subprocess_env().items() if key != "PYTHONUNBUFFERED"}  # else no flush is needed
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env=env, cwd=str(REPO_ROOT))
    assert result.returncode == 3
    assert result.stdout == "buffered, no newline"
    assert "a log record" in result.stderr
