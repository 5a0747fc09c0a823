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


# Keys that change when or how long a run is observed, not what it learns in the steps it shares with another.
SCHEDULE_KEYS = ("max_steps", "eval_steps", "save_steps", "save_total_limit")


def run_covers(run: dict, config: dict, steps_done: int) -> bool:
    """Whether a run (its run.json as a dict, with ``steps_done`` steps in its metrics) trained exactly what
    ``config`` would for its first ``config['max_steps']`` steps: every key equal except the schedule keys, and
    at least that many steps done. A run still going, or stopped later, qualifies: its lines and evaluations up
    to that step are final. A longer run contains a shorter one only when the learning rate does not depend on
    max_steps (lr_scheduler_type constant), so otherwise max_steps must be equal too."""
    stored = run.get("config") or {}
    if set(stored) != set(config):
        return False
    ignored = set(SCHEDULE_KEYS) if config["lr_scheduler_type"] == "constant" else set(SCHEDULE_KEYS) - {"max_steps"}
    if any(stored[key] != config[key] for key in config if key not in ignored):
        return False
    return steps_done >= config["max_steps"]


def steps_done(run_dir: Path) -> int:
    """The last step with a complete metrics line (0 when none)."""
    if not (run_dir / "metrics.jsonl").is_file():
        return 0
    lines = read_metrics(run_dir)
    return lines[-1]["step"] if lines else 0


def find_covering_run(pool: Path, config: dict, eval_steps: list[int]) -> Path | None:
    """A run directory under ``pool`` that covers ``config`` (run_covers) and has an evaluation at each of
    ``eval_steps``."""
    for run_json in sorted(pool.glob("*/run.json")):
        try:
            run = json.loads(run_json.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if run_covers(run, config, steps_done(run_json.parent)) and all(
                (run_json.parent / "eval" / f"step-{step:06d}.json").is_file() for step in eval_steps):
            return run_json.parent
    return None


def train_or_reuse(config: dict, pool: Path, name: str, eval_steps: list[int], reuse: bool) -> tuple[Path, bool]:
    """(run directory, reused): with ``reuse`` a run under ``pool`` that covers ``config`` (find_covering_run),
    else a new run ``pool/name`` trained from scratch."""
    if reuse:
        found = find_covering_run(pool, config, eval_steps)
        if found is not None:
            return found, True
    config_path = write_config(pool / f"{name}.config.json", config)
    train(config_path, pool / name, pool / f"{name}.log")
    return pool / name, False


def load_run(run_dir: Path, upto: int | None = None) -> dict:
    """A finished run as the benchmarks read it, up to step ``upto`` (default: its end): its config, metrics
    lines, and for every evaluated step the evaluation with the samples generated and the training seconds
    spent up to that step (sampling + update; start-up and evaluations excluded)."""
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    lines = [line for line in read_metrics(run_dir) if upto is None or line["step"] <= upto]
    samples, seconds = {0: 0}, {0: 0.0}
    for line in lines:
        samples[line["step"]] = samples[line["step"] - 1] + samples_generated([line])
        seconds[line["step"]] = seconds[line["step"] - 1] + line["step_seconds"]
    evals = {}
    for path in sorted((run_dir / "eval").glob("step-*.json")):
        step = int(path.stem.split("-")[1])
        if upto is not None and step > upto:
            continue
        evals[step] = json.loads(path.read_text(encoding="utf-8"))
    return {"config": run["config"], "lines": lines, "evals": evals, "samples_at": samples, "seconds_at": seconds,
            "steps": len(lines)}


def outcome_columns(eval_result: dict, chain_task: bool):
    """One row per held-out problem, in evaluation order: stats.OUTCOME_COLUMNS as 0/1 floats.

    The flawed columns mark a right answer whose chain has a wrong, missing or extra step (the chain task's
    step checker, mgrpo.steps.label_chain_steps); they are 0 for other tasks (no exact step checker)."""
    import numpy as np

    from mgrpo.steps import label_chain_steps
    from mgrpo.task import step_spans

    def flawed(problem: dict, completion: str, correct: bool) -> bool:
        if not correct or not chain_task:
            return False
        spans = step_spans(completion)
        return label_chain_steps(problem["question"], completion, spans).first_wrong_step is not None

    rows = []
    # The row layout is stats.OUTCOME_COLUMNS.
    for problem in eval_result["problems"]:
        t1, t2 = bool(problem["t1_correct"]), bool(problem["t2_correct"])
        rows.append([t1, t2, (not t1) and t2, t1 and not t2,
                     flawed(problem, problem["t1_completion"], t1), flawed(problem, problem["t2_completion"], t2)])
    return np.asarray(rows, dtype=float).reshape(len(rows), 6)
