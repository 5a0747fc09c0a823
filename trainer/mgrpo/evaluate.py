"""Greedy two-pass evaluation on held-out problems: answer (t1), then one correction pass (t2).

The correction prompt is built exactly as in training (the same PromptBuilder, plain or chat, the t1
completion cut in the middle when the prompt would be over the limit, a guiding phrase). Phrases rotate through the configured list by problem index, so an evaluation is deterministic and
uses every phrase. Optionally, ``num_samples`` layer-1 samples per problem at the training temperature give
a sampled accuracy, which still moves when greedy accuracy saturates; they use their own seeded generator,
so evaluating never changes the training run's random stream.

Problems are evaluated in chunks of ``batch_size``; ``should_stop`` is asked between chunks and passed to the
sampler (which asks it between tokens), so a stop, SIGTERM or closed stdin ends a long evaluation within
seconds (sampling.GenerationInterrupted).
"""

from __future__ import annotations

import torch

from . import lengths, metrics, prompts, sampling
from .runlog import utc_now
from .task import Problem, step_spans, verify


def evaluate(model, tokenizer, problems: list[Problem], *, step: int, layer1_template: str, layer2_template: str,
             guiding_phrases: list[str], max_completion_length: int, max_prompt_length: int | None = None,
             stop_ids: list[int] | None = None, batch_size: int = 64, num_samples: int = 0,
             temperature: float = 1.0, top_p: float = 1.0, seed: int = 0, split: str = "eval",
             step_labeller=None, prompt_builder: prompts.PromptBuilder | None = None,
             prompt_limit: int | None = None, verifier=None, should_stop=None) -> dict:
    """$defs/evalResult for ``problems``; with a ``step_labeller`` (mgrpo.steps) also step labels per
    completion and the step-truth metrics. ``prompt_builder`` (default: the plain templates) and
    ``prompt_limit`` (default: ``max_prompt_length``) shape prompts as in training; ``verifier(completion,
    ground_truth)`` is the task's (default: the exact verifier)."""
    builder = prompt_builder or prompts.PromptBuilder(tokenizer, layer1_template, layer2_template)
    limit = prompt_limit if prompt_limit is not None else max_prompt_length
    verify_one = verifier or verify
    common = dict(max_new_tokens=max_completion_length, stop_ids=stop_ids, max_prompt_length=limit,
                  batch_size=batch_size, should_stop=should_stop)
    layer1_prompts = [builder.layer1(problem.question) for problem in problems]
    layer1_ids = [builder.encode(prompt) for prompt in layer1_prompts]
    phrases = [guiding_phrases[index % len(guiding_phrases)] for index in range(len(problems))]
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

    records, pairs, truth_pairs = [], [], []
    for problem, t1, t2, phrase in zip(problems, first, second, phrases):
        t1_correct = verify_one(t1.text, problem.answer).correct
        t2_correct = verify_one(t2.text, problem.answer).correct
        pairs.append((t1_correct, t2_correct))
        records.append({"question_id": problem.id, "question": problem.question, "ground_truth": problem.answer,
                        "t1_completion": t1.text, "t1_correct": t1_correct, "t2_completion": t2.text,
                        "t2_correct": t2_correct, "guiding_phrase": phrase})
        if step_labeller is not None:
            truth_pairs.append(_label_pair(step_labeller, problem, records[-1]))

    sampled_accuracy = None
    if num_samples > 0 and problems:
        generator = torch.Generator(device=next(model.parameters()).device)
        generator.manual_seed(seed)
        repeated = [ids for ids in layer1_ids for _ in range(num_samples)]
        samples = sampling.generate(model, tokenizer, prompt_ids=repeated, temperature=temperature, top_p=top_p,
                                    generator=generator, **common)
        answers = [problem.answer for problem in problems for _ in range(num_samples)]
        sampled_accuracy = sum(verify_one(s.text, a).correct for s, a in zip(samples, answers)) / len(samples)

    step_truth = None
    if step_labeller is not None:
        step_truth = metrics.step_truth_metrics([t1 for t1, _ in truth_pairs], truth_pairs, step_labeller.take_errors())
    return {"step": step, "time": utc_now(), "split": split, "n": len(problems),
            "metrics": metrics.correction_metrics(pairs), "sampled_accuracy": sampled_accuracy,
            "step_truth": step_truth, "problems": records}


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
