#!/usr/bin/env python
"""Bytes autograd keeps per token per block for a model shape (the activation figures of trainer/GPU_GUIDE.md).

Runs forwards of blocks of the given shape under bf16 autocast on the CPU and adds up the storage of every
tensor saved for backward (``torch.autograd.graph.saved_tensors_hooks``). Differences over 1 vs 3 blocks and
512 vs 1024 tokens per row cancel weights and fixed costs, leaving bytes per token per block, with and without
gradient checkpointing, and per token outside the blocks. Default shape: Qwen2.5-1.5B.

Usage: python bench/gpu/activation_bytes.py [--hidden 1536 --intermediate 8960 --heads 12 --kv-heads 2]
"""

from __future__ import annotations

import argparse

import torch


def saved_bytes(shape: argparse.Namespace, blocks: int, tokens_per_row: int, checkpointing: bool, rows: int = 2) -> int:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(vocab_size=1024, hidden_size=shape.hidden, intermediate_size=shape.intermediate,
                         num_hidden_layers=blocks, num_attention_heads=shape.heads,
                         num_key_value_heads=shape.kv_heads, tie_word_embeddings=True, attn_implementation="sdpa")
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config).train()
    if checkpointing:
        model.activation_checkpointing_enable({"use_reentrant": False})
    parameters = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: set[int] = set()
    total = 0

    def pack(tensor):
        nonlocal total
        pointer = tensor.untyped_storage().data_ptr()
        if pointer not in seen and pointer not in parameters:
            seen.add(pointer)
            total += tensor.untyped_storage().nbytes()
        return tensor

    ids = torch.randint(0, 1024, (rows, tokens_per_row))
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor), \
            torch.autocast("cpu", dtype=torch.bfloat16):
        model(input_ids=ids, logits_to_keep=1, use_cache=False)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", type=int, default=1536)
    parser.add_argument("--intermediate", type=int, default=8960)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--kv-heads", type=int, default=2)
    shape = parser.parse_args()
    rows, short, long = 2, 512, 1024
    for checkpointing in (False, True):
        def per_token(blocks: int) -> float:
            return (saved_bytes(shape, blocks, long, checkpointing) - saved_bytes(shape, blocks, short, checkpointing)) \
                / (rows * (long - short))
        one, three = per_token(1), per_token(3)
        block = (three - one) / 2
        print(f"{'checkpointing' if checkpointing else 'plain':14}: {block:9.0f} B per token per block "
              f"({block / shape.hidden:.1f} x hidden), {one - block:7.0f} B per token outside the blocks")


if __name__ == "__main__":
    main()
