"""prime-rl's rollout logs: ``rollouts/step_{N}/{train|eval}/{all|effective}/traces.jsonl`` plus ``metrics.jsonl``.

Checked against prime-rl 559b447 (2026-08-21) and the verifiers it pins (deps/verifiers a60a606):
- ``src/prime_rl/monitors/file.py`` ``FileMonitor``: the run folder (``output_dir / run.name``, shared by trainer
  and orchestrator) gets ``metrics.jsonl`` (one ``{"step", "time", **metrics}`` line per ``monitors.log`` call:
  several per step, trainer and orchestrator appending to the same file) and
  ``rollouts/step_{N}/{kind}/{subset}/traces.jsonl``, one ``verifiers.v1.Episode.to_record()`` per line.
- ``src/prime_rl/orchestrator/orchestrator.py``: ``train/all`` grows one episode at a time as rollouts arrive
  (every arrival, errored or not, before advantages are assigned); ``train/effective`` is written once, when the
  step's batch ships (the trained-on cohort, with per-token ``advantages`` on the model's nodes). Steps count
  from 1 (``Progress.step = 1``). ``eval`` traces go to the step whose eval triggered them.
- ``verifiers/v1/episode.py`` / ``trace.py``: an episode is ``{id, env, task, group: {id}, run, ok, errors,
  traces}`` (``None`` fields dropped); each trace holds the message graph ``nodes`` (message, ``sampled``,
  ``token_ids``, ``mask``, ``logprobs``, ``advantages``), model ``calls`` (``finish_reason``, ``usage``),
  ``rewards`` (``{name: {score, weight} | null}``), unweighted ``metrics``, ``stop_condition``. The trace's
  reward, truncation and text are properties, not written: they are recomputed here as upstream defines them
  (``Trace.reward``, ``Trace.is_truncated``, the final branch of ``Trace.branches``; the scalar advantage as
  prime-rl's ``algo/routing.scalar_advantage``).
Before prime-rl 03cdc51 (2026-08-20) the same files held one ``Trace.to_record()`` per line (seen at 9975d88,
verifiers 6bcedc7: no ``group``, ``None`` fields kept); such lines are read as one-trace episodes grouped by
``task.key``. Earlier layouts (``traces/{train,eval}/...``, ``rollouts/step_N/*_rollouts*.jsonl``) are not read.
A step is read from ``train/effective`` when it exists (``train/all`` is then counted as skipped), else from
``train/all`` (a step still collecting, or one whose batch never shipped: no advantages yet). Samples of one prompt
share ``group.id``; the prompt's id is ``task.key``. One sample per trainable trace (an episode of a multi-agent env
has several; the group is then ``group.id`` per agent).

Not checked against upstream (kept from FIELD.md's 2026-12 summary, for older layouts): flat trace lines
(``prompt``/``completion``/``reward``/``example_id``/...) and ``rollouts/step_{N}/train/<env>/traces.jsonl`` or a
per-step ``metrics.jsonl``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .base import Source, SourceOptions, StepFiles
from .samples import (ImportedSample, ImportStats, finite_number, message_text, optional_text, read_json_rows,
                      rendered_messages)

STEP_DIR = re.compile(r"^step_(\d+)$")
KNOWN = {"prompt", "completion", "answer", "reward", "advantage", "example_id", "is_truncated", "stop_condition",
         "metrics", "completion_tokens", "prompt_tokens"}
# Trace.is_truncated (verifiers a60a606): these stop conditions are framework limits.
TRUNCATING_STOPS = {"max_turns", "max_input_tokens", "max_output_tokens", "max_total_tokens", "context_length"}
# What a trace line keeps as source fields: small, and not already mapped (nodes and calls are).
TRACE_FIELDS = ("id", "stop_condition", "is_completed", "ok", "errors", "rewards", "metrics", "info")


def rollouts_dir(root: Path) -> Path:
    root = Path(root)
    return root / "rollouts" if (root / "rollouts").is_dir() else root


def train_traces(step_dir: Path) -> tuple[list[Path], Path | None]:
    """The step's training trace files, and the ``all`` file left unread because ``effective`` supersedes it."""
    train = step_dir / "train"
    effective, arrivals = train / "effective" / "traces.jsonl", train / "all" / "traces.jsonl"
    if effective.is_file():
        return [effective], arrivals if arrivals.is_file() else None
    if arrivals.is_file():
        return [arrivals], None
    return (sorted(train.glob("**/traces.jsonl")) if train.is_dir() else []), None


