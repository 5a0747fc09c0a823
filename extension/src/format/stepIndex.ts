// A step file's index: for each rollout line its byte range and the few fields the Runs view's
// filters and counts use, in compact typed columns (about 14 bytes a record, against kilobytes of
// JSON). Built by one streaming pass with recordSummary.ts (no JSON.parse of token arrays); a
// record is parsed in full only when it is opened. RunReader keeps indexes in memory and, when
// given a cache folder outside the run (indexCache.ts), on disk: run folders are often someone
// else's (a cluster mount, a cloned repository, a live trainer's output) and may be read-only.
//
// An index knows the file it was built from (size, mtime and a content mark of the bytes it
// read): a file that only grew is indexed on from where it stopped; one rewritten since (a
// resumed run) is indexed again from the start.
//
// Compact on purpose: a million-record run's indexes are held (or reloaded) whole by a filter, so
// every byte a record is a megabyte. Columns start in the narrowest type their values need and
// widen once, for the whole column, when a value does not fit (an offset past 4 GiB, a reward
// float32 cannot hold exactly), so a filter compares exactly the numbers the file holds.

import { promises as fs } from 'node:fs';
import { markHolds, takeMark, type ContentMark } from './contentMark';
import { errorText } from './errorText';
import type { Malformed } from './jsonlFollower';
import { tooLongLine } from './jsonlFollower';
import { DEFAULT_MAX_LINE_BYTES, isBlankLine, READ_CHUNK_BYTES, streamLines } from './lines';
import { OUTCOME_CODES, summarizeRolloutLine } from './recordSummary';
import type { CorrectionOutcome } from './types';

/** What a filter looks at, as one row of an index shows it. */
export interface RowFields {
  layer: 1 | 2;
  correct: boolean | null;
  reward: number | null;
  outcome: CorrectionOutcome | null;
}

/** Element types a column can have, narrowest first within each ladder. */
export const COLUMN_KINDS = {
  u8: Uint8Array,
  u16: Uint16Array,
  u32: Uint32Array,
  f32: Float32Array,
  f64: Float64Array,
} as const;
export type ColumnKind = keyof typeof COLUMN_KINDS;
export type ColumnValues = Uint8Array | Uint16Array | Uint32Array | Float32Array | Float64Array;

/** Whether a column of `kind` stores `value` exactly (NaN, our null, is a float). */
function holds(kind: ColumnKind, value: number): boolean {
  switch (kind) {
    case 'u8':
      return Number.isInteger(value) && value >= 0 && value <= 0xff;
    case 'u16':
      return Number.isInteger(value) && value >= 0 && value <= 0xffff;
    case 'u32':
      return Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
    case 'f32':
      return Number.isNaN(value) || Math.fround(value) === value;
    case 'f64':
      return true;
  }
}

/** An empty column of each kind, shared (nothing can be written to an array of length 0). */
const EMPTY: Record<ColumnKind, ColumnValues> = { u8: new Uint8Array(0), u16: new Uint16Array(0), u32: new Uint32Array(0), f32: new Float32Array(0), f64: new Float64Array(0) };

/**
 * A numeric column in the narrowest element type of its ladder that holds all its values exactly,
 * exactly as long as its index's row count: rows arrive in batches (see RowBatch), each batch
 * costing one allocation, the column's new values.
 */
export class Column {
  private rung = 0;
  values: ColumnValues;

  /** `ladder`: the kinds it may take, narrowest first; the last must hold every value it is given. */
  constructor(private readonly ladder: readonly ColumnKind[]) {
    this.values = EMPTY[ladder[0]];
  }

  get kind(): ColumnKind {
    return this.ladder[this.rung];
  }

  /** Appends `added[0..n)` after the first `count` values, widening the whole column once if one of them needs it. */
  append(count: number, added: Float64Array, n: number): void {
    let rung = this.rung;
    for (let i = 0; i < n; i++) while (!holds(this.ladder[rung], added[i])) rung += 1;
    const next = new COLUMN_KINDS[this.ladder[rung]](count + n);
    next.set(this.values.subarray(0, count));
    next.set(added.subarray(0, n), count);
    this.rung = rung;
    this.values = next;
  }

  clear(): void {
    this.rung = 0;
    this.values = EMPTY[this.ladder[0]];
  }

