// Cuts a completion into its reasoning steps and maps tokens to steps, so that hovers can say how
// confident the policy was inside each step.

import type { RolloutRecord, Span } from '../format/types';

export interface TraceStep {
  /** 0-based position among the completion's steps. */
  index: number;
  span: Span;
  text: string;
  /** Completion tokens overlapping the span, [from, to). Empty when the record has no tokens there. */
  tokenRange: [number, number];
  /** Mean of exp(logprob) over tokenRange; null when the range is empty. */
  meanProb: number | null;
  /** Smallest exp(logprob) in tokenRange; null when the range is empty. */
  minProb: number | null;
  /** Token index of minProb; null when the range is empty. */
  minProbToken: number | null;
}

/**
 * The record's steps: its `steps` spans when they are usable (inside the completion, ordered),
 * otherwise one step per non-blank line outside the answer span.
 */
export function stepSpans(record: RolloutRecord): Span[] {
  const length = record.completion.length;
  const spans = record.steps;
  const usable =
    spans.length > 0 &&
    spans.every((s, i) => Number.isInteger(s.start) && Number.isInteger(s.end) && s.start >= 0 && s.start <= s.end && s.end <= length && (i === 0 || spans[i - 1].end <= s.start));
  if (usable) return spans;
  return lineSpans(record.completion, record.answer_span ?? null);
}

function lineSpans(completion: string, answer: Span | null): Span[] {
  const spans: Span[] = [];
  const lineBreak = /\r\n|\r|\n/g;
  let start = 0;
  const push = (end: number): void => {
    const text = completion.slice(start, end);
    const inAnswer = answer !== null && start >= answer.start && end <= answer.end;
    if (text.trim().length > 0 && !inAnswer) spans.push({ start, end });
  };
  for (let match = lineBreak.exec(completion); match !== null; match = lineBreak.exec(completion)) {
    push(match.index);
    start = match.index + match[0].length;
  }
  push(completion.length);
  return spans;
}

/** Whether token_offsets can be binary-searched: ascending, as long as token_logprobs. */
function usableOffsets(record: RolloutRecord): boolean {
  const offsets = record.token_offsets;
  // Imported runs may have no token data (null): no token ranges, no probabilities.
  if (!offsets || !record.token_logprobs || offsets.length === 0 || offsets.length !== record.token_logprobs.length) return false;
  for (let i = 1; i < offsets.length; i++) if (!(offsets[i] >= offsets[i - 1])) return false;
  return true;
}

/** Number of offsets <= value (offsets ascending). */
function countAtMost(offsets: number[], value: number): number {
  let lo = 0;
  let hi = offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (offsets[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of offsets < value (offsets ascending). */
function countBelow(offsets: number[], value: number): number {
  let lo = 0;
  let hi = offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (offsets[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Tokens overlapping [start, end): token i covers [offsets[i], offsets[i+1]), so the first is the
 * last token starting at or before `start` and the range ends before the first token starting
 * at or after `end`.
 */
export function tokenRangeOf(offsets: number[], span: Span): [number, number] {
  if (span.end <= span.start) {
    const at = countBelow(offsets, span.start);
    return [at, at];
  }
  const from = Math.max(0, countAtMost(offsets, span.start) - 1);
  const to = countBelow(offsets, span.end);
  return to > from ? [from, to] : [to, to];
}

export function traceSteps(record: RolloutRecord): TraceStep[] {
  const spans = stepSpans(record);
  const withTokens = usableOffsets(record);
  return spans.map((span, index) => {
    const tokenRange: [number, number] = withTokens ? tokenRangeOf(record.token_offsets ?? [], span) : [0, 0];
    const stats = probabilityStats(record.token_logprobs ?? [], tokenRange);
    return { index, span, text: record.completion.slice(span.start, span.end), tokenRange, ...stats };
  });
}

function probabilityStats(logprobs: number[], [from, to]: [number, number]): Pick<TraceStep, 'meanProb' | 'minProb' | 'minProbToken'> {
  if (to <= from) return { meanProb: null, minProb: null, minProbToken: null };
  let sum = 0;
  let min = Infinity;
  let minToken = from;
  for (let i = from; i < to; i++) {
    const p = Math.exp(logprobs[i]);
    sum += p;
    if (p < min) {
      min = p;
      minToken = i;
    }
  }
  return { meanProb: sum / (to - from), minProb: min, minProbToken: minToken };
}

/** The step containing a completion offset, or undefined (between steps, in the answer). */
export function stepAtOffset(steps: TraceStep[], offset: number): TraceStep | undefined {
  return steps.find((s) => offset >= s.span.start && offset < s.span.end);
}

/** How many of a trace's steps are marked least confident, in the editor and the inspector alike. */
export const LEAST_CONFIDENT_STEPS = 2;

/**
 * The steps a trace marks as least confident: the LEAST_CONFIDENT_STEPS with the lowest minimum
 * token probability, and at most half of the steps that have tokens (with one or two steps,
 * "least confident" says nothing).
 */
export function markedLeastConfidentSteps(steps: TraceStep[]): number[] {
  const scored = steps.filter((s) => s.minProb !== null).length;
  return leastConfidentSteps(steps, Math.min(LEAST_CONFIDENT_STEPS, Math.floor(scored / 2)));
}

/** The note after a least-confident step: "  ⚠ least confident: min p 0.12, mean p 0.47". */
export function leastConfidentNote(step: Pick<TraceStep, 'minProb' | 'meanProb'>): string {
  const p = (value: number | null): string => (value === null ? '–' : value.toFixed(2));
  return `  ⚠ least confident: min p ${p(step.minProb)}, mean p ${p(step.meanProb)}`;
}

/** Indexes of the `count` steps with the lowest minimum token probability (ties: earlier first). */
export function leastConfidentSteps(steps: TraceStep[], count: number): number[] {
  return steps
    .filter((s) => s.minProb !== null)
    .sort((a, b) => (a.minProb as number) - (b.minProb as number) || a.index - b.index)
    .slice(0, Math.max(0, count))
    .map((s) => s.index);
}
