"""verl's rollout dumps: ``trainer.rollout_data_dir`` (or ``validation_data_dir``), one ``{step}.jsonl`` per step.

Followed: verl's ``RayPPOTrainer._dump_generations`` (verl 0.4-0.6 era, as FIELD.md summarises it): each line
has ``input``, ``output``, ``gts``, ``score``, ``step``, every key of the reward function's extra info (e.g.
``acc``, ``pred``) and, in newer versions, ``request_id`` and ``uid``. Rows are reordered by batch balancing,
so groups are rebuilt: from ``uid`` (``{uid}_{session}_{index}`` in newer verl: the group is ``{uid}``, the
sample ``{index}``; a plain uid is the group) when present, else from identical ``input``.
verl records no advantage, token data or finish reason; ``acc`` (when the reward function reports it) is
taken as correctness.
"""

from __future__ import annotations

import re
from pathlib import Path

from .base import Source, StepFiles
from .samples import ImportedSample, ImportStats, finite_number, optional_text, read_json_rows

STEP_FILE = re.compile(r"^(\d+)\.jsonl$")
KNOWN = {"input", "output", "gts", "score", "step", "uid", "acc"}


def split_uid(uid: str) -> tuple[str, int | None]:
    """``{uid}_{session}_{index}`` -> (uid, index); anything else is a group id on its own."""
    parts = uid.rsplit("_", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return parts[0], int(parts[2])
    return uid, None


class VerlSource(Source):
    kind = "verl"
    patterns = ("{step}.jsonl (verl trainer.rollout_data_dir)",)
    format_followed = "verl _dump_generations: {step}.jsonl with input, output, gts, score, step, reward extra info, request_id, uid"

    @classmethod
    def matches(cls, root: Path) -> bool:
        return any(STEP_FILE.match(path.name) for path in Path(root).iterdir() if path.is_file())

    def step_files(self, stats: ImportStats) -> list[StepFiles]:
        found = []
        for path in self.root.iterdir():
            match = STEP_FILE.match(path.name)
            if match and path.is_file() and int(match.group(1)) >= 1:
                found.append(StepFiles(int(match.group(1)), (path,)))
            elif match:
                stats.skipped_files[path.name] = "step 0 (before training; the run format numbers steps from 1)"
        return sorted(found, key=lambda files: files.step)

    def read(self, files: StepFiles, stats: ImportStats) -> list[ImportedSample]:
        samples = []
        for number, row in read_json_rows(files.paths[0], stats):
            where = f"{files.paths[0].name}:{number}"
            completion = row.get("output")
            if not isinstance(completion, str):
                stats.unreadable_row(where, "no 'output' text")
                continue
            prompt = optional_text(row.get("input"))
            score = finite_number(row.get("score"))
            if score is None:
                stats.rewards_not_finite += 1
                stats.note(f"{where}: score {row.get('score')!r} is not a finite number; reward left absent")
            uid = row.get("uid")
            group_key, order = (split_uid(uid) if isinstance(uid, str) and uid else (prompt, None))
            acc = row.get("acc")
            samples.append(ImportedSample(
                step=files.step, prompt=prompt, completion=completion, reward=score,
                rewards={"score": score} if score is not None else {},
                ground_truth=optional_text(row.get("gts")),
                correct=bool(acc) if isinstance(acc, (bool, int, float)) and acc in (0, 1) else None,
                group_key=group_key, sample_order=order,
                source_fields={key: value for key, value in row.items() if key not in KNOWN},
                location=where,
            ))
        return samples
