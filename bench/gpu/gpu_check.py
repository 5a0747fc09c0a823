#!/usr/bin/env python
"""One command on a machine with a GPU: build a ~0.5B-parameter Qwen2 (random weights, the test fixture's
byte-level BPE tokenizer and chat template, scaled up), then run a few MGRPO steps with each memory/precision
option and print tokens/s, step time and peak GPU memory per option. Any error, a non-finite loss or a step
that did not run fails the whole command (exit code 1), loudly.

    .venv/bin/python bench/gpu/gpu_check.py                 # one GPU: every option
    .venv/bin/python bench/gpu/gpu_check.py --gpus 8        # also DDP and FSDP2 over 8 GPUs via torchrun
    .venv/bin/python bench/gpu/gpu_check.py --cpu-smoke     # a tiny version on the CPU (checks the script)

No GPU run of this script has been made by the project so far (see README.md next to it).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "trainer"))
sys.path.insert(0, str(REPO / "trainer" / "scripts"))

# Qwen2.5-0.5B's block shape (hidden 896 there, 1024 here to reach ~0.5B with the fixture's small vocabulary).
FULL_SHAPE = dict(hidden=1024, layers=28, intermediate=4864, heads=16, kv_heads=2)
SMOKE_SHAPE = dict(hidden=64, layers=2, intermediate=128, heads=4, kv_heads=2)

# name -> config overrides; every option of the trainer's memory/precision section once.
OPTIONS = {
    "bf16 (default on GPU)": {},
    "float32 compute": {"dtype": "float32"},
    "gradient checkpointing": {"gradient_checkpointing": True},
    "micro-batches by tokens": {"micro_batch_tokens": 8192},
    "LoRA r16": {"use_peft": True, "lora_r": 16, "lora_alpha": 32, "learning_rate": 1e-5},
    "num_iterations 2": {"num_iterations": 2},
    "shared-prefix update": {"shared_prefix_forward": True},
}


def build_model(folder: Path, shape: dict) -> Path:
    """The fixture's tokenizer and chat template with a Qwen2 of the given shape, random weights."""
    import torch
    from make_tiny_qwen2 import build_tiny_qwen2
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    if (folder / "config.json").is_file():
        return folder
    build_tiny_qwen2(folder, layers=1, hidden=64)  # tokenizer, chat template, generation config
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    small = Qwen2Config.from_pretrained(str(folder))
    config = Qwen2Config(
        vocab_size=small.vocab_size, hidden_size=shape["hidden"], intermediate_size=shape["intermediate"],
        num_hidden_layers=shape["layers"], num_attention_heads=shape["heads"],
        num_key_value_heads=shape["kv_heads"], max_position_embeddings=4096, rope_theta=1_000_000.0,
        tie_word_embeddings=True, bos_token_id=small.bos_token_id, eos_token_id=small.eos_token_id,
        pad_token_id=small.pad_token_id)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config)
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def base_config(model_dir: Path, smoke: bool) -> dict:
    return {
        "model_name_or_path": str(model_dir), "task": "chain", "seed": 0, "eval_size": 0, "save_steps": 0,
        "max_steps": 2 if smoke else 4, "questions_per_step": 2 if smoke else 8,
        "num_generations": 2 if smoke else 8, "layer2_num_generations": 2 if smoke else 4,
        "max_completion_length": 16 if smoke else 256, "max_prompt_length": 1024,
        "micro_batch_size": 4 if smoke else 16, "generation_batch_size": 8 if smoke else 128,
        "learning_rate": 1e-6, "beta": 0.04, "device": "cpu" if smoke else "cuda",
    }


def run_option(name: str, config: dict, run_dir: Path) -> dict:
    """Train in this process; return the figures of the steps after the first (warm-up)."""
    import torch

    from mgrpo.config import resolve_config
    from mgrpo.protocol import Protocol
    from mgrpo.runlog import read_run
    from mgrpo.trainer import Trainer

    if run_dir.exists() and os.environ.get("RANK", "0") == "0":
        import shutil

        shutil.rmtree(run_dir)  # a fresh run each time (the trainer refuses to overwrite one)
    if os.environ.get("WORLD_SIZE"):
        import torch.distributed as dist

        if not dist.is_initialized():  # the trainer would start it; start it here so all ranks wait for the rmtree
            if torch.cuda.is_available():
                torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        dist.barrier()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    events = io.StringIO()
    began = time.perf_counter()
    code = Trainer(resolve_config(overrides=config), run_dir, Protocol(events)).run()
    wall = time.perf_counter() - began
    if code != 0:
        raise RuntimeError(f"{name}: trainer exit code {code}; events:\n{events.getvalue()[-3000:]}")
    if os.environ.get("RANK", "0") != "0":
        return {}  # rank 0 alone writes the run directory
    lines = read_run(run_dir)["metrics"]
    if len(lines) != config["max_steps"]:
        raise RuntimeError(f"{name}: {len(lines)} metrics lines for {config['max_steps']} steps")
    for line in lines:
        if not math.isfinite(line["loss"]) or (line["grad_norm"] is not None and not math.isfinite(line["grad_norm"])):
            raise RuntimeError(f"{name}: non-finite loss or gradient norm at step {line['step']}: {line}")
    warnings = [json.loads(e) for e in events.getvalue().splitlines() if '"warning"' in e]
    measured = lines[1:] or lines
    return {
        "option": name,
        "step_seconds": sum(l["step_seconds"] for l in measured) / len(measured),
        "update_seconds": sum(l["train_seconds"] for l in measured) / len(measured),
        "generated_tokens_per_second": sum(l["tokens_per_second"] for l in measured) / len(measured),
        "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None,
        "wall_seconds": wall,
        "warnings": len(warnings),
    }


