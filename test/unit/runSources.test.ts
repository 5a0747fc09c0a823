import { strict as assert } from 'node:assert';
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { detectSourceKinds, importArgs, importsToResume, parseGroupSize, worthListing } from '../../extension/src/model/runSources';

const SOURCES = path.join(__dirname, '..', '..', 'trainer', 'tests', 'fixtures', 'sources');

/** Relative paths under `root`, descending only where worthListing says (as the extension's listing does). */
function listing(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(root, rel))) {
    const child = rel ? `${rel}/${name}` : name;
    if (statSync(path.join(root, child)).isDirectory()) {
      if (worthListing(child)) out.push(...listing(root, child));
    } else {
      out.push(child);
    }
  }
  return out;
}

describe('run sources: which trainer wrote a folder', () => {
  it('recognises the importers\' sample folders', () => {
    assert.deepEqual(detectSourceKinds(listing(path.join(SOURCES, 'verl'))), ['verl']);
    assert.deepEqual(detectSourceKinds(listing(path.join(SOURCES, 'nemo-rl'))), ['nemo-rl']);
    assert.deepEqual(detectSourceKinds(listing(path.join(SOURCES, 'prime-rl'))), ['prime-rl']);
    // prime-rl's rollouts/ folder picked directly: step_N/train/... at its top.
    assert.deepEqual(detectSourceKinds(listing(path.join(SOURCES, 'prime-rl', 'rollouts'))), ['prime-rl']);
    // The folders laid out as the upstream writers lay them out (their READMEs say which commits).
    assert.deepEqual(detectSourceKinds(listing(path.join(SOURCES, 'nemo-rl-upstream'))), ['nemo-rl']);
    assert.deepEqual(detectSourceKinds(listing(path.join(SOURCES, 'prime-rl-upstream'))), ['prime-rl']);
  });

  it('verl: {step}.jsonl at the top only', () => {
    assert.deepEqual(detectSourceKinds(['1.jsonl', '12.jsonl']), ['verl']);
    assert.deepEqual(detectSourceKinds(['sub/1.jsonl', 'a1.jsonl', '1.json', '1.jsonl.tmp']), []);
  });

  it('TRL: completions/completions_N.parquet, or the completions folder itself', () => {
    assert.deepEqual(detectSourceKinds(['completions/completions_00001.parquet', 'config.json']), ['trl']);
    assert.deepEqual(detectSourceKinds(['completions_00001.parquet'], 'completions'), ['trl']);
    assert.deepEqual(detectSourceKinds(['completions_00001.parquet'], 'out'), []);
    assert.deepEqual(detectSourceKinds(['x/completions/completions_00001.parquet', 'completions/completions_1.csv']), []);
  });

  it('NeMo-RL: train_data_stepN.jsonl (validation files alone are not a training run)', () => {
    assert.deepEqual(detectSourceKinds(['train_data_step3.jsonl', 'val_data_step3.jsonl']), ['nemo-rl']);
    assert.deepEqual(detectSourceKinds(['val_data_step3.jsonl']), []);
  });

  it('prime-rl: rollouts/step_N/train/**/traces.jsonl or step_N/train/... ; eval traces alone are not', () => {
    assert.deepEqual(detectSourceKinds(['rollouts/step_4/train/math/traces.jsonl']), ['prime-rl']);
    // prime-rl 559b447 (src/prime_rl/monitors/file.py): train/{all|effective}/traces.jsonl, no environment folder.
    assert.deepEqual(detectSourceKinds(['rollouts/step_1/train/all/traces.jsonl', 'rollouts/step_1/train/effective/traces.jsonl']), ['prime-rl']);
    assert.ok(worthListing('rollouts/step_1/train/effective'));
    assert.deepEqual(detectSourceKinds(['step_4/train/traces.jsonl']), ['prime-rl']);
    assert.deepEqual(detectSourceKinds(['rollouts/step_4/eval/math/traces.jsonl', 'rollouts/step_x/train/traces.jsonl']), []);
  });

  it('several kinds in one folder: all of them, in a fixed order, for the user to choose', () => {
    assert.deepEqual(detectSourceKinds(['train_data_step1.jsonl', '3.jsonl', 'completions/completions_00003.parquet']), ['verl', 'trl', 'nemo-rl']);
    assert.deepEqual(detectSourceKinds([]), []);
    assert.deepEqual(detectSourceKinds(['', '/', './1.jsonl']), ['verl']);
  });

  it('lists only folders that can hold what it looks for', () => {
    assert.equal(worthListing(''), true);
    assert.equal(worthListing('completions'), true);
    assert.equal(worthListing('completions/deep'), false);
    assert.equal(worthListing('rollouts'), true);
    assert.equal(worthListing('rollouts/step_3'), true);
    assert.equal(worthListing('rollouts/step_3/train/math'), true);
    assert.equal(worthListing('rollouts/step_3/eval'), false);
    assert.equal(worthListing('node_modules'), false);
    assert.equal(worthListing('checkpoints/global_step_10'), false);
  });

  it('builds the import command line and checks the group size', () => {
    assert.deepEqual(importArgs('/src', '/out', 'verl'), ['import', '/src', '--to', '/out', '--from', 'verl', '--follow']);
    assert.deepEqual(importArgs('/src', '/out', 'trl', { groupSize: 8 }), ['import', '/src', '--to', '/out', '--from', 'trl', '--follow', '--group-size', '8']);
    assert.throws(() => importArgs('/src', '/out', 'trl', { groupSize: 0 }), /positive integer/);
    // A tokenizer goes to the kinds whose files hold token ids, and only to them.
    assert.deepEqual(importArgs('/src', '/out', 'prime-rl', { tokenizer: '/tok' }), ['import', '/src', '--to', '/out', '--from', 'prime-rl', '--follow', '--tokenizer', '/tok']);
    assert.deepEqual(importArgs('/src', '/out', 'nemo-rl', { tokenizer: '/tok' }).slice(-2), ['--tokenizer', '/tok']);
    assert.deepEqual(importArgs('/src', '/out', 'verl', { tokenizer: '/tok' }), ['import', '/src', '--to', '/out', '--from', 'verl', '--follow']);
    assert.equal(parseGroupSize(' 8 '), 8);
    assert.equal(typeof parseGroupSize('0'), 'string');
    assert.equal(typeof parseGroupSize('2.5'), 'string');
    assert.equal(typeof parseGroupSize('-3'), 'string');
  });
});

