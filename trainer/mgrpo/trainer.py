"""The MGRPO training loop.

One step:
  1. draw ``questions_per_step`` problems;
  2. layer 1: sample ``num_generations`` answers per question, verify, group advantages;
  3. layer 2 (algorithm "mgrpo"): for each chosen layer-1 answer, build a correction prompt (its question
     prompt + the answer + a random guiding phrase), sample ``layer2_num_generations`` corrections, verify,
     advantages within each correction group, outcome against the parent (i->c, c->i, c->c, i->i);
  4. one update of the single policy from both layers' samples: clipped surrogate - beta * KL to the
     frozen reference, in micro-batches with gradient accumulation (``num_iterations`` optimizer steps);
  5. write the step's rollout file, then its metrics line; emit events; checkpoint / evaluate on schedule.
Commands (stop, pause, resume, checkpoint) are handled between steps.

Distributed (torchrun, WORLD_SIZE > 1): every rank draws the same problem stream and takes its slice of
each step's questions, gradients are summed across ranks (losses are normalised by global counts, so the sum
is the full-batch gradient), and rank 0 gathers the records, writes the run directory and speaks the protocol.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import random
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch

from . import algorithm, checkpoint, checkpoint_export, lengths, lora, metrics, optim, prompts, sampling
from .evaluate import evaluate
from .distributed import Distributed
from .generation import GenerationBackend, LocalGeneration
from .optim import lr_lambda
from .policy import (PolicyInfo, PolicyLoadError, compute_dtype, count_parameters, frozen_reference, load_policy,
                     select_device, stop_token_ids, weights_sha256)
from .protocol import Protocol
from .runlog import RunWriter, utc_now
from .scoring import (completion_logprobs, pack, pack_shared_prefix, plan_micro_batches,
                      plan_shared_prefix_batches)
from .steps import StepLabeller
from .task import ChainTask, DatasetError, JsonlTask, Problem, answer_span, step_spans

log = logging.getLogger("mgrpo")
LOGPROB_DECIMALS = 5


class UsageError(RuntimeError):
    """A problem with how the trainer was asked to run (not a crash): exit code 2."""


# --------------------------------------------------------------------------------------------------
# Problems, prompts and records
# --------------------------------------------------------------------------------------------------

def build_task(config: dict, on_warning=None):
    """The config's task. A data set that cannot be used raises task.DatasetError naming its config key."""
    if config["task"] == "chain":
        return ChainTask(min_ops=config["chain_min_ops"], max_ops=config["chain_max_ops"], seed=config["seed"])
    return JsonlTask(config["dataset_path"], eval_path=config["eval_dataset_path"],
                     verify_timeout_seconds=config.get("verify_timeout_seconds", 5), on_warning=on_warning)


def length_probe_questions(task) -> list[str]:
    """Questions whose prompts bound every prompt's length: all of a data set's, the longest chains."""
    if isinstance(task, ChainTask):
        return ["9" + "*9" * task.max_ops, "0" + "-0" * task.max_ops]
    return task.question_texts()


class ProblemStream:
    """The task's training stream, replayable: after ``skip(n)`` it continues exactly where a run that had
    drawn ``n`` problems was, whatever state the task's iterator keeps (epoch order, position)."""

    def __init__(self, task, seed: int):
        self._iterator: Iterator[Problem] = task.train_problems(random.Random(f"mgrpo-problems-{seed}"))
        self.consumed = 0

    def take(self, count: int) -> list[Problem]:
        problems = list(itertools.islice(self._iterator, count))
        self.consumed += len(problems)
        return problems

    def skip(self, count: int) -> None:
        self.take(count)


def rollout_id(step: int, group: int, sample: int) -> str:
    return f"s{step:06d}-q{group:03d}-l1-{sample:03d}"


def select_layer2_inputs(layer1_records: list[dict], mode: str, fraction: float, rng: random.Random) -> list[int]:
    """Indices of the layer-1 samples that get a correction group ("all", "wrong_only", "sample")."""
    if mode == "all":
        return list(range(len(layer1_records)))
    if mode == "wrong_only":
        return [index for index, record in enumerate(layer1_records) if not record["correct"]]
    if mode == "sample":
        if not layer1_records:
            return []
        count = min(len(layer1_records), max(1, round(fraction * len(layer1_records))))
        return sorted(rng.sample(range(len(layer1_records)), count))
    raise ValueError(f"layer2_inputs must be all, wrong_only or sample, got {mode!r}")


@dataclass
class Layer2Input:
    parent: dict        # the layer-1 record being corrected
    guiding_phrase: str
    prompt: str         # as the model sees it (a cut first answer included)
    prompt_ids: list[int] | None = None
    cut_tokens: int = 0  # first-answer tokens cut to fit max_prompt_length


def make_layer2_inputs(layer1_records: list[dict], chosen: list[int], config: dict, rng: random.Random,
                       questions: dict[str, str], builder: prompts.PromptBuilder | None = None,
                       prompt_limit: int | None = None) -> list[Layer2Input]:
    """One correction prompt per chosen layer-1 sample, each with its own randomly drawn guiding phrase. With a
    ``builder`` the prompt is also encoded and fitted to ``prompt_limit`` (lengths.fit_layer2_prompt)."""
    inputs = []
    for index in chosen:
        parent = layer1_records[index]
        phrase = prompts.choose_guiding_phrase(rng, config["guiding_phrases"])
        question = questions[parent["question_id"]]
        if builder is None:
            prompt = prompts.build_layer2_prompt(parent["prompt"], parent["completion"], phrase,
                                                 config["layer2_template"], question=question)
            inputs.append(Layer2Input(parent, phrase, prompt))
            continue
        fitted = lengths.fit_layer2_prompt(builder, question, parent["prompt"], parent["completion"], phrase,
                                           prompt_limit)
        inputs.append(Layer2Input(parent, phrase, fitted.text, fitted.ids, fitted.cut_tokens))
    return inputs


