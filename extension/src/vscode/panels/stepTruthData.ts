// The dashboard's step-truth section computed from metrics.jsonl: per step, the corrections by
// outcome (from the correction table) and the flawed-chain rates (from `step_truth`); over the run,
// where first answers and corrections first go wrong and where layer 2 departs against that.
// Pure (no `vscode`), tested against the example run in test/unit/stepTruthDashboard.test.ts.

import type { CorrectionOutcome, DepartureCounts, MetricsLine } from '../../format/types';
import type { DepartureTotals, StepTruthPoint, StepTruthSummary } from '../../webview/protocol';

function finiteOrNull(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * Corrections by outcome, from the rates of the correction table: with n corrections,
 * i->c = n·Δi→c, c->i = n·Δc→i, right first answers = n·Acc@t1, c->c = right − c->i and
 * i->i = n − right − i->c. Null when the table is missing or inconsistent.
 */
export function outcomeCounts(line: MetricsLine): Record<CorrectionOutcome, number> | null {
  const c = line.correction;
  if (!c || !(c.n > 0)) return null;
  const [accT1, i2cRate, c2iRate] = [finiteOrNull(c.acc_t1), finiteOrNull(c.delta_i2c), finiteOrNull(c.delta_c2i)];
  if (accT1 === null || i2cRate === null || c2iRate === null) return null;
  const i2c = Math.round(c.n * i2cRate);
  const c2i = Math.round(c.n * c2iRate);
  const right = Math.round(c.n * accT1);
  const counts = { 'i->c': i2c, 'c->i': c2i, 'c->c': right - c2i, 'i->i': c.n - right - i2c };
  return Object.values(counts).every((v) => v >= 0) ? counts : null;
}

function addCounts(into: number[], counts: readonly number[]): void {
  counts.forEach((count, i) => {
    into[i] = (into[i] ?? 0) + (Number.isFinite(count) ? count : 0);
  });
}

function emptyTotals(): DepartureTotals {
  return { n: 0, exact: 0, before: 0, after: 0, noDeparture: 0, noError: 0 };
}

function addDepartures(into: DepartureTotals, counts: DepartureCounts): void {
  into.n += counts.n;
  into.exact += counts.exact;
  into.before += counts.before;
  into.after += counts.after;
  into.noDeparture += counts.no_departure;
  into.noError += counts.no_error;
}

export function stepTruthSummary(metrics: readonly MetricsLine[]): StepTruthSummary {
  const points: StepTruthPoint[] = [];
  const firstErrorT1: number[] = [];
  const firstErrorT2: number[] = [];
  const departures = { i2c: emptyTotals(), all: emptyTotals() };
  let hasLabels = false;
  for (const line of metrics) {
    const truth = line.step_truth ?? null;
    points.push({
      step: line.step,
      outcomes: outcomeCounts(line),
      flawedT1: finiteOrNull(truth?.t1.flawed_chain_rate),
      flawedT2: finiteOrNull(truth?.t2.flawed_chain_rate),
    });
    if (!truth) continue;
    hasLabels = true;
    addCounts(firstErrorT1, truth.t1.first_error_counts);
    addCounts(firstErrorT2, truth.t2.first_error_counts);
    addDepartures(departures.i2c, truth.implicit.i2c);
    addDepartures(departures.all, truth.implicit.all);
  }
  return { points, hasLabels, firstErrorT1, firstErrorT2, departures };
}
