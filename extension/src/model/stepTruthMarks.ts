// What a trace's gutter and line ends say about step truth: each step's check mark (right, wrong,
// not a step), its Monte-Carlo value as a bar, and a note on the first wrong step, the likely error
// by value, and an error after the last step (a missing step: the answer line is marked). Pure;
// src/vscode/stepTruthDecorations.ts turns these into editor decorations.

import type { RolloutRecord, StepLabelValue, StepValues } from '../format/types';
import { errorAfterLastStep, stepVerdict, type StepVerdict } from './stepTruth';
import { formatNumber, formatSigned } from './text';

/** Heights of the value bar: a value v in [0, 1] is drawn round(v * VALUE_BAR_LEVELS) of that many. */
export const VALUE_BAR_LEVELS = 8;

export interface StepTruthMark {
  /** Index into the record's steps; null for the answer line. */
  step: number | null;
  label: StepLabelValue | null;
  /** Value bar height in 0..VALUE_BAR_LEVELS; null without a value. */
  valueLevel: number | null;
  /** Text after the line, or null when the line needs none. */
  note: string | null;
  verdict: StepVerdict | null;
}

export function valueLevel(value: number | null): number | null {
  if (value === null || !Number.isFinite(value)) return null;
  return Math.round(Math.min(1, Math.max(0, value)) * VALUE_BAR_LEVELS);
}

function stepNote(verdict: StepVerdict): string | null {
  const parts: string[] = [];
  if (verdict.label === 'wrong') parts.push(verdict.isFirstError ? '✗ first wrong step' : '✗ wrong step');
  if (verdict.value !== null && verdict.isLikelyError) {
    parts.push(`▼ likely error by value (${formatNumber(verdict.value, 2)}, drop ${formatSigned(verdict.drop, 2)})`);
  }
  return parts.length > 0 ? parts.join(' · ') : null;
}

/**
 * One mark per step shown (steps that carry a label or a value), plus the answer line when the
 * first error lies after the last step. `shownSteps`: the step indexes the document renders.
 */
export function stepTruthMarks(record: RolloutRecord, shownSteps: readonly number[], values: StepValues | null): StepTruthMark[] {
  const marks: StepTruthMark[] = [];
  for (const index of shownSteps) {
    const verdict = stepVerdict(record, index, values);
    if (verdict.label === null && verdict.value === null) continue;
    marks.push({ step: index, label: verdict.label, valueLevel: valueLevel(verdict.value), note: stepNote(verdict), verdict });
  }
  if (errorAfterLastStep(record)) {
    marks.push({ step: null, label: 'wrong', valueLevel: null, note: '✗ first error after the last step: a step is missing, or the answer does not follow', verdict: null });
  }
  return marks;
}
