"""Log-probabilities of given completions under a model (the policy being trained, pi_old, the reference).

Sequences are packed as [left-padded prompt | right-padded completion], so every completion starts in the
same column and the logits that predict it are one slice. The ids are the sampled ones, never re-tokenized
text, so training scores exactly the tokens that were sampled.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .policy import autocast


@dataclass
class PackedBatch:
    input_ids: torch.Tensor        # [B, P + C]
    attention_mask: torch.Tensor   # [B, P + C]
    position_ids: torch.Tensor     # [B, P + C]
    completion_ids: torch.Tensor   # [B, C]
    completion_mask: torch.Tensor  # [B, C] bool: real completion tokens
    prompt_width: int              # P

    def to(self, device: torch.device) -> "PackedBatch":
        return PackedBatch(self.input_ids.to(device), self.attention_mask.to(device), self.position_ids.to(device),
                           self.completion_ids.to(device), self.completion_mask.to(device), self.prompt_width)


def pack(prompt_ids: list[list[int]], completion_ids: list[list[int]], pad_id: int) -> PackedBatch:
    if len(prompt_ids) != len(completion_ids) or not prompt_ids:
        raise ValueError("pack needs the same, non-zero number of prompts and completions")
    prompt_width = max(len(ids) for ids in prompt_ids)
    completion_width = max(1, max(len(ids) for ids in completion_ids))
    batch = len(prompt_ids)
    input_ids = torch.full((batch, prompt_width + completion_width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    completion_mask = torch.zeros((batch, completion_width), dtype=torch.bool)
    for row, (prompt, completion) in enumerate(zip(prompt_ids, completion_ids)):
        input_ids[row, prompt_width - len(prompt):prompt_width] = torch.tensor(prompt, dtype=torch.long)
        attention_mask[row, prompt_width - len(prompt):prompt_width + len(completion)] = 1
        if completion:
            input_ids[row, prompt_width:prompt_width + len(completion)] = torch.tensor(completion, dtype=torch.long)
            completion_mask[row, :len(completion)] = True
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    return PackedBatch(input_ids, attention_mask, position_ids, input_ids[:, prompt_width:].clone(),
                       completion_mask, prompt_width)


# Rows of logits turned into float32 at once: bounds the transient float32 copy to ~256 MB whatever the vocabulary.
CHUNK_ELEMENTS = 64 * 1024 * 1024


def _row_chunks(rows: int, vocab: int):
    step = max(1, CHUNK_ELEMENTS // max(vocab, 1))
    for start in range(0, rows, step):
        yield start, min(rows, start + step)


class _ChosenTokenLogprob(torch.autograd.Function):
    """log softmax(logits / T)[token] for rows of logits [N, V], float32 out, in row chunks.

    Autograd through ``log_softmax`` would keep a float32 [N, V] copy alive until backward; this keeps only the
    logits as the model produced them (bf16 under autocast) and the [N] log-normalisers, and recomputes the
    softmax chunk by chunk in backward: d logp / d logits = (onehot(token) - softmax) / T."""

    @staticmethod
    def forward(ctx, logits, token_ids, temperature):
        logprobs = torch.empty(logits.shape[0], dtype=torch.float32, device=logits.device)
        normalisers = torch.empty_like(logprobs)
        for start, end in _row_chunks(logits.shape[0], logits.shape[-1]):
            block = logits[start:end].float() / temperature
            normaliser = torch.logsumexp(block, dim=-1)
            normalisers[start:end] = normaliser
            logprobs[start:end] = block.gather(-1, token_ids[start:end, None]).squeeze(-1) - normaliser
        ctx.save_for_backward(logits, token_ids, normalisers)
        ctx.temperature = temperature
        return logprobs

    @staticmethod
    def backward(ctx, grad_logprobs):
        logits, token_ids, normalisers = ctx.saved_tensors
        grad_logits = torch.empty_like(logits)
        for start, end in _row_chunks(logits.shape[0], logits.shape[-1]):
            probs = torch.exp(logits[start:end].float() / ctx.temperature - normalisers[start:end, None])
            upstream = grad_logprobs[start:end, None].float()
            block = -probs * upstream
            block.scatter_add_(-1, token_ids[start:end, None], upstream)
            grad_logits[start:end] = (block / ctx.temperature).to(grad_logits.dtype)
        return grad_logits, None, None


def chosen_token_logprobs(logits: torch.Tensor, token_ids: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """log softmax(logits / temperature) at ``token_ids``: logits [..., V], ids [...] -> float32 [...]."""
    shape = token_ids.shape
    flat = _ChosenTokenLogprob.apply(logits.reshape(-1, logits.shape[-1]), token_ids.reshape(-1), float(temperature))
    return flat.view(shape)


@torch.no_grad()
def token_entropies(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Entropy of softmax(logits / temperature) per row, float32, in row chunks (no [N, V] float32 copy)."""
    rows = logits.reshape(-1, logits.shape[-1])
    entropies = torch.empty(rows.shape[0], dtype=torch.float32, device=logits.device)
    for start, end in _row_chunks(rows.shape[0], rows.shape[-1]):
        log_distribution = torch.log_softmax(rows[start:end].float() / temperature, dim=-1)
        entropies[start:end] = -(log_distribution.exp() * log_distribution).nan_to_num().sum(-1)
    return entropies.view(logits.shape[:-1])


