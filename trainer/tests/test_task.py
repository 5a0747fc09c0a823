"""The demo task, the local JSON-lines task and the verifier, checked against hand-worked cases."""

import json
import random

import pytest

from mgrpo.task import (
    ChainTask,
    DatasetError,
    JsonlTask,
    chain_eval_capacity,
    chain_question_count,
    Problem,
    answer_span,
    apply_chain_op,
    chain_values,
    extract_answer,
    normalize_answer,
    parse_chain,
    step_spans,
    verify,
)

# ----------------------------------------------------------------------------------------------- chain task


def test_chain_ops_are_mod_10_left_to_right():
    assert apply_chain_op(6, "-", 7) == 9  # -1 mod 10
    assert apply_chain_op(8, "*", 2) == 6  # 16 mod 10
    assert apply_chain_op(9, "+", 9) == 8
    assert chain_values("3+5*2-7") == [3, 8, 6, 9]
    # Left to right, not by precedence: (2+3)*4 = 20 -> 0, whereas 2+3*4 = 14 -> 4.
    assert chain_values("2+3*4") == [2, 5, 0]


@pytest.mark.parametrize(
    "question, expected",
    [
        ("3+5*2-7", "3+5=8\n8*2=6\n6-7=9\nA: 9\n"),
        ("0-1-1*7", "0-1=9\n9-1=8\n8*7=6\nA: 6\n"),
        ("9*9+1*0", "9*9=1\n1+1=2\n2*0=0\nA: 0\n"),
    ],
)
def test_reference_solution_by_hand(question, expected):
    task = ChainTask()
    problem = task.make_problem(question)
    assert problem.answer == expected.rsplit("A: ", 1)[1].strip()
    solution = task.reference_solution(problem)
    assert solution == expected
    assert verify(solution, problem.answer).correct


@pytest.mark.parametrize("question", ["", "3", "3+", "3+5*", "35+1", "3/5", "3 + 5", "a+1"])
def test_parse_chain_rejects_malformed_questions(question):
    with pytest.raises(ValueError, match="not a chain question"):
        parse_chain(question)


def test_chain_task_validates_settings():
    with pytest.raises(ValueError, match="min_ops"):
        ChainTask(min_ops=4, max_ops=3)


def test_train_stream_is_endless_in_range_and_reproducible():
    task = ChainTask(min_ops=3, max_ops=6)
    first = [p for p, _ in zip(task.train_problems(random.Random(7)), range(300))]
    again = [p for p, _ in zip(task.train_problems(random.Random(7)), range(300))]
    assert first == again
    lengths = {len(parse_chain(p.question)[1]) for p in first}
    assert lengths == {3, 4, 5, 6}
    for p in first:
        assert p.answer == str(chain_values(p.question)[-1])


def test_eval_set_is_fixed_distinct_and_disjoint_from_training():
    task = ChainTask(seed=0)
    held_out = task.eval_problems(200)
    assert held_out == ChainTask(seed=0).eval_problems(200)
    assert held_out != ChainTask(seed=1).eval_problems(200)
    assert len({p.question for p in held_out}) == 200
    assert len({p.id for p in held_out}) == 200
    eval_questions = {p.question for p in held_out}
    # The partition is by a hash of the question and does not depend on the seed.
    for seed in (0, 1, 2):
        train = ChainTask(seed=seed).train_problems(random.Random(seed))
        for _, problem in zip(range(5000), train):
            assert problem.question not in eval_questions
            assert not task.is_eval_question(problem.question)
    assert all(task.is_eval_question(q) for q in eval_questions)


def test_problem_ids_are_stable():
    assert ChainTask().make_problem("3+5*2-7").id == ChainTask(seed=9).make_problem("3+5*2-7").id


