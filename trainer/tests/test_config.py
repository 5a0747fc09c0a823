"""Config resolution and errors: a bad config exits with code 2 and a message naming the key, the value and
what is allowed (and the file), plus an error event on stdout."""

import json

import pytest

from conftest import run_mgrpo, write_config
from mgrpo.config import DEMO_MODEL_DIR, ConfigError, config_keys, parse_override, resolve_config


def _error_event(stdout: str) -> dict:
    events = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    errors = [event for event in events if event["event"] == "error"]
    assert len(errors) == 1, stdout
    return errors[0]


@pytest.mark.parametrize("config, expected", [
    ({"num_generation": 4}, ["'num_generation'", "unknown key", "did you mean 'num_generations'?"]),
    ({"max_steps": "ten"}, ["'max_steps'", "'ten'", "an integer", ">= 0"]),
    ({"num_generations": 1}, ["'num_generations'", "got 1", ">= 2"]),
    ({"loss_type": "ppo"}, ["'loss_type'", "'ppo'", '"grpo", "bnpo", "dr_grpo"']),
    ({"temperature": 0}, ["'temperature'", "got 0", "> 0"]),
    ({"chain_min_ops": 4, "chain_max_ops": 2}, ["'chain_max_ops'", "got 2", ">= chain_min_ops (4)"]),
    ({"layer2_template": "{layer1_completion}"}, ["'layer2_template'", "guiding_phrase"]),
    ({"task": "jsonl"}, ["'dataset_path'", "jsonl"]),
])
def test_bad_config_file_exits_2_with_message(tmp_path, config, expected):
    path = write_config(tmp_path, {"preset": "demo", **config})
    for args in (("validate-config", str(path)), ("train", "--config", str(path), "--run-dir", str(tmp_path / "r"))):
        result = run_mgrpo(*args)
        assert result.returncode == 2, result.stderr
        for text in expected + [str(path)]:
            assert text in result.stderr, (text, result.stderr)
        event = _error_event(result.stdout)
        assert all(text in event["message"] for text in expected)
    assert not (tmp_path / "r" / "run.json").exists()


def test_bad_flag_value_names_the_flag(tmp_path):
    result = run_mgrpo("train", "--preset", "demo", "--run-dir", str(tmp_path / "r"), "--max-steps", "abc")
    assert result.returncode == 2
    assert "'max_steps'" in result.stderr and "'abc'" in result.stderr and "--max-steps" in result.stderr
    assert "--max-steps" in _error_event(result.stdout)["message"]
    result = run_mgrpo("train", "--run-dir", str(tmp_path / "r"), "--loss-type", "ppo")
    assert result.returncode == 2 and "allowed:" in result.stderr


def test_not_json_and_missing_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"max_steps": 3,\n "beta": }')
    result = run_mgrpo("validate-config", str(path))
    assert result.returncode == 2 and "line 2" in result.stderr and str(path) in result.stderr
    result = run_mgrpo("validate-config", str(tmp_path / "missing.json"))
    assert result.returncode == 2 and "not found" in result.stderr


def test_help_explains_every_key():
    result = run_mgrpo("--help")
    assert result.returncode == 0
    for key in config_keys():
        assert key in result.stdout, key
    assert "UNCONFIRMED" in result.stdout
    train_help = run_mgrpo("train", "--help").stdout
    assert "--layer2-num-generations" in train_help and "--resume" in train_help


def test_resolution_order_preset_file_flags(tmp_path):
    path = write_config(tmp_path, {"preset": "demo", "max_steps": 7, "beta": 0.5})
    config = resolve_config(path, overrides={"beta": 0.25})
    assert config["max_steps"] == 7            # file over preset
    assert config["beta"] == 0.25              # flag over file
    assert config["questions_per_step"] == 4   # preset over default (8)
    assert config["epsilon"] == 0.2            # schema default
    assert config["model_name_or_path"] == str(DEMO_MODEL_DIR)
    assert config["preset"] == "demo"


def test_relative_paths_resolve_against_the_config_file(tmp_path):
    (tmp_path / "model").mkdir()
    path = write_config(tmp_path, {"model_name_or_path": "model"})
    assert resolve_config(path)["model_name_or_path"] == str((tmp_path / "model").resolve())


def test_model_required_without_preset(tmp_path):
    with pytest.raises(ConfigError, match="model_name_or_path.*--preset demo"):
        resolve_config(write_config(tmp_path, {}))


def test_parse_override_types():
    assert parse_override("max_steps", "5") == 5
    assert parse_override("beta", "0.1") == 0.1
    assert parse_override("filter_equal_reward_groups", "true") is True
    assert parse_override("epsilon_high", "null") is None
    assert parse_override("guiding_phrases", '["a", "b"]') == ["a", "b"]
    assert parse_override("guiding_phrases", "Check again.") == ["Check again."]
    assert parse_override("layer1_template", "Q: {question}\\n") == "Q: {question}\n"
    with pytest.raises(ConfigError, match="'max_steps'.*'x'"):
        parse_override("max_steps", "x")


def test_validate_config_prints_resolved_config(tmp_path):
    path = write_config(tmp_path, {"preset": "demo", "max_steps": 3})
    result = run_mgrpo("validate-config", str(path))
    assert result.returncode == 0, result.stderr
    resolved = json.loads(result.stdout)
    assert resolved["max_steps"] == 3 and resolved["layer2_inputs"] == "all"
