"""Precision and optimisation: float32 master weights under bf16 compute, no decay on norms and biases,
transformers' warm-up, skipped steps on non-finite gradients, dropout off, token-bounded micro-batches."""

import math

import pytest
import torch

from mgrpo import optim
from mgrpo.policy import compute_dtype, disable_dropout, load_policy
from mgrpo.scoring import plan_micro_batches
from test_update import FIRST, CORRECTION, make_trainer


@pytest.mark.parametrize("kind", ["constant", "linear", "cosine"])
def test_schedule_equals_transformers(kind):
    from transformers import (get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup,
                              get_linear_schedule_with_warmup)

    warmup, total = 3, 10
    ours = optim.lr_lambda({"warmup_steps": warmup, "max_steps": total, "lr_scheduler_type": kind})
    parameter = torch.nn.Parameter(torch.zeros(1))
    reference_optimizer = torch.optim.SGD([parameter], lr=1.0)
    schedule = {"constant": lambda o: get_constant_schedule_with_warmup(o, warmup),
                "linear": lambda o: get_linear_schedule_with_warmup(o, warmup, total),
                "cosine": lambda o: get_cosine_schedule_with_warmup(o, warmup, total)}[kind](reference_optimizer)
    expected = []
    for _ in range(total):
        expected.append(schedule.get_last_lr()[0])
        reference_optimizer.step()
        schedule.step()
    assert [ours(step) for step in range(total)] == pytest.approx(expected, abs=1e-12)
    assert ours(0) == 0.0  # the first optimizer step is at lr 0
    assert ours(1) == pytest.approx(1 / 3)


def test_no_weight_decay_on_norms_and_biases(tiny_qwen2_policy):
    model, _ = tiny_qwen2_policy
    decayed, not_decayed = optim.parameter_groups(model, 0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    decayed_names = {names[id(p)] for p in decayed["params"]}
    plain_names = {names[id(p)] for p in not_decayed["params"]}
    assert decayed["weight_decay"] == 0.1 and not_decayed["weight_decay"] == 0.0
    # Qwen2 has q/k/v biases and RMSNorm weights: none decayed; every projection matrix decayed.
    assert any(n.endswith("q_proj.bias") for n in plain_names) and any("norm" in n for n in plain_names)
    assert not any(n.endswith(".bias") or "norm" in n for n in decayed_names)
    assert any(n.endswith("q_proj.weight") for n in decayed_names)
    assert len(decayed_names) + len(plain_names) == len(list(model.parameters()))


def test_optimizer_refuses_bf16_trainable_weights():
    layer = torch.nn.Linear(2, 2).bfloat16()
    with pytest.raises(ValueError, match="float32 master weights"):
        optim.build_optimizer(layer, 1e-6, 0.0)


def test_bf16_compute_keeps_float32_master_weights_that_move_at_lr_1e_6(tmp_path, tiny_qwen2_dir):
    trainer = make_trainer(tmp_path, tiny_qwen2_dir, dtype="bfloat16", learning_rate=1e-6, beta=0.0,
                           warmup_steps=0, max_grad_norm=0.0, max_prompt_length=512)
    assert trainer.compute_dtype == torch.bfloat16
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.update([FIRST, CORRECTION])
    changed = sum(int((p.detach() != before[n]).sum()) for n, p in trainer.model.named_parameters())
    with_grad = sum(int((p.grad != 0).sum()) for p in trainer.model.parameters() if p.grad is not None)
    # AdamW's first step moves every weight with a non-zero gradient by ~lr: visible in float32, not in bf16.
    assert with_grad > 1000 and changed >= 0.99 * with_grad
    # The same step applied to bf16 weights is lost to rounding for almost every weight.
    kept = sum(int(((before[n].bfloat16().float() + (p.detach() - before[n])).bfloat16() != before[n].bfloat16()).sum())
               for n, p in trainer.model.named_parameters())
    assert kept < 0.1 * changed


def test_non_finite_gradient_skips_the_step_with_a_warning(tmp_path, tiny_model_dir):
    trainer = make_trainer(tmp_path, tiny_model_dir, beta=0.0, warmup_steps=0)
    events = trainer.protocol._out
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    poisoned = type(FIRST)(FIRST.prompt_ids, FIRST.completion_ids, advantage=float("nan"))
    update = trainer.update([poisoned, CORRECTION])
    assert update["skipped_optimizer_steps"] == 1 and update["grad_norm"] is None
    for name, parameter in trainer.model.named_parameters():
        assert torch.equal(parameter.detach(), before[name]), name
    assert not trainer.optimizer.state, "AdamW moments untouched"
    assert '"event": "warning"' in events.getvalue() and "optimizer step skipped" in events.getvalue()
    assert trainer.update([FIRST])["skipped_optimizer_steps"] == 0  # the next finite step goes through


def test_clip_and_step_hand_norm():
    parameter = torch.nn.Parameter(torch.zeros(2))
    parameter.grad = torch.tensor([3.0, 4.0])
    sgd = torch.optim.SGD([parameter], lr=1.0)
    outcome = optim.clip_and_step(sgd, [parameter], 1.0)
    assert outcome.stepped and outcome.grad_norm == pytest.approx(5.0)
    assert parameter.detach().tolist() == pytest.approx([-0.6, -0.8])  # clipped to norm 1
    parameter.grad = torch.tensor([math.inf, 0.0])
    assert not optim.clip_and_step(sgd, [parameter], 1.0).stepped and parameter.grad is None


def test_dropout_is_off_after_load(tmp_path):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from mgrpo.char_tokenizer import save_char_tokenizer

    tokenizer = save_char_tokenizer(tmp_path)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, attention_dropout=0.5,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    Qwen2ForCausalLM(config).save_pretrained(tmp_path)
    model, _ = load_policy(str(tmp_path), torch.device("cpu"))
    assert model.training and model.config.attention_dropout == 0.0
    ids = torch.tensor([[1, 2, 3, 4, 5, 6]])
    torch.testing.assert_close(model(ids).logits, model(ids).logits, rtol=0, atol=0)  # train mode, same output


def test_disable_dropout_zeroes_dropout_modules():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.3))
    disable_dropout(model)
    assert model[1].p == 0.0


