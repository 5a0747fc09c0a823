#!/usr/bin/env python
"""Build the embedded demo model (trainer/models/mgrpo-demo-tiny) from nothing but a seed.

The demo needs a policy that MGRPO can visibly improve in minutes on a laptop CPU: one whose first answers
are often wrong, whose corrections are possible but imperfect, and which samples more errors than it makes
greedily. So this script trains a ~0.9M-parameter Llama-style character model from scratch, by supervised
fine-tuning on solutions written by a simulated *fallible student* of ChainTask:

- Layer-1 solutions (prompt "Q: 3+5*2-7\\n"): each step is a fact "a op b". For most facts the student is
  right except for occasional slips. For a seeded set of "misconception" facts it usually writes one fixed
  wrong value, so even greedy decoding gets every chain that passes through one of them wrong. Later steps
  continue from whatever value was written, so the final answer follows the chain.
- Layer-2 corrections (prompt = the layer-1 exchange + a guiding phrase): the student walks the chain
  again. A step the first attempt got right (from the same value) is usually kept. A step it got wrong, or
  one reached from a different value, is redone with the student's second-look beliefs: one third of the
  misconceptions are usually fixed on a second look ("fixable"), the rest usually not ("sticky"); and a
  separate set of "over-correction" facts is usually changed from right to wrong. That gives the base
  model both wrong->right and right->wrong corrections, as real base models show.

Every probability is a named constant below; the model card records them together with the measured
held-out accuracies (greedy two-pass Acc@t1/Acc@t2 with the SCoRe deltas, and sampled accuracy at T=1).

Usage (the shipped model: two stages; the model card lists the exact commands):
  python trainer/scripts/make_demo_model.py --seed 0 --steps 1200 --threads 1 --out /tmp/mgrpo-demo-stage1
  python trainer/scripts/make_demo_model.py --seed 0 --steps 1500 --threads 1 \
      --init-from /tmp/mgrpo-demo-stage1 --out trainer/models/mgrpo-demo-tiny
Before about 2500 steps of batch 32 the model has learned the arithmetic but still copies the question's
operators into the wrong lines, and greedy accuracy sits near 20%; it then converges to the student's mode.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from mgrpo.char_tokenizer import MODEL_MAX_LENGTH, save_char_tokenizer  # noqa: E402
from mgrpo.prompts import (  # noqa: E402
    DEFAULT_GUIDING_PHRASES,
    build_layer1_prompt,
    build_layer2_prompt,
    choose_guiding_phrase,
)
from mgrpo.task import (  # noqa: E402
    CHAIN_OPERATORS,
    ChainTask,
    Problem,
    apply_chain_op,
    format_chain_step,
    format_final_answer,
    parse_chain,
    verify,
)

Fact = tuple[int, str, int]  # (left, operator, right)


# --------------------------------------------------------------------------------------------------
# The simulated student that writes the SFT data
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudentProfile:
    """How often the simulated student is wrong, and where. Probabilities are per step."""

    misconception_share: float = 0.15  # share of the 300 facts with a fixed wrong belief at layer 1
    fixable_share: float = 1 / 3  # share of those that a second look usually fixes
    overcorrection_share: float = 0.06  # share of the other facts that a second look usually breaks
    layer1_slip: float = 0.10  # random wrong digit on an ordinary fact
    layer1_misconception: float = 0.65  # P(misconceived value) on a misconception fact (rest: truth/slip)
    keep_correct: float = 0.97  # P(keep a step the first attempt got right from the same value)
    fixable_recall: float = 0.65  # P(truth) when redoing a fixable misconception
    sticky_recall: float = 0.30  # P(truth) when redoing a sticky misconception
    overcorrection: float = 0.60  # P(wrong value) on an over-correction fact in a correction
    layer2_slip: float = 0.05  # random wrong digit when redoing a step


class Student:
    """Beliefs about every fact, drawn once from a seed; writes noisy solutions and corrections."""

    def __init__(self, profile: StudentProfile, seed: int):
        self.profile = profile
        belief_rng = random.Random(f"student-beliefs-{seed}")
        facts: list[Fact] = [(a, op, b) for a in range(10) for op in CHAIN_OPERATORS for b in range(10)]
        belief_rng.shuffle(facts)
        n_misconceived = round(profile.misconception_share * len(facts))
        n_fixable = round(profile.fixable_share * n_misconceived)
        misconceived = facts[:n_misconceived]
        rest = facts[n_misconceived:]
        n_overcorrected = round(profile.overcorrection_share * len(rest))
        self.fixable = set(misconceived[:n_fixable])
        self.sticky = set(misconceived[n_fixable:])
        self.overcorrected = set(rest[:n_overcorrected])
        # One fixed wrong value per misconception / over-correction fact.
        self.wrong_value = {fact: self._other_digit(belief_rng, apply_chain_op(*fact)) for fact in facts}

    @staticmethod
    def _other_digit(rng: random.Random, truth: int) -> int:
        return rng.choice([d for d in range(10) if d != truth])

    def _pick(self, rng: random.Random, fact: Fact, p_truth: float, p_wrong_value: float) -> int:
        """Truth with p_truth, the fact's fixed wrong value with p_wrong_value, else a random other digit."""
        truth = apply_chain_op(*fact)
        roll = rng.random()
        if roll < p_truth:
            return truth
        if roll < p_truth + p_wrong_value:
            return self.wrong_value[fact]
        return self._other_digit(rng, truth)

    def layer1_step(self, rng: random.Random, fact: Fact) -> int:
        p = self.profile
        if fact in self.fixable or fact in self.sticky:
            return self._pick(rng, fact, 1 - p.layer1_misconception - p.layer1_slip, p.layer1_misconception)
        return self._pick(rng, fact, 1 - p.layer1_slip, 0.0)

    def redo_step(self, rng: random.Random, fact: Fact) -> int:
        p = self.profile
        if fact in self.fixable:
            return self._pick(rng, fact, p.fixable_recall, 1 - p.fixable_recall - p.layer2_slip)
        if fact in self.sticky:
            return self._pick(rng, fact, p.sticky_recall, 1 - p.sticky_recall - p.layer2_slip)
        if fact in self.overcorrected:
            return self._pick(rng, fact, 1 - p.overcorrection - p.layer2_slip, p.overcorrection)
        return self._pick(rng, fact, 1 - p.layer2_slip, 0.0)

    def solve(self, rng: random.Random, question: str) -> tuple[str, list[tuple[int, int]]]:
        """A layer-1 attempt; returns the completion and its (input, output) value per step."""
        value, operations = parse_chain(question)
        lines, trace = [], []
        for operator, operand in operations:
            result = self.layer1_step(rng, (value, operator, operand))
            lines.append(format_chain_step(value, operator, operand, result))
            trace.append((value, result))
            value = result
        lines.append(format_final_answer(str(value)))
        return "".join(line + "\n" for line in lines), trace

    def correct(self, rng: random.Random, question: str, first_trace: list[tuple[int, int]]) -> str:
        """A layer-2 correction of a first attempt whose per-step values are ``first_trace``."""
        p = self.profile
        value, operations = parse_chain(question)
        lines = []
        for (operator, operand), (first_input, first_output) in zip(operations, first_trace):
            fact = (value, operator, operand)
            truth = apply_chain_op(*fact)
            if first_input == value and first_output == truth and fact not in self.overcorrected:
                result = truth if rng.random() < p.keep_correct else self._other_digit(rng, truth)
            else:
                result = self.redo_step(rng, fact)
            lines.append(format_chain_step(value, operator, operand, result))
            value = result
        lines.append(format_final_answer(str(value)))
        return "".join(line + "\n" for line in lines)