class PrimeRlSource(Source):
    kind = "prime-rl"
    patterns = ("rollouts/step_{N}/train/{all|effective}/traces.jsonl (prime-rl)", "step_{N}/train/**/traces.jsonl")
    format_followed = ("prime-rl 559b447 FileMonitor: rollouts/step_{N}/{train|eval}/{all|effective}/traces.jsonl "
                       "(verifiers a60a606 Episode records) + metrics.jsonl")
    appends_live = True
    uses_tokenizer = True  # a sampled node's token_ids and logprobs: placed on the reply's text
    # The trainer's lines of metrics.jsonl (train.py): the mean loss and the mean entropy over all tokens. It
    # logs no KL to a reference policy (mismatch_kl is the trainer/inference mismatch, not that).
    metric_names = {"loss": ("loss/mean", "loss"), "kl": ("kl",), "entropy": ("entropy/all/mean", "entropy")}

    def __init__(self, root: Path, options: SourceOptions | None = None):
        super().__init__(root, options)
        # Kept across steps: importing or following N steps reads each metrics file once, not N times.
        self._metrics_logs: dict[Path, MetricsLog] = {}

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
            train, superseded = train_traces(folder)
            if superseded is not None:
                stats.skipped_files[str(superseded.relative_to(self.root))] = (
                    "every arrival of the step; its trained-on cohort (train/effective) was read instead")
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
                if is_episode(row):
                    samples.extend(episode_samples(row, files.step, where, stats, self.tokenizer()))
                elif is_trace_record(row):
                    samples.extend(episode_samples(trace_as_episode(row), files.step, where, stats, self.tokenizer()))
                else:
                    sample = flat_sample(row, files.step, where, stats)
                    if sample is not None:
                        samples.append(sample)
        return samples

    def run_facts(self) -> dict:
        """The policy's name as the first episode's agent config records it (``agent.config.model``)."""
        steps = sorted((int(match.group(1)), folder) for folder in rollouts_dir(self.root).iterdir()
                       if (match := STEP_DIR.match(folder.name)) and folder.is_dir())
        for _, folder in steps:
            for path in train_traces(folder)[0]:
                for _, row in read_json_rows(path, ImportStats()):
                    row = trace_as_episode(row) if is_trace_record(row) else row
                    if not is_episode(row):
                        return {}
                    if model := first_model(row):
                        return {"model": model}
                return {}
        return {}

    def step_metrics(self, files: StepFiles, stats: ImportStats) -> dict | None:
        """The step's lines of the nearest metrics.jsonl (run folder first), merged in file order: prime-rl's
        trainer and orchestrator each append several lines per step to the run folder's file."""
        step_dir = rollouts_dir(self.root) / f"step_{files.step}"
        for path in (rollouts_dir(self.root).parent / "metrics.jsonl", self.root / "metrics.jsonl",
                     step_dir / "metrics.jsonl", step_dir / "train" / "metrics.jsonl"):
            if path.is_file():
                log = self._metrics_logs.setdefault(path, MetricsLog(path))
                log.refresh()
                if merged := log.step(files.step):
                    return merged
                if path.parent == step_dir and log.last is not None:
                    return log.last
        return None


