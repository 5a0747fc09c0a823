"""Step checkers: is each reasoning step of a completion right? (issue 9, trainer/RUN_FORMAT.md "Step truth")

A step label is ``right``, ``wrong`` or ``unchecked`` (the checker cannot judge the line: it is not a step,
or a user checker answered "unknown" or failed). Labels come with their source (``checker`` here; ``value``
from Monte-Carlo step values, ``implicit`` from layer-2 departures) and index the record's ``steps`` spans.

- ``label_chain_steps``: the demo task. Step k (counting only lines that parse as ``a op b = c``) is right when
  it applies the question's k-th operation (same operator, same digit) to the previous step's *written* value
  (the question's first digit for step 1) and writes the result mod 10 as one digit. So ``3+9*3*5`` solved as
  ``3+9=2``, ``2*3=4``, ``4*5=0`` has a wrong second step and a right third one (it carries 4 forward
  correctly): a right answer reached through a wrong step.
- A user checker, named in the config as ``"module:function"``, is called per step with the step's text and a
  ``StepContext`` and returns right / wrong / unknown. Its exceptions are counted, never fatal.
- ``arithmetic_line_checker``: a ready-made user checker for GSM8K-style lines ("48/2 = 24", "<<48/2=24>>").

Model output is untrusted text: nothing here evaluates it except through the small arithmetic parser below.
"""

from __future__ import annotations

import ast
import importlib
import math
import operator
import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

from .task import apply_chain_op, find_final_answer, normalize_answer, parse_chain

RIGHT, WRONG, UNCHECKED = "right", "wrong", "unchecked"
LABELS = (RIGHT, WRONG, UNCHECKED)
SOURCES = ("checker", "value", "implicit")

# "3+9=2", with spaces allowed anywhere between the parts.
_CHAIN_STEP = re.compile(r"^\s*(\d+)\s*([+\-*])\s*(\d+)\s*=\s*(\d+)\s*$")


@dataclass
class StepLabels:
    """Labels of one completion's steps (one per ``steps`` span) and its first error.

    ``first_wrong_step`` indexes ``steps``; it equals ``len(steps)`` when every written step is right but the
    chain is incomplete or its answer line does not follow from it (the error is after the last step)."""

    labels: list[str]
    first_wrong_step: int | None
    source: str = "checker"
    checker_errors: int = 0

    def as_record_fields(self) -> dict:
        return {"step_labels": [{"label": label, "source": self.source} for label in self.labels],
                "first_wrong_step": self.first_wrong_step}


def _first_wrong(labels: Sequence[str]) -> int | None:
    return next((index for index, label in enumerate(labels) if label == WRONG), None)


def label_chain_steps(question: str, completion: str, spans: Sequence[tuple[int, int]]) -> StepLabels:
    """Labels for a chain-task completion whose reasoning steps are ``spans`` (task.step_spans)."""
    start, operations = parse_chain(question)
    labels: list[str] = []
    previous = start  # the value the next step must start from: the previous step's written result
    position = 0      # which operation the next step line must apply
    extra_marked = False
    for span_start, span_end in spans:
        match = _CHAIN_STEP.match(completion[span_start:span_end])
        if match is None:
            labels.append(UNCHECKED)
            continue
        left, op, right, result = int(match[1]), match[2], int(match[3]), int(match[4])
        if position >= len(operations):
            # Runs long: the first extra step is the error; later ones have nothing to be checked against.
            labels.append(UNCHECKED if extra_marked else WRONG)
            extra_marked = True
            position += 1
            continue
        expected_op, expected_digit = operations[position]
        right_step = (left == previous and op == expected_op and right == expected_digit and 0 <= result <= 9
                      and result == apply_chain_op(left, op, right))
        labels.append(RIGHT if right_step else WRONG)
        previous = result
        position += 1
    first = _first_wrong(labels)
    if first is None:
        # Every written step is right: the chain may still stop early, or its answer line may not be the last
        # written value. Either error sits after the last step.
        answer = find_final_answer(completion)
        stated = normalize_answer(answer.value) if answer else None
        if position < len(operations) or stated != str(previous):
            first = len(spans)
    return StepLabels(labels, first)


# --------------------------------------------------------------------------------------------------
# User checkers
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StepContext:
    """What a user step checker sees besides the step's text."""

    question: str
    ground_truth: str
    index: int                                   # 0-based position among the completion's steps
    previous_steps: tuple[str, ...] = field(default_factory=tuple)
    completion: str = ""


StepChecker = Callable[[str, StepContext], object]
_USER_WORDS = {"right": RIGHT, "wrong": WRONG, "unknown": UNCHECKED}


def _user_label(answer: object) -> str | None:
    """A user checker's answer as a label: "right" / "wrong" / "unknown" (any case), True / False / None;
    None for anything else."""
    if answer is None:
        return UNCHECKED
    if isinstance(answer, bool):
        return RIGHT if answer else WRONG
    if isinstance(answer, str):
        return _USER_WORDS.get(answer.strip().lower())
    return None


