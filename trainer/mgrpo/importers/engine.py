"""Import a source folder into a run directory once, or keep following it as the source grows.

Idempotent: a full pass rewrites every step file whole and metrics.jsonl atomically, keeps run.json's
``created``, and deletes step files the source no longer has, so importing twice gives the same files.
Following: a step is imported once it is ready (its files unchanged between two polls; for sources that append
during a step, once a later step exists), its rollout file written before its metrics line, as the run format
promises live readers. Stopping (SIGTERM, SIGINT, or end of a piped stdin) imports what is complete and exits.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from ..runlog import RunWriter, dumps_line, utc_now, utc_time, write_atomic
from .base import ImportUsageError, Source, StepFiles
from .records import (NON_NULLABLE_LAYER_FIELDS, NON_NULLABLE_METRICS_FIELDS, absent_fields, build_metrics_line,
                      build_records)
from .samples import ImportStats


class RunImporter:
    def __init__(self, source: Source, run_dir: Path, *, events=None):
        self.source = source
        self.run_dir = Path(run_dir)
        self.events = events  # a text stream for JSON-line events (stdout), or None
        self._check_target()
        self.writer = RunWriter(self.run_dir)
        self.stats = ImportStats()
        self.run_id = self.run_dir.resolve().name or "imported-run"
        self.imported: dict[int, tuple] = {}      # step -> signature imported
        self.metrics: dict[int, dict] = {}        # step -> metrics line
        self.absent: set[str] = set()
        self.created = self._previous_created() or utc_now()

    # target folder --------------------------------------------------------------------------------------
    def _check_target(self) -> None:
        manifest = self.run_dir / "run.json"
        if not manifest.is_file():
            return
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as error:
            raise ImportUsageError(f"{manifest} exists but is not readable JSON ({error}); choose another --to folder")
        source = data.get("source") if isinstance(data, dict) else None
        if not isinstance(source, dict) or "kind" not in source:
            raise ImportUsageError(f"{self.run_dir} already holds a run that was not imported (its run.json has no "
                               f"'source'); choose another --to folder so that run is not overwritten")

    def _previous_created(self) -> str | None:
        try:
            return json.loads((self.run_dir / "run.json").read_text(encoding="utf-8")).get("created")
        except (OSError, ValueError):
            return None

    # one step ---------------------------------------------------------------------------------------------
    def _import_step(self, files: StepFiles) -> int:
        samples = self.source.read(files, self.stats)
        records = build_records(samples, run_id=self.run_id, step=files.step, source_kind=self.source.kind)
        self.absent |= absent_fields(records)
        path, count = self.writer.write_rollouts(files.step, records)
        self.stats.rows += count
        line = build_metrics_line(records, step=files.step, time=_written_at(files),
                                  source_metrics=self.source.step_metrics(files, self.stats),
                                  metric_names=self.source.metric_names)
        self.absent |= {name for name in NON_NULLABLE_METRICS_FIELDS if line.get(name) is None}
        self.absent |= {f"layer1.{name}" for name in NON_NULLABLE_LAYER_FIELDS if line["layer1"].get(name) is None}
        self.metrics[files.step] = line
        self._event({"event": "rollouts", "step": files.step, "path": str(path), "count": count})
        return count

    # passes -------------------------------------------------------------------------------------------------
    def import_all(self, status: str = "finished") -> None:
        """One full pass: every step the source has now."""
        found = self.source.step_files(self.stats)
        wanted = {files.step for files in found}
        for step, path in self.writer.step_files():
            if step not in wanted:
                path.unlink()
        for files in found:
            self._import_step(files)
            self.imported[files.step] = files.signature()
        text = "".join(dumps_line(self.metrics[step]) for step in sorted(self.metrics))
        write_atomic(self.writer.metrics_path, text)
        self.write_manifest(status)

    def follow(self, *, poll_seconds: float = 2.0, should_stop: Callable[[], bool]) -> str:
        """Start afresh (as a full pass would), then poll until ``should_stop``; return the final status."""
        wanted = {files.step for files in self.source.step_files(self.stats)}
        for step, path in self.writer.step_files():
            if step not in wanted:
                path.unlink()
        write_atomic(self.writer.metrics_path, "")
        self.write_manifest("running")
        last_seen: dict[int, tuple] = {}
        while not should_stop():
            changed = self._poll(last_seen, final=False)
            if changed:
                self.write_manifest("running")
            deadline = time.monotonic() + poll_seconds
            while time.monotonic() < deadline and not should_stop():
                time.sleep(min(0.2, poll_seconds))
        self._poll(last_seen, final=True)
        self.write_manifest("stopped")
        return "stopped"

    def _poll(self, last_seen: dict[int, tuple], *, final: bool) -> bool:
        found = self.source.step_files(self.stats)
        latest = max((files.step for files in found), default=None)
        changed = False
        for files in found:
            signature = files.signature()
            if self.imported.get(files.step) == signature:
                continue
            if self.source.appends_live:
                ready = final or files.step != latest
            else:
                ready = final or last_seen.get(files.step) == signature
            last_seen[files.step] = signature
            if not ready:
                continue
            again = files.step in self.metrics
            self._import_step(files)
            self.imported[files.step] = signature
            if again:  # a step already shown changed in the source: rewrite the metrics file whole
                text = "".join(dumps_line(self.metrics[step]) for step in sorted(self.metrics))
                write_atomic(self.writer.metrics_path, text)
            else:
                self.writer.append_metrics(self.metrics[files.step])
            changed = True
        return changed

    # run.json -----------------------------------------------------------------------------------------------
    def write_manifest(self, status: str) -> None:
        facts = dict(self.source.run_facts())
        if self.source.options.model:
            facts["model"] = self.source.options.model
        steps = sorted(self.metrics)
        self.writer.write_manifest({
            "run_id": self.run_id, "name": f"{self.source.kind}: {self.source.root.name}",
            "created": self.created, "status": status, "algorithm": "grpo",
            "config": facts.get("config", {}),
            "model": {"name_or_path": facts.get("model")},
            "total_steps": steps[-1] if steps else 0, "completed_steps": len(steps),
            "last_checkpoint": None, "pid": os.getpid() if status == "running" else None, "error": None,
            "source": {
                "kind": self.source.kind, "path": str(self.source.root.resolve()),
                "format_followed": self.source.format_followed,
                "absent_fields": sorted(self.absent | ({"model.name_or_path"} if facts.get("model") is None else set())),
                "derived_fields": {
                    "group_reward_mean": "mean of the group's rewards (groups as the source defines them)",
                    "group_reward_std": "population std of the group's rewards",
                    "question_id": "prompt-<sha1 of the prompt> when the source has no prompt id",
                    "steps": "non-blank lines of the completion (mgrpo.task.step_spans)",
                    "answer_span": "final answer line by mgrpo.task.answer_span",
                },
                **self.stats.as_json(),
            },
        })

    def _event(self, event: dict) -> None:
        if self.events is not None:
            self.events.write(json.dumps(event) + "\n")
            self.events.flush()


class StopSignal:
    """Set by SIGTERM/SIGINT, or when a piped stdin reaches its end (the host that started us went away)."""

    def __init__(self, watch_stdin: bool = True):
        self._event = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self._event.set())
        if watch_stdin and _stdin_is_pipe():
            threading.Thread(target=self._drain_stdin, daemon=True).start()

    def _drain_stdin(self) -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        self._event.set()

    def __call__(self) -> bool:
        return self._event.is_set()


def _stdin_is_pipe() -> bool:
    try:
        return stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


def _written_at(files: StepFiles) -> str:
    """When the source wrote the step (its newest file), so a re-import writes the same metrics line."""
    mtimes = []
    for path in files.paths:
        try:
            mtimes.append(path.stat().st_mtime)
        except OSError:
            pass
    if not mtimes:
        return utc_now()
    return utc_time(max(mtimes))
