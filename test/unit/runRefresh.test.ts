import { strict as assert } from 'node:assert';
import { RunReader } from '../../extension/src/format/runReader';
import type { MetricsLine, RunManifest } from '../../extension/src/format/types';
import {
  REFRESH_INTERVAL_MS, REFRESH_SETTLE_MS, refreshDelayMs, runRefreshPlan, runViewSignature, type RunViewReader,
} from '../../extension/src/model/runRefresh';
import { runNode, type RunNode } from '../../extension/src/model/runTree';
import { FIXTURE_RUN } from './fixture';

// The Runs view refreshes only what a change of a live run touched: the run (its row or its step
// list), else the steps whose rows changed or that are still being written, else nothing.

/** A live run as the view sees it: `steps` with files, `done` of them with a metrics line. */
function liveRun(base: { manifest: RunManifest; metrics: MetricsLine[] }, steps: number[], done: number, status: RunManifest['status'] = 'running') {
  const metrics = base.metrics.filter((m) => m.step <= done);
  const manifest: RunManifest = { ...base.manifest, status, completed_steps: done };
  const node: RunNode = { kind: 'run', id: '/runs/a', runDir: '/runs/a', manifest, lastMetrics: metrics[metrics.length - 1], malformedLines: 0 };
  const reader: RunViewReader = {
    steps: () => steps.slice(),
    metricsFor: (step: number) => metrics.find((m) => m.step === step),
    isStepComplete: (step: number) => step <= done || status !== 'running',
    generation: 0,
  };
  return { node, reader };
}

describe('Runs view refresh plan', () => {
  let base: { manifest: RunManifest; metrics: MetricsLine[] };
  before(async () => {
    const reader = await RunReader.open(FIXTURE_RUN);
    base = { manifest: reader.manifest, metrics: reader.metrics.slice() };
    assert.deepEqual(base.metrics.map((m) => m.step), [1, 2], 'the fixture has two steps');
  });

  const signature = (steps: number[], done: number, state = 'mgrpoRun.running', filtered = false, status: RunManifest['status'] = 'running') => {
    const { node, reader } = liveRun(base, steps, done, status);
    return runViewSignature(node, reader, state, filtered);
  };

  it('refreshes the run the first time, and nothing when nothing shown changed', () => {
    const now = signature([1], 1);
    assert.deepEqual(runRefreshPlan(undefined, now), { run: true, steps: [] });
    assert.deepEqual(runRefreshPlan(now, signature([1], 1)), { run: false, steps: [] }, 'a poll that found nothing new');
  });

  it('refreshes the run when a step is added or its row changes (progress, trainer state)', () => {
    assert.deepEqual(runRefreshPlan(signature([1], 1), signature([1, 2], 2)), { run: true, steps: [] }, 'a new step and its progress');
    assert.deepEqual(runRefreshPlan(signature([1, 2], 2), signature([1, 2], 2, 'mgrpoRun.paused')), { run: true, steps: [] }, 'paused');
    assert.deepEqual(runRefreshPlan(signature([1, 2], 2), signature([1, 2], 2, 'mgrpoRun.running', false, 'finished')), { run: true, steps: [] });
  });

  it('refreshes one step alone when only that step changed', () => {
    // Step 2's file is written but its metrics line not yet: the run row counts 1 done, and shows step 2 in progress.
    const growing = signature([1, 2], 1);
    assert.match(growing.steps.get(2)!, /in progress/);
    // The next poll: still in progress, nothing else changed. Its records may have grown, so step 2 alone.
    assert.deepEqual(runRefreshPlan(growing, signature([1, 2], 1)), { run: false, steps: [2] });
    // A finished run's steps are complete: the same poll refreshes nothing.
    const ended = signature([1, 2], 1, 'mgrpoRun.idle', false, 'failed');
    assert.deepEqual(runRefreshPlan(ended, signature([1, 2], 1, 'mgrpoRun.idle', false, 'failed')), { run: false, steps: [] });
    // A step whose row changed while the run's did not (its metrics arrived; run.json not rewritten yet and
    // the run row already counted it) is refreshed alone.
    const before = signature([1, 2], 2);
    const after = { ...before, steps: new Map(before.steps) };
    after.steps.set(1, `${before.steps.get(1)} changed`);
    assert.deepEqual(runRefreshPlan(before, after), { run: false, steps: [1] });
  });

  it('under a filter, any change refreshes the run (match counts are computed for its children)', () => {
    const growing = signature([1, 2], 1, 'mgrpoRun.running', true);
    assert.deepEqual(runRefreshPlan(growing, signature([1, 2], 1, 'mgrpoRun.running', true)), { run: true, steps: [] });
    const ended = signature([1, 2], 2, 'mgrpoRun.idle', true, 'finished');
    assert.deepEqual(runRefreshPlan(ended, signature([1, 2], 2, 'mgrpoRun.idle', true, 'finished')), { run: false, steps: [] });
  });

  it('refreshes a run at most once per interval, a burst after it settles', () => {
    assert.equal(refreshDelayMs(10_000, undefined), REFRESH_SETTLE_MS, 'first change: wait for the rest of the burst');
    assert.equal(refreshDelayMs(10_000, 10_000 - 100), REFRESH_INTERVAL_MS - 100, 'refreshed 100 ms ago: wait for the interval');
    assert.equal(refreshDelayMs(10_000, 10_000 - 5_000), REFRESH_SETTLE_MS, 'long ago: just the settle wait');
    assert.equal(refreshDelayMs(10_000, 10_000 - REFRESH_INTERVAL_MS + 10), REFRESH_SETTLE_MS, 'never under the settle wait');
  });
});
