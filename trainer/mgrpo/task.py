"""Tasks (where problems come from) and the rule-based verifier (how a completion is scored).

Two sources of problems share one small API (``train_problems`` / ``eval_problems``):

- ``ChainTask``: the embedded demo task. A question is a start digit followed by operations on single
  digits, evaluated left to right modulo 10 ("3+5*2-7" -> 3+5=8, 8*2=6, 6-7=9 -> 9). It is generated, so
  it needs no download, and every answer is checkable.
- ``JsonlTask``: a data set the user has locally, one JSON object per line with "question" and "answer".

The verifier reads the final answer from a completion (model output: untrusted text) and compares it with
the ground truth after normalisation. Reward is 1.0 for a match and 0.0 otherwise.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Iterator, Protocol


@dataclass(frozen=True)
class Problem:
    """One question with its ground-truth answer. ``id`` is stable across runs and steps."""

    id: str
    question: str
    answer: str


class Task(Protocol):
    """What the trainer needs from a source of problems."""

    name: str

    def train_problems(self, rng: random.Random) -> Iterator[Problem]: ...

    def eval_problems(self, n: int) -> list[Problem]: ...

    def verify(self, completion: str, ground_truth: str) -> "Verdict": ...


class DatasetError(ValueError):
    """A data set the config points at cannot be used (missing, malformed, clashing ids). ``key`` is the
    config key that names the file, so the CLI can report it as a config error (exit 2)."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(f"config key {key!r}: {message}")


