import { strict as assert } from 'node:assert';
import { RunReader } from '../../extension/src/format/runReader';
import { compareAcrossSteps } from '../../extension/src/model/compare';
import { FIXTURE_RUN } from './fixture';

describe('Compare Across Steps', () => {
  it('collects one question at every step it was asked, layer 1 and layer 2 apart', async () => {
    const reader = await RunReader.open(FIXTURE_RUN);
    const steps = await compareAcrossSteps(reader, 'train-000017');
    assert.deepEqual(steps.map((s) => [s.step, s.layer1.map((r) => r.id), s.layer2.length]), [
      [1, ['s000001-q000-l1-000', 's000001-q000-l1-001'], 4],
      [2, ['s000002-q000-l1-000', 's000002-q000-l1-001'], 4],
    ]);
    // Training moved the first answers: sample 0 was right at step 1 and wrong at step 2.
    assert.deepEqual(steps.map((s) => s.layer1.map((r) => r.correct)), [[true, false], [false, true]]);
    assert.deepEqual(steps[0].layer2.map((r) => r.id), [
      's000001-q000-l1-000-l2-000', 's000001-q000-l1-000-l2-001', 's000001-q000-l1-001-l2-000', 's000001-q000-l1-001-l2-001',
    ]);
  });

  it('finds a question asked at one step only, and nothing for an unknown one', async () => {
    const reader = await RunReader.open(FIXTURE_RUN);
    assert.deepEqual((await compareAcrossSteps(reader, 'train-000101')).map((s) => s.step), [2]);
    assert.deepEqual(await compareAcrossSteps(reader, 'train-999999'), []);
    assert.deepEqual(await compareAcrossSteps(reader, 'train-0000'), [], 'a prefix of an id is not the id');
  });

  it('gives the same answer from the step indexes as from searching the files', async () => {
    const searched = await compareAcrossSteps(await RunReader.open(FIXTURE_RUN), 'train-000017');
    const reader = await RunReader.open(FIXTURE_RUN);
    await reader.buildIndexes();
    assert.deepEqual(reader.steps().map((s) => reader.isIndexed(s)), [true, true]);
    const indexed = await compareAcrossSteps(reader, 'train-000017');
    assert.deepEqual(indexed, searched);
    assert.equal(indexed.flatMap((s) => [...s.layer1, ...s.layer2]).length, 12);
  });
});
