// Step truth where the Runs view and trace editors show it: gutter marks and notes
// (model/stepTruthMarks), the flawed-chain flag on tree rows, and the step-truth filters through the
// Runs view's filter machinery (model/filters + model/runTree), on the example run fixture. Counts
// are hand-counted from test/fixtures/example-run (step_labels and first_wrong_step of each record).
import { strict as assert } from 'node:assert';
import { RunReader } from '../../extension/src/format/runReader';
import type { RolloutRecord, StepValues } from '../../extension/src/format/types';
import { describeFilter, filterKey, isEmptyFilter, matchesFilter } from '../../extension/src/model/filters';
import { childrenOf, matchingStepCounts, presentation, runNode, type Layer1Node, type Layer2Node, type RunTreeNode } from '../../extension/src/model/runTree';
import { STEP_TRUTH_FILTERS } from '../../extension/src/model/stepTruth';
import { stepTruthMarks, valueLevel, VALUE_BAR_LEVELS } from '../../extension/src/model/stepTruthMarks';
import { inspectorState } from '../../extension/src/vscode/panels/inspectorData';
import { annotations } from '../../webview/src/inspector/annotations';
import { FIXTURE_RUN, fixtureRecord, fixtureRecords } from './fixture';

const LUCKY = 's000002-q000-l1-001-l2-001'; // 3+5=3 (wrong), 3*2=6, 6-7=9, A: 9: right answer, flawed chain

function values(recordId: string, prefix: number, perStep: number[], likely: number | null): StepValues {
  return {
    record_id: recordId, step: 2, checkpoint: 'checkpoints/step-000002', k: 4, seed: 0, temperature: 1,
    prefix_value: prefix, values: perStep, drops: perStep.map((v, i) => (i === 0 ? prefix : perStep[i - 1]) - v), likely_error: likely,
    time: '2026-01-01T00:00:00Z',
  };
}

describe('step truth marks (gutter and line notes)', () => {
  it('marks the lucky correction’s first step wrong and its other steps right', () => {
    const marks = stepTruthMarks(fixtureRecord(LUCKY), [0, 1, 2], null);
    assert.deepEqual(marks.map((m) => [m.step, m.label, m.valueLevel, m.note]), [
      [0, 'wrong', null, '✗ first wrong step'],
      [1, 'right', null, null],
      [2, 'right', null, null],
    ]);
  });

  it('marks a later wrong step without calling it the first, and only the steps shown', () => {
    // s000001-q001-l1-000: 9*3=7, 7-4=6 (wrong: 7-4=3), 6+8=4, 4*7=8; the document shows steps 1 and 2 only.
    const marks = stepTruthMarks(fixtureRecord('s000001-q001-l1-000'), [1, 2], null);
    assert.deepEqual(marks.map((m) => [m.step, m.label, m.note]), [[1, 'wrong', '✗ first wrong step'], [2, 'right', null]]);
  });

  it('draws values as bar levels and notes the likely error with its drop', () => {
    // prefix 0.75 -> 0.25 (drop 0.50, the largest) -> 0.5 -> 1.0
    const marks = stepTruthMarks(fixtureRecord(LUCKY), [0, 1, 2], values(LUCKY, 0.75, [0.25, 0.5, 1], 0));
    assert.deepEqual(marks.map((m) => m.valueLevel), [2, 4, VALUE_BAR_LEVELS]);
    assert.equal(marks[0].note, '✗ first wrong step · ▼ likely error by value (0.25, drop +0.50)');
    assert.equal(marks[1].note, null);
    assert.equal(marks[0].verdict?.drop, 0.5);
  });

  it('ignores values estimated for another record or for a different number of steps', () => {
    const other = stepTruthMarks(fixtureRecord(LUCKY), [0, 1, 2], values('s000002-q000-l1-000', 0.75, [0.25, 0.5, 1], 0));
    assert.deepEqual(other.map((m) => m.valueLevel), [null, null, null]);
    const short = stepTruthMarks(fixtureRecord(LUCKY), [0, 1, 2], values(LUCKY, 0.75, [0.25, 0.5], 0));
    assert.deepEqual(short.map((m) => m.valueLevel), [null, null, null]);
  });

  it('marks the answer line when the error lies after the last step', () => {
    const base = fixtureRecord('s000001-q000-l1-000');
    const missing: RolloutRecord = { ...base, correct: false, first_wrong_step: base.steps.length };
    const marks = stepTruthMarks(missing, [0, 1, 2], null);
    assert.deepEqual(marks.map((m) => [m.step, m.label]), [[0, 'right'], [1, 'right'], [2, 'right'], [null, 'wrong']]);
    assert.match(marks[3].note ?? '', /after the last step/);
  });

  it('has nothing to mark without labels or values', () => {
    const base = fixtureRecord('s000001-q000-l1-000');
    assert.deepEqual(stepTruthMarks({ ...base, step_labels: null, first_wrong_step: null }, [0, 1, 2], null), []);
  });

  it('clamps bar levels to 0..VALUE_BAR_LEVELS and has none for a missing value', () => {
    assert.deepEqual([valueLevel(0), valueLevel(0.5), valueLevel(1), valueLevel(1.5), valueLevel(-1), valueLevel(null), valueLevel(Number.NaN)],
      [0, VALUE_BAR_LEVELS / 2, VALUE_BAR_LEVELS, VALUE_BAR_LEVELS, 0, null, null]);
  });
});

