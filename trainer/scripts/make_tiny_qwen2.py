#!/usr/bin/env python
"""Build a tiny Qwen2-architecture test model: real architecture, real tokenizer kind, random weights.

The demo model reads characters, which hides everything a real checkpoint brings: byte-level BPE tokens
that split one character over several tokens ("é", "×", "√", CJK), a chat template, an EOS that is
``<|im_end|>`` and a separate pad token, and a context limit. This script makes a model with all of those
that still loads and runs in well under a second on a CPU, so tests exercise the real-model paths:

- ``Qwen2ForCausalLM`` (seeded random weights, a few layers, hidden 64, ``max_position_embeddings``
  small enough that length checks bite);
- a byte-level BPE tokenizer trained here with ``tokenizers`` on generated text (chain questions, GSM8K- and
  MATH-style sentences, LaTeX, non-ASCII symbols and CJK), with Qwen2's special tokens
  ``<|endoftext|>`` (pad), ``<|im_start|>`` and ``<|im_end|>`` (EOS);
- a ChatML chat template (the shape of Qwen2.5-Instruct's, with its default system message).

Everything is written with ``save_pretrained`` so ``AutoModelForCausalLM`` / ``AutoTokenizer
.from_pretrained(folder)`` load it like a downloaded checkpoint. Nothing is downloaded.

Usage: python trainer/scripts/make_tiny_qwen2.py --out /tmp/tiny-qwen2 [--seed 0] [--hidden 64] [--layers 2]
Tests build it once per session (trainer/tests/conftest.py, fixture ``tiny_qwen2_dir``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = [ENDOFTEXT, IM_START, IM_END]

# Qwen2's pre-tokenizer split (GPT-4 style: letters, single digits, punctuation runs, whitespace).
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
    r"|\s+(?!\S)|\s+"
)

# The shape of Qwen2.5-Instruct's template without tools: a default system message, ChatML turns, and the
# assistant header as the generation prompt.
CHATML_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- set loop_messages = messages[1:] %}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}"
    "{%- set loop_messages = messages %}"
    "{%- endif %}"
    "{%- for message in loop_messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

_WORDS = ("the answer is", "so", "then", "total", "apples", "each", "Wait, let me double-check that.",
          "Let me verify each step again.", "Solve step by step", "Final answer", "café", "naïve", "über",
          "façade", "résumé", "数学", "答案是", "问题", "计算", "日本語", "テスト", "한국어", "Ω", "π", "∞", "≤", "≥",
          "→", "×", "÷", "√", "½", "€", "£", "°C", "🙂")


def training_corpus(seed: int, lines: int = 3000) -> list[str]:
    """Generated text the tokenizer learns its merges from: arithmetic, word problems, LaTeX and non-ASCII."""
    rng = random.Random(f"tiny-qwen2-corpus-{seed}")
    corpus = []
    for _ in range(lines):
        kind = rng.randrange(5)
        a, b = rng.randrange(1000), rng.randrange(1, 100)
        if kind == 0:
            ops = "".join(rng.choice("+-*") + str(rng.randrange(10)) for _ in range(rng.randint(1, 6)))
            corpus.append(f"Q: {rng.randrange(10)}{ops}\nA: {rng.randrange(10)}")
        elif kind == 1:
            corpus.append(f"Natalia sold {a} clips and {b} more. {a}+{b}={a + b}\n#### {a + b:,}")
        elif kind == 2:
            corpus.append(f"$\\frac{{{a}}}{{{b}}}$ and $\\sqrt{{{b}}}$, so the answer is $\\boxed{{{a}/{b}}}$.")
        elif kind == 3:
            corpus.append(f"{a} × {b} = {a * b}; {a} ÷ {b} ≈ {a / b:.2f}; √{b} ≤ {b}")
        else:
            corpus.append(" ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 12))))
    return corpus


def build_tokenizer(seed: int, vocab_size: int):
    """A byte-level BPE trained on ``training_corpus``, wrapped as a transformers fast tokenizer."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    # Qwen2's layout: a regex split, then bytes mapped to printable characters; no BOS is added.
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(training_corpus(seed), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token=IM_END, pad_token=ENDOFTEXT, unk_token=None,
        additional_special_tokens=[IM_START, IM_END], clean_up_tokenization_spaces=False,
        model_max_length=32768, padding_side="left", chat_template=CHATML_TEMPLATE,
    )


def build_tiny_qwen2(folder: str | Path, seed: int = 0, hidden: int = 64, layers: int = 2, vocab_size: int = 640,
                     max_position_embeddings: int = 1024) -> Path:
    """Write the model, tokenizer and generation config into ``folder``; returns the folder."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(seed, vocab_size)
    tokenizer.save_pretrained(str(folder))
    eos_id = tokenizer.convert_tokens_to_ids(IM_END)
    endoftext_id = tokenizer.convert_tokens_to_ids(ENDOFTEXT)
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=max_position_embeddings,
        rope_theta=1_000_000.0, rms_norm_eps=1e-6, use_sliding_window=False, tie_word_embeddings=True,
        bos_token_id=endoftext_id, eos_token_id=eos_id, pad_token_id=endoftext_id,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    with torch.no_grad():
        # A larger EOS embedding (tied to the output layer) makes <|im_end|> likely enough that some sampled
        # completions stop before the length limit, so tests see both finish reasons.
        model.model.embed_tokens.weight[eos_id] *= 4.0
    model.generation_config = GenerationConfig(bos_token_id=endoftext_id, eos_token_id=[eos_id, endoftext_id],
                                               pad_token_id=endoftext_id)
    model.save_pretrained(str(folder))
    (folder / "README.md").write_text(
        "# tiny-qwen2 (test fixture)\n\nRandom weights, seed "
        f"{seed}: {layers} layers, hidden {hidden}, vocabulary {len(tokenizer)}, context {max_position_embeddings}. "
        "Built by trainer/scripts/make_tiny_qwen2.py for tests; it knows nothing.\n", encoding="utf-8")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--vocab-size", type=int, default=640)
    parser.add_argument("--max-position-embeddings", type=int, default=1024)
    args = parser.parse_args(argv)
    folder = build_tiny_qwen2(args.out, seed=args.seed, hidden=args.hidden, layers=args.layers,
                              vocab_size=args.vocab_size, max_position_embeddings=args.max_position_embeddings)
    print(json.dumps({"folder": str(folder)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
