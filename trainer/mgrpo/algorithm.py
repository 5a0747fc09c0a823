"""The GRPO maths, as pure functions over tensors (TRL's GRPOTrainer names and semantics).

- group advantages: reward minus the group's mean, scaled by a std (+ 1e-4);
- the per-token clipped surrogate with ratio pi_theta / pi_old;
- the k3 estimate of KL(pi_theta || pi_ref);
- loss aggregation with TRL 1.16's names and definitions ("grpo", "bnpo", "dr_grpo", "dapo"), written as each
  micro-batch's share of the whole step's loss, so that summing the shares over micro-batches (and ranks) gives
  exactly the loss TRL would compute for the same micro-batches.

Group std: the population std (divide by n), where TRL uses Bessel's correction (n - 1). Both only rescale a
group's advantages, by sqrt((n - 1) / n) (0.87 at n = 4); the population std is the one for which a group's
advantages have unit variance exactly, so 0/1 rewards with k of n right give +-sqrt((n - k) / k) and
+-sqrt(k / (n - k)), and a group of 2 gives exactly +-1 rather than +-0.71. Comparing learning rates with TRL
runs: ours is TRL's lr x sqrt((n - 1) / n) at scale_rewards "group".
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


def group_advantages(rewards: torch.Tensor, scale_rewards: str = "group",
                     batch_std: float | None = None) -> GroupAdvantages:
    """Advantages for rewards shaped [groups, group_size].

    "group": (r - mean) / (std_group + 1e-4); "batch": (r - mean) / (std over all rewards + 1e-4), where
    ``batch_std`` gives that std when the batch is wider than ``rewards`` (all ranks); "none": r - mean. Stds are
    population stds (divide by n). A group whose rewards are all equal gets exactly 0."""
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
        std = rewards.std(unbiased=False) if batch_std is None else torch.tensor(batch_std, dtype=torch.float64)
        advantages = centered / (std + ADVANTAGE_EPSILON)
    elif scale_rewards == "none":
        advantages = centered
    else:
        raise ValueError(f"scale_rewards must be group, batch or none, got {scale_rewards!r}")
    # Float rounding can leave tiny non-zeros in an equal group (e.g. 0.1 three times); they carry no signal.
    advantages = torch.where(equal_groups[:, None], torch.zeros_like(advantages), advantages)
    return GroupAdvantages(advantages.float(), group_mean.float(), group_std.float(), equal_groups)


def population_std(count: float, total: float, total_squares: float) -> float:
    """Population std from a count, sum and sum of squares (what ranks can add up)."""
    if count <= 0:
        return 0.0
    mean = total / count
    return max(0.0, total_squares / count - mean * mean) ** 0.5


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


LOSS_TYPES = ("grpo", "bnpo", "dr_grpo", "dapo")


def loss_mask(completion_mask: torch.Tensor, in_loss: torch.Tensor) -> torch.Tensor:
    """The tokens the loss sees: the completion mask [B, T] with the rows of completions left out of the loss
    (``in_loss`` [B] False: mask_truncated_completions) cleared. TRL 1.x does the same
    (``completion_mask * (~is_truncated).unsqueeze(1)``) before both the loss and ``num_items_in_batch``, so
    such tokens leave the numerator and every token count: bnpo's per-micro-batch count and dapo's step total.
    The completion counts of grpo (mean over completions) and dr_grpo (completions x max length) still
    include them, as TRL's ``.mean()`` and ``per_token_loss.size(0)`` do."""
    return completion_mask.bool() & in_loss.bool()[:, None]


def loss_share(per_token_loss: torch.Tensor, mask: torch.Tensor, loss_type: str, *, total_sequences: int,
               total_tokens: int, max_completion_length: int, total_micro_batches: int = 1,
               sequence_weights: torch.Tensor | None = None) -> torch.Tensor:
    """This micro-batch's share of the step loss. Summed over all micro-batches (all ranks) it is TRL's loss:

    - "grpo": mean over completions of (mean over each completion's tokens) (for equal micro-batches;
      TRL averages per-micro-batch means, we weight every completion equally when the last one is short);
    - "bnpo": mean over micro-batches of (sum over the micro-batch's tokens / its number of tokens): each
      micro-batch is token-normalised on its own, so the result depends on how the step is cut;
    - "dr_grpo": sum over all tokens / (completions x max_completion_length);
    - "dapo": sum over all tokens of the step / number of tokens of the step (TRL normalises by
      ``num_items_in_batch``, the tokens of the whole generation batch on all processes).
    ``total_*`` count the whole step (all micro-batches, all ranks); ``total_tokens`` counts the tokens in the
    loss mask (``loss_mask``), ``total_sequences`` every completion. ``sequence_weights`` [B] multiplies each
    completion's per-token losses (e.g. ``layer2_loss_weight``); the normalisers still count every token and
    completion, so a weight of 1 everywhere is the plain loss."""
    mask = mask.bool()
    if sequence_weights is not None:
        per_token_loss = per_token_loss * sequence_weights.to(per_token_loss.dtype)[:, None]
    masked = torch.where(mask, per_token_loss, torch.zeros_like(per_token_loss))
    if loss_type == "grpo":
        per_sequence = masked.sum(-1) / mask.sum(-1).clamp(min=1)
        return per_sequence.sum() / max(total_sequences, 1)
    if loss_type == "bnpo":
        return masked.sum() / mask.sum().clamp(min=1) / max(total_micro_batches, 1)
    if loss_type == "dr_grpo":
        return masked.sum() / max(total_sequences * max_completion_length, 1)
    if loss_type == "dapo":
        return masked.sum() / max(total_tokens, 1)
    raise ValueError(f"loss_type must be one of {', '.join(LOSS_TYPES)}, got {loss_type!r}")


def add_correction_bonus(advantages: list[float], parent_correct: bool, corrections_correct: list[bool],
                         bonus: float) -> list[float]:
    """Advantages of one layer-2 group with ``bonus`` added to each correction that turns a wrong parent right.

    Added after group normalisation on purpose: every member of a layer-2 group shares its parent, so a reward
    bonus for i->c is an affine function of the 0/1 reward inside the group and (r - mean) / std removes it.
    In advantage units it survives: with the default group scaling, advantages are of order 1."""
    if len(advantages) != len(corrections_correct):
        raise ValueError(f"{len(advantages)} advantages for {len(corrections_correct)} corrections")
    if parent_correct or not bonus:
        return list(advantages)
    return [value + bonus if correct else value for value, correct in zip(advantages, corrections_correct)]


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> float | None:
    """Mean over real tokens, or None when there are none."""
    mask = mask.bool()
    count = int(mask.sum())
    if count == 0:
        return None
    return float(torch.where(mask, values, torch.zeros_like(values)).sum() / count)