describe('run sources: imports restarted after a window reload', () => {
  const imports = path.resolve('/storage/imports');
  const run = (hash: string, source?: { kind: string; path?: string }) => ({ runDir: path.join(imports, hash), manifest: source ? { source } : {} });

  it('restarts the imports in the view from run.json source, with the TRL group size remembered', () => {
    const resumed = importsToResume(
      [run('aa', { kind: 'verl', path: '/data/verl-rollouts' }), run('bb', { kind: 'trl', path: '/out/trl' })],
      imports,
      { [path.join(imports, 'bb')]: 8 },
    );
    assert.deepEqual(resumed, [
      { runDir: path.join(imports, 'aa'), sourceDir: '/data/verl-rollouts', kind: 'verl' },
      { runDir: path.join(imports, 'bb'), sourceDir: '/out/trl', kind: 'trl', groupSize: 8 },
    ]);
    // The command line of each is the one Open Run Folder... ran.
    assert.deepEqual(importArgs(resumed[1].sourceDir, resumed[1].runDir, resumed[1].kind, { groupSize: resumed[1].groupSize }),
      ['import', '/out/trl', '--to', path.join(imports, 'bb'), '--from', 'trl', '--follow', '--group-size', '8']);
  });

  it('leaves alone runs that are not its imports, runs without a readable source, and the TRL recorder', () => {
    const resumed = importsToResume([
      { runDir: '/work/runs/mine', manifest: { source: { kind: 'verl', path: '/data/v' } } }, // imported by hand elsewhere
      { runDir: path.join(imports, 'deep', 'x'), manifest: { source: { kind: 'verl', path: '/data/v' } } }, // not directly in imports/
      run('own'), // the trainer's own run: no source
      { runDir: path.join(imports, 'unread'), manifest: undefined }, // run.json unreadable
      run('live', { kind: 'trl-live', path: '/out/live' }),
      run('nopath', { kind: 'nemo-rl' }),
      run('blank', { kind: 'prime-rl', path: ' ' }),
      run('ok', { kind: 'nemo-rl', path: '/logs/nemo' }),
    ], imports, {});
    assert.deepEqual(resumed, [{ runDir: path.join(imports, 'ok'), sourceDir: '/logs/nemo', kind: 'nemo-rl' }]);
  });

  it('ignores a remembered group size that is not a positive integer, and one for a source that is not TRL', () => {
    const resumed = importsToResume([run('t', { kind: 'trl', path: '/t' }), run('v', { kind: 'verl', path: '/v' })], imports,
      { [path.join(imports, 't')]: 0, [path.join(imports, 'v')]: 4 });
    assert.deepEqual(resumed.map((r) => r.groupSize), [undefined, undefined]);
    assert.deepEqual(importsToResume([run('t', { kind: 'trl', path: '/t' })], imports, { [path.join(imports, 't')]: '8' })[0].groupSize, undefined);
  });
});
