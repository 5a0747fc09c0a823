// The dashboard's step-truth section: the host's summary of metrics.jsonl (hand-counted from the
// example run), the bar and line geometry the webview draws (hand-computed coordinates), and the
// checks on the webview's request to open the samples behind a bar.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { MetricsLine } from '../../extension/src/format/types';
import { outcomeCounts, stepTruthSummary } from '../../extension/src/vscode/panels/stepTruthData';
import { parseWebviewMessage, type StepTruthPoint } from '../../extension/src/webview/protocol';
import { groupedBars, MAX_OUTCOME_STEPS, outcomeBars, rateLine } from '../../webview/src/dashboard/stepTruthLayout';
import { FIXTURE_RUN } from './fixture';

function fixtureMetrics(): MetricsLine[] {
  return readFileSync(path.join(FIXTURE_RUN, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as MetricsLine);
}

describe('dashboard step truth: the summary of metrics.jsonl', () => {
  it('counts corrections by outcome from the correction table, as the fixture’s records have them', () => {
    // Step 1: n 8, Acc@t1 0.5, Δi→c 0.25, Δc→i 0 -> 2 i->c, 0 c->i, 4 - 0 c->c, 8 - 4 - 2 i->i.
    assert.deepEqual(outcomeCounts(fixtureMetrics()[0]), { 'i->c': 2, 'c->i': 0, 'c->c': 4, 'i->i': 2 });
    // Step 2: n 8, Acc@t1 0.75, Δi→c 0.125 -> 1 i->c, 6 c->c, 1 i->i.
    assert.deepEqual(outcomeCounts(fixtureMetrics()[1]), { 'i->c': 1, 'c->i': 0, 'c->c': 6, 'i->i': 1 });
    assert.equal(outcomeCounts({ ...fixtureMetrics()[0], correction: null }), null, 'a GRPO step has no corrections');
    const broken = { ...fixtureMetrics()[0], correction: { ...fixtureMetrics()[0].correction!, delta_i2c: 0.9 } };
    assert.equal(outcomeCounts(broken), null, 'rates that give a negative count are not drawn');
  });

  it('sums first errors and departures over steps and keeps the flawed-chain rates per step', () => {
    const summary = stepTruthSummary(fixtureMetrics());
    assert.equal(summary.hasLabels, true);
    assert.deepEqual(summary.points.map((p) => [p.step, p.flawedT1, p.flawedT2]), [[1, 0, 0], [2, 0, 1 / 7]]);
    // t1 first_error_counts [0, 2] + [0, 1]; t2 [2] + [2].
    assert.deepEqual(summary.firstErrorT1, [0, 3]);
    assert.deepEqual(summary.firstErrorT2, [4]);
    assert.deepEqual(summary.departures.i2c, { n: 3, exact: 3, before: 0, after: 0, noDeparture: 0, noError: 0 });
    assert.deepEqual(summary.departures.all, { n: 16, exact: 3, before: 3, after: 0, noDeparture: 0, noError: 10 });
  });

  it('says when no step carries step truth (a task without a checker)', () => {
    const summary = stepTruthSummary(fixtureMetrics().map((m) => ({ ...m, step_truth: null })));
    assert.equal(summary.hasLabels, false);
    assert.deepEqual(summary.points.map((p) => p.flawedT2), [null, null]);
    assert.deepEqual(summary.points[0].outcomes, { 'i->c': 2, 'c->i': 0, 'c->c': 4, 'i->i': 2 });
  });
});

describe('dashboard step truth: chart geometry', () => {
  const box = { left: 0, top: 0, width: 100, height: 80 };

  it('stacks each step’s outcomes from the axis up on one scale', () => {
    const { bars, maxTotal, shownSteps } = outcomeBars(stepTruthSummary(fixtureMetrics()).points, box);
    assert.equal(maxTotal, 8);
    assert.equal(shownSteps, 2);
    // Two slots of 50, bars 40 wide; 8 corrections = 80 px, so one correction is 10 px.
    assert.deepEqual(bars.map((b) => [b.step, b.key, b.x, b.y, b.width, b.height]), [
      [1, 'i->c', 5, 60, 40, 20], [1, 'c->c', 5, 20, 40, 40], [1, 'i->i', 5, 0, 40, 20],
      [2, 'i->c', 55, 70, 40, 10], [2, 'c->c', 55, 10, 40, 60], [2, 'i->i', 55, 0, 40, 10],
    ]);
  });

  it('draws only the last MAX_OUTCOME_STEPS steps', () => {
    const points: StepTruthPoint[] = Array.from({ length: MAX_OUTCOME_STEPS + 5 }, (_, i) => ({ step: i + 1, outcomes: { 'i->c': 1, 'c->i': 0, 'c->c': 0, 'i->i': 0 }, flawedT1: null, flawedT2: null }));
    const { bars, shownSteps } = outcomeBars(points, box);
    assert.equal(shownSteps, MAX_OUTCOME_STEPS);
    assert.equal(bars[0].step, 6);
  });

  it('groups bars per category on the largest count', () => {
    const { bars, maxCount } = groupedBars(['a', 'b'], [{ key: 's', counts: [1, 3] }, { key: 't', counts: [2, 0] }], { left: 0, top: 0, width: 100, height: 60 });
    assert.equal(maxCount, 3);
    assert.deepEqual(bars.map((b) => [b.key, b.x, b.y, b.width, b.height]), [
      ['s:a', 5, 40, 20, 20], ['t:a', 25, 20, 20, 40], ['s:b', 55, 0, 20, 60], ['t:b', 75, 60, 20, 0],
    ]);
  });

  it('places rates on 0..1 over the step range and breaks the line at a missing value', () => {
    const runs = rateLine([1, 2, 3, 5], [0, 0.5, null, 1], { left: 10, top: 0, width: 100, height: 50 });
    assert.deepEqual(runs, [[{ x: 10, y: 50 }, { x: 35, y: 25 }], [{ x: 110, y: 0 }]]);
  });
});

describe('dashboard step truth: opening the samples behind a bar', () => {
  const request = (params: Record<string, unknown>) => parseWebviewMessage({ kind: 'request', id: 7, method: 'dashboard/openSamples', params });

  it('accepts an outcome at a step, or a step-truth filter', () => {
    assert.deepEqual(request({ step: 2, outcome: 'i->c' }), { kind: 'request', id: 7, method: 'dashboard/openSamples', params: { step: 2, outcome: 'i->c' } });
    assert.deepEqual(request({ stepTruth: 'flawed-chain' }), { kind: 'request', id: 7, method: 'dashboard/openSamples', params: { stepTruth: 'flawed-chain' } });
  });

  it('refuses anything else, saying which field is wrong', () => {
    assert.match(String(request({ stepTruth: 'everything' })), /params\.stepTruth must be one of flawed-chain, /);
    assert.match(String(request({ step: -1, outcome: 'i->c' })), /params\.step must be a non-negative integer, got -1/);
    assert.match(String(request({ step: 1.5, outcome: 'i->c' })), /params\.step must be a non-negative integer/);
    assert.match(String(request({ step: 2, outcome: 'c->x' })), /params\.outcome must be one of i->c, c->i, c->c, i->i, got "c->x"/);
  });
});
