import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseTrainerVerdict, verifyAnswer } from '../../extension/src/model/answerVerifier';
import { judgeCorrections } from '../../extension/src/onnx/whatIf';

// What If judges corrections with this port; it must give the trainer's verdicts (the fixture is Python's,
// kept in sync by trainer/tests/test_export_onnx.py::test_verifier_fixture_holds_python_verdicts).
interface Case { completion: string; ground_truth: string; reward: number; parsed_answer: string | null; correct: boolean }
const cases: Case[] = JSON.parse(readFileSync(path.resolve(__dirname, '../fixtures/verifier-cases.json'), 'utf8'));

describe('onnx What If: the answer verifier port agrees with the trainer', () => {
  it('on every fixture case', () => {
    assert.ok(cases.length >= 30);
    for (const each of cases) {
      const verdict = verifyAnswer(each.completion, each.ground_truth);
      assert.deepEqual(
        { reward: verdict.reward, parsed: verdict.parsedAnswer, correct: verdict.correct },
        { reward: each.reward, parsed: each.parsed_answer, correct: each.correct },
        JSON.stringify(each.completion),
      );
    }
  });

  it('refuses an empty ground truth', () => {
    assert.throws(() => verifyAnswer('A: 1', ' . '), /ground truth is empty/);
  });

  it('reads the trainer\'s verify lines, and says what is wrong with a bad one', () => {
    assert.deepEqual(parseTrainerVerdict('{"reward": 1.0, "parsed_answer": "0.5", "correct": true}'), { reward: 1, parsedAnswer: '0.5', correct: true });
    assert.deepEqual(parseTrainerVerdict('{"reward": 0.0, "parsed_answer": null, "correct": false}'), { reward: 0, parsedAnswer: null, correct: false });
    assert.equal((parseTrainerVerdict('{"error": "stdin line 2: JSONDecodeError"}') as Error).message, 'stdin line 2: JSONDecodeError');
    assert.match((parseTrainerVerdict('Traceback (most recent call last):') as Error).message, /^not JSON/);
    assert.match((parseTrainerVerdict('{"reward": "1"}') as Error).message, /^not a verdict/);
  });

  it('judges with verdicts from another judge when given (math-verify says 0.5 is 1/2)', () => {
    const completions = [{ text: 'A: 0.5', logprobs: [-1], stopped: true }, { text: 'A: 2', logprobs: [-1], stopped: true }];
    const exact = judgeCorrections('A: 3', '1/2', completions);
    assert.deepEqual(exact.corrections.map((c) => c.outcome), ['i->i', 'i->i']);
    const math = judgeCorrections('A: 3', '1/2', completions, [
      { reward: 0, parsedAnswer: '3', correct: false }, { reward: 1, parsedAnswer: '0.5', correct: true }, { reward: 0, parsedAnswer: '2', correct: false },
    ]);
    assert.deepEqual(math.corrections.map((c) => c.outcome), ['i->c', 'i->i']);
    assert.equal(math.input?.parsedAnswer, '3');
  });
});
