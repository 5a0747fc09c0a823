// The dashboard's step-truth section: the host's summary of metrics.jsonl (hand-counted from the
// example run), the bar and line geometry the webview draws (hand-computed coordinates), and the
// checks on the webview's request to open the samples behind a bar.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { RunReader } from '../../extension/src/format/runReader';
import type { MetricsLine } from '../../extension/src/format/types';
import { findStepTruthFilter } from '../../extension/src/model/departureOffsets';
import { DepartureOffsetTally, outcomeCounts, stepTruthFilterOf, stepTruthSummary } from '../../extension/src/vscode/panels/stepTruthData';
import { parseWebviewMessage, type OpenSamplesParams, type StepTruthPoint } from '../../extension/src/webview/protocol';
import { groupedBars, MAX_OUTCOME_STEPS, offsetBinLabel, offsetBins, offsetBinWords, outcomeBars, rateLine } from '../../webview/src/dashboard/stepTruthLayout';
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

  it('leaves the departure offsets to the tally (they are not in the metrics)', () => {
    assert.equal(stepTruthSummary(fixtureMetrics()).departureOffsets, null);
  });

  it('says when no step carries step truth (a task without a checker)', () => {
    const summary = stepTruthSummary(fixtureMetrics().map((m) => ({ ...m, step_truth: null })));
    assert.equal(summary.hasLabels, false);
    assert.deepEqual(summary.points.map((p) => p.flawedT2), [null, null]);
    assert.deepEqual(summary.points[0].outcomes, { 'i->c': 2, 'c->i': 0, 'c->c': 4, 'i->i': 2 });
  });
});

