"""token_offsets on a byte-level BPE (the Qwen2 fixture): characters split over several tokens, computed in one
pass from the tokenizer's incremental decoder, never by decoding every prefix."""

from __future__ import annotations

import pytest
import torch

from mgrpo.sampling import generate, token_offsets

TEXT = "漢字 ñ = 5 × 3 √9 答案是 42 🙂\nA: 7"


def prefix_offsets(tokenizer, ids: list[int]) -> list[int]:
    """The slow reference: the length of the decoded prefix before each token, partial characters dropped."""
    return [len(tokenizer.decode(ids[:index], skip_special_tokens=True).rstrip("\ufffd")) for index in range(len(ids))]


def assert_between_prefixes(tokenizer, ids: list[int], offsets: list[int]) -> None:
    """Each token starts no later than the text decoded before it ends, and no earlier than the one before it."""
    reference = prefix_offsets(tokenizer, ids)
    for index, offset in enumerate(offsets):
        assert (reference[index - 1] if index else 0) <= offset <= reference[index], index


def test_offsets_slice_non_ascii_text_exactly(tiny_qwen2_policy):
    _, tokenizer = tiny_qwen2_policy
    ids = tokenizer(TEXT, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    text = tokenizer.decode(ids, skip_special_tokens=True)
    assert text == TEXT
    offsets = token_offsets(tokenizer, ids, text)
    # Hand-read from the pieces: "漢" and "字" are three byte tokens each (absent from the tokenizer's training
    # text) and start at their character; " ñ" is " " + first byte (token 6) then the second byte (token 7), a
    # piece that starts at the space; then " =", " ", "5", " ×", ...
    assert offsets[:12] == [0, 0, 0, 1, 1, 1, 2, 2, 4, 6, 7, 8]
    assert_between_prefixes(tokenizer, ids, offsets)
    assert offsets[-1] == len(text)  # <|im_end|> decodes to "" at the end
    # Slicing between consecutive distinct offsets rebuilds the text.
    bounds = sorted(set(offsets) | {len(text)})
    assert "".join(text[a:b] for a, b in zip(bounds, bounds[1:])) == text


def test_offsets_never_decode_prefixes(tiny_qwen2_policy, monkeypatch):
    _, tokenizer = tiny_qwen2_policy
    ids = tokenizer(TEXT * 50, add_special_tokens=False)["input_ids"]
    text = tokenizer.decode(ids)

    def refuse(*_args, **_kwargs):
        raise AssertionError("token_offsets decoded a prefix (quadratic)")

    monkeypatch.setattr(type(tokenizer), "decode", refuse)
    monkeypatch.setattr(type(tokenizer), "batch_decode", refuse)
    offsets = token_offsets(tokenizer, ids, text)
    assert len(offsets) == len(ids)
    assert offsets == sorted(offsets) and offsets[-1] < len(text)


def test_character_tokenizer_offsets_are_character_positions(tiny_policy):
    _, tokenizer = tiny_policy
    ids = tokenizer("3+5=8\nA: 8", add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    assert token_offsets(tokenizer, ids, "3+5=8\nA: 8") == list(range(10)) + [10]


def test_sampled_completions_on_qwen2_have_offsets_inside_their_text(tiny_qwen2_policy):
    model, tokenizer = tiny_qwen2_policy
    generator = torch.Generator().manual_seed(0)
    completions = generate(model, tokenizer, ["Café × 2 =", "数学"], max_new_tokens=24, generator=generator,
                           stop_ids=[tokenizer.eos_token_id])
    for completion in completions:
        assert len(completion.token_offsets) == len(completion.completion_ids)
        if "\ufffd" not in completion.text:  # a random model may write invalid UTF-8 byte sequences
            assert_between_prefixes(tokenizer, completion.completion_ids, completion.token_offsets)
        assert all(0 <= offset <= len(completion.text) for offset in completion.token_offsets)


@pytest.mark.parametrize("ids", [[], [0]])
def test_empty_and_special_only(tiny_qwen2_policy, ids):
    _, tokenizer = tiny_qwen2_policy
    assert token_offsets(tokenizer, ids, "") == [0] * len(ids)
