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

Several training seeds (``--seeds N``: seeds ``--seed`` .. ``--seed``+N-1); within a seed every policy answers
the same held-out problems, so each figure and each difference between policies gets a 95% interval from a
paired two-stage bootstrap over seeds and problems (stats.py), and pass-to-pass comparisons an exact McNemar
test. Checks against the "before" row and against GRPO can come out "no".

Usage: python bench/trainer/learning_bench.py [--seeds 5] [--steps 40] [--eval-size 500] [--grpo-steps-factor 2]
       [--no-trl] [--reuse] [--set key=value ...] [--mgrpo-set key=value ...] [--note "what was tried"]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common  # noqa: E402
import run_tools  # noqa: E402
import stats  # noqa: E402


def bench_config(algorithm: str, *, seed: int, steps: int, eval_size: int, eval_every: int,
                 model: str | None = None, overrides: dict | None = None) -> dict:
    """One benchmark run's config: the demo preset with the benchmark's schedule and ``overrides``."""
    from mgrpo.config import resolve_config

    values = {"algorithm": algorithm, "max_steps": steps, "eval_size": eval_size, "eval_steps": eval_every or steps,
              "save_steps": 0, "seed": seed,
              # Sampled accuracy is one number per run, not per problem, so it cannot be paired; it costs as
              # much as four greedy passes.
              "eval_num_samples": 0}
    if model:
        values["model_name_or_path"] = str(Path(model).resolve())
    values.update(overrides or {})
    return resolve_config(overrides=values, preset="demo")


def grpo_questions_for_budget(mgrpo: dict) -> int:
    """Questions per GRPO step that generate as many completions as one MGRPO step with every first answer
    corrected: Q*G*(1+G2) = (Q*(1+G2))*G."""
    if mgrpo["layer2_inputs"] != "all":
        raise SystemExit("the budget match assumes layer2_inputs 'all' in --set (use --mgrpo-set to vary it)")
    return mgrpo["questions_per_step"] * (1 + mgrpo["layer2_num_generations"])


def budget_matched_configs(args: argparse.Namespace, seed: int | None = None) -> tuple[dict, dict]:
    """(MGRPO config, GRPO config) for one seed: the demo preset, the same everything, GRPO with more
    questions per step so that both generate the same number of completions per optimizer step.

    ``--set`` applies to both runs and fixes the budget; ``--mgrpo-set`` applies to MGRPO alone (its layer-2
    settings), so its samples per step may then differ from GRPO's; they are reported as generated. GRPO runs
    ``--grpo-steps-factor`` times as many steps, evaluated every ``--steps``: its evaluation at ``--steps``
    is the equal-sample comparison (the learning rate schedule must then not depend on max_steps), a later
    one the equal-wall-time comparison (an MGRPO step costs about twice a GRPO step)."""
    seed = args.seed if seed is None else seed
    common = dict(seed=seed, eval_size=args.eval_size, model=args.model)
    base = bench_config("mgrpo", steps=args.steps, eval_every=args.eval_every, overrides=dict(args.set), **common)
    mgrpo = bench_config("mgrpo", steps=args.steps, eval_every=args.eval_every,
                         overrides={**dict(args.set), **dict(args.mgrpo_set)}, **common)
    if args.grpo_steps_factor > 1 and base["lr_scheduler_type"] != "constant":
        raise SystemExit("--grpo-steps-factor > 1 reads GRPO's equal-sample result mid-run, which equals a shorter "
                         "run only with lr_scheduler_type constant; use --grpo-steps-factor 1")
    grpo = bench_config("grpo", steps=args.steps * args.grpo_steps_factor, eval_every=args.eval_every or args.steps,
                        overrides={**dict(args.set), "questions_per_step": grpo_questions_for_budget(base)}, **common)
    assert grpo["questions_per_step"] * grpo["num_generations"] == base["questions_per_step"] * base[
        "num_generations"] * (1 + base["layer2_num_generations"])
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


