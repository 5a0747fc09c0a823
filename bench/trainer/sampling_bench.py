#!/usr/bin/env python
"""Sampling throughput with and without the KV cache, on the same prompts, in the same run.

Two prompt sets, each one batch as the demo preset samples it:
- layer 1: ``questions_per_step * num_generations`` question prompts ("Q: 3+5*2-7\\n", ~15 tokens);
- layer 2: ``questions_per_step * num_generations * layer2_num_generations`` correction prompts (question,
  a worked first answer, a guiding phrase: ~60-100 tokens), where recomputing the prefix costs most.

Both paths run ``mgrpo.sampling.generate`` greedily, so they produce the same tokens (checked) and the
tokens/s figures divide the same work; the only difference is ``use_cache``. Each figure is the median of
``--repeats`` timed runs after a short warm-up run.

Usage: python bench/trainer/sampling_bench.py [--model DIR] [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common  # noqa: E402  (puts trainer/ on sys.path)


def layer_prompts(questions: int, layer1_group: int, layer2_group: int, seed: int, min_ops: int, max_ops: int):
    """(layer-1 prompts, layer-2 prompts) shaped like one demo step's batches."""
    from mgrpo.prompts import DEFAULT_GUIDING_PHRASES, build_layer1_prompt, build_layer2_prompt
    from mgrpo.task import ChainTask

    task = ChainTask(min_ops=min_ops, max_ops=max_ops, seed=seed)
    stream = task.train_problems(random.Random(seed))
    problems = [next(stream) for _ in range(questions)]
    layer1 = [build_layer1_prompt(problem.question) for problem in problems for _ in range(layer1_group)]
    layer2 = []
    for index, problem in enumerate(problems):
        first_prompt = build_layer1_prompt(problem.question)
        # A worked first answer gives layer-2 prompts their real length; which answer does not matter here.
        first_answer = task.reference_solution(problem)
        for sample in range(layer1_group * layer2_group):
            phrase = DEFAULT_GUIDING_PHRASES[(index + sample) % len(DEFAULT_GUIDING_PHRASES)]
            layer2.append(build_layer2_prompt(first_prompt, first_answer, phrase))
    return layer1, layer2


def time_generation(model, tokenizer, prompts, *, use_cache: bool, max_new_tokens: int, repeats: int):
    """(median seconds, generated tokens, completions of the last run) for greedy decoding of ``prompts``."""
    from mgrpo.sampling import generate

    def once(new_tokens: int):
        started = time.perf_counter()
        completions = generate(model, tokenizer, prompts, max_new_tokens=new_tokens, greedy=True,
                               use_cache=use_cache)
        return time.perf_counter() - started, completions

    once(4)  # a short warm-up: first-call allocations and kernel selection are not what we measure
    timings, completions = [], None
    for _ in range(repeats):
        seconds, completions = once(max_new_tokens)
        timings.append(seconds)
    tokens = sum(len(completion.completion_ids) for completion in completions)
    return bench_common.median(timings), tokens, completions


def run(args: argparse.Namespace) -> list[dict]:
    import torch
    from mgrpo.policy import load_policy

    torch.manual_seed(args.seed)
    model, tokenizer = load_policy(args.model, torch.device("cpu"))
    layer1, layer2 = layer_prompts(args.questions, args.num_generations, args.layer2_num_generations, args.seed,
                                   args.min_ops, args.max_ops)
    rows = []
    for name, prompts in (("layer 1", layer1), ("layer 2", layer2)):
        prompt_tokens = [len(ids) for ids in tokenizer(prompts)["input_ids"]]
        cached_s, cached_tokens, cached = time_generation(
            model, tokenizer, prompts, use_cache=True, max_new_tokens=args.max_new_tokens, repeats=args.repeats)
        plain_s, plain_tokens, plain = time_generation(
            model, tokenizer, prompts, use_cache=False, max_new_tokens=args.max_new_tokens, repeats=args.repeats)
        same = [a.completion_ids for a in cached] == [b.completion_ids for b in plain]
        row = {
            "prompts": name,
            "batch": len(prompts),
            "prompt_tokens_mean": sum(prompt_tokens) / len(prompt_tokens),
            "generated_tokens": cached_tokens,
            "cache_seconds": cached_s,
            "no_cache_seconds": plain_s,
            "cache_tokens_per_second": cached_tokens / cached_s,
            "no_cache_tokens_per_second": plain_tokens / plain_s,
            "speedup": plain_s / cached_s,
            "same_tokens": same,
        }
        rows.append(row)
        print(
            f"{name}: batch {row['batch']}, prompt {row['prompt_tokens_mean']:.0f} tokens, "
            f"{cached_tokens} generated; KV cache {row['cache_tokens_per_second']:.0f} tok/s, "
            f"no cache {row['no_cache_tokens_per_second']:.0f} tok/s, speed-up x{row['speedup']:.2f}, "
            f"identical outputs: {same}"
        )
        if not same:
            print(f"WARNING: {name}: cached and uncached greedy outputs differ", file=sys.stderr)
    return rows


def write_page(args: argparse.Namespace, rows: list[dict]) -> None:
    lines = bench_common.header_lines(
        "Sampling throughput: KV cache vs. no cache",
        args.seed,
        {
            "Model": bench_common.model_description(args.model),
            "Decoding": f"greedy, up to {args.max_new_tokens} new tokens, `mgrpo.sampling.generate`, "
                        f"median of {args.repeats} runs after a short warm-up",
        },
    )
    lines += bench_common.markdown_table(
        ["prompts", "batch", "prompt tokens (mean)", "generated tokens", "KV cache tok/s", "no cache tok/s",
         "speed-up", "same tokens"],
        [
            [row["prompts"], str(row["batch"]), f"{row['prompt_tokens_mean']:.0f}", str(row["generated_tokens"]),
             f"{row['cache_tokens_per_second']:.0f}", f"{row['no_cache_tokens_per_second']:.0f}",
             f"x{row['speedup']:.2f}", "yes" if row["same_tokens"] else "**no**"]
            for row in rows
        ],
    )
    lines += [
        "",
        "Both paths are the trainer's own decoding loop; only `use_cache` differs. Without the cache every new",
        "token recomputes attention over the whole prefix, so the gap grows with prompt length: layer-2 prompts",
        "(question + first answer + guiding phrase) are where MGRPO spends most of its sampling.",
    ]
    bench_common.write_results("trainer-sampling", lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    quick = bench_common.quick_mode()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(bench_common.SHIPPED_MODEL))
    parser.add_argument("--questions", type=int, default=2 if quick else 4, help="questions per step")
    parser.add_argument("--num-generations", type=int, default=4, help="layer-1 group size")
    parser.add_argument("--layer2-num-generations", type=int, default=1 if quick else 4)
    parser.add_argument("--max-new-tokens", type=int, default=16 if quick else 64)
    parser.add_argument("--repeats", type=int, default=1 if quick else 3)
    parser.add_argument("--min-ops", type=int, default=3)
    parser.add_argument("--max-ops", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not Path(args.model, "config.json").is_file():
        parser.error(f"--model {args.model}: no config.json there (expected a Hugging Face model folder)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench_common.apply_threads()
    rows = run(args)
    write_page(args, rows)
    return 0 if all(row["same_tokens"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
