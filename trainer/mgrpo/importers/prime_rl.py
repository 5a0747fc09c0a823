"""prime-rl's rollout logs: ``rollouts/step_{N}/{train|eval}/.../traces.jsonl`` plus ``metrics.jsonl``.

Followed: FIELD.md's summary of prime-rl (2026-12) and the rollout fields of the ``verifiers`` environments it
runs: each trace line has ``prompt`` and ``completion`` (text or chat messages), ``answer``, ``reward``,
``example_id`` (the prompt's id: samples of one example form a group), optionally ``advantage``,
``is_truncated`` or ``stop_condition``, per-rubric scores under ``metrics`` (or as top-level numbers) and
``info``. The files are appended while a step runs, so a step is read once a later step exists (or when the
import stops). ``metrics.jsonl`` lines of the step become the metrics line's ``source_metrics``; ``loss`` and
``kl`` are taken from it when present. ``eval`` traces are counted as skipped.
This reader was not checked against a prime-rl checkout; unknown keys are kept as source fields.
"""

from __future__ import annotations

import re
from pathlib import Path

from .base import Source, StepFiles
from .samples import (ImportedSample, ImportStats, finite_number, message_text, optional_text, read_json_rows)

STEP_DIR = re.compile(r"^step_(\d+)$")
KNOWN = {"prompt", "completion", "answer", "reward", "advantage", "example_id", "is_truncated", "stop_condition",
         "metrics", "completion_tokens", "prompt_tokens"}


def rollouts_dir(root: Path) -> Path:
    root = Path(root)
    return root / "rollouts" if (root / "rollouts").is_dir() else root


class PrimeRlSource(Source):
    kind = "prime-rl"
    patterns = ("rollouts/step_{N}/train/**/traces.jsonl (prime-rl)", "step_{N}/train/**/traces.jsonl")
    format_followed = "prime-rl rollouts/step_{N}/{train|eval}/.../traces.jsonl + metrics.jsonl (FIELD.md 2026-12; verifiers rollout fields)"
    appends_live = True

    @classmethod
    def matches(cls, root: Path) -> bool:
        folder = rollouts_dir(root)
        return any(STEP_DIR.match(path.name) and any(path.glob("*/**/traces.jsonl")) for path in folder.iterdir()
                   if path.is_dir())

    def step_files(self, stats: ImportStats) -> list[StepFiles]:
        found = []
        for folder in rollouts_dir(self.root).iterdir():
            match = STEP_DIR.match(folder.name)
            if not (match and folder.is_dir()):
                continue
            train = sorted((folder / "train").glob("**/traces.jsonl")) if (folder / "train").is_dir() else []
            for path in sorted(folder.glob("eval/**/traces.jsonl")):
                stats.skipped_files[str(path.relative_to(self.root))] = "evaluation traces (not training rollouts)"
            step = int(match.group(1))
            if train and step >= 1:
                found.append(StepFiles(step, tuple(train)))
            elif train:
                stats.skipped_files[folder.name] = "step 0 (the run format numbers steps from 1)"
        return sorted(found, key=lambda files: files.step)

    def read(self, files: StepFiles, stats: ImportStats) -> list[ImportedSample]:
        samples = []
        for path in files.paths:
            for number, row in read_json_rows(path, stats):
                where = f"{path.relative_to(self.root)}:{number}"
                completion = message_text(row.get("completion"))
                if not isinstance(completion, str):
                    stats.unreadable_row(where, "no 'completion'")
                    continue
                reward = finite_number(row.get("reward"))
                if reward is None:
                    stats.rewards_not_finite += 1
                    stats.note(f"{where}: reward {row.get('reward')!r} is not a finite number; reward left absent")
                scores = row.get("metrics") if isinstance(row.get("metrics"), dict) else {}
                rewards = {name: value for name, value in
                           ((name, finite_number(value)) for name, value in scores.items()) if value is not None}
                if not rewards and reward is not None:
                    rewards = {"reward": reward}
                truncated = row.get("is_truncated")
                stop = row.get("stop_condition")
                finish = ("length" if truncated else "stop") if isinstance(truncated, bool) else (
                    "length" if stop in ("max_tokens", "length", "prompt_too_long") else None)
                example = row.get("example_id")
                prompt = message_text(row.get("prompt"))
                tokens = {name: row.get(name) if isinstance(row.get(name), int) else None
                          for name in ("prompt_tokens", "completion_tokens")}
                samples.append(ImportedSample(
                    step=files.step, prompt=prompt, completion=completion, reward=reward, rewards=rewards,
                    advantage=finite_number(row.get("advantage")), ground_truth=optional_text(row.get("answer")),
                    group_key=f"example-{example}" if example is not None else prompt,
                    question_id=f"example-{example}" if example is not None else None,
                    finish_reason=finish, **tokens,
                    source_fields={key: value for key, value in row.items() if key not in KNOWN},
                    location=where,
                ))
        return samples

    def step_metrics(self, files: StepFiles, stats: ImportStats) -> dict | None:
        """The step's line of the nearest metrics.jsonl (step folder first, then the run folder)."""
        step_dir = rollouts_dir(self.root) / f"step_{files.step}"
        for path in (step_dir / "metrics.jsonl", step_dir / "train" / "metrics.jsonl",
                     rollouts_dir(self.root).parent / "metrics.jsonl", self.root / "metrics.jsonl"):
            if path.is_file():
                lines = [row for _, row in read_json_rows(path, ImportStats())]
                same_step = [row for row in lines if row.get("step") == files.step]
                if same_step:
                    return same_step[-1]
                if path.parent == step_dir and lines:
                    return lines[-1]
        return None
