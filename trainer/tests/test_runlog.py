"""The run-directory writer keeps files safe to read live, and resume truncation leaves no torn or
duplicated records."""

import json

import pytest

from conftest import schema_validator
from mgrpo.runlog import RunWriter, read_jsonl, read_run


def test_read_jsonl_ignores_unterminated_last_line_and_counts_malformed(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"step": 1}\nnot json\n[1, 2]\n{"step": 2}\n{"step": 3, "half')
    records, malformed = read_jsonl(path)
    assert records == [{"step": 1}, {"step": 2}]
    assert malformed == 2
    path.write_bytes(b'{"step": 1')
    assert read_jsonl(path) == ([], 0)


def test_rollouts_metrics_and_manifest(tmp_path, run_schema):
    writer = RunWriter(tmp_path / "run")
    writer.write_manifest({"run_id": "run", "created": "2026-01-01T00:00:00Z", "status": "running",
                           "algorithm": "mgrpo", "config": {}, "model": {"name_or_path": "m"},
                           "total_steps": 3, "completed_steps": 0})
    schema_validator(run_schema, "manifest").validate(writer.read_manifest())
    path, count = writer.write_rollouts(1, [{"id": "a"}, {"id": "b"}])
    assert count == 2 and path.name == "step-000001.jsonl"
    assert read_jsonl(path)[0] == [{"id": "a"}, {"id": "b"}]
    assert not list((tmp_path / "run").rglob("*.tmp")), "temporary files are renamed into place"
    writer.append_metrics({"step": 1})
    writer.append_metrics({"step": 2})
    assert writer.metrics_line_count() == 2
    with pytest.raises(ValueError):
        writer.append_metrics({"step": 3, "loss": float("nan")})  # never a line readers would reject
    assert writer.metrics_line_count() == 2


def test_truncate_to_checkpoint(tmp_path):
    writer = RunWriter(tmp_path / "run")
    for step in (1, 2, 3):
        writer.write_rollouts(step, [{"step": step}])
        writer.append_metrics({"step": step})
        writer.write_eval(step, {"step": step})
    with open(writer.metrics_path, "a") as handle:
        handle.write('{"step": 4, "torn')  # a write cut off by kill -9
    (writer.rollouts_dir / ".step-000004.jsonl.tmp").write_text("partial")
    writer.truncate_to(2, metrics_lines=2)
    run = read_run(writer.run_dir) if writer.manifest_path.exists() else None
    assert run is None
    assert writer.metrics_path.read_text() == '{"step": 1}\n{"step": 2}\n'
    assert [step for step, _ in writer.step_files()] == [1, 2]
    assert sorted(p.name for p in writer.eval_dir.iterdir()) == ["step-000001.json", "step-000002.json"]
    assert not (writer.rollouts_dir / ".step-000004.jsonl.tmp").exists()
    assert writer.rollout_line_count() == 2 and writer.rollout_line_count(up_to_step=1) == 1
    json.loads(writer.eval_path(2).read_text())


def test_read_run_accepts_format_1_and_2_and_names_any_other(tmp_path):
    import shutil

    from conftest import EXAMPLE_RUN

    run_dir = tmp_path / "old-run"
    shutil.copytree(EXAMPLE_RUN, run_dir)
    assert read_run(run_dir)["manifest"]["format_version"] == 2
    manifest = json.loads((run_dir / "run.json").read_text())
    # A version-1 run: no step-truth fields anywhere.
    for path in (run_dir / "rollouts").iterdir():
        records = [json.loads(line) for line in path.read_text().splitlines()]
        for record in records:
            del record["step_labels"], record["first_wrong_step"]
        path.write_text("".join(json.dumps(record) + "\n" for record in records))
    (run_dir / "run.json").write_text(json.dumps(dict(manifest, format_version=1)))
    run = read_run(run_dir)
    assert run["malformed"] == 0 and sum(len(step) for step in run["rollouts"].values()) == 24
    assert all("step_labels" not in record for record in run["rollouts"][1])
    (run_dir / "run.json").write_text(json.dumps(dict(manifest, format_version=3)))
    with pytest.raises(ValueError, match=r"run\.json: format_version 3 is not one this trainer reads \(1, 2\)"):
        read_run(run_dir)


def test_step_values_are_appended_read_back_and_truncated_on_resume(tmp_path, run_schema):
    from mgrpo.runlog import append_step_values, read_step_values, step_values_path

    writer = RunWriter(tmp_path / "run")
    line = {"record_id": "s000003-q000-l1-000", "step": 3, "checkpoint": "checkpoints/step-000003", "k": 4,
            "seed": 0, "temperature": 1.0, "prefix_value": 0.5, "values": [0.75, 0.25], "drops": [-0.25, 0.5],
            "likely_error": 1, "time": "2026-01-01T00:00:00Z"}
    schema_validator(run_schema, "stepValues").validate(line)
    path = append_step_values(writer.run_dir, line)
    append_step_values(writer.run_dir, dict(line, k=8))
    assert path == step_values_path(writer.run_dir, 3) and path.name == "step-000003.jsonl"
    assert [entry["k"] for entry in read_step_values(writer.run_dir)["s000003-q000-l1-000"]] == [4, 8]
    writer.truncate_to(2, metrics_lines=0)
    assert not path.exists() and read_step_values(writer.run_dir) == {}
