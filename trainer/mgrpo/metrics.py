"""Self-correction metrics (shared/MGRPO.md) and per-layer step statistics.

Correction metrics take (right at t1, right at t2) pairs: in a training step one pair per layer-2
correction (its parent's correctness, its own), in an evaluation one per problem. Quantities that are
undefined (no pairs, no right or no wrong first answers, Acc@t1 of 0 or 1 for RSS) are None -> JSON null.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

OUTCOMES = ("i->c", "c->i", "c->c", "i->i")


def outcome_label(parent_correct: bool, correct: bool) -> str:
    """"c" = correct, "i" = incorrect; parent first: a wrong answer corrected to a right one is "i->c"."""
    return ("c" if parent_correct else "i") + "->" + ("c" if correct else "i")


def correction_metrics(pairs: Iterable[tuple[bool, bool]]) -> dict:
    """Acc@t1, Acc@t2, Delta, Delta i->c, Delta c->i, CL, CS and RSS over (t1 correct, t2 correct) pairs."""
    pairs = [(bool(first), bool(second)) for first, second in pairs]
    n = len(pairs)
    if n == 0:
        return {"n": 0, "acc_t1": None, "acc_t2": None, "delta": None, "delta_i2c": None, "delta_c2i": None,
                "cl": None, "cs": None, "rss": None}
    right_first = sum(1 for first, _ in pairs if first)
    right_second = sum(1 for _, second in pairs if second)
    i2c = sum(1 for first, second in pairs if not first and second)
    c2i = sum(1 for first, second in pairs if first and not second)
    c2c = right_first - c2i
    acc_t1 = right_first / n
    acc_t2 = right_second / n
    cl = c2c / right_first if right_first else None
    cs = i2c / (n - right_first) if n - right_first else None
    rss = None
    if 0 < acc_t1 < 1:
        rss = (acc_t2 - acc_t1 ** 2) / (2 * acc_t1 * (1 - acc_t1))
    return {"n": n, "acc_t1": acc_t1, "acc_t2": acc_t2, "delta": acc_t2 - acc_t1, "delta_i2c": i2c / n,
            "delta_c2i": c2i / n, "cl": cl, "cs": cs, "rss": rss}


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _population_std(values: Sequence[float]) -> float | None:
    if not values:
        return None
    mean = sum(values) / len(values)
    return math.sqrt(sum((value - mean) ** 2 for value in values) / len(values))


def layer_stats(records: Sequence[dict], groups: Sequence[Sequence[float]], generation_seconds: float) -> dict:
    """$defs/layerStats for one layer of a step: ``records`` are its rollout records, ``groups`` the rewards
    of each GRPO group (for the share of groups with no signal)."""
    rewards = [record["reward"] for record in records]
    lengths = [record["completion_tokens"] for record in records]
    equal_groups = sum(1 for group in groups if group and all(reward == group[0] for reward in group))
    return {
        "samples": len(records),
        "groups": len(groups),
        "reward_mean": _mean(rewards),
        "reward_std": _population_std(rewards),
        "accuracy": _mean([1.0 if record["correct"] else 0.0 for record in records]),
        "completion_length_mean": _mean(lengths),
        "completion_length_max": max(lengths) if lengths else None,
        "truncated_fraction": _mean([1.0 if record["finish_reason"] == "length" else 0.0 for record in records]),
        "prompts_truncated": sum(1 for record in records if record.get("prompt_truncated")),
        "frac_reward_zero_std": equal_groups / len(groups) if groups else None,
        "generation_seconds": max(0.0, generation_seconds),
    }


def format_table(metrics: dict, title: str | None = None) -> str:
    """The MGRPO.md table as text (percentages; RSS, CL and CS as ratios), for humans on a terminal."""
    def percent(value):
        return "n/a" if value is None else f"{100 * value:.1f}"

    def signed(value):
        return "n/a" if value is None else f"{100 * value:+.1f}"

    def ratio(value):
        return "n/a" if value is None else f"{value:.3f}"

    header = ["n", "Acc@t1", "Acc@t2", "Delta", "Delta i->c", "Delta c->i", "CL", "CS", "RSS"]
    row = [str(metrics["n"]), percent(metrics["acc_t1"]), percent(metrics["acc_t2"]), signed(metrics["delta"]),
           percent(metrics["delta_i2c"]), percent(metrics["delta_c2i"]), ratio(metrics["cl"]),
           ratio(metrics["cs"]), ratio(metrics["rss"])]
    lines = [f"{title}" if title else None,
             "| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|",
             "| " + " | ".join(row) + " |"]
    return "\n".join(line for line in lines if line is not None)


# --------------------------------------------------------------------------------------------------
# Step truth (issue 9): flawed chains, step accuracy, first errors, implicit process supervision
# --------------------------------------------------------------------------------------------------

def normalize_step_text(text: str) -> str:
    """Whitespace runs collapsed, ends trimmed: as extension/src/model/divergence.ts normalizeStepText."""
    return " ".join(text.split())


def step_texts(completion: str, spans: Sequence[dict]) -> list[str]:
    """The normalized text of each step span ({"start", "end"})."""
    return [normalize_step_text(completion[span["start"]:span["end"]]) for span in spans]


def departure_position(layer1_steps: Sequence[str], layer2_steps: Sequence[str]) -> int | None:
    """Where layer 2 first departs from layer 1, as a layer-1 step position; None when their steps are equal.

    The rule of the extension's firstDivergenceOf (divergence.ts): normalized steps compared position by
    position. The position is the number of leading steps layer 2 keeps, i.e. max(layer1Step, layer2Step) of
    that function's result: the first differing step, or, when one list is a prefix of the other, the first
    step past the shorter one (so a correction that only adds the step layer 1 left out departs at
    len(layer1), where the chain checker puts a missing step)."""
    shared = min(len(layer1_steps), len(layer2_steps))
    for position in range(shared):
        if layer1_steps[position] != layer2_steps[position]:
            return position
    if len(layer1_steps) == len(layer2_steps):
        return None
    return shared


def _first_error_counts(positions: Sequence[int]) -> list[int]:
    counts = [0] * (max(positions) + 1 if positions else 0)
    for position in positions:
        counts[position] += 1
    return counts


def chain_truth(records: Sequence[dict]) -> dict:
    """$defs/stepTruthLayer over one layer's records (or one evaluation pass). Only records with step labels
    count. A chain is flawed when it has a first error (a wrong, missing or extra step)."""
    labelled = [record for record in records if record.get("step_labels") is not None]
    right = [record for record in labelled if record["correct"]]
    flawed = [record for record in right if record.get("first_wrong_step") is not None]
    labels = [item["label"] for record in labelled for item in record["step_labels"]]
    checked = [label for label in labels if label != "unchecked"]
    steps_right = sum(1 for label in checked if label == "right")
    first_errors = [record["first_wrong_step"] for record in labelled if record.get("first_wrong_step") is not None]
    return {
        "samples": len(labelled),
        "right_answers": len(right),
        "flawed_right_answers": len(flawed),
        "flawed_chain_rate": len(flawed) / len(right) if right else None,
        "steps_checked": len(checked),
        "steps_right": steps_right,
        "step_accuracy": steps_right / len(checked) if checked else None,
        "with_error": len(first_errors),
        "first_error_mean": _mean(first_errors),
        "first_error_counts": _first_error_counts(first_errors),
    }


def _departure_counts(pairs: Sequence[tuple[dict, dict]]) -> dict:
    counts = {"n": len(pairs), "exact": 0, "before": 0, "after": 0, "no_departure": 0, "no_error": 0}
    for parent, correction in pairs:
        error = parent.get("first_wrong_step")
        if error is None:
            counts["no_error"] += 1
            continue
        departure = departure_position(step_texts(parent["completion"], parent["steps"]),
                                       step_texts(correction["completion"], correction["steps"]))
        if departure is None:
            counts["no_departure"] += 1
        elif departure == error:
            counts["exact"] += 1
        elif departure < error:
            counts["before"] += 1
        else:
            counts["after"] += 1
    located = counts["exact"] + counts["before"] + counts["after"]
    counts["exact_rate"] = counts["exact"] / located if located else None
    return counts


def implicit_supervision(pairs: Sequence[tuple[dict, dict]]) -> dict:
    """$defs/implicitSupervision: over (layer-1 parent, layer-2 correction) pairs whose parent has step
    labels, where layer 2's first departure falls against the parent's first error: exactly at it, before it,
    after it; ``no_departure`` (same steps) and ``no_error`` (a sound parent) are counted apart. ``i2c``: the
    corrections that turned a wrong answer right; ``all``: every correction."""
    labelled = [(parent, correction) for parent, correction in pairs if parent.get("step_labels") is not None]
    fixed = [(parent, correction) for parent, correction in labelled if not parent["correct"] and correction["correct"]]
    return {"i2c": _departure_counts(fixed), "all": _departure_counts(labelled)}


def step_truth_metrics(layer1: Sequence[dict], pairs: Sequence[tuple[dict, dict]], checker_errors: int = 0) -> dict | None:
    """$defs/stepTruth for a training step (``layer1`` records, ``pairs`` of parent and correction) or an
    evaluation (t1 and t2 per problem); None when nothing carries step labels (no checker for the task)."""
    layer2 = [correction for _parent, correction in pairs]
    if not any(record.get("step_labels") is not None for record in [*layer1, *layer2]):
        return None
    return {"t1": chain_truth(layer1), "t2": chain_truth(layer2), "implicit": implicit_supervision(pairs),
            "checker_errors": checker_errors}


def format_step_truth(step_truth: dict | None) -> str | None:
    """Step truth for humans on a terminal (under format_table), or None without a checker."""
    if not step_truth:
        return None

    def percent(value):
        return "n/a" if value is None else f"{100 * value:.1f}%"

    lines = []
    for turn in ("t1", "t2"):
        layer = step_truth[turn]
        lines.append(f"{turn}: flawed chains {percent(layer['flawed_chain_rate'])} of right answers "
                     f"({layer['flawed_right_answers']}/{layer['right_answers']}), step accuracy "
                     f"{percent(layer['step_accuracy'])} ({layer['steps_right']}/{layer['steps_checked']})")
    fixed = step_truth["implicit"]["i2c"]
    lines.append(f"wrong->right corrections: first departure at layer 1's first wrong step {fixed['exact']}, "
                 f"before {fixed['before']}, after {fixed['after']} (exact {percent(fixed['exact_rate'])})")
    return "\n".join(lines)