@dataclass
class SharedPrefixBatch:
    """Completions of ONE prompt (a GRPO group): the prompt is run once, its keys and values shared by every
    completion. Gradients flow through the shared keys/values, so they are exactly those of the packed batch."""
    prefix_ids: torch.Tensor       # [1, P]
    completion_ids: torch.Tensor   # [G, C], right-padded
    completion_mask: torch.Tensor  # [G, C] bool

    def to(self, device: torch.device) -> "SharedPrefixBatch":
        return SharedPrefixBatch(self.prefix_ids.to(device), self.completion_ids.to(device),
                                 self.completion_mask.to(device))


def pack_shared_prefix(prompt_ids: list[int], completion_ids: list[list[int]], pad_id: int) -> SharedPrefixBatch:
    if not prompt_ids or not completion_ids:
        raise ValueError("pack_shared_prefix needs a non-empty prompt and at least one completion")
    width = max(1, max(len(ids) for ids in completion_ids))
    completions = torch.full((len(completion_ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(completion_ids), width), dtype=torch.bool)
    for row, ids in enumerate(completion_ids):
        if ids:
            completions[row, :len(ids)] = torch.tensor(ids, dtype=torch.long)
            mask[row, :len(ids)] = True
    return SharedPrefixBatch(torch.tensor([list(prompt_ids)], dtype=torch.long), completions, mask)


def _shared_prefix_logits(model, batch: SharedPrefixBatch, compute_dtype):
    """Logits [G, C, V] predicting each completion token: the prompt's last position for token 0 (computed once),
    then the completion positions 0 .. C - 2 read the prompt through the repeated key/value cache."""
    from transformers import DynamicCache

    device = batch.prefix_ids.device
    rows, width = batch.completion_ids.shape
    prompt_width = batch.prefix_ids.shape[1]
    with autocast(device, compute_dtype):
        prefix = model(input_ids=batch.prefix_ids, past_key_values=DynamicCache(), use_cache=True, logits_to_keep=1)
        first = prefix.logits[:, -1:, :].expand(rows, 1, -1)
        if width == 1:
            return first
        cache = prefix.past_key_values
        cache.batch_repeat_interleave(rows)
        attention_mask = torch.cat([torch.ones((rows, prompt_width), dtype=torch.long, device=device),
                                    batch.completion_mask[:, :-1].long()], dim=1)
        positions = torch.arange(prompt_width, prompt_width + width - 1, device=device).expand(rows, -1)
        rest = model(input_ids=batch.completion_ids[:, :-1], attention_mask=attention_mask, position_ids=positions,
                     past_key_values=cache, use_cache=True).logits
    return torch.cat([first, rest], dim=1)


def completion_logprobs(model, batch: PackedBatch | SharedPrefixBatch, temperature: float = 1.0,
                        with_entropy: bool = False, compute_dtype: torch.dtype | None = None):
    """Per-token log-probs [B, C] of the completion tokens under softmax(logits / temperature), and the
    per-token entropies when asked (else None). Padding positions hold 0. Gradients flow when enabled.
    ``compute_dtype``: the autocast dtype (None: bf16 on CUDA, float32 on CPU).

    Only the C positions that predict the completion get logits (``logits_to_keep``): the prompt's logits are never computed, and
    the log-softmax runs in chunks, so no float32 [B, P + C, V] tensor exists (13.6 GB at V 152k, B 64, P 700)."""
    if isinstance(batch, SharedPrefixBatch):
        logits = _shared_prefix_logits(model, batch, compute_dtype)
    else:
        device = batch.input_ids.device
        width = batch.completion_ids.shape[1]
        # The logit at position t predicts token t + 1: positions P - 1 .. P + C - 2 predict the completion.
        positions = torch.arange(batch.prompt_width - 1, batch.prompt_width - 1 + width, device=device)
        with autocast(device, compute_dtype):
            logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                           position_ids=batch.position_ids, use_cache=False, logits_to_keep=positions).logits
    token_logprobs = chosen_token_logprobs(logits, batch.completion_ids, temperature)
    logprobs = torch.where(batch.completion_mask, token_logprobs, torch.zeros_like(token_logprobs))
    entropies = None
    if with_entropy:
        entropies = torch.where(batch.completion_mask, token_entropies(logits, temperature),
                                torch.zeros_like(token_logprobs))
    return logprobs, entropies