class MetricsLog:
    """A metrics.jsonl read as it grows: each refresh reads only the bytes appended since the last one and
    merges each line into its step's row (file order, later keys win). Lines that are not JSON objects are
    ignored, as the old whole-file reading did. A file that shrank or was replaced is read again from the start."""

    def __init__(self, path: Path):
        self.path = path
        self._reset(None)

    def _reset(self, identity: tuple | None) -> None:
        self._identity = identity
        self._offset = 0
        self._by_step: dict[int, dict] = {}
        self._last_complete: dict | None = None
        # An unterminated last line that parses: a writer that left out the final newline (re-read next time).
        self._tail: dict | None = None

    @property
    def last(self) -> dict | None:
        return self._tail if self._tail is not None else self._last_complete

    def step(self, step: int) -> dict:
        merged = dict(self._by_step.get(step, {}))
        if self._tail is not None and self._tail.get("step") == step:
            merged.update(self._tail)
        return merged

    def refresh(self) -> None:
        try:
            stat = self.path.stat()
        except OSError:
            self._reset(None)
            return
        identity = (stat.st_dev, stat.st_ino)
        if identity != self._identity or stat.st_size < self._offset:
            self._reset(identity)
        if stat.st_size == self._offset:
            self._tail = None
            return
        self._tail = None
        with self.path.open("rb") as handle:
            handle.seek(self._offset)
            for raw in handle:  # line by line: memory is one line, not the file
                if not raw.endswith(b"\n"):
                    self._tail = _json_object(raw)
                    break
                self._offset += len(raw)
                row = _json_object(raw)
                if row is not None:
                    self._last_complete = row
                    if isinstance(row.get("step"), int):
                        self._by_step.setdefault(row["step"], {}).update(row)


def _json_object(raw: bytes) -> dict | None:
    if not raw.strip():
        return None
    try:
        row = json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError:
        return None
    return row if isinstance(row, dict) else None


def first_model(row: dict) -> str | None:
    for trace in row["traces"]:
        config = ((trace.get("agent") or {}).get("config") or {}) if isinstance(trace, dict) else {}
        if isinstance(config.get("model"), str):
            return config["model"]
    return None


def is_trace_record(row: dict) -> bool:
    """A ``Trace.to_record()`` line: prime-rl wrote one per trace until 03cdc51 (2026-08-20)."""
    return isinstance(row.get("nodes"), list) and isinstance(row.get("task"), dict) and "rewards" in row


def trace_as_episode(row: dict) -> dict:
    """A lone trace line read as a one-trace episode: it has no group id, so its task stands for the group."""
    return {"task": row["task"], **({"run": row["run"]} if row.get("run") is not None else {}), "traces": [row]}


def is_episode(row: dict) -> bool:
    """A verifiers ``Episode.to_record()`` line (as opposed to an older flat rollout line)."""
    return isinstance(row.get("traces"), list) and isinstance(row.get("task"), dict)


def episode_samples(row: dict, step: int, where: str, stats: ImportStats, tokenizer=None) -> list[ImportedSample]:
    traces = [trace for trace in row["traces"] if isinstance(trace, dict)]
    if not traces:
        errors = "; ".join(f"{error.get('type')}: {error.get('message')}" for error in row.get("errors") or []
                           if isinstance(error, dict))
        stats.unreadable_row(where, f"episode {row.get('id')} produced no trace ({errors or 'no error recorded'})")
        return []
    group = row.get("group") if isinstance(row.get("group"), dict) else {}
    task = row["task"]
    task_id = task.get("key") or task.get("hash")
    data = task.get("data") if isinstance(task.get("data"), dict) else {}
    episode_fields = {"episode": {key: row[key] for key in ("id", "env", "run", "ok", "errors") if key in row},
                      "group": group.get("id"),
                      "task": {"type": task.get("type"), "key": task_id,
                               "data": {key: value for key, value in data.items() if key != "prompt"}}}
    samples = []
    for index, trace in enumerate(traces):
        agent = trace.get("agent") if isinstance(trace.get("agent"), dict) else {}
        trace_where = f"{where} trace {index}"
        if agent.get("trainable") is False:
            stats.note(f"{trace_where}: agent {agent.get('name')!r} is not trainable; skipped")
            continue
        sample = trace_sample(trace, step, trace_where, stats, tokenizer)
        if sample is None:
            continue
        group_id = group.get("id")
        agent_name = agent.get("name", "agent")
        sample.group_key = f"group-{group_id}/{agent_name}" if group_id is not None else (
            f"task-{task_id}/{agent_name}" if task_id else sample.prompt)
        sample.question_id = f"task-{task_id}" if task_id else None
        sample.ground_truth = optional_text(data.get("answer"))
        sample.source_fields = {**episode_fields, "agent": agent_name,
                                "trace": {key: trace[key] for key in TRACE_FIELDS if key in trace}}
        samples.append(sample)
    return samples


