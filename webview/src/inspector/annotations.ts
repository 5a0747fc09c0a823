// What the inspector marks on each side of the diff, as character spans with CSS classes, hover
// markdown and end-of-step notes. Pure (no DOM, no Monaco): test/unit/webviewAnnotations.test.ts.
// The Monaco layer (decorations.ts) only turns offsets into ranges. Notes are worded on call, in
// the display language (the l10n bundle is read before the first state arrives).
import * as l10n from '@vscode/l10n';
import type { InspectorSide } from '../../../extension/src/webview/protocol';

/**
 * Shading by the step's least likely token: the lower it is, the more the policy hesitated there.
 * Fixed buckets (not a gradient) so the classes are static CSS, and a probability of 0.5 or more
 * leaves the step unshaded.
 */
export const CONFIDENCE_BUCKETS: readonly { below: number; className: string }[] = [
  { below: 0.05, className: 'mgrpo-conf-1' },
  { below: 0.2, className: 'mgrpo-conf-2' },
  { below: 0.5, className: 'mgrpo-conf-3' },
];

export function confidenceClass(minProb: number | null): string | undefined {
  if (minProb === null || !Number.isFinite(minProb)) return undefined;
  return CONFIDENCE_BUCKETS.find((b) => minProb < b.below)?.className;
}

export interface Annotation {
  start: number;
  end: number;
  /** Inline class for the step's text (confidence shading); undefined for none. */
  className?: string;
  /** Whole-line emphasis (the divergent step). */
  wholeLine?: boolean;
  /** Hover markdown (already escaped by the host). */
  hover?: string;
  /** A note after the step's last character (two spaces set it off from the text). */
  note?: string;
  kind: 'step' | 'divergent' | 'leastConfident' | 'truth';
  /** Step truth: the gutter class of a checked step (right or wrong); none for a step with only a value. */
  gutterClassName?: string;
}

function probability(value: number | null): string {
  return value === null ? '–' : value.toFixed(2);
}

export function annotations(side: InspectorSide): Annotation[] {
  const result: Annotation[] = [];
  const length = side.text.length;
  for (const step of side.steps) {
    // Spans come from the host's segmentation; clamp anyway so a bad span cannot throw in Monaco.
    const start = Math.max(0, Math.min(step.start, length));
    const end = Math.max(start, Math.min(step.end, length));
    result.push({ kind: 'step', start, end, className: confidenceClass(step.minProb), hover: step.hover });
    if (side.divergentStep === step.index) {
      const note = `  ${side.layer === 2 ? l10n.t('← layer 2 departs from layer 1 here') : l10n.t('← the correction departs from here')}`;
      result.push({ kind: 'divergent', start, end, wholeLine: true, className: 'mgrpo-divergent', note });
    }
    const value = typeof step.value === 'number' ? step.value.toFixed(2) : undefined;
    const valueNote = value === undefined ? '' : `  ${step.likelyError ? l10n.t('value {0} ▼ likely error', value) : l10n.t('value {0}', value)}`;
    if (step.truth === 'right' || step.truth === 'wrong') {
      const note = `${step.firstError ? `  ${l10n.t('✗ first wrong step')}` : ''}${valueNote}`;
      result.push({ kind: 'truth', start, end, gutterClassName: `mgrpo-step-${step.truth}`, note: note || undefined });
    } else if (valueNote) {
      result.push({ kind: 'truth', start, end, note: valueNote });
    }
    if (side.leastConfident.includes(step.index)) {
      result.push({ kind: 'leastConfident', start, end, note: `  ${l10n.t('⚠ least confident: min p {0}, mean p {1}', probability(step.minProb), probability(step.meanProb))}` });
    }
  }
  return result;
}
