"""The interface every source importer implements, and the step files it finds."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .records import DEFAULT_METRIC_NAMES
from .samples import ImportedSample, ImportStats


@dataclass(frozen=True)
class StepFiles:
    """The files one training step of a source wrote (prime-rl writes several per step)."""
    step: int
    paths: tuple[Path, ...]

    def signature(self) -> tuple:
        """Changes whenever a file of the step grows or is rewritten."""
        result = []
        for path in self.paths:
            try:
                stat = path.stat()
                result.append((str(path), stat.st_size, stat.st_mtime_ns))
            except FileNotFoundError:
                result.append((str(path), -1, -1))
        return tuple(result)


class ImportUsageError(Exception):
    """A usage problem the user must fix (no such folder, nothing recognised, a folder that is not ours)."""


@dataclass
class SourceOptions:
    """Command-line knobs some sources need; every one is optional."""
    group_size: int | None = None          # TRL files: rows of one group are consecutive runs of this size
    reward_columns: list[str] | None = None  # TRL files: which columns are reward functions
    model: str | None = None               # the model's name, for run.json (no source file records it)
    tokenizer: str | None = None           # NeMo-RL, prime-rl: a local tokenizer folder, for token-level data
    extra: dict = field(default_factory=dict)


class Source:
    """One kind of rollout folder. Subclasses set the class attributes and implement the three methods."""
    kind: str = ""
    patterns: tuple[str, ...] = ()      # what detection looks for, as shown in the error when nothing matches
    format_followed: str = ""           # the source version / description the reader was written from
    appends_live: bool = False          # True: a step's files grow while it runs (ready once a later step exists)
    # The source's names for our loss, kl and entropy (the source's metrics stay in source_metrics under their
    # own names; these only fill the run format's fields, so the dashboard's charts).
    metric_names: dict[str, tuple[str, ...]] = DEFAULT_METRIC_NAMES
    uses_tokenizer: bool = False        # True: --tokenizer places the source's token data on the text

    def __init__(self, root: Path, options: SourceOptions | None = None):
        self.root = Path(root)
        self.options = options or SourceOptions()
        self._tokenizer = None

    def tokenizer(self):
        """The tokenizer of ``--tokenizer`` (loaded once), or None without one. Never downloads: a local folder,
        or a model name already in the Hugging Face cache. A folder that holds none is a usage error, said at once."""
        if self._tokenizer is None and self.options.tokenizer and self.uses_tokenizer:
            from transformers import AutoTokenizer

            given = self.options.tokenizer
            # A path (not a model name such as Qwen/Qwen3-0.6B) that is not there: say so, not transformers' repo-id rules.
            if given.startswith((".", "~", "/")) and not os.path.isdir(os.path.expanduser(given)):
                raise ImportUsageError(f"--tokenizer {given}: no such folder")
            try:
                self._tokenizer = AutoTokenizer.from_pretrained(os.path.expanduser(given), local_files_only=True)
            except Exception as error:  # transformers raises OSError, ValueError or its own errors here
                raise ImportUsageError(f"--tokenizer {given}: no tokenizer could be loaded from it "
                                       f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})")
        return self._tokenizer

    @classmethod
    def matches(cls, root: Path) -> bool:
        raise NotImplementedError

    def step_files(self, stats: ImportStats) -> list[StepFiles]:
        """Training steps found, ascending; files of other splits are recorded in ``stats.skipped_files``."""
        raise NotImplementedError

    def read(self, files: StepFiles, stats: ImportStats) -> list[ImportedSample]:
        raise NotImplementedError

    def step_metrics(self, files: StepFiles, stats: ImportStats) -> dict | None:
        """Scalar metrics the source logged for this step, if it logs them next to the rollouts."""
        return None

    def run_facts(self) -> dict:
        """What the source says about the run as a whole (model name, config), if anything."""
        return {}