describe('step truth in the Runs view', () => {
  const byId = new Map(fixtureRecords().map((r) => [r.id, r]));
  const parentOf = (r: RolloutRecord) => (r.parent_id ? byId.get(r.parent_id) : undefined);
  const matching = (id: string) => [...byId.values()].filter((r) => matchesFilter(r, { stepTruth: id }, parentOf(r))).map((r) => r.id).sort();

  it('each step-truth filter keeps the hand-counted records', () => {
    assert.deepEqual(matching('flawed-chain'), [LUCKY]);
    // i->c corrections that depart at layer 1's first wrong step (step 2 of each parent).
    assert.deepEqual(matching('fixed-first-error'), ['s000001-q000-l1-001-l2-000', 's000001-q001-l1-000-l2-000', 's000002-q000-l1-000-l2-000']);
    // Corrections that rewrite step 1 where layer 1's first error is step 2.
    assert.deepEqual(matching('departed-before-error'), ['s000001-q000-l1-001-l2-001', 's000001-q001-l1-000-l2-001', 's000002-q000-l1-000-l2-001']);
    assert.deepEqual(matching('departed-after-error'), []);
  });

  it('a step-truth filter combines with the other fields and never matches an index row', () => {
    assert.deepEqual(matching('flawed-chain'), [LUCKY]);
    assert.equal(matchesFilter(fixtureRecord(LUCKY), { stepTruth: 'flawed-chain', layer: 1 }), false);
    const row = { layer: 2 as const, outcome: 'c->c' as const, correct: true, reward: 1 };
    assert.equal(matchesFilter(row, { stepTruth: 'flawed-chain' }), false);
    assert.equal(matchesFilter(fixtureRecord(LUCKY), { stepTruth: 'no-such-filter' }), false);
  });

  it('is a filter of its own: not empty, its own cache key, described by its label', () => {
    assert.equal(isEmptyFilter({ stepTruth: 'flawed-chain' }), false);
    assert.notEqual(filterKey({ stepTruth: 'flawed-chain' }), filterKey({ stepTruth: 'departed-after-error' }));
    assert.notEqual(filterKey({ stepTruth: 'flawed-chain' }), filterKey({}));
    assert.equal(describeFilter({ stepTruth: 'flawed-chain' }), 'Right answer, flawed chain');
    assert.equal(describeFilter({ stepTruth: 'flawed-chain', layer: 2 }), 'Right answer, flawed chain · layer 2');
    assert.equal(STEP_TRUTH_FILTERS.length, 4);
  });

  it('the run lists only the steps with matches, and the tree leads down to the flawed chain', async () => {
    const reader = await RunReader.open(FIXTURE_RUN);
    assert.deepEqual([...(await matchingStepCounts(reader, { stepTruth: 'flawed-chain' }))], [[2, 1]]);
    assert.deepEqual([...(await matchingStepCounts(reader, { stepTruth: 'fixed-first-error' }))], [[1, 2], [2, 1]]);
    const filter = { stepTruth: 'flawed-chain' };
    const leaves: RunTreeNode[] = [];
    const walk = async (node: RunTreeNode): Promise<void> => {
      for (const child of await childrenOf(node, reader, filter)) {
        leaves.push(child);
        await walk(child);
      }
    };
    await walk(runNode(reader));
    const samples = leaves.filter((n): n is Layer1Node | Layer2Node => n.kind === 'layer1' || n.kind === 'layer2');
    // The parent is shown as the path to its matching correction; only that correction is listed.
    assert.deepEqual(samples.map((n) => (n.kind === 'layer1' ? n.sample.record.id : n.record.id)), ['s000002-q000-l1-001', LUCKY]);
  });

  it('flags the flawed chain’s row (icon, description, tooltip) and no other', async () => {
    const reader = await RunReader.open(FIXTURE_RUN);
    const step = await reader.loadStep(2);
    const sample = step.layer1ById.get('s000002-q000-l1-001');
    assert.ok(sample);
    const lucky = sample.corrections.find((c) => c.id === LUCKY);
    const clean = sample.corrections.find((c) => c.id === 's000002-q000-l1-001-l2-000');
    assert.ok(lucky && clean);
    const row = (record: RolloutRecord) => presentation({ kind: 'layer2', id: record.id, runDir: reader.runDir, step: 2, record, parent: sample.record });
    const flagged = row(lucky);
    assert.match(flagged.description, /^flawed chain · /);
    assert.equal(flagged.icon, 'warning');
    assert.match(flagged.tooltip, /flawed chain/);
    const plain = row(clean);
    assert.doesNotMatch(plain.description, /flawed/);
    assert.equal(plain.icon, 'pass');
    const parentRow = presentation({ kind: 'layer1', id: sample.record.id, runDir: reader.runDir, step: 2, sample, corrections: sample.corrections });
    assert.doesNotMatch(parentRow.description, /flawed/);
  });
});

