#!/usr/bin/env python
"""TRL's GRPOTrainer as a peer of our GRPO: same model folder, task, prompts, reward and sample budget.

It checks our GRPO against an implementation nobody here wrote. The run is offline and on CPU:
no hub access (HF_HUB_OFFLINE), no vLLM, no reporting, and the data set is built in memory.

It reads the same resolved run config (a JSON file of our trainer's keys, e.g. the GRPO run's) and maps it
onto GRPOConfig, so both read one source of truth:
- model: ``model_name_or_path`` (the shipped demo checkpoint), with its own tokenizer;
- prompts: ``layer1_template`` on the trainer's own training stream for ``seed`` (ProblemStream), in order,
  ``questions_per_step`` per optimizer step;
- reward: ``mgrpo.task.verify`` wrapped as a TRL reward function (1.0 right, 0.0 wrong);
- budget: ``max_steps`` generation rounds of ``questions_per_step * num_generations`` sampled completions. Our
  trainer makes ``num_iterations`` optimizer steps per round; TRL generates once every ``num_iterations``
  optimizer steps, so TRL gets ``max_steps * num_iterations`` optimizer steps. The samples reported are
  counted as TRL generated them (every completion passes through the reward function once), not assumed;
- beta, learning_rate, warmup_steps and schedule, weight_decay, max_grad_norm, epsilon, temperature, top_p
  (top-k off), max_completion_length, loss_type, scale_rewards, num_iterations.
Differences left (TRL's, not configurable): its group std is the sample std (ours: population std), and it
generates with ``transformers``' ``generate`` rather than our sampler.

Writes ``<out>/model`` (policy after training, tokenizer included) and ``<out>/summary.json``
(wall time, samples generated, per-step reward means as TRL logged them).

Usage: python bench/trainer/trl_peer.py --config bench/out/learning/grpo.config.json --out bench/out/learning/trl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

# Offline before anything from Hugging Face is imported: nothing may be fetched while benchmarking.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("WANDB_DISABLED", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common  # noqa: E402,F401  (puts trainer/ on sys.path)

from mgrpo.prompts import build_layer1_prompt  # noqa: E402
from mgrpo.task import verify  # noqa: E402

# Our lr_scheduler_type -> transformers' name (ours always allows a linear warm-up first).
SCHEDULERS = {"constant": "constant_with_warmup", "linear": "linear", "cosine": "cosine"}


def training_problems(config: dict, count: int):
    """The first ``count`` problems of the trainer's own training stream for this config."""
    from mgrpo.trainer import ProblemStream, build_task

    return ProblemStream(build_task(config), config["seed"]).take(count)


def chain_correctness_reward(prompts, completions, answer, **_unused):
    """TRL reward function: our verifier's reward for each completion against its row's answer.

    TRL passes every data set column as a keyword list aligned with ``completions``."""
    return [verify(completion, truth).reward for completion, truth in zip(completions, answer)]


class CountingReward:
    """The TRL reward function, counting the completions it scores: TRL scores every completion it generates
    exactly once, so the count is the number of samples TRL actually generated."""

    __name__ = "chain_correctness_reward"  # TRL names the reward's log column after the callable

    def __init__(self) -> None:
        self.completions = 0
        self.calls = 0

    def __call__(self, prompts, completions, answer, **unused):
        self.calls += 1
        self.completions += len(completions)
        return chain_correctness_reward(prompts, completions, answer, **unused)


def build_dataset(problems, layer1_template: str):
    from datasets import Dataset

    return Dataset.from_dict(
        {
            "prompt": [build_layer1_prompt(problem.question, layer1_template) for problem in problems],
            "answer": [problem.answer for problem in problems],
            "problem_id": [problem.id for problem in problems],
        }
    )