  /** Takes stored values (an index read back from disk); false when `kind` is not on the ladder. */
  restore(kind: ColumnKind, values: ColumnValues): boolean {
    const rung = this.ladder.indexOf(kind);
    if (rung < 0) return false;
    this.rung = rung;
    this.values = values;
    return true;
  }
}

/**
 * What an index update reads with: a read buffer, made on the first read (most updates find the
 * file unchanged and read nothing: a filter asks every step's index to update),
 * and a row batch.
 */
export class BuildScratch {
  private readBuffer: Buffer | undefined;
  readonly batch = new RowBatch();

  get buffer(): Buffer {
    this.readBuffer ??= Buffer.allocUnsafe(READ_CHUNK_BYTES);
    return this.readBuffer;
  }
}

/** Rows a batch holds at most before they join the columns (a 2 GB step file is a few batches). */
const BATCH_ROWS = 1 << 16;

/**
 * Rows read by an update before they join their index's columns, one float64 array a column.
 * Reused from one update to the next (a reader builds its indexes one after another), so that
 * building an index allocates its columns once, at their final size and type, instead of growing
 * them by doubling and trimming them (about three times their size in allocations).
 */
export class RowBatch {
  count = 0;
  private capacity = 0;
  readonly columns = new Map<ColumnName, Float64Array>();

  get full(): boolean {
    return this.count >= BATCH_ROWS;
  }

  push(lineOffset: number, lineLength: number, flags: number, reward: number, question: number): void {
    if (this.count === this.capacity) this.grow();
    const row = this.count++;
    (this.columns.get('lineOffset') as Float64Array)[row] = lineOffset;
    (this.columns.get('lineLength') as Float64Array)[row] = lineLength;
    (this.columns.get('flags') as Float64Array)[row] = flags;
    (this.columns.get('reward') as Float64Array)[row] = reward;
    (this.columns.get('question') as Float64Array)[row] = question;
  }

  private grow(): void {
    this.capacity = Math.min(BATCH_ROWS, Math.max(1024, this.capacity * 2));
    for (const name of COLUMN_NAMES) {
      const next = new Float64Array(this.capacity);
      const previous = this.columns.get(name);
      if (previous) next.set(previous.subarray(0, this.count));
      this.columns.set(name, next);
    }
  }
}

// One byte a record holds the four small fields a filter reads:
//   bit 0      layer (0: layer 1, 1: layer 2)
//   bits 1-2   correct (0 false, 1 true, 2 null: an imported run that does not say)
//   bits 3-5   outcome, an index into OUTCOME_CODES (0: null)
//   bits 6-7   finish_reason (0 stop, 1 length, 2 null)
const NULLABLE_BOOLEAN: readonly (boolean | null)[] = [false, true, null, null];
const nullableCode = (value: boolean | null): number => (value === null ? 2 : value ? 1 : 0);
const nullIfNaN = (value: number): number | null => (Number.isNaN(value) ? null : value);

export function packFlags(layer: 1 | 2, correct: boolean | null, outcome: CorrectionOutcome | null, lengthLimited: boolean | null): number {
  return (layer - 1) | (nullableCode(correct) << 1) | (OUTCOME_CODES.indexOf(outcome) << 3) | (nullableCode(lengthLimited) << 6);
}

/** The columns an index keeps, by name: what indexCache.ts writes and reads back. */
export type ColumnName = 'lineOffset' | 'lineLength' | 'flags' | 'reward' | 'question';
export const COLUMN_NAMES: readonly ColumnName[] = ['lineOffset', 'lineLength', 'flags', 'reward', 'question'];

export class StepIndex {
  count = 0;
  /** Where each record's line starts in the file (u32 until an offset passes 4 GiB), and its length in bytes (no line break). */
  readonly lineOffset = new Column(['u32', 'f64']);
  readonly lineLength = new Column(['u32', 'f64']);
  /** layer, correct, outcome and finish_reason packed (see packFlags). */
  readonly flags = new Column(['u8']);
  /** NaN for null (JSON has no NaN, so it cannot be a value); float32 while every reward is one exactly. */
  readonly reward = new Column(['f32', 'f64']);
  /** Index into questionIds. */
  readonly question = new Column(['u8', 'u16', 'u32']);
  readonly questionIds: string[] = [];
  private readonly questionSlots = new Map<string, number>();
  /**
   * Line numbers, derived: record `row` is on line row + shift, where shift is that of the last
   * [firstRow, shift] pair at or before it. Only blank and malformed lines change the shift, so
   * a clean file has one pair.
   */
  readonly lineShifts: number[] = [];
  /** Lines that are not rollout records (not JSON, a wrong field, too long). */
  readonly malformed: Malformed[] = [];

