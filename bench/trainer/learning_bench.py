#!/usr/bin/env python
"""GRPO vs. MGRPO (vs. TRL's GRPOTrainer) from the shipped checkpoint, at an equal budget of generated samples.

An MGRPO step samples ``Q*G`` first answers and ``Q*G*G2`` corrections (``layer2_inputs: all``). The GRPO
run gets ``Q*(1+G2)`` questions per step instead of ``Q`` so that, over the same number of optimizer steps,
both generate exactly the same number of completions. TRL's GRPOTrainer runs the GRPO config as a peer
(same model folder, prompts, problem stream, reward, budget, beta, learning rate, temperature).

Every policy is evaluated the same way: ``python -m mgrpo eval`` semantics, greedy, two-pass (answer, then
one correction with the guiding phrases in rotation) on the task's held-out split; the table is MGRPO.md's
(Acc@t1, Acc@t2, Delta, Delta i->c, Delta c->i, CL, CS, RSS). Our runs evaluate themselves at step 0 and at
the end (eval/step-*.json); the TRL model is evaluated with ``python -m mgrpo eval`` on the same problems.

Usage: python bench/trainer/learning_bench.py [--steps 40] [--eval-size 200] [--eval-every 20] [--seed 0] [--no-trl]
       [--set key=value ...] [--note "what was tried"]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common  # noqa: E402
import run_tools  # noqa: E402

METRIC_COLUMNS = [("acc_t1", "Acc@t1"), ("acc_t2", "Acc@t2"), ("delta", "Delta"), ("delta_i2c", "Delta i->c"),
                  ("delta_c2i", "Delta c->i"), ("cl", "CL"), ("cs", "CS"), ("rss", "RSS")]


def budget_matched_configs(args: argparse.Namespace) -> tuple[dict, dict]:
    """(MGRPO config, GRPO config): the demo preset, the same everything, GRPO with more questions per step."""
    from mgrpo.config import resolve_config

    overrides = {"max_steps": args.steps, "eval_size": args.eval_size, "eval_steps": args.eval_every, "save_steps": 0,
                 "seed": args.seed}
    if args.model:
        overrides["model_name_or_path"] = str(Path(args.model).resolve())
    for key, value in args.set:
        overrides[key] = value
    mgrpo = resolve_config(overrides=dict(overrides, algorithm="mgrpo"), preset="demo")
    if mgrpo["layer2_inputs"] != "all":
        raise SystemExit("the budget match assumes layer2_inputs 'all' (a fixed number of corrections per step)")
    samples_per_step = mgrpo["questions_per_step"] * mgrpo["num_generations"] * (1 + mgrpo["layer2_num_generations"])
    grpo_questions = mgrpo["questions_per_step"] * (1 + mgrpo["layer2_num_generations"])
    grpo = resolve_config(overrides=dict(overrides, algorithm="grpo", questions_per_step=grpo_questions),
                          preset="demo")
    assert grpo["questions_per_step"] * grpo["num_generations"] == samples_per_step
    return mgrpo, grpo


def parse_set(text: str) -> tuple[str, object]:
    """``--set key=value`` (a JSON value, or a bare string) for trying other hyperparameters."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--set expects key=value, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip().replace("-", "_"), value


def run_ours(name: str, config: dict, out: Path) -> dict:
    config_path = run_tools.write_config(out / f"{name}.config.json", config)
    run_dir = out / name
    print(f"training {name} ({config['max_steps']} steps)...", file=sys.stderr, flush=True)
    wall = run_tools.train(config_path, run_dir, out / f"{name}.log")
    lines = run_tools.read_metrics(run_dir)
    before = run_tools.read_eval(run_dir, 0)
    after = run_tools.read_eval(run_dir, lines[-1]["step"])
    train_seconds = sum(line["step_seconds"] for line in lines)
    curve = {int(path.stem.split("-")[1]): json.loads(path.read_text(encoding="utf-8"))["metrics"]
             for path in sorted((run_dir / "eval").glob("step-*.json"))}
    return {"curve": curve, "name": name, "config_path": config_path, "wall_seconds": wall,
            "train_seconds": train_seconds,
            "samples": run_tools.samples_generated(lines), "steps": len(lines), "before": before, "after": after,
            "layer1_reward_first": lines[0]["layer1"]["reward_mean"],
            "layer1_reward_last": mean([line["layer1"]["reward_mean"] for line in lines[-10:]])}


