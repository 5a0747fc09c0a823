import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { RunReader } from '../../extension/src/format/runReader';
import type { StepValues } from '../../extension/src/format/types';
import { parseStepValues } from '../../extension/src/format/validate';
import { OnnxHost } from '../../extension/src/onnx/host';
import { LOCAL_BACKEND, estimateStepValuesLocally, matchesLocal, prefixSeed, stepPrefixes, valueDrops } from '../../extension/src/onnx/stepValues';
import { FIXTURE_RUN } from './fixture';

// The local backend of Estimate Step Values: the trainer's arithmetic (trainer/tests/test_step_values.py has the
// same hand cases), then real continuations of the shipped demo model through the ONNX runtime process.
const DEMO_EXPORT = path.resolve(__dirname, '../../trainer/models/mgrpo-demo-tiny/onnx');
const ENTRY = path.resolve(__dirname, '../../extension/src/onnx/runtimeProcess.ts');

describe('onnx: step values drawn locally', function () {
  this.timeout(120_000);

  it('cuts the completion after each step, keeping the line break', () => {
    const steps = [{ start: 0, end: 5 }, { start: 6, end: 11 }];
    assert.deepEqual(stepPrefixes('3+5=8\n8*2=6\nA: 6', steps), ['3+5=8\n', '3+5=8\n8*2=6\n']);
    assert.deepEqual(stepPrefixes('3+5=8', [{ start: 0, end: 5 }]), ['3+5=8\n']);
  });

  it('finds the largest drop by hand (the first on ties; none when nothing drops)', () => {
    assert.deepEqual(valueDrops(0.75, [0.5, 0, 0.25]), { drops: [0.25, 0.5, -0.25], likelyError: 1 });
    assert.deepEqual(valueDrops(0.5, [0.75, 1]), { drops: [-0.25, -0.25], likelyError: null });
    assert.deepEqual(valueDrops(1, [0.5, 0]), { drops: [0.5, 0.5], likelyError: 0 });
    assert.deepEqual(valueDrops(1, []), { drops: [], likelyError: null });
  });

  it('reuses an estimate only for the same backend, checkpoint and settings', () => {
    const settings = { k: 4, seed: 0, temperature: 1, topP: 1, maxCompletionLength: 64 };
    const line = { record_id: 'r', step: 1, checkpoint: 'checkpoints/step-000040', backend: LOCAL_BACKEND, k: 4, seed: 0, temperature: 1, max_completion_length: 64 } as StepValues;
    assert.ok(matchesLocal(line, 'checkpoints/step-000040', settings));
    assert.ok(!matchesLocal({ ...line, backend: 'pytorch' }, 'checkpoints/step-000040', settings));
    assert.ok(!matchesLocal({ ...line, backend: undefined }, 'checkpoints/step-000040', settings), 'absent means pytorch');
    assert.ok(!matchesLocal(line, 'checkpoints/step-000020', settings));
    assert.ok(!matchesLocal(line, 'checkpoints/step-000040', { ...settings, k: 8 }));
    assert.equal(prefixSeed(0, 'r', 1), prefixSeed(0, 'r', 1));
    assert.notEqual(prefixSeed(0, 'r', 1), prefixSeed(0, 'r', 2));
  });

  describe('with the demo model', () => {
    let host: OnnxHost;
    before(() => {
      host = new OnnxHost({ entry: ENTRY, execArgv: ['--import', 'tsx'], settings: { threads: 1, executionProvider: 'cpu' } });
    });
    after(() => host.dispose());

    it('is deterministic with a seed, valid by the schema, and falls to 0 after the wrong step', async () => {
      const reader = await RunReader.open(FIXTURE_RUN);
      const wrong = (await reader.findRecord('s000001-q000-l1-001'))!; // 3+5=8, 8*2=9 (wrong), 9-7=2; truth 9
      const settings = { k: 6, seed: 11, temperature: 1, topP: 1, maxCompletionLength: 40 };
      const progress: number[] = [];
      const first = await estimateStepValuesLocally(host, DEMO_EXPORT, wrong, settings, 'demo', undefined, (done) => progress.push(done));
      const again = await estimateStepValuesLocally(host, DEMO_EXPORT, wrong, settings, 'demo');
      assert.deepEqual({ ...first, time: '' }, { ...again, time: '' });
      assert.deepEqual(progress, [1, 2, 3, 4], 'the prompt alone, then one prefix per step');
      assert.deepEqual(parseStepValues(JSON.parse(JSON.stringify(first))), first);
      assert.equal(first.backend, LOCAL_BACKEND);
      assert.equal(first.values.length, 3);
      // After "8*2=9" the chain carries 9 and ends at 2: no continuation can reach 9 any more.
      assert.equal(first.values[1], 0);
      assert.equal(first.values[2], 0);
      assert.equal(first.likely_error, 1);
      assert.equal(first.drops[1], first.values[0]);
      const sound = (await reader.findRecord('s000001-q000-l1-000'))!;
      const soundValues = await estimateStepValuesLocally(host, DEMO_EXPORT, sound, settings, 'demo');
      assert.ok(soundValues.values[2] > 0.5, `a right chain keeps its value (got ${soundValues.values.join(', ')})`);
    });

    it('stops when cancelled', async () => {
      const reader = await RunReader.open(FIXTURE_RUN);
      const record = (await reader.findRecord('s000001-q000-l1-000'))!;
      const abort = new AbortController();
      abort.abort();
      await assert.rejects(estimateStepValuesLocally(host, DEMO_EXPORT, record, { k: 2, seed: 0, temperature: 1, topP: 1, maxCompletionLength: 8 }, 'demo', abort.signal));
    });
  });
});
