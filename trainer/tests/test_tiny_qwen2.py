"""The real-architecture fixture loads like a downloaded checkpoint and has what real models bring: byte-level
BPE (characters split over several tokens), a ChatML chat template, <|im_end|> as EOS, a context limit."""

from __future__ import annotations

import torch

from mgrpo.policy import stop_token_ids


def test_loads_as_qwen2_with_its_tokenizer(tiny_qwen2_dir, tiny_qwen2_policy):
    model, tokenizer = tiny_qwen2_policy
    assert type(model).__name__ == "Qwen2ForCausalLM"
    assert model.config.max_position_embeddings == 1024
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.pad_token_id != tokenizer.eos_token_id
    # The generation config adds <|endoftext|> as a second stop token, as Qwen2.5-Instruct's does.
    assert stop_token_ids(model, tokenizer) == sorted({tokenizer.eos_token_id, tokenizer.pad_token_id})
    for name in ("config.json", "model.safetensors", "tokenizer.json", "generation_config.json"):
        assert (tiny_qwen2_dir / name).is_file()


def test_byte_level_bpe_round_trips_non_ascii_and_splits_rare_characters(tiny_qwen2_policy):
    _, tokenizer = tiny_qwen2_policy
    text = "Café × 3 = √9, 漢字 ñ 答案是 42 🙂\n#### 1,000"
    ids = tokenizer(text, add_special_tokens=True)["input_ids"]
    assert tokenizer.decode(ids) == text  # no BOS added, no clean-up
    pieces = [tokenizer.decode([token]) for token in ids]
    # "漢" was not in the training text: its three UTF-8 bytes are separate tokens that decode to U+FFFD.
    assert "\ufffd" in "".join(pieces)
    assert "".join(pieces) != text


def test_chat_template_is_chatml_with_a_default_system_message(tiny_qwen2_policy):
    _, tokenizer = tiny_qwen2_policy
    text = tokenizer.apply_chat_template([{"role": "user", "content": "2+2?"}], tokenize=False,
                                         add_generation_prompt=True)
    assert text == ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                    "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n")
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert ids.count(tokenizer.convert_tokens_to_ids("<|im_start|>")) == 3


def test_same_seed_same_weights(tmp_path, tiny_qwen2_policy):
    from conftest import build_tiny_qwen2
    from transformers import AutoModelForCausalLM

    rebuilt = AutoModelForCausalLM.from_pretrained(str(build_tiny_qwen2(tmp_path / "again")))
    model, _ = tiny_qwen2_policy
    for (name, a), (_, b) in zip(model.state_dict().items(), rebuilt.state_dict().items()):
        assert torch.equal(a, b), name
