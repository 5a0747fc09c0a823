"""`python -m mgrpo verify`: the extension's What If judges corrections of a JSON-lines task with the run's own
verifier (math-verify) through it. One verdict line per input line, in order; a bad line is an error line and
reading goes on."""

import json

from conftest import run_mgrpo


def _verdicts(result):
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_math_verifier_knows_equal_numbers_in_other_forms():
    lines = [
        {"completion": "so x = 1/2\nAnswer: 0.5", "ground_truth": "\\frac{1}{2}"},
        {"completion": "The answer is 1,000", "ground_truth": "1000"},
        {"completion": "A: 3", "ground_truth": "4"},
        {"completion": "no answer here", "ground_truth": "4"},
    ]
    stdin = "".join(json.dumps(line) + "\n" for line in lines)
    verdicts = _verdicts(run_mgrpo("verify", "--verifier", "math", stdin=stdin))
    assert [v["correct"] for v in verdicts] == [True, True, False, False]
    assert [v["reward"] for v in verdicts] == [1.0, 1.0, 0.0, 0.0]
    assert verdicts[0]["parsed_answer"] == "0.5" and verdicts[3]["parsed_answer"] is None


def test_exact_verifier_and_bad_lines():
    stdin = ('{"completion": "A: 3", "ground_truth": "3"}\n'
             "not json\n"
             '{"completion": 3, "ground_truth": "3"}\n'
             "\n"
             '{"completion": "A: 0.5", "ground_truth": "1/2"}\n')
    verdicts = _verdicts(run_mgrpo("verify", stdin=stdin))
    assert verdicts[0] == {"reward": 1.0, "parsed_answer": "3", "correct": True}
    assert verdicts[1]["error"].startswith("stdin line 2: JSONDecodeError")
    assert verdicts[2]["error"] == "stdin line 3: TypeError: completion and ground_truth must be strings"
    assert verdicts[3]["correct"] is False, "exact match: 0.5 is not 1/2 as text"
    assert len(verdicts) == 4
