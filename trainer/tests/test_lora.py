"""LoRA through peft on the tiny Qwen2: the KL reference is the base with the adapter disabled (no copy),
checkpoints hold the adapter, an export merges it, and a resume refuses a changed reference."""

import io
import json
import shutil

import pytest
import torch

from conftest import tiny_config, write_config
from mgrpo import lora
from mgrpo.config import resolve_config
from mgrpo.protocol import Protocol
from mgrpo.scoring import completion_logprobs, pack
from mgrpo.trainer import Trainer, UsageError
from test_update import CORRECTION, FIRST, make_trainer

# max_prompt_length 512: the fixture's chat template makes layer-2 prompts longer than tiny_config's 128.
LORA = dict(use_peft=True, lora_r=4, lora_alpha=8, beta=0.1, learning_rate=0.05, warmup_steps=0,
            max_prompt_length=512)


def _batch(tokenizer):
    return pack([FIRST.prompt_ids, CORRECTION.prompt_ids], [FIRST.completion_ids, CORRECTION.completion_ids],
                tokenizer.pad_token_id)


def test_reference_is_the_base_with_the_adapter_disabled(tmp_path, tiny_qwen2_dir, tiny_qwen2_policy):
    base, tokenizer = tiny_qwen2_policy
    trainer = make_trainer(tmp_path, tiny_qwen2_dir, **LORA)
    assert trainer.reference is None, "no second copy of the model"
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    batch = _batch(tokenizer)
    with torch.no_grad():
        base_logprobs = completion_logprobs(base, batch)[0]
    for _ in range(3):
        trainer.update([FIRST, CORRECTION])
    with torch.no_grad():
        policy = completion_logprobs(trainer.model, batch)[0]
        reference = trainer._reference_logprobs(batch)
    torch.testing.assert_close(reference, base_logprobs, rtol=1e-5, atol=1e-6)  # pi_ref = untouched base
    assert (policy - base_logprobs).abs().max() > 1e-3  # the adapter learned something
    assert trainer.model_info.trainable_parameters < trainer.model_info.parameters / 5


def test_adapter_checkpoint_resume_and_merged_export(tmp_path, tiny_qwen2_dir):
    config = resolve_config(write_config(tmp_path, tiny_config(tiny_qwen2_dir, max_steps=2, save_steps=1,
                                                               eval_size=0, **LORA)))
    assert Trainer(config, tmp_path / "run", Protocol(io.StringIO())).run() == 0
    folder = tmp_path / "run" / "checkpoints" / "step-000002"
    assert lora.is_adapter_folder(folder) and not (folder / "model.safetensors").exists()
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    assert len(manifest["model"]["reference_sha256"]) == 64

    resumed = Trainer(dict(config, max_steps=3), tmp_path / "run", Protocol(io.StringIO()), resume=True)
    resumed.setup()
    merged_dir = lora.merge_adapter(tiny_qwen2_dir, folder, tmp_path / "merged")
    from transformers import AutoModelForCausalLM

    merged = AutoModelForCausalLM.from_pretrained(str(merged_dir))
    batch = _batch(resumed.tokenizer)
    with torch.no_grad():
        torch.testing.assert_close(completion_logprobs(merged, batch)[0],
                                   completion_logprobs(resumed.model, batch)[0], rtol=1e-4, atol=1e-5)
        assert not any("lora" in name for name in merged.state_dict())


def test_resume_refuses_a_changed_reference_model(tmp_path, tiny_model_dir):
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_dir)
    config = resolve_config(write_config(tmp_path, tiny_config(model_dir, max_steps=1, save_steps=1, eval_size=0)))
    assert Trainer(config, tmp_path / "run", Protocol(io.StringIO())).run() == 0
    from transformers import AutoModelForCausalLM

    changed = AutoModelForCausalLM.from_pretrained(str(model_dir))
    with torch.no_grad():
        changed.lm_head.weight[0, 0] += 1.0
    changed.save_pretrained(model_dir)
    resumed = Trainer(dict(config, max_steps=2), tmp_path / "run", Protocol(io.StringIO()), resume=True)
    with pytest.raises(UsageError, match="reference model changed"):
        resumed.setup()


def test_merge_command_refuses_a_full_model_folder(tmp_path, tiny_model_dir, capsys):
    assert lora.main(["merge", str(tiny_model_dir), str(tmp_path / "out")]) == 2
    assert "no LoRA adapter" in capsys.readouterr().err
