"""TRL ``GRPOTrainer(log_completions=True)`` files: ``{output_dir}/completions/completions_{step:05d}.parquet``.

Followed: TRL 1.16's ``GRPOTrainer.log`` (``trl/trainer/grpo_trainer.py`` in this project's .venv): columns
``step``, ``prompt`` (text, or chat messages), ``completion``, one column per reward function (NaN where the
function returned None), the columns a reward function added with ``log_extra``, and ``advantage``.
The file has no group id: with ``--group-size N`` (the run's ``num_generations``) groups are runs of N
consecutive rows, as TRL gathers them; without it, rows with the same prompt form a group. It cannot say
which columns are reward functions: ``--reward-columns`` names them, else every numeric column other than
``step`` and ``advantage`` is taken as one, and ``reward`` is their unweighted sum (TRL's reward_weights are
not in the file). No token data, finish reason or ground truth (unless an extra column carries it).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from .base import Source, StepFiles
from .samples import ImportedSample, ImportStats, finite_number, message_text, optional_text

STEP_FILE = re.compile(r"^completions_(\d+)\.parquet$")
TRUTH_COLUMNS = ("ground_truth", "answer", "solution", "gts", "target")


def completions_dir(root: Path) -> Path:
    root = Path(root)
    return root if root.name == "completions" or not (root / "completions").is_dir() else root / "completions"


class TrlFilesSource(Source):
    kind = "trl"
    patterns = ("completions/completions_{step:05d}.parquet (TRL log_completions)",
                "completions_{step:05d}.parquet")
    format_followed = "TRL 1.16 GRPOTrainer.log: completions_{step:05d}.parquet with step, prompt, completion, reward columns, extra columns, advantage"

    @classmethod
    def matches(cls, root: Path) -> bool:
        folder = completions_dir(root)
        return folder.is_dir() and any(STEP_FILE.match(path.name) for path in folder.iterdir())

    def step_files(self, stats: ImportStats) -> list[StepFiles]:
        found = []
        for path in completions_dir(self.root).iterdir():
            match = STEP_FILE.match(path.name)
            if match and int(match.group(1)) >= 1:
                found.append(StepFiles(int(match.group(1)), (path,)))
        return sorted(found, key=lambda files: files.step)

    def read(self, files: StepFiles, stats: ImportStats) -> list[ImportedSample]:
        import pyarrow.parquet as parquet
        import pyarrow.types as types

        path = files.paths[0]
        try:
            table = parquet.read_table(path)
        except Exception as error:  # noqa: BLE001 - a torn or foreign file is the source's problem, not ours
            stats.unreadable_row(path.name, f"not a readable parquet file ({type(error).__name__}: {error})")
            return []
        rows = table.to_pylist()
        # From the column types, not the values: a reward function's None is stored as null (NaN -> null).
        reward_columns = self.options.reward_columns or [
            column.name for column in table.schema if column.name not in ("step", "advantage")
            and (types.is_floating(column.type) or types.is_integer(column.type))]
        samples = []
        for index, row in enumerate(rows):
            where = f"{path.name}:row {index}"
            completion = message_text(row.get("completion"))
            if not isinstance(completion, str):
                stats.unreadable_row(where, "no 'completion'")
                continue
            rewards = {}
            for name in reward_columns:
                value = finite_number(row.get(name))
                if value is None:
                    if row.get(name) is not None and not (isinstance(row.get(name), float) and math.isnan(row[name])):
                        stats.note(f"{where}: reward column {name!r} holds {row.get(name)!r}, not a number")
                    stats.rewards_not_finite += 1
                    continue
                rewards[name] = value
            truth = next((row[name] for name in TRUTH_COLUMNS if row.get(name) is not None), None)
            samples.append(ImportedSample(
                step=files.step, prompt=message_text(row.get("prompt")), completion=completion,
                reward=sum(rewards.values()) if rewards else None, rewards=rewards,
                advantage=finite_number(row.get("advantage")), ground_truth=optional_text(truth),
                source_fields={key: value for key, value in row.items()
                               if key not in ("step", "prompt", "completion", "advantage", *reward_columns)},
                location=where,
            ))
        self._assign_groups(samples, path.name, stats)
        return samples

    def _assign_groups(self, samples: list[ImportedSample], name: str, stats: ImportStats) -> None:
        size = self.options.group_size
        if size:
            runs = [samples[start:start + size] for start in range(0, len(samples), size)]
            if len(samples) % size == 0 and all(len({sample.prompt for sample in run}) == 1 for run in runs):
                for number, run in enumerate(runs):
                    for order, sample in enumerate(run):
                        sample.group_key, sample.sample_order = f"run-{number}", order
                return
            stats.note(f"{name}: rows are not runs of {size} identical prompts; grouping by identical prompt")
        for sample in samples:
            sample.group_key = sample.prompt
