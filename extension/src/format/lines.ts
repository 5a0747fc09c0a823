// Splitting JSON-lines files into lines, safely for files nobody vetted: a line longer than a cap
// is skipped (reported, never held in memory), a file with no newline costs one pass and bounded
// memory, and bytes are never decoded here (invalid UTF-8 is the parser's problem, not a throw).

import { promises as fs } from 'node:fs';

/** Lines longer than this are skipped as malformed unless the caller says otherwise. */
export const DEFAULT_MAX_LINE_BYTES = 32 << 20;
/** Reads in large chunks: a 1000-record step file is one or two reads, not thousands. */
export const READ_CHUNK_BYTES = 4 << 20;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export interface LineSink {
  /**
   * One complete line, without its line break (and without a CR before it). `data` is valid
   * only during the call: the splitter reuses its buffers. `offset` is the line's first byte in
   * the file, `lineNumber` is 1-based.
   */
  line(data: Buffer, start: number, end: number, lineNumber: number, offset: number): void;
  /** A complete line longer than the cap: skipped, its bytes never gathered. */
  tooLong(lineNumber: number, offset: number, length: number): void;
}

/** Turns a byte stream into lines; the bytes after the last newline wait for more. */
export class LineSplitter {
  /** Complete lines seen so far. */
  lineNumber = 0;
  /** File offset just after the last complete line. */
  consumed = 0;
  /** Parts of the line still being written (empty while skipping an over-long one). */
  private parts: Buffer[] = [];
  /** Bytes of the line still being written, kept or skipped. */
  private pendingLength = 0;
  private skipping = false;

  constructor(readonly maxLineBytes: number = DEFAULT_MAX_LINE_BYTES) {
    if (!(maxLineBytes >= 1)) throw new RangeError(`maxLineBytes must be at least 1, got ${maxLineBytes}`);
  }

  /** Bytes seen after the last complete line. */
  get pending(): number {
    return this.pendingLength;
  }

  /** Feeds the next bytes of the file (in order, none twice). */
  push(chunk: Buffer, sink: LineSink): void {
    let start = 0;
    let newline = chunk.indexOf(NEWLINE, 0);
    while (newline !== -1) {
      this.lineNumber += 1;
      const length = this.pendingLength + (newline - start);
      const offset = this.consumed;
      if (this.skipping || length > this.maxLineBytes) {
        sink.tooLong(this.lineNumber, offset, length);
      } else if (this.parts.length > 0) {
        // The line began in an earlier chunk: the one copy a line split across reads costs.
        const whole = Buffer.concat([...this.parts, chunk.subarray(start, newline)], length);
        sink.line(whole, 0, trimCarriageReturn(whole, 0, length), this.lineNumber, offset);
      } else {
        sink.line(chunk, start, trimCarriageReturn(chunk, start, newline), this.lineNumber, offset);
      }
      this.consumed += length + 1;
      this.parts = [];
      this.pendingLength = 0;
      this.skipping = false;
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    const rest = chunk.length - start;
    if (rest === 0) return;
    this.pendingLength += rest;
    if (this.skipping) return;
    if (this.pendingLength > this.maxLineBytes) {
      this.skipping = true;
      this.parts = [];
    } else {
      // Copied: the caller may reuse `chunk` for its next read.
      this.parts.push(Buffer.from(chunk.subarray(start)));
    }
  }
}

function trimCarriageReturn(data: Buffer, start: number, end: number): number {
  return end > start && data[end - 1] === CARRIAGE_RETURN ? end - 1 : end;
}

export interface StreamOptions {
  maxLineBytes?: number;
  /** Start reading here (a line boundary), counting lines from `firstLine` + 1. */
  fromOffset?: number;
  firstLine?: number;
  /** Stop before this offset (default: the size when the read starts). */
  toOffset?: number;
  /** A buffer to read into (reused between files by a scan). */
  buffer?: Buffer;
}

export interface StreamResult {
  /** Offset just after the last complete line: where a later read resumes. */
  consumed: number;
  lines: number;
  /** Bytes after the last newline: a line still being written. */
  pending: number;
  size: number;
}

/**
 * Streams a file's complete lines through `sink` in chunks of READ_CHUNK_BYTES (never the
 * whole file in memory). An unterminated last line is left for a later read (RUN_FORMAT.md: a
 * line still being written). Rejects with the file system's error (ENOENT when it is gone).
 */
export async function streamLines(file: string, sink: LineSink, opts: StreamOptions = {}): Promise<StreamResult> {
  const splitter = new LineSplitter(opts.maxLineBytes);
  splitter.consumed = opts.fromOffset ?? 0;
  splitter.lineNumber = opts.firstLine ?? 0;
  const handle = await fs.open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const end = Math.min(size, opts.toOffset ?? size);
    const buffer = opts.buffer && opts.buffer.length > 0 ? opts.buffer : Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, Math.max(1, end)));
    let position = splitter.consumed;
    while (position < end) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - position), position);
      if (bytesRead === 0) break;
      position += bytesRead;
      splitter.push(buffer.subarray(0, bytesRead), sink);
    }
    return { consumed: splitter.consumed, lines: splitter.lineNumber, pending: splitter.pending, size };
  } finally {
    await handle.close();
  }
}

/** Reads up to `length` bytes at `position` (fewer at the end of the file). */
export async function readBytes(handle: fs.FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/** A line of only spaces, tabs and CRs: RUN_FORMAT.md lets writers leave those, and readers skip them. */
export function isBlankLine(data: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = data[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

/** A whole file as UTF-8 text, refused when it is bigger than `maxBytes`. */
export async function readSmallFile(file: string, maxBytes: number): Promise<string> {
  const handle = await fs.open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    if (size > maxBytes) throw new Error(`${size} bytes, more than the limit of ${maxBytes}`);
    return (await readBytes(handle, 0, size)).toString('utf8');
  } finally {
    await handle.close();
  }
}
