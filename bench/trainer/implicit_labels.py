#!/usr/bin/env python
"""How often MGRPO's implicit process supervision is right, measured against the chain task's step checker.

For every MGRPO training run given (default: the study's ``bench/out/runs/mgrpo-*`` runs), over all the
rollouts of all its steps:
- the implicit step labels (from layer 2's first departure: steps before it right, the departed step wrong;
  ``mgrpo.prm_export.implicit_rows``) against the checker's labels: precision and recall of "this step is wrong";
- over corrections that turned a wrong first answer right, how often layer 2's first departure falls exactly on
  layer 1's first wrong step, before it or after it (the ``step_truth.implicit.i2c`` counts of metrics.jsonl).

Pooled over runs, with a 95% percentile bootstrap over runs (a run is the unit: its steps are not independent).
The checks can come out "no": the paper's claim is that the departure marks the first error.

Usage: python bench/trainer/implicit_labels.py [RUN_DIR ...] [--out bench/results/trainer-implicit-labels.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "trainer"))

from mgrpo.prm_export import implicit_vs_checker  # noqa: E402
from mgrpo.runlog import read_run  # noqa: E402


@dataclass
class RunCounts:
    name: str
    true_positive: int
    false_positive: int
    false_negative: int
    i2c: int
    i2c_exact: int
    i2c_before: int
    i2c_after: int


def run_counts(run_dir: Path) -> RunCounts:
    run = read_run(run_dir)
    records = [record for step in run["rollouts"].values() for record in step]
    agreement = implicit_vs_checker(records)
    i2c = {"n": 0, "exact": 0, "before": 0, "after": 0}
    for line in run["metrics"]:
        counts = ((line.get("step_truth") or {}).get("implicit") or {}).get("i2c") or {}
        for key in i2c:
            i2c[key] += int(counts.get(key) or 0)
    return RunCounts(run_dir.name, agreement.true_positive, agreement.false_positive, agreement.false_negative,
                     i2c["n"], i2c["exact"], i2c["before"], i2c["after"])


def pooled(runs: list[RunCounts], numerator, denominator) -> float:
    den = sum(denominator(r) for r in runs)
    return sum(numerator(r) for r in runs) / den if den else float("nan")


def interval(runs: list[RunCounts], numerator, denominator, reps: int = 2000, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(reps):
        drawn = [runs[i] for i in rng.integers(0, len(runs), len(runs))]
        value = pooled(drawn, numerator, denominator)
        if value == value:
            values.append(value)
    return (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))) if values else (float("nan"),) * 2


FIGURES = [
    ("precision of implicit \"wrong\" (the checker agrees)", lambda r: r.true_positive,
     lambda r: r.true_positive + r.false_positive),
    ("recall of the checker's wrong steps (on the steps implicit rows label)", lambda r: r.true_positive, lambda r: r.true_positive + r.false_negative),
    ("i->c corrections departing exactly at layer 1's first error", lambda r: r.i2c_exact, lambda r: r.i2c),
    ("... departing before it", lambda r: r.i2c_before, lambda r: r.i2c),
    ("... departing after it", lambda r: r.i2c_after, lambda r: r.i2c),
]


def report(runs: list[RunCounts], command: str) -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout
    lines = [
        "# Implicit process supervision against the step checker (demo task)",
        "",
        f"- Date: {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}; code {commit.strip()}",
        f"- Command: `{command}` (reads finished runs; no training, seconds)",
        f"- Runs: {', '.join(r.name for r in runs)}: every rollout of every training step",
        "- Implicit labels: steps before layer 2's first departure right, the departed step wrong (the fixing"
        " correction departing earliest; `mgrpo.prm_export`); checker: the chain task's exact step check",
        "- Intervals: 95% percentile bootstrap over runs (2000 resamples)",
        "",
        "| figure | pooled | 95% interval | counts |",
        "|:--|--:|:--|:--|",
    ]
    for name, numerator, denominator in FIGURES:
        value = pooled(runs, numerator, denominator)
        low, high = interval(runs, numerator, denominator)
        counts = f"{sum(numerator(r) for r in runs)} of {sum(denominator(r) for r in runs)}"
        lines.append(f"| {name} | {value:.3f} | [{low:.3f}, {high:.3f}] | {counts} |")
    lines += ["", "Per run:", "", "| run | TP | FP | FN | i->c | exact | before | after |", "|:--|--:|--:|--:|--:|--:|--:|--:|"]
    for r in runs:
        lines.append(f"| {r.name} | {r.true_positive} | {r.false_positive} | {r.false_negative} | {r.i2c} | "
                     f"{r.i2c_exact} | {r.i2c_before} | {r.i2c_after} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", help="MGRPO run folders (default: bench/out/runs/mgrpo-*)")
    parser.add_argument("--out", help="write the Markdown report here too")
    args = parser.parse_args(argv)
    paths = [Path(p) for p in (args.runs or sorted(glob.glob(str(REPO / "bench/out/runs/mgrpo-*"))))]
    paths = [p for p in paths if (p / "run.json").is_file()]
    if not paths:
        print("no MGRPO run folders: train some first (bench/trainer/study.py or learning_bench.py)", file=sys.stderr)
        return 2
    runs = [run_counts(p) for p in paths]
    text = report(runs, "python bench/trainer/implicit_labels.py" + (f" --out {args.out}" if args.out else ""))
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
