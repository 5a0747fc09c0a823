import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OWN_PROCESS_GROUP } from '../../extension/src/vscode/processTree';
import {
  CHECKPOINT_ALLOWANCE_MS, shutdownRungs, SignalLadder, STOP_MIN_WAIT_MS, stopRungs, stopWaitMs, type StopRung,
} from '../../extension/src/vscode/stopLadder';
import { isAlive } from './processes';
import { REPO_ROOT } from './fixture';

// A real child that ignores SIGTERM (like a trainer stuck in a step) and counts the ones it got,
// printing "ready" once its handler is installed.
const IGNORES_SIGTERM = `
let terms = 0;
process.on('SIGTERM', () => { terms++; process.stdout.write('term ' + terms + '\\n'); });
process.stdout.write('ready\\n');
setInterval(() => {}, 1000);
`;
// A child that exits cleanly on the first SIGTERM (a trainer that checkpoints and stops).
const EXITS_ON_SIGTERM = `
process.on('SIGTERM', () => { process.stdout.write('bye\\n'); process.exit(0); });
process.stdout.write('ready\\n');
setInterval(() => {}, 1000);
`;

function start(script: string): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  child.stdout!.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: string) => {
      text += chunk;
      if (text.startsWith('ready\n')) resolve({ child, output: () => text });
    });
    child.once('error', reject);
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

const fast = (rungs: StopRung[]): StopRung[] => rungs.map((rung) => ({ ...rung, afterMs: 100 }));

