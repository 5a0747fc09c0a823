"""The extension's stop path through torchrun (mgrpo.processesPerNode > 1): torchrun's workers all inherit its
stdin, and only rank 0 reads it, so a stop command or a closed stdin reaches the run and every rank stops
between steps with the last step checkpointed. Real processes: 2 CPU ranks (gloo), as the extension spawns them."""

import json
import queue
import subprocess
import sys
import threading

import pytest

from conftest import REPO_ROOT, subprocess_env, tiny_config, write_config
from mgrpo.runlog import read_run


def _events(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(json.loads(line))
    into.put(None)


@pytest.mark.parametrize("how", ["stop command", "closed stdin"])
def test_a_torchrun_run_stops_on_the_extensions_stdin(tmp_path, tiny_model_dir, how):
    config = tiny_config(tiny_model_dir, max_steps=10_000, save_steps=0, eval_size=0)
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "mgrpo", "train", "--config", str(write_config(tmp_path, config)), "--run-dir", str(run_dir),
               "--stop-on-stdin-close"]
    with open(tmp_path / "stderr.log", "w") as stderr:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                   env=subprocess_env(), cwd=str(REPO_ROOT))
        events: queue.Queue = queue.Queue()
        threading.Thread(target=_events, args=(process.stdout, events), daemon=True).start()
        try:
            seen = []
            while not any(event["event"] == "step" for event in seen):
                event = events.get(timeout=180)
                assert event is not None, (tmp_path / "stderr.log").read_text()[-3000:]
                seen.append(event)
            if how == "stop command":
                process.stdin.write(json.dumps({"command": "stop"}) + "\n")
                process.stdin.flush()
            else:
                process.stdin.close()
            assert process.wait(timeout=120) == 0, (tmp_path / "stderr.log").read_text()[-3000:]
        finally:
            if process.poll() is None:
                process.kill()
    while (event := events.get(timeout=10)) is not None:
        seen.append(event)
    finished = [event for event in seen if event["event"] == "finished"]
    assert len(finished) == 1 and finished[0]["status"] == "stopped", "rank 0 alone reports, once"
    stopped_at = finished[0]["step"]
    assert 1 <= stopped_at < config["max_steps"]
    manifest = read_run(run_dir)["manifest"]
    assert manifest["status"] == "stopped" and manifest["completed_steps"] == stopped_at
    assert manifest["last_checkpoint"] is not None and manifest["last_checkpoint"].endswith(f"{stopped_at:06d}")
