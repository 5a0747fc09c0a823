"""Shared fixtures: a tiny random Llama with the project's character tokenizer, saved in Hugging Face format
(save_pretrained, then loaded back with from_pretrained like any real checkpoint). Nothing is downloaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TRAINER_ROOT = Path(__file__).resolve().parents[1]
REPO_ROOT = TRAINER_ROOT.parent
RUN_SCHEMA_PATH = TRAINER_ROOT / "mgrpo" / "schemas" / "run-format.schema.json"
EXAMPLE_RUN = REPO_ROOT / "test" / "fixtures" / "example-run"


def build_tiny_model(folder: Path, seed: int = 0, hidden: int = 32, layers: int = 2) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from mgrpo.char_tokenizer import save_char_tokenizer

    tokenizer = save_char_tokenizer(folder)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        # A larger EOS embedding (tied to the output layer) makes EOS likely enough that some completions of
        # this random model stop before the length limit, so tests see both finish reasons.
        model.model.embed_tokens.weight[tokenizer.eos_token_id] *= 4.0
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_policy(tiny_model_dir):
    """(model, tokenizer) on CPU, loaded from the saved folder."""
    import torch

    from mgrpo.policy import load_policy

    return load_policy(str(tiny_model_dir), torch.device("cpu"))


def build_tiny_qwen2(folder: Path, **options) -> Path:
    """The real-architecture fixture (trainer/scripts/make_tiny_qwen2.py): Qwen2, byte-level BPE, ChatML."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_tiny_qwen2", TRAINER_ROOT / "scripts" / "make_tiny_qwen2.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_tiny_qwen2(folder, **options)


@pytest.fixture(scope="session")
def tiny_qwen2_dir(tmp_path_factory) -> Path:
    """A tiny random Qwen2 with a byte-level BPE tokenizer and a ChatML chat template, built once (~5 s)."""
    return build_tiny_qwen2(tmp_path_factory.mktemp("tiny-qwen2"))


@pytest.fixture(scope="session")
def tiny_qwen2_policy(tiny_qwen2_dir):
    """(model, tokenizer) of the Qwen2 fixture on CPU, loaded with the trainer's own loader."""
    import torch

    from mgrpo.policy import load_policy

    return load_policy(str(tiny_qwen2_dir), torch.device("cpu"))


@pytest.fixture(scope="session")
def run_schema() -> dict:
    return json.loads(RUN_SCHEMA_PATH.read_text(encoding="utf-8"))


def schema_validator(run_schema: dict, definition: str):
    """A jsonschema validator for one $defs entry of the run-format schema."""
    import jsonschema

    schema = {"$schema": run_schema["$schema"], "$defs": run_schema["$defs"], "$ref": f"#/$defs/{definition}"}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def mgrpo_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "mgrpo", *args]


def subprocess_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(TRAINER_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run_mgrpo(*args: str, timeout: float = 120, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(mgrpo_command(*args), capture_output=True, text=True, timeout=timeout,
                          env=subprocess_env(), input=stdin, cwd=str(REPO_ROOT))


def tiny_config(model_dir: Path, **overrides) -> dict:
    """A config small enough that a step takes a fraction of a second on CPU."""
    config = {
        "model_name_or_path": str(model_dir), "device": "cpu", "seed": 3, "max_steps": 3,
        "questions_per_step": 2, "num_generations": 2, "layer2_num_generations": 2,
        "max_completion_length": 12, "max_prompt_length": 128, "learning_rate": 1e-3, "beta": 0.05,
        "save_steps": 2, "eval_steps": 0, "eval_size": 3, "micro_batch_size": 5, "chain_min_ops": 1,
        "chain_max_ops": 2,
    }
    config.update(overrides)
    return config


def write_config(folder: Path, config: dict) -> Path:
    path = folder / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path
