import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  CHECKPOINT_ALLOWANCE_MS, shutdownRungs, SignalLadder, STOP_MIN_WAIT_MS, stopRungs, stopWaitMs, type StopRung,
} from '../../extension/src/vscode/stopLadder';

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
});