# The rows of the results, in order; "before" is the shipped checkpoint on each seed's problems.
POLICY_NAMES = {
    "before": "shipped checkpoint (before)",
    "mgrpo": "MGRPO (ours)",
    "grpo": "GRPO (ours), equal samples",
    "grpo_wall": "GRPO (ours), about equal training time",
    "trl": "GRPO (TRL GRPOTrainer), equal samples",
}


def config_tag(config: dict) -> str:
    """A short fingerprint of a config, so runs of different configs never share a folder."""
    import hashlib

    return hashlib.sha256(json.dumps(config, sort_keys=True).encode("utf-8")).hexdigest()[:8]


def run_ours(config: dict, pool: Path, reuse: bool) -> dict:
    """Train (or, with ``reuse``, find in ``pool``) one of our runs; its run_tools.load_run view up to its
    max_steps, with ``reused`` set."""
    every = config["eval_steps"] or config["max_steps"]
    eval_steps = sorted({0, config["max_steps"], *range(every, config["max_steps"] + 1, every)})
    name = f"{config['algorithm']}-s{config['seed']}-{config_tag(config)}"
    print(f"{config['algorithm']} seed {config['seed']}: {config['max_steps']} steps...", file=sys.stderr, flush=True)
    run_dir, reused = run_tools.train_or_reuse(config, pool, name, eval_steps, reuse)
    run = run_tools.load_run(run_dir, upto=config["max_steps"])
    run.update(reused=reused, run_dir=run_dir)
    return run


def at_step(run: dict, step: int) -> dict:
    """One policy row from one of our runs: its evaluation at ``step`` and what it cost to get there."""
    if step not in run["evals"]:
        raise RuntimeError(f"{run['run_dir']} has no evaluation at step {step}")
    return {"eval": run["evals"][step], "samples": run["samples_at"][step], "seconds": run["seconds_at"][step],
            "step": step, "reused": run["reused"]}


def wall_matched_step(run: dict, seconds: float) -> int:
    """The evaluated step (after 0) whose training time is closest to ``seconds``."""
    steps = [step for step in run["evals"] if step > 0]
    return min(steps, key=lambda step: abs(run["seconds_at"][step] - seconds))


def run_trl(config: dict, pool: Path, reuse: bool) -> dict:
    """TRL's GRPOTrainer on ``config`` (a GRPO config), evaluated like ours; reused from ``pool`` when a
    finished peer run of the identical config is there and ``reuse`` is set."""
    out = pool / f"trl-s{config['seed']}-{config_tag(config)}"
    summary_path, eval_path = out / "summary.json", out / "eval.json"
    reused = (reuse and summary_path.is_file() and eval_path.is_file()
              and json.loads(summary_path.read_text(encoding="utf-8")).get("config") == config)
    if not reused:
        print(f"TRL GRPOTrainer seed {config['seed']}...", file=sys.stderr, flush=True)
        config_path = run_tools.write_config(pool / f"{out.name}.config.json", config)
        run_tools.run_logged([sys.executable, str(Path(__file__).resolve().parent / "trl_peer.py"),
                              "--config", str(config_path), "--out", str(out)],
                             pool / f"{out.name}.log", "TRL GRPOTrainer peer")
        result = run_tools.evaluate_model(out / "model", config_path, config["eval_size"], pool / f"{out.name}-eval.log")
        eval_path.write_text(json.dumps(result) + "\n", encoding="utf-8")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    return {"eval": json.loads(eval_path.read_text(encoding="utf-8")), "samples": summary["samples_generated"],
            "seconds": summary["train_seconds"], "step": summary["steps"], "reused": reused,
            "trl_version": summary["trl_version"]}


