"""Greedy two-pass evaluation on held-out problems: answer (t1), then one correction pass (t2).

The correction prompt is built exactly as in training (layer-2 template, the t1 completion, a guiding
phrase). Phrases rotate through the configured list by problem index, so an evaluation is deterministic and
uses every phrase. Optionally, ``num_samples`` layer-1 samples per problem at the training temperature give
a sampled accuracy, which still moves when greedy accuracy saturates; they use their own seeded generator,
so evaluating never changes the training run's random stream.
"""

from __future__ import annotations

import torch

from . import metrics, prompts, sampling
from .runlog import utc_now
from .task import Problem, step_spans, verify


def evaluate(model, tokenizer, problems: list[Problem], *, step: int, layer1_template: str, layer2_template: str,
             guiding_phrases: list[str], max_completion_length: int, max_prompt_length: int | None = None,
             stop_ids: list[int] | None = None, batch_size: int = 64, num_samples: int = 0,
             temperature: float = 1.0, top_p: float = 1.0, seed: int = 0, split: str = "eval",
             step_labeller=None) -> dict:
    """$defs/evalResult for ``problems``; with a ``step_labeller`` (mgrpo.steps) also step labels per
    completion and the step-truth metrics."""
    common = dict(max_new_tokens=max_completion_length, stop_ids=stop_ids, max_prompt_length=max_prompt_length,
                  batch_size=batch_size)
    layer1_prompts = [prompts.build_layer1_prompt(problem.question, layer1_template) for problem in problems]
    first = sampling.generate(model, tokenizer, layer1_prompts, greedy=True, **common)
    phrases = [guiding_phrases[index % len(guiding_phrases)] for index in range(len(problems))]
    layer2_prompts = [
        prompts.build_layer2_prompt(prompt, completion.text, phrase, layer2_template, question=problem.question)
        for problem, prompt, completion, phrase in zip(problems, layer1_prompts, first, phrases)
    ]
    second = sampling.generate(model, tokenizer, layer2_prompts, greedy=True, **common)

    records, pairs, truth_pairs = [], [], []
    for problem, t1, t2, phrase in zip(problems, first, second, phrases):
        t1_correct = verify(t1.text, problem.answer).correct
        t2_correct = verify(t2.text, problem.answer).correct
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
        repeated = [prompt for prompt in layer1_prompts for _ in range(num_samples)]
        samples = sampling.generate(model, tokenizer, repeated, temperature=temperature, top_p=top_p,
                                    generator=generator, **common)
        answers = [problem.answer for problem in problems for _ in range(num_samples)]
        sampled_accuracy = sum(verify(s.text, a).correct for s, a in zip(samples, answers)) / len(samples)

    step_truth = None
    if step_labeller is not None:
        step_truth = metrics.step_truth_metrics([t1 for t1, _ in truth_pairs], truth_pairs, step_labeller.take_errors())
    return {"step": step, "time": utc_now(), "split": split, "n": len(problems),
            "metrics": metrics.correction_metrics(pairs), "sampled_accuracy": sampled_accuracy,
            "step_truth": step_truth, "problems": records}


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
