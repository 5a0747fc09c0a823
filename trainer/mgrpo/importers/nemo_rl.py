"""NeMo-RL's per-step logs: ``train_data_step{N}.jsonl`` (and ``val_data_step{N}.jsonl``) in its log folder.

Checked against NeMo-RL's source at NVIDIA-NeMo/RL commit 7ea279abfbeb698b092856d0dab61e7cf39bc909
(2026-08-22): ``nemo_rl/algorithms/grpo.py`` (``grpo_train`` and ``async_grpo_train`` build ``log_data``),
``nemo_rl/utils/logger.py`` (``Logger.log_batched_dict_as_jsonl``), ``nemo_rl/data/llm_message_utils.py``
(``batched_message_log_to_flat_message``) and ``nemo_rl/experience/rollouts.py`` (``run_multi_turn_rollout``).
What the writer does:
- one file per training step N (``total_steps + 1``, so from 1), opened with "w": rewritten whole, never appended;
- one line per sample: the batch sliced to one row (``make_microbatch_iterator(1)``), so every batch value
  is wrapped in a one-element list: scalars ``[x]``, per-token tensors ``[[...]]``, ``content`` ``[[str, ...]]``;
  then ``"idx": i``, a bare int: the line's row number, NOT a prompt index;
- ``content``: one string per message of the conversation: the prompt messages as chat-template chunks, each
  generated assistant message as its decoded text (special tokens skipped), and after each assistant turn the
  environment's observation (math: "Environment: correct"); roles are not written;
- ``token_ids``, ``token_loss_mask`` (1 on generated assistant tokens only), ``generation_logprobs`` (0 off
  them), ``prev_logprobs`` and ``advantages`` (the sample's advantage expanded to every position, prompt
  included): per token, right-padded to the batch's longest sequence; ``input_lengths`` is the unpadded
  length; ``sample_loss_mask`` is 0 for samples left out of the loss;
- sometimes: ``agent_ref`` (NeMo Gym batches), ``filtered_rewards`` (dynamic sampling: then it holds the
  rewards the advantages came from, and ``rewards`` the unfiltered batch's, not aligned with the rows);
  ``env.should_log_nemo_gym_responses`` turns the file off. Files written before commit f11f99c79 (2026-02-21)
  have only ``content``, ``rewards``, (``filtered_rewards``), ``generation_logprobs``, ``prev_logprobs``,
  ``input_lengths`` and ``idx``.
How we read it:
- prompt/completion boundary in tokens: the first position with ``token_loss_mask`` 1, the completion ending
  after the last (trailing environment tokens excluded); without the mask (older files), the first non-zero
  generation log-prob up to ``input_lengths``;
- group: identical prompt token ids (``token_ids`` before the boundary), as NeMo-RL's
  ``calculate_baseline_and_std_per_prompt`` groups; without them, identical prompt text; the row number
  ``idx`` orders the samples of a group. An ``idx`` written inside a list is not this writer's row counter,
  so it is kept as the prompt's id and groups (files from other writers);
- prompt and completion text: with ``--tokenizer DIR`` decoded from ``token_ids`` at the boundary (exact, with
  token offsets); else from ``content``: the generated turns (counted as runs of the loss mask, else one) and
  the observation after each are the last messages; the prompt is the messages before them, the completion
  runs from the first generated message to the last, and a final observation goes to ``source_fields``;
- a ``content`` given as one string or as role/content messages (not what this writer produces) is split
  after the last assistant header, or at the last assistant message.
Not checked: ``val_data_step{N}.jsonl`` rows (counted as skipped: the run format has no sampled validation
rollouts), NeMo Gym's ``agent_ref`` values (kept as recorded), multimodal rows.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .base import Source, StepFiles
from .samples import ImportedSample, ImportStats, finite_number, message_text, read_json_rows

TRAIN_FILE = re.compile(r"^train_data_step(\d+)\.jsonl$")
VAL_FILE = re.compile(r"^val_data_step(\d+)\.jsonl$")
ASSISTANT_HEADERS = ("<|im_start|>assistant\n", "<|start_header_id|>assistant<|end_header_id|>\n\n",
                     "<|assistant|>\n", "<|assistant|>", "<start_of_turn>model\n", "<|Assistant|>")
KNOWN = {"content", "rewards", "filtered_rewards", "advantages", "generation_logprobs", "prev_logprobs",
         "token_ids", "token_loss_mask", "input_lengths", "idx"}


def one_row(value):
    """The writer slices the batch to one row, so each batch value arrives wrapped in a one-element list."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def number_list(value) -> list | None:
    return value if isinstance(value, list) and all(finite_number(item) is not None for item in value) else None


def split_at_assistant_header(text: str) -> tuple[str, str] | None:
    best = -1
    for header in ASSISTANT_HEADERS:
        at = text.rfind(header)
        if at != -1:
            best = max(best, at + len(header))
    return (text[:best], text[best:]) if best != -1 else None


def generated_spans(mask: list, length: int) -> list[tuple[int, int]]:
    """Runs of trainable tokens: each is one generated assistant message (prompt and environment tokens are 0)."""
    spans, start = [], None
    for position in range(min(length, len(mask))):
        if mask[position] and start is None:
            start = position
        elif not mask[position] and start is not None:
            spans.append((start, position))
            start = None
    if start is not None:
        spans.append((start, min(length, len(mask))))
    return spans


def first_generated_position(logprobs: list, length: int) -> int | None:
    """Older files have no loss mask: the prompt is where the generation log-probs are still 0."""
    for position in range(min(length, len(logprobs))):
        value = finite_number(logprobs[position])
        if value is not None and value != 0.0:
            return position
    return None


