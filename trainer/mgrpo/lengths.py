"""Prompt and completion lengths: checked once at start-up, and layer-2 prompts fitted to the limit.

A layer-2 prompt embeds a whole first answer, so it is the long one. Cutting it from the left (what
``encode_prompts`` did) drops the question and any chat header: the model would be asked to correct an
answer to a question it cannot see. So a layer-2 prompt over ``max_prompt_length`` keeps the question, the
phrase and both ends of the first answer, and replaces the middle of the answer with a marker that says how
much is gone ("[... 120 tokens cut ...]"). The record shows that prompt, the one the model saw.

At start-up ``check_lengths`` refuses settings that cannot work, with the numbers: prompt + completion over
the model's context, a layer-1 prompt over the limit, or a layer-2 prompt over it even around an empty
first answer. When long first answers may need cutting, it says so (the run goes on).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .prompts import PromptBuilder

CUT_MARKER = "[... {count} tokens cut ...]"
# Layer-1 prompts are rendered (chat template included) only for the questions longest in raw tokens.
LONGEST_QUESTIONS_RENDERED = 8


class LengthError(ValueError):
    """Lengths that cannot work; ``keys`` are the config keys to change. The message has the numbers."""

    def __init__(self, keys: Sequence[str], message: str):
        self.keys = tuple(keys)
        super().__init__("config " + ", ".join(repr(key) for key in self.keys) + ": " + message)


@dataclass(frozen=True)
class FittedPrompt:
    """A prompt as the model sees it: its text, its token ids, and how many first-answer tokens were cut."""

    text: str
    ids: list[int]
    cut_tokens: int = 0

    @property
    def truncated(self) -> bool:
        return self.cut_tokens > 0


@dataclass(frozen=True)
class LengthReport:
    """What the start-up check found."""

    prompt_limit: int | None         # the effective max prompt length (None: no limit)
    longest_layer1: int              # tokens of the longest layer-1 prompt
    layer2_without_answer: int       # tokens of the longest layer-2 prompt around an empty first answer
    layer2_worst_case: int           # ... around a first answer of max_completion_length tokens
    context: int | None              # the model's max_position_embeddings

    @property
    def may_cut(self) -> bool:
        return self.prompt_limit is not None and self.layer2_worst_case > self.prompt_limit

    def describe(self) -> str:
        return (f"layer-2 prompts around a first answer of max_completion_length tokens need up to "
                f"{self.layer2_worst_case} tokens, over max_prompt_length {self.prompt_limit}: long first "
                f"answers will have their middle cut in layer-2 prompts (counted as prompts_truncated)")


def _marker(count: int) -> str:
    return CUT_MARKER.format(count=count)


def fit_layer2_prompt(builder: PromptBuilder, question: str, layer1_prompt: str, first_answer: str,
                      guiding_phrase: str, max_prompt_length: int | None) -> FittedPrompt:
    """The layer-2 prompt within ``max_prompt_length`` tokens, cutting the middle of the first answer if needed."""
    text = builder.layer2(question, layer1_prompt, first_answer, guiding_phrase)
    ids = builder.encode(text)
    if max_prompt_length is None or len(ids) <= max_prompt_length:
        return FittedPrompt(text, ids)
    tokenizer = builder.tokenizer
    answer_ids = list(tokenizer(first_answer, add_special_tokens=False)["input_ids"])
    marker_tokens = len(tokenizer("\n" + _marker(len(answer_ids)) + "\n", add_special_tokens=False)["input_ids"])
    cut = len(ids) - max_prompt_length + marker_tokens
    # Token counts of re-encoded text are not additive at the seams, so measure and tighten (a few rounds).
    for _ in range(8):
        cut = min(cut, len(answer_ids))
        keep = len(answer_ids) - cut
        head_count = (keep + 1) // 2
        tail_count = keep - head_count
        head = answer_ids[:head_count]
        tail = answer_ids[len(answer_ids) - tail_count:] if tail_count else []
        # A cut inside a character leaves half of its bytes: drop them rather than show U+FFFD.
        head_text = tokenizer.decode(head, skip_special_tokens=True).rstrip("\ufffd")
        tail_text = tokenizer.decode(tail, skip_special_tokens=True).lstrip("\ufffd")
        cut_answer = f"{head_text}\n{_marker(cut)}\n{tail_text}"
        text = builder.layer2(question, layer1_prompt, cut_answer, guiding_phrase)
        ids = builder.encode(text)
        if len(ids) <= max_prompt_length:
            return FittedPrompt(text, ids, cut)
        if cut == len(answer_ids):
            break
        cut += len(ids) - max_prompt_length
    # Unreachable after check_lengths; a last resort that still records what the model saw.
    ids = ids[-max_prompt_length:]
    return FittedPrompt(tokenizer.decode(ids), ids, max(cut, 1))


def check_lengths(builder: PromptBuilder, questions: Sequence[str], guiding_phrases: Sequence[str],
                  max_prompt_length: int | None, max_completion_length: int, context: int | None) -> LengthReport:
    """Refuse (LengthError) lengths that cannot work; report the rest. ``questions`` are the task's questions
    (all of them, or the longest possible ones); ``context`` is the model's max_position_embeddings or None."""
    if context is not None and max_prompt_length is not None and max_prompt_length + max_completion_length > context:
        raise LengthError(("max_prompt_length", "max_completion_length"),
                          f"max_prompt_length {max_prompt_length} + max_completion_length {max_completion_length} = "
                          f"{max_prompt_length + max_completion_length} tokens, over the model's context of {context} "
                          f"(max_position_embeddings in its config.json)")
    if context is not None and max_completion_length >= context:
        raise LengthError(("max_completion_length",),
                          f"max_completion_length {max_completion_length} leaves no room for a prompt in the "
                          f"model's context of {context} tokens")
    limit = max_prompt_length
    if limit is None and context is not None:
        limit = context - max_completion_length
    if not questions:
        raise ValueError("check_lengths needs at least one question")
    tokenizer = builder.tokenizer
    raw_lengths = [len(ids) for ids in tokenizer(list(questions), add_special_tokens=False)["input_ids"]]
    longest = sorted(range(len(questions)), key=raw_lengths.__getitem__, reverse=True)[:LONGEST_QUESTIONS_RENDERED]
    layer1 = max(((len(builder.encode(builder.layer1(questions[i]))), i) for i in longest))
    longest_layer1, question_index = layer1
    question = questions[question_index]
    layer1_prompt = builder.layer1(question)
    keys_layer1 = ("max_prompt_length", "layer1_template")
    if limit is not None and longest_layer1 > limit:
        raise LengthError(keys_layer1, f"the longest layer-1 prompt is {longest_layer1} tokens, over the prompt limit "
                                       f"of {limit} (question {question[:60]!r}...)")
    phrase = max(guiding_phrases, key=lambda p: len(tokenizer(p, add_special_tokens=False)["input_ids"]))
    empty = len(builder.encode(builder.layer2(question, layer1_prompt, "\n" + _marker(max_completion_length) + "\n",
                                              phrase)))
    if limit is not None and empty > limit:
        raise LengthError(("max_prompt_length", "guiding_phrases"),
                          f"a layer-2 prompt for the longest question is {empty} tokens even with its first answer "
                          f"cut to nothing, over the prompt limit of {limit}")
    # Worst case: a first answer of max_completion_length tokens (measured with a repeated one-token piece).
    filler_ids = tokenizer(" 0", add_special_tokens=False)["input_ids"][-1:] * max_completion_length
    filler = tokenizer.decode(filler_ids)
    worst = len(builder.encode(builder.layer2(question, layer1_prompt, filler, phrase)))
    return LengthReport(prompt_limit=limit, longest_layer1=longest_layer1, layer2_without_answer=empty,
                        layer2_worst_case=worst, context=context)
