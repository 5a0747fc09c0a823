import { strict as assert } from 'node:assert';
import { runLogged } from '../../extension/src/vscode/loggedProcess';

describe('a helper process run with its log (venv, pip)', function () {
  this.timeout(10_000);

  it('delivers stdout and stderr as lines, progress-bar redraws included, and the exit code', async () => {
    const lines: string[] = [];
    const exit = await runLogged({
      command: process.execPath,
      args: ['-e', "process.stdout.write('Collecting torch\\n 10%\\r 99%\\r'); process.stderr.write('warning: x\\n'); process.exit(3)"],
      onLine: (line) => lines.push(line),
    });
    assert.deepEqual(exit, { code: 3, signal: null, spawnError: undefined, cancelled: false });
    assert.deepEqual(lines.filter((l) => !l.startsWith('warning')), ['Collecting torch', ' 10%', ' 99%']);
    assert.ok(lines.includes('warning: x'));
  });

  it('stops the process when cancelled', async () => {
    const abort = new AbortController();
    const started = Date.now();
    const running = runLogged({ command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], signal: abort.signal, onLine: () => undefined });
    setTimeout(() => abort.abort(), 200);
    const exit = await running;
    assert.equal(exit.cancelled, true);
    assert.equal(exit.signal, 'SIGTERM');
    assert.ok(Date.now() - started < 15_000, "the process runs forever unless the cancel stopped it");
  });

  it('says why a command could not start', async () => {
    const exit = await runLogged({ command: 'mgrpo-no-such-command', args: [], onLine: () => undefined });
    assert.equal(exit.code, null);
    assert.match(exit.spawnError ?? '', /ENOENT/);
  });
});