def run_peer(config: dict, out: Path, threads: int = 0) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    if config["algorithm"] != "grpo":
        raise ValueError(f"the TRL peer runs plain GRPO; the config has algorithm {config['algorithm']!r}")
    torch.manual_seed(config["seed"])
    if threads:
        torch.set_num_threads(threads)
    out.mkdir(parents=True, exist_ok=True)

    steps, questions, group = config["max_steps"], config["questions_per_step"], config["num_generations"]
    batch = questions * group
    iterations = config["num_iterations"]
    dataset = build_dataset(training_problems(config, steps * questions), config["layer1_template"])
    reward = CountingReward()
    model_path = config["model_name_or_path"]

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)

    grpo_args = GRPOConfig(
        output_dir=str(out / "trl-output"),
        # Budget: one generation round of questions_per_step * num_generations completions every num_iterations
        # optimizer steps (TRL reuses a round num_iterations times), as our trainer's step does.
        per_device_train_batch_size=batch,
        gradient_accumulation_steps=1,
        num_generations=group,
        max_steps=steps * iterations,
        num_iterations=iterations,
        learning_rate=config["learning_rate"],
        lr_scheduler_type=SCHEDULERS[config["lr_scheduler_type"]],
        warmup_steps=config["warmup_steps"],
        weight_decay=config["weight_decay"],
        # Ours: 0 turns clipping off; transformers: 0 does too (it clips only when > 0).
        max_grad_norm=config["max_grad_norm"],
        beta=config["beta"],
        epsilon=config["epsilon"],
        epsilon_high=config["epsilon_high"],
        loss_type=config["loss_type"],
        scale_rewards=config["scale_rewards"],
        temperature=config["temperature"],
        top_k=0,
        top_p=config["top_p"],
        max_completion_length=config["max_completion_length"],
        shuffle_dataset=False,  # the same problems in the same order as our runs
        disable_dropout=True,
        seed=config["seed"],
        data_seed=config["seed"],
        # CPU, full precision, no hub, no loggers, no checkpoints.
        use_cpu=True,
        bf16=False,
        fp16=False,
        gradient_checkpointing=False,
        use_vllm=False,
        report_to="none",
        logging_steps=1,
        save_strategy="no",
        push_to_hub=False,
        dataloader_num_workers=0,
        log_completions=False,
        disable_tqdm=True,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[reward],
        args=grpo_args,
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    started = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - started

    trainer.model.save_pretrained(str(out / "model"))
    tokenizer.save_pretrained(str(out / "model"))

    step_logs = [entry for entry in trainer.state.log_history if "reward" in entry]
    if reward.completions != steps * batch:
        print(f"WARNING: TRL generated {reward.completions} completions, not the {steps * batch} budgeted",
              file=sys.stderr)
    summary = {
        "steps": trainer.state.global_step // iterations,  # generation rounds: our trainer's steps
        "optimizer_steps": trainer.state.global_step,
        "samples_generated": reward.completions,
        "reward_calls": reward.calls,
        "train_seconds": train_seconds,
        "reward_mean_per_step": [entry["reward"] for entry in step_logs],
        "kl_per_step": [entry.get("kl") for entry in step_logs],
        "config": config,
        "trl_version": __import__("trl").__version__,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="our trainer's run config (JSON) with algorithm grpo")
    parser.add_argument("--out", required=True, help="folder for the trained model and summary.json")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads (0: torch's default, which follows OMP_NUM_THREADS)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from mgrpo.config import ConfigError, resolve_config

    args = parse_args(argv)
    try:
        config = resolve_config(args.config)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    summary = run_peer(config, Path(args.out), args.threads)
    rewards = summary["reward_mean_per_step"]
    print(
        f"TRL GRPOTrainer: {summary['steps']} steps, {summary['samples_generated']} samples, "
        f"{summary['train_seconds']:.1f} s; reward mean first {rewards[0] if rewards else 'n/a'} "
        f"last {rewards[-1] if rewards else 'n/a'}",
        file=sys.stderr,
    )
    print(json.dumps({"summary": str(Path(args.out) / "summary.json")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
