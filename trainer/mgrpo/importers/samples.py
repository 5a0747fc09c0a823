"""What every importer hands over: one ``ImportedSample`` per rollout row of a source, holding only what the
source recorded (``None`` where it recorded nothing), and ``ImportStats``, the rows it could not read.

Source files are untrusted: a row that does not parse, is not an object, or lacks its completion is counted
and skipped, never fatal; bytes that are not UTF-8 are replaced (U+FFFD) and the row is kept and counted.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator


@dataclass
class ImportedSample:
    """One rollout as a source recorded it. ``None`` means the source did not record it."""
    step: int
    completion: str
    prompt: str | None = None
    reward: float | None = None                   # the scalar the trainer optimised (sum of components)
    rewards: dict[str, float] = field(default_factory=dict)  # components by name (finite values only)
    advantage: float | None = None
    ground_truth: str | None = None
    correct: bool | None = None
    group_key: str | None = None                  # rows with the same key form one GRPO group
    sample_order: Any = None                      # sorts the samples of a group (source index), else row order
    question_id: str | None = None                # the source's own stable id of the prompt, if any
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None              # "stop" | "length"
    token_logprobs: list[float] | None = None
    token_offsets: list[int] | None = None
    source_fields: dict[str, Any] = field(default_factory=dict)  # the row's other columns, as recorded
    location: str = ""                            # "file:line" for messages


@dataclass
class ImportStats:
    """Counts an import reports in run.json and on stderr."""
    rows: int = 0
    unreadable: int = 0
    non_utf8_rows: int = 0
    rewards_not_finite: int = 0
    skipped_files: dict[str, str] = field(default_factory=dict)  # file -> why (e.g. validation split)
    problems: list[str] = field(default_factory=list)            # first few messages, for the manifest
    noted_once: set[str] = field(default_factory=set)             # keys of note_once messages already said

    MAX_PROBLEMS = 20

    def unreadable_row(self, where: str, why: str) -> None:
        self.unreadable += 1
        self.note(f"{where}: skipped: {why}")

    def note(self, message: str) -> None:
        print(f"mgrpo import: {message}", file=sys.stderr)
        if len(self.problems) < self.MAX_PROBLEMS:
            self.problems.append(message)

    def note_once(self, key: str, message: str) -> None:
        """A note that would repeat for every row of a run (a tokenizer that does not fit it): said the first time."""
        if key not in self.noted_once:
            self.noted_once.add(key)
            self.note(f"{message} (said once; later rows are not listed)")

    def as_json(self) -> dict:
        return {"rows_imported": self.rows, "rows_unreadable": self.unreadable, "rows_non_utf8": self.non_utf8_rows,
                "rewards_not_finite": self.rewards_not_finite, "skipped_files": dict(self.skipped_files),
                "problems": list(self.problems)}


def read_json_rows(path: Path, stats: ImportStats) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each JSON-object line of ``path``; bad lines are counted and skipped. An
    unterminated last line that does not parse is a live writer's line "not yet written": left for later, not
    counted (one that parses is a whole row whose writer left out the final newline)."""
    with path.open("rb") as handle:  # streamed: a reader that wants the first row reads only that much
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            where = f"{path.name}:{number}"
            if not raw.endswith(b"\n"):  # the last line, with no newline after it
                try:
                    json.loads(raw)
                except ValueError:
                    continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("utf-8", errors="replace")
                stats.non_utf8_rows += 1
                stats.note(f"{where}: bytes that are not UTF-8 were replaced with U+FFFD")
            try:
                row = json.loads(text)
            except json.JSONDecodeError as error:
                stats.unreadable_row(where, f"not JSON ({error.msg} at column {error.colno})")
                continue
            if not isinstance(row, dict):
                stats.unreadable_row(where, f"a JSON {type(row).__name__}, not an object")
                continue
            yield number, row


def finite_number(value: Any) -> float | None:
    """A finite float, or None for anything else (None, NaN, inf, text, booleans)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def optional_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, allow_nan=True, default=str)


def message_text(value: Any) -> str | None:
    """A prompt or completion as text: strings pass; chat messages ([{role, content}, ...]) are rendered one per
    line as ``role: content`` (a single assistant message is its content alone)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict) and "content" in value:
        value = [value]
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return rendered_messages(value)[0]
    return optional_text(value)


def rendered_messages(messages: list[dict]) -> tuple[str, list[tuple[int, int]]]:
    """Chat messages as message_text renders them, and each message's content as a [start, end) span of that text
    (so token offsets within one message can be placed in the whole)."""
    if len(messages) == 1 and messages[0].get("role") in (None, "assistant"):
        content = _content_text(messages[0].get("content"))
        return content, [(0, len(content))]
    parts, spans, at = [], [], 0
    for item in messages:
        header = f"{item.get('role', '?')}: "
        content = _content_text(item.get("content"))
        spans.append((at + len(header), at + len(header) + len(content)))
        parts.append(header + content)
        at += len(header) + len(content) + 1  # the newline between messages
    return "\n".join(parts), spans


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal parts: keep the text parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def json_safe(value: Any) -> Any:
    """A copy of ``value`` that json.dumps(allow_nan=False) accepts: non-finite floats become None, other
    non-JSON values their text. Source columns are kept for display, never trusted."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars from parquet
        return json_safe(value.tolist())
    return str(value)
