"""NeMo-RL's per-step logs: ``train_data_step{N}.jsonl`` (and ``val_data_step{N}.jsonl``) in its log folder.

Followed: NeMo-RL's GRPO loop (``nemo_rl/algorithms/grpo.py``, ``logger.log_batched_dict_as_jsonl``) as
FIELD.md summarises it: one line per sample with ``content`` (the whole conversation as text, or its
messages), ``rewards``, ``advantages`` (per sample, or per token), ``generation_logprobs`` and
``prev_logprobs`` (per token of the whole sequence, 0 on prompt tokens), ``token_ids``, ``input_lengths``
(sequence length) and ``idx`` (the prompt's index), each value wrapped in a one-element list.
- group: ``idx`` (samples of one prompt); without it, identical prompt text;
- prompt/completion boundary in tokens: the first non-zero generation log-prob (derived);
- prompt and completion text: with ``--tokenizer DIR`` decoded from ``token_ids`` at that boundary (exact,
  with token offsets); else split after the last assistant header of a chat template, else unsplit (the whole
  text is the completion, the prompt absent);
- ``val_data_step{N}.jsonl`` are validation samples: counted as skipped (the run format has no sampled
  validation rollouts).
"""

from __future__ import annotations

import re
from pathlib import Path

from .base import Source, StepFiles
from .samples import ImportedSample, ImportStats, finite_number, message_text, read_json_rows, unwrap

TRAIN_FILE = re.compile(r"^train_data_step(\d+)\.jsonl$")
VAL_FILE = re.compile(r"^val_data_step(\d+)\.jsonl$")
ASSISTANT_HEADERS = ("<|im_start|>assistant\n", "<|start_header_id|>assistant<|end_header_id|>\n\n",
                     "<|assistant|>\n", "<|assistant|>", "<start_of_turn>model\n", "<|Assistant|>")
KNOWN = {"content", "rewards", "advantages", "generation_logprobs", "prev_logprobs", "token_ids", "input_lengths",
         "idx"}


def split_at_assistant_header(text: str) -> tuple[str, str] | None:
    best = -1
    for header in ASSISTANT_HEADERS:
        at = text.rfind(header)
        if at != -1:
            best = max(best, at + len(header))
    return (text[:best], text[best:]) if best != -1 else None


def first_generated_position(logprobs: list, length: int) -> int | None:
    for position in range(min(length, len(logprobs))):
        value = finite_number(logprobs[position])
        if value is not None and value != 0.0:
            return position
    return None


class NemoRlSource(Source):
    kind = "nemo-rl"
    patterns = ("train_data_step{N}.jsonl (NeMo-RL log folder)",)
    format_followed = "NeMo-RL grpo.py log_batched_dict_as_jsonl: content, rewards, advantages, generation_logprobs, prev_logprobs, token_ids, input_lengths, idx (one-element lists)"

    def __init__(self, root, options=None):
        super().__init__(root, options)
        self._tokenizer = None

    @classmethod
    def matches(cls, root: Path) -> bool:
        return any(TRAIN_FILE.match(path.name) for path in Path(root).iterdir())

    def step_files(self, stats: ImportStats) -> list[StepFiles]:
        found = []
        for path in self.root.iterdir():
            match = TRAIN_FILE.match(path.name)
            if match:
                found.append(StepFiles(int(match.group(1)), (path,)))
            elif VAL_FILE.match(path.name):
                stats.skipped_files[path.name] = "validation samples (the run format has no sampled validation rollouts)"
        return sorted(found, key=lambda files: files.step)

    def tokenizer(self):
        if self._tokenizer is None and self.options.tokenizer:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.options.tokenizer)
        return self._tokenizer

    def read(self, files: StepFiles, stats: ImportStats) -> list[ImportedSample]:
        samples = []
        for number, row in read_json_rows(files.paths[0], stats):
            where = f"{files.paths[0].name}:{number}"
            sample = self._sample(files.step, {key: unwrap(value) for key, value in row.items()}, where, stats)
            if sample is not None:
                samples.append(sample)
        return samples

    def _sample(self, step: int, row: dict, where: str, stats: ImportStats) -> ImportedSample | None:
        content = row.get("content")
        logprobs = row.get("generation_logprobs") if isinstance(row.get("generation_logprobs"), list) else None
        token_ids = row.get("token_ids") if isinstance(row.get("token_ids"), list) else None
        length = row.get("input_lengths")
        if not isinstance(length, int):
            length = len(token_ids) if token_ids is not None else (len(logprobs) if logprobs is not None else None)
        boundary = first_generated_position(logprobs, length) if logprobs is not None and length is not None else None

        prompt = completion = None
        token_logprobs = token_offsets = None
        tokenizer = self.tokenizer()
        if tokenizer is not None and token_ids is not None and boundary is not None:
            from ..sampling import token_offsets as offsets_of

            completion_ids = [int(token) for token in token_ids[boundary:length]]
            prompt = tokenizer.decode([int(token) for token in token_ids[:boundary]], skip_special_tokens=False)
            completion = tokenizer.decode(completion_ids, skip_special_tokens=True)
            token_offsets = offsets_of(tokenizer, completion_ids, completion)
        elif isinstance(content, list):  # chat messages
            messages = [item for item in content if isinstance(item, dict)]
            last = max((index for index, item in enumerate(messages) if item.get("role") == "assistant"), default=None)
            if last is not None:
                prompt = message_text(messages[:last]) if last else None
                completion = message_text(messages[last:])
        elif isinstance(content, str):
            split = split_at_assistant_header(content)
            prompt, completion = split if split else (None, content)
        if not isinstance(completion, str):
            stats.unreadable_row(where, "no 'content' text with a completion")
            return None
        if logprobs is not None and boundary is not None:
            token_logprobs = [float(value) if finite_number(value) is not None else 0.0
                              for value in logprobs[boundary:length]]
            if token_offsets is not None and len(token_offsets) != len(token_logprobs):
                token_offsets = None

        reward = finite_number(row.get("rewards"))
        if reward is None:
            stats.rewards_not_finite += 1
            stats.note(f"{where}: rewards {row.get('rewards')!r} is not a finite number; reward left absent")
        advantage = row.get("advantages")
        if isinstance(advantage, list):  # per token: the completion's tokens share the sample's advantage
            values = [finite_number(value) for value in advantage[boundary or 0:length]]
            nonzero = [value for value in values if value]
            advantage = nonzero[0] if nonzero else (0.0 if values and None not in values else None)
        else:
            advantage = finite_number(advantage)
        idx = row.get("idx")
        return ImportedSample(
            step=step, prompt=prompt, completion=completion, reward=reward,
            rewards={"reward": reward} if reward is not None else {}, advantage=advantage,
            group_key=f"idx-{idx}" if isinstance(idx, (int, str)) else prompt,
            question_id=f"idx-{idx}" if isinstance(idx, (int, str)) else None,
            prompt_tokens=boundary, completion_tokens=(length - boundary) if boundary is not None else None,
            token_logprobs=token_logprobs, token_offsets=token_offsets,
            source_fields={key: value for key, value in row.items() if key not in KNOWN},
            location=where,
        )
