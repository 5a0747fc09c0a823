"""Importers: bring rollouts other trainers wrote (verl, TRL, NeMo-RL, prime-rl) into a run directory in our
format (trainer/RUN_FORMAT.md), once or following the source live. ``python -m mgrpo import --help``."""

from __future__ import annotations

from pathlib import Path

from .base import ImportUsageError, Source, SourceOptions, StepFiles
from .engine import RunImporter, StopSignal
from .nemo_rl import NemoRlSource
from .prime_rl import PrimeRlSource
from .trl_files import TrlFilesSource
from .verl import VerlSource

SOURCES: dict[str, type[Source]] = {cls.kind: cls for cls in (VerlSource, TrlFilesSource, NemoRlSource, PrimeRlSource)}


def detect_source(root: str | Path) -> type[Source]:
    """The one source kind whose files ``root`` holds; a clear error listing what was looked for otherwise."""
    root = Path(root)
    if not root.is_dir():
        raise ImportUsageError(f"source folder {root} does not exist or is not a folder")
    found = [cls for cls in SOURCES.values() if cls.matches(root)]
    if len(found) == 1:
        return found[0]
    looked_for = "; ".join(f"{cls.kind}: {', '.join(cls.patterns)}" for cls in SOURCES.values())
    if not found:
        raise ImportUsageError(f"no rollout files recognised in {root}. Looked for {looked_for}. "
                               f"Pass --from verl|trl|nemo-rl|prime-rl if the folder is one of these.")
    raise ImportUsageError(f"{root} holds files of several sources ({', '.join(cls.kind for cls in found)}); "
                           f"choose one with --from")


def open_source(root: str | Path, kind: str | None = None, options: SourceOptions | None = None) -> Source:
    if kind is not None and kind not in SOURCES:
        raise ImportUsageError(f"--from {kind!r} is not a known source; choose one of {', '.join(SOURCES)}")
    if kind is not None and not Path(root).is_dir():
        raise ImportUsageError(f"source folder {root} does not exist or is not a folder")
    cls = SOURCES[kind] if kind else detect_source(root)
    return cls(Path(root), options)


__all__ = ["SOURCES", "Source", "SourceOptions", "StepFiles", "RunImporter", "StopSignal", "ImportUsageError",
           "detect_source", "open_source"]