def make_record(*, run_id: str, step: int, layer: int, group: int, sample: int, record_id: str, problem: Problem,
                prompt: str, completion: sampling.Completion, verdict, reward: float, rewards: dict[str, float],
                parent: dict | None = None, guiding_phrase: str | None = None,
                step_labeller: StepLabeller | None = None) -> dict:
    span = answer_span(completion.text)
    spans = step_spans(completion.text)
    # Step truth (format 2): labels by the task's step checker, null when it has none.
    truth = (step_labeller.label(problem.question, problem.answer, completion.text, spans).as_record_fields()
             if step_labeller else {"step_labels": None, "first_wrong_step": None})
    return {
        "id": record_id, "run_id": run_id, "step": step, "layer": layer, "group": group, "sample": sample,
        "question_id": problem.id, "parent_id": parent["id"] if parent else None, "guiding_phrase": guiding_phrase,
        "prompt": prompt, "completion": completion.text, "ground_truth": problem.answer,
        "parsed_answer": verdict.parsed_answer, "correct": bool(verdict.correct),
        "prompt_tokens": len(completion.prompt_ids), "completion_tokens": len(completion.completion_ids),
        "prompt_truncated": bool(completion.prompt_truncated),
        "finish_reason": completion.finish_reason,
        "token_logprobs": [round(value, LOGPROB_DECIMALS) for value in completion.token_logprobs],
        "token_entropies": [round(value, LOGPROB_DECIMALS) for value in completion.token_entropies],
        "token_offsets": completion.token_offsets,
        "reward": reward, "rewards": rewards,
        # filled in once the whole group is known:
        "advantage": 0.0, "group_reward_mean": 0.0, "group_reward_std": 0.0,
        "outcome": metrics.outcome_label(parent["correct"], verdict.correct) if parent else None,
        "parent_correct": parent["correct"] if parent else None,
        "steps": [{"start": start, "end": end} for start, end in spans],
        "answer_span": {"start": span[0], "end": span[1]} if span else None,
        **truth,
    }


def assign_advantages(records: list[dict], group_size: int, scale_rewards: str,
                      batch_std: float | None = None) -> list[list[float]]:
    """Fill advantage / group mean / group std into consecutive groups of ``group_size`` records; return
    each group's rewards. ``batch_std``: the std of the layer's rewards on all ranks (scale_rewards batch)."""
    if not records:
        return []
    rewards = torch.tensor([record["reward"] for record in records], dtype=torch.float64).view(-1, group_size)
    result = algorithm.group_advantages(rewards, scale_rewards, batch_std)
    for index, record in enumerate(records):
        group, member = divmod(index, group_size)
        record["advantage"] = float(result.advantages[group, member])
        record["group_reward_mean"] = float(result.group_mean[group])
        record["group_reward_std"] = float(result.group_std[group])
    return rewards.tolist()


def apply_correction_bonus(records: list[dict], group_size: int, bonus: float) -> None:
    """Add ``bonus`` to the advantage of every i->c correction, after group normalisation (where it survives)."""
    for start in range(0, len(records), group_size):
        group = records[start:start + group_size]
        advantages = algorithm.add_correction_bonus([r["advantage"] for r in group], group[0]["parent_correct"],
                                                    [r["correct"] for r in group], bonus)
        for record, advantage in zip(group, advantages):
            record["advantage"] = advantage


@dataclass
class TrainingSample:
    """A completion as the update sees it."""
    prompt_ids: list[int]
    completion_ids: list[int]
    advantage: float
    loss_weight: float = 1.0  # layer2_loss_weight for corrections, 1 for first answers
    # False: mask_truncated_completions leaves it out of the loss mask (numerator and token normalisers).
    in_loss: bool = True


@dataclass
class StepResult:
    records: list[dict]
    metrics_line: dict


# --------------------------------------------------------------------------------------------------
# The trainer
# --------------------------------------------------------------------------------------------------

