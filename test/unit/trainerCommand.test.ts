// The trainer's command line as "Start MGRPO Run" spawns it (model/trainerCommand): one process runs
// `python -m mgrpo train` directly, several run it under torchrun with the same arguments.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { MAX_PROCESSES_PER_NODE, trainerCommandLine } from '../../extension/src/model/trainerCommand';
import { REPO_ROOT } from './fixture';

const TRAIN_TAIL = ['--run-dir', '/runs/demo 1', '--stop-on-stdin-close'];

describe('trainer command line', () => {
  it('runs python -m mgrpo train directly for one process, with a preset or a config file', () => {
    assert.deepEqual(trainerCommandLine({ python: '/venv/bin/python', source: { kind: 'preset', preset: 'demo' }, runDir: '/runs/demo 1', processesPerNode: 1 }),
      ['/venv/bin/python', '-m', 'mgrpo', 'train', '--preset', 'demo', ...TRAIN_TAIL]);
    assert.deepEqual(trainerCommandLine({ python: 'python3', source: { kind: 'config', file: '/w/a.mgrpo.json' }, runDir: '/runs/demo 1', processesPerNode: 1 }),
      ['python3', '-m', 'mgrpo', 'train', '--config', '/w/a.mgrpo.json', ...TRAIN_TAIL]);
  });

  it('launches N processes through torchrun on this node, the training arguments unchanged', () => {
    assert.deepEqual(trainerCommandLine({ python: '/venv/bin/python', source: { kind: 'config', file: '/w/a.mgrpo.json' }, runDir: '/runs/demo 1', processesPerNode: 8 }), [
      '/venv/bin/python', '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '8',
      '-m', 'mgrpo', 'train', '--config', '/w/a.mgrpo.json', ...TRAIN_TAIL,
    ]);
    const two = trainerCommandLine({ python: 'py', source: { kind: 'preset', preset: 'demo' }, runDir: '/runs/demo 1', processesPerNode: 2 });
    assert.deepEqual(two.slice(0, 6), ['py', '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2']);
  });

  it('refuses a process count that is not a whole number from 1 to the maximum, naming the setting', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, MAX_PROCESSES_PER_NODE + 1]) {
      assert.throws(() => trainerCommandLine({ python: 'py', source: { kind: 'preset', preset: 'demo' }, runDir: '/r', processesPerNode: bad }),
        /mgrpo\.processesPerNode must be a whole number from 1 to 64/);
    }
    assert.equal(trainerCommandLine({ python: 'py', source: { kind: 'preset', preset: 'demo' }, runDir: '/r', processesPerNode: MAX_PROCESSES_PER_NODE })[5], '64');
  });

  it('declares the setting as the command line reads it: default 1, the same maximum', () => {
    const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    const setting = manifest.contributes.configuration.properties['mgrpo.processesPerNode'];
    assert.deepEqual([setting.type, setting.default, setting.minimum, setting.maximum], ['integer', 1, 1, MAX_PROCESSES_PER_NODE]);
  });
});
