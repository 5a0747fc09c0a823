"""Monte-Carlo step values on the shipped demo model (small k): deterministic with a seed, cached in the run
folder, and the value falls at the wrong step of a wrong chain."""

import json
import shutil

import pytest

from conftest import EXAMPLE_RUN, run_mgrpo, schema_validator
from mgrpo.config import DEMO_MODEL_DIR
from mgrpo.runlog import read_run, read_step_values
from mgrpo.step_values import (ValueSettings, estimate_step_values, matches, records_to_value, step_prefixes,
                               step_values_for_run, value_drops)


def test_step_prefixes_keep_the_line_break():
    completion = "3+5=8\n8*2=6\nA: 6"
    steps = [{"start": 0, "end": 5}, {"start": 6, "end": 11}]
    assert step_prefixes(completion, steps) == ["3+5=8\n", "3+5=8\n8*2=6\n"]
    assert step_prefixes("3+5=8", [{"start": 0, "end": 5}]) == ["3+5=8\n"]


def test_value_drops_by_hand():
    assert value_drops(0.75, [0.5, 0.0, 0.25]) == ([0.25, 0.5, -0.25], 1)
    assert value_drops(0.5, [0.75, 1.0]) == ([-0.25, -0.25], None)
    assert value_drops(1.0, [0.5, 0.0]) == ([0.5, 0.5], 0)  # ties: the first
    assert value_drops(1.0, []) == ([], None)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="k must be >= 1"):
        ValueSettings(k=0, seed=0)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        ValueSettings(k=2, seed=0, temperature=0)


@pytest.fixture(scope="module")
def demo_policy():
    import torch

    from mgrpo.policy import load_policy, stop_token_ids

    model, tokenizer = load_policy(str(DEMO_MODEL_DIR), torch.device("cpu"))
    return model, tokenizer, stop_token_ids(model, tokenizer)


def test_values_are_deterministic_and_fall_at_the_wrong_step(demo_policy):
    model, tokenizer, stop_ids = demo_policy
    run = read_run(EXAMPLE_RUN)
    wrong = records_to_value(run, 1, "s000001-q000-l1-001")[0]  # 3+5=8, 8*2=9 (wrong), 9-7=2
    settings = ValueSettings(k=6, seed=11, max_completion_length=40)
    first = estimate_step_values(model, tokenizer, wrong, settings, checkpoint="demo", stop_ids=stop_ids)
    again = estimate_step_values(model, tokenizer, wrong, settings, checkpoint="demo", stop_ids=stop_ids)
    assert {k: v for k, v in first.items() if k != "time"} == {k: v for k, v in again.items() if k != "time"}
    assert len(first["values"]) == 3 and all(0 <= v <= 1 for v in first["values"])
    # After "8*2=9" the chain carries 9 and ends at 2: no continuation can reach 9 any more.
    assert first["values"][1] == 0.0 and first["values"][2] == 0.0
    assert first["likely_error"] == 1 and first["drops"][1] == first["values"][0]
    sound = records_to_value(run, 1, "s000001-q000-l1-000")[0]
    assert estimate_step_values(model, tokenizer, sound, settings, checkpoint="demo",
                                stop_ids=stop_ids)["values"][-1] > 0.5


def test_values_are_cached_in_the_run_folder(tmp_path, demo_policy, run_schema):
    model, tokenizer, stop_ids = demo_policy
    run_dir = tmp_path / "run"
    shutil.copytree(EXAMPLE_RUN, run_dir)
    run = read_run(run_dir)
    records = records_to_value(run, 2, None)[:2]
    settings = ValueSettings(k=2, seed=3, max_completion_length=30)
    seen = []
    lines = list(step_values_for_run(run_dir, run, records, model, tokenizer, settings, DEMO_MODEL_DIR,
                                     stop_ids=stop_ids, progress=lambda *args: seen.append(args)))
    assert [args[3] for args in seen] == [False, False]
    validator = schema_validator(run_schema, "stepValues")
    for line in lines:
        validator.validate(line)
    assert (run_dir / "step-values" / "step-000002.jsonl").read_text().count("\n") == 2
    seen.clear()
    again = list(step_values_for_run(run_dir, read_run(run_dir), records, model, tokenizer, settings,
                                     DEMO_MODEL_DIR, stop_ids=stop_ids, progress=lambda *args: seen.append(args)))
    assert again == lines and [args[3] for args in seen] == [True, True]
    assert sorted(read_step_values(run_dir)) == sorted(record["id"] for record in records)
    assert all(line["backend"] == "pytorch" for line in lines)


def test_a_line_the_extension_drew_is_not_reused_for_pytorch():
    settings = ValueSettings(k=2, seed=3, max_completion_length=30)
    line = {"checkpoint": "checkpoints/step-000040", "k": 2, "seed": 3, "temperature": 1.0, "max_completion_length": 30}
    assert matches(line, "checkpoints/step-000040", settings)  # written before `backend` existed: pytorch
    assert matches(dict(line, backend="pytorch"), "checkpoints/step-000040", settings)
    assert not matches(dict(line, backend="onnxruntime-node"), "checkpoints/step-000040", settings)


def test_step_values_command(tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(EXAMPLE_RUN, run_dir)
    args = ["step-values", "--run-dir", str(run_dir), "--step", "1", "--sample", "s000001-q000-l1-001",
            "--checkpoint", str(DEMO_MODEL_DIR), "-k", "2", "--seed", "0", "--device", "cpu"]
    result = run_mgrpo(*args)
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout)
    assert line["record_id"] == "s000001-q000-l1-001" and line["k"] == 2 and len(line["values"]) == 3
    assert "step-values: 1/1 s000001-q000-l1-001" in result.stderr
    missing = run_mgrpo("step-values", "--run-dir", str(run_dir), "--step", "9", "--checkpoint", str(DEMO_MODEL_DIR))
    assert missing.returncode == 2 and "no rollouts for step 9 (steps with rollouts: 1, 2)" in missing.stderr
    no_checkpoint = run_mgrpo("step-values", "--run-dir", str(run_dir), "--step", "1")
    assert no_checkpoint.returncode == 2 and "no checkpoint yet" in no_checkpoint.stderr


def test_export_step_labels_command(tmp_path):
    out = tmp_path / "prm.jsonl"
    result = run_mgrpo("export-step-labels", "--run-dir", str(EXAMPLE_RUN), "--to", str(out), "--source", "checker")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"rows": 24, "source": "checker", "path": str(out)}
    assert len(out.read_text().splitlines()) == 24
    bad = run_mgrpo("export-step-labels", "--run-dir", str(tmp_path / "nothing"), "--to", str(out))
    assert bad.returncode == 2 and "is not a run folder" in bad.stderr
