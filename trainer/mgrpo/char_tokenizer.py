"""A character-level tokenizer in Hugging Face format, for the embedded demo model.

One token per character of printable ASCII (32..126) and newline; anything else becomes ``<unk>``. It is
built with the ``tokenizers`` library and saved as tokenizer.json + tokenizer_config.json, so
``transformers.AutoTokenizer.from_pretrained(folder)`` loads it as a fast tokenizer like any other model's,
and the trainer needs no special case for it.

Encoding prepends ``<bos>`` (as Llama tokenizers do); decoding concatenates characters exactly (no added
spaces, no clean-up), so offsets in decoded text are character offsets. Special-token names inside text
("<eos>" typed by a user or a model) are split into characters, never read as the special token.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer, decoders, models, processors

PAD_TOKEN = "<pad>"
BOS_TOKEN = "<bos>"
EOS_TOKEN = "<eos>"
UNK_TOKEN = "<unk>"
SPECIAL_TOKENS = [PAD_TOKEN, BOS_TOKEN, EOS_TOKEN, UNK_TOKEN]  # ids 0..3, in this order

CHARACTERS = ["\n"] + [chr(code) for code in range(32, 127)]
MODEL_MAX_LENGTH = 256


def build_char_tokenizer() -> Tokenizer:
    """The ``tokenizers`` object: a merge-free BPE over single characters, which is exactly one token per
    known character (and ``<unk>`` for unknown ones)."""
    vocab = {token: index for index, token in enumerate(SPECIAL_TOKENS + CHARACTERS)}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=UNK_TOKEN, fuse_unk=False))
    tokenizer.add_special_tokens(SPECIAL_TOKENS)
    # No normalizer and no pre-tokenizer: spaces and newlines are ordinary characters.
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS_TOKEN} $A",
        pair=f"{BOS_TOKEN} $A $B",
        special_tokens=[(BOS_TOKEN, vocab[BOS_TOKEN])],
    )
    tokenizer.decoder = decoders.Fuse()  # join tokens as they are; the default would put spaces between
    return tokenizer


def build_hf_tokenizer():
    """The tokenizer wrapped as a transformers fast tokenizer, with its special tokens declared."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=build_char_tokenizer(),
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        unk_token=UNK_TOKEN,
        clean_up_tokenization_spaces=False,  # the default clean-up would rewrite " ." into "."
        # Text is only ever characters: a model that writes "<eos>" has written five characters, not EOS.
        split_special_tokens=True,
        model_max_length=MODEL_MAX_LENGTH,
        padding_side="left",  # batched generation continues from the right edge of every prompt
    )


def save_char_tokenizer(folder: str | Path):
    """Write tokenizer.json + tokenizer_config.json (+ special tokens map) into ``folder``; returns the
    transformers tokenizer."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    hf_tokenizer = build_hf_tokenizer()
    hf_tokenizer.save_pretrained(str(folder))
    return hf_tokenizer
