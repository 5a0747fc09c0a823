// Step truth (run format 2, trainer/RUN_FORMAT.md "Step truth"): which steps of a sample are right,
// where its first error is, whether a right answer was reached through a wrong step (a flawed
// chain), and where layer 2's first departure falls against layer 1's first error. Pure: the
// records and step values in, plain data out, for hovers, gutters, tree flags and filters.

import type { RolloutRecord, StepLabel, StepLabelSource, StepLabelValue, StepValues } from '../format/types';
import { firstDivergence } from './divergence';
import { stepSpans } from './segmentation';

/** What is known about one step: its label, its Monte-Carlo value and the drop into it. */
export interface StepVerdict {
  label: StepLabelValue | null;
  source: StepLabelSource | null;
  isFirstError: boolean;
  /** Estimated chance of a right answer after this step; null without step values. */
  value: number | null;
  /** Value before the step minus value after it (positive: the step hurt). */
  drop: number | null;
  /** The step with the largest drop of the record's values. */
  isLikelyError: boolean;
}

/**
 * The record's step labels when they can be trusted to index the steps viewers show: one per
 * `steps` span, and those spans usable (segmentation falls back to line spans otherwise).
 */
export function stepLabels(record: RolloutRecord): StepLabel[] | null {
  const labels = record.step_labels;
  if (!Array.isArray(labels) || labels.length !== record.steps.length) return null;
  return stepSpans(record) === record.steps ? labels : null;
}

export function hasStepLabels(record: RolloutRecord): boolean {
  return stepLabels(record) !== null;
}

/** Index of the first wrong step; steps.length means the error lies after the last step (a missing step). */
export function firstWrongStep(record: RolloutRecord): number | null {
  if (stepLabels(record) === null) return null;
  const first = record.first_wrong_step;
  return typeof first === 'number' && Number.isInteger(first) && first >= 0 && first <= record.steps.length ? first : null;
}

/** The first error is not a written step: a step is missing, or the answer does not follow from the steps. */
export function errorAfterLastStep(record: RolloutRecord): boolean {
  const first = firstWrongStep(record);
  return first !== null && first === record.steps.length;
}

/** A right answer reached through a wrong, missing or extra step. */
export function isFlawedChain(record: RolloutRecord): boolean {
  return record.correct === true && firstWrongStep(record) !== null;
}

/** The newest estimate for a record among step-values lines (later lines win, as in the file). */
export function latestStepValues(lines: readonly StepValues[], recordId: string): StepValues | null {
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i].record_id === recordId) return lines[i];
  return null;
}

export function stepVerdict(record: RolloutRecord, index: number, values: StepValues | null = null): StepVerdict {
  const label = stepLabels(record)?.[index] ?? null;
  const usableValues = values !== null && values.record_id === record.id && values.values.length === record.steps.length ? values : null;
  const value = usableValues?.values[index] ?? null;
  const before = usableValues ? (index === 0 ? usableValues.prefix_value : usableValues.values[index - 1]) : null;
  return {
    label: label?.label ?? null,
    source: label?.source ?? null,
    isFirstError: firstWrongStep(record) === index,
    value,
    drop: value !== null && before !== null && before !== undefined ? before - value : null,
    isLikelyError: usableValues !== null && usableValues.likely_error === index,
  };
}

/**
 * Where a correction first departs from its parent, as a parent step position: the number of
 * leading steps it keeps. divergence.ts's rule; when one is a prefix of the other, the first step
 * past the shorter (max of its layer1Step and layer2Step). Null when the steps are the same.
 */
export function departurePosition(parent: RolloutRecord, correction: RolloutRecord): number | null {
  const divergence = firstDivergence(parent, correction);
  return divergence === null ? null : Math.max(divergence.layer1Step, divergence.layer2Step);
}

export type DepartureVsError = 'exact' | 'before' | 'after' | 'no-departure' | 'no-error';

/** Layer 2's first departure against its parent's first error; null when the parent has no labels. */
export function departureVsFirstError(parent: RolloutRecord, correction: RolloutRecord): DepartureVsError | null {
  if (!hasStepLabels(parent)) return null;
  const error = firstWrongStep(parent);
  if (error === null) return 'no-error';
  const departure = departurePosition(parent, correction);
  if (departure === null) return 'no-departure';
  return departure === error ? 'exact' : departure < error ? 'before' : 'after';
}

function isCorrectionOf(record: RolloutRecord, parent: RolloutRecord | undefined): parent is RolloutRecord {
  return record.layer === 2 && parent !== undefined && record.parent_id === parent.id;
}

/** Filter: a correction that turned a wrong answer right, departing exactly at the first wrong step. */
export function fixedFirstWrongStep(record: RolloutRecord, parent: RolloutRecord | undefined): boolean {
  return isCorrectionOf(record, parent) && parent.correct === false && record.correct === true && departureVsFirstError(parent, record) === 'exact';
}

/** Filter: a correction whose first departure comes before its parent's first error. */
export function departedBeforeFirstError(record: RolloutRecord, parent: RolloutRecord | undefined): boolean {
  return isCorrectionOf(record, parent) && departureVsFirstError(parent, record) === 'before';
}

/** Filter: a correction whose first departure comes after its parent's first error. */
export function departedAfterFirstError(record: RolloutRecord, parent: RolloutRecord | undefined): boolean {
  return isCorrectionOf(record, parent) && departureVsFirstError(parent, record) === 'after';
}

export interface StepTruthFilter {
  id: string;
  label: string;
  detail: string;
  /** `parent`: the layer-1 record a layer-2 record corrects (undefined for layer 1). */
  matches(record: RolloutRecord, parent: RolloutRecord | undefined): boolean;
}

export const STEP_TRUTH_FILTERS: readonly StepTruthFilter[] = [
  { id: 'flawed-chain', label: 'Right answer, flawed chain', detail: 'right answers with a wrong, missing or extra step', matches: (record) => isFlawedChain(record) },
  { id: 'fixed-first-error', label: 'Layer 2 fixed the first wrong step', detail: 'i->c corrections departing exactly at layer 1’s first wrong step', matches: fixedFirstWrongStep },
  { id: 'departed-before-error', label: 'Layer 2 departed before the first error', detail: 'corrections changing a step before layer 1’s first wrong step', matches: departedBeforeFirstError },
  { id: 'departed-after-error', label: 'Layer 2 departed after the first error', detail: 'corrections keeping layer 1’s first wrong step', matches: departedAfterFirstError },
];
