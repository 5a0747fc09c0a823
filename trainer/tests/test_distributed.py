"""torchrun with two CPU processes (gloo): the same code path a multi-GPU run takes. Rank 0 alone writes
the run directory and speaks the protocol; the records of both ranks' questions are in it."""

import json
import sys

from conftest import REPO_ROOT, schema_validator, subprocess_env, tiny_config, write_config
from mgrpo.runlog import read_run


def test_torchrun_two_ranks_write_one_valid_run(tmp_path, tiny_model_dir, run_schema):
    import subprocess

    questions_per_rank = 2
    config = tiny_config(tiny_model_dir, max_steps=2, save_steps=2, eval_size=0, questions_per_step=questions_per_rank)
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