def _stable_bucket(text: str, buckets: int) -> int:
    """A bucket for ``text`` that is the same on every machine and Python run (``hash()`` is salted)."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % buckets


def _stable_id(prefix: str, text: str) -> str:
    return f"{prefix}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]}"


# --------------------------------------------------------------------------------------------------
# The embedded chain task
# --------------------------------------------------------------------------------------------------

CHAIN_OPERATORS = ("+", "-", "*")
_CHAIN_QUESTION = re.compile(r"^[0-9](?:[+\-*][0-9])+$")


def apply_chain_op(left: int, operator: str, right: int) -> int:
    """One step of a chain: ``left operator right`` modulo 10 (Python's % keeps it in 0..9)."""
    if operator == "+":
        return (left + right) % 10
    if operator == "-":
        return (left - right) % 10
    if operator == "*":
        return (left * right) % 10
    raise ValueError(f"unknown chain operator {operator!r}; expected one of {CHAIN_OPERATORS}")


def parse_chain(question: str) -> tuple[int, list[tuple[str, int]]]:
    """Split "3+5*2" into (3, [("+", 5), ("*", 2)]). Raises ValueError on anything else."""
    if not _CHAIN_QUESTION.match(question):
        raise ValueError(
            f"not a chain question: {question!r} (expected a digit followed by operator-digit pairs, "
            f"e.g. '3+5*2-7')"
        )
    start = int(question[0])
    operations = [(question[i], int(question[i + 1])) for i in range(1, len(question), 2)]
    return start, operations


def chain_values(question: str) -> list[int]:
    """The running values of a chain: [start, after op 1, after op 2, ...]."""
    start, operations = parse_chain(question)
    values = [start]
    for operator, operand in operations:
        values.append(apply_chain_op(values[-1], operator, operand))
    return values


def format_chain_step(left: int, operator: str, right: int, result: int) -> str:
    """One reasoning line of a chain solution, without the newline: "8*2=6"."""
    return f"{left}{operator}{right}={result}"


def format_final_answer(answer: str) -> str:
    """The final answer line the demo format ends with, without the newline: "A: 9"."""
    return f"A: {answer}"


def chain_question_count(n_ops: int) -> int:
    """How many distinct chain questions have ``n_ops`` operations: 10 start digits, then 3 x 10 per op."""
    return 10 * (len(CHAIN_OPERATORS) * 10) ** n_ops


# Up to this many questions the held-out ones are counted exactly (about 0.1 s); beyond it, a lower bound.
_EXACT_COUNT_LIMIT = 10_000


def chain_eval_capacity(min_ops: int, max_ops: int, eval_buckets: int = 10) -> int:
    """How many distinct held-out questions a chain task with these settings can draw (exact for small
    spaces, a safe lower bound, half the expected share, for large ones). ``eval_size`` must not exceed it,
    or drawing the eval set would never end."""
    capacity = 0
    for n_ops in range(min_ops, max_ops + 1):
        total = chain_question_count(n_ops)
        if total > _EXACT_COUNT_LIMIT:
            capacity += total // eval_buckets // 2
            continue
        for index in range(total):
            digits, question = index, []
            question.append(str(digits % 10))
            digits //= 10
            for _ in range(n_ops):
                question.append(CHAIN_OPERATORS[digits % 3])
                digits //= 3
                question.append(str(digits % 10))
                digits //= 10
            capacity += _stable_bucket("".join(question), eval_buckets) == 0
    return capacity


@dataclass
class ChainTask:
    """Generated chains of single-digit operations, evaluated left to right modulo 10.

    Train and eval are disjoint by construction: a question belongs to the held-out set when a stable hash
    of its text falls in the eval bucket (about ``1 / eval_buckets`` of all questions). The partition does
    not depend on ``seed``, so a model trained on this task's train stream with any seed never saw an eval
    question. ``seed`` chooses which held-out questions ``eval_problems`` returns.
    """

    min_ops: int = 3
    max_ops: int = 6
    seed: int = 0
    eval_buckets: int = 10
    name: str = field(default="chain", init=False)

    def __post_init__(self) -> None:
        if not (1 <= self.min_ops <= self.max_ops):
            raise ValueError(
                f"ChainTask needs 1 <= min_ops <= max_ops, got min_ops={self.min_ops}, max_ops={self.max_ops}"
            )
        if self.eval_buckets < 2:
            raise ValueError(f"ChainTask eval_buckets must be >= 2, got {self.eval_buckets}")

    def is_eval_question(self, question: str) -> bool:
        return _stable_bucket(question, self.eval_buckets) == 0

    def _random_question(self, rng: random.Random) -> str:
        n_ops = rng.randint(self.min_ops, self.max_ops)
        parts = [str(rng.randrange(10))]
        for _ in range(n_ops):
            parts.append(rng.choice(CHAIN_OPERATORS))
            parts.append(str(rng.randrange(10)))
        return "".join(parts)

    def make_problem(self, question: str) -> Problem:
        answer = chain_values(question)[-1]
        return Problem(id=_stable_id("chain", question), question=question, answer=str(answer))

    def train_problems(self, rng: random.Random) -> Iterator[Problem]:
        """An endless stream of training problems (never an eval question)."""
        while True:
            question = self._random_question(rng)
            if not self.is_eval_question(question):
                yield self.make_problem(question)

    def eval_problems(self, n: int) -> list[Problem]:
        """``n`` distinct held-out problems, the same for the same seed and settings."""
        if n < 0:
            raise ValueError(f"eval_problems needs n >= 0, got {n}")
        capacity = chain_eval_capacity(self.min_ops, self.max_ops, self.eval_buckets)
        if n > capacity:
            raise ValueError(f"the chain task with {self.min_ops} to {self.max_ops} operations has only {capacity} "
                             f"held-out problems, fewer than the {n} asked for")
        rng = random.Random(f"chain-eval-{self.seed}-{self.min_ops}-{self.max_ops}")
        seen: set[str] = set()
        problems: list[Problem] = []
        while len(problems) < n:
            question = self._random_question(rng)
            if question in seen or not self.is_eval_question(question):
                continue
            seen.add(question)
            problems.append(self.make_problem(question))
        return problems

    def verify(self, completion: str, ground_truth: str) -> "Verdict":
        """The chain task's exact verifier (its answers are single digits)."""
        return verify(completion, ground_truth)

    def reference_solution(self, problem: Problem) -> str:
        """The gold completion: one line per step, then the final answer line."""
        start, operations = parse_chain(problem.question)
        lines = []
        value = start
        for operator, operand in operations:
            result = apply_chain_op(value, operator, operand)
            lines.append(format_chain_step(value, operator, operand, result))
            value = result
        lines.append(format_final_answer(str(value)))
        return "".join(line + "\n" for line in lines)


# --------------------------------------------------------------------------------------------------
# A local JSON-lines data set
# --------------------------------------------------------------------------------------------------

_GSM8K_FINAL = "####"


def _answer_from_record(raw_answer: object, where: str) -> str:
    if isinstance(raw_answer, bool) or not isinstance(raw_answer, (str, int, float)):
        raise ValueError(f"{where}: \"answer\" must be a string or a number, got {type(raw_answer).__name__}")
    text = str(raw_answer)
    # GSM8K keeps the worked solution in "answer" and the final answer after "#### "; MATH's solutions end in
    # \boxed{...} (the last box is the answer).
    if _GSM8K_FINAL in text:
        text = text.rsplit(_GSM8K_FINAL, 1)[1]
    elif "\\boxed{" in text:
        boxes = list(_boxed_matches(text))
        if boxes:
            start, end = boxes[-1]
            text = text[start:end]
    answer = normalize_answer(text)
    if not answer:
        raise ValueError(f"{where}: \"answer\" is empty")
    return answer


def load_jsonl_problems(path: str | Path, default_id_prefix: str | None = None) -> list[Problem]:
    """Read problems from a JSON-lines file. Blank lines are skipped; anything malformed raises ValueError
    naming ``file:line``. A record without "id" gets ``<prefix>-<line>`` (the prefix defaults to the file's
    stem)."""
    path = Path(path)
    prefix = default_id_prefix or path.stem
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"data set not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read the data set ({error})") from None
    problems: list[Problem] = []
    seen_ids: set[str] = set()
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{line_number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{where}: not valid JSON ({error.msg} at column {error.colno})") from None
        if not isinstance(record, dict):
            raise ValueError(f"{where}: expected a JSON object with \"question\" and \"answer\"")
        for key in ("question", "answer"):
            if key not in record:
                raise ValueError(f"{where}: missing \"{key}\"")
        question = record["question"]
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"{where}: \"question\" must be a non-empty string")
        answer = _answer_from_record(record["answer"], where)
        problem_id = record.get("id")
        if problem_id is None:
            problem_id = f"{prefix}-{line_number}"
        problem_id = str(problem_id)
        if problem_id in seen_ids:
            raise ValueError(f"{where}: duplicate id {problem_id!r}")
        seen_ids.add(problem_id)
        problems.append(Problem(id=problem_id, question=question, answer=answer))
    if not problems:
        raise ValueError(f"{path}: no problems (the file is empty)")
    return problems