def split_messages(messages: list[str], turns: int) -> tuple[str, str, str | None] | None:
    """(prompt, completion, final observation) from the message strings of one conversation.

    After the prompt, run_multi_turn_rollout appends each generated message and then the environment's answer,
    so the last 2 * turns messages are the rollout; without a final answer, 2 * turns - 1."""
    for rollout_messages in (2 * turns, 2 * turns - 1):
        first = len(messages) - rollout_messages
        if first >= 1:
            last_generated = first + 2 * (turns - 1)
            observation = messages[last_generated + 1] if last_generated + 1 < len(messages) else None
            return "".join(messages[:first]), "".join(messages[first:last_generated + 1]), observation
    return None


def prompt_key(token_ids: list) -> str:
    return "prompt-" + hashlib.sha1(",".join(str(int(token)) for token in token_ids).encode()).hexdigest()[:16]


class NemoRlSource(Source):
    kind = "nemo-rl"
    patterns = ("train_data_step{N}.jsonl (NeMo-RL log folder)",)
    format_followed = ("NeMo-RL 7ea279ab grpo.py log_data via logger.log_batched_dict_as_jsonl: content (message "
                       "strings), rewards, filtered_rewards, input_lengths, token_ids, token_loss_mask, "
                       "sample_loss_mask, advantages, generation_logprobs, prev_logprobs (one-row lists), idx "
                       "(row number)")
    uses_tokenizer = True  # token_ids: prompt and completion split by token, log-probs placed on the text

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

    def read(self, files: StepFiles, stats: ImportStats) -> list[ImportedSample]:
        samples = []
        for number, row in read_json_rows(files.paths[0], stats):
            where = f"{files.paths[0].name}:{number}"
            sample = self._sample(files.step, row, where, stats)
            if sample is not None:
                samples.append(sample)
        return samples

    def _sample(self, step: int, raw: dict, where: str, stats: ImportStats) -> ImportedSample | None:
        row = {key: one_row(value) for key, value in raw.items()}
        content = row.get("content")
        logprobs = number_list(row.get("generation_logprobs"))
        token_ids = number_list(row.get("token_ids"))
        mask = number_list(row.get("token_loss_mask"))
        length = row.get("input_lengths")
        if not isinstance(length, int):
            length = len(token_ids) if token_ids is not None else (len(logprobs) if logprobs is not None else None)
        spans = generated_spans(mask, length) if mask is not None and length is not None else []
        if spans:
            boundary, end = spans[0][0], spans[-1][1]
        else:
            boundary = first_generated_position(logprobs, length) if logprobs is not None and length is not None else None
            end = length

        prompt = completion = observation = None
        token_offsets = None
        tokenizer = self.tokenizer()
        if tokenizer is not None and token_ids is not None and boundary is not None:
            from ..sampling import token_offsets as offsets_of

            completion_ids = [int(token) for token in token_ids[boundary:end]]
            prompt = tokenizer.decode([int(token) for token in token_ids[:boundary]], skip_special_tokens=False)
            completion = tokenizer.decode(completion_ids, skip_special_tokens=True)
            token_offsets = offsets_of(tokenizer, completion_ids, completion)
        elif isinstance(content, list) and content and all(isinstance(item, str) for item in content):
            split = split_messages(content, max(len(spans), 1))
            if split:
                prompt, completion, observation = split
        elif isinstance(content, list):  # role/content messages
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
        token_logprobs = None
        if logprobs is not None and boundary is not None:
            token_logprobs = [float(value) for value in logprobs[boundary:end]]
            if token_offsets is not None and len(token_offsets) != len(token_logprobs):
                token_offsets = None

        reward = self._reward(row, where, stats)
        idx = row.get("idx")
        prompt_id = idx if isinstance(raw.get("idx"), list) and isinstance(idx, (int, str)) else None
        if prompt_id is not None:
            group_key = f"idx-{prompt_id}"
        elif token_ids is not None and boundary is not None:
            group_key = prompt_key(token_ids[:boundary])
        else:
            group_key = prompt
        fields = {key: value for key, value in row.items() if key not in KNOWN}
        if "filtered_rewards" in row:
            fields["rewards_unfiltered_batch"] = row.get("rewards")
        if observation is not None:
            fields["environment_observation"] = observation
        return ImportedSample(
            step=step, prompt=prompt, completion=completion, reward=reward,
            rewards={"reward": reward} if reward is not None else {},
            advantage=self._advantage(row.get("advantages"), boundary),
            group_key=group_key, question_id=f"idx-{prompt_id}" if prompt_id is not None else None,
            sample_order=idx if prompt_id is None and isinstance(idx, int) else None,
            prompt_tokens=boundary, completion_tokens=(end - boundary) if boundary is not None else None,
            token_logprobs=token_logprobs, token_offsets=token_offsets,
            source_fields=fields, location=where,
        )

    @staticmethod
    def _reward(row: dict, where: str, stats: ImportStats) -> float | None:
        """With dynamic sampling the row's own reward is ``filtered_rewards``: ``rewards`` then lists the unfiltered
        batch, which the one-row slicing pairs with the wrong rows."""
        key = "filtered_rewards" if "filtered_rewards" in row else "rewards"
        reward = finite_number(row.get(key))
        if reward is None:
            stats.rewards_not_finite += 1
            stats.note(f"{where}: {key} {row.get(key)!r} is not a finite number; reward left absent")
        return reward

    @staticmethod
    def _advantage(advantage, boundary: int | None) -> float | None:
        """Per token, the sample's advantage is expanded over every position: read it at the first generated token
        (message-level penalties may change other messages' tokens)."""
        if not isinstance(advantage, list):
            return finite_number(advantage)
        if boundary is not None and boundary < len(advantage):
            return finite_number(advantage[boundary])
        values = {finite_number(value) for value in advantage}
        return values.pop() if len(values) == 1 else None
