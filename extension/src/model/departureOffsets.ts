// Where layer 2's first departure falls against layer 1's first error, as a share of layer 1's
// chain (issue 9: "the position of layer 2's first departure against the position of layer 1's
// first error, histograms, relative position"), and the parametrised step-truth filters behind the
// dashboard's bars ("first wrong at step k", "departed in this offset bin"). Pure.
//
// Why the signed offset (departure − first error) / chain length, binned, rather than two
// histograms of departure/L and error/L side by side: the question is per correction ("did this
// correction change the step its parent got wrong?"), and two marginal histograms can match
// exactly while no single correction departs at its own parent's error. The offset keeps the
// pairing: the middle bar is implicit process supervision finding the error, bars to its left
// rewrote sound steps (how far back, as a share of the chain), bars to its right kept the wrong
// step. Dividing by the chain length lets chains of different lengths share one axis. The
// middle bin holds offset 0 only (exactly at the error); it is not widened by rounding.

import type { RolloutRecord } from '../format/types';
import { departurePosition, firstWrongStep, hasStepLabels, STEP_TRUTH_FILTERS, type StepTruthFilter } from './stepTruth';

/** Bins on each side of the middle one: quarters of the chain. */
export const OFFSET_BINS_PER_SIDE = 4;

export interface RelativeDeparture {
  /** Layer 1's chain length (its step count), the denominator of the shares below. */
  chainLength: number;
  /** departurePosition / chainLength: 0 is the first step, 1 is past the last (a step added). */
  departure: number;
  /** The parent's first wrong step / chainLength (1: a missing step after the last). */
  firstError: number;
  /** departure − firstError, in −1..1. */
  offset: number;
  /**
   * Signed bin of the offset: 0 when it is exactly 0, else ±j where j = ceil(|offset| · OFFSET_BINS_PER_SIDE),
   * i.e. |offset| in ((j − 1)/4, j/4]; negative before the error, positive after it.
   */
  bin: number;
}

/**
 * A correction's first departure and its parent's first error as shares of the parent's chain;
 * null when the parent has no usable labels, no first error, or the correction keeps every step.
 */
export function relativeDeparture(parent: RolloutRecord, correction: RolloutRecord): RelativeDeparture | null {
  if (!hasStepLabels(parent)) return null;
  const error = firstWrongStep(parent);
  if (error === null) return null;
  const departure = departurePosition(parent, correction);
  if (departure === null) return null;
  const chainLength = parent.steps.length;
  // A parent with no steps has its error (a missing step) and any departure at 0: exact.
  if (chainLength === 0) return { chainLength, departure: 0, firstError: 0, offset: 0, bin: 0 };
  return {
    chainLength,
    departure: departure / chainLength,
    firstError: error / chainLength,
    offset: (departure - error) / chainLength,
    bin: offsetBin(departure - error, chainLength),
  };
}

/** The signed bin of a step difference over a chain length, in integers (no rounding at the edges). */
export function offsetBin(stepDifference: number, chainLength: number): number {
  if (stepDifference === 0) return 0;
  const magnitude = Math.min(OFFSET_BINS_PER_SIDE, Math.ceil((Math.abs(stepDifference) * OFFSET_BINS_PER_SIDE) / chainLength));
  return Math.sign(stepDifference) * magnitude;
}

export type OffsetScope = 'i2c' | 'all';

/** A correction that turned its parent's wrong answer right (the metrics' `implicit.i2c`). */
function turnedRight(parent: RolloutRecord, correction: RolloutRecord): boolean {
  return parent.correct === false && correction.correct === true;
}

export interface OffsetCounts {
  /** Entry OFFSET_BINS_PER_SIDE + bin: corrections in that signed bin. */
  i2c: number[];
  all: number[];
}

export function emptyOffsetCounts(): OffsetCounts {
  const bins = 2 * OFFSET_BINS_PER_SIDE + 1;
  return { i2c: new Array<number>(bins).fill(0), all: new Array<number>(bins).fill(0) };
}

/**
 * The offsets of every correction among `records` (one step's records, any order) whose parent is
 * among them too, added into `into`: `all` for every correction placed, `i2c` for those that
 * turned a wrong answer right.
 */
