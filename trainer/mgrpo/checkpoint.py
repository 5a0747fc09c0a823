"""Checkpoints: everything needed to continue a run exactly where it stopped.

``checkpoints/step-NNNNNN/`` holds the model and tokenizer in Hugging Face format (safetensors), so a
checkpoint is also a model folder any tool can load; ``optimizer.pt`` (optimizer + LR scheduler);
``rng.pt`` (every random state the loop uses; ``rng-rank-N.pt`` holds rank N's own under torchrun, so each
rank resumes with its own sampling stream); and ``state.json``, written last: a folder without it is incomplete
and ignored. Under LoRA the model part is the adapter only. Under FSDP2 the model and optimizer are gathered
into whole state dicts first, so a checkpoint looks the same whatever wrote it.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import torch

from .runlog import step_name, utc_now, write_json_atomic


def capture_rng(python_rngs: dict[str, random.Random], generator: torch.Generator | None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "python": {name: rng.getstate() for name, rng in python_rngs.items()},
        "python_global": random.getstate(),
        "torch_cpu": torch.get_rng_state(),
        "torch_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "sampling_generator": generator.get_state() if generator is not None else None,
    }
    return state


def restore_rng(state: dict[str, Any], python_rngs: dict[str, random.Random], generator: torch.Generator | None) -> None:
    for name, rng in python_rngs.items():
        rng.setstate(state["python"][name])
    random.setstate(state["python_global"])
    torch.set_rng_state(state["torch_cpu"])
    if state.get("torch_cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["torch_cuda"])
    if generator is not None and state.get("sampling_generator") is not None:
        generator.set_state(state["sampling_generator"])


def rank_rng_file(rank: int) -> str:
    return "rng.pt" if rank == 0 else f"rng-rank-{rank}.pt"


def save_checkpoint(checkpoints_dir: Path, step: int, *, model, tokenizer, optimizer, scheduler,
                    rng_state: dict[str, Any], metrics_lines: int, rollout_lines: int,
                    extra: dict[str, Any] | None = None, model_state: dict | None = None,
                    optimizer_state: dict | None = None, other_ranks_rng: list[dict[str, Any]] = ()) -> Path:
    """Write checkpoint ``step`` and return its folder. An existing complete one is kept as it is.
    ``model_state`` / ``optimizer_state``: whole state dicts gathered from shards (FSDP2) to save instead of
    the objects' own; ``other_ranks_rng``: the random states of ranks 1, 2, ..."""
    folder = Path(checkpoints_dir) / step_name(step)
    if (folder / "state.json").is_file():
        return folder
    if folder.exists():  # a torn earlier attempt
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    unwrapped = getattr(model, "module", model)
    if model_state is not None:
        unwrapped.save_pretrained(folder, state_dict=model_state)
    else:
        unwrapped.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    torch.save({"optimizer": optimizer_state if optimizer_state is not None else optimizer.state_dict(),
                "scheduler": scheduler.state_dict()}, folder / "optimizer.pt")
    torch.save(rng_state, folder / rank_rng_file(0))
    for rank, state in enumerate(other_ranks_rng, start=1):
        torch.save(state, folder / rank_rng_file(rank))
    state = {"step": step, "time": utc_now(), "metrics_lines": metrics_lines, "rollout_lines": rollout_lines}
    if extra:
        state.update(extra)
    write_json_atomic(folder / "state.json", state)
    return folder


def list_checkpoints(checkpoints_dir: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints (with state.json), oldest first."""
    checkpoints_dir = Path(checkpoints_dir)
    if not checkpoints_dir.is_dir():
        return []
    found = []
    for folder in checkpoints_dir.iterdir():
        state = folder / "state.json"
        if folder.name.startswith("step-") and state.is_file():
            found.append((int(json.loads(state.read_text(encoding="utf-8"))["step"]), folder))
    return sorted(found)


def latest_checkpoint(checkpoints_dir: Path) -> tuple[Path, dict] | None:
    found = list_checkpoints(checkpoints_dir)
    if not found:
        return None
    folder = found[-1][1]
    return folder, json.loads((folder / "state.json").read_text(encoding="utf-8"))


def remove_incomplete(checkpoints_dir: Path) -> None:
    checkpoints_dir = Path(checkpoints_dir)
    if checkpoints_dir.is_dir():
        for folder in checkpoints_dir.iterdir():
            if folder.is_dir() and not (folder / "state.json").is_file():
                shutil.rmtree(folder)


def remove_after(checkpoints_dir: Path, step: int) -> None:
    for checkpoint_step, folder in list_checkpoints(checkpoints_dir):
        if checkpoint_step > step:
            shutil.rmtree(folder)


def prune_checkpoints(checkpoints_dir: Path, keep: int | None) -> None:
    """Keep the newest ``keep`` complete checkpoints (None: keep all)."""
    if keep is None:
        return
    found = list_checkpoints(checkpoints_dir)
    for _step, folder in found[:-keep] if keep < len(found) else []:
        # Drop state.json first, so a crash mid-delete leaves an "incomplete" folder, never a broken one.
        (folder / "state.json").unlink()
        shutil.rmtree(folder)


def load_training_state(folder: Path, optimizer, scheduler, rank: int = 0, load_optimizer=None) -> dict[str, Any]:
    """Restore optimizer and scheduler in place; return this rank's saved RNG state (restore it with
    restore_rng). ``load_optimizer(state)`` replaces ``optimizer.load_state_dict`` (FSDP2 shards it).
    A checkpoint from before per-rank states (or from fewer ranks) gives rank 0's, with a warning."""
    folder = Path(folder)
    states = torch.load(folder / "optimizer.pt", map_location="cpu", weights_only=False)
    (load_optimizer or optimizer.load_state_dict)(states["optimizer"])
    scheduler.load_state_dict(states["scheduler"])
    rng_file = folder / rank_rng_file(rank)
    if not rng_file.is_file():
        import logging

        logging.getLogger("mgrpo").warning("%s has no random state for rank %d: it resumes with rank 0's",
                                           folder, rank)
        rng_file = folder / rank_rng_file(0)
    return torch.load(rng_file, map_location="cpu", weights_only=False)
