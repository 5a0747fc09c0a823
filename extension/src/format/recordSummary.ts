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
  /** Null (like reward, advantage and finishReason): an imported run whose source did not record it. */
  correct: boolean | null;
  reward: number | null;
  advantage: number | null;
  outcome: CorrectionOutcome | null;
  finishReason: 'stop' | 'length' | null;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

// The wanted keys (keys with escapes never match and take the slow path).
const FIELDS = ['id', 'step', 'layer', 'group', 'sample', 'question_id', 'parent_id', 'correct', 'reward', 'advantage', 'outcome', 'finish_reason'] as const;
type Field = (typeof FIELDS)[number];
const FIELD_COUNT = FIELDS.length;
const FIELD_INDEX = new Map<string, number>(FIELDS.map((f, i) => [f, i]));

class SlowPath extends Error {}

// The walk reads the line as a latin1 string: one character per byte, so positions are byte
// offsets, and V8's string search and charCodeAt are much cheaper than Buffer calls.

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipWs(t: string, at: number, end: number): number {
  while (at < end && isWs(t.charCodeAt(at))) at += 1;
  return at;
}

/** Index of the quote that closes the string whose content starts at `at`. */
function stringEnd(t: string, at: number, end: number): number {
  let from = at;
  for (;;) {
    const q = t.indexOf('"', from);
    if (q === -1 || q >= end) throw new SlowPath();
    let backslashes = 0;
    for (let b = q - 1; b >= at && t.charCodeAt(b) === BACKSLASH; b--) backslashes += 1;
    if (backslashes % 2 === 0) return q;
    from = q + 1;
  }
}

/** The end of the JSON value that starts at `at`. */
function valueEnd(t: string, at: number, end: number): number {
  const c = t.charCodeAt(at);
  if (c === QUOTE) return stringEnd(t, at + 1, end) + 1;
  if (c === 0x5b /* [ */) {
    // An array of numbers (the token arrays): its first "]" closes it when nothing between is
    // a string or a nested value.
    const close = t.indexOf(']', at + 1);
    if (close !== -1 && close < end) {
      const quote = t.indexOf('"', at + 1);
      const nested = t.indexOf('[', at + 1);
      const object = t.indexOf('{', at + 1);
      if ((quote === -1 || quote > close) && (nested === -1 || nested > close) && (object === -1 || object > close)) return close + 1;
    }
    return containerEnd(t, at, end);
  }
  if (c === 0x7b /* { */) return containerEnd(t, at, end);
  // A number, true, false or null.
  let i = at;
  while (i < end) {
    const b = t.charCodeAt(i);
    if (b === 0x2c || b === 0x7d || b === 0x5d || isWs(b)) break;
    i += 1;
  }
  if (i === at) throw new SlowPath();
  return i;
}