def print_table(rows: list[dict]) -> None:
    print(f"{'option':28} {'step s':>8} {'update s':>9} {'gen tok/s':>10} {'peak GiB':>9} {'warnings':>8}")
    for row in rows:
        peak = f"{row['peak_gib']:.1f}" if row["peak_gib"] is not None else "-"
        print(f"{row['option']:28} {row['step_seconds']:8.2f} {row['update_seconds']:9.2f} "
              f"{row['generated_tokens_per_second']:10.0f} {peak:>9} {row['warnings']:8d}", flush=True)


def single_gpu(args, model_dir: Path, out: Path) -> list[dict]:
    rows = []
    for name, overrides in OPTIONS.items():
        config = dict(base_config(model_dir, args.cpu_smoke), **overrides)
        if args.cpu_smoke and config.get("dtype") is None:
            config["dtype"] = "bfloat16"  # the bf16 path, on the CPU
        rows.append(run_option(name, config, out / name.replace(" ", "-").replace("(", "").replace(")", "")))
        print_table(rows[-1:])
    return rows


def multi_gpu(args, model_dir: Path, out: Path) -> None:
    """DDP and FSDP2 under torchrun: the same script in --worker mode on every rank."""
    for strategy in ("ddp", "fsdp"):
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
                   str(args.gpus), __file__, "--worker", strategy, "--model-dir", str(model_dir), "--out", str(out)]
        if args.cpu_smoke:
            command.append("--cpu-smoke")
        print(f"$ {' '.join(command)}", flush=True)
        subprocess.run(command, check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))


def worker(args, model_dir: Path, out: Path) -> None:
    import torch.distributed as dist

    config = dict(base_config(model_dir, args.cpu_smoke), distributed_strategy=args.worker)
    row = run_option(f"{args.worker} x{os.environ.get('WORLD_SIZE')}", config, out / f"torchrun-{args.worker}")
    if os.environ.get("RANK", "0") == "0":
        print_table([row])
    if dist.is_initialized():
        dist.destroy_process_group()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpus", type=int, default=1, help="also run DDP and FSDP2 over this many GPUs (torchrun)")
    parser.add_argument("--out", default=str(REPO / "bench" / "out" / "gpu"), help="work folder")
    parser.add_argument("--model-dir", default=None, help="reuse a built model folder")
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny model on the CPU: checks the script only")
    parser.add_argument("--worker", choices=["ddp", "fsdp"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    try:
        import torch

        if not args.cpu_smoke and not torch.cuda.is_available():
            raise RuntimeError("no CUDA GPU visible; --cpu-smoke runs a tiny version on the CPU")
        model_dir = Path(args.model_dir) if args.model_dir else out / ("model-smoke" if args.cpu_smoke else "model-0.5b")
        if args.worker:
            worker(args, model_dir, out)
            return 0
        if not args.cpu_smoke:
            print(f"GPU: {torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}; torch {torch.__version__}")
        build_model(model_dir, SMOKE_SHAPE if args.cpu_smoke else FULL_SHAPE)
        from mgrpo.policy import count_parameters, load_policy

        model, _ = load_policy(str(model_dir), torch.device("cpu"))
        print(f"model: {model_dir} ({count_parameters(model) / 1e6:.0f}M parameters)", flush=True)
        del model
        single_gpu(args, model_dir, out)
        if args.gpus > 1:
            multi_gpu(args, model_dir, out)
    except Exception:  # fail loudly: the whole traceback and a non-zero exit
        traceback.print_exc()
        print("GPU CHECK FAILED", file=sys.stderr)
        return 1
    print("GPU CHECK PASSED")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
