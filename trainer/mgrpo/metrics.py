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
