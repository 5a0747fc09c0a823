"""kill -9 mid-run, then --resume: the run continues from the last checkpoint with no duplicated or torn
records, and the resumed steps equal those of an uninterrupted run exactly (CPU)."""

import os
import signal
import subprocess
import time

from conftest import REPO_ROOT, mgrpo_command, run_mgrpo, subprocess_env, tiny_config, write_config
from mgrpo.runlog import read_run

TIMING_KEYS = {"time", "generation_seconds", "train_seconds", "step_seconds", "tokens_per_second"}


def _without_timing(value):
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items() if k not in TIMING_KEYS}
    return value


def test_kill_and_resume_is_exact(tmp_path, tiny_model_dir):
    config = tiny_config(tiny_model_dir, max_steps=5, save_steps=2, eval_size=0, num_iterations=2)
    config_path = write_config(tmp_path, config)

    reference_dir = tmp_path / "uninterrupted"
    result = run_mgrpo("train", "--config", str(config_path), "--run-dir", str(reference_dir))
    assert result.returncode == 0, result.stderr

    run_dir = tmp_path / "killed"
    process = subprocess.Popen(mgrpo_command("train", "--config", str(config_path), "--run-dir", str(run_dir)),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=subprocess_env(), cwd=str(REPO_ROOT))
    state = run_dir / "checkpoints" / "step-000002" / "state.json"
    deadline = time.monotonic() + 120
    while not state.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run was killed before it finished"
    killed = read_run(run_dir)
    assert killed["manifest"]["status"] == "running"  # nobody got to say otherwise
    # A write torn by the kill: the resume must drop it.
    with open(run_dir / "metrics.jsonl", "a") as handle:
        handle.write('{"step": 3, "layer1": {"sam')

    # No --config: the resumed run takes its config from run.json.
    result = run_mgrpo("train", "--run-dir", str(run_dir), "--resume")
    assert result.returncode == 0, result.stderr
    started = next(line for line in result.stdout.splitlines() if '"started"' in line)
    assert '"start_step": 2' in started

    resumed, reference = read_run(run_dir), read_run(reference_dir)
    assert resumed["malformed"] == 0
    assert (run_dir / "metrics.jsonl").read_text().endswith("}\n")
    assert [line["step"] for line in resumed["metrics"]] == [1, 2, 3, 4, 5]
    assert sorted(resumed["rollouts"]) == [1, 2, 3, 4, 5]
    assert resumed["manifest"]["status"] == "finished" and resumed["manifest"]["completed_steps"] == 5
    for step in range(1, 6):
        ours = [dict(r, run_id=None) for r in resumed["rollouts"][step]]
        theirs = [dict(r, run_id=None) for r in reference["rollouts"][step]]
        assert ours == theirs, f"rollouts of step {step} differ"
        assert _without_timing(resumed["metrics"][step - 1]) == _without_timing(reference["metrics"][step - 1])
    ids = [r["id"] for records in resumed["rollouts"].values() for r in records]
    assert len(ids) == len(set(ids))


def test_incomplete_checkpoints_are_ignored_and_pruning_keeps_the_newest(tmp_path):
    import json

    from mgrpo.checkpoint import latest_checkpoint, list_checkpoints, prune_checkpoints, remove_incomplete

    for step in (2, 4, 6):
        folder = tmp_path / f"step-{step:06d}"
        folder.mkdir()
        (folder / "state.json").write_text(json.dumps({"step": step}))
    (tmp_path / "step-000008").mkdir()  # killed while saving: no state.json
    assert latest_checkpoint(tmp_path)[1]["step"] == 6
    remove_incomplete(tmp_path)
    assert not (tmp_path / "step-000008").exists()
    prune_checkpoints(tmp_path, keep=2)
    assert [step for step, _ in list_checkpoints(tmp_path)] == [4, 6]
    prune_checkpoints(tmp_path, keep=None)
    assert len(list_checkpoints(tmp_path)) == 2


def test_each_rank_restores_its_own_random_state(tmp_path, caplog):
    import random

    import torch

    from mgrpo import checkpoint

    parameter = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.AdamW([parameter])
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp_path / "optimizer.pt")
    states = []
    for rank in range(2):
        generator = torch.Generator().manual_seed(100 + rank)
        states.append(checkpoint.capture_rng({"trainer": random.Random(rank)}, generator))
        torch.save(states[-1], tmp_path / checkpoint.rank_rng_file(rank))
    assert checkpoint.rank_rng_file(1) == "rng-rank-1.pt"
    for rank in range(2):
        loaded = checkpoint.load_training_state(tmp_path, optimizer, scheduler, rank=rank)
        assert torch.equal(loaded["sampling_generator"], states[rank]["sampling_generator"])
        assert loaded["python"]["trainer"] == states[rank]["python"]["trainer"]
    # A checkpoint written by fewer ranks: rank 2 resumes with rank 0's state, and says so.
    loaded = checkpoint.load_training_state(tmp_path, optimizer, scheduler, rank=2)
    assert torch.equal(loaded["sampling_generator"], states[0]["sampling_generator"])
    assert "no random state for rank 2" in caplog.text