class Trainer:
    def __init__(self, config: dict, run_dir: str | Path, protocol: Protocol, resume: bool = False):
        self.config = config
        self.run_dir = Path(run_dir).resolve()
        self.protocol = protocol
        self.resume = resume
        self.dist = Distributed.from_environment(config["device"])
        if not self.dist.is_main:
            self.protocol.enabled = False
        self.writer = RunWriter(self.run_dir) if self.dist.is_main else None
        self.run_id = self.run_dir.name
        self.step = 0
        self.status = "running"
        self.last_checkpoint: str | None = None
        self.created = utc_now()
        self.last_eval_step: int | None = None
        self.last_saved_step: int | None = None
        self.resumed_reference_sha256: str | None = None  # from run.json when resuming (older runs: None)
        self.other_ranks_rng: list[dict] = []  # on rank 0: ranks 1.. random states after the last update

    # setup ------------------------------------------------------------------------------------------
    def setup(self) -> None:
        config = self.config
        if config["num_threads"]:
            torch.set_num_threads(config["num_threads"])
        self.device = select_device(config["device"])
        self.trainer_rng = random.Random(f"mgrpo-trainer-{config['seed']}")
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(config["seed"] * 1000 + self.dist.rank)
        torch.manual_seed(config["seed"])
        try:
            self.task = build_task(config, on_warning=self.protocol.warning)
        except DatasetError as error:  # a missing or malformed data set is the config's to fix: exit 2
            raise UsageError(str(error)) from None
        try:
            self.step_labeller = StepLabeller.for_config(config)
        except ValueError as error:
            raise UsageError(str(error)) from None
        self.stream = ProblemStream(self.task, config["seed"])

        resume_from = self._prepare_resume() if self.resume else None
        if not self.resume:
            self._refuse_to_overwrite()
        self._load_models(resume_from)
        self._check_prompts()
        # DDP or FSDP2 around the policy for the update's forward/backward; sampling and no-grad scoring use
        # self.model, the same parameters. The optimizer comes after: FSDP2 replaces them by sharded ones.
        self.train_model = self.dist.wrap(self.model, config["distributed_strategy"], self.device,
                                          self.compute_dtype)
        self.optimizer = optim.build_optimizer(self.model, config["learning_rate"], config["weight_decay"])
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_lambda(config))
        self.generation: GenerationBackend = LocalGeneration(
            self.model, self.tokenizer, self.compute_dtype, weights_context=lambda: self.dist.full_weights(self.model))
        if resume_from:
            folder, state = resume_from
            rng_state = checkpoint.load_training_state(
                folder, self.optimizer, self.scheduler, rank=self.dist.rank,
                load_optimizer=lambda saved: self.dist.load_optimizer_state(self.model, self.optimizer, saved))
            checkpoint.restore_rng(rng_state, {"trainer": self.trainer_rng}, self.generator)
            self.stream.skip(int(state["problems_consumed"]))
            self.step = int(state["step"])
            self.last_checkpoint = str(folder.relative_to(self.run_dir))
            self.last_saved_step = self.step
            log.info("resumed from %s (step %d)", folder, self.step)

    def _load_models(self, resume_from) -> None:
        """The policy (float32 master weights, dropout off), its LoRA adapter when asked, and pi_ref: the base
        with the adapter disabled under LoRA, else a frozen copy of the initial policy (bf16 on GPU)."""
        config = self.config
        self.compute_dtype = compute_dtype(config["dtype"], self.device)
        use_lora = config["use_peft"]
        # A full fine-tune resumes from the checkpoint's weights; LoRA from the base plus the saved adapter.
        model_source = str(resume_from[0]) if resume_from and not use_lora else config["model_name_or_path"]
        self.model, self.tokenizer = load_policy(model_source, self.device, config["dtype"])
        if resume_from and not use_lora:  # pi_ref is the initial policy, not the checkpoint
            initial, _ = load_policy(config["model_name_or_path"], self.device, config["dtype"])
        else:
            initial = self.model
        reference_sha256 = weights_sha256(initial)
        if resume_from and self.resumed_reference_sha256 and reference_sha256 != self.resumed_reference_sha256:
            raise UsageError(f"the reference model changed since this run started: the weights of "
                             f"{config['model_name_or_path']} hash to {reference_sha256[:12]}..., the run started "
                             f"from {self.resumed_reference_sha256[:12]}...; resume with the original model")
        self.reference = None
        if config["beta"] > 0 and not use_lora:
            reference_dtype = self.compute_dtype if self.device.type == "cuda" else None
            self.reference = frozen_reference(initial, reference_dtype)
        del initial
        if config["gradient_checkpointing"]:
            # Non-reentrant: works with frozen inputs (LoRA) and with DDP/FSDP2.
            self.model.activation_checkpointing_enable({"use_reentrant": False})
            if use_lora:
                self.model.enable_input_require_grads()
        if use_lora:
            if resume_from:
                self.model = lora.load_adapter(self.model, resume_from[0])
            else:
                self.model = lora.add_adapter(self.model, config["lora_r"], config["lora_alpha"],
                                              config["lora_target_modules"])
        self.stop_ids = stop_token_ids(self.model, self.tokenizer)
        self.model_info = PolicyInfo(config["model_name_or_path"], count_parameters(self.model),
                                     str(next(self.model.parameters()).dtype).replace("torch.", ""),
                                     trainable_parameters=count_parameters(self.model, trainable_only=True),
                                     reference_sha256=reference_sha256)

    def _check_prompts(self) -> None:
        """Plain or chat prompts for this tokenizer, and lengths that can work (else a config error, exit 2)."""
        config = self.config
        try:
            chat = prompts.wants_chat(config["chat_template"], self.tokenizer)
        except ValueError as error:
            raise UsageError(f"config key 'chat_template': {error}") from None
        self.prompt_builder = prompts.PromptBuilder(self.tokenizer, config["layer1_template"],
                                                    config["layer2_template"], chat=chat)
        context = getattr(getattr(self.model, "config", None), "max_position_embeddings", None)
        try:
            self.lengths = lengths.check_lengths(self.prompt_builder, length_probe_questions(self.task),
                                                 config["guiding_phrases"], config["max_prompt_length"],
                                                 config["max_completion_length"], context)
        except lengths.LengthError as error:
            raise UsageError(str(error)) from None
        self.prompt_cuts_warned = False
        if chat:
            log.info("prompts use the tokenizer's chat template")
        if self.lengths.may_cut:
            log.info("%s", self.lengths.describe())

    def _note_prompt_cuts(self, inputs: list[Layer2Input]) -> None:
        """The first layer-2 prompt cut to fit is said once, as a warning event; every one is counted."""
        cut = [item for item in inputs if item.cut_tokens]
        if cut and not self.prompt_cuts_warned:
            self.prompt_cuts_warned = True
            self.protocol.warning(f"a layer-2 prompt was over max_prompt_length ({self.lengths.prompt_limit} tokens): "
                                  f"the middle of its first answer was cut ({cut[0].cut_tokens} tokens, marked in the "
                                  f"prompt). Such prompts are counted in each step's prompts_truncated; raise "
                                  f"max_prompt_length to avoid it (said once)")

    def _refuse_to_overwrite(self) -> None:
        if self.writer and (self.writer.metrics_path.exists() or checkpoint.list_checkpoints(self.writer.checkpoints_dir)):
            raise UsageError(f"run directory {self.run_dir} already holds a run; use --resume to continue it, "
                             f"or choose a new --run-dir")

    def _prepare_resume(self):
        """Find the newest complete checkpoint and cut the run directory back to it (rank 0 writes)."""
        found = checkpoint.latest_checkpoint(self.run_dir / "checkpoints")
        if self.writer:
            old = self.writer.read_manifest()
            if old:
                self.created = old.get("created", self.created)
                self.resumed_reference_sha256 = (old.get("model") or {}).get("reference_sha256")
            checkpoint.remove_incomplete(self.writer.checkpoints_dir)
            step, lines = (found[1]["step"], found[1]["metrics_lines"]) if found else (0, 0)
            self.writer.truncate_to(step, lines)
            if found and self.writer.eval_path(step).exists():
                self.last_eval_step = step  # a resumed finished run does not evaluate its last step twice
        if found is None:
            log.warning("no complete checkpoint in %s: starting from step 0", self.run_dir)
        self.last_eval_step = self.dist.broadcast(self.last_eval_step)
        self.resumed_reference_sha256 = self.dist.broadcast(self.resumed_reference_sha256)
        return found

    def _barrier(self) -> None:
        if self.dist.enabled:
            import torch.distributed as dist

            dist.barrier()

    # run.json ---------------------------------------------------------------------------------------
    def write_manifest(self, error: str | None = None) -> None:
        if not self.writer:
            return
        self.writer.write_manifest({
            "run_id": self.run_id, "name": self.config["run_name"] or self.run_id, "created": self.created,
            "status": self.status, "algorithm": self.config["algorithm"], "config": self.config,
            "model": self.model_info.as_manifest() if hasattr(self, "model_info")
            else {"name_or_path": self.config["model_name_or_path"]},
            "device": str(getattr(self, "device", "cpu")), "world_size": self.dist.world_size,
            "total_steps": self.config["max_steps"], "completed_steps": self.step,
            "last_checkpoint": self.last_checkpoint, "pid": os.getpid(), "error": error,
        })

    # the loop ---------------------------------------------------------------------------------------
    def run(self) -> int:
        try:
            self.setup()
            self.write_manifest()
            self.protocol.emit("started", protocol=1, run_id=self.run_id, run_dir=str(self.run_dir), pid=os.getpid(),
                               total_steps=self.config["max_steps"], start_step=self.step, device=str(self.device))
            stop = False
            try:
                if self.step == 0 and self.config["eval_size"] > 0:
                    self.run_evaluation()
                while self.step < self.config["max_steps"]:
                    stop = self.handle_commands()
                    if stop:
                        break
                    result = self.train_step(self.step + 1)
                    self.step += 1
                    self.publish(result)
                    if self.config["save_steps"] and self.step % self.config["save_steps"] == 0:
                        self.save()
                    if self.config["eval_steps"] and self.step % self.config["eval_steps"] == 0 \
                            and self.config["eval_size"] > 0 and self.step < self.config["max_steps"]:
                        self.run_evaluation()
            except sampling.GenerationInterrupted:
                # A stop (command, SIGTERM, closed stdin) during generation or evaluation: the step in progress
                # is dropped, nothing of it was written; the last completed step is saved below.
                log.info("stop requested during generation: dropping step %d in progress", self.step + 1)
                stop = True
            self.save(final=True)
            if not stop and self.config["eval_size"] > 0 and self.last_eval_step != self.step:
                try:
                    self.run_evaluation()
                except sampling.GenerationInterrupted:
                    stop = True
            self.status = "stopped" if stop else "finished"
            self.write_manifest()
            self.protocol.emit("finished", status=self.status, step=self.step)
            # Every rank waits for rank 0's last checkpoint and manifest before tearing the group down: a rank
            # that destroys its gloo group while a peer is still working can abort in C++ ("terminate called
            # without an active exception", seen in CI on a torchrun stop).
            self.dist.barrier()
            return 0
        except UsageError:
            raise
        except PolicyLoadError as error:  # a wrong model path is the user's to fix, not a crash: no traceback
            log.error("%s", error)
            self.status = "failed"
            self.write_manifest(error=str(error))
            self.protocol.error(str(error))
            self.protocol.emit("finished", status="failed", step=self.step)
            return 2
        except BaseException as error:  # a crash: record it where the host can see it, then fail
            message = f"{type(error).__name__}: {error}"
            log.error("training failed at step %d: %s\n%s", self.step + 1, message, traceback.format_exc())
            self.status = "failed"
            try:
                self.write_manifest(error=message)
            finally:
                self.protocol.error(message, detail=traceback.format_exc())
                self.protocol.emit("finished", status="failed", step=self.step)
            return 1
        finally:
            self.dist.close()

    def handle_commands(self) -> bool:
        """Apply the commands received since the last step, in order; True means stop. Rank 0 reads them
        (and alone writes checkpoints), then tells the other ranks whether to go on."""
        stop = False
        if self.dist.is_main:
            for command in self.protocol.pending():
                if command == "checkpoint":
                    self.save(requested=True)
                elif command == "pause":
                    stop = self.wait_while_paused() == "stop"
                elif command == "stop":
                    stop = True
                if stop:
                    break
        return bool(self.dist.broadcast(stop))

    def wait_while_paused(self) -> str:
        self.status = "paused"
        self.write_manifest()
        self.protocol.emit("paused", step=self.step)
        decision = "continue"
        while True:
            command = self.protocol.wait_command(timeout=0.5)
            if command == "checkpoint":
                self.save(requested=True)
            elif command == "stop":
                decision = "stop"
                break
            elif command == "resume":
                break
        self.status = "running"
        self.write_manifest()
        if decision != "stop":
            self.protocol.emit("resumed", step=self.step)
        return decision

    # one step ---------------------------------------------------------------------------------------
    def train_step(self, step: int) -> StepResult:
        config = self.config
        started = time.perf_counter()
        per_rank = config["questions_per_step"]
        all_problems = self.stream.take(per_rank * self.dist.world_size)
        problems = all_problems[self.dist.rank * per_rank:(self.dist.rank + 1) * per_rank]
        first_group = self.dist.rank * per_rank
        generate = dict(max_new_tokens=config["max_completion_length"], temperature=config["temperature"],
                        top_p=config["top_p"], generator=self.generator, stop_ids=self.stop_ids,
                        max_prompt_length=config["max_prompt_length"], batch_size=config["generation_batch_size"],
                        should_stop=self._stop_requested)

        # Layer 1: a GRPO group per question.
        group_size = config["num_generations"]
        layer1_prompts = [self.prompt_builder.layer1(problem.question) for problem in problems]
        layer1_ids = [self.prompt_builder.encode(prompt) for prompt in layer1_prompts]
        began = time.perf_counter()
        layer1 = self.generation.generate(prompt_ids=[ids for ids in layer1_ids for _ in range(group_size)],
                                          **generate)
        layer1_seconds = time.perf_counter() - began
        layer1_records = []
        for index, completion in enumerate(layer1):
            question, member = divmod(index, group_size)
            problem = problems[question]
            verdict = self.task.verify(completion.text, problem.answer)
            layer1_records.append(make_record(
                run_id=self.run_id, step=step, layer=1, group=first_group + question, sample=member,
                record_id=rollout_id(step, first_group + question, member), problem=problem,
                prompt=layer1_prompts[question], completion=completion, verdict=verdict,
                reward=verdict.reward, rewards=dict(verdict.components), step_labeller=self.step_labeller))
        assign_advantages(layer1_records, group_size, config["scale_rewards"], self._batch_std(layer1_records))
        samples = [TrainingSample(c.prompt_ids, c.completion_ids, r["advantage"], 1.0, self._in_loss(c))
                   for c, r in zip(layer1, layer1_records)]

        # Layer 2: a GRPO group of corrections per chosen layer-1 answer.
        layer2_records: list[dict] = []
        layer2_seconds = 0.0
        layer2_completions: list[sampling.Completion] = []
        if config["algorithm"] == "mgrpo":
            chosen = select_layer2_inputs(layer1_records, config["layer2_inputs"], config["layer2_sample_fraction"],
                                          self.trainer_rng)
            questions = {problem.id: problem.question for problem in problems}
            inputs = make_layer2_inputs(layer1_records, chosen, config, self.trainer_rng, questions,
                                        self.prompt_builder, self.lengths.prompt_limit)
            self._note_prompt_cuts(inputs)
            correction_size = config["layer2_num_generations"]
            began = time.perf_counter()
            layer2_completions = self.generation.generate(
                prompt_ids=[item.prompt_ids for item in inputs for _ in range(correction_size)], **generate)
            for index, completion in enumerate(layer2_completions):
                completion.prompt_truncated = completion.prompt_truncated or bool(inputs[index // correction_size].cut_tokens)
            layer2_seconds = time.perf_counter() - began
            by_id = {problem.id: problem for problem in problems}
            for index, completion in enumerate(layer2_completions):
                which, member = divmod(index, correction_size)
                item = inputs[which]
                problem = by_id[item.parent["question_id"]]
                verdict = self.task.verify(completion.text, problem.answer)
                rewards = dict(verdict.components)
                layer2_records.append(make_record(
                    run_id=self.run_id, step=step, layer=2, group=item.parent["group"], sample=member,
                    record_id=f"{item.parent['id']}-l2-{member:03d}", problem=problem, prompt=item.prompt,
                    completion=completion, verdict=verdict, reward=float(sum(rewards.values())), rewards=rewards,
                    parent=item.parent, guiding_phrase=item.guiding_phrase, step_labeller=self.step_labeller))
            group_rewards = assign_advantages(layer2_records, correction_size, config["scale_rewards"],
                                              self._batch_std(layer2_records))
            if config["correction_bonus"]:
                apply_correction_bonus(layer2_records, correction_size, config["correction_bonus"])
            for index, (completion, record) in enumerate(zip(layer2_completions, layer2_records)):
                rewards = group_rewards[index // correction_size]
                if config["filter_equal_reward_groups"] and all(r == rewards[0] for r in rewards):
                    continue  # no advantage signal: left out of the update (UNCONFIRMED option)
                samples.append(TrainingSample(completion.prompt_ids, completion.completion_ids, record["advantage"],
                                              config["layer2_loss_weight"], self._in_loss(completion)))

        update = self.update(samples)
        self.generation.weights_updated()
        train_seconds = update.pop("seconds")
        records = layer1_records + layer2_records
        generated_tokens = sum(r["completion_tokens"] for r in records)
        timing = {"layer1_seconds": layer1_seconds, "layer2_seconds": layer2_seconds, "train_seconds": train_seconds,
                  "step_seconds": time.perf_counter() - started, "generated_tokens": generated_tokens}
        return self.finish_step(step, records, update, timing)

    def _stop_requested(self) -> bool:
        """Whether long work should give up now. One process only: with several, a rank that gave up alone
        would leave the others waiting in a collective, so they stop between steps as agreed there."""
        return not self.dist.enabled and self.protocol.stop_requested.is_set()

    def _in_loss(self, completion: sampling.Completion) -> bool:
        """mask_truncated_completions (TRL's name): a completion cut at max_completion_length leaves the loss
        mask, as TRL multiplies its completion mask by "not truncated": its tokens count neither in the loss
        nor in a token normaliser (bnpo, dapo), while the completion normalisers of grpo and dr_grpo still
        count it, as TRL's do. Its reward still counts in its group's advantages."""
        return not (self.config["mask_truncated_completions"] and completion.finish_reason == "length")

    def update(self, samples: list[TrainingSample]) -> dict:
        """One policy update from both layers' samples; returns loss statistics."""
        config = self.config
        began = time.perf_counter()
        pad_id = self.tokenizer.pad_token_id
        shared_prefix = self._use_shared_prefix()
        if shared_prefix:
            # One forward of each group's prompt, shared by its completions (exact gradients): a layer-2
            # prompt holds the question and a whole first answer, and G2 corrections share it.
            plan = plan_shared_prefix_batches([s.prompt_ids for s in samples], [len(s.completion_ids) for s in samples],
                                              config["micro_batch_size"], config["micro_batch_tokens"])
        else:
            plan = plan_micro_batches([(len(s.prompt_ids), len(s.completion_ids)) for s in samples],
                                      config["micro_batch_size"], config["micro_batch_tokens"])
        micro_batches = [[samples[index] for index in indices] for indices in plan]
        local_tokens = sum(len(s.completion_ids) for s in samples if s.in_loss)
        total_sequences, total_tokens, total_micro_batches = (int(v) for v in self.dist.sum_numbers(
            [len(samples), local_tokens, len(micro_batches)], self.device))
        if shared_prefix:
            packed = [pack_shared_prefix(mb[0].prompt_ids, [s.completion_ids for s in mb], pad_id).to(self.device)
                      for mb in micro_batches]
        else:
            packed = [pack([s.prompt_ids for s in mb], [s.completion_ids for s in mb], pad_id).to(self.device)
                      for mb in micro_batches]
        advantages = [torch.tensor([s.advantage for s in mb], dtype=torch.float32, device=self.device)
                      for mb in micro_batches]
        loss_weights = [torch.tensor([s.loss_weight for s in mb], dtype=torch.float32, device=self.device)
                        for mb in micro_batches]
        loss_masks = [algorithm.loss_mask(batch.completion_mask,
                                          torch.tensor([s.in_loss for s in mb], dtype=torch.bool, device=self.device))
                      for batch, mb in zip(packed, micro_batches)]
        temperature, dtype = config["temperature"], self.compute_dtype
        with_kl = config["beta"] > 0
        real_micro_batches = len(packed)
        if self.dist.sharded:
            # Every forward of a sharded model is a collective: all ranks run as many micro-batches as the
            # busiest one, the extra ones a copy of a real micro-batch with loss weight 0 (no gradient).
            most = int(max(self.dist.all_gather(len(packed))))
            for _ in range(most - len(packed)):
                packed.append(packed[-1])
                advantages.append(advantages[-1])
                loss_weights.append(torch.zeros_like(loss_weights[-1]))
                loss_masks.append(loss_masks[-1])
        with torch.no_grad(), self.dist.full_weights(self.model):
            reference_logprobs = [self._reference_logprobs(batch) if with_kl else None for batch in packed]
            # num_iterations == 1: pi_old is the current policy, so its log-probs are the live ones, detached
            # (TRL does the same). Otherwise they are frozen here, before the first optimizer step.
            old_logprobs = ([completion_logprobs(self.model, batch, temperature, compute_dtype=dtype)[0]
                             for batch in packed] if config["num_iterations"] > 1 else [None] * len(packed))
        sums = {"loss": 0.0, "kl": 0.0, "clipped": 0.0, "tokens": 0.0}
        grad_norms, skipped = [], 0
        for _iteration in range(config["num_iterations"]):
            self.optimizer.zero_grad(set_to_none=True)
            for index, (batch, advantage, weight, mask, reference, old) in enumerate(
                    zip(packed, advantages, loss_weights, loss_masks, reference_logprobs, old_logprobs)):
                # Gradients cross ranks once per optimizer step, with this rank's last micro-batch.
                with self.dist.gradient_sync(self.train_model, sync=index == len(packed) - 1):
                    logprobs, _ = completion_logprobs(self.train_model, batch, temperature, compute_dtype=dtype)
                    kl = algorithm.kl_k3(logprobs, reference) if reference is not None else None
                    terms = algorithm.clipped_surrogate(logprobs, old if old is not None else logprobs.detach(),
                                                        advantage, config["epsilon"], config["epsilon_high"], kl,
                                                        config["beta"])
                    share = algorithm.loss_share(terms.per_token_loss, mask, config["loss_type"],
                                                 total_sequences=total_sequences, total_tokens=total_tokens,
                                                 max_completion_length=config["max_completion_length"],
                                                 total_micro_batches=total_micro_batches, sequence_weights=weight)
                    (share * self.dist.gradient_scale).backward()
                if index >= real_micro_batches:
                    continue  # a stand-in for the collective's sake: not part of this rank's statistics
                # KL and clip fraction over the tokens in the loss, as TRL's metrics use its masked mask.
                sums["loss"] += float(share.detach())
                sums["tokens"] += float(mask.sum())
                sums["clipped"] += float(terms.clipped[mask].sum())
                if kl is not None:
                    sums["kl"] += float(kl.detach()[mask].sum())
            outcome = optim.clip_and_step(self.optimizer, self.model.parameters(), config["max_grad_norm"])
            grad_norms.append(outcome.grad_norm)
            if not outcome.stepped:
                skipped += 1
                message = (f"step {self.step + 1}: gradient norm is {outcome.grad_norm}; optimizer step skipped, "
                           f"weights and optimizer state unchanged")
                log.warning("%s", message)
                self.protocol.warning(message)
        learning_rate = self.scheduler.get_last_lr()[0]
        self.scheduler.step()
        # Ranks 1.. send rank 0 their random states, for its next checkpoint (nothing random runs in between).
        rank_rng = self.dist.gather(checkpoint.capture_rng({"trainer": self.trainer_rng}, self.generator))
        self.other_ranks_rng = rank_rng[1:]
        loss, kl_sum, clipped, tokens = self.dist.sum_numbers(
            [sums["loss"], sums["kl"], sums["clipped"], sums["tokens"]], self.device)
        iterations = config["num_iterations"]
        return {
            "loss": loss / iterations if samples else 0.0,
            "kl": kl_sum / tokens if tokens and with_kl else None,
            "clip_fraction": clipped / tokens if tokens else None,
            "grad_norm": grad_norms[-1] if grad_norms and math.isfinite(grad_norms[-1]) else None,
            "learning_rate": learning_rate,
            "skipped_optimizer_steps": skipped,
            "seconds": time.perf_counter() - began,
        }

    def _use_shared_prefix(self) -> bool:
        """shared_prefix_forward, where it can run: it needs the KV cache in training (gradient checkpointing
        turns that off in transformers) and a fixed number of forwards per rank (not under FSDP2)."""
        return bool(self.config["shared_prefix_forward"]) and not self.config["gradient_checkpointing"] \
            and not self.dist.sharded

    def _batch_std(self, records: list[dict]) -> float | None:
        """scale_rewards "batch": the population std of these records' rewards over all ranks (a collective:
        every rank calls it at the same point); None otherwise."""
        if self.config["scale_rewards"] != "batch":
            return None
        rewards = [float(record["reward"]) for record in records]
        count, total, squares = self.dist.sum_numbers(
            [len(rewards), sum(rewards), sum(r * r for r in rewards)], self.device)
        return algorithm.population_std(count, total, squares)

    def _reference_logprobs(self, batch):
        """pi_ref's log-probs: the frozen copy, or under LoRA the policy with its adapter switched off."""
        if self.reference is not None:
            return completion_logprobs(self.reference, batch, self.config["temperature"],
                                       compute_dtype=self.compute_dtype)[0]
        with lora.adapter_disabled(self.model):
            return completion_logprobs(self.model, batch, self.config["temperature"],
                                       compute_dtype=self.compute_dtype)[0]

    def finish_step(self, step: int, records: list[dict], update: dict, timing: dict) -> StepResult:
        """Gather records on rank 0 and compute the metrics line there."""
        errors = self.step_labeller.take_errors() if self.step_labeller else 0
        gathered = self.dist.gather((records, dict(timing, step_checker_errors=errors)))
        if not self.dist.is_main:
            return StepResult([], {})
        records = [record for rank_records, _ in gathered for record in rank_records]
        layer1 = [r for r in records if r["layer"] == 1]
        layer2 = [r for r in records if r["layer"] == 2]
        generated_tokens = sum(t["generated_tokens"] for _, t in gathered)
        generation_seconds = timing["layer1_seconds"] + timing["layer2_seconds"]
        line = {
            "step": step,
            "time": utc_now(),
            "layer1": metrics.layer_stats(layer1, _groups(layer1, "group"), timing["layer1_seconds"]),
            "layer2": metrics.layer_stats(layer2, _groups(layer2, "parent_id"), timing["layer2_seconds"])
            if self.config["algorithm"] == "mgrpo" else None,
            "correction": metrics.correction_metrics((r["parent_correct"], r["correct"]) for r in layer2)
            if self.config["algorithm"] == "mgrpo" else None,
            "loss": update["loss"],
            "kl": update["kl"],
            "clip_fraction": update["clip_fraction"],
            "entropy": _mean_token_entropy(records),
            "grad_norm": update["grad_norm"],
            "learning_rate": update["learning_rate"],
            "train_seconds": timing["train_seconds"],
            "step_seconds": timing["step_seconds"],
            "tokens_per_second": generated_tokens / generation_seconds if generation_seconds > 0 else 0.0,
            "step_truth": metrics.step_truth_metrics(layer1, _correction_pairs(layer1, layer2),
                                                     sum(t["step_checker_errors"] for _, t in gathered)),
        }
        return StepResult(records, line)

    def publish(self, result: StepResult) -> None:
        """Rollouts first, then the metrics line: a metrics line always means a complete rollout file."""
        if not self.writer:
            return
        path, count = self.writer.write_rollouts(result.metrics_line["step"], result.records)
        self.writer.append_metrics(result.metrics_line)
        self.protocol.emit("rollouts", step=self.step, path=str(path), count=count)
        self.protocol.emit("step", step=self.step, total_steps=self.config["max_steps"], metrics=result.metrics_line)
        line = result.metrics_line
        log.info("step %d/%d: layer-1 acc %s, layer-2 acc %s, loss %.4f, %.2fs", self.step, self.config["max_steps"],
                 _fmt(line["layer1"]["accuracy"]), _fmt(line["layer2"]["accuracy"]) if line["layer2"] else "-",
                 line["loss"], line["step_seconds"])

    # checkpoints and evaluation ---------------------------------------------------------------------
    def save(self, requested: bool = False, final: bool = False) -> None:
        """Checkpoint the last completed step (rank 0 writes; under DDP everyone has the same weights, under
        FSDP2 every rank takes part in gathering them). A step is saved once; asking again (``requested``, the
        "checkpoint" command) only re-announces it. The command reaches rank 0 alone, so under FSDP2 it cannot
        gather the shards: it re-announces the last checkpoint (saves happen at save_steps, on stop, at the end).
        ``final``: the save on stop or at the end, which onnx_export "final" exports."""
        if requested and self.dist.sharded and self.last_saved_step != self.step:
            if self.writer:
                self.protocol.warning("with distributed_strategy fsdp a checkpoint is written at save_steps, on "
                                      "stop and at the end; the checkpoint command re-announces the last one")
                if self.last_checkpoint:
                    self.protocol.emit("checkpoint", step=self.last_saved_step,
                                       path=str(self.run_dir / self.last_checkpoint))
            return
        if self.last_saved_step == self.step:
            if requested and self.last_checkpoint and self.writer:
                self.protocol.emit("checkpoint", step=self.step, path=str(self.run_dir / self.last_checkpoint))
            if final:  # the last step was saved at save_steps: that checkpoint is the final one
                self.export_onnx(final=True)
            return
        # Collective under FSDP2 (whole state dicts on rank 0); the objects' own state otherwise.
        model_state = self.dist.full_state_dict(self.model)
        optimizer_state = self.dist.full_optimizer_state(self.model, self.optimizer) if self.dist.sharded else None
        self.last_saved_step = self.step
        if not self.writer:
            return
        folder = checkpoint.save_checkpoint(
            self.writer.checkpoints_dir, self.step, model=self.model, tokenizer=self.tokenizer,
            optimizer=self.optimizer, scheduler=self.scheduler,
            rng_state=checkpoint.capture_rng({"trainer": self.trainer_rng}, self.generator),
            metrics_lines=self.writer.metrics_line_count(), rollout_lines=self.writer.rollout_line_count(self.step),
            extra={"problems_consumed": self.stream.consumed, "run_id": self.run_id},
            model_state=model_state, optimizer_state=optimizer_state, other_ranks_rng=self.other_ranks_rng)
        checkpoint.prune_checkpoints(self.writer.checkpoints_dir, self.config["save_total_limit"])
        self.last_checkpoint = str(folder.relative_to(self.run_dir))
        self.write_manifest()
        self.protocol.emit("checkpoint", step=self.step, path=str(folder))
        self.export_onnx(final)

    def export_onnx(self, final: bool) -> None:
        """onnx_export: the newest checkpoint as ONNX too, on rank 0 (the only writer); failures are warnings."""
        if self.writer and self.last_checkpoint and checkpoint_export.wants_export(self.config["onnx_export"], final):
            checkpoint_export.export_checkpoint(self.run_dir / self.last_checkpoint, self.protocol.warning)

    def run_evaluation(self) -> None:
        """Every rank evaluates its share of the held-out problems; rank 0 gathers them and writes the eval file
        and event. Under FSDP2 the whole model is gathered once for the block, so the evaluation's forwards are
        no collectives and ranks with different shares never wait on each other's forwards."""
        self.last_eval_step = self.step
        config = self.config
        with self.dist.full_weights(self.model):
            result = evaluate(
                self.model, self.tokenizer, self.task.eval_problems(config["eval_size"]), step=self.step,
                layer1_template=config["layer1_template"], layer2_template=config["layer2_template"],
                guiding_phrases=config["guiding_phrases"], max_completion_length=config["max_completion_length"],
                max_prompt_length=config["max_prompt_length"], stop_ids=self.stop_ids,
                batch_size=config["generation_batch_size"], num_samples=config["eval_num_samples"],
                temperature=config["temperature"], top_p=config["top_p"], seed=config["seed"],
                step_labeller=self.step_labeller, prompt_builder=self.prompt_builder,
                prompt_limit=self.lengths.prompt_limit, verifier=self.task.verify, should_stop=self._stop_requested,
                dist=self.dist)
        if self.writer and result is not None:
            path = self.writer.write_eval(self.step, result)
            self.protocol.emit("eval", step=self.step, path=str(path), metrics=result["metrics"])
            m = result["metrics"]
            log.info("eval at step %d: Acc@t1 %s, Acc@t2 %s", self.step, _fmt(m["acc_t1"]), _fmt(m["acc_t2"]))
        self._barrier()


def _groups(records: list[dict], key: str) -> list[list[float]]:
    grouped: dict[Any, list[float]] = {}
    for record in records:
        grouped.setdefault(record[key], []).append(record["reward"])
    return list(grouped.values())


def _correction_pairs(layer1: list[dict], layer2: list[dict]) -> list[tuple[dict, dict]]:
    """(parent, correction) for every layer-2 record whose parent is among ``layer1``."""
    parents = {record["id"]: record for record in layer1}
    return [(parents[record["parent_id"]], record) for record in layer2 if record["parent_id"] in parents]


def _mean_token_entropy(records: list[dict]) -> float | None:
    values = [value for record in records for value in (record.get("token_entropies") or [])]
    return sum(values) / len(values) if values else None


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
