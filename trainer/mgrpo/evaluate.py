"""Greedy two-pass evaluation on held-out problems: answer (t1), then one correction pass (t2).

The correction prompt is built exactly as in training (the same PromptBuilder, plain or chat, the t1
completion cut in the middle when the prompt would be over the limit, a guiding phrase). Phrases rotate through the configured list by problem index, so an evaluation is deterministic and
uses every phrase. Optionally, ``num_samples`` layer-1 samples per problem at the training temperature give
a sampled accuracy, which still moves when greedy accuracy saturates; they use their own seeded generator,
so evaluating never changes the training run's random stream.

Problems are evaluated in chunks of ``batch_size``; ``should_stop`` is asked between chunks and passed to the
sampler (which asks it between tokens), so a stop, SIGTERM or closed stdin ends a long evaluation within
seconds (sampling.GenerationInterrupted).

Under torchrun every rank evaluates its contiguous share of the problems (Distributed.shard) and rank 0 gathers
the per-problem results in the original order and computes the metrics, so the result is the one a single
process gets (greedy decoding of the same prompts; guiding phrases by the problem's overall index). Only the
sampled accuracy's random draws depend on the number of ranks: each rank seeds its own generator (seed + rank).
"""

from __future__ import annotations

import logging

import torch

from . import lengths, metrics, prompts, sampling
from .distributed import Distributed
from .runlog import utc_now
from .task import Problem, step_spans, verify

log = logging.getLogger(__name__)


def evaluate(model, tokenizer, problems: list[Problem], *, step: int, layer1_template: str, layer2_template: str,
             guiding_phrases: list[str], max_completion_length: int, max_prompt_length: int | None = None,
             stop_ids: list[int] | None = None, batch_size: int = 64, num_samples: int = 0,
             temperature: float = 1.0, top_p: float = 1.0, seed: int = 0, split: str = "eval",
             step_labeller=None, prompt_builder: prompts.PromptBuilder | None = None,
             prompt_limit: int | None = None, verifier=None, should_stop=None,
             dist: Distributed | None = None) -> dict | None:
    """$defs/evalResult for ``problems``; with a ``step_labeller`` (mgrpo.steps) also step labels per
    completion and the step-truth metrics. ``prompt_builder`` (default: the plain templates) and
    ``prompt_limit`` (default: ``max_prompt_length``) shape prompts as in training; ``verifier(completion,
    ground_truth)`` is the task's (default: the exact verifier). With ``dist`` over several ranks, every rank
    calls this with the same ``problems`` (a collective): the result on rank 0, None on the others."""
    dist = dist or Distributed()
    share = dist.shard(len(problems))
    if dist.enabled:
        log.info("rank %d evaluates held-out problems %d-%d of %d", dist.rank, share.start + 1, share.stop, len(problems))
    part = _evaluate_share(
        model, tokenizer, problems[share], first_index=share.start, layer1_template=layer1_template,
        layer2_template=layer2_template, guiding_phrases=guiding_phrases, max_completion_length=max_completion_length,
        max_prompt_length=max_prompt_length, stop_ids=stop_ids, batch_size=batch_size, num_samples=num_samples,
        temperature=temperature, top_p=top_p, seed=seed + dist.rank, step_labeller=step_labeller,
        prompt_builder=prompt_builder, prompt_limit=prompt_limit, verifier=verifier, should_stop=should_stop)
    parts = dist.gather(part)
    if not dist.is_main:
        return None
    records = [record for part in parts for record in part["records"]]
    pairs = [(record["t1_correct"], record["t2_correct"]) for record in records]
    sampled = sum(part["sampled_total"] for part in parts)
    sampled_accuracy = sum(part["sampled_correct"] for part in parts) / sampled if sampled else None
    step_truth = None
    if step_labeller is not None:
        truth_pairs = [pair for part in parts for pair in part["truth_pairs"]]
        step_truth = metrics.step_truth_metrics([t1 for t1, _ in truth_pairs], truth_pairs,
                                                sum(part["checker_errors"] for part in parts))
    return {"step": step, "time": utc_now(), "split": split, "n": len(problems),
            "metrics": metrics.correction_metrics(pairs), "sampled_accuracy": sampled_accuracy,
            "step_truth": step_truth, "problems": records}