/** The end of an array or object, nested values and strings included. */
function containerEnd(t: string, at: number, end: number): number {
  let depth = 0;
  for (let i = at; i < end; i++) {
    const c = t.charCodeAt(i);
    if (c === QUOTE) i = stringEnd(t, i + 1, end);
    else if (c === 0x5b || c === 0x7b) depth += 1;
    else if (c === 0x5d || c === 0x7d) {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  throw new SlowPath();
}

/** The wanted fields by key length: a key is matched in place, with no string made for it. */
const FIELDS_BY_LENGTH: number[][] = [];
FIELDS.forEach((f, i) => (FIELDS_BY_LENGTH[f.length] ??= []).push(i));

function wantedField(t: string, start: number, end: number): number | undefined {
  const candidates = FIELDS_BY_LENGTH[end - start];
  if (candidates === undefined) return undefined;
  for (const f of candidates) if (t.startsWith(FIELDS[f], start)) return f;
  return undefined;
}

/** Value ranges found by the walk: [start, end) per field, -1 when absent. */
const found = new Int32Array(FIELD_COUNT * 2);

function walk(t: string, start: number, end: number): void {
  found.fill(-1);
  let foundCount = 0;
  let at = skipWs(t, start, end);
  if (t.charCodeAt(at) !== 0x7b) throw new SlowPath();
  at = skipWs(t, at + 1, end);
  if (t.charCodeAt(at) === 0x7d) return;
  for (;;) {
    if (at >= end || t.charCodeAt(at) !== QUOTE) throw new SlowPath();
    const keyEnd = stringEnd(t, at + 1, end);
    const field = wantedField(t, at + 1, keyEnd);
    // An escaped key may spell a wanted one ("l\u0061yer"): JSON.parse decides.
    if (field === undefined && t.lastIndexOf('\\', keyEnd) > at) throw new SlowPath();
    at = skipWs(t, keyEnd + 1, end);
    if (t.charCodeAt(at) !== 0x3a /* : */) throw new SlowPath();
    at = skipWs(t, at + 1, end);
    if (at >= end) throw new SlowPath();
    const valueStart = at;
    at = valueEnd(t, at, end);
    if (field !== undefined) {
      if (found[field * 2] !== -1) throw new SlowPath(); // a repeated key: JSON.parse decides which one counts
      found[field * 2] = valueStart;
      found[field * 2 + 1] = at;
      // Every wanted field is found: the rest of the line (the trainer writes the step spans
      // last) is left for the full parse when the record is opened.
      if (++foundCount === FIELD_COUNT) return;
    }
    at = skipWs(t, at, end);
    const c = at < end ? t.charCodeAt(at) : -1;
    if (c === 0x2c /* , */) {
      at = skipWs(t, at + 1, end);
      continue;
    }
    if (c === 0x7d && skipWs(t, at + 1, end) === end) return;
    throw new SlowPath();
  }
}

function range(field: Field): [number, number] {
  const f = FIELD_INDEX.get(field) as number;
  return [found[f * 2], found[f * 2 + 1]];
}

/** A string field's value: the latin1 text when it is plain ASCII, else decoded as JSON from UTF-8. */
function stringValue(t: string, data: Buffer, field: Field, nullable: boolean): string | null {
  const [s, e] = range(field);
  if (s < 0) throw new SummaryError(`missing "${field}"`);
  if (nullable && e - s === 4 && t.startsWith('null', s)) return null;
  if (t.charCodeAt(s) !== QUOTE) throw new SummaryError(`"${field}" should be a string`);
  const raw = t.slice(s + 1, e - 1);
  if (/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/.test(raw)) return raw;
  return JSON.parse(data.toString('utf8', s, e)) as string;
}

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

function numberValue(t: string, field: Field): number {
  const [s, e] = range(field);
  if (s < 0) throw new SummaryError(`missing "${field}"`);
  const text = t.slice(s, e);
  // JSON's number grammar, which Number() alone would widen (hex, Infinity, spaces).
  if (!JSON_NUMBER.test(text)) throw new SummaryError(`"${field}" should be a number`);
  return Number(text);
}

function nullableNumber(t: string, field: Field): number | null {
  return literal(t, field) === 'null' ? null : numberValue(t, field);
}

function integerValue(t: string, field: Field, minimum: number): number {
  const value = numberValue(t, field);
  if (!Number.isInteger(value) || value < minimum) throw new SummaryError(`"${field}" should be an integer >= ${minimum}`);
  return value;
}

function literal(t: string, field: Field): string {
  const [s, e] = range(field);
  return s < 0 ? '' : t.slice(s, e);
}

/** A summary field that is missing or of the wrong type: the line is malformed. */
export class SummaryError extends Error {
  override name = 'SummaryError';
}

const OUTCOME_LITERALS = new Map<string, CorrectionOutcome | null>([['null', null], ...OUTCOME_CODES.filter((o) => o !== null).map((o) => [`"${o}"`, o] as [string, CorrectionOutcome])]);

function summaryFromFound(t: string, data: Buffer): RecordSummary {
  const id = stringValue(t, data, 'id', false) as string;
  try {
    const layer = integerValue(t, 'layer', 1);
    if (layer !== 1 && layer !== 2) throw new SummaryError('"layer" should be 1 or 2');
    const correct = literal(t, 'correct');
    if (correct !== 'true' && correct !== 'false' && correct !== 'null') throw new SummaryError('"correct" should be a boolean or null');
    const outcome = OUTCOME_LITERALS.get(literal(t, 'outcome'));
    if (outcome === undefined) throw new SummaryError('"outcome" should be one of i->c, c->i, c->c, i->i or null');
    const finish = literal(t, 'finish_reason');
    if (finish !== '"stop"' && finish !== '"length"' && finish !== 'null') throw new SummaryError('"finish_reason" should be "stop", "length" or null');
    const parentId = stringValue(t, data, 'parent_id', true);
    if (layer === 2 && parentId === null) throw new SummaryError('a layer-2 record needs "parent_id"');
    return {
      id,
      step: integerValue(t, 'step', 1),
      layer,
      group: integerValue(t, 'group', 0),
      sample: integerValue(t, 'sample', 0),
      questionId: stringValue(t, data, 'question_id', false) as string,
      parentId,
      correct: correct === 'null' ? null : correct === 'true',
      reward: nullableNumber(t, 'reward'),
      advantage: nullableNumber(t, 'advantage'),
      outcome,
      finishReason: finish === 'null' ? null : finish === '"stop"' ? 'stop' : 'length',
    };
  } catch (error) {
    throw new SummaryError(`rollout record ${id}: ${errorText(error)}`);
  }
}

/**
 * The summary of one rollout line: bytes [start, end) of `data` (no line break). `latin1`, when
 * given, is `data` decoded as latin1 (one character per byte): a caller that summarises many lines
 * of one buffer decodes it once. Throws SummaryError (or a SyntaxError from JSON.parse) saying
 * what is wrong when the line is not a rollout record: the caller counts it as malformed.
 */
export function summarizeRolloutLine(data: Buffer, start: number, end: number, latin1?: string): RecordSummary {
  const t = latin1 ?? data.toString('latin1');
  try {
    walk(t, start, end);
  } catch (error) {
    if (!(error instanceof SlowPath)) throw error;
    return summarizeParsed(data, start, end);
  }
  return summaryFromFound(t, data);
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
  const t = text.toString('latin1');
  walk(t, 0, t.length);
  return summaryFromFound(t, text);
}