def trace_sample(trace: dict, step: int, where: str, stats: ImportStats, tokenizer=None) -> ImportedSample | None:
    """One trace's final branch as a sample (group, ids and source fields are the episode's to fill in); with a
    tokenizer, the sampling log-probs of its model messages placed on the text as well (see placed_tokens)."""
    nodes = [node for node in trace.get("nodes") or [] if isinstance(node, dict)]
    branch = final_branch(nodes)
    first = next((position for position, node in enumerate(branch) if node.get("sampled")), None)
    if first is None:
        stats.unreadable_row(where, f"trace has no model response (stop_condition {trace.get('stop_condition')!r})")
        return None
    messages = [node.get("message") if isinstance(node.get("message"), dict) else {} for node in branch]
    reward, rewards = trace_rewards(trace.get("rewards"))
    if reward is None:
        stats.rewards_not_finite += 1
        stats.note(f"{where}: no reward was scored ({trace.get('rewards')!r}); reward left absent")
    calls = [call for call in trace.get("calls") or [] if isinstance(call, dict)]
    completion, spans = rendered_messages([chat_message(message) for message in messages[first:]])
    token_logprobs = token_offsets = None
    if tokenizer is not None and (sampled := sampled_tokens(branch[first:])) is not None:
        placed = placed_tokens(sampled, completion, spans, tokenizer)
        if placed is not None:
            token_logprobs, token_offsets = placed
        else:
            stats.note_once("tokens-not-text", f"{where}: the sampled tokens do not decode to the message's text "
                            "with this tokenizer; token log-probs left out")
    return ImportedSample(
        step=step, prompt=message_text([chat_message(message) for message in messages[:first]]) if first else None,
        completion=completion or "",
        reward=reward, rewards=rewards, advantage=scalar_advantage(nodes),
        finish_reason=finish_reason(trace, calls),
        prompt_tokens=prompt_tokens(branch, calls), completion_tokens=completion_tokens(branch, calls),
        token_logprobs=token_logprobs, token_offsets=token_offsets,
        location=where,
    )


def sampled_tokens(reply: list[dict]) -> list[tuple[list[int], list[float]] | None] | None:
    """Per node of the reply: the sampled token ids and their sampling log-probs (a MessageNode's ``logprobs``
    cover the tokens its ``mask`` marks sampled: verifiers a60a606 graph.py), None for a node the model did not
    write (a user or tool turn). None for the whole reply when a model node has tool calls (written into the
    text as we render them, where no token lies) or lengths that disagree."""
    found = []
    for node in reply:
        if not node.get("sampled"):
            found.append(None)
            continue
        token_ids, mask, logprobs = node.get("token_ids"), node.get("mask"), node.get("logprobs")
        if (node.get("message") or {}).get("tool_calls") or not (
                isinstance(token_ids, list) and isinstance(mask, list) and isinstance(logprobs, list)
                and len(token_ids) == len(mask) and logprobs):
            return None
        ids = [token for token, is_sampled in zip(token_ids, mask) if is_sampled]
        values = [finite_number(value) for value in logprobs]
        if len(ids) != len(values) or None in values or not all(isinstance(token, int) for token in ids):
            return None
        found.append((ids, values))
    return found


def placed_tokens(sampled: list, completion: str, spans: list[tuple[int, int]],
                  tokenizer) -> tuple[list[float], list[int]] | None:
    """The reply's log-probs in order and each token's offset in ``completion`` (each model message's tokens placed
    within its own span). None unless every model message's tokens decode to its text: a reasoning model's content
    may leave out its thinking, and offsets guessed into a different text would put each hover's confidence on the
    wrong characters."""
    from ..sampling import token_offsets

    logprobs, offsets = [], []
    for node_tokens, (start, end) in zip(sampled, spans):
        if node_tokens is None:
            continue
        ids, values = node_tokens
        text = completion[start:end]
        if tokenizer.decode(ids, skip_special_tokens=True) != text:
            return None
        logprobs += values
        offsets += [start + offset for offset in token_offsets(tokenizer, ids, text)]
    return (logprobs, offsets) if logprobs else None


