"""The protocol: stdout events, stdin commands (pause, resume, checkpoint, stop, malformed), and SIGTERM."""

import io
import json
import queue
import signal
import subprocess
import threading
import time

from conftest import mgrpo_command, subprocess_env, tiny_config, write_config, REPO_ROOT
from mgrpo.protocol import Protocol
from mgrpo.runlog import read_run


def test_handle_line_queues_commands_and_warns_on_malformed():
    out = io.StringIO()
    protocol = Protocol(out)
    for line in ['{"command": "pause"}\n', "\n", "not json\n", '{"command": "explode"}\n', '["stop"]\n',
                 '{"command": "stop", "extra": 1}\n', '{"command": "stop"}\n']:
        protocol.handle_line(line)
    assert protocol.pending() == ["pause", "stop"]
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [event["event"] for event in events] == ["warning"] * 4
    assert "not JSON" in events[0]["message"]


class TrainerProcess:
    """A `train` subprocess whose stdout events are read on a thread."""

    def __init__(self, config_path, run_dir, *extra_args):
        self.process = subprocess.Popen(
            mgrpo_command("train", "--config", str(config_path), "--run-dir", str(run_dir), *extra_args),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=subprocess_env(), cwd=str(REPO_ROOT))
        self.events: "queue.Queue[dict]" = queue.Queue()
        self.seen: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.events.put(json.loads(line))  # a non-JSON line fails here, loudly

    def send(self, command: str):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def wait_for(self, kind: str, timeout: float = 90) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            self.seen.append(event)
            if event["event"] == kind:
                return event

    def drain(self, seconds: float) -> list[dict]:
        got = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                got.append(self.events.get(timeout=0.05))
            except queue.Empty:
                pass
        self.seen.extend(got)
        return got

    def finish(self, timeout: float = 60) -> int:
        code = self.process.wait(timeout=timeout)
        self.drain(0.2)
        return code


def test_pause_resume_checkpoint_stop_over_stdin(tmp_path, tiny_model_dir):
    config = tiny_config(tiny_model_dir, max_steps=200, save_steps=0, eval_size=0)
    run_dir = tmp_path / "run"
    trainer = TrainerProcess(write_config(tmp_path, config), run_dir)
    try:
        trainer.wait_for("step")
        trainer.send("not a command")
        assert "malformed" in trainer.wait_for("warning")["message"]
        trainer.send('{"command": "pause"}')
        paused = trainer.wait_for("paused")
        assert read_run(run_dir)["manifest"]["status"] == "paused"
        during_pause = trainer.drain(1.5)
        assert not [e for e in during_pause if e["event"] == "step"], "no steps while paused"
        trainer.send('{"command": "checkpoint"}')
        assert trainer.wait_for("checkpoint")["step"] == paused["step"]
        trainer.send('{"command": "resume"}')
        assert trainer.wait_for("resumed")["step"] == paused["step"]
        assert trainer.wait_for("step")["step"] == paused["step"] + 1
        trainer.send('{"command": "stop"}')
        finished = trainer.wait_for("finished")
        assert finished["status"] == "stopped"
        assert trainer.finish() == 0
    finally:
        trainer.process.kill()
    run = read_run(run_dir)
    assert run["manifest"]["status"] == "stopped"
    assert run["manifest"]["completed_steps"] == finished["step"]
    assert max(run["checkpoints"]) == finished["step"]  # stop checkpoints the last completed step
    assert [line["step"] for line in run["metrics"]] == list(range(1, finished["step"] + 1))


def test_sigterm_checkpoints_and_exits_cleanly(tmp_path, tiny_model_dir):
    config = tiny_config(tiny_model_dir, max_steps=200, save_steps=0, eval_size=0)
    run_dir = tmp_path / "run"
    trainer = TrainerProcess(write_config(tmp_path, config), run_dir)
    try:
        trainer.wait_for("step")
        trainer.process.send_signal(signal.SIGTERM)
        finished = trainer.wait_for("finished")
        assert trainer.finish() == 0
    finally:
        trainer.process.kill()
    assert finished["status"] == "stopped"
    run = read_run(run_dir)
    assert run["manifest"]["status"] == "stopped" and run["malformed"] == 0
    assert max(run["checkpoints"]) == finished["step"] == len(run["metrics"])
    assert any(e["event"] == "checkpoint" for e in trainer.seen)


def test_stdin_close_stops_only_when_the_host_asks(tmp_path, tiny_model_dir):
    """The extension passes --stop-on-stdin-close: its death closes the pipe and the trainer stops cleanly."""
    io_line = Protocol(io.StringIO())
    io_line.start_reading(io.StringIO('{"command": "pause"}\n'), stop_on_close=True)
    assert io_line.wait_command(5) == "pause" and io_line.wait_command(5) == "stop"
    plain = Protocol(io.StringIO())
    plain.start_reading(io.StringIO(""))
    assert plain.wait_command(0.5) is None, "a terminal's end of input is not a command"

    config = tiny_config(tiny_model_dir, max_steps=200, save_steps=0, eval_size=0)
    run_dir = tmp_path / "run"
    trainer = TrainerProcess(write_config(tmp_path, config), run_dir, "--stop-on-stdin-close")
    try:
        trainer.wait_for("step")
        trainer.process.stdin.close()
        finished = trainer.wait_for("finished")
        assert trainer.finish() == 0
    finally:
        trainer.process.kill()
    assert finished["status"] == "stopped"
    assert read_run(run_dir)["manifest"]["status"] == "stopped"
