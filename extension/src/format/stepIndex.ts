// A step file's index: for each rollout line its byte range and the few fields the Runs view's
// filters and counts use, in typed columns (about 50 bytes a record, against kilobytes of JSON).
// Built by one streaming pass with recordSummary.ts (no JSON.parse of token arrays); a record is
// parsed in full only when it is opened. Kept in memory by RunReader, not written to disk: run
// folders are often someone else's (a cluster mount, a cloned repository, a live trainer's
// output) and may be read-only, and rebuilding runs at close to disk speed.
//
// An index knows the file it was built from (size, mtime and a content mark of the bytes it
// read): a file that only grew is indexed on from where it stopped; one rewritten since (a
// resumed run) is indexed again from the start.

import { promises as fs } from 'node:fs';
import { markHolds, takeMark, type ContentMark } from './contentMark';
import { errorText } from './errorText';
import type { Malformed } from './jsonlFollower';
import { tooLongLine } from './jsonlFollower';
import { DEFAULT_MAX_LINE_BYTES, isBlankLine, streamLines } from './lines';
import { OUTCOME_CODES, summarizeRolloutLine } from './recordSummary';
import type { CorrectionOutcome } from './types';

/** What a filter looks at, as one row of an index shows it. */
export interface RowFields {
  layer: 1 | 2;
  correct: boolean | null;
  reward: number | null;
  outcome: CorrectionOutcome | null;
}

/** A grown-on-demand numeric column. */
class Column<A extends Float64Array | Int32Array | Uint32Array | Uint8Array> {
  constructor(
    public values: A,
    private readonly make: (n: number) => A,
  ) {}
  set(row: number, value: number): void {
    if (row >= this.values.length) {
      const grown = this.make(Math.max(16, this.values.length * 2));
      grown.set(this.values);
      this.values = grown;
    }
    this.values[row] = value;
  }
  trim(count: number): void {
    if (this.values.length > count) this.values = this.values.slice(0, count) as A;
  }
}

const NULLABLE_BOOLEAN: readonly (boolean | null)[] = [false, true, null];
const nullIfNaN = (value: number): number | null => (Number.isNaN(value) ? null : value);

const f64 = (n: number): Float64Array => new Float64Array(n);
const i32 = (n: number): Int32Array => new Int32Array(n);
const u32 = (n: number): Uint32Array => new Uint32Array(n);
const u8 = (n: number): Uint8Array => new Uint8Array(n);

