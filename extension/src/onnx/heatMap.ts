// Score Trace's data shaping, free of VS Code: where each scored token sits in a trace document, how hot it
// is, and per-step summaries for the hover. Tokens are placed inside the rendered steps only (their text in
// the document is the completion's text at the step's span; the caller passes the steps whose text matches).

import type { Span } from '../format/types';
import type { TextRange } from '../model/traceDocument';
import type { ScoredToken } from './protocol';

/** Buckets of surprise, by the checkpoint's probability of the token: >= 0.9, 0.5, 0.2, 0.05, below. */
export const HEAT_THRESHOLDS = [0.9, 0.5, 0.2, 0.05] as const;
export const HEAT_LEVELS = HEAT_THRESHOLDS.length + 1;

/** 0 = expected (p >= 0.9) ... 4 = surprising (p < 0.05). */
export function heatLevel(logprob: number): number {
  const probability = Math.exp(logprob);
  const level = HEAT_THRESHOLDS.findIndex((threshold) => probability >= threshold);
  return level === -1 ? HEAT_THRESHOLDS.length : level;
}

export interface PlacedStep {
  /** The step's span in the completion. */
  span: Span;
  /** Where the step's text starts in the document. */
  startLine: number;
  startCharacter: number;
}

export interface PlacedToken {
  token: number;
  range: TextRange;
  level: number;
}

function positionIn(completion: string, step: PlacedStep, offset: number): { line: number; character: number } {
  let line = step.startLine;
  let character = step.startCharacter;
  for (let index = step.span.start; index < offset; index++) {
    if (completion[index] === '\n') {
      line++;
      character = 0;
    } else character++;
  }
  return { line, character };
}

/** Document ranges of the tokens inside the steps (clipped to them); line breaks alone get no range. */
export function placeTokens(completion: string, steps: PlacedStep[], tokens: ScoredToken[]): PlacedToken[] {
  const placed: PlacedToken[] = [];
  for (const step of steps) {
    tokens.forEach((token, index) => {
      const start = Math.max(token.start, step.span.start);
      const end = Math.min(token.end, step.span.end);
      if (start >= end || completion.slice(start, end).trim() === '') return;
      const from = positionIn(completion, step, start);
      const to = positionIn(completion, step, end);
      placed.push({ token: index, level: heatLevel(token.logprob), range: { startLine: from.line, startCharacter: from.character, endLine: to.line, endCharacter: to.character } });
    });
  }
  return placed;
}

export interface SpanScore {
  tokens: number;
  meanProb: number;
  minProb: number;
  /** Index of the least likely token. */
  minToken: number;
  meanEntropy: number;
}

/** The checkpoint's view of the tokens overlapping `span`; null when none does. */
export function scoreOfSpan(tokens: ScoredToken[], span: Span): SpanScore | null {
  let count = 0;
  let probabilitySum = 0;
  let entropySum = 0;
  let minProb = Infinity;
  let minToken = -1;
  tokens.forEach((token, index) => {
    if (token.end <= span.start || token.start >= span.end) return;
    const probability = Math.exp(token.logprob);
    count++;
    probabilitySum += probability;
    entropySum += token.entropy;
    if (probability < minProb) {
      minProb = probability;
      minToken = index;
    }
  });
  return count === 0 ? null : { tokens: count, meanProb: probabilitySum / count, minProb, minToken, meanEntropy: entropySum / count };
}

/** The token whose text covers completion offset `offset`, or -1. */
export function tokenAt(tokens: ScoredToken[], offset: number): number {
  return tokens.findIndex((token) => token.start <= offset && offset < token.end);
}
