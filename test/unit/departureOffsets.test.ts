// Where layer 2's first departure falls against layer 1's first error, as a share of layer 1's
// chain (model/departureOffsets.ts): hand-computed shares and bins on hand-built chains, the
// histogram of the example run's corrections (hand-counted from its records), and the
// parametrised filters a dashboard bar opens in the Runs view.
import { strict as assert } from 'node:assert';
import { RunReader } from '../../extension/src/format/runReader';
import type { RolloutRecord, StepLabelValue } from '../../extension/src/format/types';
import {
  departureOffsetFilterId,
  findStepTruthFilter,
  firstErrorFilterId,
  offsetBin,
  relativeDeparture,
  tallyOffsets,
} from '../../extension/src/model/departureOffsets';
import { describeFilter, filterKey, matchesFilter } from '../../extension/src/model/filters';
import { matchingStepCounts } from '../../extension/src/model/runTree';
import { chainRecord, FIXTURE_RUN, fixtureRecords } from './fixture';

/** A record whose steps are the given lines, with the given labels and first wrong step. */
function chain(id: string, lines: string[], labels: StepLabelValue[], first: number | null, layer: 1 | 2 = 1, parentId: string | null = null, correct = false): RolloutRecord {
  return {
    ...chainRecord(lines, 'x', layer), id, parent_id: parentId, correct,
    step_labels: labels.map((label) => ({ label, source: 'checker' as const })), first_wrong_step: first,
  };
}

// Layer 1: four steps, the third (index 2) wrong.
const PARENT = chain('p', ['a=1', 'b=2', 'c=9', 'd=4'], ['right', 'right', 'wrong', 'right'], 2);
/** A correction of PARENT whose steps are the given lines. */
const fix = (id: string, lines: string[], correct = true) => chain(id, lines, lines.map(() => 'right'), null, 2, 'p', correct);

describe('departure offsets: relative positions', () => {
  it('places a departure one step before the error at 1/4 against 2/4 of a four-step chain', () => {
    // Keeps step 0, rewrites step 1: departure 1, error 2, chain 4.
    assert.deepEqual(relativeDeparture(PARENT, fix('c1', ['a=1', 'b=7', 'c=3', 'd=4'])), { chainLength: 4, departure: 0.25, firstError: 0.5, offset: -0.25, bin: -1 });
    // Rewrites step 0: 0/4 against 2/4, offset −0.5, the second bin before.
    assert.deepEqual(relativeDeparture(PARENT, fix('c0', ['a=5', 'b=2', 'c=3', 'd=4'])), { chainLength: 4, departure: 0, firstError: 0.5, offset: -0.5, bin: -2 });
    // Rewrites the wrong step itself: exact.
    assert.deepEqual(relativeDeparture(PARENT, fix('c2', ['a=1', 'b=2', 'c=3', 'd=4'])), { chainLength: 4, departure: 0.5, firstError: 0.5, offset: 0, bin: 0 });
    // Keeps the wrong step, rewrites the last: 3/4 against 2/4, offset +0.25, the first bin after.
    assert.deepEqual(relativeDeparture(PARENT, fix('c3', ['a=1', 'b=2', 'c=9', 'd=5'])), { chainLength: 4, departure: 0.75, firstError: 0.5, offset: 0.25, bin: 1 });
    // Keeps all four steps and adds a fifth: departure 4 (past the last), offset +0.5.
    assert.equal(relativeDeparture(PARENT, fix('c4', ['a=1', 'b=2', 'c=9', 'd=4', 'e=5']))?.bin, 2);
  });

  it('bins by quarters of the chain in integers: ceil(4·|d − e| / L), 0 only when exact', () => {
    // Three-step chain, one step before: 1/3 is past 1/4, so the second bin.
    assert.equal(offsetBin(-1, 3), -2);
    assert.equal(offsetBin(-1, 4), -1, '1/4 is the first bin’s outer edge, inside it');
    assert.equal(offsetBin(2, 4), 2);
    assert.equal(offsetBin(3, 4), 3);
    assert.equal(offsetBin(4, 4), 4);
    assert.equal(offsetBin(1, 8), 1, '1/8');
    assert.equal(offsetBin(3, 8), 2, '3/8');
    assert.equal(offsetBin(0, 5), 0);
    // A missing step at the end of a two-step chain, added by the correction: exact (2 − 2).
    const short = chain('s', ['a=1', 'b=2'], ['right', 'right'], 2);
    const completed = chain('sc', ['a=1', 'b=2', 'c=3'], ['right', 'right', 'right'], null, 2, 's', true);
    assert.deepEqual(relativeDeparture(short, completed), { chainLength: 2, departure: 1, firstError: 1, offset: 0, bin: 0 });
  });

  it('places nothing without a first error, a departure or labels', () => {
    const sound = chain('q', ['a=1', 'b=2'], ['right', 'right'], null);
    assert.equal(relativeDeparture(sound, chain('qc', ['a=3', 'b=2'], ['right', 'right'], null, 2, 'q')), null, 'no error');
    assert.equal(relativeDeparture(PARENT, fix('same', ['a=1', 'b=2', 'c=9', 'd=4'])), null, 'no departure');
    assert.equal(relativeDeparture({ ...PARENT, step_labels: null }, fix('c1', ['a=1', 'b=7'])), null, 'no labels');
  });
});