def _load_for_key(key: str, path: str | Path, default_id_prefix: str | None = None) -> list[Problem]:
    """``load_jsonl_problems`` whose errors name the config key that points at the file."""
    try:
        return load_jsonl_problems(path, default_id_prefix)
    except FileNotFoundError as error:
        raise DatasetError(key, f"{error} (a JSON-lines file of {{\"question\", \"answer\"}} objects)") from None
    except ValueError as error:
        raise DatasetError(key, str(error)) from None


def _question_key(question: str) -> str:
    """Questions compared for overlap: case and runs of whitespace do not make a question new."""
    return " ".join(question.split()).casefold()


class JsonlTask:
    """Problems from a local JSON-lines file ("question", "answer", optional "id"), verified with math-verify.

    Held-out problems come from ``eval_path`` when given; otherwise a stable hash of each question puts
    about ``eval_fraction`` of the file in the held-out slice (the same slice on every run), and training
    never sees it. With a separate eval file, training problems whose question is also in the eval file are
    dropped from training (with a warning, ``overlap_dropped`` counts them): the eval file is the benchmark
    and stays whole. Ids are unique across both files: default ids of an eval file whose name clashes with
    the training file's get an "eval-" prefix, and an explicit id in both files is refused.
    """

    name = "jsonl"

    def __init__(self, path: str | Path, eval_path: str | Path | None = None, eval_fraction: float = 0.1,
                 verify_timeout_seconds: float = 5.0, on_warning=None):
        if not (0.0 < eval_fraction < 1.0):
            raise ValueError(f"eval_fraction must be between 0 and 1, got {eval_fraction}")
        self.path = Path(path)
        self.overlap_dropped = 0
        self._on_warning = on_warning
        self._verify_timeout_seconds = verify_timeout_seconds
        self._verifier = None
        problems = _load_for_key("dataset_path", self.path)
        if eval_path is not None:
            eval_path = Path(eval_path)
            prefix = f"eval-{eval_path.stem}" if eval_path.stem == self.path.stem else None
            self._eval = _load_for_key("eval_dataset_path", eval_path, prefix)
            shared_ids = sorted({p.id for p in problems} & {p.id for p in self._eval})
            if shared_ids:
                raise DatasetError("eval_dataset_path", f"id {shared_ids[0]!r} is in both {self.path} and "
                                                        f"{eval_path} ({len(shared_ids)} shared id(s)); ids must be "
                                                        f"unique across the training and eval files")
            held_out = {_question_key(p.question) for p in self._eval}
            self._train = [p for p in problems if _question_key(p.question) not in held_out]
            self.overlap_dropped = len(problems) - len(self._train)
            if self.overlap_dropped:
                self._warn(f"{self.overlap_dropped} training problem(s) of {self.path} have a question that is also "
                           f"in the eval file {eval_path}; they are dropped from training")
        else:
            buckets = 10_000
            cutoff = int(eval_fraction * buckets)
            self._eval = [p for p in problems if _stable_bucket(p.question, buckets) < cutoff]
            self._train = [p for p in problems if _stable_bucket(p.question, buckets) >= cutoff]
        if not self._train:
            raise DatasetError("dataset_path", f"{self.path}: no training problems left after holding out the "
                                               f"eval problems")

    def _warn(self, message: str) -> None:
        import logging

        logging.getLogger("mgrpo").warning("%s", message)
        if self._on_warning is not None:
            self._on_warning(message)

    @property
    def verify_warnings(self) -> dict[str, int]:
        """Answers the math verifier could not check (reward 0), by reason."""
        return dict(self._verifier.warnings) if self._verifier is not None else {}

    def verify(self, completion: str, ground_truth: str) -> "Verdict":
        """math-verify's verdict (started on first use: its worker imports sympy)."""
        if self._verifier is None:
            from .verify_math import MathVerifier

            self._verifier = MathVerifier(timeout_seconds=self._verify_timeout_seconds, on_warning=self._on_warning)
        return self._verifier(completion, ground_truth)

    def close(self) -> None:
        if self._verifier is not None:
            self._verifier.close()

    def question_texts(self) -> list[str]:
        """Every question of both splits (for the start-up length check)."""
        return [p.question for p in self._train] + [p.question for p in self._eval]

    def train_problems(self, rng: random.Random) -> Iterator[Problem]:
        """Endless: the training problems in a fresh ``rng`` order each epoch."""
        order = list(self._train)
        while True:
            rng.shuffle(order)
            yield from order

    def eval_problems(self, n: int) -> list[Problem]:
        """The first ``n`` held-out problems in file order (all of them when fewer exist)."""
        if n < 0:
            raise ValueError(f"eval_problems needs n >= 0, got {n}")
        return list(self._eval[:n])