def seed_policies(args: argparse.Namespace, seed: int) -> dict[str, dict]:
    """Every policy row for one seed, keyed as POLICY_NAMES."""
    mgrpo_config, grpo_config = budget_matched_configs(args, seed)
    mgrpo = run_ours(mgrpo_config, args.out, args.reuse)
    grpo = run_ours(grpo_config, args.out, args.reuse)
    rows = {"before": at_step(mgrpo, 0), "mgrpo": at_step(mgrpo, args.steps), "grpo": at_step(grpo, args.steps)}
    if args.grpo_steps_factor > 1:
        rows["grpo_wall"] = at_step(grpo, wall_matched_step(grpo, rows["mgrpo"]["seconds"]))
    if not args.no_trl:
        rows["trl"] = run_trl(dict(grpo_config, max_steps=args.steps, eval_steps=args.steps), args.out, args.reuse)
    if grpo["evals"][0]["metrics"] != mgrpo["evals"][0]["metrics"]:
        print(f"WARNING: seed {seed}: the two runs' step-0 evaluations differ; 'before' shows MGRPO's", file=sys.stderr)
    return rows


def outcome_matrix(rows: dict[str, dict], policies: list[str], chain_task: bool):
    """(problems, policies x outcome columns) for one seed, after checking every policy answered the same
    problems in the same order (the pairing every interval relies on)."""
    import numpy as np

    reference = [problem["question_id"] for problem in rows[policies[0]]["eval"]["problems"]]
    blocks = []
    for policy in policies:
        ids = [problem["question_id"] for problem in rows[policy]["eval"]["problems"]]
        if ids != reference:
            raise RuntimeError(f"{POLICY_NAMES.get(policy, policy)} answered other held-out problems than "
                               f"{POLICY_NAMES.get(policies[0], policies[0])}: the comparison would not be paired")
        blocks.append(run_tools.outcome_columns(rows[policy]["eval"], chain_task))
    return np.hstack(blocks)


class Analysis:
    """Figures and differences with intervals over the seeds' outcome matrices (one set of resamples)."""

    def __init__(self, per_seed: list, policies: list[str], reps: int, seed: int = 0):
        self.per_seed, self.policies = per_seed, policies
        self.resampled = stats.bootstrap_means(per_seed, reps=reps, seed=seed)

    def stat(self, policy: str, name: str) -> stats.Statistic:
        return stats.figure(name, self.policies.index(policy))

    def estimate(self, statistic: stats.Statistic) -> stats.Estimate:
        return stats.estimate(self.per_seed, statistic, resampled=self.resampled)

    def figure(self, policy: str, name: str) -> stats.Estimate:
        return self.estimate(self.stat(policy, name))

    def diff(self, first: tuple[str, str], second: tuple[str, str]) -> stats.Estimate:
        return self.estimate(stats.difference(self.stat(*first), self.stat(*second)))

    def seeds_above_zero(self, first: tuple[str, str], second: tuple[str, str]) -> tuple[int, int]:
        statistic = stats.difference(self.stat(*first), self.stat(*second))
        values = [float(statistic(columns.mean(axis=0)[None, :])[0]) for columns in self.per_seed]
        return sum(value > 0 for value in values), len(values)

    def mcnemar(self, first: tuple[str, str], second: tuple[str, str]) -> float | None:
        """Exact McNemar p over the pooled (seed, problem) pairs of two passes; ``best`` is read as the pass
        with the higher mean; None for figures that are not one pass's accuracy."""
        import numpy as np

        columns = []
        for policy, name in (first, second):
            if name == "best":
                name = "acc_t2" if self.figure(policy, "acc_t2").point > self.figure(policy, "acc_t1").point else "acc_t1"
            if name not in ("acc_t1", "acc_t2"):
                return None
            index = self.policies.index(policy) * len(stats.OUTCOME_COLUMNS) + (0 if name == "acc_t1" else 1)
            columns.append(np.concatenate([matrix[:, index] for matrix in self.per_seed]))
        a, b = columns
        return stats.mcnemar_exact(int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum()))


PERCENT_FIGURES = [("acc_t1", "Acc@t1"), ("acc_t2", "Acc@t2"), ("best", "best of t1, t2"), ("delta", "Delta"),
                   ("delta_i2c", "Delta i->c"), ("delta_c2i", "Delta c->i")]
