// The fields of a rollout line that the Runs view's tree, filters and counts use, read straight
// from the line's bytes without JSON.parse: a real model's line is mostly token arrays
// (token_logprobs, token_offsets), and parsing them is what made whole-run filters slow. The walk
// visits the top-level keys, keeps the wanted values' byte ranges and jumps over everything else
// (strings by searching for their closing quote, arrays of numbers in one tight loop). Anything
// it does not expect (escaped keys, a truncated value) sends the line to JSON.parse instead, so
// the summary of a valid line is always what the full parse would give.

import type { CorrectionOutcome } from './types';
import { errorText } from './errorText';

export const OUTCOME_CODES: readonly (CorrectionOutcome | null)[] = [null, 'i->c', 'c->i', 'c->c', 'i->i'];

export interface RecordSummary {
  id: string;
  step: number;
  layer: 1 | 2;
  group: number;
  sample: number;
  questionId: string;
  parentId: string | null;
  correct: boolean;
  reward: number;
  advantage: number;
  outcome: CorrectionOutcome | null;
  finishReason: 'stop' | 'length';
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

// Byte classes for the walk.
const WS = 1;
const NUMBER_ARRAY_BYTE = 2; // digits, sign, point, exponent, comma, whitespace
const CLASS = new Uint8Array(256);
for (const c of ' \t\r\n') CLASS[c.charCodeAt(0)] = WS;
for (const c of '0123456789-+.eE,') CLASS[c.charCodeAt(0)] = NUMBER_ARRAY_BYTE;

// The wanted keys, by their bytes (keys with escapes never match and take the slow path).
const FIELDS = ['id', 'step', 'layer', 'group', 'sample', 'question_id', 'parent_id', 'correct', 'reward', 'advantage', 'outcome', 'finish_reason'] as const;
type Field = (typeof FIELDS)[number];
const FIELD_BYTES = FIELDS.map((f) => Buffer.from(f, 'latin1'));
const FIELD_COUNT = FIELDS.length;

class SlowPath extends Error {}

function skipWs(data: Buffer, at: number, end: number): number {
  while (at < end && CLASS[data[at]] === WS) at += 1;
  return at;
}

/** Index of the quote that closes the string whose content starts at `at`. */
function stringEnd(data: Buffer, at: number, end: number): number {
  // Short strings (keys, ids) end within a few bytes: a loop beats a native call there.
  const quick = Math.min(end, at + 24);
  for (let i = at; i < quick; i++) {
    const c = data[i];
    if (c === QUOTE) return i;
    if (c === BACKSLASH) i += 1;
  }
  let from = quick;
  if (from > at && data[from - 1] === BACKSLASH) {
    // The quick loop may have stopped inside an escape: rewind to a safe point.
    from = at;
  }
  for (;;) {
    const q = data.indexOf(QUOTE, from);
    if (q === -1 || q >= end) throw new SlowPath();
    let backslashes = 0;
    for (let b = q - 1; b >= at && data[b] === BACKSLASH; b--) backslashes += 1;
    if (backslashes % 2 === 0) return q;
    from = q + 1;
  }
}

/** The end of the JSON value that starts at `at`. */
function valueEnd(data: Buffer, at: number, end: number): number {
  const c = data[at];
  if (c === QUOTE) return stringEnd(data, at + 1, end) + 1;
  if (c === 0x5b /* [ */) {
    // An array of numbers (the token arrays): one loop, no nesting, no strings.
    let i = at + 1;
    while (i < end && CLASS[data[i]] !== 0) i += 1; // number bytes and whitespace
    if (i < end && data[i] === 0x5d /* ] */) return i + 1;
    return containerEnd(data, at, end);
  }
  if (c === 0x7b /* { */) return containerEnd(data, at, end);
  // A number, true, false or null.
  let i = at;
  while (i < end) {
    const b = data[i];
    if (b === 0x2c || b === 0x7d || b === 0x5d || CLASS[b] === WS) break;
    i += 1;
  }
  if (i === at) throw new SlowPath();
  return i;
}

/** The end of an array or object, nested values and strings included. */
function containerEnd(data: Buffer, at: number, end: number): number {
  let depth = 0;
  for (let i = at; i < end; i++) {
    const c = data[i];
    if (c === QUOTE) i = stringEnd(data, i + 1, end);
    else if (c === 0x5b || c === 0x7b) depth += 1;
    else if (c === 0x5d || c === 0x7d) {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  throw new SlowPath();
}

function fieldOf(data: Buffer, start: number, end: number): number {
  const length = end - start;
  for (let f = 0; f < FIELD_COUNT; f++) {
    const bytes = FIELD_BYTES[f];
    if (bytes.length !== length) continue;
    let same = true;
    for (let k = 0; k < length; k++) {
      if (data[start + k] !== bytes[k]) {
        same = false;
        break;
      }
    }
    if (same) return f;
  }
  return -1;
}

/** Value ranges found by the walk: [start, end) per field, -1 when absent. */
const found = new Int32Array(FIELD_COUNT * 2);

function walk(data: Buffer, start: number, end: number): void {
  found.fill(-1);
  let at = skipWs(data, start, end);
  if (data[at] !== 0x7b) throw new SlowPath();
  at = skipWs(data, at + 1, end);
  if (data[at] === 0x7d) return;
  for (;;) {
    if (data[at] !== QUOTE) throw new SlowPath();
    const keyEnd = stringEnd(data, at + 1, end);
    const field = fieldOf(data, at + 1, keyEnd);
    at = skipWs(data, keyEnd + 1, end);
    if (data[at] !== 0x3a /* : */) throw new SlowPath();
    at = skipWs(data, at + 1, end);
    const valueStart = at;
    at = valueEnd(data, at, end);
    if (field >= 0) {
      // A repeated key: JSON.parse keeps the last one, and so does this.
      found[field * 2] = valueStart;
      found[field * 2 + 1] = at;
    }
    at = skipWs(data, at, end);
    if (data[at] === 0x2c /* , */) {
      at = skipWs(data, at + 1, end);
      continue;
    }
    if (data[at] === 0x7d && skipWs(data, at + 1, end) === end) return;
    throw new SlowPath();
  }
}

const FIELD_INDEX = Object.fromEntries(FIELDS.map((f, i) => [f, i])) as Record<Field, number>;

function range(field: Field): [number, number] {
  const f = FIELD_INDEX[field];
  return [found[f * 2], found[f * 2 + 1]];
}

function hasBackslash(data: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (data[i] === BACKSLASH) return true;
  return false;
}

function stringValue(data: Buffer, field: Field, nullable: boolean): string | null {
  const [s, e] = range(field);
  if (s < 0) throw new SummaryError(`missing "${field}"`);
  if (nullable && data[s] === 0x6e && e - s === 4) return null;
  if (data[s] !== QUOTE) throw new SummaryError(`"${field}" should be a string`);
  // No escapes: decode the bytes directly; otherwise let JSON.parse unescape.
  if (!hasBackslash(data, s + 1, e - 1)) return data.toString('utf8', s + 1, e - 1);
  return JSON.parse(data.toString('utf8', s, e)) as string;
}

function numberValue(data: Buffer, field: Field): number {
  const [s, e] = range(field);
  if (s < 0) throw new SummaryError(`missing "${field}"`);
  const text = data.toString('latin1', s, e);
  // JSON's number grammar, which Number() alone would widen (hex, Infinity, spaces).
  if (!/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(text)) throw new SummaryError(`"${field}" should be a number`);
  return Number(text);
}

function integerValue(data: Buffer, field: Field, minimum: number): number {
  const value = numberValue(data, field);
  if (!Number.isInteger(value) || value < minimum) throw new SummaryError(`"${field}" should be an integer >= ${minimum}`);
  return value;
}

function literal(data: Buffer, field: Field): string {
  const [s, e] = range(field);
  return s < 0 ? '' : data.toString('latin1', s, e);
}

/** A summary field that is missing or of the wrong type: the line is malformed. */
export class SummaryError extends Error {
  override name = 'SummaryError';
}

function summaryFromFound(data: Buffer): RecordSummary {
  const id = stringValue(data, 'id', false) as string;
  try {
    const layer = integerValue(data, 'layer', 1);
    if (layer !== 1 && layer !== 2) throw new SummaryError('"layer" should be 1 or 2');
    const correct = literal(data, 'correct');
    if (correct !== 'true' && correct !== 'false') throw new SummaryError('"correct" should be a boolean');
    const outcomeText = literal(data, 'outcome');
    const outcome = outcomeText === 'null' ? null : (OUTCOME_CODES.find((o) => o !== null && `"${o}"` === outcomeText) ?? undefined);
    if (outcome === undefined) throw new SummaryError('"outcome" should be one of i->c, c->i, c->c, i->i or null');
    const finish = literal(data, 'finish_reason');
    if (finish !== '"stop"' && finish !== '"length"') throw new SummaryError('"finish_reason" should be "stop" or "length"');
    const parentId = stringValue(data, 'parent_id', true);
    if (layer === 2 && parentId === null) throw new SummaryError('a layer-2 record needs "parent_id"');
    return {
      id,
      step: integerValue(data, 'step', 1),
      layer,
      group: integerValue(data, 'group', 0),
      sample: integerValue(data, 'sample', 0),
      questionId: stringValue(data, 'question_id', false) as string,
      parentId,
      correct: correct === 'true',
      reward: numberValue(data, 'reward'),
      advantage: numberValue(data, 'advantage'),
      outcome,
      finishReason: finish === '"stop"' ? 'stop' : 'length',
    };
  } catch (error) {
    throw new SummaryError(`rollout record ${id}: ${errorText(error)}`);
  }
}

/**
 * The summary of one rollout line (bytes [start, end) of `data`, no line break). Throws
 * SummaryError (or a SyntaxError from JSON.parse) saying what is wrong when the line is not a
 * rollout record: the caller counts it as malformed.
 */
export function summarizeRolloutLine(data: Buffer, start: number, end: number): RecordSummary {
  try {
    walk(data, start, end);
  } catch (error) {
    if (!(error instanceof SlowPath)) throw error;
    return summarizeParsed(data, start, end);
  }
  return summaryFromFound(data);
}

/** The slow path: a full parse, then the same checks on the re-serialised wanted fields. */
function summarizeParsed(data: Buffer, start: number, end: number): RecordSummary {
  const value = JSON.parse(data.toString('utf8', start, end)) as unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SummaryError('rollout record: expected an object');
  const o = value as Record<string, unknown>;
  if (typeof o.id !== 'string') throw new SummaryError('rollout record: "id" should be a string');
  const pick: Record<string, unknown> = {};
  for (const f of FIELDS) if (f in o) pick[f] = o[f];
  const text = Buffer.from(JSON.stringify(pick), 'utf8');
  walk(text, 0, text.length);
  return summaryFromFound(text);
}