# --------------------------------------------------------------------------------------------------
# Answer extraction and the verifier
# --------------------------------------------------------------------------------------------------

# Line-anchored answer markers; the value is the rest of the line.
_ANSWER_LINE = re.compile(
    r"^[ \t]*(?:(?:A|Answer|Final answer)[ \t]*:|####)[ \t]*(?P<value>[^\n]*)$", re.IGNORECASE | re.MULTILINE
)
_ANSWER_IS = re.compile(r"\bthe (?:final )?answer is[ \t]*:?[ \t]*(?P<value>[^\n]*)$", re.IGNORECASE | re.MULTILINE)
_BOXED = re.compile(r"\\boxed\{")


@dataclass(frozen=True)
class AnswerMatch:
    """Where the final answer sits: its text and the character spans of the value and of its line."""

    value: str
    value_start: int
    value_end: int
    line_start: int
    line_end: int


def _line_bounds(text: str, position: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, position) + 1
    line_end = text.find("\n", position)
    if line_end == -1:
        line_end = len(text)
    if line_end > line_start and text[line_end - 1] == "\r":
        line_end -= 1
    return line_start, line_end


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _boxed_matches(text: str) -> Iterator[tuple[int, int]]:
    """Spans of the contents of each ``\\boxed{...}``, with nested braces balanced; unclosed ones skipped."""
    for match in _BOXED.finditer(text):
        depth = 1
        position = match.end()
        while position < len(text) and depth:
            if text[position] == "{":
                depth += 1
            elif text[position] == "}":
                depth -= 1
            position += 1
        if depth == 0:
            yield match.end(), position - 1


