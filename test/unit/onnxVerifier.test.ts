import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { verifyAnswer } from '../../extension/src/model/answerVerifier';

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
});