def sft_example(student: Student, rng: random.Random, problem: Problem, layer: int) -> tuple[str, str]:
    """(prompt, completion) of one SFT example of the given layer."""
    layer1_prompt = build_layer1_prompt(problem.question)
    first_attempt, first_trace = student.solve(rng, problem.question)
    if layer == 1:
        return layer1_prompt, first_attempt
    phrase = choose_guiding_phrase(rng, DEFAULT_GUIDING_PHRASES)
    prompt = build_layer2_prompt(layer1_prompt, first_attempt, phrase)
    return prompt, student.correct(rng, problem.question, first_trace)


# --------------------------------------------------------------------------------------------------
# Model, batches, training
# --------------------------------------------------------------------------------------------------


def make_model(vocab_size: int, tokenizer):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=128,
        intermediate_size=384,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=MODEL_MAX_LENGTH,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return LlamaForCausalLM(config)


def encode_batch(tokenizer, examples: list[tuple[str, str]]) -> dict[str, torch.Tensor]:
    """Right-padded input ids with labels only on completion tokens (and the closing EOS)."""
    rows, label_rows = [], []
    for prompt, completion in examples:
        prompt_ids = tokenizer(prompt)["input_ids"]  # starts with <bos>
        completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        rows.append(prompt_ids + completion_ids)
        label_rows.append([-100] * len(prompt_ids) + completion_ids)
    width = max(len(row) for row in rows)
    if width > MODEL_MAX_LENGTH:
        raise ValueError(f"an SFT example has {width} tokens, more than the model's {MODEL_MAX_LENGTH}")
    input_ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (row, label_row) in enumerate(zip(rows, label_rows)):
        input_ids[i, : len(row)] = torch.tensor(row)
        labels[i, : len(row)] = torch.tensor(label_row)
        attention_mask[i, : len(row)] = 1
    return {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask}