def find_final_answer(completion: str) -> AnswerMatch | None:
    """The last answer marker in the completion (by position), or None when there is none or it is empty."""
    if not isinstance(completion, str):
        raise TypeError(f"completion must be a str, got {type(completion).__name__}")
    candidates: list[tuple[int, int]] = []
    for pattern in (_ANSWER_LINE, _ANSWER_IS):
        for match in pattern.finditer(completion):
            candidates.append(match.span("value"))
    candidates.extend(_boxed_matches(completion))
    if not candidates:
        return None
    # The last marker wins: a correction that ends in "A: 7" overrides an earlier "A: 9".
    start, end = max(candidates, key=lambda span: (span[0], span[1]))
    start, end = _strip_span(completion, start, end)
    if start == end:
        return None
    line_start, line_end = _line_bounds(completion, start)
    return AnswerMatch(completion[start:end], start, end, line_start, line_end)


def extract_answer(completion: str) -> str | None:
    """The final answer's raw text (from "A: x", "Answer: x", "The answer is x", "#### x" or \\boxed{x},
    whichever comes last), or None when the completion has no (non-empty) answer."""
    match = find_final_answer(completion)
    return match.value if match else None


_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")


def normalize_answer(answer: object) -> str:
    """Canonical form for comparing answers: trimmed, trailing full stop dropped, a leading "$" on a number
    dropped, numbers canonical ("3.0" -> "3", "1,000" -> "1000", "+4" -> "4", "-0" -> "0"); other text
    keeps its case with runs of whitespace collapsed."""
    text = " ".join(str(answer).split())
    text = text.rstrip(".").strip()
    if text.startswith("$") and _NUMBER.match(text[1:].replace(",", "")):
        text = text[1:]
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    if _NUMBER.match(text):
        try:
            number = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
            return text
        if number == number.to_integral_value():
            return str(int(number))
        return format(number.normalize(), "f")
    return text


@dataclass
class Verdict:
    """The verifier's judgement of one completion."""

    reward: float
    components: dict[str, float]
    parsed_answer: str | None
    correct: bool


def verify(completion: str, ground_truth: str) -> Verdict:
    """Reward 1.0 when the completion's normalised final answer equals the normalised ground truth, else 0.0.

    ``parsed_answer`` is the normalised answer the completion gave (None when it gave none)."""
    expected = normalize_answer(ground_truth)
    if not expected:
        raise ValueError(f"ground truth is empty after normalisation: {ground_truth!r}")
    raw = extract_answer(completion)
    parsed = normalize_answer(raw) if raw is not None else None
    correct = parsed is not None and parsed == expected
    reward = 1.0 if correct else 0.0
    return Verdict(reward=reward, components={"correctness": reward}, parsed_answer=parsed or None, correct=correct)


# --------------------------------------------------------------------------------------------------
# Spans for the viewers
# --------------------------------------------------------------------------------------------------


def answer_span(completion: str) -> tuple[int, int] | None:
    """Character span [start, end) of the final answer line (without its newline), or None."""
    match = find_final_answer(completion)
    if match is None:
        return None
    return _strip_span(completion, match.line_start, match.line_end)


def step_spans(completion: str) -> list[tuple[int, int]]:
    """Character spans [start, end) of the reasoning steps: every non-blank line except the final answer
    line, trimmed of surrounding whitespace (so the end never includes the newline)."""
    final_line = answer_span(completion)
    spans: list[tuple[int, int]] = []
    line_start = 0
    while line_start <= len(completion):
        newline = completion.find("\n", line_start)
        line_end = len(completion) if newline == -1 else newline
        start, end = _strip_span(completion, line_start, line_end)
        if start < end and (start, end) != final_line:
            spans.append((start, end))
        if newline == -1:
            break
        line_start = newline + 1
    return spans