describe('step truth in the inspector', () => {
  it('each step’s hover carries its check, and the first wrong step says so', () => {
    // s000002-q000-l1-000: 3+5=8 (right), 8*2=9 (wrong, the first), 9-7=2 (right); its fix s000002-q000-l1-000-l2-000 is all right.
    const layer1 = fixtureRecord('s000002-q000-l1-000');
    const fix = fixtureRecord('s000002-q000-l1-000-l2-000');
    const state = inspectorState('/runs/example', 'example', layer1, fix, [fix]);
    assert.deepEqual(state.layer1.steps.map((s) => /\| step check \| ([^|]*) \|/.exec(s.hover)?.[1]), [
      'right (checker)', 'wrong (checker) · first wrong step', 'right (checker)',
    ]);
    assert.deepEqual(state.correction.steps.map((s) => /\| step check \| ([^|]*) \|/.exec(s.hover)?.[1]), ['right (checker)', 'right (checker)', 'right (checker)']);
  });

  it('marks each checked step in the gutter and notes the first wrong one', () => {
    const layer1 = fixtureRecord('s000002-q000-l1-000');
    const fix = fixtureRecord('s000002-q000-l1-000-l2-000');
    const state = inspectorState('/runs/example', 'example', layer1, fix, [fix]);
    assert.deepEqual(state.layer1.steps.map((s) => [s.truth, s.firstError]), [['right', false], ['wrong', true], ['right', false]]);
    const marks = annotations(state.layer1).filter((m) => m.kind === 'truth');
    // Steps "3+5=8", "8*2=9", "9-7=2" at characters 0-5, 6-11, 12-17 of the completion.
    assert.deepEqual(marks.map((m) => [m.start, m.end, m.gutterClassName, m.note]), [
      [0, 5, 'mgrpo-step-right', undefined],
      [6, 11, 'mgrpo-step-wrong', '  ✗ first wrong step'],
      [12, 17, 'mgrpo-step-right', undefined],
    ]);
  });

  it('shows estimated step values beside the checks, and names the likely error by value', () => {
    const layer1 = fixtureRecord('s000002-q000-l1-000'); // 3+5=8, 8*2=9 (first wrong), 9-7=2
    const fix = fixtureRecord('s000002-q000-l1-000-l2-000');
    const values: StepValues = {
      record_id: layer1.id, step: 2, checkpoint: 'checkpoints/step-000002', k: 4, seed: 0, temperature: 1,
      prefix_value: 0.75, values: [0.75, 0, 0], drops: [0, 0.75, 0], likely_error: 1, time: '2026-12-03T00:00:00Z',
    };
    const state = inspectorState('/runs/example', 'example', layer1, fix, [fix], { layer1: values, correction: null });
    assert.deepEqual(state.layer1.steps.map((s) => [s.value, s.likelyError]), [[0.75, false], [0, true], [0, false]]);
    assert.deepEqual(state.correction.steps.map((s) => s.value), [null, null, null]);
    const notes = annotations(state.layer1).filter((m) => m.kind === 'truth').map((m) => m.note);
    assert.deepEqual(notes, ['  value 0.75', '  ✗ first wrong step  value 0.00 ▼ likely error', '  value 0.00']);
    // A step the checker could not read still shows its value, without a gutter mark.
    const unlabelled = inspectorState('/r', 'r', { ...layer1, step_labels: null, first_wrong_step: null }, fix, [fix], { layer1: values, correction: null });
    const marks = annotations(unlabelled.layer1).filter((m) => m.kind === 'truth');
    assert.deepEqual(marks.map((m) => [m.gutterClassName, m.note]), [
      [undefined, '  value 0.75'], [undefined, '  value 0.00 ▼ likely error'], [undefined, '  value 0.00'],
    ]);
  });

  it('marks nothing for a step the checker could not read, or without labels', () => {
    // s000002-q001-l1-001's second line is <script>…</script>: unchecked, no gutter mark.
    const layer1 = fixtureRecord('s000002-q001-l1-001');
    const correction = fixtureRecord('s000002-q001-l1-001-l2-000');
    const state = inspectorState('/r', 'r', layer1, correction, [correction]);
    assert.deepEqual(state.layer1.steps.map((s) => s.truth), ['right', 'unchecked']);
    assert.deepEqual(annotations(state.layer1).filter((m) => m.kind === 'truth').map((m) => m.gutterClassName), ['mgrpo-step-right']);
    const unlabelled = inspectorState('/r', 'r', { ...layer1, step_labels: null, first_wrong_step: null }, correction, [correction]);
    assert.equal(annotations(unlabelled.layer1).some((m) => m.kind === 'truth'), false);
  });
});
