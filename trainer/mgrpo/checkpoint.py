"""Checkpoints: everything needed to continue a run exactly where it stopped.

``checkpoints/step-NNNNNN/`` holds the model and tokenizer in Hugging Face format (safetensors), so a
checkpoint is also a model folder any tool can load; ``optimizer.pt`` (optimizer + LR scheduler);
``rng.pt`` (every random state the loop uses); and ``state.json``, written last: a folder without it is
incomplete and ignored.
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


def save_checkpoint(checkpoints_dir: Path, step: int, *, model, tokenizer, optimizer, scheduler,
                    rng_state: dict[str, Any], metrics_lines: int, rollout_lines: int,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write checkpoint ``step`` and return its folder. An existing complete one is kept as it is."""
    folder = Path(checkpoints_dir) / step_name(step)
    if (folder / "state.json").is_file():
        return folder
    if folder.exists():  # a torn earlier attempt
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    unwrapped = getattr(model, "module", model)
    unwrapped.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, folder / "optimizer.pt")
    torch.save(rng_state, folder / "rng.pt")
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


def load_training_state(folder: Path, optimizer, scheduler) -> dict[str, Any]:
    """Restore optimizer and scheduler in place; return the saved RNG state (restore it with restore_rng)."""
    states = torch.load(Path(folder) / "optimizer.pt", map_location="cpu", weights_only=False)
    optimizer.load_state_dict(states["optimizer"])
    scheduler.load_state_dict(states["scheduler"])
    return torch.load(Path(folder) / "rng.pt", map_location="cpu", weights_only=False)
