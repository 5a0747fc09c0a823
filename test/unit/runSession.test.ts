import './vscodeRuntime';
import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RunSession, type RunChange } from '../../extension/src/vscode/runSession';
import { copyFixtureRun } from './fixture';

/** Waits for the session's next change that satisfies `accept`, or fails after `timeoutMs`. */
function nextChange(session: RunSession, accept: (change: RunChange) => boolean, timeoutMs: number): Promise<RunChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      subscription.dispose();
      reject(new Error(`no matching change within ${timeoutMs} ms`));
    }, timeoutMs);
    const subscription = session.onDidChange((change) => {
      if (!accept(change)) return;
      clearTimeout(timer);
      subscription.dispose();
      resolve(change);
    });
  });
}

describe('run following (RunSession)', function () {
  this.timeout(10_000);
  let dir: string;
  let cleanup: () => Promise<void>;
  let session: RunSession;
  beforeEach(async () => {
    ({ dir, cleanup } = await copyFixtureRun());
    session = new RunSession(dir, 'runs-folder', () => ({}), () => undefined);
  });
  afterEach(async () => {
    session.dispose();
    await cleanup();
  });

  async function setManifest(change: Record<string, unknown>): Promise<void> {
    const file = path.join(dir, 'run.json');
    const manifest = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
    await fs.writeFile(file, JSON.stringify({ ...manifest, ...change }));
  }

  async function appendMetricsLine(step: number): Promise<void> {
    const file = path.join(dir, 'metrics.jsonl');
    const lines = (await fs.readFile(file, 'utf8')).trim().split('\n');
    const last = JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
    await fs.appendFile(file, `${JSON.stringify({ ...last, step })}\n`);
  }

  it('opens a finished run without following it', async () => {
    await session.open();
    assert.equal(session.status, 'finished');
    assert.equal(session.isGrowing, false);
    assert.ok(session.reader && session.reader.steps().length > 0);
    await appendMetricsLine(3);
    await assert.rejects(nextChange(session, () => true, 1500), /no matching change/, 'a finished run is not polled');
  });

  it('follows a finished run that is resumed from the command line once its run.json is rewritten', async () => {
    await session.open();
    // What `python -m mgrpo train --resume` does: run.json says running, with its live pid.
    await setManifest({ status: 'running', pid: process.pid });
    const changed = nextChange(session, (c) => c.manifestChanged, 3000);
    await session.manifestTouched();
    await changed;
    assert.equal(session.status, 'running');
    assert.equal(session.isGrowing, true);
    // Now polled once a second: an appended metrics line shows up without anyone asking.
    const before = session.reader!.metrics.length;
    const grew = nextChange(session, () => session.reader!.metrics.length > before, 3000);
    await appendMetricsLine(3);
    await grew;
    assert.equal(session.reader!.metrics.at(-1)!.step, 3);
  });

  it('reports a followed run whose folder disappeared', async () => {
    await setManifest({ status: 'running', pid: process.pid });
    await session.open();
    assert.equal(session.isGrowing, true);
    const gone = nextChange(session, (c) => c.gone === true, 3000);
    await fs.rm(dir, { recursive: true, force: true });
    const change = await gone;
    assert.equal(change.session, session);
    assert.equal(session.isGone, true);
  });

  it('does not call a run live whose run.json names a process that is gone', async () => {
    await setManifest({ status: 'running', pid: 2 ** 22 + 12345 });
    await session.open();
    assert.equal(session.endedWithoutStatus, true);
    assert.equal(session.isGrowing, false);
  });
});