def final_branch(nodes: list[dict]) -> list[dict]:
    """``Trace.branches[-1]``: from the last node that is no node's parent back to its root."""
    parents = {node.get("parent") for node in nodes if isinstance(node.get("parent"), int)}
    leaves = [index for index in range(len(nodes)) if index not in parents]
    path, index, seen = [], leaves[-1] if leaves else None, set()
    while isinstance(index, int) and 0 <= index < len(nodes) and index not in seen:
        seen.add(index)
        path.append(nodes[index])
        index = nodes[index].get("parent")
    return path[::-1]


def chat_message(message: dict) -> dict:
    """An assistant's tool calls written into its content, as ``Trace.transcript`` shows them."""
    calls = message.get("tool_calls") or []
    if message.get("role") != "assistant" or not calls:
        return message
    lines = [message.get("content") or ""] + [f"[tool_call {call.get('name')}({call.get('arguments')})]"
                                              for call in calls if isinstance(call, dict)]
    return {**message, "content": "\n".join(line for line in lines if line)}


def trace_rewards(recorded) -> tuple[float | None, dict[str, float]]:
    """``Trace.reward`` (sum of score x weight over the rewards that were scored) and those weighted components;
    no reward when none was scored (``null`` entries: scoring did not run)."""
    components = {}
    for name, entry in (recorded or {}).items() if isinstance(recorded, dict) else ():
        if isinstance(entry, dict) and finite_number(entry.get("score")) is not None:
            weight = finite_number(entry.get("weight"))
            components[name] = entry["score"] * (1.0 if weight is None else weight)
    if not components and recorded:
        return None, {}
    return sum(components.values()), components


def scalar_advantage(nodes: list[dict]) -> float | None:
    """prime-rl's ``scalar_advantage``: the mean non-zero token advantage, 0 for an all-zero assignment, none
    before the algorithm assigned any (``train/all`` lines)."""
    values = [value for node in nodes for value in node.get("advantages") or [] if finite_number(value) is not None]
    if not values:
        return None
    nonzero = [value for value in values if value != 0.0]
    return sum(nonzero) / len(nonzero) if nonzero else 0.0


def finish_reason(trace: dict, calls: list[dict]) -> str | None:
    """``Trace.is_truncated``: a framework limit, or the last call without an error finished on length."""
    if trace.get("stop_condition") in TRUNCATING_STOPS:
        return "length"
    last = next((call for call in reversed(calls) if not call.get("error")), None)
    if last is not None and last.get("finish_reason") == "length":
        return "length"
    return None if trace.get("stop_condition") == "error" else "stop"


def prompt_tokens(branch: list[dict], calls: list[dict]) -> int | None:
    """Tokens before the first sampled token of the branch (the first call's prompt, generation prompt
    included); else the first call's reported input."""
    count = 0
    for node in branch:
        mask = node.get("mask") or []
        if True in mask:
            return count + mask.index(True)
        count += len(node.get("token_ids") or [])
    usage = calls[0].get("usage") if calls and isinstance(calls[0].get("usage"), dict) else None
    if usage and isinstance(usage.get("prompt_tokens"), int):
        return usage["prompt_tokens"] + (usage.get("cached_input_tokens") or 0)
    return None


def completion_tokens(branch: list[dict], calls: list[dict]) -> int | None:
    """The model-sampled tokens of the branch (``mask``); else the calls' reported completion tokens."""
    sampled = sum(sum(1 for flag in node.get("mask") or [] if flag is True) for node in branch)
    if sampled:
        return sampled
    reported = [call["usage"].get("completion_tokens") for call in calls if isinstance(call.get("usage"), dict)]
    return sum(reported) if reported and all(isinstance(value, int) for value in reported) else None


def flat_sample(row: dict, step: int, where: str, stats: ImportStats) -> ImportedSample | None:
    """An older flat rollout line (FIELD.md's summary; not checked against upstream)."""
    completion = message_text(row.get("completion"))
    if not isinstance(completion, str):
        stats.unreadable_row(where, "no 'completion'")
        return None
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
    return ImportedSample(
        step=step, prompt=prompt, completion=completion, reward=reward, rewards=rewards,
        advantage=finite_number(row.get("advantage")), ground_truth=optional_text(row.get("answer")),
        group_key=f"example-{example}" if example is not None else prompt,
        question_id=f"example-{example}" if example is not None else None,
        finish_reason=finish, **tokens,
        source_fields={key: value for key, value in row.items() if key not in KNOWN},
        location=where,
    )