describe('dashboard step truth: departure offsets counted from the rollout files', () => {
  it('counts the example run’s corrections by offset bin, as hand-placed in departureOffsets.test.ts', async () => {
    const reader = await RunReader.open(FIXTURE_RUN);
    const tally = new DepartureOffsetTally();
    assert.equal(tally.peek(reader, fixtureMetrics()), null, 'nothing counted yet');
    const histogram = await tally.count(reader, fixtureMetrics());
    // Exactly at the error: the 3 i->c; before it: two at −1/3 (bin −2) and one at −1/4 (bin −1).
    assert.deepEqual(histogram, { perSide: 4, i2c: [0, 0, 0, 0, 3, 0, 0, 0, 0], all: [0, 0, 2, 1, 3, 0, 0, 0, 0] });
    assert.deepEqual(tally.peek(reader, fixtureMetrics()), histogram, 'counted: a rebuilt webview gets it at once');
  });

  it('reads each step once, only steps whose metrics place a departure, and starts over on a new generation', async () => {
    const reader = await RunReader.open(FIXTURE_RUN);
    const scanned: number[][] = [];
    let generation = 0;
    const counting = {
      get generation() {
        return generation;
      },
      steps: () => reader.steps(),
      scan: (visit: Parameters<RunReader['scan']>[0], opts: Parameters<RunReader['scan']>[1]) => {
        scanned.push([...(opts?.steps ?? [])]);
        return reader.scan(visit, opts);
      },
    };
    const tally = new DepartureOffsetTally();
    const [step1, step2] = fixtureMetrics();
    // Step 1 alone: 2 exact (i->c) + 2 before.
    assert.deepEqual((await tally.count(counting, [step1])).all, [0, 0, 1, 1, 2, 0, 0, 0, 0]);
    assert.deepEqual((await tally.count(counting, [step1, step2])).all, [0, 0, 2, 1, 3, 0, 0, 0, 0]);
    assert.deepEqual(scanned, [[1], [2]], 'step 1 was not read again');
    // A step whose metrics place no departure is not read at all.
    const none = { ...step2, step_truth: { ...step2.step_truth!, implicit: { ...step2.step_truth!.implicit, all: { ...step2.step_truth!.implicit.all, exact: 0, before: 0, after: 0 } } } };
    const fresh = new DepartureOffsetTally();
    assert.deepEqual((await fresh.count(counting, [none])).all, [0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(scanned, [[1], [2]]);
    generation = 1;
    assert.equal(tally.peek(counting, [step1, step2]), null, 'a rewritten run is counted again');
    await tally.count(counting, [step1, step2]);
    assert.deepEqual(scanned, [[1], [2], [1], [2]]);
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

  it('labels the offset bins by their outer edge, and says what each holds', () => {
    assert.deepEqual(offsetBins(4), [-4, -3, -2, -1, 0, 1, 2, 3, 4]);
    assert.deepEqual(offsetBins(4).map((b) => offsetBinLabel(b, 4)), ['−1', '−¾', '−½', '−¼', '0', '+¼', '+½', '+¾', '+1']);
    assert.deepEqual([-1, 2].map((b) => offsetBinLabel(b, 3)), ['−⅓', '+⅔']);
    assert.equal(offsetBinLabel(2, 5), '+2/5');
    assert.equal(offsetBinWords(-2, 4), "departing 25–50% of layer 1's chain before its first wrong step");
    assert.equal(offsetBinWords(1, 4), "departing up to 25% of layer 1's chain after its first wrong step");
    assert.equal(offsetBinWords(0, 4), "departing exactly at layer 1's first wrong step");
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

  it('accepts a first-error position of one layer, or an offset bin of i->c or all corrections', () => {
    assert.deepEqual(request({ firstError: 1, layer: 1 }), { kind: 'request', id: 7, method: 'dashboard/openSamples', params: { firstError: 1, layer: 1 } });
    assert.deepEqual(request({ departureOffset: -2, corrections: 'all' }), { kind: 'request', id: 7, method: 'dashboard/openSamples', params: { departureOffset: -2, corrections: 'all' } });
    const zero = request({ departureOffset: -0, corrections: 'i2c' }) as { params: { departureOffset: number } };
    assert.ok(Object.is(zero.params.departureOffset, 0), '-0 and 0 are one bin');
    assert.match(String(request({ firstError: -1, layer: 1 })), /params\.firstError must be a non-negative integer, got -1/);
    assert.match(String(request({ firstError: 0, layer: 3 })), /params\.layer must be 1 or 2, got 3/);
    assert.match(String(request({ departureOffset: 0.5, corrections: 'all' })), /params\.departureOffset must be an integer/);
    assert.match(String(request({ departureOffset: 1e6, corrections: 'all' })), /params\.departureOffset must be an integer in -64\.\.64/);
    assert.match(String(request({ departureOffset: 1, corrections: 'some' })), /params\.corrections must be i2c or all, got "some"/);
  });

  it('a bar’s params name the Runs-view filter that keeps its samples', () => {
    const filterOf = (params: OpenSamplesParams) => stepTruthFilterOf(params);
    assert.equal(filterOf({ firstError: 1, layer: 1 }), 'first-error:l1:1');
    assert.equal(filterOf({ firstError: 0, layer: 2 }), 'first-error:l2:0');
    assert.equal(filterOf({ departureOffset: -2, corrections: 'all' }), 'departure-offset:all:-2');
    assert.equal(filterOf({ stepTruth: 'departed-before-error' }), 'departed-before-error');
    assert.equal(filterOf({ step: 2, outcome: 'i->c' }), undefined, 'an outcome bar opens a quick pick instead');
    assert.equal(filterOf({ departureOffset: 9, corrections: 'all' }), undefined, 'a bin the model does not draw is no filter');
    // The step 2 bar of first answers (index 1): the three first answers first wrong there.
    assert.equal(findStepTruthFilter(filterOf({ firstError: 1, layer: 1 })!)?.label, 'First answers first wrong at step 2');
  });

  it('refuses anything else, saying which field is wrong', () => {
    assert.match(String(request({ stepTruth: 'everything' })), /params\.stepTruth must be one of flawed-chain, /);
    assert.match(String(request({ step: -1, outcome: 'i->c' })), /params\.step must be a non-negative integer, got -1/);
    assert.match(String(request({ step: 1.5, outcome: 'i->c' })), /params\.step must be a non-negative integer/);
    assert.match(String(request({ step: 2, outcome: 'c->x' })), /params\.outcome must be one of i->c, c->i, c->c, i->i, got "c->x"/);
  });
});