def run_trl(grpo_config_path: Path, out: Path, eval_size: int) -> dict:
    peer_out = out / "trl"
    print("training TRL GRPOTrainer...", file=sys.stderr, flush=True)
    wall, stdout = run_tools.run_logged(
        [sys.executable, str(Path(__file__).resolve().parent / "trl_peer.py"), "--config", str(grpo_config_path),
         "--out", str(peer_out)],
        out / "trl.log", "TRL GRPOTrainer peer")
    summary = json.loads((peer_out / "summary.json").read_text(encoding="utf-8"))
    after = run_tools.evaluate_model(peer_out / "model", grpo_config_path, eval_size, out / "trl-eval.log")
    rewards = summary["reward_mean_per_step"]
    return {"name": "trl", "wall_seconds": wall, "train_seconds": summary["train_seconds"],
            "samples": summary["samples_generated"], "steps": summary["steps"], "after": after,
            "layer1_reward_first": rewards[0] if rewards else None,
            "layer1_reward_last": mean(rewards[-10:]) if rewards else None,
            "trl_version": summary["trl_version"]}


def mean(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if present else None


def metric_cells(metrics: dict) -> list[str]:
    cells = []
    for key, _title in METRIC_COLUMNS:
        value = metrics[key]
        if key in ("cl", "cs", "rss"):
            cells.append(bench_common.fmt_ratio(value))
        elif key.startswith("delta"):
            cells.append("n/a" if value is None else f"{100 * value:+.1f}")
        else:
            cells.append(bench_common.fmt_percent(value))
    return cells


def verdict_lines(mgrpo: dict) -> list[str]:
    """Plain words on whether MGRPO did what the method promises on this run."""
    m = mgrpo["after"]["metrics"]
    b = mgrpo["before"]["metrics"]
    t2_above_t1 = m["acc_t2"] is not None and m["acc_t1"] is not None and m["acc_t2"] > m["acc_t1"]
    i2c_above_c2i = m["delta_i2c"] > m["delta_c2i"]
    lines = ["## Did MGRPO do what it should?", ""]
    lines.append(f"- Acc@t2 above Acc@t1 after training: **{'yes' if t2_above_t1 else 'no'}** "
                 f"({100 * m['acc_t2']:.1f} vs {100 * m['acc_t1']:.1f}; before training "
                 f"{100 * b['acc_t2']:.1f} vs {100 * b['acc_t1']:.1f}).")
    lines.append(f"- Delta i->c above Delta c->i after training: **{'yes' if i2c_above_c2i else 'no'}** "
                 f"({100 * m['delta_i2c']:.1f} vs {100 * m['delta_c2i']:.1f}; before "
                 f"{100 * b['delta_i2c']:.1f} vs {100 * b['delta_c2i']:.1f}).")
    return lines


def comparison_lines(results: list[dict], names: dict[str, str]) -> list[str]:
    """The same budget's other policies, in the terms of the verdict: does correcting help them, and which
    final answer (after the correction pass when it helps) is best."""
    lines = []
    for result in results:
        if result["name"] == "mgrpo":
            continue
        m = result["after"]["metrics"]
        lines.append(f"- {names[result['name']]} at the same budget: Delta {100 * m['delta']:+.1f} "
                     f"(i->c {100 * m['delta_i2c']:.1f} vs c->i {100 * m['delta_c2i']:.1f}).")
    best = ", ".join(
        f"{names[r['name']]} {100 * max(r['after']['metrics']['acc_t1'], r['after']['metrics']['acc_t2']):.1f}"
        for r in results)
    lines.append(f"- Best accuracy each policy reaches, with or without its correction pass: {best}.")
    return lines


def write_page(args, mgrpo_config: dict, results: list[dict], total_seconds: float) -> None:
    before = results[0]["before"]
    samples_per_step = mgrpo_config["questions_per_step"] * mgrpo_config["num_generations"] * (
        1 + mgrpo_config["layer2_num_generations"])
    lines = bench_common.header_lines(
        "Learning at an equal sample budget: GRPO vs. MGRPO vs. TRL GRPOTrainer",
        args.seed,
        {
            "Model": bench_common.model_description(mgrpo_config["model_name_or_path"]),
            "Budget": f"{args.steps} optimizer steps x {samples_per_step} generated completions = "
                      f"{args.steps * samples_per_step} per method",
            "Evaluation": f"greedy two-pass (answer, then one correction) on {before['n']} held-out problems "
                          f"(split `{before['split']}`), the same problems for every row",
            "Total wall time of this benchmark": bench_common.fmt_seconds(total_seconds),
        },
    )
    m, g = mgrpo_config, next(r for r in results if r["name"] == "grpo")
    lines += [
        "Settings shared by all three (the demo preset unless overridden): "
        f"learning rate {m['learning_rate']} ({m['lr_scheduler_type']}, {m['warmup_steps']} warm-up steps), "
        f"beta {m['beta']}, epsilon {m['epsilon']}, temperature {m['temperature']}, top-p {m['top_p']}, "
        f"max {m['max_completion_length']} new tokens, loss_type {m['loss_type']}, scale_rewards "
        f"{m['scale_rewards']}, max_grad_norm {m['max_grad_norm']}, seed {m['seed']}.",
        "",
        f"- MGRPO: {m['questions_per_step']} questions x {m['num_generations']} first answers, each corrected "
        f"{m['layer2_num_generations']} times (layer2_inputs `{m['layer2_inputs']}`).",
        f"- GRPO (ours) and TRL: {samples_per_step // m['num_generations']} questions x {m['num_generations']} "
        "answers per step. TRL reads the GRPO run's config file; its reward is `mgrpo.task.verify`.",
        "",
    ]
    names = {"mgrpo": "MGRPO (ours)", "grpo": "GRPO (ours)", "trl": "GRPO (TRL GRPOTrainer)"}
    rows = [["shipped checkpoint (before)", "0", *metric_cells(before["metrics"]), "-", "-"]]
    for result in results:
        reward = result["layer1_reward_last"]
        rows.append([
            names[result["name"]] + (f" {result['trl_version']}" if result["name"] == "trl" else ""),
            str(result["samples"]), *metric_cells(result["after"]["metrics"]),
            "n/a" if reward is None else f"{reward:.2f}",
            f"{result['train_seconds']:.0f} s",
        ])
    lines += bench_common.markdown_table(
        ["policy", "samples generated", *(title for _key, title in METRIC_COLUMNS),
         "layer-1 training reward (last 10 steps)", "training time"],
        rows,
    )
    lines += [
        "",
        "Accuracies and deltas are percentages of the held-out problems; CL = P(right at t2 | right at t1), "
        "CS = P(right at t2 | wrong at t1), RSS = (Acc@t2 - Acc@t1^2) / (2 Acc@t1 (1 - Acc@t1)) (above 0.5: "
        "correction helps; n/a when undefined). Training time is the sum of step times (sampling + update, "
        "no start-up or evaluation); TRL's is its `train()` call.",
        "",
    ]
    ours = [r for r in results if r.get("curve")]
    steps = sorted(set().union(*(r["curve"] for r in ours)))
    if len(steps) > 2:
        lines += ["Held-out accuracy during training (greedy two-pass, same problems), Acc@t1 / Acc@t2:", ""]
        lines += bench_common.markdown_table(
            ["step", *(names[r["name"]] for r in ours)],
            [[str(step), *(f"{bench_common.fmt_percent(r['curve'][step]['acc_t1'])} / "
                           f"{bench_common.fmt_percent(r['curve'][step]['acc_t2'])}" if step in r["curve"] else "-"
                           for r in ours)] for step in steps],
        )
        lines.append("")
    lines += verdict_lines(next(r for r in results if r["name"] == "mgrpo"))
    lines += comparison_lines(results, names)
    trl = next((r for r in results if r["name"] == "trl"), None)
    if trl is not None:
        ours_m, peer_m = g["after"]["metrics"], trl["after"]["metrics"]
        n = before["n"]
        # Half-width of a 95% normal interval for one accuracy near p, to read the gap against.
        p = max(min(ours_m["acc_t1"], 0.99), 0.01)
        lines += [
            f"- Our GRPO against TRL's GRPOTrainer (same config, reward and budget): Acc@t1 "
            f"{100 * ours_m['acc_t1']:.1f} vs {100 * peer_m['acc_t1']:.1f}, Acc@t2 {100 * ours_m['acc_t2']:.1f} vs "
            f"{100 * peer_m['acc_t2']:.1f} (with n = {n}, one accuracy's 95% interval is about "
            f"+-{196 * (p * (1 - p) / n) ** 0.5:.1f} points).",
        ]
    if args.notes:
        lines += ["", "## What was tried", "", *[f"- {note}" for note in args.notes]]
    bench_common.write_results("trainer-learning", lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    quick = bench_common.quick_mode()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2 if quick else 40, help="optimizer steps per method")
    parser.add_argument("--eval-size", type=int, default=8 if quick else 200, help="held-out problems")
    parser.add_argument("--eval-every", type=int, default=0 if quick else 20,
                        help="also evaluate our runs every N steps (0: only before and after)")
    parser.add_argument("--model", default=None, help="model folder (default: the shipped demo model)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-trl", action="store_true", help="leave the TRL peer out")
    parser.add_argument("--set", action="append", type=parse_set, default=[], metavar="KEY=VALUE",
                        help="override a config key for all runs (e.g. --set learning_rate=3e-4)")
    parser.add_argument("--note", dest="notes", action="append", default=[],
                        help="a line for the results page's 'What was tried' section")
    args = parser.parse_args(argv)
    if quick:
        args.set = [("questions_per_step", 2), ("num_generations", 2), ("layer2_num_generations", 2),
                    ("max_completion_length", 24), *args.set]
    if args.steps < 1 or args.eval_size < 1:
        parser.error("--steps and --eval-size must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    import time

    args = parse_args(argv)
    bench_common.apply_threads()
    started = time.perf_counter()
    out = bench_common.OUT_DIR / "learning"
    mgrpo_config, grpo_config = budget_matched_configs(args)
    results = [run_ours("mgrpo", mgrpo_config, out), run_ours("grpo", grpo_config, out)]
    if not args.no_trl:
        results.append(run_trl(results[1]["config_path"], out, args.eval_size))
    if results[0]["before"]["metrics"] != results[1]["before"]["metrics"]:
        print("WARNING: the two runs' step-0 evaluations differ; the 'before' row shows MGRPO's", file=sys.stderr)
    samples = {result["name"]: result["samples"] for result in results}
    if len(set(samples.values())) != 1:
        print(f"WARNING: sample budgets differ: {samples}", file=sys.stderr)
    for result in results:
        metrics = result["after"]["metrics"]
        print(f"{result['name']}: {result['samples']} samples, {result['train_seconds']:.0f} s training; "
              + ", ".join(f"{title} {cell}" for (_k, title), cell in zip(METRIC_COLUMNS, metric_cells(metrics))))
    write_page(args, mgrpo_config, results, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
