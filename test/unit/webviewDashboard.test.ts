import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { MetricsLine, RunManifest } from '../../extension/src/format/types';
import { dashboardPoint, evalRow, MetricPresence, parseEvalResult, recentSecondsPerStep, runHeader } from '../../extension/src/vscode/panels/dashboardData';
import { FIXTURE_RUN } from './fixture';

function fixtureMetrics(): MetricsLine[] {
  return readFileSync(path.join(FIXTURE_RUN, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as MetricsLine);
}

function fixtureManifest(): RunManifest {
  return JSON.parse(readFileSync(path.join(FIXTURE_RUN, 'run.json'), 'utf8')) as RunManifest;
}

describe('dashboard data: metrics lines to chart points', () => {
  it('projects the fixture step 2 line to the charted values', () => {
    const point = dashboardPoint(fixtureMetrics()[1]);
    assert.deepEqual(point, {
      step: 2,
      accT1: 0.75,
      accT2: 0.875,
      deltaI2C: 0.125,
      deltaC2I: 0,
      cl: 1,
      cs: 0.5,
      // (0.875 - 0.75^2) / (2 * 0.75 * 0.25) = 0.3125 / 0.375
      rss: 0.3125 / 0.375,
      rewardLayer1: 0.75,
      rewardLayer2: 0.875,
      loss: 0.0246,
      kl: 0.0008,
      clipFraction: 0,
      tokensPerSecond: 950,
    });
  });

  it('charts a GRPO step (no correction table, no layer 2) with Acc@t1 from layer 1 and gaps elsewhere', () => {
    const line = { ...fixtureMetrics()[0], correction: null, layer2: null, kl: null };
    const point = dashboardPoint(line);
    assert.equal(point.accT1, 0.5);
    for (const key of ['accT2', 'deltaI2C', 'deltaC2I', 'cl', 'cs', 'rss', 'rewardLayer2', 'kl'] as const) {
      assert.equal(point[key], null, key);
    }
  });

  it('keeps an undefined RSS (Acc@t1 of 0 or 1) and a NaN as null, never a number', () => {
    const base = fixtureMetrics()[0];
    const line: MetricsLine = { ...base, correction: { ...base.correction!, acc_t1: 1, rss: null }, loss: Number.NaN };
    const point = dashboardPoint(line);
    assert.equal(point.rss, null);
    assert.equal(point.loss, null);
    assert.equal(point.accT1, 1);
  });
});

describe('dashboard data: evaluation files to table rows', () => {
  it('reads the fixture eval/step-000000.json', () => {
    const file = path.join(FIXTURE_RUN, 'eval', 'step-000000.json');
    const row = evalRow(parseEvalResult(JSON.parse(readFileSync(file, 'utf8')), file));
    assert.deepEqual(row, { step: 0, split: 'eval', n: 2, accT1: 0.5, accT2: 1, delta: 0.5, deltaI2C: 0.5, deltaC2I: 0, cl: 1, cs: 1, rss: 1.5 });
  });

  it('keeps null metrics null', () => {
    const row = evalRow(parseEvalResult({ step: 10, split: 'eval', n: 4, metrics: { n: 4, acc_t1: 1, acc_t2: 1, delta: 0, delta_i2c: 0, delta_c2i: 0, cl: 1, cs: null, rss: null } }, 'x.json'));
    assert.equal(row.cs, null);
    assert.equal(row.rss, null);
    assert.equal(row.accT2, 1);
  });

  it('names the file and the field of a bad evaluation', () => {
    assert.throws(() => parseEvalResult([], 'eval/step-000004.json'), /eval\/step-000004\.json: not a JSON object|eval\/step-000004\.json: "step"/);
    assert.throws(() => parseEvalResult({ step: 'four', metrics: {} }, 'eval/step-000004.json'), /eval\/step-000004\.json: "step" must be a non-negative integer/);
    assert.throws(() => parseEvalResult({ step: 4 }, 'e.json'), /e\.json: "metrics" must be an object/);
    assert.throws(
      () => parseEvalResult({ step: 4, metrics: { acc_t1: '50%', acc_t2: 1, delta: 0, delta_i2c: 0, delta_c2i: 0, cl: 1, cs: 1, rss: 1 } }, 'e.json'),
      /e\.json: "metrics\.acc_t1" must be a number or null, got "50%"/,
    );
  });
});

describe('dashboard data: the run header', () => {
  const line = (step: number, stepSeconds: number): MetricsLine => ({ ...fixtureMetrics()[0], step, step_seconds: stepSeconds });

  it('averages the pace over the last 10 steps', () => {
    const metrics = [line(1, 100), ...Array.from({ length: 10 }, (_, i) => line(i + 2, i < 5 ? 2 : 4))];
    // Steps 2..11: five at 2 s and five at 4 s; step 1 (100 s) is outside the window.
    assert.equal(recentSecondsPerStep(metrics), 3);
    assert.equal(recentSecondsPerStep([]), null);
  });

  it('gives a running run an ETA of steps left times the recent pace', () => {
    const manifest: RunManifest = { ...fixtureManifest(), status: 'running', total_steps: 50, completed_steps: 10 };
    const metrics = Array.from({ length: 10 }, (_, i) => line(i + 1, 1.5));
    const header = runHeader({ runDir: '/runs/a', name: 'a', manifest, metrics });
    assert.equal(header.status, 'running');
    assert.equal(header.step, 10);
    assert.equal(header.totalSteps, 50);
    assert.equal(header.secondsPerStep, 1.5);
    assert.equal(header.etaSeconds, 40 * 1.5);
  });

  it('has no ETA for a finished or paused run, and prefers the live trainer state to run.json', () => {
    const finished = runHeader({ runDir: FIXTURE_RUN, name: 'example', manifest: fixtureManifest(), metrics: fixtureMetrics() });
    assert.equal(finished.status, 'finished');
    assert.equal(finished.step, 2);
    assert.equal(finished.etaSeconds, null);
    assert.equal(finished.model, 'trainer/models/mgrpo-demo-tiny');
    const paused = runHeader({ runDir: '/r', name: 'r', manifest: { ...fixtureManifest(), status: 'running', total_steps: 9 }, metrics: fixtureMetrics(), liveState: 'paused' });
    assert.equal(paused.status, 'paused');
    assert.equal(paused.etaSeconds, null);
  });

  it('says why when there is no manifest', () => {
    const header = runHeader({ runDir: '/r', name: 'r', manifest: undefined, metrics: [], error: 'no run.json in /r' });
    assert.equal(header.status, 'unreadable');
    assert.equal(header.error, 'no run.json in /r');
    assert.equal(header.step, 0);
  });
});

describe('dashboard data: what an imported run does not record', () => {
  /** A metrics line as `python -m mgrpo import` writes one from verl: layer 1 only, no optimizer numbers or timings. */
  const verlLine = (step: number, extra: Partial<MetricsLine> = {}): MetricsLine => {
    const base = fixtureMetrics()[0];
    return {
      ...base, step, correction: null, layer2: null, loss: null, kl: null, clip_fraction: null, tokens_per_second: null,
      layer1: { ...base.layer1, accuracy: null, reward_mean: 0.6 }, ...extra,
    };
  };
  const verl: Pick<RunManifest, 'source'> = { source: { kind: 'verl', path: '/data/verl' } };

  it('names every chart series that is null at every step, "not recorded by <kind>"', () => {
    const presence = new MetricPresence();
    presence.reset([verlLine(1), verlLine(2)].map(dashboardPoint));
    assert.deepEqual(presence.unrecorded(verl), {
      accT1: 'not recorded by verl', accT2: 'not recorded by verl', deltaI2C: 'not recorded by verl', deltaC2I: 'not recorded by verl',
      cl: 'not recorded by verl', cs: 'not recorded by verl', rss: 'not recorded by verl', rewardLayer2: 'not recorded by verl',
      loss: 'not recorded by verl', kl: 'not recorded by verl', clipFraction: 'not recorded by verl', tokensPerSecond: 'not recorded by verl',
    });
  });

  it('a value at any step makes a series recorded; appended steps count as they come', () => {
    const presence = new MetricPresence();
    presence.reset([verlLine(1)].map(dashboardPoint));
    assert.equal(presence.unrecorded(verl).kl, 'not recorded by verl');
    presence.add([verlLine(2, { kl: 0.002, loss: Number.NaN })].map(dashboardPoint));
    const unrecorded = presence.unrecorded(verl);
    assert.equal(unrecorded.kl, undefined);
    assert.equal(unrecorded.loss, 'not recorded by verl'); // a NaN is no value
    assert.equal(unrecorded.rewardLayer1, undefined);
  });

  it('says nothing before the first step, nor for the trainer\'s own runs (their gaps are undefined values)', () => {
    const presence = new MetricPresence();
    presence.reset([]);
    assert.deepEqual(presence.unrecorded(verl), {});
    presence.reset([verlLine(1)].map(dashboardPoint));
    assert.deepEqual(presence.unrecorded(fixtureManifest()), {});
    assert.deepEqual(presence.unrecorded(undefined), {});
    // A resumed or rewritten run starts over.
    presence.reset([]);
    assert.deepEqual(presence.unrecorded(verl), {});
  });
});
