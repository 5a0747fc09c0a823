"""The GPU guide's configs are real configs: every JSON block in trainer/GPU_GUIDE.md validates against the
schema (a renamed or removed key fails here, not on someone's GPU), and its parameter count is right."""

import json
import re

import pytest

from conftest import TRAINER_ROOT
from mgrpo.config import resolve_config

GUIDE = TRAINER_ROOT / "GPU_GUIDE.md"


def guide_configs() -> list[dict]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)]


def test_guide_has_the_one_and_eight_gpu_configs():
    configs = guide_configs()
    assert len(configs) == 2
    assert configs[1]["distributed_strategy"] == "ddp"


@pytest.mark.parametrize("index", [0, 1])
def test_guide_config_validates(tmp_path, index):
    path = tmp_path / "guide.mgrpo.json"
    path.write_text(json.dumps(guide_configs()[index]), encoding="utf-8")
    resolved = resolve_config(path)
    assert resolved["max_completion_length"] == 1024


def test_qwen2_5_1_5b_parameter_count_in_the_guide():
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    with torch.device("meta"):
        model = Qwen2ForCausalLM(Qwen2Config(vocab_size=151936, hidden_size=1536, intermediate_size=8960,
                                             num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                                             tie_word_embeddings=True))
    parameters = sum(p.numel() for p in model.parameters())
    assert round(parameters / 1e9, 3) == 1.544
    assert "1.544 B parameters" in GUIDE.read_text(encoding="utf-8")
