"""Step checkers against hand-checked chains and lines (issue 9)."""

import pytest

from mgrpo.steps import (StepContext, StepLabeller, arithmetic_line_checker, evaluate_arithmetic,
                         label_chain_steps, label_with_checker, load_step_checker)
from mgrpo.task import step_spans


def chain_labels(question: str, completion: str):
    return label_chain_steps(question, completion, step_spans(completion))


def test_lucky_chain_has_a_wrong_second_step():
    # 3+9*3*5: 3+9=12 -> 2 (right), 2*3=6 but "4" is written (wrong), 4*5=20 -> 0 carries the written 4 (right);
    # the true chain is 2, 6, 0, so "A: 0" is right by luck.
    result = chain_labels("3+9*3*5", "3+9=2\n2*3=4\n4*5=0\nA: 0\n")
    assert result.labels == ["right", "wrong", "right"]
    assert result.first_wrong_step == 1
    assert result.as_record_fields() == {
        "step_labels": [{"label": "right", "source": "checker"}, {"label": "wrong", "source": "checker"},
                        {"label": "right", "source": "checker"}],
        "first_wrong_step": 1}


def test_sound_chain_is_all_right():
    result = chain_labels("3+5*2-7", "3+5=8\n8*2=6\n6-7=9\nA: 9\n")
    assert result.labels == ["right"] * 3 and result.first_wrong_step is None


@pytest.mark.parametrize("completion, labels, first", [
    ("3+5=8\n8*3=4\n4-7=7\nA: 7\n", ["right", "wrong", "right"], 1),      # wrong operand digit
    ("3+5=8\n8+2=0\n0-7=3\nA: 3\n", ["right", "wrong", "right"], 1),      # wrong operator
    ("3+5=8\n7*2=4\n4-7=7\nA: 7\n", ["right", "wrong", "right"], 1),      # did not start from the written 8
    ("3+5=18\n8*2=6\n6-7=9\nA: 9\n", ["wrong", "wrong", "right"], 0),     # two digits: not a mod-10 value
    ("3 + 5 = 8\n8*2 =6\n6-7=9\nA: 9\n", ["right", "right", "right"], None),  # spaces are fine
])
def test_hand_checked_chains(completion, labels, first):
    result = chain_labels("3+5*2-7", completion)
    assert result.labels == labels and result.first_wrong_step == first


def test_lines_that_are_not_steps_are_unchecked_and_do_not_use_an_operation():
    completion = "Let me think.\n3+5=8\nso far so good\n8*2=6\n6-7=9\nA: 9\n"
    result = chain_labels("3+5*2-7", completion)
    assert result.labels == ["unchecked", "right", "unchecked", "right", "right"]
    assert result.first_wrong_step is None


def test_chain_that_stops_early_marks_the_missing_step():
    # Two right steps of three; the missing third step is the first error, right after the last step.
    result = chain_labels("3+5*2-7", "3+5=8\n8*2=6\nA: 6\n")
    assert result.labels == ["right", "right"] and result.first_wrong_step == 2
    # A right answer with a missing step is still a flawed chain.
    jumped = chain_labels("3+5*2-7", "3+5=8\nA: 9\n")
    assert jumped.labels == ["right"] and jumped.first_wrong_step == 1
    assert chain_labels("3+5*2-7", "A: 9\n").first_wrong_step == 0


def test_chain_that_runs_long_marks_the_first_extra_step():
    result = chain_labels("3+5", "3+5=8\n8*2=6\n6-7=9\nA: 9\n")
    assert result.labels == ["right", "wrong", "unchecked"] and result.first_wrong_step == 1


def test_right_steps_with_a_wrong_or_missing_answer_line_err_after_the_last_step():
    assert chain_labels("3+5*2", "3+5=8\n8*2=6\nA: 7\n").first_wrong_step == 2
    assert chain_labels("3+5*2", "3+5=8\n8*2=6\n").first_wrong_step == 2
    assert chain_labels("3+5*2", "3+5=8\n8*2=6\nA: 6.\n").first_wrong_step is None  # normalised answer


def test_user_checker_labels_counts_errors_and_sees_context():
    seen = []

    def checker(text, context: StepContext):
        seen.append((context.index, context.previous_steps, context.question))
        if "boom" in text:
            raise RuntimeError("checker bug")
        return {"a": "right", "b": "WRONG", "c": "unknown", "d": True, "e": 42}[text[0]]

    completion = "a\nb\nboom\nc\nd\ne\nA: 1\n"
    result = label_with_checker(checker, "Q?", "1", completion, step_spans(completion))
    assert result.labels == ["right", "wrong", "unchecked", "unchecked", "right", "unchecked"]
    assert result.first_wrong_step == 1
    assert result.checker_errors == 2  # the exception and the answer 42
    assert seen[2] == (2, ("a", "b"), "Q?")


def test_load_step_checker_names_what_is_wrong():
    assert load_step_checker("mgrpo.steps:arithmetic_line_checker") is arithmetic_line_checker
    with pytest.raises(ValueError, match="module:function"):
        load_step_checker("mgrpo.steps.arithmetic_line_checker")
    with pytest.raises(ValueError, match="cannot import module 'no_such_module_xyz'"):
        load_step_checker("no_such_module_xyz:f")
    with pytest.raises(ValueError, match="has no function 'nope'"):
        load_step_checker("mgrpo.steps:nope")


def test_labeller_for_config():
    assert StepLabeller.for_config({"task": "chain", "step_checker": None}).kind == "chain"
    assert StepLabeller.for_config({"task": "jsonl", "step_checker": None}) is None
    user = StepLabeller.for_config({"task": "jsonl", "step_checker": "mgrpo.steps:arithmetic_line_checker"})
    completion = "She sold 48/2 = 24 clips.\nIn all 48+24 = 70.\n#### 72\n"
    result = user.label("q", "72", completion, step_spans(completion))
    assert result.labels == ["right", "wrong"] and result.first_wrong_step == 1


@pytest.mark.parametrize("line, verdict", [
    ("Natalia sold 48/2 = 24 clips in May.", "right"),
    ("48/2 = 25", "wrong"),
    ("She sold <<48/2=24>>24 clips, then <<48+24=72>>72 in all.", "right"),
    ("<<12*3=35>>35 apples", "wrong"),
    ("Total: $1,200 + $300 = $1,500", "right"),
    ("3 x 4 = 12 and 12 ÷ 4 = 3", "right"),
    ("(2 + 3) * 4 = 20", "right"),
    ("x = 5", "unknown"),
    ("In 2023 = the year", "unknown"),
    ("First, find half of the clips.", "unknown"),
    ("1/0 = 5", "unknown"),
])
def test_arithmetic_line_checker(line, verdict):
    assert arithmetic_line_checker(line) == verdict


def test_evaluate_arithmetic_is_not_eval():
    assert evaluate_arithmetic("2*(3+4)") == 14.0
    assert evaluate_arithmetic("__import__('os')") is None
    assert evaluate_arithmetic("2**100") is None  # "**" is not plain arithmetic here
    assert evaluate_arithmetic("") is None


def test_labeller_counts_user_checker_errors_until_taken():
    labeller = StepLabeller("test", lambda text, context: 1 / 0)
    completion = "a\nb\nA: 1\n"
    assert labeller.label("q", "1", completion, step_spans(completion)).labels == ["unchecked", "unchecked"]
    labeller.label("q", "1", completion, step_spans(completion))
    assert labeller.take_errors() == 4 and labeller.take_errors() == 0
