"""Prompt templates for the two MGRPO layers.

Layer 1 asks the question. Layer 2 shows the question, the model's layer-1 answer and a guiding phrase
that invites a check; the policy's continuation is its correction.

The defaults are short because the embedded demo model reads characters, one token each; a user training
an instruction-tuned model sets their own templates in the run config. Templates use ``str.format``
placeholders (write ``{{`` / ``}}`` for literal braces).
"""

from __future__ import annotations

import random
import string
from typing import Sequence

DEFAULT_LAYER1_TEMPLATE = "Q: {question}\n"
DEFAULT_LAYER2_TEMPLATE = "{layer1_prompt}{layer1_completion}{guiding_phrase}\n"

# Phrases used by MGRPO reimplementations to invite a check; one is drawn per layer-2 input.
DEFAULT_GUIDING_PHRASES = [
    "Wait, let me double-check that.",
    "Where might I have gone wrong? Let me check carefully.",
    "Let me verify each step again.",
]

LAYER1_PLACEHOLDERS = frozenset({"question"})
LAYER2_PLACEHOLDERS = frozenset({"layer1_prompt", "layer1_completion", "guiding_phrase", "question"})


def template_placeholders(template: str) -> set[str]:
    """The named placeholders of a ``str.format`` template. Raises ValueError on malformed templates or
    positional/attribute/indexed fields, which a prompt template has no use for."""
    if not isinstance(template, str):
        raise ValueError(f"a prompt template must be a string, got {type(template).__name__}")
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ValueError(f"malformed prompt template {template!r}: {error}") from None
    for _literal, field_name, _spec, _conversion in parsed:
        if field_name is None:
            continue
        if field_name == "" or field_name.isdigit():
            raise ValueError(f"prompt template {template!r} has a positional placeholder; use a name")
        if not field_name.isidentifier():
            raise ValueError(f"prompt template {template!r} has an unsupported placeholder {{{field_name}}}")
        names.add(field_name)
    return names


def validate_template(template: str, allowed: frozenset[str], required: frozenset[str], which: str) -> None:
    """Check a template's placeholders; the error names the offending placeholder and the allowed ones."""
    names = template_placeholders(template)
    unknown = sorted(names - allowed)
    if unknown:
        raise ValueError(
            f"{which} template has unknown placeholder {{{unknown[0]}}}; allowed: "
            + ", ".join("{" + name + "}" for name in sorted(allowed))
        )
    missing = sorted(required - names)
    if missing:
        raise ValueError(f"{which} template is missing the placeholder {{{missing[0]}}}")


def build_layer1_prompt(question: str, template: str = DEFAULT_LAYER1_TEMPLATE) -> str:
    """The layer-1 prompt for a question."""
    validate_template(template, LAYER1_PLACEHOLDERS, frozenset({"question"}), "layer-1")
    return template.format(question=question)


def build_layer2_prompt(
    layer1_prompt: str,
    layer1_completion: str,
    guiding_phrase: str,
    template: str = DEFAULT_LAYER2_TEMPLATE,
    question: str | None = None,
) -> str:
    """The layer-2 (correction) prompt: the layer-1 exchange, then the guiding phrase.

    A non-empty layer-1 completion gets a trailing newline when it lacks one (e.g. it was cut off at the
    length limit), so the guiding phrase always starts on its own line. ``question`` is only needed by
    templates that use ``{question}``."""
    validate_template(
        template, LAYER2_PLACEHOLDERS, frozenset({"layer1_completion", "guiding_phrase"}), "layer-2"
    )
    if "question" in template_placeholders(template) and question is None:
        raise ValueError("layer-2 template uses {question} but no question was given")
    if layer1_completion and not layer1_completion.endswith("\n"):
        layer1_completion += "\n"
    return template.format(
        layer1_prompt=layer1_prompt,
        layer1_completion=layer1_completion,
        guiding_phrase=guiding_phrase,
        question=question if question is not None else "",
    )


def choose_guiding_phrase(rng: random.Random, phrases: Sequence[str] = DEFAULT_GUIDING_PHRASES) -> str:
    """One phrase drawn uniformly with ``rng`` (one draw per layer-2 input)."""
    if not phrases:
        raise ValueError("no guiding phrases to choose from")
    return phrases[rng.randrange(len(phrases))]


# --------------------------------------------------------------------------------------------------
# Prompts as the model sees them: plain templates or the tokenizer's chat template
# --------------------------------------------------------------------------------------------------

def wants_chat(setting, tokenizer) -> bool:
    """Whether prompts are chats: config ``chat_template`` "auto" (when the tokenizer has a template), true or
    false. True with a tokenizer that has no template raises ValueError."""
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if setting == "auto":
        return has_template
    if setting is True and not has_template:
        raise ValueError("chat_template is true but the model's tokenizer has no chat template; use \"auto\" or "
                         "false (plain layer1_template / layer2_template)")
    return bool(setting)


class PromptBuilder:
    """Builds both layers' prompts for one tokenizer, as text and as the token ids the model sees.

    Plain: ``layer1_template`` / ``layer2_template`` (base models, the demo), encoded with the tokenizer's
    special tokens (a BOS where it adds one). Chat: ``apply_chat_template``; layer 1 is one user turn (the
    filled-in ``layer1_template``), layer 2 the conversation user question, assistant first answer, user
    guiding phrase, then the generation prompt for the assistant's correction. Rendered chats already hold
    their special tokens, so they are encoded without adding more (no second BOS).
    """

    def __init__(self, tokenizer, layer1_template: str = DEFAULT_LAYER1_TEMPLATE,
                 layer2_template: str = DEFAULT_LAYER2_TEMPLATE, chat: bool = False):
        self.tokenizer = tokenizer
        self.layer1_template = layer1_template
        self.layer2_template = layer2_template
        self.chat = chat

    def _render(self, messages: list[dict]) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def layer1(self, question: str) -> str:
        """The layer-1 prompt text."""
        if not self.chat:
            return build_layer1_prompt(question, self.layer1_template)
        return self._render([{"role": "user", "content": build_layer1_prompt(question, self.layer1_template)}])

    def layer2(self, question: str, layer1_prompt: str, first_answer: str, guiding_phrase: str) -> str:
        """The layer-2 prompt text around ``first_answer`` (the layer-1 completion, possibly cut)."""
        if not self.chat:
            return build_layer2_prompt(layer1_prompt, first_answer, guiding_phrase, self.layer2_template,
                                       question=question)
        return self._render([
            {"role": "user", "content": build_layer1_prompt(question, self.layer1_template)},
            {"role": "assistant", "content": first_answer},
            {"role": "user", "content": guiding_phrase},
        ])

    def encode(self, prompt: str) -> list[int]:
        """Token ids of a prompt built here."""
        return list(self.tokenizer(prompt, add_special_tokens=not self.chat)["input_ids"])
