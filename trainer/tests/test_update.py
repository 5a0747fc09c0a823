"""Trainer.update on a real tiny model: how the two layers' samples are weighted in the loss."""

import io

import pytest
import torch

from conftest import tiny_config, write_config
from mgrpo.config import resolve_config
from mgrpo.protocol import Protocol
from mgrpo.trainer import Trainer, TrainingSample


def make_trainer(tmp_path, model_dir, **overrides) -> Trainer:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = resolve_config(write_config(tmp_path, tiny_config(model_dir, eval_size=0, **overrides)))
    trainer = Trainer(config, tmp_path / "run", Protocol(io.StringIO()))
    trainer.setup()
    return trainer


def gradients(trainer: Trainer) -> list[torch.Tensor]:
    return [p.grad.detach().clone() for p in trainer.model.parameters() if p.grad is not None]


FIRST = TrainingSample([5, 6, 7], [8, 9, 10], advantage=1.0)
CORRECTION = TrainingSample([5, 6, 7, 8, 9], [11, 12], advantage=-0.5)


def test_layer2_loss_weight_scales_corrections_and_keeps_normalisers(tmp_path, tiny_model_dir):
    # lr ~0 and beta 0: the update leaves the weights (almost) as they are, so three updates see the same model.
    trainer = make_trainer(tmp_path, tiny_model_dir, beta=0.0, learning_rate=1e-12, max_grad_norm=0.0,
                           micro_batch_size=1)
    # num_iterations 1: ratio 1, per-token loss -A; grpo: mean over completions of the per-token mean.
    update = trainer.update([FIRST, TrainingSample(**{**CORRECTION.__dict__, "loss_weight": 0.25})])
    assert update["loss"] == pytest.approx((-1.0 + 0.25 * 0.5) / 2, abs=1e-6)
    # Weight 0: the correction adds no gradient but still counts in the normaliser (2 completions).
    trainer.update([FIRST, TrainingSample(**{**CORRECTION.__dict__, "loss_weight": 0.0})])
    half = gradients(trainer)
    trainer.update([FIRST])
    alone = gradients(trainer)
    for with_zero, single in zip(half, alone):
        torch.testing.assert_close(with_zero * 2, single, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("loss_type, expected_loss, gradient_ratio", [
    # FIRST alone: 3 tokens of per-token loss -1 (ratio 1, beta 0, advantage 1). The truncated correction
    # (advantage -0.5, 2 tokens) is masked: it adds nothing to any numerator.
    ("grpo", (-1.0 + 0.0) / 2, 0.5),  # still one of 2 completions in the mean, as in TRL
    ("bnpo", -3.0 / 3, 1.0),  # one micro-batch: its 2 masked tokens leave the count (not -3 / 5)
    ("dr_grpo", -3.0 / (2 * 12), 0.5),  # 2 completions x max_completion_length 12
    ("dapo", -3.0 / 3, 1.0),  # the step's token count is 3, not 5
])
def test_a_truncated_completion_leaves_numerator_and_token_counts(tmp_path, tiny_model_dir, loss_type,
                                                                 expected_loss, gradient_ratio):
    trainer = make_trainer(tmp_path, tiny_model_dir, beta=0.0, learning_rate=1e-12, max_grad_norm=0.0,
                           micro_batch_size=2, loss_type=loss_type, shared_prefix_forward=False)
    truncated = TrainingSample(**{**CORRECTION.__dict__, "in_loss": False})
    update = trainer.update([FIRST, truncated])
    assert update["loss"] == pytest.approx(expected_loss, abs=1e-6)
    with_truncated = gradients(trainer)
    alone = trainer.update([FIRST])
    assert alone["loss"] == pytest.approx(-1.0 if loss_type != "dr_grpo" else -3.0 / 12, abs=1e-6)
    for masked, single in zip(with_truncated, gradients(trainer)):
        torch.testing.assert_close(masked, single * gradient_ratio, rtol=1e-5, atol=1e-7)


def test_correction_bonus_goes_to_i_to_c_advantages_of_wrong_parents_only():
    from mgrpo.trainer import apply_correction_bonus

    def group(parent_correct, corrects, advantages):
        return [{"parent_correct": parent_correct, "correct": c, "advantage": a} for c, a in zip(corrects, advantages)]

    records = group(False, [True, False], [1.0, -1.0]) + group(True, [True, False], [1.0, -1.0])
    apply_correction_bonus(records, 2, 0.3)
    assert [r["advantage"] for r in records] == pytest.approx([1.3, -1.0, 1.0, -1.0])


def test_shared_prefix_forward_gives_the_packed_update(tmp_path, tiny_model_dir):
    # Two groups of two completions sharing a prompt each, as layer 1 and layer 2 produce them.
    samples = [TrainingSample([5, 6, 7], [8, 9, 10], 1.0), TrainingSample([5, 6, 7], [11], -1.0),
               TrainingSample([5, 6, 7, 8, 9], [11, 12], 0.5, 0.5), TrainingSample([5, 6, 7, 8, 9], [13, 14, 15], -0.5, 0.5)]
    results = []
    for name, shared in (("packed", False), ("shared", True)):
        trainer = make_trainer(tmp_path / name, tiny_model_dir, beta=0.05, learning_rate=1e-12, micro_batch_size=3,
                               shared_prefix_forward=shared, loss_type="dapo")
        update = trainer.update(samples)
        results.append((update, gradients(trainer)))
    (packed, packed_grads), (shared, shared_grads) = results
    assert shared["loss"] == pytest.approx(packed["loss"], rel=1e-5)
    assert shared["kl"] == pytest.approx(packed["kl"], rel=1e-4, abs=1e-9)
    for a, b in zip(shared_grads, packed_grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-7)
