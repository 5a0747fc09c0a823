"""The run directory (trainer/RUN_FORMAT.md): a writer that keeps every file safe to read live, and a small
reader for tests and scripts.

Safety rules, as the format promises:
- run.json, state.json and eval files are replaced atomically (temp file in the same folder, fsync, rename);
- a step's rollout file is written under a temporary name and renamed into place whole, before the step's
  metrics line is appended; metrics.jsonl only ever grows by whole, flushed lines;
- resuming truncates metrics.jsonl to the checkpoint's line count and deletes later rollout and eval files.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

FORMAT_VERSION = 2
# Version 2 only adds optional fields (step labels, step-truth metrics) and step-values files, so a reader of 2
# reads 1 as it is.
READABLE_FORMAT_VERSIONS = (1, 2)
STEP_VALUES_DIR = "step-values"
STEP_FILE = re.compile(r"^step-(\d{6,})\.jsonl$")
EVAL_FILE = re.compile(r"^step-(\d{6,})\.json$")


def utc_now() -> str:
    return utc_time(datetime.now(timezone.utc).timestamp())


def utc_time(seconds: float) -> str:
    """A POSIX time as the run format writes times: ISO 8601, UTC, whole seconds, ``Z``."""
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def step_name(step: int) -> str:
    return f"step-{step:06d}"


def dumps_line(record: dict) -> str:
    """One JSON line. NaN/inf are not JSON: they fail here rather than produce a line readers reject."""
    return json.dumps(record, ensure_ascii=False, allow_nan=False, separators=(", ", ": ")) + "\n"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def write_json_atomic(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


class RunWriter:
    """Writes one run directory. Only rank 0 of a distributed run creates one."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.rollouts_dir = self.run_dir / "rollouts"
        self.eval_dir = self.run_dir / "eval"
        self.checkpoints_dir = self.run_dir / "checkpoints"
        self.metrics_path = self.run_dir / "metrics.jsonl"
        self.manifest_path = self.run_dir / "run.json"
        for folder in (self.run_dir, self.rollouts_dir, self.eval_dir, self.checkpoints_dir):
            folder.mkdir(parents=True, exist_ok=True)

    # run.json ---------------------------------------------------------------------------------------
    def write_manifest(self, manifest: dict) -> None:
        manifest = dict(manifest, format_version=FORMAT_VERSION, updated=utc_now())
        write_json_atomic(self.manifest_path, manifest)

    def read_manifest(self) -> dict | None:
        if not self.manifest_path.exists():
            return None
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    # rollouts and metrics ---------------------------------------------------------------------------
    def rollout_path(self, step: int) -> Path:
        return self.rollouts_dir / f"{step_name(step)}.jsonl"

    def write_rollouts(self, step: int, records: Iterable[dict]) -> tuple[Path, int]:
        """The whole step file appears at once (rename), so a reader never sees part of a step."""
        lines = [dumps_line(record) for record in records]
        path = self.rollout_path(step)
        write_atomic(path, "".join(lines))
        return path, len(lines)

    def append_metrics(self, line: dict) -> None:
        text = dumps_line(line)
        with open(self.metrics_path, "a", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())

    def metrics_line_count(self) -> int:
        """Complete (newline-terminated) lines in metrics.jsonl."""
        if not self.metrics_path.exists():
            return 0
        return self.metrics_path.read_bytes().count(b"\n")

    def rollout_line_count(self, up_to_step: int | None = None) -> int:
        total = 0
        for step, path in self.step_files():
            if up_to_step is None or step <= up_to_step:
                total += path.read_bytes().count(b"\n")
        return total

    def step_files(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.rollouts_dir.iterdir():
            match = STEP_FILE.match(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found)

    # evaluation -------------------------------------------------------------------------------------
    def eval_path(self, step: int) -> Path:
        return self.eval_dir / f"{step_name(step)}.json"

    def write_eval(self, step: int, result: dict) -> Path:
        path = self.eval_path(step)
        write_json_atomic(path, result)
        return path

    # resume -----------------------------------------------------------------------------------------
    def truncate_to(self, step: int, metrics_lines: int) -> None:
        """Forget everything after checkpoint ``step``: metrics lines past ``metrics_lines`` (including a torn
        last line), rollout and eval files of later steps, and stray temporary files."""
        if self.metrics_path.exists():
            data = self.metrics_path.read_bytes()
            end = 0
            for _ in range(metrics_lines):
                newline = data.find(b"\n", end)
                if newline == -1:
                    break
                end = newline + 1
            if end != len(data):
                with open(self.metrics_path, "r+b") as handle:
                    handle.truncate(end)
                    handle.flush()
                    os.fsync(handle.fileno())
        for file_step, path in self.step_files():
            if file_step > step:
                path.unlink()
        for path in self.eval_dir.iterdir():
            match = EVAL_FILE.match(path.name)
            if match and int(match.group(1)) > step:
                path.unlink()
        values_dir = self.run_dir / STEP_VALUES_DIR
        if values_dir.is_dir():  # values of records that no longer exist
            for path in values_dir.iterdir():
                match = STEP_FILE.match(path.name)
                if match and int(match.group(1)) > step:
                    path.unlink()
        for folder in (self.run_dir, self.rollouts_dir, self.eval_dir):
            for path in folder.glob(".*.tmp"):
                path.unlink()


# Reading ------------------------------------------------------------------------------------------------

def read_jsonl(path: str | Path) -> tuple[list[dict], int]:
    """(records, malformed count). An unterminated last line is "not yet written" and ignored; a terminated
    line that does not parse is counted as malformed and skipped."""
    data = Path(path).read_bytes()
    complete, _, _partial = data.rpartition(b"\n")
    records, malformed = [], 0
    if not complete and not data.endswith(b"\n"):
        return [], 0
    for raw in complete.split(b"\n"):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            malformed += 1
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            malformed += 1
    return records, malformed


def check_format_version(manifest: dict, where: str) -> int:
    """The manifest's format_version when this reader understands it; ValueError naming the file otherwise."""
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if version not in READABLE_FORMAT_VERSIONS:
        raise ValueError(f"{where}: format_version {version!r} is not one this trainer reads "
                         f"({', '.join(map(str, READABLE_FORMAT_VERSIONS))}); a newer mgrpo wrote it")
    return version


def step_values_path(run_dir: str | Path, step: int) -> Path:
    """Where `python -m mgrpo step-values` caches the values of records of training step ``step``."""
    return Path(run_dir) / STEP_VALUES_DIR / f"{step_name(step)}.jsonl"


def append_step_values(run_dir: str | Path, line: dict) -> Path:
    """Append one $defs/stepValues line (whole and flushed, like every JSON-lines file of a run)."""
    path = step_values_path(run_dir, line["step"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(dumps_line(line))
        handle.flush()
        os.fsync(handle.fileno())
    return path


def read_step_values(run_dir: str | Path) -> dict[str, list[dict]]:
    """Cached step values by record id, oldest first (a later estimate of the same record is appended)."""
    folder = Path(run_dir) / STEP_VALUES_DIR
    found: dict[str, list[dict]] = {}
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if STEP_FILE.match(path.name):
                for line in read_jsonl(path)[0]:
                    found.setdefault(line.get("record_id"), []).append(line)
    return found


def read_run(run_dir: str | Path) -> dict:
    """Everything in a run directory as plain data: manifest, metrics, rollouts by step, evals by step,
    complete checkpoints' states, cached step values by record id, and the number of malformed lines seen.
    Format versions 1 and 2 both read; another version is a ValueError."""
    run_dir = Path(run_dir)
    manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    check_format_version(manifest, str(run_dir / "run.json"))
    metrics, malformed = ([], 0)
    if (run_dir / "metrics.jsonl").exists():
        metrics, malformed = read_jsonl(run_dir / "metrics.jsonl")
    rollouts: dict[int, list[dict]] = {}
    rollouts_dir = run_dir / "rollouts"
    if rollouts_dir.is_dir():
        for path in sorted(rollouts_dir.iterdir()):
            match = STEP_FILE.match(path.name)
            if match:
                records, bad = read_jsonl(path)
                rollouts[int(match.group(1))] = records
                malformed += bad
    evals: dict[int, dict] = {}
    if (run_dir / "eval").is_dir():
        for path in sorted((run_dir / "eval").iterdir()):
            match = EVAL_FILE.match(path.name)
            if match:
                evals[int(match.group(1))] = json.loads(path.read_text(encoding="utf-8"))
    checkpoints: dict[int, dict] = {}
    if (run_dir / "checkpoints").is_dir():
        for folder in sorted((run_dir / "checkpoints").iterdir()):
            state = folder / "state.json"
            if state.is_file():
                data = json.loads(state.read_text(encoding="utf-8"))
                checkpoints[int(data["step"])] = data
    return {"manifest": manifest, "metrics": metrics, "rollouts": rollouts, "evals": evals,
            "checkpoints": checkpoints, "step_values": read_step_values(run_dir), "malformed": malformed}
