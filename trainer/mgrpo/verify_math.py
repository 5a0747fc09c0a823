"""The verifier for math data sets (``task: jsonl``): Hugging Face's ``math-verify`` with a hard time limit.

The final answer is found the way the viewers find it (``task.find_final_answer``: the last "Answer: x",
"The answer is x", "#### x" or ``\\boxed{x}``), so the reward, ``parsed_answer`` and the highlighted answer
span always agree. Its text is then compared with the ground truth by ``math-verify``, which knows that
"0.5", "1/2" and "\\frac{1}{2}" are equal, that "1,000" is 1000, that "\\dfrac{14}{3}" is "\\frac{14}{3}" and
that "x = 5" answers 5. Identical normalised strings are accepted without it.

Model output is untrusted: "9^{9^{9^{9}}}" makes sympy compute forever, in C code that no signal interrupts.
So ``math-verify`` runs in a worker process. There its own signal-based time limits work (they need the main
thread, which a worker's loop is), and the parent waits at most ``timeout_seconds`` for an answer before it
kills the worker (a fresh one starts on the next call). A timeout, a crash or an answer longer than
``max_answer_chars`` gives reward 0 and a counted warning; a step never stalls or fails on one.
"""

from __future__ import annotations

import collections
import logging
import math
import multiprocessing
import re
import signal
from typing import Callable

from .task import Verdict, find_final_answer, normalize_answer

log = logging.getLogger("mgrpo")

DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_MAX_ANSWER_CHARS = 500
# The worker's own (signal-based) limits stop ordinary slow cases; the parent's hard limit covers the rest.
WORKER_START_SECONDS = 60.0  # importing sympy on a busy machine


_NUMBER_WITH_UNIT = re.compile(r"^\$?(?P<number>[+\-\u2212]?\d[\d,]*(?:\.\d+)?)\s+[^\W\d_]")


def _as_latex(text: str) -> str:
    """math-verify reads LaTeX only between delimiters: wrap a bare answer ("\\frac{1}{2}") in $...$."""
    text = text.strip()
    return text if "$" in text or "\\(" in text or "\\[" in text else f"${text}$"


def math_equal(answer: str, ground_truth: str, limit_seconds: int) -> bool:
    """math-verify's judgement: is ``answer`` the same mathematical object as ``ground_truth``? Runs in the
    calling process (the worker); its time limits need the main thread."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    extraction = [LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig()]
    gold = parse(_as_latex(ground_truth), extraction_config=extraction, parsing_timeout=limit_seconds,
                 raise_on_error=True)
    if not gold:
        return False
    candidates = [_as_latex(answer)]
    with_unit = _NUMBER_WITH_UNIT.match(answer)
    if with_unit:  # "18 dollars" reads as the product 18*d*o*l*l*a*r*s in LaTeX; the number is the answer
        candidates.append(with_unit.group("number"))
    for candidate_text in candidates:
        candidate = parse(candidate_text, extraction_config=extraction, parsing_timeout=limit_seconds,
                          raise_on_error=True)
        if candidate and verify(gold, candidate, timeout_seconds=limit_seconds, raise_on_error=True):
            return True
    return False


def _serve(connection, limit_seconds: int) -> None:
    """The worker: answer (answer, ground_truth) requests until the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the trainer; it stops us by closing the pipe
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)  # timeouts are reported by the parent
    from math_verify.errors import TimeoutException
    while True:
        try:
            answer, ground_truth = connection.recv()
        except (EOFError, OSError):
            return
        try:
            connection.send(("ok", math_equal(answer, ground_truth, limit_seconds)))
        except TimeoutException:
            connection.send(("timeout", f"over {limit_seconds} s inside math-verify"))
        except Exception as error:  # noqa: BLE001 - any failure of the checker is a verdict of 0, reported
            connection.send(("error", f"{type(error).__name__}: {error}"[:300]))


