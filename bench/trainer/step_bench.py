#!/usr/bin/env python
"""Where one MGRPO step's time goes: layer-1 generation, layer-2 generation, and the policy update.

Trains the demo preset in one process (no evaluation) as four variants: MGRPO, and GRPO at the same samples
per step, each with the packed update and with ``shared_prefix_forward``. The variants take turns, one step
each per round, so load from other work on a shared machine falls on all of them alike; each step's own
timings (``layer1.generation_seconds``, ``layer2.generation_seconds``, ``train_seconds``, ``step_seconds``)
are kept, round 1 is warm-up, and the table gives the medians and the MGRPO/GRPO step-time ratio of both
update paths.

Usage: python bench/trainer/step_bench.py [--steps 6] [--model DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common  # noqa: E402


def step_timings(lines: list[dict]) -> dict[str, float]:
    """Median seconds of each phase over the steps after the first (warm-up) one."""
    measured = lines[1:] if len(lines) > 1 else lines
    layer2 = [line["layer2"]["generation_seconds"] if line.get("layer2") else 0.0 for line in measured]
    step = [line["step_seconds"] for line in measured]
    layer1 = [line["layer1"]["generation_seconds"] for line in measured]
    train = [line["train_seconds"] for line in measured]
    return {
        "steps": len(measured),
        "layer1": bench_common.median(layer1),
        "layer2": bench_common.median(layer2),
        "update": bench_common.median(train),
        "step": bench_common.median(step),
        # What none of the three phases covers: scoring, records, writing files.
        "other": bench_common.median([s - a - b - c for s, a, b, c in zip(step, layer1, layer2, train)]),
        "tokens_per_second": bench_common.median([line["tokens_per_second"] for line in measured]),
        "samples": measured[0]["layer1"]["samples"]
        + (measured[0]["layer2"]["samples"] if measured[0].get("layer2") else 0),
    }


def step_ratio(mgrpo: dict, grpo: dict) -> float:
    """How many GRPO steps one MGRPO step costs at equal generated samples (median step times)."""
    return mgrpo["step"] / grpo["step"] if grpo["step"] > 0 else float("nan")


VARIANTS = (("mgrpo", False), ("grpo", False), ("mgrpo", True), ("grpo", True))


def variant_name(algorithm: str, shared_prefix: bool) -> str:
    return algorithm + ("+shared-prefix" if shared_prefix else "")


def run(args: argparse.Namespace) -> dict[str, dict]:
    """Both algorithms, each with the packed and the shared-prefix update, in ONE process and round-robin:
    round r runs step r of every variant in turn, so a load that comes and goes on a shared machine falls on
    all four alike. A variant's timings are the medians over rounds 2.. of the step's own metrics line."""
    import io
    import shutil

    from mgrpo.config import resolve_config
    from mgrpo.protocol import Protocol
    from mgrpo.trainer import Trainer

    out = bench_common.OUT_DIR / "step"
    trainers, configs = {}, {}
    for algorithm in ("mgrpo", "grpo"):
        overrides = {"algorithm": algorithm, "max_steps": args.steps, "eval_size": 0, "save_steps": 0,
                     "seed": args.seed}
        if args.model:
            overrides["model_name_or_path"] = str(Path(args.model).resolve())
        if bench_common.quick_mode():
            overrides.update({"questions_per_step": 2, "num_generations": 2, "layer2_num_generations": 2,
                              "max_completion_length": 24})
        if algorithm == "grpo":
            # The same number of generated samples per step as MGRPO: Q*(1+G2) questions of G answers.
            mgrpo_config = configs["mgrpo"]
            overrides["questions_per_step"] = mgrpo_config["questions_per_step"] * (
                1 + mgrpo_config["layer2_num_generations"])
        configs[algorithm] = resolve_config(overrides=overrides, preset="demo")
        run_dir = out / algorithm
        if run_dir.exists():
            shutil.rmtree(run_dir)
        trainers[algorithm] = Trainer(dict(configs[algorithm]), run_dir, Protocol(io.StringIO()))
        trainers[algorithm].setup()
    lines: dict[str, list[dict]] = {variant_name(*variant): [] for variant in VARIANTS}
    for step in range(1, args.steps + 1):
        for algorithm, shared_prefix in VARIANTS:
            trainer = trainers[algorithm]
            trainer.config["shared_prefix_forward"] = shared_prefix
            # Each variant runs its own step numbers, so its problems are its own stream's.
            trainer.step = len(lines[variant_name(algorithm, shared_prefix)])
            lines[variant_name(algorithm, shared_prefix)].append(trainer.train_step(trainer.step + 1).metrics_line)
        print(f"round {step}/{args.steps}", file=sys.stderr, flush=True)
    results = {}
    for algorithm, shared_prefix in VARIANTS:
        name = variant_name(algorithm, shared_prefix)
        timings = step_timings(lines[name])
        timings["config"] = dict(configs[algorithm], shared_prefix_forward=shared_prefix)
        results[name] = timings
        print(
            f"{name}: step {timings['step']:.2f} s = layer-1 generation {timings['layer1']:.2f} s + layer-2 "
            f"generation {timings['layer2']:.2f} s + update {timings['update']:.2f} s + other {timings['other']:.2f} s "
            f"({timings['samples']} samples, {timings['tokens_per_second']:.0f} generated tok/s; median of "
            f"{timings['steps']} steps)"
        )
    return results


def write_page(args: argparse.Namespace, results: dict[str, dict]) -> None:
    config = results["mgrpo"]["config"]
    lines = bench_common.header_lines(
        "One training step, split by phase",
        args.seed,
        {
            "Model": bench_common.model_description(config["model_name_or_path"]),
            "Preset": f"demo: {config['questions_per_step']} questions x {config['num_generations']} layer-1 samples, "
                      f"{config['layer2_num_generations']} corrections each (layer2_inputs {config['layer2_inputs']}), "
                      f"max {config['max_completion_length']} new tokens, micro-batch {config['micro_batch_size']}",
            "Measure": f"one process, the four variants round-robin for {args.steps} rounds; median over rounds "
                       f"2..{args.steps} of each step's own timings (round 1 is warm-up)",
        },
    )

    def share(part: float, whole: float) -> str:
        return f"{100 * part / whole:.0f}%" if whole > 0 else "n/a"

    rows = []
    for algorithm, shared_prefix in VARIANTS:
        timing = results[variant_name(algorithm, shared_prefix)]
        rows.append([
            algorithm.upper(), "shared prefix" if shared_prefix else "packed", str(timing["samples"]),
            f"{timing['layer1']:.2f} s ({share(timing['layer1'], timing['step'])})",
            f"{timing['layer2']:.2f} s ({share(timing['layer2'], timing['step'])})" if algorithm == "mgrpo" else "-",
            f"{timing['update']:.2f} s ({share(timing['update'], timing['step'])})",
            f"{timing['other']:.2f} s",
            f"{timing['step']:.2f} s",
            f"{timing['tokens_per_second']:.0f}",
        ])
    lines += bench_common.markdown_table(
        ["algorithm", "update path", "samples/step", "layer-1 generation", "layer-2 generation", "update", "other", "step",
         "generated tok/s"],
        rows,
    )
    lines.append("")
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1):
        lines += [f"The machine was busy (load {load:.1f} on {os.cpu_count()} cores while this ran): seconds are "
                  "inflated and noisy; the ratios below compare runs that shared that load.", ""]
    for shared_prefix in (False, True):
        mgrpo = results[variant_name("mgrpo", shared_prefix)]
        grpo = results[variant_name("grpo", shared_prefix)]
        lines.append(
            f"- **MGRPO/GRPO step-time ratio at equal samples, {'shared-prefix' if shared_prefix else 'packed'} "
            f"update: {step_ratio(mgrpo, grpo):.2f}** (update alone: {mgrpo['update'] / grpo['update']:.2f}; "
            f"generation alone: {(mgrpo['layer1'] + mgrpo['layer2']) / grpo['layer1']:.2f}).")
    lines += [
        "",
        "\"update\" is the whole policy update: scoring old/reference log-probs, forward and backward over both",
        "layers' samples in micro-batches, and the optimizer step. \"other\" is verification, records and file",
        "writes. GRPO is the same preset with `algorithm: grpo` and questions_per_step raised to Q*(1+G2), so it",
        "generates as many samples per step as MGRPO (all of them first answers, with short prompts).",
        "\"shared prefix\" is `shared_prefix_forward: true`: each group's prompt runs once in the update and its",
        "completions read it through a shared key/value cache (same gradients); \"packed\" re-runs the prompt",
        "for every completion.",
    ]
    bench_common.write_results("trainer-step", lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2 if bench_common.quick_mode() else 6)
    parser.add_argument("--model", default=None, help="model folder (default: the demo preset's shipped model)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.steps < 2:
        parser.error(f"--steps must be >= 2 (the first step is warm-up), got {args.steps}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench_common.apply_threads()
    results = run(args)
    for shared_prefix in (False, True):
        ratio = step_ratio(results[variant_name("mgrpo", shared_prefix)], results[variant_name("grpo", shared_prefix)])
        print(f"MGRPO/GRPO step-time ratio ({'shared prefix' if shared_prefix else 'packed'}): {ratio:.2f}")
    write_page(args, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
