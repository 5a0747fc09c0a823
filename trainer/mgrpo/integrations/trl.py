"""TRL ``GRPOTrainer`` -> a live MGRPO Lens run folder, with one line::

    from mgrpo.integrations.trl import record_rollouts
    trainer = GRPOTrainer(model=..., reward_funcs=[...], args=GRPOConfig(...), train_dataset=...)
    record_rollouts(trainer, "runs/my-trl-run")     # the one line
    trainer.train()

Why this shape (TRL 1.16, ``trl/trainer/grpo_trainer.py``): rollouts exist only inside
``GRPOTrainer._generate_and_score_completions`` (token ids, masks, advantages, per rank), its text, per-function
rewards and gathered advantages land in ``trainer._logs``, and a plain ``TrainerCallback`` sees neither. So
``record_rollouts`` wraps that method (and ``log``) on this trainer instance: after TRL has generated and scored
a batch it takes the batch's gathered rows from ``_logs`` and its own rank's token data, gathers the token data
to the main process, and the main process alone writes ``rollouts/step-N.jsonl``; TRL's logged scalars become
``metrics.jsonl`` lines at each logging step. Evaluation batches are not recorded.

What each record holds: step (optimizer step the batch trains), group and sample (TRL groups are runs of
``num_generations`` consecutive rows), prompt, completion, each reward function's value (a function that
returned None is left out) and their weighted sum (``reward``, TRL's), TRL's advantage, group mean and
population std of the rewards (derived), prompt/completion token counts, finish reason (``stop`` when an EOS
token ends the completion, else ``length``), and per-token log-probabilities with token offsets:
- ``sampling``: vLLM's log-probs of the sampled tokens, when TRL asked vLLM for them;
- ``trl-old-policy``: TRL's ``old_per_token_logps`` (computed when generation and update steps are misaligned
  or for vLLM importance sampling), the policy that sampled;
- ``recomputed``: otherwise (TRL computed none) one extra no-grad forward pass of the policy right after
  generation gives them, with entropies, unless ``token_logprobs=False`` (then they are absent, null).
``logprob_source`` in each record and run.json says which. A step that trains on an earlier step's generation
(``num_iterations`` > 1, ``steps_per_generation`` > 1) gets an empty rollout file and ``rollouts_from_step`` in
its metrics line. ``correct`` is absent unless ``correct_from`` names a
reward function whose value > 0 means right; ``ground_truth`` comes from the data set column named by
``ground_truth_column`` (default: the first of answer, ground_truth, solution that exists).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

from ..importers.records import build_metrics_line, derived_question_id, reward_mean_std
from ..importers.samples import message_text
from ..runlog import RunWriter, utc_now
from ..task import answer_span, step_spans

TRUTH_COLUMNS = ("answer", "ground_truth", "solution")
ID_COLUMNS = ("question_id", "problem_id", "id")
LOGPROB_DECIMALS = 4


def record_rollouts(trainer, run_dir: str | Path, *, token_logprobs: bool = True, correct_from: str | None = None,
                    ground_truth_column: str | None = None, name: str | None = None) -> "LensRecorder":
    """Make ``trainer`` (a TRL GRPOTrainer) write a MGRPO Lens run folder at ``run_dir`` as it trains."""
    recorder = LensRecorder(trainer, Path(run_dir), token_logprobs=token_logprobs, correct_from=correct_from,
                            ground_truth_column=ground_truth_column, name=name)
    recorder.attach()
    return recorder


class LensRecorder:
    def __init__(self, trainer, run_dir: Path, *, token_logprobs: bool, correct_from: str | None,
                 ground_truth_column: str | None, name: str | None):
        if correct_from is not None and correct_from not in trainer.reward_func_names:
            raise ValueError(f"correct_from={correct_from!r} is not one of the trainer's reward functions "
                             f"{trainer.reward_func_names}")
        self.trainer = trainer
        self.run_dir = run_dir
        self.compute_logprobs = token_logprobs
        self.correct_from = correct_from
        self.ground_truth_column = ground_truth_column
        self.name = name or run_dir.name
        self.main = trainer.accelerator.is_main_process
        self.writer = RunWriter(run_dir) if self.main else None
        self.run_id = run_dir.resolve().name
        self.created = utc_now()
        # Records of steps not yet logged (normally one step): a long run must not keep every step in memory.
        self.step_records: dict[int, list[dict]] = {}
        self.last_generated_step: int | None = None
        self.generation_seconds: dict[int, float] = {}
        self.logprob_sources: set[str] = set()
        self.last_log_time = time.perf_counter()
        self.completed_steps = 0

    # wiring ------------------------------------------------------------------------------------------------
    def attach(self) -> None:
        generate, log = self.trainer._generate_and_score_completions, self.trainer.log

        def generate_and_record(inputs):
            started = time.perf_counter()
            output = generate(inputs)
            if self.trainer.model.training:
                self._record(inputs, output, time.perf_counter() - started)
            return output

        def log_and_record(logs, start_time=None):
            log(logs, start_time)
            if self.trainer.model.training and self.main and "loss" in logs:
                try:
                    self._metrics_line(logs)
                except Exception as error:  # noqa: BLE001 - recording must never stop the user's training
                    self._warn(f"MGRPO Lens could not write the metrics of step {self.trainer.state.global_step}: "
                               f"{type(error).__name__}: {error}")

        # Instance attributes shadow the class's methods for this trainer only.
        self.trainer._generate_and_score_completions = generate_and_record
        self.trainer.log = log_and_record
        from transformers import TrainerCallback

        recorder = self

        class _Finish(TrainerCallback):
            def on_train_end(self, args, state, control, **kwargs):
                recorder.write_manifest("finished")

        self.trainer.add_callback(_Finish())
        if self.main:
            self.write_manifest("running")

    # capture -------------------------------------------------------------------------------------------------
    def _record(self, inputs: list[dict], output: dict, generation_seconds: float) -> None:
        from accelerate.utils import gather_object

        local = self._local_token_data(inputs, output)
        gathered = gather_object(local)  # every rank takes part; only the main process writes
        if not self.main:
            return
        try:
            self._write_batch(gathered, generation_seconds)
        except Exception as error:  # noqa: BLE001 - recording must never stop the user's training
            self._warn(f"MGRPO Lens could not record step {self.trainer.state.global_step + 1}: "
                       f"{type(error).__name__}: {error}")

    def _warn(self, message: str) -> None:
        import warnings

        warnings.warn(message, RuntimeWarning, stacklevel=2)

    def _write_batch(self, gathered: list[dict], generation_seconds: float) -> None:
        logs = self.trainer._logs
        count = len(gathered)
        prompts = list(logs["prompt"])[-count:]
        completions = list(logs["completion"])[-count:]
        advantages = list(logs["advantages"])[-count:]
        rewards = {name: list(values)[-count:] for name, values in logs["rewards"].items()}
        step = self.trainer.state.global_step + 1
        records = self.step_records.setdefault(step, [])
        group_size = self.trainer.num_generations
        weights = [float(weight) for weight in self.trainer.reward_weights.tolist()]
        first_group = (records[-1]["group"] + 1) if records else 0
        batch = []
        for index, token_data in enumerate(gathered):
            components = {name: float(values[index]) for name, values in rewards.items()
                          if values[index] is not None and math.isfinite(values[index])}
            present = [(weight, components[name]) for weight, name in zip(weights, self.trainer.reward_func_names)
                       if name in components]
            reward = sum(weight * value for weight, value in present) if present else None
            group, sample = divmod(index, group_size)
            batch.append(self._record_for(step, first_group + group, sample, _text(prompts[index]),
                                          _text(completions[index]), components, reward, advantages[index],
                                          token_data))
        _fill_group_stats(batch)
        records.extend(batch)
        self.generation_seconds[step] = self.generation_seconds.get(step, 0.0) + generation_seconds
        self.last_generated_step = step
        self.writer.write_rollouts(step, records)
        self.write_manifest("running")

    def _local_token_data(self, inputs: list[dict], output: dict) -> list[dict]:
        import torch

        prompt_mask, completion_ids, completion_mask = (output["prompt_mask"], output["completion_ids"],
                                                        output["completion_mask"])
        logprobs, source, entropies = None, None, None
        if output.get("sampling_per_token_logps") is not None:
            logprobs, source = output["sampling_per_token_logps"], "sampling"
        elif output.get("old_per_token_logps") is not None:
            logprobs, source = output["old_per_token_logps"], "trl-old-policy"
        elif self.compute_logprobs and "pixel_values" not in output:
            with torch.no_grad():
                logprobs, entropies, _aux = self.trainer._get_per_token_logps_and_entropies(
                    self.trainer.model, torch.cat([output["prompt_ids"], completion_ids], dim=1),
                    torch.cat([prompt_mask, completion_mask], dim=1), completion_ids.size(1), compute_entropy=True)
            source = "recomputed"
        eos = set(self.trainer.eos_token_ids)
        rows = []
        for row in range(completion_ids.size(0)):
            length = int(completion_mask[row].sum().item())
            ids = completion_ids[row, :length].tolist()
            example = inputs[row] if row < len(inputs) else {}
            rows.append({
                "prompt_tokens": int(prompt_mask[row].sum().item()),
                "completion_ids": ids,
                "finish_reason": "stop" if ids and ids[-1] in eos else "length",
                "logprobs": None if logprobs is None else [round(float(v), LOGPROB_DECIMALS)
                                                           for v in logprobs[row, :length].tolist()],
                "entropies": None if entropies is None else [round(float(v), LOGPROB_DECIMALS)
                                                             for v in entropies[row, :length].tolist()],
                "logprob_source": source,
                "ground_truth": self._column(example, [self.ground_truth_column] if self.ground_truth_column
                                             else TRUTH_COLUMNS),
                "question_id": self._column(example, ID_COLUMNS),
            })
        return rows

    @staticmethod
    def _column(example: dict, names) -> str | None:
        for name in names:
            if isinstance(example, dict) and example.get(name) is not None:
                return str(example[name])
        return None

    def _record_for(self, step, group, sample, prompt, completion, components, reward, advantage, token_data):
        from ..sampling import token_offsets

        logprobs = token_data["logprobs"]
        if logprobs is not None and any(not math.isfinite(value) for value in logprobs):
            logprobs = None  # vLLM marks tokens it could not score with NaN: not a usable sequence
        offsets = None
        if logprobs is not None:
            offsets = token_offsets(self.trainer.processing_class, token_data["completion_ids"], completion)
            self.logprob_sources.add(token_data["logprob_source"])
        span = answer_span(completion)
        correct = None
        if self.correct_from is not None and self.correct_from in components:
            correct = components[self.correct_from] > 0
        return {
            "id": f"s{step:06d}-q{group:03d}-l1-{sample:03d}", "run_id": self.run_id, "step": step, "layer": 1,
            "group": group, "sample": sample,
            "question_id": token_data["question_id"] or derived_question_id(prompt, None),
            "parent_id": None, "guiding_phrase": None, "prompt": prompt, "completion": completion,
            "ground_truth": token_data["ground_truth"], "parsed_answer": None, "correct": correct,
            "prompt_tokens": token_data["prompt_tokens"], "completion_tokens": len(token_data["completion_ids"]),
            "finish_reason": token_data["finish_reason"],
            "token_logprobs": logprobs, "token_entropies": token_data["entropies"] if logprobs is not None else None,
            "token_offsets": offsets,
            "reward": reward, "rewards": components,
            "advantage": float(advantage) if advantage is not None and math.isfinite(advantage) else None,
            "group_reward_mean": None, "group_reward_std": None, "outcome": None, "parent_correct": None,
            "steps": [{"start": start, "end": end} for start, end in step_spans(completion)],
            "answer_span": {"start": span[0], "end": span[1]} if span else None,
            "logprob_source": token_data["logprob_source"] if logprobs is not None else None,
            "derived": ["group_reward_mean", "group_reward_std", "steps", "answer_span"]
                       + ([] if token_data["question_id"] else ["question_id"]),
            "source": {"kind": "trl-live"},
        }

    # metrics and manifest ----------------------------------------------------------------------------------------
    def _metrics_line(self, logs: dict) -> None:
        step = self.trainer.state.global_step
        records = self.step_records.get(step, [])
        now = time.perf_counter()
        step_seconds, self.last_log_time = now - self.last_log_time, now
        generation = self.generation_seconds.get(step, 0.0)
        line = build_metrics_line(records, step=step, time=utc_now(), source_metrics=logs)
        if step not in self.step_records:
            # TRL reused an earlier generation for this step (num_iterations > 1, steps_per_generation > 1):
            # an empty rollout file keeps "a metrics line means its rollout file is complete" true.
            self.writer.write_rollouts(step, [])
            line["rollouts_from_step"] = self.last_generated_step
        tokens = sum(record["completion_tokens"] for record in records)
        line["layer1"]["generation_seconds"] = generation
        line.update({
            "clip_fraction": _finite(logs.get("clip_ratio/region_mean")), "grad_norm": _finite(logs.get("grad_norm")),
            "step_seconds": step_seconds, "train_seconds": max(0.0, step_seconds - generation),
            "tokens_per_second": tokens / generation if generation > 0 else 0.0,
        })
        if _finite(logs.get("learning_rate")) is not None:
            line["learning_rate"] = float(logs["learning_rate"])
        if line["loss"] is None:
            line["loss"] = _finite(logs.get("loss"))
        self.writer.append_metrics(line)
        self.completed_steps += 1
        for done in [logged for logged in self.step_records if logged <= step]:
            del self.step_records[done]
            self.generation_seconds.pop(done, None)
        self.write_manifest("running")

    def write_manifest(self, status: str) -> None:
        if not self.main:
            return
        args = self.trainer.args
        model = self.trainer.accelerator.unwrap_model(self.trainer.model)
        self.writer.write_manifest({
            "run_id": self.run_id, "name": self.name, "created": self.created, "updated": utc_now(),
            "status": status, "algorithm": "grpo",
            "config": {key: value for key, value in args.to_dict().items()
                       if isinstance(value, (str, int, float, bool)) or value is None},
            "model": {"name_or_path": getattr(model.config, "_name_or_path", "") or type(model).__name__,
                      "parameters": sum(parameter.numel() for parameter in model.parameters())},
            "device": str(self.trainer.accelerator.device), "world_size": self.trainer.accelerator.num_processes,
            "total_steps": int(self.trainer.state.max_steps or 0), "completed_steps": self.completed_steps,
            "last_checkpoint": None, "pid": os.getpid() if status == "running" else None, "error": None,
            "source": {"kind": "trl-live", "trl_version": __import__("trl").__version__,
                       "logprob_sources": sorted(self.logprob_sources),
                       "absent_fields": sorted(({"correct"} if self.correct_from is None else set())
                                               | ({"token_logprobs", "token_offsets"} if not self.logprob_sources
                                                  else set())),
                       "last_step_recorded": self.last_generated_step or 0},
        })


def _fill_group_stats(batch: list[dict]) -> None:
    groups: dict[int, list[dict]] = {}
    for record in batch:
        groups.setdefault(record["group"], []).append(record)
    for members in groups.values():
        mean, std = reward_mean_std([record["reward"] for record in members])
        for record in members:
            record["group_reward_mean"], record["group_reward_std"] = mean, std


def _text(value: Any) -> str:
    text = message_text(value)
    return text if isinstance(text, str) else ""


def _finite(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
