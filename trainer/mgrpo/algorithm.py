"""The GRPO maths, as pure functions over tensors (TRL's GRPOTrainer names and semantics).

- group advantages: reward minus the group's mean, scaled by a std (+ 1e-4);
- the per-token clipped surrogate with ratio pi_theta / pi_old;
- the k3 estimate of KL(pi_theta || pi_ref);
- loss aggregation ("grpo", "bnpo", "dr_grpo") written as each micro-batch's share of the whole step's loss,
  so that summing the shares over micro-batches (and ranks) gives exactly the full-batch loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

ADVANTAGE_EPSILON = 1e-4


@dataclass
class GroupAdvantages:
    advantages: torch.Tensor  # [groups, group_size]
    group_mean: torch.Tensor  # [groups]
    group_std: torch.Tensor   # [groups], population std
    equal_groups: torch.Tensor  # [groups] bool: all rewards equal (no signal)


def group_advantages(rewards: torch.Tensor, scale_rewards: str = "group") -> GroupAdvantages:
    """Advantages for rewards shaped [groups, group_size].

    "group": (r - mean) / (std_group + 1e-4); "batch": (r - mean) / (std over all rewards + 1e-4); "none":
    r - mean. Stds are population stds (divide by n). A group whose rewards are all equal gets exactly 0."""
    if rewards.dim() != 2 or rewards.shape[1] < 1:
        raise ValueError(f"rewards must be [groups, group_size], got shape {tuple(rewards.shape)}")
    rewards = rewards.double()
    group_mean = rewards.mean(dim=1)
    group_std = rewards.std(dim=1, unbiased=False)
    equal_groups = (rewards == rewards[:, :1]).all(dim=1)
    centered = rewards - group_mean[:, None]
    if scale_rewards == "group":
        advantages = centered / (group_std[:, None] + ADVANTAGE_EPSILON)
    elif scale_rewards == "batch":
        advantages = centered / (rewards.std(unbiased=False) + ADVANTAGE_EPSILON)
    elif scale_rewards == "none":
        advantages = centered
    else:
        raise ValueError(f"scale_rewards must be group, batch or none, got {scale_rewards!r}")
    # Float rounding can leave tiny non-zeros in an equal group (e.g. 0.1 three times); they carry no signal.
    advantages = torch.where(equal_groups[:, None], torch.zeros_like(advantages), advantages)
    return GroupAdvantages(advantages.float(), group_mean.float(), group_std.float(), equal_groups)


def kl_k3(logprobs: torch.Tensor, ref_logprobs: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimate of KL(pi_theta || pi_ref): exp(ref - logp) - (ref - logp) - 1 (>= 0, unbiased)."""
    delta = ref_logprobs - logprobs
    return torch.exp(delta) - delta - 1


@dataclass
class SurrogateTerms:
    per_token_loss: torch.Tensor  # [B, C]: -min(ratio A, clip(ratio) A) (+ beta * kl when given)
    ratio: torch.Tensor           # [B, C]
    clipped: torch.Tensor         # [B, C] bool: the clip was active (low with A < 0, high with A > 0)


def clipped_surrogate(logprobs: torch.Tensor, old_logprobs: torch.Tensor, advantages: torch.Tensor,
                      epsilon_low: float, epsilon_high: float | None = None,
                      kl: torch.Tensor | None = None, beta: float = 0.0) -> SurrogateTerms:
    """Per-token PPO/GRPO loss for [B, C] log-probs and [B] advantages (one per completion)."""
    epsilon_high = epsilon_low if epsilon_high is None else epsilon_high
    ratio = torch.exp(logprobs - old_logprobs)
    advantage = advantages[:, None]
    unclipped = ratio * advantage
    clipped_objective = torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high) * advantage
    per_token_loss = -torch.min(unclipped, clipped_objective)
    if kl is not None and beta:
        per_token_loss = per_token_loss + beta * kl
    with torch.no_grad():
        clipped = ((ratio < 1 - epsilon_low) & (advantage < 0)) | ((ratio > 1 + epsilon_high) & (advantage > 0))
    return SurrogateTerms(per_token_loss, ratio.detach(), clipped)


def loss_share(per_token_loss: torch.Tensor, mask: torch.Tensor, loss_type: str, *, total_sequences: int,
               total_tokens: int, max_completion_length: int) -> torch.Tensor:
    """This micro-batch's share of the step loss; summing over all micro-batches gives:

    - "grpo": mean over completions of (mean over each completion's tokens);
    - "bnpo": sum over all tokens / number of tokens;
    - "dr_grpo": sum over all tokens / (completions x max_completion_length).
    ``total_*`` count the whole step (all micro-batches, all ranks)."""
    mask = mask.bool()
    masked = torch.where(mask, per_token_loss, torch.zeros_like(per_token_loss))
    if loss_type == "grpo":
        per_sequence = masked.sum(-1) / mask.sum(-1).clamp(min=1)
        return per_sequence.sum() / max(total_sequences, 1)
    if loss_type == "bnpo":
        return masked.sum() / max(total_tokens, 1)
    if loss_type == "dr_grpo":
        return masked.sum() / max(total_sequences * max_completion_length, 1)
    raise ValueError(f"loss_type must be grpo, bnpo or dr_grpo, got {loss_type!r}")


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> float | None:
    """Mean over real tokens, or None when there are none."""
    mask = mask.bool()
    count = int(mask.sum())
    if count == 0:
        return None
    return float(torch.where(mask, values, torch.zeros_like(values)).sum() / count)
