"""Imported samples of one step -> rollout records and a metrics line in our run format.

Nothing is invented: what a source did not record is ``None`` (null) in the record. Two things are derived,
and each record lists them under ``derived``:
- ``group_reward_mean`` / ``group_reward_std`` from the rewards of a known group (population std, as
  RUN_FORMAT.md defines it), never the advantage, which depends on the source's own scaling;
- ``question_id`` from the prompt text (``prompt-<sha1>``) when the source has no id of its own, so that
  Compare Across Steps can join the same prompt across steps;
- ``steps`` / ``answer_span`` from the completion text by the project's generic rules (``mgrpo.task``).
"""

from __future__ import annotations

import hashlib
import statistics
from typing import Any

from ..task import answer_span, step_spans
from .samples import ImportedSample, finite_number, json_safe

# Record fields the run-format schema types without null. When a source lacks them the importer still writes
# null (never a made-up value) and run.json lists them under source.absent_fields.
NON_NULLABLE_RECORD_FIELDS = (
    "prompt", "ground_truth", "correct", "prompt_tokens", "completion_tokens", "finish_reason", "token_logprobs",
    "token_offsets", "reward", "advantage", "group_reward_mean", "group_reward_std",
)
NON_NULLABLE_METRICS_FIELDS = ("loss", "train_seconds", "step_seconds", "tokens_per_second")
NON_NULLABLE_LAYER_FIELDS = ("generation_seconds",)


def derived_question_id(prompt: str | None, group_key: str | None) -> str:
    basis = prompt if prompt is not None else (group_key or "")
    return "prompt-" + hashlib.sha1(basis.encode("utf-8", errors="replace")).hexdigest()[:12]


def _group(samples: list[ImportedSample]) -> list[list[ImportedSample]]:
    """Groups in order of first appearance; a sample without a group key is a group of its own (unknown)."""
    groups: dict[Any, list[ImportedSample]] = {}
    for index, sample in enumerate(samples):
        key = ("group", sample.group_key) if sample.group_key is not None else ("alone", index)
        groups.setdefault(key, []).append(sample)
    ordered = []
    for key, members in groups.items():
        if key[0] == "group" and all(member.sample_order is not None for member in members):
            try:
                members = sorted(members, key=lambda member: member.sample_order)
            except TypeError:  # mixed order types: keep row order
                pass
        ordered.append(members)
    return ordered


def reward_mean_std(rewards: list[float | None]) -> tuple[float | None, float | None]:
    """A group's reward mean and population std (RUN_FORMAT.md's group_reward_std) over the rewards it has;
    an absent reward is left out, not counted as 0. (None, None) when it has none."""
    present = [reward for reward in rewards if reward is not None]
    if not present:
        return None, None
    return statistics.fmean(present), statistics.pstdev(present)


def _group_stats(members: list[ImportedSample]) -> tuple[float | None, float | None]:
    if members[0].group_key is None:
        return None, None
    return reward_mean_std([member.reward for member in members])


def build_records(samples: list[ImportedSample], *, run_id: str, step: int, source_kind: str) -> list[dict]:
    records = []
    for group_index, members in enumerate(_group(samples)):
        mean, std = _group_stats(members)
        for sample_index, sample in enumerate(members):
            derived = []
            question_id = sample.question_id
            if question_id is None:
                question_id = derived_question_id(sample.prompt, sample.group_key)
                derived.append("question_id")
            if mean is not None:
                derived += ["group_reward_mean", "group_reward_std"]
            span = answer_span(sample.completion)
            derived += ["steps", "answer_span"]
            records.append({
                "id": f"s{step:06d}-q{group_index:03d}-l1-{sample_index:03d}",
                "run_id": run_id, "step": step, "layer": 1, "group": group_index, "sample": sample_index,
                "question_id": question_id, "parent_id": None, "guiding_phrase": None,
                "prompt": sample.prompt, "completion": sample.completion, "ground_truth": sample.ground_truth,
                "parsed_answer": None, "correct": sample.correct,
                "prompt_tokens": sample.prompt_tokens, "completion_tokens": sample.completion_tokens,
                "finish_reason": sample.finish_reason,
                "token_logprobs": sample.token_logprobs, "token_entropies": None,
                "token_offsets": sample.token_offsets,
                "reward": sample.reward, "rewards": dict(sample.rewards), "advantage": sample.advantage,
                "group_reward_mean": mean, "group_reward_std": std,
                "outcome": None, "parent_correct": None,
                "steps": [{"start": start, "end": end} for start, end in step_spans(sample.completion)],
                "answer_span": {"start": span[0], "end": span[1]} if span else None,
                "derived": derived,
                "source": {"kind": source_kind, "location": sample.location,
                           "fields": json_safe(sample.source_fields)},
            })
    return records


def absent_fields(records: list[dict]) -> set[str]:
    return {name for record in records for name in NON_NULLABLE_RECORD_FIELDS if record.get(name) is None}


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


# The run format's loss, kl and entropy, each under the names a source may log it as (first found wins).
DEFAULT_METRIC_NAMES: dict[str, tuple[str, ...]] = {"loss": ("loss",), "kl": ("kl",), "entropy": ("entropy",)}


def build_metrics_line(records: list[dict], *, step: int, time: str, source_metrics: dict | None,
                       metric_names: dict[str, tuple[str, ...]] = DEFAULT_METRIC_NAMES) -> dict:
    """What the step's records say about it; timings, loss and KL only when the source logged them.
    ``metric_names``: the source's names for loss, kl and entropy (see DEFAULT_METRIC_NAMES)."""
    rewards = [record["reward"] for record in records if record["reward"] is not None]
    correct = [record["correct"] for record in records]
    lengths = [record["completion_tokens"] for record in records]
    finishes = [record["finish_reason"] for record in records]
    groups: dict[int, list[float]] = {}
    known_groups = all(record["group_reward_mean"] is not None for record in records)
    for record in records:
        if record["reward"] is not None:
            groups.setdefault(record["group"], []).append(record["reward"])
    multi = [values for values in groups.values() if len(values) > 1]
    source_metrics = source_metrics or {}
    layer1 = {
        "samples": len(records),
        "groups": len(groups) if known_groups else None,
        "reward_mean": _mean(rewards),
        "reward_std": statistics.pstdev(rewards) if rewards else None,
        "accuracy": _mean([float(value) for value in correct]) if correct and None not in correct else None,
        "completion_length_mean": _mean(lengths) if lengths and None not in lengths else None,
        "completion_length_max": max(lengths) if lengths and None not in lengths else None,
        "truncated_fraction": (_mean([float(value == "length") for value in finishes])
                               if finishes and None not in finishes else None),
        "frac_reward_zero_std": (_mean([float(max(values) == min(values)) for values in multi])
                                 if known_groups and multi else None),
        "generation_seconds": None,
    }
    if layer1["groups"] is None:
        del layer1["groups"]
    return {
        "step": step, "time": time, "layer1": layer1, "layer2": None, "correction": None,
        "loss": _number(source_metrics, metric_names["loss"]), "kl": _number(source_metrics, metric_names["kl"]),
        "clip_fraction": None, "entropy": _number(source_metrics, metric_names["entropy"]),
        "train_seconds": None, "step_seconds": None, "tokens_per_second": None,
        "source_metrics": json_safe(source_metrics),
    }


def _number(metrics: dict, keys: tuple[str, ...]) -> float | None:
    for key in keys:
        value = finite_number(metrics.get(key))
        if value is not None:
            return value
    return None
