// The dashboard's step-truth section computed from metrics.jsonl: per step, the corrections by
// outcome (from the correction table) and the flawed-chain rates (from `step_truth`); over the run,
// where first answers and corrections first go wrong and where layer 2 departs against that.
// The relative positions of departures (model/departureOffsets.ts) are not in the metrics: they
// are counted from the rollout files by DepartureOffsetTally, once per complete step.
// Pure (no `vscode`), tested against the example run in test/unit/webviewStepTruth.test.ts.

import type { RunReader } from '../../format/runReader';
import type { CorrectionOutcome, DepartureCounts, MetricsLine, RolloutRecord } from '../../format/types';
import { addOffsetCounts, departureOffsetFilterId, emptyOffsetCounts, findStepTruthFilter, firstErrorFilterId, OFFSET_BINS_PER_SIDE, tallyOffsets, type OffsetCounts } from '../../model/departureOffsets';
import type { DepartureOffsetHistogram, DepartureTotals, OpenSamplesParams, StepTruthPoint, StepTruthSummary } from '../../webview/protocol';

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
  return { points, hasLabels, firstErrorT1, firstErrorT2, departures, departureOffsets: null };
}

/** Steps whose metrics say some correction departs against a first error: the only ones worth reading. */
function stepsWithPlacedDepartures(metrics: readonly MetricsLine[]): number[] {
  return metrics.filter((line) => {
    const all = line.step_truth?.implicit.all;
    return all !== undefined && all.exact + all.before + all.after > 0;
  }).map((line) => line.step);
}

/**
 * The departure-offset histogram over a run's steps. Each step's rollout file is read once (a step
 * with a metrics line is complete) and its counts kept, so a live run costs one step per update;
 * a new reader generation (a resumed run rewrote its files) starts over.
 */
export class DepartureOffsetTally {
  private generation = -1;
  private readonly perStep = new Map<number, OffsetCounts>();

  /** The histogram when every wanted step is already counted, else null (nothing is read). */
  peek(reader: Pick<RunReader, 'generation' | 'steps'>, metrics: readonly MetricsLine[]): DepartureOffsetHistogram | null {
    if (reader.generation !== this.generation) return null;
    const steps = this.wanted(reader, metrics);
    return steps.every((step) => this.perStep.has(step)) ? this.histogram(steps) : null;
  }

  /** Reads the steps not counted yet and returns the histogram over all wanted steps. */
  async count(reader: Pick<RunReader, 'generation' | 'steps' | 'scan'>, metrics: readonly MetricsLine[], signal?: AbortSignal): Promise<DepartureOffsetHistogram> {
    if (reader.generation !== this.generation) {
      this.perStep.clear();
      this.generation = reader.generation;
    }
    const steps = this.wanted(reader, metrics);
    for (const step of steps) {
      if (this.perStep.has(step)) continue;
      const records: RolloutRecord[] = [];
      await reader.scan((record) => records.push(record), { steps: [step], signal });
      this.perStep.set(step, tallyOffsets(records));
    }
    return this.histogram(steps);
  }

  private wanted(reader: Pick<RunReader, 'steps'>, metrics: readonly MetricsLine[]): number[] {
    const withFiles = new Set(reader.steps());
    return stepsWithPlacedDepartures(metrics).filter((step) => withFiles.has(step));
  }

  private histogram(steps: readonly number[]): DepartureOffsetHistogram {
    const total = emptyOffsetCounts();
    for (const step of steps) addOffsetCounts(total, this.perStep.get(step)!);
    return { perSide: OFFSET_BINS_PER_SIDE, i2c: total.i2c, all: total.all };
  }
}

/**
 * The Runs-view step-truth filter id a run-wide bar stands for (a fixed filter, a first-error
 * position, a departure-offset bin); undefined for an outcome at one step (which opens a quick
 * pick) and for a bar that names no filter.
 */
export function stepTruthFilterOf(params: OpenSamplesParams): string | undefined {
  let id: string | undefined;
  if ('stepTruth' in params) id = params.stepTruth;
  else if ('firstError' in params) id = firstErrorFilterId(params.layer, params.firstError);
  else if ('departureOffset' in params) id = departureOffsetFilterId(params.corrections, params.departureOffset);
  // The webview's request was checked for its shape only: a bin the model does not draw is no filter.
  return id !== undefined && findStepTruthFilter(id) ? id : undefined;
}
