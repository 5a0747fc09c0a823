#!/usr/bin/env python
"""Importing a long prime-rl run: does the time per step stay flat as the run grows?

prime-rl's trainer and orchestrator append several lines per step to one ``metrics.jsonl``. The importer used to
read that whole file again for every step it imported (quadratic in the run's length); it now reads each appended
line once (``MetricsLog``). This bench builds synthetic prime-rl runs of N and 2N steps (the upstream fixture's
episodes, and ``--lines`` metrics lines of ``--keys`` keys per step, as prime-rl logs them) and measures, in one run:

- the step-metrics lookups of a whole run, the importer's way and the old way (every step re-reads the file: the
  baseline, kept here only), at N and 2N steps;
- a whole import (``RunImporter.import_all``) at N and 2N steps.

Linear work shows as a 2N/N ratio near 2; quadratic as near 4. Each figure is the median of ``--repeats`` runs.

Usage: python bench/trainer/import_bench.py [--steps 200] [--lines 6] [--keys 60] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common  # noqa: E402  (puts trainer/ on sys.path)

UPSTREAM = bench_common.REPO_ROOT / "trainer" / "tests" / "fixtures" / "sources" / "prime-rl-upstream"
EFFECTIVE = Path("train") / "effective" / "traces.jsonl"


def build_run(root: Path, steps: int, lines_per_step: int, keys: int) -> Path:
    """A prime-rl run folder: every step holds the fixture's step-1 episodes; metrics.jsonl interleaves
    ``lines_per_step`` lines of ``keys`` metrics per step, as trainer and orchestrator append them."""
    episodes = (UPSTREAM / "rollouts" / "step_1" / EFFECTIVE).read_text()
    for step in range(1, steps + 1):
        folder = root / "rollouts" / f"step_{step}" / EFFECTIVE.parent
        folder.mkdir(parents=True)
        (folder / EFFECTIVE.name).write_text(episodes)
    with (root / "metrics.jsonl").open("w") as handle:
        for step in range(1, steps + 1):
            for line in range(lines_per_step):
                metrics = {f"group{line}/metric_{key}/mean": step * 0.001 + key for key in range(keys)}
                handle.write(json.dumps({"step": step, "time": 1_790_000_000.0 + step, **metrics}) + "\n")
    return root


def whole_file_lookup(source, files) -> dict | None:
    """The old step_metrics: read the run's metrics.jsonl whole and merge the step's lines (the baseline)."""
    from mgrpo.importers.samples import ImportStats, read_json_rows

    merged: dict = {}
    for _, row in read_json_rows(source.root / "metrics.jsonl", ImportStats()):
        if row.get("step") == files.step:
            merged.update(row)
    return merged or None


def time_lookups(run: Path, lookup) -> float:
    """Seconds to look up every step's metrics of ``run`` with ``lookup(source, files)`` (a fresh source each time)."""
    from mgrpo.importers.prime_rl import PrimeRlSource
    from mgrpo.importers.samples import ImportStats

    source = PrimeRlSource(run)
    steps = source.step_files(ImportStats())
    started = time.perf_counter()
    for files in steps:
        if lookup(source, files) is None:
            raise RuntimeError(f"no metrics for step {files.step}")
    return time.perf_counter() - started


def time_import(run: Path, out: Path) -> float:
    from mgrpo.importers import RunImporter
    from mgrpo.importers.prime_rl import PrimeRlSource

    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    RunImporter(PrimeRlSource(run), out).import_all()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200, help="N: runs of N and 2N steps are built")
    parser.add_argument("--lines", type=int, default=6, help="metrics lines per step")
    parser.add_argument("--keys", type=int, default=60, help="metrics per line")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if bench_common.quick_mode():
        args.steps, args.repeats = 20, 1

    from mgrpo.importers.samples import ImportStats

    sizes = (args.steps, 2 * args.steps)
    rows, figures = [], {}
    with tempfile.TemporaryDirectory(prefix="mgrpo-import-bench-") as scratch:
        for steps in sizes:
            run = build_run(Path(scratch) / f"run-{steps}", steps, args.lines, args.keys)
            megabytes = (run / "metrics.jsonl").stat().st_size / 2**20
            incremental = bench_common.median([time_lookups(run, lambda source, files: source.step_metrics(
                files, ImportStats())) for _ in range(args.repeats)])
            baseline = bench_common.median([time_lookups(run, whole_file_lookup) for _ in range(args.repeats)])
            whole = bench_common.median([time_import(run, Path(scratch) / f"out-{steps}") for _ in range(args.repeats)])
            figures[steps] = (incremental, baseline, whole)
            rows.append([str(steps), f"{megabytes:.1f}", bench_common.fmt_seconds(baseline),
                         bench_common.fmt_seconds(incremental), f"{baseline / incremental:.0f}x",
                         bench_common.fmt_seconds(whole), f"{1000 * whole / steps:.1f}"])
            print(f"{steps} steps ({megabytes:.1f} MiB metrics): lookups {incremental:.3f} s (re-reading: "
                  f"{baseline:.3f} s); whole import {whole:.2f} s", flush=True)

    small, large = sizes
    growth = [["metrics lookups, re-reading (old)", f"{figures[large][1] / figures[small][1]:.2f}"],
              ["metrics lookups, MetricsLog (now)", f"{figures[large][0] / figures[small][0]:.2f}"],
              ["whole import (now)", f"{figures[large][2] / figures[small][2]:.2f}"]]
    lines = bench_common.header_lines("Importing a long prime-rl run (trainer)", None, {
        "Run": f"N and 2N steps, each with the upstream fixture's 4 step-1 episodes; {args.lines} metrics lines of "
               f"{args.keys} keys per step in metrics.jsonl",
        "Repeats": f"{args.repeats} (median)",
    })
    lines += ["Step-metrics lookups of a whole run, the old way (each step reads metrics.jsonl whole again) and the",
              "importer's (each appended line read once), and a whole import, side by side in one run:", ""]
    lines += bench_common.markdown_table(
        ["steps", "metrics.jsonl MiB", "lookups, re-reading", "lookups, MetricsLog", "speed-up", "whole import",
         "ms per step"], rows)
    lines += ["", f"Growth from {small} to {large} steps (2 = linear, 4 = quadratic):", ""]
    lines += bench_common.markdown_table(["what", f"time({large}) / time({small})"], growth)
    bench_common.write_results("trainer-import", lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
