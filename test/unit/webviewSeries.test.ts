import { strict as assert } from 'node:assert';
import type { DashboardPoint } from '../../extension/src/webview/protocol';
import { chartSpecs } from '../../webview/src/dashboard/chartSpecs';
import { lowerBound, METRIC_KEYS, MetricsColumns } from '../../webview/src/dashboard/series';

function point(step: number, values: Partial<DashboardPoint> = {}): DashboardPoint {
  const empty = Object.fromEntries(METRIC_KEYS.map((k) => [k, null])) as Omit<DashboardPoint, 'step'>;
  return { ...empty, step, ...values };
}

describe('dashboard series: metrics as aligned columns', () => {
  it('appends points as columns aligned on the step', () => {
    const columns = new MetricsColumns();
    columns.reset([point(1, { accT1: 0.5, accT2: 0.75 }), point(2, { accT1: 0.75, accT2: 0.875 })]);
    columns.append([point(3, { accT1: 0.8 })]);
    assert.deepEqual(columns.aligned(['accT1', 'accT2']), [[1, 2, 3], [0.5, 0.75, 0.8], [0.75, 0.875, null]]);
    assert.equal(columns.length, 3);
    assert.equal(columns.latest('accT2'), 0.875, 'latest skips the trailing gap');
    assert.equal(columns.latest('rss'), null);
  });

  it('turns NaN and infinities into gaps', () => {
    const columns = new MetricsColumns();
    columns.append([point(1, { loss: Number.NaN, kl: Number.POSITIVE_INFINITY, tokensPerSecond: 900 })]);
    assert.deepEqual(columns.aligned(['loss', 'kl', 'tokensPerSecond']), [[1], [null], [null], [900]]);
  });

  it('cuts back to a resumed step: steps after the checkpoint are replaced, not duplicated', () => {
    const columns = new MetricsColumns();
    columns.append([1, 2, 3, 4, 5].map((s) => point(s, { loss: s })));
    // Resumed from the checkpoint at step 3: the trainer writes 4 and 5 again.
    columns.append([point(4, { loss: 40 }), point(5, { loss: 50 }), point(6, { loss: 60 })]);
    assert.deepEqual(columns.aligned(['loss']), [[1, 2, 3, 4, 5, 6], [1, 2, 3, 40, 50, 60]]);
  });

  it('reset replaces everything', () => {
    const columns = new MetricsColumns();
    columns.append([point(1), point(2)]);
    columns.reset([point(7, { cl: 1 })]);
    assert.deepEqual(columns.aligned(['cl']), [[7], [1]]);
  });

  // Speed is not asserted here (the machines are noisy): this checks that 20k one-step messages keep every step.
  it('appends thousands of steps one message at a time', () => {
    const columns = new MetricsColumns();
    for (let step = 1; step <= 20_000; step++) columns.append([point(step, { accT1: step / 20_000, loss: 1 / step })]);
    assert.equal(columns.length, 20_000);
    assert.equal(columns.column('accT1')[19_999], 1);
    assert.equal(columns.column('loss')[9_999], 1 / 10_000);
  });

  it('lowerBound finds the first index at or above a value', () => {
    assert.equal(lowerBound([1, 3, 5], 0), 0);
    assert.equal(lowerBound([1, 3, 5], 3), 1);
    assert.equal(lowerBound([1, 3, 5], 4), 2);
    assert.equal(lowerBound([1, 3, 5], 6), 3);
  });
});

describe('dashboard charts: what each chart draws', () => {
  it('charts every metric exactly once', () => {
    const charted = chartSpecs().flatMap((c) => c.series.map((s) => s.key)).sort();
    assert.deepEqual(charted, [...METRIC_KEYS].sort());
  });

  it('draws the self-correction table of MGRPO.md: accuracies, transitions, CL/CS/RSS', () => {
    const byId = new Map(chartSpecs().map((c) => [c.id, c.series.map((s) => s.key)]));
    assert.deepEqual(byId.get('accuracy'), ['accT1', 'accT2']);
    assert.deepEqual(byId.get('transitions'), ['deltaI2C', 'deltaC2I']);
    assert.deepEqual(byId.get('selfCorrection'), ['cl', 'cs', 'rss']);
    assert.deepEqual(byId.get('reward'), ['rewardLayer1', 'rewardLayer2']);
  });

  it('puts a series on the right axis only in a chart that has one', () => {
    for (const chart of chartSpecs()) {
      for (const series of chart.series) {
        if (series.scale === 'y2') assert.ok(chart.right, `${chart.id}.${series.key} is on y2 but the chart has no right axis`);
      }
      assert.match(chart.series[0].color, /^--vscode-/);
    }
  });
});
