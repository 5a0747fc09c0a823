// Where a layer-2 correction departs from the layer-1 answer it corrects. Steps are compared
// position by position after normalizing whitespace: a correction usually re-derives the answer,
// keeping the steps it agrees with and changing the rest.

import type { RolloutRecord } from '../format/types';
import { traceSteps, type TraceStep } from './segmentation';

export interface Divergence {
  /** Layer-1 step where they part (the last step when layer 2 only adds steps after it). */
  layer1Step: number;
  layer2Step: number;
}

/** The note at the first divergent step: on the correction's side, or on the layer-1 answer it corrects. */
export function divergenceNote(layer: 1 | 2): string {
  return layer === 2 ? '  ← layer 2 departs from layer 1 here' : '  ← the correction departs from here';
}

/** Step text with whitespace runs collapsed and ends trimmed: "3+5 = 8 " equals "3+5 = 8". */
export function normalizeStepText(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function normalizedSteps(record: RolloutRecord): string[] {
  return traceSteps(record).map((s: TraceStep) => normalizeStepText(s.text));
}

/** The first step where layer 2 differs from layer 1, or null when their steps are the same. */
export function firstDivergence(layer1: RolloutRecord, layer2: RolloutRecord): Divergence | null {
  return firstDivergenceOf(normalizedSteps(layer1), normalizedSteps(layer2));
}

export function firstDivergenceOf(layer1: string[], layer2: string[]): Divergence | null {
  const shared = Math.min(layer1.length, layer2.length);
  for (let i = 0; i < shared; i++) {
    if (layer1[i] !== layer2[i]) return { layer1Step: i, layer2Step: i };
  }
  if (layer1.length === layer2.length) return null;
  // One is a prefix of the other: they part right after the shared steps.
  return { layer1Step: Math.min(shared, Math.max(0, layer1.length - 1)), layer2Step: Math.min(shared, Math.max(0, layer2.length - 1)) };
}

/** Layer-2 step indexes whose normalized text is not layer 1's text at the same position. */
export function changedSteps(layer1: RolloutRecord, layer2: RolloutRecord): Set<number> {
  const before = normalizedSteps(layer1);
  const after = normalizedSteps(layer2);
  const changed = new Set<number>();
  after.forEach((text, i) => {
    if (before[i] !== text) changed.add(i);
  });
  return changed;
}
