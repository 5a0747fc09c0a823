"""A real `train` run (subprocess, tiny model, 3 steps) writes a run directory that validates record by
record, with layer-2 records linked to existing layer-1 ones and consistent outcomes; plus GRPO mode and
the layer-2 prompt building of the loop, in process."""

import io
import json
import random

import pytest

from conftest import run_mgrpo, schema_validator, tiny_config, write_config
from mgrpo import prompts
from mgrpo.algorithm import ADVANTAGE_EPSILON
from mgrpo.config import resolve_config
from mgrpo.metrics import correction_metrics, outcome_label
from mgrpo.protocol import Protocol
from mgrpo.runlog import read_run
from mgrpo.trainer import Trainer, make_layer2_inputs, select_layer2_inputs


@pytest.fixture(scope="module")
def mgrpo_run(tiny_model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("train-run")
    config = tiny_config(tiny_model_dir, max_steps=3, save_steps=2, eval_steps=2, eval_num_samples=2)
    run_dir = folder / "run"
    result = run_mgrpo("train", "--config", str(write_config(folder, config)), "--run-dir", str(run_dir))
    assert result.returncode == 0, result.stderr
    return run_dir, result, config


def test_stdout_is_only_protocol_events(mgrpo_run, run_schema):
    _run_dir, result, _config = mgrpo_run
    validator = schema_validator(run_schema, "event")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    for event in events:
        validator.validate(event)
    kinds = [event["event"] for event in events]
    assert kinds[0] == "started" and kinds[-1] == "finished" and events[-1]["status"] == "finished"
    assert kinds.count("step") == 3 and kinds.count("rollouts") == 3
    # rollouts are announced before the step's metrics; checkpoints at step 2 and at the end
    assert kinds.index("rollouts") < kinds.index("step")
    assert [e["step"] for e in events if e["event"] == "checkpoint"] == [2, 3]
    assert [e["step"] for e in events if e["event"] == "eval"] == [0, 2, 3]


def test_run_directory_validates_record_by_record(mgrpo_run, run_schema):
    run_dir, _result, config = mgrpo_run
    run = read_run(run_dir)
    assert run["malformed"] == 0
    manifest = run["manifest"]
    schema_validator(run_schema, "manifest").validate(manifest)
    assert manifest["status"] == "finished" and manifest["completed_steps"] == 3
    assert manifest["last_checkpoint"] == "checkpoints/step-000003"
    assert manifest["config"]["max_steps"] == 3 and manifest["model"]["parameters"] > 0
    assert [line["step"] for line in run["metrics"]] == [1, 2, 3]
    for line in run["metrics"]:
        schema_validator(run_schema, "metricsLine").validate(line)
    for step, result in run["evals"].items():
        schema_validator(run_schema, "evalResult").validate(result)
        assert result["n"] == config["eval_size"] == len(result["problems"])
        assert result["sampled_accuracy"] is not None
    assert sorted(run["evals"]) == [0, 2, 3]
    for state in run["checkpoints"].values():
        schema_validator(run_schema, "checkpointState").validate(state)
    assert run["checkpoints"][2]["metrics_lines"] == 2
    assert run["checkpoints"][3]["rollout_lines"] == sum(len(r) for r in run["rollouts"].values())
    record_validator = schema_validator(run_schema, "rolloutRecord")
    for records in run["rollouts"].values():
        for record in records:
            record_validator.validate(record)
    assert (run_dir / "trainer.log").read_text().count("step ") >= 3


def test_layer2_records_link_to_layer1_and_outcomes_are_consistent(mgrpo_run):
    run_dir, _result, config = mgrpo_run
    run = read_run(run_dir)
    for step, records in run["rollouts"].items():
        layer1 = [r for r in records if r["layer"] == 1]
        layer2 = [r for r in records if r["layer"] == 2]
        assert records == layer1 + layer2  # layer 1 first, then layer 2
        q, g, g2 = config["questions_per_step"], config["num_generations"], config["layer2_num_generations"]
        assert len(layer1) == q * g and len(layer2) == q * g * g2  # layer2_inputs "all"
        by_id = {r["id"]: r for r in layer1}
        assert len({r["id"] for r in records}) == len(records)
        for r in layer1:
            assert r["id"] == f"s{step:06d}-q{r['group']:03d}-l1-{r['sample']:03d}"
            assert r["parent_id"] is None and r["outcome"] is None and r["guiding_phrase"] is None
        for r in layer2:
            parent = by_id[r["parent_id"]]
            assert r["id"] == f"{parent['id']}-l2-{r['sample']:03d}"
            assert r["question_id"] == parent["question_id"] and r["group"] == parent["group"]
            assert r["parent_correct"] == parent["correct"]
            assert r["outcome"] == outcome_label(parent["correct"], r["correct"])
            assert r["guiding_phrase"] in config.get("guiding_phrases", prompts.DEFAULT_GUIDING_PHRASES)
            assert r["prompt"] == prompts.build_layer2_prompt(parent["prompt"], parent["completion"],
                                                              r["guiding_phrase"])
        for r in records:
            assert r["prompt"].startswith("Q: ")
            assert r["reward"] == sum(r["rewards"].values()) == (1.0 if r["correct"] else 0.0)
            expected = (r["reward"] - r["group_reward_mean"]) / (r["group_reward_std"] + ADVANTAGE_EPSILON)
            assert r["advantage"] == pytest.approx(expected, abs=1e-6)
            assert len(r["token_logprobs"]) == len(r["token_offsets"]) == r["completion_tokens"]
        line = next(m for m in run["metrics"] if m["step"] == step)
        pairs = [(r["parent_correct"], r["correct"]) for r in layer2]
        assert line["correction"] == pytest.approx(correction_metrics(pairs))
        assert line["layer1"]["samples"] == len(layer1) and line["layer2"]["samples"] == len(layer2)


def _in_process_run(tmp_path, model_dir, **overrides):
    config = resolve_config(write_config(tmp_path, tiny_config(model_dir, **overrides)))
    out = io.StringIO()
    code = Trainer(config, tmp_path / "run", Protocol(out)).run()
    assert code == 0, out.getvalue()
    return read_run(tmp_path / "run"), [json.loads(line) for line in out.getvalue().splitlines()]


def test_grpo_mode_is_layer1_only(tmp_path, tiny_model_dir, run_schema):
    run, events = _in_process_run(tmp_path, tiny_model_dir, algorithm="grpo", max_steps=1, eval_size=0,
                                  num_iterations=2, loss_type="bnpo")
    assert all(r["layer"] == 1 for records in run["rollouts"].values() for r in records)
    line = run["metrics"][0]
    schema_validator(run_schema, "metricsLine").validate(line)
    assert line["layer2"] is None and line["correction"] is None
    assert not run["evals"]


def test_layer2_input_selection_and_prompt_building():
    layer1 = [{"id": f"s000001-q000-l1-{i:03d}", "question_id": "p0", "prompt": "Q: 1+2\n",
               "completion": f"1+2=3\nA: {i}", "correct": i == 3} for i in range(4)]
    config = {"guiding_phrases": ["Check.", "Again?"], "layer2_template": prompts.DEFAULT_LAYER2_TEMPLATE}
    rng = random.Random(0)
    assert select_layer2_inputs(layer1, "all", 0.5, rng) == [0, 1, 2, 3]
    assert select_layer2_inputs(layer1, "wrong_only", 0.5, rng) == [0, 1, 2]
    sampled = select_layer2_inputs(layer1, "sample", 0.5, rng)
    assert len(sampled) == 2 and sampled == sorted(set(sampled))
    assert len(select_layer2_inputs(layer1, "sample", 0.01, rng)) == 1
    inputs = make_layer2_inputs(layer1, [1, 3], config, random.Random(0), {"p0": "1+2"})
    expected_phrases = [prompts.choose_guiding_phrase(r, config["guiding_phrases"]) for r in [random.Random(0)] * 2]
    assert [item.guiding_phrase for item in inputs] == expected_phrases
    # question prompt + layer-1 completion (newline added) + phrase + newline
    assert inputs[0].prompt == f"Q: 1+2\n1+2=3\nA: 1\n{inputs[0].guiding_phrase}\n"
    assert inputs[1].parent is layer1[3]


def test_crash_marks_the_run_failed_and_keeps_what_was_written(tmp_path, tiny_model_dir, monkeypatch, run_schema):
    config = resolve_config(write_config(tmp_path, tiny_config(tiny_model_dir, max_steps=4, eval_size=0)))
    original = Trainer.update

    def update_that_fails_at_step_2(self, samples):
        if self.step == 1:
            raise RuntimeError("simulated failure in the update")
        return original(self, samples)

    monkeypatch.setattr(Trainer, "update", update_that_fails_at_step_2)
    out = io.StringIO()
    assert Trainer(config, tmp_path / "run", Protocol(out)).run() == 1
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    error = next(e for e in events if e["event"] == "error")
    assert "simulated failure" in error["message"] and "Traceback" in error["detail"]
    assert events[-1] == {"event": "finished", "status": "failed", "step": 1}
    run = read_run(tmp_path / "run")
    assert run["manifest"]["status"] == "failed" and "simulated failure" in run["manifest"]["error"]
    schema_validator(run_schema, "manifest").validate(run["manifest"])
    assert [line["step"] for line in run["metrics"]] == [1] and sorted(run["rollouts"]) == [1]
    assert run["malformed"] == 0


def test_eval_command_writes_the_eval_file(tmp_path, tiny_model_dir, capsys, run_schema):
    from mgrpo.cli import main

    assert main(["eval", "--model", str(tiny_model_dir), "--n", "2", "--run-dir", str(tmp_path), "--json",
                 "--step", "7", "--samples", "0"]) == 0
    printed = json.loads(capsys.readouterr().out)
    written = json.loads((tmp_path / "eval" / "step-000007.json").read_text())
    assert printed == written and written["n"] == 2 and written["step"] == 7
    schema_validator(run_schema, "evalResult").validate(written)
    assert main(["eval", "--model", str(tiny_model_dir), "--n", "1", "--samples", "0"]) == 0
    assert "| n | Acc@t1 | Acc@t2 |" in capsys.readouterr().out


def test_missing_model_is_a_usage_error_not_a_crash(tmp_path):
    config = resolve_config(write_config(tmp_path, tiny_config(tmp_path / "no-such-model")))
    out = io.StringIO()
    assert Trainer(config, tmp_path / "run", Protocol(out)).run() == 2
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert events[0]["event"] == "error" and "model folder not found" in events[0]["message"]
    assert "detail" not in events[0]
    assert read_run(tmp_path / "run")["manifest"]["status"] == "failed"