  /** Offset just after the last complete line indexed, and the lines seen up to there. */
  end = 0;
  lines = 0;
  size = 0;
  mtimeMs = 0;
  mark: ContentMark | undefined;

  constructor(
    readonly step: number,
    readonly file: string,
    readonly maxLineBytes: number = DEFAULT_MAX_LINE_BYTES,
  ) {}

  /** Approximate memory held, for the reader's byte-bounded cache. */
  get bytes(): number {
    let bytes = 1024 + this.questionIds.length * 64 + this.malformed.length * 200 + this.lineShifts.length * 8;
    if (this.mark) bytes += this.mark.head.length + this.mark.tail.length;
    for (const name of COLUMN_NAMES) bytes += this.column(name).values.byteLength + 64;
    return bytes;
  }

  column(name: ColumnName): Column {
    return this[name];
  }

  questionSlot(questionId: string): number | undefined {
    return this.questionSlots.get(questionId);
  }

  /** The file's 1-based line number of record `row`. */
  lineNumberOf(row: number): number {
    const shifts = this.lineShifts;
    // Binary search over the pairs for the last firstRow <= row.
    let lo = 0;
    let hi = shifts.length / 2 - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (shifts[mid * 2] <= row) lo = mid;
      else hi = mid - 1;
    }
    return row + shifts[lo * 2 + 1];
  }

  layerOf(row: number): 1 | 2 {
    return ((this.flags.values[row] & 1) + 1) as 1 | 2;
  }

  /** finish_reason === 'length', or null when the record does not say. */
  lengthLimitedOf(row: number): boolean | null {
    return NULLABLE_BOOLEAN[this.flags.values[row] >> 6];
  }

  /** Row `row` as a filter sees it (a fresh object: cheap, and safe to keep). */
  fields(row: number): RowFields {
    return this.fillFields(row, { layer: 1, correct: null, reward: null, outcome: null });
  }

  /**
   * Rows for which `keep` holds, counted. `keep` sees one object, refilled for each row (a filter
   * across a long run visits millions of rows; an object each would be as many allocations).
   */
  countRows(keep: (row: Readonly<RowFields>) => boolean): number {
    const fields: RowFields = { layer: 1, correct: null, reward: null, outcome: null };
    let n = 0;
    for (let row = 0; row < this.count; row++) if (keep(this.fillFields(row, fields))) n += 1;
    return n;
  }

  private fillFields(row: number, target: RowFields): RowFields {
    const flags = this.flags.values[row];
    target.layer = ((flags & 1) + 1) as 1 | 2;
    target.correct = NULLABLE_BOOLEAN[(flags >> 1) & 3];
    target.reward = nullIfNaN(this.reward.values[row]);
    target.outcome = OUTCOME_CODES[(flags >> 3) & 7];
    return target;
  }

  /**
   * Brings the index up to date with the file: nothing to do when it is unchanged, the appended
   * lines when it only grew, everything when it was rewritten. Returns false when the file was
   * rewritten (the caller must drop what it derived from this index) and true otherwise.
   * Rejects with ENOENT when the file is gone. `scratch`: what to read with (kept for the next update).
   */
  async update(scratch: BuildScratch = new BuildScratch()): Promise<boolean> {
    // The common case (nothing changed) costs one stat, not an open, a stat and a close: a filter
    // across a long run asks this of every step's index.
    const seen = await fs.stat(this.file);
    if (seen.size === this.size && seen.mtimeMs === this.mtimeMs && this.mark) return true;
    const handle = await fs.open(this.file, 'r');
    let kept = true;
    try {
      const stat = await handle.stat();
      if (this.mark && !(await markHolds(handle, this.mark, stat.size))) {
        this.reset();
        kept = false;
      }
      this.size = stat.size;
      this.mtimeMs = stat.mtimeMs;
    } finally {
      await handle.close();
    }
    // Each line is decoded as latin1 on its own (see recordSummary.ts), not the whole chunk at
    // once: a chunk's string is megabytes, which V8 keeps outside its heap where the collector
    // hardly feels it, so a run's indexing piled up hundreds of them (measured: a peak RSS of
    // 162-190 MiB indexing the bench's 2 GB run, against 112-115 MiB line by line, as fast).
    const batch = scratch.batch;
    let read;
    try {
      read = await streamLines(
        this.file,
        {
          line: (data, start, end, lineNumber, offset) => {
            const line = data.subarray(start, end);
            this.add(line, lineNumber, offset, line.toString('latin1'), batch);
            if (batch.full) this.takeRows(batch);
          },
          tooLong: (lineNumber, _offset, length) => this.malformed.push(tooLongLine({ file: this.file, line: lineNumber }, length, this.maxLineBytes)),
        },
        { fromOffset: this.end, firstLine: this.lines, maxLineBytes: this.maxLineBytes, buffer: scratch.buffer },
      );
    } catch (error) {
      // Half-read (the file vanished or failed mid-read): start over next time rather than keep
      // rows whose end was never recorded.
      batch.count = 0;
      this.reset();
      throw error;
    }
    this.takeRows(batch);
    this.end = read.consumed;
    this.lines = read.lines;
    const handle2 = await fs.open(this.file, 'r');
    try {
      this.mark = await takeMark(handle2, this.end);
    } finally {
      await handle2.close();
    }
    return kept;
  }

  /** Takes back what indexCache.ts stored (already checked against the file and the layout). */
  restore(state: { count: number; end: number; lines: number; size: number; mtimeMs: number; mark: ContentMark; questionIds: string[]; lineShifts: number[]; malformed: Malformed[]; columns: Map<ColumnName, { kind: ColumnKind; values: ColumnValues }> }): boolean {
    this.reset();
    for (const name of COLUMN_NAMES) {
      const stored = state.columns.get(name);
      if (!stored || stored.values.length !== state.count || !this.column(name).restore(stored.kind, stored.values)) {
        this.reset();
        return false;
      }
    }
    this.count = state.count;
    this.end = state.end;
    this.lines = state.lines;
    this.size = state.size;
    this.mtimeMs = state.mtimeMs;
    this.mark = state.mark;
    this.lineShifts.push(...state.lineShifts);
    this.malformed.push(...state.malformed);
    for (const id of state.questionIds) this.slotOf(id);
    return true;
  }

  private reset(): void {
    this.count = 0;
    this.end = 0;
    this.lines = 0;
    this.size = 0;
    this.mtimeMs = 0;
    this.mark = undefined;
    this.malformed.length = 0;
    this.lineShifts.length = 0;
    this.questionIds.length = 0;
    this.questionSlots.clear();
    for (const name of COLUMN_NAMES) this.column(name).clear();
  }

  /** Moves the batch's rows into the columns. */
  private takeRows(batch: RowBatch): void {
    if (batch.count === 0) return;
    for (const name of COLUMN_NAMES) this.column(name).append(this.count, batch.columns.get(name) as Float64Array, batch.count);
    this.count += batch.count;
    batch.count = 0;
  }

  private slotOf(questionId: string): number {
    let slot = this.questionSlots.get(questionId);
    if (slot === undefined) {
      slot = this.questionIds.length;
      // A copy: the summary's string may be a slice of the whole line's (V8 keeps the line alive
      // behind a slice of 13 characters or more), and an index lives long.
      const own = Buffer.from(questionId, 'utf8').toString('utf8');
      this.questionIds.push(own);
      this.questionSlots.set(own, slot);
    }
    return slot;
  }

  private add(line: Buffer, lineNumber: number, offset: number, latin1: string, batch: RowBatch): void {
    if (isBlankLine(line, 0, line.length)) return;
    let summary;
    try {
      summary = summarizeRolloutLine(line, 0, line.length, latin1);
    } catch (error) {
      this.malformed.push({ file: this.file, line: lineNumber, message: error instanceof SyntaxError ? `not JSON: ${error.message}` : errorText(error) });
      return;
    }
    const row = this.count + batch.count;
    const shift = lineNumber - row;
    if (this.lineShifts.length === 0 || this.lineShifts[this.lineShifts.length - 1] !== shift) this.lineShifts.push(row, shift);
    const flags = packFlags(summary.layer, summary.correct, summary.outcome, summary.finishReason === null ? null : summary.finishReason === 'length');
    batch.push(offset, line.length, flags, summary.reward ?? Number.NaN, this.slotOf(summary.questionId));
  }
}
