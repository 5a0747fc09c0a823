"""Where completions come from, behind one small interface, so a fast inference engine (vLLM, SGLang) can slot
in later without touching the training loop. The one backend shipped is the one this project can run and
test: our own sampler (``sampling.generate``) on the live policy.

A backend must return, per prompt, the token ids it sampled and the log-probabilities of the distribution it
sampled them from (``sampling.Completion``): training scores exactly those ids. An engine that holds its own
copy of the weights must take the new ones in ``weights_updated`` after every optimizer step.
"""

from __future__ import annotations

import contextlib
from typing import Protocol

import torch

from . import sampling


class GenerationBackend(Protocol):
    def generate(self, prompts: list[str] | None = None, *, prompt_ids: list[list[int]] | None = None,
                 max_new_tokens: int, temperature: float = 1.0, top_p: float = 1.0, greedy: bool = False,
                 generator: torch.Generator | None = None, stop_ids: list[int] | None = None,
                 max_prompt_length: int | None = None, batch_size: int | None = None) -> list[sampling.Completion]:
        """One completion per prompt (a group is the same prompt repeated)."""
        ...

    def weights_updated(self) -> None:
        """The policy's weights changed (after an optimizer step)."""
        ...


class LocalGeneration:
    """Our batched sampler with a KV cache, on the policy being trained (same weights, nothing to sync)."""

    def __init__(self, model: torch.nn.Module, tokenizer, compute_dtype: torch.dtype | None = None,
                 weights_context=None):
        self.model = model
        self.tokenizer = tokenizer
        self.compute_dtype = compute_dtype
        # Entered around each call: under FSDP2 it gathers the whole model once, so the decode loop's forwards
        # need no collectives and ranks may stop at different lengths.
        self.weights_context = weights_context or contextlib.nullcontext

    def generate(self, prompts: list[str] | None = None, **options) -> list[sampling.Completion]:
        with self.weights_context():
            return sampling.generate(self.model, self.tokenizer, prompts, compute_dtype=self.compute_dtype,
                                     **options)

    def weights_updated(self) -> None:
        pass  # it samples from the live policy
