import './vscodeRuntime';
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { OWN_PROCESS_GROUP } from '../../extension/src/vscode/processTree';
import { TrainerProcess } from '../../extension/src/vscode/trainerProcess';
import { isAlive } from './processes';
import { REPO_ROOT, tempDir } from './fixture';

// TrainerProcess as "Start MGRPO Run" uses it, on a stand-in trainer: a "python" that runs a node
// script which starts a worker in a session of its own (as torchrun does), ignores SIGTERM, writes
// "pids" (its own and the worker's) in its working directory (the run folder), and on end of stdin
// writes "stdin-closed", kills its worker and exits (as --stop-on-stdin-close does).
const FAKE_TRAINER = `
const fs = require('node:fs');
const { spawn } = require('node:child_process');
const worker = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);"], { stdio: 'ignore', detached: true });
process.on('SIGTERM', () => {});
process.stdin.on('end', () => { fs.writeFileSync('stdin-closed', ''); worker.kill('SIGKILL'); process.exit(0); });
process.stdin.resume();
fs.writeFileSync('pids', process.pid + ' ' + worker.pid);
setInterval(() => {}, 1000);
`;

const silentLog = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


async function waitFor<T>(probe: () => T | undefined, withinMs: number, what: string): Promise<T> {
  const until = Date.now() + withinMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`no ${what} within ${withinMs} ms`);
    await sleep(50);
  }
}

(OWN_PROCESS_GROUP ? describe : describe.skip)('trainer process (POSIX: its own process group)', function () {
  this.timeout(30_000);
  let dir: string;
  let cleanup: () => Promise<void>;
  let python: string;
  const leftovers: number[] = [];

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('mgrpo-trainer-'));
    writeFileSync(path.join(dir, 'fake-trainer.js'), FAKE_TRAINER);
    python = path.join(dir, 'python');
    writeFileSync(python, `#!/bin/sh\nexec "${process.execPath}" "${path.join(dir, 'fake-trainer.js')}"\n`);
    chmodSync(python, 0o755);
  });
  afterEach(async () => {
    for (const pid of leftovers.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await cleanup();
  });

  const pids = (runDir: string): number[] | undefined => {
    const file = path.join(runDir, 'pids');
    return existsSync(file) ? readFileSync(file, 'utf8').split(' ').map(Number) : undefined;
  };

  it('shutdown\'s last rung kills the trainer and a worker in a session of its own', async () => {
    const trainer = new TrainerProcess({ python, extensionRoot: REPO_ROOT, runDir: dir, source: { kind: 'preset', preset: 'demo' } }, silentLog as never, 'test');
    try {
      const [main, worker] = await waitFor(() => pids(dir), 10_000, 'pids file');
      leftovers.push(main, worker);
      await trainer.terminate(600); // SIGTERM (ignored), a second at 300 ms, SIGKILL at 600 ms
      const exit = await trainer.exited;
      assert.equal(exit.signal, 'SIGKILL');
      await waitFor(() => (isAlive(worker) ? undefined : true), 3000, 'end of the worker');
      assert.ok(!existsSync(path.join(dir, 'stdin-closed')), 'it was killed, not stopped by its stdin');
    } finally {
      trainer.dispose();
    }
  });

  it('an extension host that dies (SIGKILL, no exit hook) still stops its detached trainer: stdin closes', async () => {
    // A host process that starts the trainer with the real TrainerProcess, then waits to be killed.
    const host = spawn(process.execPath, ['--import', 'tsx', '-e', `
      require('./test/unit/vscodeRuntime');
      const { TrainerProcess } = require('./extension/src/vscode/trainerProcess');
      const log = { info() {}, warn() {}, error() {}, debug() {} };
      new TrainerProcess({ python: ${JSON.stringify(python)}, extensionRoot: ${JSON.stringify(REPO_ROOT)}, runDir: ${JSON.stringify(dir)}, source: { kind: 'preset', preset: 'demo' } }, log, 'host');
      setInterval(() => {}, 1000);
    `], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    try {
      const [main, worker] = await waitFor(() => pids(dir), 20_000, 'pids file');
      leftovers.push(main, worker);
      host.kill('SIGKILL');
      await waitFor(() => (existsSync(path.join(dir, 'stdin-closed')) ? true : undefined), 5000, 'stdin-closed from the trainer');
      await waitFor(() => (isAlive(main) || isAlive(worker) ? undefined : true), 5000, 'end of the trainer and its worker');
    } finally {
      if (host.exitCode === null && host.signalCode === null) host.kill('SIGKILL');
    }
  });
});