describe('stop ladder', () => {
  describe('the first wait after "stop"', () => {
    it('covers twice the last step plus the checkpoint allowance', () => {
      assert.equal(stopWaitMs(100), 2 * 100_000 + CHECKPOINT_ALLOWANCE_MS);
      assert.equal(stopRungs(100)[0].afterMs, 230_000);
    });
    it('is never under the floor, and a missing or broken step_seconds counts as unknown', () => {
      assert.equal(stopWaitMs(1), STOP_MIN_WAIT_MS, 'fast steps: the floor');
      for (const broken of [undefined, Number.NaN, -5, Number.POSITIVE_INFINITY, 0]) {
        assert.equal(stopWaitMs(broken), STOP_MIN_WAIT_MS, String(broken));
      }
      assert.ok(stopRungs(Number.NaN).every((rung) => Number.isFinite(rung.afterMs) && rung.afterMs >= 1000), 'no rung fires at once (a NaN timeout fires after 1 ms)');
    });
    it('climbs SIGTERM, SIGTERM, SIGKILL; shutdown halves its grace period', () => {
      assert.deepEqual(stopRungs(1).map((r) => r.signal), ['SIGTERM', 'SIGTERM', 'SIGKILL']);
      assert.deepEqual(shutdownRungs(3000).map((r) => [r.afterMs, r.signal]), [[1500, 'SIGTERM'], [1500, 'SIGKILL']]);
      assert.deepEqual(shutdownRungs(Number.NaN).map((r) => r.afterMs), [0, 0]);
    });
  });

  describe('against a real process', function () {
    this.timeout(10_000);

    it('a process that ignores SIGTERM gets both SIGTERMs, then SIGKILL', async () => {
      const { child, output } = await start(IGNORES_SIGTERM);
      const fired: string[] = [];
      const ladder = new SignalLadder(child, (rung) => fired.push(rung.signal));
      ladder.climb(fast(stopRungs(1)));
      const exit = await exited(child);
      assert.equal(exit.signal, 'SIGKILL');
      assert.deepEqual(fired, ['SIGTERM', 'SIGTERM', 'SIGKILL']);
      assert.match(output(), /term 1\nterm 2\n/, 'the process saw both SIGTERMs before the SIGKILL');
    });

    it('stops climbing once the process exits', async () => {
      const { child, output } = await start(EXITS_ON_SIGTERM);
      const fired: string[] = [];
      new SignalLadder(child, (rung) => fired.push(rung.signal)).climb(fast(stopRungs(1)));
      const exit = await exited(child);
      assert.deepEqual(exit, { code: 0, signal: null });
      await new Promise((resolve) => setTimeout(resolve, 350));
      assert.deepEqual(fired, ['SIGTERM'], 'no rung after the exit');
      assert.match(output(), /bye/);
    });

    it('climbing again replaces the ladder in progress; cancel stops it', async () => {
      const { child } = await start(IGNORES_SIGTERM);
      const fired: string[] = [];
      const ladder = new SignalLadder(child, (rung) => fired.push(`${rung.signal}:${rung.message}`));
      ladder.climb([{ afterMs: 150, signal: 'SIGTERM', message: 'stop' }]);
      ladder.climb([{ afterMs: 50, signal: 'SIGKILL', message: 'shutdown' }]);
      const exit = await exited(child);
      assert.equal(exit.signal, 'SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(fired, ['SIGKILL:shutdown']);

      const second = await start(IGNORES_SIGTERM);
      const cancelled = new SignalLadder(second.child, () => assert.fail('a cancelled ladder fired'));
      cancelled.climb([{ afterMs: 50, signal: 'SIGKILL', message: 'never' }]);
      cancelled.cancel();
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(second.child.exitCode, null);
      second.child.kill('SIGKILL');
      await exited(second.child);
    });
  });

  // The trainer as the extension spawns it (detached: a process-group leader) with a helper in its group
  // and a worker in a session of its own, as torchrun starts its workers (start_new_session). Each ignores
  // SIGTERM; the leader prints "ready SAME OWN" once both run. EXIT_ON_TERM=1: the leader exits on SIGTERM.
  const TREE_LEADER = `
const { spawn } = require('node:child_process');
const sleeper = "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);";
const same = spawn(process.execPath, ['-e', sleeper], { stdio: 'ignore' });
const own = spawn(process.execPath, ['-e', sleeper], { stdio: 'ignore', detached: true });
process.on('SIGTERM', () => { if (process.env.EXIT_ON_TERM) process.exit(0); });
setTimeout(() => process.stdout.write('ready ' + same.pid + ' ' + own.pid + '\\n'), 300);
setInterval(() => {}, 1000);
`;

  async function allGone(pids: number[], withinMs = 3000): Promise<number[]> {
    const until = Date.now() + withinMs;
    for (;;) {
      const left = pids.filter(isAlive);
      if (!left.length || Date.now() > until) return left;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  function startTree(exitOnTerm: boolean): Promise<{ child: ChildProcess; same: number; own: number }> {
    const child = spawn(process.execPath, ['-e', TREE_LEADER], {
      stdio: ['pipe', 'pipe', 'inherit'], detached: OWN_PROCESS_GROUP, env: { ...process.env, EXIT_ON_TERM: exitOnTerm ? '1' : '' },
    });
    let text = '';
    child.stdout!.setEncoding('utf8');
    return new Promise((resolve, reject) => {
      child.stdout!.on('data', (chunk: string) => {
        text += chunk;
        const match = /^ready (\d+) (\d+)\n/.exec(text);
        if (match) resolve({ child, same: Number(match[1]), own: Number(match[2]) });
      });
      child.once('error', reject);
    });
  }

  (OWN_PROCESS_GROUP ? describe : describe.skip)('a trainer killed as a tree (POSIX)', function () {
    this.timeout(20_000);
    const leftovers: number[] = [];
    afterEach(() => {
      for (const pid of leftovers.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    });

    it('without the tree, a SIGKILLed leader leaves a worker in its own session running (the bug)', async () => {
      const { child, same, own } = await startTree(false);
      leftovers.push(same, own);
      new SignalLadder(child, () => undefined).climb([{ afterMs: 0, signal: 'SIGKILL', message: 'kill' }]);
      assert.equal((await exited(child)).signal, 'SIGKILL');
      assert.deepEqual(await allGone([own], 500), [own], 'the worker outlived its leader');
    });

    it('the ladder\'s SIGKILL rung ends the leader, its group and a worker in a session of its own', async () => {
      const { child, same, own } = await startTree(false);
      leftovers.push(same, own);
      const fired: string[] = [];
      new SignalLadder(child, (rung) => fired.push(rung.signal), { tree: true }).climb(fast(stopRungs(1)));
      assert.equal((await exited(child)).signal, 'SIGKILL');
      assert.deepEqual(fired, ['SIGTERM', 'SIGTERM', 'SIGKILL']);
      assert.deepEqual(await allGone([same, own]), [], 'no process of the tree is left');
    });

    it('a leader that exits on SIGTERM leaving its workers running: they are killed when it exits', async () => {
      const { child, same, own } = await startTree(true);
      leftovers.push(same, own);
      const swept: number[] = [];
      const fired: string[] = [];
      new SignalLadder(child, (rung) => fired.push(rung.signal), { tree: true, onSweep: (n) => swept.push(n) })
        .climb(fast(stopRungs(1)));
      assert.deepEqual(await exited(child), { code: 0, signal: null });
      assert.deepEqual(await allGone([same, own]), []);
      assert.deepEqual(fired, ['SIGTERM'], 'the SIGTERM went to the leader alone; no later rung');
      assert.deepEqual(swept, [2]);
    });

    // The real launcher: torchrun with 2 worker processes that sleep; the rung kills torchrun and both workers.
    const python = path.join(REPO_ROOT, '.venv', 'bin', 'python');
    (existsSync(python) ? it : it.skip)('kills torchrun and its two workers (python -m torch.distributed.run)', async function () {
      this.timeout(90_000);
      const folder = mkdtempSync(path.join(os.tmpdir(), 'mgrpo-torchrun-'));
      try {
        const script = path.join(folder, 'worker.py');
        writeFileSync(script, [
          'import os, pathlib, signal, sys, time',
          'signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a rank stuck in a collective',
          `pathlib.Path(sys.argv[1], f"{os.getpid()}.pid").write_text("")`,
          'time.sleep(600)',
        ].join('\n'));
        const child = spawn(python, ['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', script, folder], {
          stdio: ['pipe', 'ignore', 'ignore'], detached: OWN_PROCESS_GROUP, cwd: folder,
        });
        let workers: number[] = [];
        const until = Date.now() + 60_000;
        while (workers.length < 2 && Date.now() < until && child.exitCode === null) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          workers = readdirSync(folder).filter((name) => name.endsWith('.pid')).map((name) => Number.parseInt(name, 10));
        }
        leftovers.push(...workers);
        assert.equal(workers.length, 2, 'torchrun started two workers');
        new SignalLadder(child, () => undefined, { tree: true }).climb([{ afterMs: 0, signal: 'SIGKILL', message: 'kill' }]);
        assert.equal((await exited(child)).signal, 'SIGKILL');
        assert.deepEqual(await allGone(workers, 5000), [], 'both workers are gone with torchrun');
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    });
  });
});