def test_compute_dtype_choices():
    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert compute_dtype("auto", cpu) == torch.float32 and compute_dtype("auto", cuda) == torch.bfloat16
    assert compute_dtype("bfloat16", cpu) == torch.bfloat16 and compute_dtype("float32", cuda) == torch.float32
    with pytest.raises(ValueError, match="dtype"):
        compute_dtype("float16", cpu)


def test_micro_batches_by_rows_and_padded_tokens():
    lengths = [(10, 5), (10, 5), (20, 5), (4, 2), (100, 50)]
    assert plan_micro_batches(lengths, max_rows=2) == [[0, 1], [2, 3], [4]]
    # 2 rows x 15 = 30 fits in 40; adding (20, 5) makes 3 x 25 = 75 > 40; then 25 alone, + (4, 2): 2 x 25 = 50.
    assert plan_micro_batches(lengths, max_rows=8, max_tokens=40) == [[0, 1], [2], [3], [4]]
    assert plan_micro_batches(lengths, max_rows=8, max_tokens=10_000) == [[0, 1, 2, 3, 4]]
    with pytest.raises(ValueError, match="max_rows"):
        plan_micro_batches(lengths, max_rows=0)


def test_token_micro_batches_and_gradient_checkpointing_give_the_same_update(tmp_path, tiny_qwen2_dir):
    samples = [FIRST, CORRECTION, FIRST, CORRECTION]
    grads = []
    for name, options in (("plain", {}), ("tokens", {"micro_batch_tokens": 12}),
                          ("checkpointing", {"gradient_checkpointing": True})):
        trainer = make_trainer(tmp_path / name, tiny_qwen2_dir, beta=0.04, learning_rate=1e-12,
                               max_prompt_length=512, **options)
        trainer.update(samples)
        grads.append([p.grad.clone() for p in trainer.model.parameters()])
    for other in grads[1:]:
        for a, b in zip(grads[0], other):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-7)


def test_shared_prefix_batches_follow_prompt_groups_rows_and_tokens():
    from mgrpo.scoring import plan_shared_prefix_batches

    prompts = [[1, 2]] * 3 + [[3]] * 2 + [[1, 2]]
    lengths = [4, 4, 4, 2, 2, 4]
    assert plan_shared_prefix_batches(prompts, lengths, max_rows=8) == [[0, 1, 2], [3, 4], [5]]
    assert plan_shared_prefix_batches(prompts, lengths, max_rows=2) == [[0, 1], [2], [3, 4], [5]]
    # 2 prompt tokens + 2 rows x 4 = 10 fits in 10; a third row would need 14.
    assert plan_shared_prefix_batches(prompts, lengths, max_rows=8, max_tokens=10) == [[0, 1], [2], [3, 4], [5]]
