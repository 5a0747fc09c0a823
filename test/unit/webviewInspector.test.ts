import { strict as assert } from 'node:assert';
import { inspectorState } from '../../extension/src/vscode/panels/inspectorData';
import type { InspectorSide } from '../../extension/src/webview/protocol';
import { annotations, confidenceClass } from '../../webview/src/inspector/annotations';
import { fixtureRecord, fixtureRecords } from './fixture';

// Step 2, question 0: layer-1 sample 0 answered "3+5=8 / 8*2=9 / 9-7=2" (wrong), its correction 0
// "3+5=8 / 8*2=6 / 6-7=9" (right, i->c), its correction 1 "3+5=1 / ..." (wrong, i->i).
const LAYER1 = 's000002-q000-l1-000';
const FIXED = 's000002-q000-l1-000-l2-000';
const STILL_WRONG = 's000002-q000-l1-000-l2-001';

function corrections(parent: string) {
  return fixtureRecords().filter((r) => r.parent_id === parent);
}

describe('inspector state: what the host sends for a (layer 1, correction) pair', () => {
  const state = inspectorState('/runs/example', 'example', fixtureRecord(LAYER1), fixtureRecord(FIXED), corrections(LAYER1));

  it('carries both texts, the question, the outcome and the guiding phrase', () => {
    assert.equal(state.layer1.text, '3+5=8\n8*2=9\n9-7=2\nA: 2\n');
    assert.equal(state.correction.text, '3+5=8\n8*2=6\n6-7=9\nA: 9\n');
    assert.equal(state.question, 'Q: 3+5*2-7\n');
    assert.equal(state.groundTruth, '9');
    assert.equal(state.outcome, 'i->c');
    assert.equal(state.guidingPhrase, fixtureRecord(FIXED).guiding_phrase);
    assert.equal(state.step, 2);
    assert.equal(state.group, 0);
    assert.equal(state.layer1.correct, false);
    assert.equal(state.correction.reward, 1);
  });

  it('marks the first divergent step (the second, 8*2) on both sides and the changed steps', () => {
    assert.equal(state.layer1.divergentStep, 1);
    assert.equal(state.correction.divergentStep, 1);
    assert.deepEqual(state.layer1.steps.map((s) => s.changed), [false, true, true]);
    assert.deepEqual(state.correction.steps.map((s) => s.changed), [false, true, true]);
    assert.deepEqual(state.layer1.steps.map((s) => [s.start, s.end]), [[0, 5], [6, 11], [12, 17]]);
  });

  it("computes each step's token probabilities and the least confident step", () => {
    // Layer 1, step 3 ("9-7=2") covers tokens 12..16 (one token per character in the fixture):
    // exp(logprob) = 0.954, 0.659, 0.807, 0.890, 0.744 -> min 0.659, mean 0.811.
    const third = state.layer1.steps[2];
    assert.ok(Math.abs(third.minProb! - 0.659) < 1e-3, `min ${third.minProb}`);
    assert.ok(Math.abs(third.meanProb! - 0.811) < 1e-3, `mean ${third.meanProb}`);
    // Three scored steps: at most half of them (one) is called out, the lowest minimum.
    assert.deepEqual(state.layer1.leastConfident, [2]);
  });

  it('sends hover markdown per step with the reward, advantage and the corrected parent', () => {
    const hover = state.correction.steps[1].hover;
    assert.match(hover, /\*\*Step 2\*\* · layer 2 · i->c/);
    assert.match(hover, /\| advantage \| \+1\.000 \|/);
    assert.match(hover, /\| layer 2 \| changed from layer 1 \|/);
    assert.match(hover, /\| corrects \| `s000002-q000-l1-000` \(wrong, reward 0\.00\) \|/);
  });

  it('lists every correction of the same layer-1 sample for the picker, in sample order', () => {
    assert.deepEqual(state.choices.map((c) => [c.recordId, c.outcome, c.reward]), [[FIXED, 'i->c', 1], [STILL_WRONG, 'i->i', 0]]);
  });

  it('refuses a correction of another sample', () => {
    assert.throws(() => inspectorState('/r', 'r', fixtureRecord(LAYER1), fixtureRecord('s000002-q001-l1-000-l2-000'), []), /is not a correction of s000002-q000-l1-000/);
    assert.throws(() => inspectorState('/r', 'r', fixtureRecord(FIXED), fixtureRecord(FIXED), []), /is not a layer-1 sample/);
  });

  it('escapes model text in hovers: a completion with <script> stays text', () => {
    const parent = 's000002-q001-l1-001';
    const [first] = corrections(parent);
    const withScript = inspectorState('/r', 'r', fixtureRecord(parent), first, corrections(parent));
    assert.match(withScript.layer1.text, /<script>alert\('x'\)<\/script>/, 'the Monaco model gets the raw text');
    const hover = withScript.layer1.steps[1].hover;
    assert.doesNotMatch(hover, /<script>/);
    assert.match(hover, /&lt;script&gt;/);
  });
});

describe('inspector annotations: decorations from a side', () => {
  const side = (overrides: Partial<InspectorSide> = {}): InspectorSide => ({
    recordId: 'x', layer: 2, sample: 0, text: 'aaaa\nbbbb\ncccc\n', correct: true, parsedAnswer: '1', reward: 1, rewards: {}, advantage: 1, finishReason: 'stop',
    steps: [
      { index: 0, start: 0, end: 4, minProb: 0.9, meanProb: 0.95, hover: 'h0', changed: false },
      { index: 1, start: 5, end: 9, minProb: 0.1, meanProb: 0.6, hover: 'h1', changed: true },
      { index: 2, start: 10, end: 99, minProb: null, meanProb: null, hover: 'h2', changed: true },
    ],
    divergentStep: 1,
    leastConfident: [1],
    ...overrides,
  });

  it('shades steps by their least likely token in fixed buckets', () => {
    assert.equal(confidenceClass(0.01), 'mgrpo-conf-1');
    assert.equal(confidenceClass(0.05), 'mgrpo-conf-2');
    assert.equal(confidenceClass(0.19), 'mgrpo-conf-2');
    assert.equal(confidenceClass(0.2), 'mgrpo-conf-3');
    assert.equal(confidenceClass(0.5), undefined);
    assert.equal(confidenceClass(null), undefined);
  });

  it('gives every step its hover, the divergent step a whole-line mark, the least confident a note', () => {
    const marks = annotations(side());
    assert.deepEqual(marks.filter((m) => m.kind === 'step').map((m) => [m.start, m.end, m.className, m.hover]), [
      [0, 4, undefined, 'h0'],
      [5, 9, 'mgrpo-conf-2', 'h1'],
      [10, 15, undefined, 'h2'], // clamped to the text's length (15)
    ]);
    const divergent = marks.find((m) => m.kind === 'divergent')!;
    assert.deepEqual([divergent.start, divergent.end, divergent.wholeLine], [5, 9, true]);
    assert.match(divergent.note!, /layer 2 departs from layer 1 here/);
    const weakest = marks.find((m) => m.kind === 'leastConfident')!;
    assert.equal(weakest.note, '  ⚠ least confident: min p 0.10, mean p 0.60');
  });

  it('words the divergence note for the layer-1 side', () => {
    const divergent = annotations(side({ layer: 1 })).find((m) => m.kind === 'divergent')!;
    assert.match(divergent.note!, /the correction departs from here/);
    assert.equal(annotations(side({ divergentStep: null })).some((m) => m.kind === 'divergent'), false);
  });
});