# ------------------------------------------------------------------------------------------------ jsonl task


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_task_reads_plain_and_gsm8k_answers(tmp_path):
    path = write_lines(
        tmp_path / "data.jsonl",
        [
            json.dumps({"question": "What is 2+2?", "answer": "4"}),
            "",
            json.dumps({"question": "Cost?", "answer": "She pays 3*5 = <<3*5=15>>15 dollars.\n#### 1,015"}),
            json.dumps({"question": "Half?", "answer": 0.5, "id": "half"}),
        ],
    )
    task = JsonlTask(path, eval_fraction=0.5)
    everything = task._train + task._eval
    by_question = {p.question: p for p in everything}
    assert by_question["Cost?"].answer == "1015"
    assert by_question["What is 2+2?"] == Problem(id="data-1", question="What is 2+2?", answer="4")
    assert by_question["Half?"].id == "half"
    assert by_question["Half?"].answer == "0.5"


def test_jsonl_task_holds_out_a_stable_disjoint_slice(tmp_path):
    path = write_lines(tmp_path / "d.jsonl", [json.dumps({"question": f"q{i}", "answer": str(i)}) for i in range(200)])
    task = JsonlTask(path)
    held_out = task.eval_problems(1000)
    assert 5 <= len(held_out) <= 40  # about 10% of 200
    assert held_out == JsonlTask(path).eval_problems(1000)
    assert task.eval_problems(3) == held_out[:3]
    held_out_ids = {p.id for p in held_out}
    stream = task.train_problems(random.Random(0))
    seen = [next(stream) for _ in range(400)]
    assert not held_out_ids & {p.id for p in seen}
    assert {p.id for p in seen} == {p.id for p in task._train}  # two full epochs cover every training problem


def test_jsonl_task_with_separate_eval_file(tmp_path):
    train = write_lines(tmp_path / "train.jsonl", [json.dumps({"question": "a", "answer": "1"})])
    held = write_lines(tmp_path / "test.jsonl", [json.dumps({"question": "b", "answer": "2"})])
    task = JsonlTask(train, eval_path=held)
    assert [p.question for p in task.eval_problems(5)] == ["b"]
    assert next(task.train_problems(random.Random(0))).question == "a"


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"question": "q"}', 'missing "answer"'),
        ('{"answer": "1"}', 'missing "question"'),
        ('{"question": "", "answer": "1"}', '"question" must be a non-empty string'),
        ('{"question": "q", "answer": ["1"]}', '"answer" must be a string or a number'),
        ('{"question": "q", "answer": "#### "}', '"answer" is empty'),
    ],
)
def test_jsonl_task_names_file_and_line_of_a_bad_record(tmp_path, line, message):
    path = write_lines(tmp_path / "bad.jsonl", [json.dumps({"question": "fine", "answer": "1"}), line])
    with pytest.raises(ValueError) as error:
        JsonlTask(path)
    assert f"{path}:2" in str(error.value)
    assert message in str(error.value)


def test_jsonl_task_missing_or_empty_file(tmp_path):
    with pytest.raises(DatasetError, match="nope.jsonl") as error:
        JsonlTask(tmp_path / "nope.jsonl")
    assert error.value.key == "dataset_path" and "config key 'dataset_path'" in str(error.value)
    train = write_lines(tmp_path / "train.jsonl", [json.dumps({"question": "a", "answer": "1"})])
    with pytest.raises(DatasetError, match="missing.jsonl") as error:
        JsonlTask(train, eval_path=tmp_path / "missing.jsonl")
    assert error.value.key == "eval_dataset_path"
    empty = write_lines(tmp_path / "empty.jsonl", [""])
    with pytest.raises(ValueError, match="no problems"):
        JsonlTask(empty)


