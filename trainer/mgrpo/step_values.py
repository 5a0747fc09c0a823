"""Monte-Carlo step values (Math-Shepherd, arXiv 2312.08935) from the policy itself.

For one rollout record: cut its completion after each step, draw ``k`` continuations of the prompt plus that
prefix with a checkpoint, and verify each whole text (prefix + continuation) against the ground truth. The
fraction right is the step's value: the estimated chance of a right answer from there. The step where the
value drops most is the likely error. Results are appended to the run folder (runlog.append_step_values,
$defs/stepValues) and reused when asked again with the same checkpoint, k, seed and temperature.

Deterministic with a seed: every record draws from its own generator, seeded from ``seed`` and the record id,
so the same call on the same device gives the same values whichever records are asked together.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch

from . import sampling
from .runlog import utc_now
from .task import verify


BACKEND = "pytorch"  # $defs/stepValues.backend of the lines written here


@dataclass(frozen=True)
class ValueSettings:
    k: int
    seed: int
    temperature: float = 1.0
    top_p: float = 1.0
    max_completion_length: int = 64
    max_prompt_length: int | None = None
    batch_size: int | None = None

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be >= 1, got {self.k}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.max_completion_length < 1:
            raise ValueError(f"max_completion_length must be >= 1, got {self.max_completion_length}")


def step_prefixes(completion: str, steps: list[dict]) -> list[str]:
    """The completion's text through each step, including the line break that ends it (a continuation starts
    on a new line); a step that ends the text gets one."""
    prefixes = []
    for span in steps:
        end = span["end"]
        newline = completion.find("\n", end)
        prefixes.append(completion[:newline + 1] if newline != -1 else completion[:end] + "\n")
    return prefixes


def value_drops(prefix_value: float, values: list[float]) -> tuple[list[float], int | None]:
    """drops[i] = value before step i - value after it; the index of the largest positive drop (the first on
    ties), or None when no value drops."""
    drops, before = [], prefix_value
    for value in values:
        drops.append(before - value)
        before = value
    largest = max(drops, default=0.0)
    return drops, (drops.index(largest) if largest > 0 else None)


def record_seed(seed: int, record_id: str) -> int:
    digest = hashlib.sha256(f"{seed}:{record_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:6], "big")


def estimate_step_values(model, tokenizer, record: dict, settings: ValueSettings, *, checkpoint: str,
                         stop_ids: list[int] | None = None) -> dict:
    """$defs/stepValues for one rollout record (which must have prompt, completion, steps, ground_truth)."""
    prefixes = [""] + step_prefixes(record["completion"], record["steps"])
    prompts = [record["prompt"] + prefix for prefix in prefixes for _ in range(settings.k)]
    generator = torch.Generator(device=next(model.parameters()).device)
    generator.manual_seed(record_seed(settings.seed, record["id"]))
    continuations = sampling.generate(
        model, tokenizer, prompts, max_new_tokens=settings.max_completion_length, temperature=settings.temperature,
        top_p=settings.top_p, generator=generator, stop_ids=stop_ids, max_prompt_length=settings.max_prompt_length,
        batch_size=settings.batch_size)
    right = [verify(prefix + continuation.text, record["ground_truth"]).correct
             for prefix, continuation in zip((p for p in prefixes for _ in range(settings.k)), continuations)]
    fractions = [sum(right[i * settings.k:(i + 1) * settings.k]) / settings.k for i in range(len(prefixes))]
    prefix_value, values = fractions[0], fractions[1:]
    drops, likely_error = value_drops(prefix_value, values)
    return {"record_id": record["id"], "step": record["step"], "checkpoint": checkpoint, "backend": BACKEND, "k": settings.k,
            "seed": settings.seed, "temperature": settings.temperature,
            "max_completion_length": settings.max_completion_length, "prefix_value": prefix_value,
            "values": values, "drops": drops, "likely_error": likely_error, "time": utc_now()}


def matches(cached: dict, checkpoint: str, settings: ValueSettings) -> bool:
    """Whether a cached line answers this request (same backend, checkpoint, k, seed, temperature, length). A
    line the extension drew with its ONNX runtime is not reused here: the same seed draws other samples there."""
    return (cached.get("backend", BACKEND) == BACKEND and cached.get("checkpoint") == checkpoint
            and cached.get("k") == settings.k
            and cached.get("seed") == settings.seed and cached.get("temperature") == settings.temperature
            and cached.get("max_completion_length") == settings.max_completion_length)


def checkpoint_name(run_dir: str | Path, checkpoint: str | Path) -> str:
    """How a checkpoint is recorded: relative to the run folder when inside it (the folder can move)."""
    run_dir, checkpoint = Path(run_dir).resolve(), Path(checkpoint).resolve()
    try:
        return str(checkpoint.relative_to(run_dir))
    except ValueError:
        return str(checkpoint)


def records_to_value(run: dict, step: int, sample: str | None) -> list[dict]:
    """The records of training step ``step`` (or the one with id ``sample``); ValueError says what is missing."""
    if step not in run["rollouts"]:
        known = ", ".join(str(s) for s in sorted(run["rollouts"])) or "none"
        raise ValueError(f"the run has no rollouts for step {step} (steps with rollouts: {known})")
    records = run["rollouts"][step]
    if sample is not None:
        records = [record for record in records if record["id"] == sample]
        if not records:
            raise ValueError(f"step {step} has no record with id {sample!r}")
    return records


def step_values_for_run(run_dir: str | Path, run: dict, records: list[dict], model, tokenizer,
                        settings: ValueSettings, checkpoint: str | Path, stop_ids: list[int] | None = None,
                        progress=None):
    """Yield $defs/stepValues for each record: a cached line when one matches, otherwise a new estimate, which
    is appended to the run folder first. ``progress(done, total, record_id, cached)`` is called per record."""
    from .runlog import append_step_values

    name = checkpoint_name(run_dir, checkpoint)
    cached = run.get("step_values", {})
    for done, record in enumerate(records, start=1):
        hit = next((line for line in reversed(cached.get(record["id"], [])) if matches(line, name, settings)), None)
        was_cached = hit is not None
        if hit is None:
            hit = estimate_step_values(model, tokenizer, record, settings, checkpoint=name, stop_ids=stop_ids)
            append_step_values(run_dir, hit)
        if progress:
            progress(done, len(records), record["id"], was_cached)
        yield hit
