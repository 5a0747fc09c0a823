import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { parseTrainerVerdict } from '../../extension/src/model/answerVerifier';
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

  it('feeds stdin and hands stdout lines apart from the log', async () => {
    const log: string[] = [];
    const stdout: string[] = [];
    const exit = await runLogged({
      command: process.execPath,
      args: ['-e', "let t = ''; process.stdin.on('data', (d) => (t += d)); process.stdin.on('end', () => { console.error('log line'); process.stdout.write(t.toUpperCase()); })"],
      stdin: 'one\ntwo',
      onLine: (line) => log.push(line),
      onStdoutLine: (line) => stdout.push(line),
    });
    assert.equal(exit.code, 0);
    assert.deepEqual(stdout, ['ONE', 'TWO'], 'the last line without a line break arrives too');
    assert.deepEqual(log.sort(), ['ONE', 'TWO', 'log line'].sort());
  });

  it('runs the trainer\'s verify command as What If does: math-verify over stdin, one verdict a line', async function () {
    this.timeout(60_000);
    const root = path.resolve(__dirname, '../..');
    const python = path.join(root, '.venv', 'bin', 'python');
    const stdout: string[] = [];
    const items = [{ completion: 'Answer: 0.5', ground_truth: '\\frac{1}{2}' }, { completion: 'A: 3', ground_truth: '4' }];
    const exit = await runLogged({
      command: python, args: ['-m', 'mgrpo', 'verify', '--verifier', 'math'], env: { ...process.env, PYTHONPATH: path.join(root, 'trainer') },
      stdin: items.map((i) => `${JSON.stringify(i)}\n`).join(''), onLine: () => undefined, onStdoutLine: (line) => stdout.push(line),
    });
    assert.equal(exit.code, 0, exit.spawnError);
    assert.deepEqual(stdout.map(parseTrainerVerdict), [
      { reward: 1, correct: true, parsedAnswer: '0.5' },
      { reward: 0, correct: false, parsedAnswer: '3' },
    ]);
  });

  it('says why a command could not start', async () => {
    const exit = await runLogged({ command: 'mgrpo-no-such-command', args: [], onLine: () => undefined });
    assert.equal(exit.code, null);
    assert.match(exit.spawnError ?? '', /ENOENT/);
  });
});