def test_eval_file_overlap_is_dropped_from_training_with_a_warning(tmp_path):
    train = write_lines(tmp_path / "train.jsonl", [json.dumps({"question": q, "answer": "1"})
                                                   for q in ("a", "What is  2+2?", "c")])
    held = write_lines(tmp_path / "test.jsonl", [json.dumps({"question": "what is 2+2?", "answer": "4"})])
    heard = []
    task = JsonlTask(train, eval_path=held, on_warning=heard.append)
    assert task.overlap_dropped == 1
    assert sorted(p.question for p in task._train) == ["a", "c"]
    assert len(heard) == 1 and "1 training problem(s)" in heard[0] and "dropped from training" in heard[0]


def test_ids_unique_across_files(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "test").mkdir()
    record = json.dumps({"question": "a", "answer": "1"})
    other = json.dumps({"question": "b", "answer": "2"})
    # Same file name in two folders: default ids would both be "gsm8k-1"; the eval file's get a prefix.
    task = JsonlTask(write_lines(tmp_path / "train" / "gsm8k.jsonl", [record]),
                     eval_path=write_lines(tmp_path / "test" / "gsm8k.jsonl", [other]))
    assert [p.id for p in task._train] == ["gsm8k-1"]
    assert [p.id for p in task.eval_problems(1)] == ["eval-gsm8k-1"]
    # An explicit id in both files is refused, naming it.
    with pytest.raises(DatasetError, match="'x7' is in both") as error:
        JsonlTask(write_lines(tmp_path / "a.jsonl", [json.dumps({"id": "x7", "question": "a", "answer": "1"})]),
                  eval_path=write_lines(tmp_path / "b.jsonl", [json.dumps({"id": "x7", "question": "b", "answer": "2"})]))
    assert error.value.key == "eval_dataset_path"


def test_math_gold_answer_is_the_last_box(tmp_path):
    solution = "First $x=\\boxed{2}$ is wrong; so the answer is $\\boxed{\\frac{14}{3}}$."
    task = JsonlTask(write_lines(tmp_path / "math.jsonl", [json.dumps({"question": "q", "answer": solution}),
                                                           json.dumps({"question": "r", "answer": "1"})]),
                     eval_fraction=0.01)
    gold = [p.answer for p in task._train + task._eval if p.question == "q"][0]
    assert gold == "\\frac{14}{3}"


def test_each_task_verifies_with_its_own_verifier(tmp_path):
    chain = ChainTask()
    assert not chain.verify("A: 0.50", "1/2").correct  # the chain task stays exact
    task = JsonlTask(write_lines(tmp_path / "t.jsonl", [json.dumps({"question": "q", "answer": "1/2"}),
                                                        json.dumps({"question": "r", "answer": "1"})]),
                     eval_fraction=0.01)
    try:
        assert task.verify("Answer: 0.50", "1/2").correct
        assert task.verify_warnings == {}
    finally:
        task.close()


def test_chain_eval_capacity_refuses_an_impossible_eval_set():
    # One operation: 10 * 30 = 300 questions; about a tenth are held out.
    assert chain_question_count(1) == 300 and chain_question_count(2) == 9000
    capacity = chain_eval_capacity(1, 1)
    assert 10 <= capacity <= 60
    task = ChainTask(min_ops=1, max_ops=1)
    problems = task.eval_problems(capacity)  # every held-out question, each once
    assert len({p.question for p in problems}) == capacity
    assert all(task.is_eval_question(p.question) for p in problems)
    with pytest.raises(ValueError, match=f"only {capacity} held-out problems"):
        task.eval_problems(capacity + 1)
    # Large spaces: a lower bound at half the expected share, without enumerating them.
    assert chain_eval_capacity(3, 6) >= chain_question_count(3) // 10 // 2


# -------------------------------------------------------------------------------------------------- verifier