RATIO_FIGURES = [("cl", "CL"), ("cs", "CS"), ("rss", "RSS"), ("flawed_t1", "flawed chains t1"),
                 ("flawed_t2", "flawed chains t2")]


def fmt_estimate(estimate: stats.Estimate, kind: str) -> str:
    """``kind``: percent (a share, shown x100), signed (a difference of shares, x100 with sign), ratio."""
    if estimate.point != estimate.point:  # NaN
        return "n/a"
    if kind == "ratio":
        low = "n/a" if estimate.low != estimate.low else f"{estimate.low:.3f}"
        high = "n/a" if estimate.high != estimate.high else f"{estimate.high:.3f}"
        return f"{estimate.point:.3f} [{low}, {high}]"
    sign = "+" if kind == "signed" else ""
    return (f"{100 * estimate.point:{sign}.1f} [{100 * estimate.low:{sign}.1f}, "
            f"{100 * estimate.high:{sign}.1f}]")


def verdict(estimate: stats.Estimate) -> str:
    """Whether a difference is above zero, in words that can say no."""
    if estimate.low > 0:
        return "**yes**"
    if estimate.high < 0:
        return "**no**, the opposite holds"
    return "**no**, not shown (the interval includes 0)"


def figure_rows(analysis: Analysis, rows_by_seed: list[dict], chain_task: bool) -> tuple[list[list[str]], list[list[str]]]:
    """The two figure tables' rows: accuracies (percent) and ratios, each cell a mean with its interval."""
    percent_rows, ratio_rows = [], []
    for policy in analysis.policies:
        samples = [rows[policy]["samples"] for rows in rows_by_seed]
        seconds = [rows[policy]["seconds"] for rows in rows_by_seed]
        steps = sorted({rows[policy]["step"] for rows in rows_by_seed})
        cost = [POLICY_NAMES[policy], "/".join(map(str, steps)), f"{sum(samples) / len(samples):.0f}",
                "-" if policy == "before" else f"{sum(seconds) / len(seconds):.0f} s"]
        percent_rows.append(cost + [fmt_estimate(analysis.figure(policy, key), "signed" if key.startswith("delta") else
                                                 "percent") for key, _title in PERCENT_FIGURES])
        ratio_rows.append([POLICY_NAMES[policy]] + [
            "n/a" if key.startswith("flawed") and not chain_task else fmt_estimate(analysis.figure(policy, key), "ratio")
            for key, _title in RATIO_FIGURES])
    return percent_rows, ratio_rows


def difference_specs(policies: list[str]) -> list[tuple[str, tuple[str, str], tuple[str, str]]]:
    """(label, first, second): the differences that matter, for the policies present."""
    specs = [(f"MGRPO minus GRPO, equal samples: {title}", ("mgrpo", key), ("grpo", key))
             for key, title in (("acc_t1", "Acc@t1"), ("acc_t2", "Acc@t2"), ("best", "best"))]
    specs.append(("MGRPO's Acc@t2 minus GRPO's best, equal samples (the issue's aim)", ("mgrpo", "acc_t2"),
                  ("grpo", "best")))
    if "grpo_wall" in policies:
        specs += [("MGRPO minus GRPO, about equal training time: best", ("mgrpo", "best"), ("grpo_wall", "best")),
                  ("MGRPO's Acc@t2 minus GRPO's best, about equal training time", ("mgrpo", "acc_t2"),
                   ("grpo_wall", "best"))]
    if "trl" in policies:
        specs += [("MGRPO minus TRL GRPO, equal samples: best", ("mgrpo", "best"), ("trl", "best")),
                  ("GRPO (ours) minus TRL GRPO: Acc@t1", ("grpo", "acc_t1"), ("trl", "acc_t1")),
                  ("GRPO (ours) minus TRL GRPO: Acc@t2", ("grpo", "acc_t2"), ("trl", "acc_t2"))]
    for policy in [p for p in policies if p != "before"]:
        short = POLICY_NAMES[policy]  # the whole name: "GRPO (ours)" alone would name two policies
        specs += [(f"{short}: trained minus before, {title}", (policy, key), ("before", key))
                  for key, title in (("acc_t1", "Acc@t1"), ("acc_t2", "Acc@t2"), ("delta_i2c", "Delta i->c"),
                                     ("delta_c2i", "Delta c->i"))
                  if policy in ("mgrpo", "grpo") or key in ("acc_t1", "acc_t2")]
    return specs


