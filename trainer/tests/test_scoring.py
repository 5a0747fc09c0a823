"""Scoring without full-vocabulary float32 copies: the chunked chosen-token log-softmax and logits_to_keep give
the same values and gradients as the plain full-logit computation."""

import pytest
import torch

from mgrpo import sampling, scoring


def full_logit_logprobs(model, batch, temperature):
    """The straightforward reference: every position's logits, float32 log_softmax over the whole vocabulary."""
    logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                   position_ids=batch.position_ids, use_cache=False).logits
    width = batch.completion_ids.shape[1]
    logits = logits[:, batch.prompt_width - 1:batch.prompt_width - 1 + width, :].float() / temperature
    log_distribution = torch.log_softmax(logits, dim=-1)
    chosen = log_distribution.gather(-1, batch.completion_ids[..., None]).squeeze(-1)
    entropy = -(log_distribution.exp() * log_distribution).sum(-1)
    zeros = torch.zeros_like(chosen)
    return torch.where(batch.completion_mask, chosen, zeros), torch.where(batch.completion_mask, entropy, zeros)


def test_chosen_token_logprobs_values_and_gradcheck(monkeypatch):
    monkeypatch.setattr(scoring, "CHUNK_ELEMENTS", 14)  # 2 rows of 7 per chunk: chunk edges are exercised
    torch.manual_seed(0)
    logits = torch.randn(5, 7, dtype=torch.float64, requires_grad=True)
    ids = torch.tensor([0, 6, 3, 3, 1])
    expected = torch.log_softmax(logits.detach() / 0.7, -1).gather(-1, ids[:, None]).squeeze(-1)
    assert scoring.chosen_token_logprobs(logits, ids, 0.7).tolist() == pytest.approx(expected.tolist(), abs=1e-6)

    def double_precision(x):  # gradcheck needs float64 all through; our output is float32 by design
        return scoring._ChosenTokenLogprob.apply(x, ids, 0.7).double()

    # Hand value of the backward: d logp / d logits = (onehot - softmax) / T.
    scoring.chosen_token_logprobs(logits, ids, 0.7).sum().backward()
    softmax = torch.softmax(logits.detach() / 0.7, -1)
    onehot = torch.nn.functional.one_hot(ids, 7).double()
    torch.testing.assert_close(logits.grad, (onehot - softmax) / 0.7, rtol=1e-5, atol=1e-6)
    assert torch.autograd.gradcheck(double_precision, (logits,), eps=1e-3, atol=1e-3)


def test_bf16_logits_get_bf16_gradients_and_float32_values():
    logits = torch.randn(3, 11).bfloat16().requires_grad_(True)
    ids = torch.tensor([1, 2, 3])
    values = scoring.chosen_token_logprobs(logits, ids)
    assert values.dtype == torch.float32
    values.sum().backward()
    assert logits.grad.dtype == torch.bfloat16


@pytest.mark.parametrize("fixture", ["tiny_policy", "tiny_qwen2_policy"])
def test_logits_to_keep_scoring_equals_full_logit_scoring(fixture, request, monkeypatch):
    model, tokenizer = request.getfixturevalue(fixture)
    monkeypatch.setattr(scoring, "CHUNK_ELEMENTS", 3 * model.config.vocab_size)  # several chunks per batch
    prompts = ["Q: 1+2\n", "Q: 3*4-5+6\n", "Q: 9\n"] * 2
    completions = sampling.generate(model, tokenizer, prompts, max_new_tokens=10, temperature=0.9,
                                    generator=torch.Generator().manual_seed(2))
    batch = scoring.pack([c.prompt_ids for c in completions], [c.completion_ids for c in completions],
                         tokenizer.pad_token_id)
    ours, our_entropy = scoring.completion_logprobs(model, batch, 0.9, with_entropy=True)
    model.zero_grad()
    ours.sum().backward()
    our_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    expected, expected_entropy = full_logit_logprobs(model, batch, 0.9)
    expected.sum().backward()
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(our_entropy, expected_entropy, rtol=1e-5, atol=1e-5)
    for ours_grad, parameter in zip(our_grads, model.parameters()):
        torch.testing.assert_close(ours_grad, parameter.grad, rtol=1e-4, atol=1e-6)
    model.zero_grad()
    # and the sampler's own log-probs (logits_to_keep=1 there) agree with both
    for row, completion in enumerate(completions):
        n = len(completion.completion_ids)
        assert expected[row, :n].tolist() == pytest.approx(completion.token_logprobs, abs=1e-4)


@pytest.mark.parametrize("fixture", ["tiny_policy", "tiny_qwen2_policy"])
def test_shared_prefix_scoring_equals_packed_scoring_values_and_gradients(fixture, request):
    model, tokenizer = request.getfixturevalue(fixture)
    prompt = tokenizer("Q: 3*4-5+6\n")["input_ids"]
    completions = [c.completion_ids for c in sampling.generate(
        model, tokenizer, prompt_ids=[prompt] * 4, max_new_tokens=9, temperature=1.0,
        generator=torch.Generator().manual_seed(4))]
    completions[1] = completions[1][:1]  # one completion of a single token: padding on the right is exercised
    packed = scoring.pack([prompt] * 4, completions, tokenizer.pad_token_id)
    shared = scoring.pack_shared_prefix(prompt, completions, tokenizer.pad_token_id)
    results = []
    for batch in (packed, shared):
        model.zero_grad()
        logprobs, entropies = scoring.completion_logprobs(model, batch, 0.8, with_entropy=True)
        (logprobs * torch.linspace(0.5, 2.0, logprobs.shape[1])).sum().backward()
        results.append((logprobs.detach(), entropies, [p.grad.clone() for p in model.parameters()]))
    model.zero_grad()
    (packed_lp, packed_entropy, packed_grads), (shared_lp, shared_entropy, shared_grads) = results
    torch.testing.assert_close(shared_lp, packed_lp, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(shared_entropy, packed_entropy, rtol=1e-5, atol=1e-5)
    for a, b in zip(shared_grads, packed_grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert shared.prefix_ids.shape == (1, len(prompt)) and shared.completion_ids.shape[0] == 4
