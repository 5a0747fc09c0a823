import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  defaultCandidates,
  expandPythonSetting,
  resolvePythonInterpreter,
  venvPython,
  workspaceVenvPythons,
  type InterpreterDeps,
} from '../../extension/src/model/interpreter';
import { canImportTorch, fileExists } from '../../extension/src/vscode/pythonProbe';
import { tempDir } from './fixture';

// Fake interpreters are real executables: shell scripts that succeed only when called as
// `python -c "import torch"`, fail as a Python without torch would, or hang.
const SCRIPTS = {
  withTorch: '#!/bin/sh\nif [ "$1" = "-c" ] && [ "$2" = "import torch" ]; then exit 0; fi\nexit 3\n',
  withoutTorch: '#!/bin/sh\necho "ModuleNotFoundError: No module named \'torch\'" >&2\nexit 1\n',
  hangs: '#!/bin/sh\necho $$ > "$0.pid"\nexec sleep 30\n',
};

describe('Python interpreter resolution', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let withTorch: string;
  let withoutTorch: string;
  let hangs: string;
  let missing: string;

  before(async () => {
    ({ dir, cleanup } = await tempDir('mgrpo-python-'));
    const write = async (name: string, text: string): Promise<string> => {
      const file = path.join(dir, name);
      await fs.writeFile(file, text, { mode: 0o755 });
      return file;
    };
    withTorch = await write('python-with-torch', SCRIPTS.withTorch);
    withoutTorch = await write('python-without-torch', SCRIPTS.withoutTorch);
    hangs = await write('python-hangs', SCRIPTS.hangs);
    missing = path.join(dir, 'venv-missing', 'bin', 'python');
  });
  after(() => cleanup());

  const deps = (over: Partial<InterpreterDeps>): InterpreterDeps => ({
    workspaceVenvs: [],
    candidates: [],
    canImportTorch: (python) => canImportTorch(python, { timeoutMs: 5000 }),
    exists: fileExists,
    ...over,
  });

  describe('canImportTorch (spawns the interpreter)', () => {
    it('is true when `python -c "import torch"` exits 0', async () => {
      assert.equal(await canImportTorch(withTorch), true);
    });
    it('is false when it exits non-zero or does not exist', async () => {
      assert.equal(await canImportTorch(withoutTorch), false);
      assert.equal(await canImportTorch(missing), false);
      assert.equal(await canImportTorch('mgrpo-no-such-python-on-path'), false);
    });
    it('is false when it hangs past the timeout, and kills it', async () => {
      const started = Date.now();
      assert.equal(await canImportTorch(hangs, { timeoutMs: 300 }), false);
      // The hang sleeps for far longer than this: an answer within it means the timeout fired.
      assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
      const pid = Number(await fs.readFile(`${hangs}.pid`, 'utf8'));
      const alive = (): boolean => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(alive(), false, `the hung interpreter ${pid} is still running`);
    });
    it('is false at once when cancelled, and kills the probe', async () => {
      const abort = new AbortController();
      const started = Date.now();
      const probe = canImportTorch(hangs, { timeoutMs: 20_000, signal: abort.signal });
      setTimeout(() => abort.abort(), 200);
      assert.equal(await probe, false);
      assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms: the probe waited for its 20 s timeout`);
      const aborted = new AbortController();
      aborted.abort();
      assert.equal(await canImportTorch(withTorch, { signal: aborted.signal }), false, 'an aborted signal starts nothing');
    });
  });

  it('uses the setting when it works', async () => {
    const result = await resolvePythonInterpreter(deps({ setting: withTorch, workspaceVenvs: [withoutTorch] }));
    assert.deepEqual(result, { python: withTorch, source: 'setting' });
  });

  it('reports a broken setting instead of quietly using another interpreter', async () => {
    const notFound = await resolvePythonInterpreter(deps({ setting: missing, workspaceVenvs: [withTorch] }));
    assert.ok('error' in notFound);
    assert.match(notFound.error, /mgrpo.pythonPath .* does not exist/);
    assert.deepEqual(notFound.tried, [`${missing} (setting mgrpo.pythonPath): not found`]);
    const noTorch = await resolvePythonInterpreter(deps({ setting: withoutTorch, workspaceVenvs: [withTorch] }));
    assert.ok('error' in noTorch);
    assert.match(noTorch.error, /cannot import torch/);
  });

  it('probes every candidate at once: a hanging first one does not hold up the others', async () => {
    // Counted, not timed: every probe must have started before the first one (the hang) answers.
    let inFlight = 0;
    let mostInFlight = 0;
    const result = await resolvePythonInterpreter(deps({
      canImportTorch: async (python) => {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        try {
          return await canImportTorch(python, { timeoutMs: 1500 });
        } finally {
          inFlight--;
        }
      },
      workspaceVenvs: [hangs],
      candidates: [withoutTorch, withTorch],
    }));
    assert.deepEqual(result, { python: withTorch, source: 'candidate' });
    assert.equal(mostInFlight, 3, 'the three candidates were probed side by side');
  });

  it('uses the created trainer environment before the Python extension and venvs', async () => {
    assert.deepEqual(
      await resolvePythonInterpreter(deps({ trainerEnvironment: withTorch, pythonExtensionPath: async () => withoutTorch, workspaceVenvs: [withoutTorch] })),
      { python: withTorch, source: 'trainer-environment' },
    );
    const gone = await resolvePythonInterpreter(deps({ trainerEnvironment: missing, workspaceVenvs: [withTorch] }));
    assert.deepEqual(gone, { python: withTorch, source: 'venv' });
  });

  it('then the Python extension, then workspace venvs, then candidates, in that order', async () => {
    assert.deepEqual(
      await resolvePythonInterpreter(deps({ pythonExtensionPath: async () => withTorch, workspaceVenvs: [withoutTorch], candidates: [withoutTorch] })),
      { python: withTorch, source: 'python-extension' },
    );
    const venv = await resolvePythonInterpreter(deps({ pythonExtensionPath: async () => withoutTorch, workspaceVenvs: [missing, withTorch], candidates: [] }));
    assert.deepEqual(venv, { python: withTorch, source: 'venv' });
    const candidate = await resolvePythonInterpreter(deps({ pythonExtensionPath: async () => undefined, workspaceVenvs: [missing], candidates: ['mgrpo-no-such-python-on-path', withTorch] }));
    assert.deepEqual(candidate, { python: withTorch, source: 'candidate' });
  });

  it('says exactly what it tried when nothing works', async () => {
    const result = await resolvePythonInterpreter(deps({
      pythonExtensionPath: async () => withoutTorch,
      workspaceVenvs: [missing, withoutTorch],
      candidates: ['mgrpo-no-such-python-on-path'],
    }));
    assert.ok('error' in result);
    assert.match(result.error, /No Python interpreter that can import torch was found/);
    assert.match(result.error, /Create Trainer Environment/);
    assert.deepEqual(result.tried, [
      `${withoutTorch} (the Python extension's interpreter): cannot import torch`,
      `${missing} (workspace virtual environment): not found`,
      'mgrpo-no-such-python-on-path (candidate): cannot import torch',
    ], 'the venv equal to the extension interpreter is not tried twice');
  });

  it('survives a failing Python extension lookup', async () => {
    const result = await resolvePythonInterpreter(deps({
      pythonExtensionPath: async () => {
        throw new Error('extension not activated');
      },
      workspaceVenvs: [withTorch],
    }));
    assert.deepEqual(result, { python: withTorch, source: 'venv' });
  });

  it('knows where virtual environments keep python on each platform', () => {
    assert.deepEqual(workspaceVenvPythons(['/ws'], 'linux'), ['/ws/.venv/bin/python', '/ws/venv/bin/python', '/ws/env/bin/python']);
    assert.equal(workspaceVenvPythons(['C:\\ws'], 'win32')[0], 'C:\\ws\\.venv\\Scripts\\python.exe');
    assert.deepEqual(defaultCandidates('linux').slice(0, 2), ['python3', 'python']);
    assert.equal(venvPython('/g/trainer-env', 'linux'), '/g/trainer-env/bin/python');
  });

  describe('the mgrpo.pythonPath setting as written', () => {
    it('takes a relative path against the first workspace folder', () => {
      assert.equal(expandPythonSetting('.venv/bin/python', '/ws', '/home/u', 'linux'), '/ws/.venv/bin/python');
      assert.equal(expandPythonSetting('./tools/../.venv/bin/python', '/ws', '/home/u', 'linux'), '/ws/.venv/bin/python');
    });
    it('expands ${workspaceFolder} and ~', () => {
      assert.equal(expandPythonSetting('${workspaceFolder}/.venv/bin/python', '/ws', '/home/u', 'linux'), '/ws/.venv/bin/python');
      assert.equal(expandPythonSetting('~/envs/t/bin/python', '/ws', '/home/u', 'linux'), '/home/u/envs/t/bin/python');
    });
    it('keeps bare commands for PATH lookup and absolute paths as they are', () => {
      assert.equal(expandPythonSetting('python3', '/ws', '/home/u', 'linux'), 'python3');
      assert.equal(expandPythonSetting(' /usr/bin/python3 ', undefined, '/home/u', 'linux'), '/usr/bin/python3');
      assert.equal(expandPythonSetting('', undefined, undefined, 'linux'), '');
    });
    it('says so when a relative path or ${workspaceFolder} has no folder to resolve against', () => {
      assert.throws(() => expandPythonSetting('.venv/bin/python', undefined, '/home/u', 'linux'), /relative, but no folder is open/);
      assert.throws(() => expandPythonSetting('${workspaceFolder}/.venv/bin/python', undefined, '/home/u', 'linux'), /no folder is open/);
    });
    it('resolves a relative setting that the lookup then runs', async () => {
      const relative = path.relative(dir, withTorch);
      const result = await resolvePythonInterpreter(deps({ setting: expandPythonSetting(`./${relative}`, dir, undefined) }));
      assert.deepEqual(result, { python: withTorch, source: 'setting' });
    });
  });
});