def difference_rows(analysis: Analysis) -> list[list[str]]:
    rows = []
    for label, first, second in difference_specs(analysis.policies):
        above, seeds = analysis.seeds_above_zero(first, second)
        p_value = analysis.mcnemar(first, second)
        rows.append([label, fmt_estimate(analysis.diff(first, second), "signed"), f"{above} of {seeds}",
                     "-" if p_value is None else f"{p_value:.3g}"])
    return rows


def check_lines(analysis: Analysis) -> list[str]:
    """Checks that can come out no, each with its interval (percentage points)."""
    def shown(estimate):
        return fmt_estimate(estimate, "signed")

    improved = analysis.diff(("mgrpo", "acc_t2"), ("before", "acc_t2"))
    i2c = analysis.diff(("mgrpo", "delta_i2c"), ("before", "delta_i2c"))
    c2i = analysis.diff(("mgrpo", "delta_c2i"), ("before", "delta_c2i"))
    either = "**yes**" if i2c.low > 0 or c2i.high < 0 else (
        "**no**, the opposite holds" if i2c.high < 0 and c2i.low > 0 else "**no**, not shown (both intervals include 0)")
    delta = analysis.figure("mgrpo", "delta")
    lines = [
        "## Checks that can fail",
        "",
        f"- Training improved MGRPO's Acc@t2 (trained minus before): {verdict(improved)}, {shown(improved)}.",
        f"- MGRPO's corrections got better, Delta i->c rose or Delta c->i fell: {either} "
        f"(i->c {shown(i2c)}, c->i {shown(c2i)}).",
        f"- After training, MGRPO's Delta i->c above its Delta c->i (its correction pass helps): {verdict(delta)}, "
        f"Delta {shown(delta)}.",
    ]
    comparisons = [("grpo", "GRPO (ours) at equal samples"), ("grpo_wall", "GRPO (ours) at about equal training time"),
                   ("trl", "TRL's GRPOTrainer at equal samples")]
    for peer, words in comparisons:
        if peer not in analysis.policies:
            continue
        aim = analysis.diff(("mgrpo", "acc_t2"), (peer, "best"))
        best = analysis.diff(("mgrpo", "best"), (peer, "best"))
        lines.append(f"- MGRPO's Acc@t2 above the best accuracy of {words}: {verdict(aim)}, {shown(aim)}; "
                     f"MGRPO's best above it: {verdict(best)}, {shown(best)}.")
    return lines


def per_seed_rows(rows_by_seed: list[dict], seeds: list[int], policies: list[str]) -> list[list[str]]:
    table = []
    for seed, rows in zip(seeds, rows_by_seed):
        cells = [str(seed)]
        for policy in policies:
            m = rows[policy]["eval"]["metrics"]
            step = "" if policy in ("before", "mgrpo", "grpo") else f" (step {rows[policy]['step']})"
            cells.append(f"{bench_common.fmt_percent(m['acc_t1'])} / {bench_common.fmt_percent(m['acc_t2'])}{step}")
        table.append(cells)
    return table


