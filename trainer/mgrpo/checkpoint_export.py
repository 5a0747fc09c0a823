"""ONNX exports written during training (config ``onnx_export``), so the editor's local runtime can open a
checkpoint as soon as it is saved, with no separate ``python -m mgrpo export-onnx`` run.

``"checkpoints"`` exports every checkpoint, ``"final"`` only the one saved on stop or at the end. Rank 0 exports
after the checkpoint is complete (its state.json written), into ``CHECKPOINT/onnx/``; the export's manifest is
written last, so a folder without it is a torn export. Exporting is a convenience: a failure is reported as a
warning and training goes on. It also leaves training's random streams alone: loading the checkpoint again
initialises weights from the global generators before reading the saved ones, and a resume from this
checkpoint must draw what the uninterrupted run drew.
"""

from __future__ import annotations

import logging
import random
import shutil
from pathlib import Path
from typing import Callable

import torch

from . import lora
from .export_onnx import MANIFEST_NAME, export_onnx

log = logging.getLogger("mgrpo")

EXPORT_MODES = ("none", "checkpoints", "final")
EXPORT_FOLDER = "onnx"
# Longest exporter error text put into a warning event (torch.onnx errors can run to pages).
MESSAGE_LIMIT = 600


def wants_export(mode: str, final: bool) -> bool:
    """Whether a checkpoint saved now is exported under ``onnx_export`` = ``mode``."""
    if mode not in EXPORT_MODES:
        raise ValueError(f"onnx_export: got {mode!r}; allowed: {', '.join(EXPORT_MODES)}")
    return mode == "checkpoints" or (mode == "final" and final)


def export_checkpoint(folder: Path, warn: Callable[[str], None]) -> Path | None:
    """Export the complete checkpoint ``folder`` to ``folder/onnx``; return that folder, or None after telling
    ``warn`` why not. An export already there (its manifest written) is kept. Never raises for a failed export."""
    folder = Path(folder)
    out = folder / EXPORT_FOLDER
    if (out / MANIFEST_NAME).is_file():
        return out
    retry = f"python -m mgrpo export-onnx --checkpoint {folder}"
    if lora.is_adapter_folder(folder):
        warn(f"onnx_export: {folder} holds a LoRA adapter, not a whole model, so it was not exported; merge it "
             f"first (python -m mgrpo.lora merge {folder} MERGED), then run python -m mgrpo export-onnx "
             f"--checkpoint MERGED")
        return None
    python_state = random.getstate()
    try:
        with torch.random.fork_rng(devices=[]):
            export_onnx(folder, out)
    except Exception as error:  # noqa: BLE001 - any exporter failure leaves the checkpoint usable
        log.warning("ONNX export of %s failed", folder, exc_info=True)
        shutil.rmtree(out, ignore_errors=True)  # no manifest: a torn export nobody should load
        text = f"{type(error).__name__}: {error}"
        if len(text) > MESSAGE_LIMIT:
            text = text[:MESSAGE_LIMIT] + "..."
        warn(f"onnx_export: exporting {folder} failed ({text}); the checkpoint itself is complete. "
             f"Retry with: {retry}")
        return None
    finally:
        random.setstate(python_state)
    return out