def load_step_checker(spec: str) -> StepChecker:
    """Import ``"module:function"``; ValueError says what is wrong with the name."""
    if not isinstance(spec, str) or spec.count(":") != 1 or not all(spec.split(":")):
        raise ValueError(f"step_checker must be \"module:function\" (e.g. \"mgrpo.steps:arithmetic_line_checker\"), "
                         f"got {spec!r}")
    module_name, function_name = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"step_checker {spec!r}: cannot import module {module_name!r} ({error})") from None
    checker = getattr(module, function_name, None)
    if not callable(checker):
        raise ValueError(f"step_checker {spec!r}: module {module_name!r} has no function {function_name!r}")
    return checker


def label_with_checker(checker: StepChecker, question: str, ground_truth: str, completion: str,
                       spans: Sequence[tuple[int, int]]) -> StepLabels:
    """Labels from a user checker. An exception or an answer other than right / wrong / unknown (or True /
    False / None) leaves the step unchecked and is counted in ``checker_errors``."""
    texts = [completion[start:end] for start, end in spans]
    labels, errors = [], 0
    for index, text in enumerate(texts):
        context = StepContext(question, ground_truth, index, tuple(texts[:index]), completion)
        try:
            answer = checker(text, context)
        except Exception:  # noqa: BLE001 - a user checker's bug must not stop training
            labels.append(UNCHECKED)
            errors += 1
            continue
        label = _user_label(answer)
        if label is None:
            errors += 1
            label = UNCHECKED
        labels.append(label)
    return StepLabels(labels, _first_wrong(labels), checker_errors=errors)


# --------------------------------------------------------------------------------------------------
# The labeller a run uses
# --------------------------------------------------------------------------------------------------

@dataclass
class StepLabeller:
    """Labels completions of one task; ``None`` from ``for_config`` means no checker (labels stay null)."""

    kind: str                       # "chain" or the user checker's "module:function"
    checker: StepChecker | None = None
    errors: int = 0                 # user-checker failures since the last take_errors()

    @classmethod
    def for_config(cls, config: dict) -> "StepLabeller | None":
        spec = config.get("step_checker")
        if spec:
            return cls(spec, load_step_checker(spec))
        if config.get("task") == "chain":
            return cls("chain")
        return None

    def label(self, question: str, ground_truth: str, completion: str,
              spans: Sequence[tuple[int, int]]) -> StepLabels:
        if self.checker is None:
            return label_chain_steps(question, completion, spans)
        result = label_with_checker(self.checker, question, ground_truth, completion, spans)
        self.errors += result.checker_errors
        return result

    def take_errors(self) -> int:
        """Checker failures counted since the last call (one training step's worth), and reset."""
        errors, self.errors = self.errors, 0
        return errors


# --------------------------------------------------------------------------------------------------
# A user checker for GSM8K-style arithmetic lines
# --------------------------------------------------------------------------------------------------

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
# An arithmetic expression (digits, operators, brackets, spaces, decimal points) followed by "= number".
_EQUATION = re.compile(r"(?P<lhs>[\d.,$\s()+\-*/x×÷]*\d[\d.,$\s()+\-*/x×÷]*?)\s*=\s*(?P<rhs>-?\$?\d[\d,]*(?:\.\d+)?)")
_CALCULATOR = re.compile(r"<<(?P<lhs>[^<>=]+)=(?P<rhs>[^<>]+)>>")


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    raise ValueError("not plain arithmetic")


def evaluate_arithmetic(expression: str) -> float | None:
    """The value of a plain arithmetic expression (numbers, + - * / x × ÷, brackets, "$" and thousands
    commas), or None when it is anything else or divides by zero. Never calls eval()."""
    text = expression.replace("$", "").replace("×", "*").replace("÷", "/")
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = re.sub(r"(?<=[\d)\s])x(?=[\s\d(])", "*", text)
    if not text.strip() or len(text) > 200 or not re.fullmatch(r"[\d.\s()+\-*/]+", text):
        return None
    try:
        return _evaluate(ast.parse(text.strip(), mode="eval"))
    except (SyntaxError, ValueError, ZeroDivisionError, RecursionError):
        return None


def _close(left: float, right: float) -> bool:
    return math.isclose(left, right, rel_tol=1e-6, abs_tol=1e-6)


def arithmetic_line_checker(step: str, context: StepContext | None = None) -> str:
    """GSM8K-style lines: every equation in the line ("48/2 = 24", "<<48/2=24>>24") must hold. "right" when
    at least one equation holds and none fails, "wrong" when one fails, "unknown" without an equation.

    Use it with ``"step_checker": "mgrpo.steps:arithmetic_line_checker"``; write your own with the same
    signature (step text, StepContext) for other tasks."""
    equations = [(m["lhs"], m["rhs"]) for m in _CALCULATOR.finditer(step)]
    plain = _CALCULATOR.sub(" ", step)
    equations += [(m["lhs"], m["rhs"]) for m in _EQUATION.finditer(plain)]
    verdicts = []
    for lhs, rhs in equations:
        lhs = lhs.strip().lstrip(",.").strip()  # "so, 3+4 = 7": the comma belongs to the sentence
        if not re.search(r"\d\s*[+\-*/x×÷]\s*\$?[\d(]|\)\s*[+\-*/x×÷]", lhs):
            continue  # "x = 5" or "2023 = year": no arithmetic to check
        left, right = evaluate_arithmetic(lhs), evaluate_arithmetic(rhs)
        if left is None or right is None:
            continue
        verdicts.append(_close(left, right))
    if not verdicts:
        return "unknown"
    return "right" if all(verdicts) else "wrong"
