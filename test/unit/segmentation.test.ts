import { strict as assert } from 'node:assert';
import type { RolloutRecord } from '../../extension/src/format/types';
import { leastConfidentNote, leastConfidentSteps, markedLeastConfidentSteps, stepAtOffset, stepSpans, tokenRangeOf, traceSteps } from '../../extension/src/model/segmentation';
import { fixtureRecord } from './fixture';

describe('step segmentation', () => {
  it('maps the fixture steps to their tokens and probabilities (checked by hand)', () => {
    const record = fixtureRecord('s000001-q000-l1-000'); // "3+5=8\n8*2=6\n6-7=9\nA: 9\n", one token per character
    const steps = traceSteps(record);
    assert.deepEqual(steps.map((s) => [s.text, s.tokenRange]), [
      ['3+5=8', [0, 5]],
      ['8*2=6', [6, 11]],
      ['6-7=9', [12, 17]],
    ]);
    // Step 1: tokens 0..4 have log-probabilities -0.0689, -0.3, -0.1363, -0.2485, -0.0018.
    const probs = [-0.0689, -0.3, -0.1363, -0.2485, -0.0018].map(Math.exp); // 0.93342, 0.74082, 0.87258, 0.77997, 0.99820
    assert.ok(Math.abs((steps[0].meanProb as number) - 0.864998) < 1e-6);
    assert.equal(steps[0].meanProb, probs.reduce((a, b) => a + b, 0) / 5);
    assert.equal(steps[0].minProb, Math.exp(-0.3));
    assert.equal(steps[0].minProbToken, 1);
  });

  it('gives a token straddling two steps to both, and leaves the line break to neither', () => {
    const record = {
      completion: 'ab\ncd\nA: 1\n',
      steps: [{ start: 0, end: 2 }, { start: 3, end: 5 }],
      answer_span: { start: 6, end: 10 },
      // tokens: "a" [0,1), "b\nc" [1,4), "d" [4,5), "\n" [5,6), "A: 1\n" [6,11)
      token_offsets: [0, 1, 4, 5, 6],
      token_logprobs: [Math.log(0.9), Math.log(0.5), Math.log(0.7), Math.log(0.99), Math.log(0.8)],
    } as unknown as RolloutRecord;
    const [first, second] = traceSteps(record);
    assert.deepEqual(first.tokenRange, [0, 2]);
    assert.deepEqual(second.tokenRange, [1, 3]);
    assert.ok(Math.abs((first.meanProb as number) - 0.7) < 1e-12);
    assert.ok(Math.abs((second.meanProb as number) - 0.6) < 1e-12);
    assert.ok(Math.abs((second.minProb as number) - 0.5) < 1e-12);
    assert.deepEqual(tokenRangeOf([0, 1, 4, 5, 6], { start: 5, end: 5 }), [3, 3], 'an empty span has no tokens');
  });

  it('falls back to non-blank lines outside the answer when steps are missing or unusable', () => {
    const base = fixtureRecord('s000001-q000-l1-000');
    const lines = (r: RolloutRecord): string[] => stepSpans(r).map((s) => r.completion.slice(s.start, s.end));
    assert.deepEqual(lines({ ...base, steps: [] }), ['3+5=8', '8*2=6', '6-7=9']);
    assert.deepEqual(lines({ ...base, steps: [], answer_span: null }), ['3+5=8', '8*2=6', '6-7=9', 'A: 9']);
    assert.deepEqual(lines({ ...base, steps: [{ start: 0, end: 99 }] }), ['3+5=8', '8*2=6', '6-7=9'], 'a span past the end');
    assert.deepEqual(lines({ ...base, steps: [{ start: 6, end: 11 }, { start: 0, end: 5 }] }), ['3+5=8', '8*2=6', '6-7=9'], 'spans out of order');
    assert.deepEqual(lines({ ...base, completion: 'x\r\n\r\ny\rA: 1', steps: [], answer_span: { start: 7, end: 11 } }), ['x', 'y']);
  });

  it('has no probabilities when token data is unusable', () => {
    const base = fixtureRecord('s000001-q000-l1-000');
    const steps = traceSteps({ ...base, token_offsets: base.token_offsets!.slice(1) });
    assert.equal(steps.length, 3);
    assert.deepEqual(steps.map((s) => [s.meanProb, s.minProb]), [[null, null], [null, null], [null, null]]);
  });

  it('finds the step at an offset and the least confident steps', () => {
    const steps = traceSteps(fixtureRecord('s000001-q000-l1-000'));
    assert.equal(stepAtOffset(steps, 7)?.index, 1);
    assert.equal(stepAtOffset(steps, 5), undefined, 'the line break between steps');
    // Minimum probabilities: step 1 exp(-0.3), step 2 exp(-0.4299), step 3 exp(-0.2754).
    assert.deepEqual(leastConfidentSteps(steps, 2), [1, 0]);
    // Three steps with tokens: at most half of them (one) is marked.
    assert.deepEqual(markedLeastConfidentSteps(steps), [1]);
    assert.deepEqual(markedLeastConfidentSteps(steps.slice(0, 1)), [], 'one step: no mark');
    assert.equal(leastConfidentNote(steps[1]), `  ⚠ least confident: min p ${Math.exp(-0.4299).toFixed(2)}, mean p ${(steps[1].meanProb as number).toFixed(2)}`);
    assert.equal(leastConfidentNote({ minProb: null, meanProb: null }), '  ⚠ least confident: min p –, mean p –');
  });
});
