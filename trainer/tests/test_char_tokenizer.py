"""The demo's character tokenizer, saved and loaded back through transformers.AutoTokenizer."""

import pytest
from transformers import AutoTokenizer

from mgrpo.char_tokenizer import CHARACTERS, SPECIAL_TOKENS, save_char_tokenizer


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("char-tokenizer")
    save_char_tokenizer(folder)
    assert (folder / "tokenizer.json").is_file()
    assert (folder / "tokenizer_config.json").is_file()
    return AutoTokenizer.from_pretrained(str(folder))


def test_loads_as_fast_tokenizer_with_specials(tokenizer):
    assert tokenizer.is_fast
    assert len(tokenizer) == len(SPECIAL_TOKENS) + len(CHARACTERS) == 100
    assert (tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id) == (
        0,
        1,
        2,
        3,
    )


def test_one_token_per_character_with_bos(tokenizer):
    text = "Q: 3+5*2-7\n3+5=8\nA: 9\n"
    ids = tokenizer(text)["input_ids"]
    assert ids[0] == tokenizer.bos_token_id
    assert len(ids) == len(text) + 1
    assert tokenizer.convert_ids_to_tokens(ids[1:]) == list(text)
    assert tokenizer(text, add_special_tokens=False)["input_ids"] == ids[1:]
    # The vocabulary order is fixed: "\n" first, then printable ASCII from the space.
    assert tokenizer.convert_tokens_to_ids(["\n", " ", "~"]) == [4, 5, 99]


def test_round_trip_every_printable_character(tokenizer):
    text = "".join(CHARACTERS) + "  double  spaces . , ! ?\n\nend "
    ids = tokenizer(text)["input_ids"]
    assert tokenizer.decode(ids, skip_special_tokens=True) == text
    assert tokenizer.decode(ids) == "<bos>" + text


def test_unknown_characters_and_special_names_in_text(tokenizer):
    ids = tokenizer("a\té", add_special_tokens=False)["input_ids"]
    assert ids == [tokenizer.convert_tokens_to_ids("a"), tokenizer.unk_token_id, tokenizer.unk_token_id]
    # "<eos>" written in text is five characters, never the end-of-sequence token.
    ids = tokenizer("x<eos>", add_special_tokens=False)["input_ids"]
    assert len(ids) == 6 and tokenizer.eos_token_id not in ids
    assert tokenizer.decode(ids) == "x<eos>"


def test_left_padding_for_batched_generation(tokenizer):
    batch = tokenizer(["ab", "abcd"], padding=True)
    assert batch["input_ids"][0][:2] == [tokenizer.pad_token_id] * 2
    assert batch["attention_mask"] == [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]]
