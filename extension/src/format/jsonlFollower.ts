// Follows a JSON-lines file that another process appends to (metrics.jsonl, a live rollout file).
// RUN_FORMAT.md's rule: an unterminated last line is "not written yet" and is parsed on a later
// poll; a terminated line that does not parse is malformed — skipped, counted, never thrown.

import { promises as fs } from 'node:fs';

/** A line that was skipped: where it is and why. `line` is 1-based. */
export interface Malformed {
  file: string;
  line: number;
  message: string;
}

export interface LineLocation {
  file: string;
  line: number;
}

/** Turns a parsed JSON value into a record, or throws an Error whose message says what is wrong. */
export type RecordParser<T> = (value: unknown, where: LineLocation) => T;

export interface PollResult<T> {
  records: T[];
  malformed: Malformed[];
  /**
   * The file became shorter than what was already read (a resumed run truncates metrics.jsonl
   * back to its checkpoint): the follower started over from the beginning, so `records` are the
   * whole file again and the caller must drop what it had.
   */
  restarted: boolean;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
/** Reads in large chunks: a 1000-record step file is one or two reads, not thousands. */
const READ_CHUNK_BYTES = 4 << 20;

export class JsonlFollower<T> {
  private _offset = 0;
  private _linesRead = 0;
  /** Bytes after the last newline read so far: the start of a line still being written. */
  private pendingTail: Buffer = Buffer.alloc(0);
  private polling: Promise<PollResult<T>> | undefined;

  constructor(
    readonly path: string,
    private readonly parse: RecordParser<T>,
  ) {}

  /** Bytes consumed up to and including the last complete line. */
  get offset(): number {
    return this._offset;
  }

  /** Complete lines seen (well-formed, blank and malformed alike). */
  get linesRead(): number {
    return this._linesRead;
  }

  /**
   * Reads what was appended since the last poll. A missing file is an empty file (the trainer
   * may not have created it yet). Concurrent calls share one read, so no line is seen twice.
   */
  poll(): Promise<PollResult<T>> {
    if (!this.polling) {
      this.polling = this.readAppended().finally(() => {
        this.polling = undefined;
      });
    }
    return this.polling;
  }

  private async readAppended(): Promise<PollResult<T>> {
    const result: PollResult<T> = { records: [], malformed: [], restarted: false };
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return result;
      throw error;
    }
    try {
      const size = (await handle.stat()).size;
      const consumed = this._offset + this.pendingTail.length;
      if (size < consumed) {
        this._offset = 0;
        this._linesRead = 0;
        this.pendingTail = Buffer.alloc(0);
        result.restarted = true;
      }
      let position = this._offset + this.pendingTail.length;
      while (position < size) {
        const length = Math.min(READ_CHUNK_BYTES, size - position);
        const chunk = Buffer.allocUnsafe(length);
        const { bytesRead } = await handle.read(chunk, 0, length, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        this.consume(chunk.subarray(0, bytesRead), result);
      }
    } finally {
      await handle.close();
    }
    return result;
  }

  /** Splits a chunk at newlines; the bytes after the last newline wait for the next chunk. */
  private consume(chunk: Buffer, result: PollResult<T>): void {
    let data = chunk;
    if (this.pendingTail.length > 0) {
      data = Buffer.concat([this.pendingTail, chunk]);
      this.pendingTail = Buffer.alloc(0);
    }
    let lineStart = 0;
    let newline = data.indexOf(NEWLINE, lineStart);
    while (newline !== -1) {
      this._linesRead += 1;
      this.handleLine(data, lineStart, newline, this._linesRead, result);
      this._offset += newline + 1 - lineStart;
      lineStart = newline + 1;
      newline = data.indexOf(NEWLINE, lineStart);
    }
    if (lineStart < data.length) this.pendingTail = Buffer.from(data.subarray(lineStart));
  }

  private handleLine(data: Buffer, start: number, end: number, lineNumber: number, result: PollResult<T>): void {
    if (end > start && data[end - 1] === CARRIAGE_RETURN) end -= 1;
    const text = data.toString('utf8', start, end);
    const outcome = parseJsonLine(text, { file: this.path, line: lineNumber }, this.parse);
    if (outcome === undefined) return;
    if ('malformed' in outcome) result.malformed.push(outcome.malformed);
    else result.records.push(outcome.record);
  }
}

/**
 * Parses one line (without its line break). Blank lines are ignored (undefined); anything else
 * either becomes a record or a Malformed entry naming the file, line and problem.
 */
export function parseJsonLine<T>(
  text: string,
  where: LineLocation,
  parse: RecordParser<T>,
): { record: T } | { malformed: Malformed } | undefined {
  if (isBlank(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { malformed: { ...where, message: `not JSON: ${(error as Error).message}` } };
  }
  try {
    return { record: parse(value, where) };
  } catch (error) {
    return { malformed: { ...where, message: (error as Error).message } };
  }
}

function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

export function formatMalformed(m: Malformed): string {
  return `${m.file}:${m.line}: ${m.message}`;
}
