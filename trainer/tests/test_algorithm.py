"""The GRPO maths against hand computations."""

import math

import pytest
import torch

from mgrpo.algorithm import (add_correction_bonus, clipped_surrogate, group_advantages, kl_k3, loss_mask, loss_share,
                             masked_mean)


def test_group_advantages_hand_computed():
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0]])
    result = group_advantages(rewards, "group")
    assert result.group_mean.tolist() == pytest.approx([0.5, 1.0, 0.25])
    # population std: group 2 is sqrt(0.25 * 0.75) = sqrt(3) / 4
    assert result.group_std.tolist() == pytest.approx([0.5, 0.0, math.sqrt(3) / 4])
    assert result.advantages[0].tolist() == pytest.approx([0.5 / 0.5001, -0.5 / 0.5001, -0.5 / 0.5001, 0.5 / 0.5001])
    assert result.advantages[1].tolist() == [0.0, 0.0, 0.0, 0.0]
    std2 = math.sqrt(3) / 4 + 1e-4
    assert result.advantages[2].tolist() == pytest.approx([-0.25 / std2] * 3 + [0.75 / std2])
    assert result.equal_groups.tolist() == [False, True, False]


def test_all_equal_groups_get_exactly_zero_even_with_rounding():
    rewards = torch.tensor([[0.1, 0.1, 0.1], [0.0, 0.0, 0.0]])
    for scale in ("group", "batch", "none"):
        assert group_advantages(rewards, scale).advantages.abs().max().item() == 0.0


def test_batch_and_none_scaling():
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0]])
    batch_std = math.sqrt((7 / 12) * (5 / 12))  # 7 ones among 12 rewards, population std
    batch = group_advantages(rewards, "batch").advantages
    assert batch[0, 0].item() == pytest.approx(0.5 / (batch_std + 1e-4))
    assert batch[2, 3].item() == pytest.approx(0.75 / (batch_std + 1e-4))
    none = group_advantages(rewards, "none").advantages
    assert none[2].tolist() == pytest.approx([-0.25, -0.25, -0.25, 0.75])
    with pytest.raises(ValueError, match="scale_rewards"):
        group_advantages(rewards, "median")


def test_clipped_surrogate_four_cases():
    # tokens: ratio 1.5 and 0.5, each with advantage +1 and -1
    ratios = torch.tensor([[1.5], [1.5], [0.5], [0.5]])
    advantages = torch.tensor([1.0, -1.0, 1.0, -1.0])
    logprobs = torch.log(ratios).requires_grad_(True)
    terms = clipped_surrogate(logprobs, torch.zeros_like(logprobs), advantages, 0.2)
    # ratio 1.5, A>0: clipped at 1.2; ratio 1.5, A<0: unclipped -1.5 is the min;
    # ratio 0.5, A>0: unclipped 0.5 is the min; ratio 0.5, A<0: clipped at 0.8.
    assert terms.per_token_loss[:, 0].tolist() == pytest.approx([-1.2, 1.5, -0.5, 0.8])
    assert terms.clipped[:, 0].tolist() == [True, False, False, True]
    terms.per_token_loss.sum().backward()
    # d(-ratio * A)/d logp = -ratio * A where unclipped, 0 where the clip is active
    assert logprobs.grad[:, 0].tolist() == pytest.approx([0.0, 1.5, -0.5, 0.0])


def test_clip_higher_and_kl_term():
    logprobs = torch.log(torch.tensor([[1.25]]))
    terms = clipped_surrogate(logprobs, torch.zeros_like(logprobs), torch.tensor([1.0]), 0.2, epsilon_high=0.28)
    assert terms.per_token_loss.item() == pytest.approx(-1.25) and not terms.clipped.item()
    kl = torch.tensor([[0.5]])
    with_kl = clipped_surrogate(logprobs, torch.zeros_like(logprobs), torch.tensor([1.0]), 0.2, 0.28, kl=kl, beta=0.1)
    assert with_kl.per_token_loss.item() == pytest.approx(-1.25 + 0.05)