export class StepIndex {
  count = 0;
  /** Where each record's line starts in the file, and its length in bytes (no line break). */
  readonly lineOffset = new Column(f64(0), f64);
  readonly lineLength = new Column(u32(0), u32);
  readonly lineNumber = new Column(u32(0), u32);
  readonly layer = new Column(u8(0), u8);
  /** 0 false, 1 true, 2 null (an imported run that does not say). */
  readonly correct = new Column(u8(0), u8);
  /** Index into OUTCOME_CODES (0: null). */
  readonly outcome = new Column(u8(0), u8);
  /** finish_reason: 0 stop, 1 length, 2 null. */
  readonly lengthLimited = new Column(u8(0), u8);
  readonly group = new Column(i32(0), i32);
  readonly sample = new Column(i32(0), i32);
  /** NaN for null (JSON has no NaN, so it cannot be a value). */
  readonly reward = new Column(f64(0), f64);
  readonly advantage = new Column(f64(0), f64);
  /** Index into questionIds. */
  readonly question = new Column(u32(0), u32);
  readonly questionIds: string[] = [];
  private readonly questionSlots = new Map<string, number>();
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
    let bytes = 1024 + this.questionIds.length * 64 + this.malformed.length * 200;
    for (const column of this.columns()) bytes += column.values.byteLength + 64;
    return bytes;
  }

  private columns(): Column<Float64Array | Int32Array | Uint32Array | Uint8Array>[] {
    return [this.lineOffset, this.lineLength, this.lineNumber, this.layer, this.correct, this.outcome, this.lengthLimited, this.group, this.sample, this.reward, this.advantage, this.question];
  }

  questionSlot(questionId: string): number | undefined {
    return this.questionSlots.get(questionId);
  }

  /** Row `row` as a filter sees it (a fresh object: cheap, and safe to keep). */
  fields(row: number): RowFields {
    return {
      layer: this.layer.values[row] as 1 | 2,
      correct: NULLABLE_BOOLEAN[this.correct.values[row]],
      reward: nullIfNaN(this.reward.values[row]),
      outcome: OUTCOME_CODES[this.outcome.values[row]],
    };
  }

  /** Rows for which `keep` holds, counted. */
  countRows(keep: (row: RowFields) => boolean): number {
    let n = 0;
    for (let row = 0; row < this.count; row++) if (keep(this.fields(row))) n += 1;
    return n;
  }

  /**
   * Brings the index up to date with the file: nothing to do when it is unchanged, the appended
   * lines when it only grew, everything when it was rewritten. Returns false when the file was
   * rewritten (the caller must drop what it derived from this index) and true otherwise.
   * Rejects with ENOENT when the file is gone. `buffer`: a read buffer to use (and reuse).
   */
  async update(buffer?: Buffer): Promise<boolean> {
    const handle = await fs.open(this.file, 'r');
    let kept = true;
    try {
      const stat = await handle.stat();
      if (stat.size === this.size && stat.mtimeMs === this.mtimeMs && this.mark) return true;
      if (this.mark && !(await markHolds(handle, this.mark, stat.size))) {
        this.reset();
        kept = false;
      }
      this.size = stat.size;
      this.mtimeMs = stat.mtimeMs;
    } finally {
      await handle.close();
    }
    // Each chunk is decoded as latin1 once, for every line in it (see recordSummary.ts).
    let decoded: Buffer | undefined;
    let latin1 = '';
    const read = await streamLines(
      this.file,
      {
        line: (data, start, end, lineNumber, offset) => {
          if (data !== decoded) {
            decoded = data;
            latin1 = data.toString('latin1');
          }
          this.add(data, start, end, lineNumber, offset, latin1);
        },
        tooLong: (lineNumber, _offset, length) => this.malformed.push(tooLongLine({ file: this.file, line: lineNumber }, length, this.maxLineBytes)),
      },
      { fromOffset: this.end, firstLine: this.lines, maxLineBytes: this.maxLineBytes, buffer },
    );
    this.end = read.consumed;
    this.lines = read.lines;
    const handle2 = await fs.open(this.file, 'r');
    try {
      this.mark = await takeMark(handle2, this.end);
    } finally {
      await handle2.close();
    }
    this.trim();
    return kept;
  }

  private reset(): void {
    this.count = 0;
    this.end = 0;
    this.lines = 0;
    this.mark = undefined;
    this.malformed.length = 0;
    this.questionIds.length = 0;
    this.questionSlots.clear();
  }

  private trim(): void {
    for (const column of this.columns()) column.trim(this.count);
  }

  private add(data: Buffer, start: number, end: number, lineNumber: number, offset: number, latin1: string): void {
    if (isBlankLine(data, start, end)) return;
    let summary;
    try {
      summary = summarizeRolloutLine(data, start, end, latin1);
    } catch (error) {
      this.malformed.push({ file: this.file, line: lineNumber, message: error instanceof SyntaxError ? `not JSON: ${error.message}` : errorText(error) });
      return;
    }
    const row = this.count;
    this.lineOffset.set(row, offset);
    this.lineLength.set(row, end - start);
    this.lineNumber.set(row, lineNumber);
    this.layer.set(row, summary.layer);
    this.correct.set(row, summary.correct === null ? 2 : summary.correct ? 1 : 0);
    this.outcome.set(row, OUTCOME_CODES.indexOf(summary.outcome));
    this.lengthLimited.set(row, summary.finishReason === null ? 2 : summary.finishReason === 'length' ? 1 : 0);
    this.group.set(row, summary.group);
    this.sample.set(row, summary.sample);
    this.reward.set(row, summary.reward ?? Number.NaN);
    this.advantage.set(row, summary.advantage ?? Number.NaN);
    let slot = this.questionSlots.get(summary.questionId);
    if (slot === undefined) {
      slot = this.questionIds.length;
      this.questionIds.push(summary.questionId);
      this.questionSlots.set(summary.questionId, slot);
    }
    this.question.set(row, slot);
    this.count = row + 1;
  }
}