@pytest.mark.parametrize(
    "completion, parsed",
    [
        ("3+5=8\n8*2=6\n6-7=9\nA: 9\n", "9"),
        ("A: 9", "9"),
        ("A:9.", "9."),
        ("Answer: 42\n", "42"),
        ("final answer: 7", "7"),
        ("so the answer is 12.", "12."),
        ("The final answer is: 5", "5"),
        ("We get $\\boxed{\\frac{1}{2}}$ in the end", "\\frac{1}{2}"),
        ("work\n#### 1,000", "1,000"),
        ("A: 3\nWait, no.\nA: 4\n", "4"),  # the last answer wins
        ("The answer is 3.\nActually \\boxed{5}", "5"),
        ("A: 9\n\\boxed{unclosed", "9"),
    ],
)
def test_extract_answer(completion, parsed):
    assert extract_answer(completion) == parsed


@pytest.mark.parametrize(
    "completion",
    ["", "3+5=8\n8*2=6\n", "A:\n", "A:   ", "At first I add.\nAnd then?", "\\boxed{}", "Answer 9"],
)
def test_extract_answer_none_when_missing_or_empty(completion):
    assert extract_answer(completion) is None


@pytest.mark.parametrize(
    "raw, normal",
    [
        (" 9 ", "9"),
        ("9.", "9"),
        ("3.0", "3"),
        ("3.50", "3.5"),
        ("1,000", "1000"),
        ("-1,234.50", "-1234.5"),
        ("+4", "4"),
        ("-0", "0"),
        ("$15", "15"),
        (".5", "0.5"),
        ("007", "7"),
        (7, "7"),
        ("x  = 2", "x = 2"),
        ("1,00", "1,00"),  # not a thousands separator: left alone
    ],
)
def test_normalize_answer(raw, normal):
    assert normalize_answer(raw) == normal


def test_verify_right_wrong_and_punctuated():
    right = verify("3+5=8\n8*2=6\n6-7=9\nA: 9\n", "9")
    assert (right.reward, right.correct, right.parsed_answer) == (1.0, True, "9")
    assert right.components == {"correctness": 1.0}

    wrong = verify("3+5=8\n8*2=6\n6-7=1\nA: 1\n", "9")
    assert (wrong.reward, wrong.correct, wrong.parsed_answer) == (0.0, False, "1")
    assert wrong.components == {"correctness": 0.0}

    assert verify("A: 9.", "9").correct
    assert verify("The answer is 1,000.", "1000").correct
    assert verify("A: 3.0", "3").correct
    assert not verify("A: 9 apples", "9").correct


def test_verify_missing_or_malformed_answer_scores_zero():
    for completion in ["3+5=8\n8*2=6\n", "A:", "", "Q: 3+5\n3+5"]:
        verdict = verify(completion, "9")
        assert (verdict.reward, verdict.correct, verdict.parsed_answer) == (0.0, False, None)


def test_verify_rejects_empty_ground_truth_and_non_text():
    with pytest.raises(ValueError, match="ground truth"):
        verify("A: 1", " . ")
    with pytest.raises(TypeError, match="completion"):
        verify(None, "1")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------- spans


def test_step_and_answer_spans_by_hand():
    completion = "3+5=8\n8*2=6\n\n6-7=9\nA: 9\n"
    assert step_spans(completion) == [(0, 5), (6, 11), (13, 18)]
    assert [completion[s:e] for s, e in step_spans(completion)] == ["3+5=8", "8*2=6", "6-7=9"]
    assert answer_span(completion) == (19, 23)
    assert completion[19:23] == "A: 9"


def test_spans_without_answer_and_with_text_after_it():
    assert answer_span("3+5=8\n8*2") is None
    assert step_spans("3+5=8\n8*2") == [(0, 5), (6, 9)]
    completion = "  1+1=2  \nA: 2\nextra"
    assert step_spans(completion) == [(2, 7), (15, 20)]  # trimmed; the line after the answer still counts
    assert answer_span(completion) == (10, 14)
    assert step_spans("") == []
    assert step_spans("\n\n") == []


def test_answer_span_of_an_inline_answer_is_its_line():
    completion = "1+1=2\nso the answer is 2.\n"
    assert answer_span(completion) == (6, 25)
    assert step_spans(completion) == [(0, 5)]
