import { strict as assert } from 'node:assert';
import type { RolloutRecord } from '../../extension/src/format/types';
import { changedSteps, divergenceNote, firstDivergence, normalizeStepText } from '../../extension/src/model/divergence';
import { chainRecord, fixtureRecord } from './fixture';

/** A record whose steps are the given lines, followed by an answer line. */
function record(stepLines: string[], layer: 1 | 2 = 1): RolloutRecord {
  return chainRecord(stepLines, '0', layer);
}

describe('layer-1 / layer-2 divergence', () => {
  it('finds the first departing step in the fixture correction', () => {
    const wrong = fixtureRecord('s000001-q000-l1-001'); // 3+5=8, 8*2=9, 9-7=2
    const fixed = fixtureRecord('s000001-q000-l1-001-l2-000'); // 3+5=8, 8*2=6, 6-7=9
    assert.deepEqual(firstDivergence(wrong, fixed), { layer1Step: 1, layer2Step: 1 });
    assert.deepEqual([...changedSteps(wrong, fixed)], [1, 2]);
  });

  it('returns null and no changes when the steps agree, whatever the whitespace', () => {
    const a = record(['3+5 = 8', '8*2=16']);
    const b = record(['3+5  =  8 ', '\t8*2=16'], 2);
    assert.equal(normalizeStepText(' 3+5  =\t8 '), '3+5 = 8');
    assert.equal(firstDivergence(a, b), null);
    assert.deepEqual([...changedSteps(a, b)], []);
  });

  it('departs at the first differing position, even when later steps agree again', () => {
    const a = record(['x=1', 'y=2', 'z=3', 'w=4']);
    const b = record(['x=1', 'y=5', 'z=3', 'w=4'], 2);
    assert.deepEqual(firstDivergence(a, b), { layer1Step: 1, layer2Step: 1 });
    assert.deepEqual([...changedSteps(a, b)], [1]);
  });

  it('handles a correction that adds steps or stops early', () => {
    const short = record(['x=1', 'y=2']);
    const long = record(['x=1', 'y=2', 'check: y=2'], 2);
    assert.deepEqual(firstDivergence(short, long), { layer1Step: 1, layer2Step: 2 }, 'layer 1 has no step 2: its last step');
    assert.deepEqual([...changedSteps(short, long)], [2]);
    assert.deepEqual(firstDivergence(long, record(['x=1', 'y=2'], 2)), { layer1Step: 2, layer2Step: 1 });
    assert.deepEqual([...changedSteps(long, record(['x=1', 'y=2'], 2))], []);
    assert.deepEqual(firstDivergence(record([]), record(['x=1'], 2)), { layer1Step: 0, layer2Step: 0 });
  });

  it('names the divergence the same way on both sides', () => {
    assert.equal(divergenceNote(2), '  ← layer 2 departs from layer 1 here');
    assert.equal(divergenceNote(1), '  ← the correction departs from here');
  });
});