def test_kl_k3_hand_value_and_unbiasedness():
    value = kl_k3(torch.tensor(math.log(0.5)), torch.tensor(math.log(0.25)))
    # ref - logp = log 0.5: 0.5 - log 0.5 - 1
    assert value.item() == pytest.approx(0.5 - math.log(0.5) - 1)
    assert kl_k3(torch.tensor(-1.3), torch.tensor(-1.3)).item() == 0.0
    # Its expectation under pi is KL(pi || ref).
    p = torch.tensor([0.7, 0.2, 0.1])
    q = torch.tensor([0.5, 0.3, 0.2])
    expected = (p * kl_k3(p.log(), q.log())).sum().item()
    assert expected == pytest.approx((p * (p / q).log()).sum().item(), rel=1e-5)
    assert (kl_k3(torch.randn(100), torch.randn(100)) >= 0).all()


def test_loss_aggregation_and_micro_batch_shares():
    loss = torch.tensor([[1.0, 2.0, 3.0], [4.0, float("nan"), float("nan")], [1.0, 1.0, 0.0]])
    mask = torch.tensor([[1, 1, 1], [1, 0, 0], [1, 1, 0]], dtype=torch.bool)
    totals = dict(total_sequences=3, total_tokens=6, max_completion_length=4)
    # grpo: mean of per-sequence means (2, 4, 1) -> 7/3; bnpo and dapo in one micro-batch: 12/6;
    # dr_grpo: 12/(3*4)
    expected = {"grpo": 7 / 3, "bnpo": 2.0, "dr_grpo": 1.0, "dapo": 2.0}
    for loss_type, value in expected.items():
        full = loss_share(loss, mask, loss_type, **totals)
        assert full.item() == pytest.approx(value)  # NaN in padding never leaks
    # Cut into micro-batches [rows 0, 1] and [row 2]: grpo, dr_grpo and dapo are unchanged (they normalise by
    # step totals); TRL's bnpo token-normalises each micro-batch, then averages: ((6 + 4) / 4 + 2 / 2) / 2.
    split_expected = {"grpo": 7 / 3, "bnpo": (10 / 4 + 2 / 2) / 2, "dr_grpo": 1.0, "dapo": 2.0}
    for loss_type, value in split_expected.items():
        shares = [loss_share(loss[rows], mask[rows], loss_type, total_micro_batches=2, **totals)
                  for rows in (slice(0, 2), slice(2, 3))]
        assert sum(shares).item() == pytest.approx(value), loss_type
    with pytest.raises(ValueError, match="loss_type"):
        loss_share(loss, mask, "sum", **totals)


def test_loss_types_match_trl_formulas_on_one_micro_batch():
    """TRL 1.16 grpo_trainer._compute_loss with gradient accumulation 1, written out."""
    torch.manual_seed(0)
    per_token = torch.randn(4, 5)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 0, 0]], dtype=torch.bool)
    m = mask.float()
    trl = {
        "grpo": ((per_token * m).sum(-1) / m.sum(-1).clamp(min=1.0)).mean(),
        "bnpo": (per_token * m).sum() / m.sum().clamp(min=1.0),
        "dr_grpo": (per_token * m).sum() / (per_token.size(0) * 7),
        "dapo": (per_token * m).sum() / m.sum().clamp(min=1.0),
    }
    for loss_type, value in trl.items():
        ours = loss_share(per_token, mask, loss_type, total_sequences=4, total_tokens=11, max_completion_length=7)
        assert ours.item() == pytest.approx(value.item(), rel=1e-6), loss_type


def test_sequence_weights_scale_only_their_completions():
    # Two completions, losses 2 (2 tokens of 1) and 6 (2 tokens of 3); the second is a layer-2 sample, weight 0.25.
    loss = torch.tensor([[1.0, 1.0], [3.0, 3.0]])
    mask = torch.ones(2, 2, dtype=torch.bool)
    weights = torch.tensor([1.0, 0.25])
    totals = dict(total_sequences=2, total_tokens=4, max_completion_length=2)
    # grpo: (1 + 0.25 * 3) / 2; dapo: (2 + 0.25 * 6) / 4; normalisers still count both completions.
    assert loss_share(loss, mask, "grpo", sequence_weights=weights, **totals).item() == pytest.approx(0.875)
    assert loss_share(loss, mask, "dapo", sequence_weights=weights, **totals).item() == pytest.approx(0.875)
    assert loss_share(loss, mask, "dr_grpo", sequence_weights=weights, **totals).item() == pytest.approx(3.5 / 4)
    # weight 1 everywhere is the plain loss
    plain = loss_share(loss, mask, "grpo", **totals)
    assert loss_share(loss, mask, "grpo", sequence_weights=torch.ones(2), **totals).item() == plain.item() == 2.0


