"""Running the trainer's command line from a benchmark, and reading what its run directory holds.

Benchmarks drive ``python -m mgrpo`` as a user would (a subprocess with the project's Python), so what they
time is the real thing, start-up excluded where they say so. Reading follows trainer/RUN_FORMAT.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench_common import REPO_ROOT, TRAINER_DIR


def trainer_env() -> dict[str, str]:
    """The environment for trainer and peer subprocesses: the checkout's package, strictly offline."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(TRAINER_DIR) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update({"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                "TOKENIZERS_PARALLELISM": "false"})
    return env


def run_logged(command: list[str], log_path: Path, what: str) -> tuple[float, str]:
    """Run ``command`` with stdout captured and stderr to ``log_path``; (wall seconds, stdout). A failure
    raises with the log's tail, so a broken run is never reported as a result."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.run(command, cwd=REPO_ROOT, env=trainer_env(), stdout=subprocess.PIPE, stderr=log,
                                 text=True)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        tail = "".join(log_path.read_text(encoding="utf-8", errors="replace").splitlines(True)[-25:])
        raise RuntimeError(f"{what} failed with exit code {process.returncode}: {' '.join(command)}\n"
                           f"--- last lines of {log_path} ---\n{tail}")
    return seconds, process.stdout


def write_config(path: Path, config: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return path


def train(config_path: Path, run_dir: Path, log_path: Path) -> float:
    """``python -m mgrpo train --config FILE --run-dir DIR`` from scratch; returns wall seconds."""
    if run_dir.exists():
        shutil.rmtree(run_dir)
    seconds, _stdout = run_logged(
        [sys.executable, "-m", "mgrpo", "train", "--config", str(config_path), "--run-dir", str(run_dir)],
        log_path, f"training run {run_dir.name}")
    return seconds


def evaluate_model(model_dir: Path, config_path: Path, n: int, log_path: Path) -> dict:
    """``python -m mgrpo eval --json`` of a model folder with the run config's task, templates and phrases."""
    _seconds, stdout = run_logged(
        [sys.executable, "-m", "mgrpo", "eval", "--model", str(model_dir), "--config", str(config_path),
         "--n", str(n), "--step", "0", "--json"],
        log_path, f"evaluation of {model_dir}")
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError(f"evaluation of {model_dir} printed no JSON result (see {log_path})")
    return json.loads(lines[-1])


def read_metrics(run_dir: Path) -> list[dict]:
    """The run's metrics lines (whole lines only, as RUN_FORMAT.md asks of every reader)."""
    text = (run_dir / "metrics.jsonl").read_text(encoding="utf-8")
    complete = text if text.endswith("\n") else text[: text.rfind("\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


def read_eval(run_dir: Path, step: int) -> dict:
    path = run_dir / "eval" / f"step-{step:06d}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no evaluation at step {step} in {run_dir} (expected {path})")
    return json.loads(path.read_text(encoding="utf-8"))


def samples_generated(metrics_lines: list[dict]) -> int:
    total = 0
    for line in metrics_lines:
        total += line["layer1"]["samples"]
        if line.get("layer2"):
            total += line["layer2"]["samples"]
    return total