def _evaluate_share(model, tokenizer, problems: list[Problem], *, first_index: int, layer1_template: str,
                    layer2_template: str, guiding_phrases: list[str], max_completion_length: int,
                    max_prompt_length: int | None, stop_ids: list[int] | None, batch_size: int, num_samples: int,
                    temperature: float, top_p: float, seed: int, step_labeller, prompt_builder, prompt_limit,
                    verifier, should_stop) -> dict:
    """One rank's share of the evaluation (``problems`` start at overall index ``first_index``): the problem
    records, the step-labelled pairs, the sampled answers' count of correct ones and the checker errors."""
    builder = prompt_builder or prompts.PromptBuilder(tokenizer, layer1_template, layer2_template)
    limit = prompt_limit if prompt_limit is not None else max_prompt_length
    verify_one = verifier or verify
    common = dict(max_new_tokens=max_completion_length, stop_ids=stop_ids, max_prompt_length=limit,
                  batch_size=batch_size, should_stop=should_stop)
    layer1_prompts = [builder.layer1(problem.question) for problem in problems]
    layer1_ids = [builder.encode(prompt) for prompt in layer1_prompts]
    phrases = [guiding_phrases[(first_index + index) % len(guiding_phrases)] for index in range(len(problems))]
    first: list[sampling.Completion] = []
    second: list[sampling.Completion] = []
    for start in range(0, len(problems), max(1, batch_size)):
        _check_stop(should_stop)
        chunk = slice(start, start + max(1, batch_size))
        first_chunk = sampling.generate(model, tokenizer, prompt_ids=layer1_ids[chunk], greedy=True, **common)
        fitted = [lengths.fit_layer2_prompt(builder, problem.question, prompt, completion.text, phrase, limit)
                  for problem, prompt, completion, phrase
                  in zip(problems[chunk], layer1_prompts[chunk], first_chunk, phrases[chunk])]
        _check_stop(should_stop)
        second_chunk = sampling.generate(model, tokenizer, prompt_ids=[item.ids for item in fitted], greedy=True,
                                         **common)
        first.extend(first_chunk)
        second.extend(second_chunk)

    records, truth_pairs = [], []
    for problem, t1, t2, phrase in zip(problems, first, second, phrases):
        records.append({"question_id": problem.id, "question": problem.question, "ground_truth": problem.answer,
                        "t1_completion": t1.text, "t1_correct": verify_one(t1.text, problem.answer).correct,
                        "t2_completion": t2.text, "t2_correct": verify_one(t2.text, problem.answer).correct,
                        "guiding_phrase": phrase})
        if step_labeller is not None:
            truth_pairs.append(_label_pair(step_labeller, problem, records[-1]))

    sampled_correct = sampled_total = 0
    if num_samples > 0 and problems:
        generator = torch.Generator(device=next(model.parameters()).device)
        generator.manual_seed(seed)
        repeated = [ids for ids in layer1_ids for _ in range(num_samples)]
        samples = sampling.generate(model, tokenizer, prompt_ids=repeated, temperature=temperature, top_p=top_p,
                                    generator=generator, **common)
        answers = [problem.answer for problem in problems for _ in range(num_samples)]
        sampled_correct = sum(verify_one(s.text, a).correct for s, a in zip(samples, answers))
        sampled_total = len(samples)
    return {"records": records, "truth_pairs": truth_pairs, "sampled_correct": sampled_correct,
            "sampled_total": sampled_total,
            "checker_errors": step_labeller.take_errors() if step_labeller is not None else 0}


def _check_stop(should_stop) -> None:
    if should_stop is not None and should_stop():
        raise sampling.GenerationInterrupted("evaluation stopped on request")


def _label_pair(step_labeller, problem: Problem, record: dict) -> tuple[dict, dict]:
    """Label the t1 and t2 completions of one eval problem (into ``record``); return them shaped like rollout
    records for metrics.step_truth_metrics."""
    shaped = []
    for turn in ("t1", "t2"):
        completion = record[f"{turn}_completion"]
        spans = step_spans(completion)
        labels = step_labeller.label(problem.question, problem.answer, completion, spans).as_record_fields()
        record[f"{turn}_step_labels"] = labels["step_labels"]
        record[f"{turn}_first_wrong_step"] = labels["first_wrong_step"]
        shaped.append({"completion": completion, "correct": record[f"{turn}_correct"],
                       "steps": [{"start": start, "end": end} for start, end in spans], **labels})
    return shaped[0], shaped[1]