def test_truncated_completions_leave_the_loss_mask_as_in_trl():
    # Three completions; the second (losses 5, 5, 5) hit max_completion_length and is masked
    # (mask_truncated_completions). In the loss: 1+2+3 = 6 over 3 tokens, 2+2 = 4 over 2 tokens; 5 tokens in all.
    loss = torch.tensor([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0], [2.0, 2.0, float("nan")]])
    completion_mask = torch.tensor([[1, 1, 1], [1, 1, 1], [1, 1, 0]], dtype=torch.bool)
    mask = loss_mask(completion_mask, torch.tensor([True, False, True]))
    assert mask.tolist() == [[True] * 3, [False] * 3, [True, True, False]]
    totals = dict(total_sequences=3, total_tokens=5, max_completion_length=4)
    # grpo: per-completion means 2, 0 (masked: 0 / max(0, 1)), 2 over 3 completions, as TRL's .mean() counts it;
    # bnpo and dapo: 10 / 5 (the 3 masked tokens are out of the count; counting them gave 10 / 8);
    # dr_grpo: 10 / (3 completions x 4), TRL's per_token_loss.size(0) x max_completion_length.
    expected = {"grpo": 4 / 3, "bnpo": 2.0, "dr_grpo": 10 / 12, "dapo": 2.0}
    for loss_type, value in expected.items():
        assert loss_share(loss, mask, loss_type, **totals).item() == pytest.approx(value), loss_type
    # TRL 1.x written out: completion_mask * (~is_truncated), then its four formulas (gradient accumulation 1).
    m = (completion_mask & torch.tensor([True, False, True])[:, None]).float()
    safe = torch.nan_to_num(loss)
    trl = {"grpo": ((safe * m).sum(-1) / m.sum(-1).clamp(min=1.0)).mean(),
           "bnpo": (safe * m).sum() / m.sum().clamp(min=1.0),
           "dr_grpo": (safe * m).sum() / (safe.size(0) * 4),
           "dapo": (safe * m).sum() / m.sum().clamp(min=1.0)}
    for loss_type, value in trl.items():
        assert loss_share(loss, mask, loss_type, **totals).item() == pytest.approx(value.item()), loss_type
    # bnpo cut into three micro-batches, one per completion: (6/3 + 0 + 4/2) / 3; the masked one adds 0.
    shares = [loss_share(loss[i:i + 1], mask[i:i + 1], "bnpo", total_micro_batches=3, **totals) for i in range(3)]
    assert sum(shares).item() == pytest.approx(4 / 3)


def test_correction_bonus_survives_group_normalisation():
    # A wrong parent, corrections right/wrong/right/wrong: group advantages +-1 (population std 0.5).
    rewards = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    with_reward_bonus = group_advantages(rewards * 1.5, "group").advantages  # bonus 0.5 on the reward ...
    plain = group_advantages(rewards, "group").advantages
    assert with_reward_bonus[0].tolist() == pytest.approx(plain[0].tolist(), abs=1e-3)  # ... is cancelled
    advantages = plain[0].tolist()
    bonused = add_correction_bonus(advantages, False, [True, False, True, False], 0.5)
    assert bonused == pytest.approx([a + b for a, b in zip(advantages, [0.5, 0.0, 0.5, 0.0])])
    assert add_correction_bonus(advantages, True, [True, False, True, False], 0.5) == advantages
    with pytest.raises(ValueError, match="4 advantages for 3"):
        add_correction_bonus(advantages, False, [True, False, True], 0.5)


def test_masked_mean():
    assert masked_mean(torch.tensor([[1.0, 3.0, 100.0]]), torch.tensor([[1, 1, 0]])) == 2.0
    assert masked_mean(torch.tensor([[1.0]]), torch.tensor([[0]])) is None


def test_batch_std_from_all_ranks():
    from mgrpo.algorithm import population_std

    # Rank 0 holds [[1, 0]], rank 1 [[1, 1]]: the batch std is that of (1, 0, 1, 1) = sqrt(3/4 * 1/4).
    count, total, squares = 4, 3.0, 3.0
    std = population_std(count, total, squares)
    assert std == pytest.approx(math.sqrt(3) / 4)
    local = group_advantages(torch.tensor([[1.0, 0.0]]), "batch", batch_std=std).advantages
    assert local[0].tolist() == pytest.approx([0.5 / (std + 1e-4), -0.5 / (std + 1e-4)])
    assert population_std(0, 0.0, 0.0) == 0.0
