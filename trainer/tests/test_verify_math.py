"""The math verifier of task "jsonl": a table of tricky answers, and time limits that hold."""

from __future__ import annotations

import threading
import time

import pytest

from mgrpo.verify_math import MathVerifier


@pytest.fixture(scope="module")
def verifier():
    heard: list[str] = []
    checker = MathVerifier(timeout_seconds=3.0, on_warning=heard.append)
    checker.heard = heard
    yield checker
    checker.close()


# (completion, ground truth, correct?, parsed answer)
TRICKY = [
    ("so 1/2 of them.\nAnswer: 0.5", "1/2", True, "0.5"),                       # decimal vs fraction
    ("Answer: \\frac{1}{2}", "0.5", True, "\\frac{1}{2}"),                      # LaTeX fraction vs decimal
    ("The answer is \\dfrac{14}{3}.", "\\frac{14}{3}", True, "\\dfrac{14}{3}"),  # \dfrac vs \frac
    ("#### 1,000", "1000", True, "1000"),                                        # thousands separator
    ("Answer: 1,000,000", "1000000", True, "1000000"),
    ("Answer: 1,000", "1", False, "1000"),                                       # not a decimal comma
    ("Answer: 3.0", "3", True, "3"),
    ("Answer: $18", "18", True, "18"),                                           # currency sign
    ("Answer: 18 dollars", "18", True, "18 dollars"),                            # a unit after the number
    ("Answer: x = 5", "5", True, "x = 5"),
    ("Answer: −3", "-3", True, "−3"),                                            # Unicode minus
    ("Answer: 0.33", "1/3", False, "0.33"),                                      # rounded is not equal
    ("Answer: 2\\sqrt{2}", "\\sqrt{8}", True, "2\\sqrt{2}"),                     # LaTeX, equal after simplification
    ("First \\boxed{3}, no wait: \\boxed{5}", "5", True, "5"),                   # several boxes: the last counts
    ("First \\boxed{5}, no wait: \\boxed{3}", "5", False, "3"),
    ("I think it is 42 but I am not sure", "42", False, None),                  # no answer marker
    ("Answer:", "42", False, None),                                             # an empty answer marker
    ("\\boxed{}", "42", False, None),                                           # an empty box
    ("Answer: seven", "7", False, "seven"),
    ("", "42", False, None),
]


@pytest.mark.parametrize("completion,truth,correct,parsed", TRICKY)
def test_tricky_answers(verifier, completion, truth, correct, parsed):
    verdict = verifier(completion, truth)
    assert verdict.correct is correct
    assert verdict.reward == (1.0 if correct else 0.0)
    assert verdict.components == {"correctness": verdict.reward}
    assert verdict.parsed_answer == parsed


def test_pathological_answer_gets_zero_within_the_limit_and_a_counted_warning(verifier):
    before = verifier.warnings["timeout"] + verifier.warnings["error"]
    began = time.monotonic()
    verdict = verifier("Answer: 9^{9^{9^{9^{9}}}}", "9")
    elapsed = time.monotonic() - began
    assert verdict.reward == 0.0 and not verdict.correct
    assert elapsed < 3.0 + 10.0  # the limit plus slack for a loaded 2-core machine (the worker may restart)
    assert verifier.warnings["timeout"] + verifier.warnings["error"] == before + 1
    assert verifier.heard  # the first warning of its kind is passed on
    # The verifier still works afterwards (a fresh worker when the old one was killed).
    assert verifier("Answer: 0.5", "1/2").correct


def test_the_parent_kills_a_worker_that_overruns():
    # The worker's own limit is set far above the parent's, as when sympy is stuck in C code no signal reaches.
    checker = MathVerifier(timeout_seconds=1.0, worker_limit_seconds=60)
    try:
        assert checker("Answer: 0.5", "1/2").correct  # the worker is up
        began = time.monotonic()
        assert not checker("Answer: 9^{9^{9^{9^{9}}}}", "9").correct
        assert time.monotonic() - began < 1.0 + 5.0
        assert checker.warnings["timeout"] == 1
        assert checker("Answer: 3/4", "0.75").correct  # a fresh worker answers
    finally:
        checker.close()


def test_overlong_answer_is_refused_without_parsing(verifier):
    verdict = verifier("Answer: " + "1+" * 400 + "1", "801")
    assert not verdict.correct
    assert verifier.warnings["too_long"] >= 1


def test_works_off_the_main_thread(verifier):
    results = []
    thread = threading.Thread(target=lambda: results.append(verifier("Answer: 1/4", "0.25")))
    thread.start()
    thread.join(60)
    assert results and results[0].correct


def test_rejects_a_bad_limit():
    with pytest.raises(ValueError, match="timeout_seconds"):
        MathVerifier(timeout_seconds=0)