describe('departure offsets: the example run', () => {
  // Its corrections against a first error (every parent's first error is step index 1):
  // s000001-q000-l1-001: 3 steps; l2-000 departs at 1 (exact, i->c), l2-001 at 0 (−1/3: bin −2).
  // s000001-q001-l1-000: 4 steps; l2-000 at 1 (exact, i->c), l2-001 at 0 (−1/4: bin −1).
  // s000002-q000-l1-000: 3 steps; l2-000 at 1 (exact, i->c), l2-001 at 0 (bin −2).
  it('counts the hand-placed corrections per bin, i->c and all', () => {
    const counts = tallyOffsets(fixtureRecords());
    assert.deepEqual(counts.i2c, [0, 0, 0, 0, 3, 0, 0, 0, 0]);
    assert.deepEqual(counts.all, [0, 0, 2, 1, 3, 0, 0, 0, 0]);
    // As many as the metrics' exact + before + after over both steps (3 + 3 + 0).
    assert.equal(counts.all.reduce((a, b) => a + b, 0), 6);
  });

  it('ignores a correction whose parent is not among the records', () => {
    const records = fixtureRecords().filter((r) => r.id !== 's000001-q001-l1-000');
    assert.deepEqual(tallyOffsets(records).all, [0, 0, 2, 0, 2, 0, 0, 0, 0]);
  });
});

describe('departure offsets: the filters a dashboard bar opens', () => {
  const records = fixtureRecords();
  const byId = new Map(records.map((r) => [r.id, r]));
  const matching = (id: string) => records.filter((r) => matchesFilter(r, { stepTruth: id }, r.parent_id ? byId.get(r.parent_id) : undefined)).map((r) => r.id);

  it('"first wrong at step k" keeps one layer’s samples with that first wrong step', () => {
    assert.equal(firstErrorFilterId(1, 1), 'first-error:l1:1');
    // metrics.jsonl: t1 first_error_counts [0, 2] and [0, 1]; t2 [2] and [2].
    assert.deepEqual(matching('first-error:l1:1'), ['s000001-q000-l1-001', 's000001-q001-l1-000', 's000002-q000-l1-000']);
    assert.deepEqual(matching('first-error:l2:0'), ['s000001-q000-l1-001-l2-001', 's000001-q001-l1-000-l2-001', 's000002-q000-l1-000-l2-001', 's000002-q000-l1-001-l2-001']);
    assert.deepEqual(matching('first-error:l1:0'), []);
    assert.equal(describeFilter({ stepTruth: 'first-error:l1:1' }), 'First answers first wrong at step 2');
    assert.equal(describeFilter({ stepTruth: 'first-error:l2:0' }), 'Corrections first wrong at step 1');
  });

  it('an offset bin keeps the corrections placed in it, i->c or all', () => {
    assert.equal(departureOffsetFilterId('all', -2), 'departure-offset:all:-2');
    assert.deepEqual(matching('departure-offset:all:-2'), ['s000001-q000-l1-001-l2-001', 's000002-q000-l1-000-l2-001']);
    assert.deepEqual(matching('departure-offset:all:-1'), ['s000001-q001-l1-000-l2-001']);
    assert.deepEqual(matching('departure-offset:i2c:0'), ['s000001-q000-l1-001-l2-000', 's000001-q001-l1-000-l2-000', 's000002-q000-l1-000-l2-000']);
    assert.deepEqual(matching('departure-offset:i2c:-2'), [], 'the corrections before the error stayed wrong');
    assert.equal(describeFilter({ stepTruth: 'departure-offset:all:-2' }), 'Corrections departing 25–50% of layer 1’s chain before its first wrong step');
    assert.equal(describeFilter({ stepTruth: 'departure-offset:i2c:1' }), 'i->c corrections departing up to 25% of layer 1’s chain after its first wrong step');
    assert.equal(describeFilter({ stepTruth: 'departure-offset:i2c:0' }), 'i->c corrections departing exactly at layer 1’s first wrong step');
    assert.notEqual(filterKey({ stepTruth: 'departure-offset:all:-2' }), filterKey({ stepTruth: 'departure-offset:all:2' }));
  });

  it('knows no malformed or out-of-range id', () => {
    for (const id of ['first-error:l3:0', 'first-error:l1:-1', 'first-error:l1:01', 'first-error:l1:', 'departure-offset:all:5', 'departure-offset:all:-0', 'departure-offset:some:1', 'departure-offset:all:1.5']) {
      assert.equal(findStepTruthFilter(id), undefined, id);
    }
    assert.equal(findStepTruthFilter('flawed-chain')?.label, 'Right answer, flawed chain', 'the fixed filters still resolve');
  });

  it('the Runs view lists the steps holding a bar’s samples', async () => {
    const reader = await RunReader.open(FIXTURE_RUN);
    // The three first answers first wrong at step 2: two at training step 1, one at step 2.
    assert.deepEqual([...(await matchingStepCounts(reader, { stepTruth: 'first-error:l1:1' }))], [[1, 2], [2, 1]]);
    assert.deepEqual([...(await matchingStepCounts(reader, { stepTruth: 'departure-offset:all:-1' }))], [[1, 1]]);
  });
});
