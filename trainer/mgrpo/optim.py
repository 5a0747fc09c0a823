"""The optimizer side of an update: AdamW parameter groups, the learning-rate schedule, and a step that is
skipped when the gradient is not finite.

Names and conventions follow transformers' Trainer so numbers carry over: no weight decay on biases and
normalisation weights, and warm-up that starts at learning rate 0 (``get_*_schedule_with_warmup``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Two AdamW groups of the trainable parameters: matrices (decayed) and vectors (biases, norm weights, not
    decayed: shrinking a norm's gain or a bias towards 0 is not regularisation, it changes the function)."""
    decayed, not_decayed = [], []
    for parameter in model.parameters():
        if parameter.requires_grad:
            (decayed if parameter.dim() >= 2 else not_decayed).append(parameter)
    return [{"params": decayed, "weight_decay": weight_decay}, {"params": not_decayed, "weight_decay": 0.0}]


def build_optimizer(model: torch.nn.Module, learning_rate: float, weight_decay: float) -> torch.optim.Optimizer:
    for parameter in model.parameters():
        if parameter.requires_grad and parameter.dtype != torch.float32:
            # AdamW on bf16 weights loses every update smaller than the weight's bf16 step (at lr 1e-6,
            # all of them): the trainer keeps float32 master weights and computes in bf16 instead.
            raise ValueError(f"trainable parameter in {parameter.dtype}: the optimizer needs float32 master weights")
    return torch.optim.AdamW(parameter_groups(model, weight_decay), lr=learning_rate)


def lr_lambda(config: dict):
    """The factor on the peak learning rate at optimizer step ``step`` (0-based), exactly as transformers'
    get_constant/linear/cosine_schedule_with_warmup: warm-up ``step / warmup`` (so the first step is at lr 0),
    then constant, linear decay to 0 at max_steps, or a half cosine to 0 at max_steps."""
    warmup, total, kind = config["warmup_steps"], max(1, config["max_steps"]), config["lr_scheduler_type"]

    def factor(step: int) -> float:
        if step < warmup:
            return step / max(1, warmup)
        if kind == "constant":
            return 1.0
        progress = (step - warmup) / max(1, total - warmup)
        if kind == "linear":
            return max(0.0, 1.0 - progress)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))

    return factor


@dataclass
class StepOutcome:
    grad_norm: float  # before clipping; inf or nan when the step was skipped
    stepped: bool


def clip_and_step(optimizer: torch.optim.Optimizer, parameters, max_grad_norm: float) -> StepOutcome:
    """Clip the global gradient norm (0: no clipping, norm still measured) and take the optimizer step, unless
    the norm is NaN or infinite: then the gradients are dropped and the weights and AdamW moments stay as they
    were (one bad batch must not poison the moments for the rest of the run)."""
    parameters = [p for p in parameters if p.grad is not None]
    max_norm = max_grad_norm if max_grad_norm > 0 else float("inf")
    norm = float(torch.nn.utils.clip_grad_norm_(parameters, max_norm)) if parameters else 0.0
    if not math.isfinite(norm):
        optimizer.zero_grad(set_to_none=True)
        return StepOutcome(norm, False)
    optimizer.step()
    return StepOutcome(norm, True)