def plan_micro_batches(lengths: list[tuple[int, int]], max_rows: int, max_tokens: int | None = None) -> list[list[int]]:
    """Indices of the samples in each micro-batch, in order. ``lengths`` holds (prompt, completion) token counts.

    A micro-batch takes at most ``max_rows`` samples and, when ``max_tokens`` is set, at most that many padded
    tokens (rows x (longest prompt + longest completion), what the forward pass really costs); a sample longer
    than ``max_tokens`` on its own gets a micro-batch of its own."""
    if max_rows < 1:
        raise ValueError(f"max_rows must be >= 1, got {max_rows}")
    batches: list[list[int]] = []
    current: list[int] = []
    prompt_width = completion_width = 0
    for index, (prompt, completion) in enumerate(lengths):
        wider_prompt, wider_completion = max(prompt_width, prompt), max(completion_width, completion)
        too_many_rows = len(current) >= max_rows
        too_many_tokens = max_tokens is not None and (len(current) + 1) * (wider_prompt + wider_completion) > max_tokens
        if current and (too_many_rows or too_many_tokens):
            batches.append(current)
            current, wider_prompt, wider_completion = [], prompt, completion
        current.append(index)
        prompt_width, completion_width = wider_prompt, wider_completion
    if current:
        batches.append(current)
    return batches


def plan_shared_prefix_batches(prompt_ids: list[list[int]], completion_lengths: list[int], max_rows: int,
                               max_tokens: int | None = None) -> list[list[int]]:
    """Indices of the samples in each shared-prefix micro-batch: consecutive samples with the same prompt (a
    GRPO group), cut so that a micro-batch has at most ``max_rows`` completions and, when ``max_tokens`` is
    set, prompt + rows x longest completion tokens within it (a single completion always fits)."""
    if max_rows < 1:
        raise ValueError(f"max_rows must be >= 1, got {max_rows}")
    batches: list[list[int]] = []
    for index, (prompt, length) in enumerate(zip(prompt_ids, completion_lengths)):
        if batches and prompt_ids[batches[-1][0]] == prompt:
            current = batches[-1]
            longest = max(length, max(completion_lengths[i] for i in current))
            fits = len(current) < max_rows and (
                max_tokens is None or len(prompt) + (len(current) + 1) * longest <= max_tokens)
            if fits:
                current.append(index)
                continue
        batches.append([index])
    return batches