export function tallyOffsets(records: Iterable<RolloutRecord>, into: OffsetCounts = emptyOffsetCounts()): OffsetCounts {
  const parents = new Map<string, RolloutRecord>();
  const corrections: RolloutRecord[] = [];
  for (const record of records) {
    if (record.layer === 1) parents.set(record.id, record);
    else if (record.parent_id) corrections.push(record);
  }
  for (const correction of corrections) {
    const parent = parents.get(correction.parent_id!);
    const placed = parent ? relativeDeparture(parent, correction) : null;
    if (!parent || !placed) continue;
    into.all[OFFSET_BINS_PER_SIDE + placed.bin] += 1;
    if (turnedRight(parent, correction)) into.i2c[OFFSET_BINS_PER_SIDE + placed.bin] += 1;
  }
  return into;
}

export function addOffsetCounts(into: OffsetCounts, counts: OffsetCounts): OffsetCounts {
  counts.i2c.forEach((n, i) => (into.i2c[i] += n));
  counts.all.forEach((n, i) => (into.all[i] += n));
  return into;
}

// ---- parametrised step-truth filters (a dashboard bar opens them in the Runs view) ----------------

/** "first-error:l1:2": layer-1 samples whose first wrong step is index 2 (shown as step 3). */
export function firstErrorFilterId(layer: 1 | 2, position: number): string {
  return `first-error:l${layer}:${position}`;
}

/** "departure-offset:i2c:-1": i->c corrections in signed offset bin −1. */
export function departureOffsetFilterId(scope: OffsetScope, bin: number): string {
  return `departure-offset:${scope}:${bin}`;
}

/** "25–50% of layer 1’s chain before" for bin −2, "up to 25% ... after" for 1; "exactly at" for 0 (as the dashboard's bar titles say). */
export function describeOffsetBin(bin: number): string {
  if (bin === 0) return 'exactly at';
  const j = Math.abs(bin);
  const percent = (k: number) => Math.round((k / OFFSET_BINS_PER_SIDE) * 100);
  return `${j === 1 ? 'up to ' : `${percent(j - 1)}–`}${percent(j)}% of layer 1’s chain ${bin < 0 ? 'before' : 'after'}`;
}

const FIRST_ERROR_ID = /^first-error:l([12]):(0|[1-9]\d{0,5})$/;
const OFFSET_ID = /^departure-offset:(i2c|all):(0|-?[1-9])$/;

function firstErrorFilter(id: string): StepTruthFilter | undefined {
  const match = FIRST_ERROR_ID.exec(id);
  if (!match) return undefined;
  const layer = Number(match[1]) as 1 | 2;
  const position = Number(match[2]);
  const who = layer === 1 ? 'First answers' : 'Corrections';
  return {
    id,
    label: `${who} first wrong at step ${position + 1}`,
    detail: `layer-${layer} samples whose first wrong (or missing) step is step ${position + 1}`,
    matches: (record) => record.layer === layer && firstWrongStep(record) === position,
  };
}

function offsetFilter(id: string): StepTruthFilter | undefined {
  const match = OFFSET_ID.exec(id);
  if (!match) return undefined;
  const scope = match[1] as OffsetScope;
  const bin = Number(match[2]);
  if (Math.abs(bin) > OFFSET_BINS_PER_SIDE) return undefined;
  const who = scope === 'i2c' ? 'i->c corrections' : 'Corrections';
  return {
    id,
    label: `${who} departing ${describeOffsetBin(bin)} ${bin === 0 ? 'layer 1’s' : 'its'} first wrong step`,
    detail: 'where layer 2 first departs, against layer 1’s first wrong step, as a share of layer 1’s chain',
    matches: (record, parent) => {
      if (record.layer !== 2 || parent === undefined || record.parent_id !== parent.id) return false;
      if (scope === 'i2c' && !turnedRight(parent, record)) return false;
      return relativeDeparture(parent, record)?.bin === bin;
    },
  };
}

/** A step-truth filter by id: one of STEP_TRUTH_FILTERS, or a parametrised one named above. */
export function findStepTruthFilter(id: string): StepTruthFilter | undefined {
  return STEP_TRUTH_FILTERS.find((f) => f.id === id) ?? firstErrorFilter(id) ?? offsetFilter(id);
}