def learning_rate(step: int, total: int, peak: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


# --------------------------------------------------------------------------------------------------
# Two-pass evaluation for the model card
# --------------------------------------------------------------------------------------------------


@torch.no_grad()
def generate(model, tokenizer, prompts: list[str], do_sample: bool, max_new_tokens: int = 64, batch_size: int = 256):
    """Completions (text after the prompt, special tokens dropped) for each prompt."""
    completions = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        batch = tokenizer(chunk, return_tensors="pt", padding=True)  # left padding
        output = model.generate(
            **batch,
            do_sample=do_sample,
            temperature=1.0 if do_sample else None,
            top_k=0 if do_sample else None,
            top_p=1.0 if do_sample else None,
            max_new_tokens=max_new_tokens,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        new_tokens = output[:, batch["input_ids"].shape[1] :]
        completions.extend(tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
    return completions


def two_pass(model, tokenizer, problems: list[Problem], do_sample: bool, samples: int = 1) -> dict[str, float]:
    """Answer, then correct once (guiding phrase i % 3 for problem i); SCoRe's table over all attempts."""
    attempts = [problem for problem in problems for _ in range(samples)]
    layer1_prompts = [build_layer1_prompt(p.question) for p in attempts]
    first = generate(model, tokenizer, layer1_prompts, do_sample)
    phrases = [DEFAULT_GUIDING_PHRASES[i // samples % len(DEFAULT_GUIDING_PHRASES)] for i in range(len(attempts))]
    layer2_prompts = [build_layer2_prompt(p, c, g) for p, c, g in zip(layer1_prompts, first, phrases)]
    second = generate(model, tokenizer, layer2_prompts, do_sample)
    right1 = [verify(c, p.answer).correct for c, p in zip(first, attempts)]
    right2 = [verify(c, p.answer).correct for c, p in zip(second, attempts)]
    n = len(attempts)
    well_formed = [verify(c, p.answer).parsed_answer is not None for c, p in zip(first, attempts)]
    return {
        "acc_t1": sum(right1) / n,
        "acc_t2": sum(right2) / n,
        "delta": (sum(right2) - sum(right1)) / n,
        "delta_i_to_c": sum((not a) and b for a, b in zip(right1, right2)) / n,
        "delta_c_to_i": sum(a and (not b) for a, b in zip(right1, right2)) / n,
        "answer_format_t1": sum(well_formed) / n,
        "n": n,
    }


def example_transcript(model, tokenizer, problem: Problem) -> str:
    layer1_prompt = build_layer1_prompt(problem.question)
    first = generate(model, tokenizer, [layer1_prompt], do_sample=False)[0]
    layer2_prompt = build_layer2_prompt(layer1_prompt, first, DEFAULT_GUIDING_PHRASES[0])
    second = generate(model, tokenizer, [layer2_prompt], do_sample=False)[0]
    return layer2_prompt + second


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------


def percent(x: float) -> str:
    return f"{100 * x:.1f}%"


def signed_percent(x: float) -> str:
    return f"{100 * x:+.1f}%"


def write_model_card(out: Path, summary: dict) -> None:
    greedy, sampled = summary["eval_greedy"], summary["eval_sampled"]
    cfg = summary["model_config"]
    lines = [
        "---",
        "license: mit",
        "library_name: transformers",
        "pipeline_tag: text-generation",
        "---",
        "",
        "# mgrpo-demo-tiny",
        "",
        "The embedded demo policy of MGRPO Lens: a character-level Llama-style model trained from scratch on",
        "ChainTask (`mgrpo.task.ChainTask(min_ops=3, max_ops=6)`: a start digit and 3-6 operations on single",
        "digits, evaluated left to right modulo 10). It answers in the format the verifier reads:",
        "",
        "```",
        summary["example"].rstrip("\n"),
        "```",
        "",
        "It was trained by supervised fine-tuning on solutions and corrections written by a simulated",
        "fallible student (see `trainer/scripts/make_demo_model.py`), so that it starts where RL has",
        "something to do: first answers often wrong, corrections possible but imperfect, and sampling",
        "noisier than greedy decoding. It knows nothing but this task.",
        "",
        "Rebuild (same seed, same result up to floating-point nondeterminism; each later command continues",
        "the previous one's model with fresh data and a new warm-up):",
        "",
        "```",
        *summary["commands"],
        "```",
        "",
        "## Model",
        "",
        f"- Architecture: LlamaForCausalLM, hidden {cfg['hidden_size']}, {cfg['num_hidden_layers']} layers, "
        f"{cfg['num_attention_heads']} heads, intermediate {cfg['intermediate_size']}, "
        f"context {cfg['max_position_embeddings']}, tied embeddings",
        f"- Parameters: {summary['parameters']:,} (float32 safetensors)",
        f"- Tokenizer: one token per character (printable ASCII and newline), specials <pad> <bos> <eos> <unk>; "
        f"vocabulary {cfg['vocab_size']}",
        f"- Prompts: layer 1 `Q: {{question}}\\n`; layer 2 = layer-1 prompt + completion + guiding phrase + `\\n`",
        "",
        "## Training",
        "",
        f"- Seed {summary['seed']}; {summary['steps']} SFT steps in {len(summary['stages'])} stage(s) "
        f"(batches alternate layer-1 solutions and layer-2 corrections), AdamW with warm-up and cosine decay "
        "per stage, loss on completion tokens only",
        *[
            f"  - stage {i + 1}: {st['steps']} steps of batch {st['batch_size']}, peak lr {st['lr']}, "
            f"{st['wall_time_s'] / 60:.1f} min on {st['threads']} CPU thread(s), final loss {st['final_loss']:.4f}"
            for i, st in enumerate(summary["stages"])
        ],
        f"- Wall time {summary['wall_time_s'] / 60:.1f} min in all on a shared 2-core CPU "
        f"(torch {summary['torch_version']}, transformers {summary['transformers_version']})",
        *[f"- {note}" for note in summary.get("notes", [])],
        "- Simulated student (per-step probabilities):",
        "",
        "```json",
        json.dumps(summary["student_profile"], indent=2),
        "```",
        "",
        "## Held-out evaluation",
        "",
        f"{greedy['n']} problems from `ChainTask(seed=0).eval_problems({greedy['n']})` (disjoint from training by",
        "a stable hash of the question). Two passes: answer, then one correction with a guiding phrase",
        "(phrase i mod 3 for problem i). Deltas are fractions of all problems.",
        "",
        "| decoding | Acc@t1 | Acc@t2 | Delta(t1,t2) | Delta i->c | Delta c->i |",
        "|---|---|---|---|---|---|",
        f"| greedy | {percent(greedy['acc_t1'])} | {percent(greedy['acc_t2'])} | {signed_percent(greedy['delta'])} | "
        f"{percent(greedy['delta_i_to_c'])} | {percent(greedy['delta_c_to_i'])} |",
        f"| sampled, T=1, {summary['samples_per_problem']} per problem | {percent(sampled['acc_t1'])} | "
        f"{percent(sampled['acc_t2'])} | {signed_percent(sampled['delta'])} | {percent(sampled['delta_i_to_c'])} | "
        f"{percent(sampled['delta_c_to_i'])} |",
        "",
        f"Greedy first answers with a parsable `A: d` line: {percent(greedy['answer_format_t1'])}.",
        "",
    ]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument(
        "--threads",
        type=int,
        default=2,
        help="torch CPU threads; on a busy 2-core machine 1 is far faster (2 threads spin-wait for each other)",
    )
    parser.add_argument("--eval-problems", type=int, default=500)
    parser.add_argument("--samples", type=int, default=4, help="samples per problem for the T=1 evaluation")
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument("--probe-every", type=int, default=250, help="quick greedy Acc@t1 probe (0: never)")
    parser.add_argument("--out", type=Path, default=Path("trainer/models/mgrpo-demo-tiny"))
    parser.add_argument(
        "--init-from",
        type=Path,
        default=None,
        help="continue SFT from a folder this script wrote (a new stage with its own warm-up and fresh data)",
    )
    args = parser.parse_args(argv)

    import transformers
    from transformers import GenerationConfig

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    started = time.time()

    previous_stages: list[dict] = []
    if args.init_from is not None:
        from transformers import AutoModelForCausalLM

        previous_stages = json.loads((args.init_from / "training_summary.json").read_text())["stages"]
        model = AutoModelForCausalLM.from_pretrained(str(args.init_from))
    stage = len(previous_stages)
    # Each stage draws fresh problems and noise, so a continued run never replays the data it began with.
    stage_tag = "" if stage == 0 else f"-stage{stage}"
    data_rng = random.Random(f"sft-data-{args.seed}{stage_tag}")
    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer = save_char_tokenizer(args.out)
    if args.init_from is None:
        model = make_model(len(tokenizer), tokenizer)
    parameters = sum(p.numel() for p in model.parameters())
    print(f"model: {parameters:,} parameters", flush=True)

    profile = StudentProfile()
    student = Student(profile, args.seed)
    task = ChainTask(min_ops=3, max_ops=6, seed=0)
    train_stream = task.train_problems(random.Random(f"sft-problems-{args.seed}{stage_tag}"))
    probe_problems = task.eval_problems(60)

    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.01)
    model.train()
    running_loss = None
    for step in range(args.steps):
        # Alternate layers batch by batch: layer-2 examples are ~3x longer, so mixing them would pad layer 1.
        layer = 1 + step % 2
        examples = [sft_example(student, data_rng, next(train_stream), layer) for _ in range(args.batch_size)]
        batch = encode_batch(tokenizer, examples)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, args.steps, args.lr, args.warmup)
        # Padding is on the right and padded positions carry no labels, so the causal mask alone suffices;
        # leaving attention_mask out lets SDPA take its fast causal path.
        loss = model(input_ids=batch["input_ids"], labels=batch["labels"]).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        running_loss = loss.item() if running_loss is None else 0.95 * running_loss + 0.05 * loss.item()
        if (step + 1) % args.log_every == 0:
            print(f"step {step + 1}/{args.steps} loss {running_loss:.4f} {time.time() - started:.0f}s", flush=True)
        if args.probe_every and (step + 1) % args.probe_every == 0 and step + 1 < args.steps:
            model.eval()
            probe = two_pass(model, tokenizer, probe_problems, do_sample=False)
            model.train()
            print(f"  probe: greedy Acc@t1 {percent(probe['acc_t1'])} Acc@t2 {percent(probe['acc_t2'])}", flush=True)
    wall_time = time.time() - started

    model.eval()
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        max_new_tokens=64,
        do_sample=False,
    )
    model.save_pretrained(str(args.out), safe_serialization=True)

    eval_problems = task.eval_problems(args.eval_problems)
    torch.manual_seed(args.seed)
    greedy = two_pass(model, tokenizer, eval_problems, do_sample=False)
    sampled = two_pass(model, tokenizer, eval_problems, do_sample=True, samples=args.samples)
    command = (
        f"python trainer/scripts/make_demo_model.py --seed {args.seed} --steps {args.steps} "
        f"--batch-size {args.batch_size} --lr {args.lr} --threads {args.threads} --out {args.out}"
        + (f" --init-from {args.init_from}" if args.init_from is not None else "")
    )
    stages = previous_stages + [
        {
            "steps": args.steps,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "threads": args.threads,
            "wall_time_s": round(wall_time, 1),
            "final_loss": running_loss,
            "command": command,
        }
    ]
    summary = {
        "seed": args.seed,
        "stages": stages,
        "steps": sum(s["steps"] for s in stages),
        "batch_size": args.batch_size,
        "lr": args.lr,
        "threads": args.threads,
        "wall_time_s": round(sum(s["wall_time_s"] for s in stages), 1),
        "final_loss": running_loss,
        "parameters": parameters,
        "model_config": model.config.to_diff_dict() | {
            k: getattr(model.config, k)
            for k in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                      "max_position_embeddings", "vocab_size")
        },
        "student_profile": asdict(profile),
        "samples_per_problem": args.samples,
        "eval_greedy": greedy,
        "eval_sampled": sampled,
        "example": example_transcript(model, tokenizer, eval_problems[0]),
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "commands": [s["command"] for s in stages],
    }
    (args.out / "training_summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    write_model_card(args.out, summary)
    print(json.dumps({"wall_time_s": summary["wall_time_s"], "greedy": greedy, "sampled": sampled}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
