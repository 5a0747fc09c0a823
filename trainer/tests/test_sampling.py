"""The sampler: KV-cache and no-cache paths agree, padding does not change results, log-probs match a full
forward pass, and the per-token bookkeeping (offsets, finish reason) is consistent."""

import pytest
import torch

from mgrpo import sampling, scoring
from mgrpo.sampling import top_p_filter

PROMPTS = ["Q: 1+2\n", "Q: 3*4-5+6\n", "Q: 9\n"]  # different lengths: left padding is exercised


def test_greedy_cache_and_no_cache_identical(tiny_policy):
    model, tokenizer = tiny_policy
    cached = sampling.generate(model, tokenizer, PROMPTS, max_new_tokens=16, greedy=True, use_cache=True)
    uncached = sampling.generate(model, tokenizer, PROMPTS, max_new_tokens=16, greedy=True, use_cache=False)
    assert [c.completion_ids for c in cached] == [c.completion_ids for c in uncached]
    assert [c.text for c in cached] == [c.text for c in uncached]
    for a, b in zip(cached, uncached):
        assert a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-4)


def test_batched_greedy_equals_one_prompt_at_a_time(tiny_policy):
    model, tokenizer = tiny_policy
    batched = sampling.generate(model, tokenizer, PROMPTS, max_new_tokens=12, greedy=True)
    alone = [sampling.generate(model, tokenizer, [p], max_new_tokens=12, greedy=True)[0] for p in PROMPTS]
    assert [c.completion_ids for c in batched] == [c.completion_ids for c in alone]


def test_sampled_logprobs_match_full_forward_and_bookkeeping(tiny_policy):
    model, tokenizer = tiny_policy
    generator = torch.Generator().manual_seed(1)
    completions = sampling.generate(model, tokenizer, PROMPTS * 4, max_new_tokens=12, temperature=0.7,
                                    generator=generator)
    packed = scoring.pack([c.prompt_ids for c in completions], [c.completion_ids for c in completions],
                          tokenizer.pad_token_id)
    with torch.no_grad():
        logprobs, entropies = scoring.completion_logprobs(model, packed, temperature=0.7, with_entropy=True)
    reasons = set()
    for row, completion in enumerate(completions):
        n = len(completion.completion_ids)
        assert 1 <= n <= 12
        assert logprobs[row, :n].tolist() == pytest.approx(completion.token_logprobs, abs=1e-4)
        assert entropies[row, :n].tolist() == pytest.approx(completion.token_entropies, abs=1e-4)
        assert len(completion.token_offsets) == len(completion.token_logprobs) == n
        assert completion.token_offsets == sorted(completion.token_offsets)
        assert all(0 <= offset <= len(completion.text) for offset in completion.token_offsets)
        assert completion.prompt_ids == tokenizer(PROMPTS[row % 3])["input_ids"]
        if completion.finish_reason == "stop":
            assert completion.completion_ids[-1] == tokenizer.eos_token_id
            assert completion.token_offsets[-1] == len(completion.text)  # EOS decodes to ""
        else:
            assert n == 12 and tokenizer.eos_token_id not in completion.completion_ids
        reasons.add(completion.finish_reason)
    assert reasons == {"stop", "length"}  # the tiny model's EOS bias makes both happen


def test_same_seed_same_samples(tiny_policy):
    model, tokenizer = tiny_policy
    runs = [sampling.generate(model, tokenizer, PROMPTS, max_new_tokens=8,
                              generator=torch.Generator().manual_seed(5)) for _ in range(2)]
    assert [c.completion_ids for c in runs[0]] == [c.completion_ids for c in runs[1]]


def test_chunked_generation_and_prompt_truncation(tiny_policy):
    model, tokenizer = tiny_policy
    whole = sampling.generate(model, tokenizer, PROMPTS, max_new_tokens=6, greedy=True)
    chunked = sampling.generate(model, tokenizer, PROMPTS, max_new_tokens=6, greedy=True, batch_size=2)
    assert [c.completion_ids for c in whole] == [c.completion_ids for c in chunked]
    truncated = sampling.generate(model, tokenizer, ["Q: 3*4-5+6\n"], max_new_tokens=2, greedy=True,
                                  max_prompt_length=4)[0]
    assert truncated.prompt_truncated and truncated.prompt_ids == tokenizer("Q: 3*4-5+6\n")["input_ids"][-4:]


def test_top_p_filter_hand_computed():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = torch.isfinite(top_p_filter(logits, 0.8))[0].tolist()
    assert kept == [True, True, False, False]  # 0.5 + 0.3 already reaches 0.8
    assert torch.isfinite(top_p_filter(logits, 0.81))[0].tolist() == [True, True, True, False]
    assert torch.isfinite(top_p_filter(logits, 0.1))[0].tolist() == [True, False, False, False]
    shuffled = logits[:, [2, 0, 3, 1]]
    assert torch.isfinite(top_p_filter(shuffled, 0.8))[0].tolist() == [False, True, False, True]
