"""``python -m mgrpo import``: detection and its error, refusing to overwrite a trained run, idempotent
re-runs, and --follow importing steps as a live source writes them until stdin closes or SIGTERM."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

from conftest import EXAMPLE_RUN, REPO_ROOT, mgrpo_command, run_mgrpo, subprocess_env
from test_import_sources import SOURCES, validate_imported_run


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_detects_each_source_kind(tmp_path):
    for kind in ("verl", "nemo-rl", "prime-rl"):
        result = run_mgrpo("import", str(SOURCES / kind), "--to", str(tmp_path / kind))
        assert result.returncode == 0, result.stderr
        assert json.loads((tmp_path / kind / "run.json").read_text())["source"]["kind"] == kind
        assert events(result.stdout)[-1] == {"event": "finished", "status": "finished", "step": 2}


def test_nothing_recognised_lists_what_was_looked_for(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("hello")
    result = run_mgrpo("import", str(tmp_path / "empty"), "--to", str(tmp_path / "run"))
    assert result.returncode == 2
    for pattern in ("{step}.jsonl", "completions_{step:05d}.parquet", "train_data_step{N}.jsonl", "traces.jsonl",
                    "--from"):
        assert pattern in result.stderr
    assert events(result.stdout)[0]["event"] == "error"
    missing = run_mgrpo("import", str(tmp_path / "nope"), "--to", str(tmp_path / "run"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_a_tokenizer_that_does_not_load_is_a_usage_error_before_anything_is_written(tmp_path):
    (tmp_path / "not-a-tokenizer").mkdir()
    for given in (str(tmp_path / "not-a-tokenizer"), "no-such-org/no-such-model"):  # the second: never downloaded
        result = run_mgrpo("import", str(SOURCES / "prime-rl"), "--to", str(tmp_path / "run"), "--tokenizer", given)
        assert result.returncode == 2, result.stderr
        assert f"--tokenizer {given}: no tokenizer could be loaded from it" in result.stderr
        assert events(result.stdout) == [{"event": "error", "message": events(result.stdout)[0]["message"]}]
        assert not (tmp_path / "run").exists()
    missing = run_mgrpo("import", str(SOURCES / "prime-rl"), "--to", str(tmp_path / "run"), "--tokenizer",
                        str(tmp_path / "nope"))
    assert missing.returncode == 2 and f"--tokenizer {tmp_path / 'nope'}: no such folder" in missing.stderr
    ignored = run_mgrpo("import", str(SOURCES / "verl"), "--to", str(tmp_path / "verl"), "--tokenizer", "anything")
    assert ignored.returncode == 0 and "--tokenizer ignored: verl files hold no token ids" in ignored.stderr


def test_refuses_to_overwrite_a_trained_run(tmp_path):
    trained = tmp_path / "trained"
    shutil.copytree(EXAMPLE_RUN, trained)
    before = {path: path.read_bytes() for path in trained.rglob("*") if path.is_file()}
    result = run_mgrpo("import", str(SOURCES / "verl"), "--to", str(trained))
    assert result.returncode == 2 and "was not imported" in result.stderr
    assert {path: path.read_bytes() for path in trained.rglob("*") if path.is_file()} == before


def test_forced_kind_and_idempotent_rerun(tmp_path):
    run_dir = tmp_path / "run"
    first = run_mgrpo("import", str(SOURCES / "verl"), "--to", str(run_dir), "--from", "verl", "--model", "qwen-7b")
    assert first.returncode == 0, first.stderr
    assert json.loads((run_dir / "run.json").read_text())["model"] == {"name_or_path": "qwen-7b"}
    files = {path.relative_to(run_dir): path.read_bytes() for path in run_dir.rglob("*") if path.is_file()}
    manifest = json.loads((run_dir / "run.json").read_text())
    (run_dir / "rollouts" / "step-000009.jsonl").write_text("")  # a step the source does not have
    second = run_mgrpo("import", str(SOURCES / "verl"), "--to", str(run_dir), "--model", "qwen-7b")
    assert second.returncode == 0, second.stderr
    again = {path.relative_to(run_dir): path.read_bytes() for path in run_dir.rglob("*") if path.is_file()}
    assert set(again) == set(files)
    for name, data in files.items():
        if name != Path("run.json"):
            assert again[name] == data, name
    manifest_again = json.loads((run_dir / "run.json").read_text())
    assert manifest_again["created"] == manifest["created"]
    assert {**manifest_again, "updated": None} == {**manifest, "updated": None}


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def start_follow(source: Path, run_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(mgrpo_command("import", str(source), "--to", str(run_dir), "--follow",
                                          "--poll-seconds", "0.2"),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=subprocess_env(), cwd=str(REPO_ROOT))


def metrics_steps(run_dir: Path) -> list[int]:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["step"] for line in path.read_text().splitlines() if line.strip()]


def test_follow_verl_until_stdin_closes(tmp_path, run_schema):
    source, run_dir = tmp_path / "rollout_data", tmp_path / "run"
    source.mkdir()
    process = start_follow(source, run_dir)
    try:
        shutil.copy(SOURCES / "verl" / "1.jsonl", source / "1.jsonl")
        wait_for(lambda: metrics_steps(run_dir) == [1])
        assert json.loads((run_dir / "run.json").read_text())["status"] == "running"
        # the rollout file of a step is complete when its metrics line appears
        assert len((run_dir / "rollouts" / "step-000001.jsonl").read_text().splitlines()) == 5
        shutil.copy(SOURCES / "verl" / "2.jsonl", source / "2.jsonl")
        wait_for(lambda: metrics_steps(run_dir) == [1, 2])
        process.stdin.close()  # the host that started the import went away
        process.wait(timeout=30)
        stdout, stderr = process.stdout.read(), process.stderr.read()
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert events(stdout)[-1] == {"event": "finished", "status": "stopped", "step": 2}
    assert [event["step"] for event in events(stdout) if event["event"] == "rollouts"] == [1, 2]
    run = validate_imported_run(run_dir, run_schema)
    assert run["manifest"]["status"] == "stopped" and run["manifest"]["completed_steps"] == 2


def test_follow_prime_rl_waits_for_a_later_step_and_stops_on_sigterm(tmp_path, run_schema):
    """prime-rl appends to a step's traces while it runs: a step is imported once a later step exists, and the
    last one when the import stops."""
    source, run_dir = tmp_path / "prime", tmp_path / "run"
    (source / "rollouts" / "step_1" / "train" / "math").mkdir(parents=True)
    traces = source / "rollouts" / "step_1" / "train" / "math" / "traces.jsonl"
    lines = (SOURCES / "prime-rl" / "rollouts" / "step_1" / "train" / "math" / "traces.jsonl").read_text().splitlines(True)
    traces.write_text(lines[0])
    process = start_follow(source, run_dir)
    try:
        wait_for(lambda: (run_dir / "run.json").exists())
        time.sleep(1.0)  # several polls: step 1 is still the latest step, so it is not imported yet
        assert metrics_steps(run_dir) == []
        with open(traces, "a") as handle:
            handle.writelines(lines[1:])
        shutil.copytree(SOURCES / "prime-rl" / "rollouts" / "step_2", source / "rollouts" / "step_2")
        wait_for(lambda: metrics_steps(run_dir) == [1])
        assert len((run_dir / "rollouts" / "step-000001.jsonl").read_text().splitlines()) == 4
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert metrics_steps(run_dir) == [1, 2]
    validate_imported_run(run_dir, run_schema)
