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


def completion_logprobs(model, batch: PackedBatch, temperature: float = 1.0, with_entropy: bool = False):
    """Per-token log-probs [B, C] of the completion tokens under softmax(logits / temperature), and the
    per-token entropies when asked (else None). Padding positions hold 0. Gradients flow when enabled."""
    device = batch.input_ids.device
    with autocast(device):
        logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                       position_ids=batch.position_ids, use_cache=False).logits
    # The logit at position t predicts token t + 1: the completion is predicted from P - 1 onwards.
    width = batch.completion_ids.shape[1]
    logits = logits[:, batch.prompt_width - 1:batch.prompt_width - 1 + width, :].float() / temperature
    log_normalizer = torch.logsumexp(logits, dim=-1)
    token_logits = logits.gather(-1, batch.completion_ids[..., None]).squeeze(-1)
    logprobs = torch.where(batch.completion_mask, token_logits - log_normalizer, torch.zeros_like(token_logits))
    entropies = None
    if with_entropy:
        with torch.no_grad():
            log_distribution = logits - log_normalizer[..., None]
            entropy = -(log_distribution.exp() * log_distribution).nan_to_num().sum(-1)
            entropies = torch.where(batch.completion_mask, entropy, torch.zeros_like(entropy))
    return logprobs, entropies