class MathVerifier:
    """``verifier(completion, ground_truth) -> Verdict`` for math answers. ``warnings`` counts the answers
    that got 0 because they could not be checked (by reason); ``on_warning`` hears the first of each reason."""

    def __init__(self, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
                 max_answer_chars: int = DEFAULT_MAX_ANSWER_CHARS,
                 on_warning: Callable[[str], None] | None = None, worker_limit_seconds: int | None = None):
        if not timeout_seconds > 0:
            raise ValueError(f"timeout_seconds must be > 0, got {timeout_seconds}")
        self.timeout_seconds = float(timeout_seconds)
        self.max_answer_chars = max_answer_chars
        self.on_warning = on_warning
        # The worker's own (signal.alarm) limit is whole seconds, a little under the parent's hard one.
        self.worker_limit_seconds = worker_limit_seconds or max(1, math.floor(self.timeout_seconds * 0.8))
        self.warnings: collections.Counter[str] = collections.Counter()
        self._process = None
        self._connection = None

    # the worker -------------------------------------------------------------------------------------
    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process that holds torch's threads
        parent_end, child_end = context.Pipe()
        self._process = context.Process(target=_serve, args=(child_end, self.worker_limit_seconds), name="mgrpo-math-verify", daemon=True)
        self._process.start()
        child_end.close()
        self._connection = parent_end

    def close(self) -> None:
        """Stop the worker (it also stops by itself when this process exits)."""
        if self._connection is not None:
            self._connection.close()
        if self._process is not None:
            self._process.kill()
            self._process.join(timeout=5)
        self._process = self._connection = None

    def _warn(self, reason: str, detail: str) -> None:
        self.warnings[reason] += 1
        if self.warnings[reason] == 1:
            message = f"math verifier: {detail}; such answers get reward 0 (counted, this is said once)"
            log.warning("%s", message)
            if self.on_warning is not None:
                self.on_warning(message)

    def _ask(self, answer: str, ground_truth: str) -> bool | None:
        """math-verify's verdict from the worker, or None (after a counted warning) when it gave none in time."""
        first_use = self._process is None or not self._process.is_alive()
        if first_use:
            self.close()
            self._start()
        try:
            self._connection.send((answer, ground_truth))
            wait = self.timeout_seconds + (WORKER_START_SECONDS if first_use else 0.0)
            if not self._connection.poll(wait):
                self.close()
                self._warn("timeout", f"checking {answer[:80]!r} took over {self.timeout_seconds:g} s")
                return None
            status, value = self._connection.recv()
        except (EOFError, OSError, BrokenPipeError) as error:
            self.close()
            self._warn("worker", f"the checker process failed ({type(error).__name__}) on {answer[:80]!r}")
            return None
        if status == "timeout":
            self._warn("timeout", f"checking {answer[:80]!r} hit the time limit ({value})")
            return None
        if status != "ok":
            self._warn("error", f"math-verify failed on {answer[:80]!r}: {value}")
            return None
        return bool(value)

    # the verdict ------------------------------------------------------------------------------------
    def __call__(self, completion: str, ground_truth: str) -> Verdict:
        expected = normalize_answer(ground_truth)
        if not expected:
            raise ValueError(f"ground truth is empty after normalisation: {ground_truth!r}")
        match = find_final_answer(completion)
        if match is None:
            return _verdict(False, None)
        parsed = normalize_answer(match.value) or None
        if parsed is None:
            return _verdict(False, None)
        if parsed == expected:
            return _verdict(True, parsed)
        if len(parsed) > self.max_answer_chars:
            self._warn("too_long", f"an answer of {len(parsed)} characters is over the "
                                   f"{self.max_answer_chars}-character limit")
            return _verdict(False, parsed)
        return _verdict(bool(self._ask(parsed, ground_truth)), parsed)

    def __del__(self):  # pragma: no cover - best effort at interpreter exit
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


def _verdict(correct: bool, parsed: str | None) -> Verdict:
    reward = 1.0 if correct else 0.0
    return Verdict(reward=reward, components={"correctness": reward}, parsed_answer=parsed, correct=correct)
