import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createRunDir, runFolderName } from '../../extension/src/vscode/runFolders';
import { tempDir } from './fixture';

describe('new run folders', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir('mgrpo-runs-')));
  afterEach(() => cleanup());

  it('are named after what they train and the local time, to the second', () => {
    assert.equal(runFolderName('demo', new Date(2026, 11, 3, 8, 4, 5)), 'demo-20261203-080405');
    assert.equal(runFolderName('my exp/../x', new Date(2026, 0, 1, 0, 0, 0)), 'my-exp-..-x-20260101-000000');
    assert.equal(runFolderName('..', new Date(2026, 0, 1, 0, 0, 0)), 'run-20260101-000000');
  });

  it('two starts in the same second get two folders', async () => {
    const runs = path.join(dir, 'nested', 'runs');
    const name = runFolderName('demo', new Date(2026, 11, 3, 8, 4, 5));
    const made = await Promise.all([createRunDir(runs, name), createRunDir(runs, name), createRunDir(runs, name)]);
    assert.equal(new Set(made).size, 3, made.join(', '));
    assert.deepEqual(made.map((m) => path.basename(m)).sort(), [name, `${name}-2`, `${name}-3`]);
    for (const m of made) assert.ok((await fs.stat(m)).isDirectory());
  });

  it('never reuses a folder that exists, even an empty one', async () => {
    await fs.mkdir(path.join(dir, 'demo-x'));
    assert.equal(await createRunDir(dir, 'demo-x'), path.join(dir, 'demo-x-2'));
  });

  it('says where when the runs folder cannot be created', async () => {
    const file = path.join(dir, 'a-file');
    await fs.writeFile(file, '');
    await assert.rejects(createRunDir(path.join(file, 'runs'), 'demo'), /ENOTDIR|EEXIST/);
  });
});
