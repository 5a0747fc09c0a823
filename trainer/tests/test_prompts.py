"""Layer-1 and layer-2 prompt building, checked as exact strings."""

import random
from collections import Counter

import pytest

from mgrpo.prompts import (
    DEFAULT_GUIDING_PHRASES,
    DEFAULT_LAYER1_TEMPLATE,
    DEFAULT_LAYER2_TEMPLATE,
    build_layer1_prompt,
    build_layer2_prompt,
    choose_guiding_phrase,
)


def test_defaults():
    assert DEFAULT_LAYER1_TEMPLATE == "Q: {question}\n"
    assert DEFAULT_LAYER2_TEMPLATE == "{layer1_prompt}{layer1_completion}{guiding_phrase}\n"
    assert DEFAULT_GUIDING_PHRASES == [
        "Wait, let me double-check that.",
        "Where might I have gone wrong? Let me check carefully.",
        "Let me verify each step again.",
    ]


def test_layer1_prompt():
    assert build_layer1_prompt("3+5*2-7") == "Q: 3+5*2-7\n"
    template = "Solve step by step, end with 'A: <answer>'.\n{question}\n"
    assert build_layer1_prompt("1+1", template) == "Solve step by step, end with 'A: <answer>'.\n1+1\n"
    assert build_layer1_prompt("x", "{{literal}} {question}") == "{literal} x"


def test_layer2_prompt_exact_string():
    prompt = build_layer2_prompt("Q: 3+5*2-7\n", "3+5=8\n8*2=6\n6-7=1\nA: 1\n", "Wait, let me double-check that.")
    assert prompt == "Q: 3+5*2-7\n3+5=8\n8*2=6\n6-7=1\nA: 1\nWait, let me double-check that.\n"


def test_layer2_prompt_adds_the_missing_newline_once():
    cut_off = build_layer2_prompt("Q: 1+1\n", "1+1=2\nA: 2", "Check.")
    assert cut_off == "Q: 1+1\n1+1=2\nA: 2\nCheck.\n"
    truncated_mid_line = build_layer2_prompt("Q: 1+1\n", "1+1=", "Check.")
    assert truncated_mid_line == "Q: 1+1\n1+1=\nCheck.\n"
    empty = build_layer2_prompt("Q: 1+1\n", "", "Check.")
    assert empty == "Q: 1+1\nCheck.\n"


def test_layer2_custom_template_with_question():
    template = "Question: {question}\nYour answer:\n{layer1_completion}{guiding_phrase}\n"
    prompt = build_layer2_prompt("ignored", "A: 2", "Recheck.", template=template, question="1+1")
    assert prompt == "Question: 1+1\nYour answer:\nA: 2\nRecheck.\n"
    with pytest.raises(ValueError, match=r"\{question\}"):
        build_layer2_prompt("p", "A: 2", "Recheck.", template=template)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: build_layer1_prompt("q", "Q: {qestion}\n"), r"unknown placeholder \{qestion\}"),
        (lambda: build_layer1_prompt("q", "Q: {}\n"), "positional"),
        (lambda: build_layer1_prompt("q", "Q: {0}\n"), "positional"),
        (lambda: build_layer1_prompt("q", "Q: {question\n"), "malformed"),
        (lambda: build_layer1_prompt("q", "Q: {question.upper}\n"), "unsupported placeholder"),
        (lambda: build_layer1_prompt("q", "Q:\n"), r"missing the placeholder \{question\}"),
        (lambda: build_layer2_prompt("p", "c", "g", "{layer1_prompt}{answer}{guiding_phrase}"),
         r"unknown placeholder \{answer\}"),
        (lambda: build_layer2_prompt("p", "c", "g", "{layer1_prompt}{guiding_phrase}"),
         r"missing the placeholder \{layer1_completion\}"),
    ],
)
def test_template_errors_name_the_placeholder(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_choose_guiding_phrase_is_seeded_and_covers_all():
    picks = [choose_guiding_phrase(random.Random(seed)) for seed in range(300)]
    assert picks == [choose_guiding_phrase(random.Random(seed)) for seed in range(300)]
    counts = Counter(picks)
    assert set(counts) == set(DEFAULT_GUIDING_PHRASES)
    assert min(counts.values()) > 60  # roughly uniform: 100 expected each
    assert choose_guiding_phrase(random.Random(0), ["only"]) == "only"
    with pytest.raises(ValueError, match="no guiding phrases"):
        choose_guiding_phrase(random.Random(0), [])