def write_page(args: argparse.Namespace, seeds: list[int], rows_by_seed: list[dict], analysis: Analysis,
               total_seconds: float) -> Path:
    mgrpo_config, grpo_config = budget_matched_configs(args, seeds[0])
    m = mgrpo_config
    per_step = m["questions_per_step"] * m["num_generations"] * (1 + m["layer2_num_generations"])
    n = rows_by_seed[0]["before"]["eval"]["n"]
    reused = sorted({policy for rows in rows_by_seed for policy, row in rows.items() if row.get("reused")} - {"before"})
    lines = bench_common.header_lines(
        "Learning at an equal sample budget: GRPO vs. MGRPO vs. TRL GRPOTrainer, over seeds",
        None,
        {
            "Seeds": ", ".join(map(str, seeds)),
            "Model": bench_common.model_description(m["model_name_or_path"]),
            "Trainer": bench_common.trainer_version(),
            "Budget": f"{args.steps} optimizer steps x {per_step} generated completions = {args.steps * per_step} "
                      f"per method and seed; GRPO continues to {args.steps * args.grpo_steps_factor} steps for the "
                      "equal-training-time row",
            "Evaluation": f"greedy two-pass (answer, then one correction) on {n} held-out problems per seed (split "
                          f"`{rows_by_seed[0]['before']['eval']['split']}`; each seed draws its own), the same "
                          "problems for every policy of a seed",
            "Intervals": f"95%, paired two-stage bootstrap over seeds and problems, {args.reps} resamples "
                         "(bench/trainer/stats.py); exact McNemar test on pooled pairs",
            "Total wall time of this benchmark": bench_common.fmt_seconds(total_seconds)
            + (f" (runs reused from `{bench_common.display_path(args.out)}`: {', '.join(reused)}; their training "
               "time is in the table)" if reused else ""),
        },
    )
    changed = {**dict(args.set), **dict(args.mgrpo_set)}
    lines += [
        "Settings shared by all (the demo preset unless overridden): "
        f"learning rate {m['learning_rate']} ({m['lr_scheduler_type']}, {m['warmup_steps']} warm-up steps), "
        f"beta {m['beta']}, epsilon {m['epsilon']}, temperature {m['temperature']}, top-p {m['top_p']}, "
        f"max {m['max_completion_length']} new tokens, loss_type {m['loss_type']}, scale_rewards "
        f"{m['scale_rewards']}, max_grad_norm {m['max_grad_norm']}, num_iterations {m['num_iterations']}"
        + (f"; overridden: {', '.join(f'{k}={json.dumps(v)}' for k, v in changed.items())}" if changed else "") + ".",
        "",
        f"- MGRPO: {m['questions_per_step']} questions x {m['num_generations']} first answers, layer2_inputs "
        f"`{m['layer2_inputs']}`, {m['layer2_num_generations']} corrections each, layer2_loss_weight "
        f"{m['layer2_loss_weight']}, filter_equal_reward_groups {str(m['filter_equal_reward_groups']).lower()}.",
        f"- GRPO (ours) and TRL: {grpo_config['questions_per_step']} questions x {grpo_config['num_generations']} "
        "answers per step. TRL reads the GRPO run's config (at the equal-sample step count); its reward is "
        "`mgrpo.task.verify`, and its samples are counted as its reward function received them.",
        "",
        "Mean over seeds and 95% interval. Accuracies and deltas are percentages of the held-out problems:",
        "",
    ]
    percent_rows, ratio_rows = figure_rows(analysis, rows_by_seed, m["task"] == "chain")
    lines += bench_common.markdown_table(
        ["policy", "step", "samples generated", "training time", *(title for _k, title in PERCENT_FIGURES)],
        percent_rows)
    lines += ["", "CL = P(right at t2 | right at t1), CS = P(right at t2 | wrong at t1), RSS = (Acc@t2 - Acc@t1^2) / "
              "(2 Acc@t1 (1 - Acc@t1)) (above 0.5: correction helps); flawed chains = share of right answers whose "
              "chain has a wrong, missing or extra step (the chain task's step checker):", ""]
    lines += bench_common.markdown_table(["policy", *(title for _k, title in RATIO_FIGURES)], ratio_rows)
    lines += ["", "Training time is the sum of step times up to that step (sampling + update; no start-up or "
              "evaluation); TRL's is its `train()` call. The equal-training-time GRPO row is the evaluated GRPO step "
              "whose training time is closest to MGRPO's.", "",
              "## Differences (paired, percentage points)", ""]
    lines += bench_common.markdown_table(["difference", "mean [95% interval]", "seeds above 0", "exact McNemar p"],
                                         difference_rows(analysis))
    lines += ["", "\"best\" is the higher of a policy's Acc@t1 and Acc@t2, chosen again in every resample; McNemar "
              "compares the pass with the higher mean.", ""]
    lines += check_lines(analysis)
    lines += ["", "## Per seed (Acc@t1 / Acc@t2)", ""]
    lines += bench_common.markdown_table(["seed", *(POLICY_NAMES[p] for p in analysis.policies)],
                                         per_seed_rows(rows_by_seed, seeds, analysis.policies))
    if args.notes:
        lines += ["", "## Notes", "", *[f"- {note}" for note in args.notes]]
    return bench_common.write_results(args.page, lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    quick = bench_common.quick_mode()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2 if quick else 40, help="optimizer steps per method")
    parser.add_argument("--eval-size", type=int, default=8 if quick else 500, help="held-out problems per seed")
    parser.add_argument("--eval-every", type=int, default=0,
                        help="also evaluate every N steps (0: only before and at the end of each budget)")
    parser.add_argument("--seeds", type=int, default=1 if quick else 5, help="training seeds")
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument("--grpo-steps-factor", type=int, default=2,
                        help="GRPO trains this many times --steps for the equal-training-time row (1: leave it out)")
    parser.add_argument("--model", default=None, help="model folder (default: the shipped demo model)")
    parser.add_argument("--no-trl", action="store_true", help="leave the TRL peer out")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse finished runs of identical configs in --out (e.g. study.py's) instead of training")
    parser.add_argument("--out", type=Path, default=bench_common.OUT_DIR / "runs", help="folder for the runs")
    parser.add_argument("--reps", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--page", default="trainer-learning", help="results page name (bench/results/NAME.md)")
    parser.add_argument("--set", action="append", type=parse_set, default=[], metavar="KEY=VALUE",
                        help="override a config key for all runs (e.g. --set learning_rate=3e-4)")
    parser.add_argument("--mgrpo-set", action="append", type=parse_set, default=[], metavar="KEY=VALUE",
                        help="override a config key for MGRPO only (e.g. --mgrpo-set layer2_loss_weight=0.25)")
    parser.add_argument("--note", dest="notes", action="append", default=[], help="a line for the page's notes")
    args = parser.parse_args(argv)
    if quick:
        args.set = [("questions_per_step", 2), ("num_generations", 2), ("layer2_num_generations", 2),
                    ("max_completion_length", 24), *args.set]
    if args.steps < 1 or args.eval_size < 1 or args.seeds < 1 or args.grpo_steps_factor < 1 or args.reps < 100:
        parser.error("--steps, --eval-size, --seeds and --grpo-steps-factor must be >= 1, --reps >= 100")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench_common.apply_threads()
    started = time.perf_counter()
    seeds = list(range(args.seed, args.seed + args.seeds))
    rows_by_seed = [seed_policies(args, seed) for seed in seeds]
    policies = [policy for policy in POLICY_NAMES if policy in rows_by_seed[0]]
    chain_task = budget_matched_configs(args, seeds[0])[0]["task"] == "chain"
    analysis = Analysis([outcome_matrix(rows, policies, chain_task) for rows in rows_by_seed], policies, args.reps)
    for policy in policies:
        print(f"{POLICY_NAMES[policy]}: Acc@t1 {fmt_estimate(analysis.figure(policy, 'acc_t1'), 'percent')}, "
              f"Acc@t2 {fmt_estimate(analysis.figure(policy, 'acc_t2'), 'percent')}")
    print("\n".join(check_lines(analysis)[2:]))
    write_page(args, seeds, rows_by_seed, analysis, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
