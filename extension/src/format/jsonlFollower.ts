// Follows a JSON-lines file that another process appends to (metrics.jsonl, a live rollout file).
// RUN_FORMAT.md's rule: an unterminated last line is "not written yet" and is parsed on a later
// poll; a terminated line that does not parse, or is longer than the cap, is malformed — skipped,
// counted, never thrown. A file rewritten since the last poll (told by content, see
// contentMark.ts) is read again from the start.

import { promises as fs } from 'node:fs';
import { errorText } from './errorText';
import { markHolds, takeMark, type ContentMark } from './contentMark';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter, READ_CHUNK_BYTES, type LineSink } from './lines';

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
   * The file no longer holds what was read (a resumed run truncates metrics.jsonl back to its
   * checkpoint and appends again, possibly past the old size; or it was removed): the follower
   * started over from the beginning, so `records` are the whole file again and the caller must
   * drop what it had.
   */
  restarted: boolean;
}

export interface FollowerOptions {
  /** Lines longer than this many bytes are skipped as malformed (default DEFAULT_MAX_LINE_BYTES). */
  maxLineBytes?: number;
}

export class JsonlFollower<T> {
  private splitter: LineSplitter;
  /** What the file looked like up to `offset + pending` at the end of the last poll. */
  private mark: ContentMark | undefined;
  private polling: Promise<PollResult<T>> | undefined;
  private readonly maxLineBytes: number;

  constructor(
    readonly path: string,
    private readonly parse: RecordParser<T>,
    options: FollowerOptions = {},
  ) {
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.splitter = new LineSplitter(this.maxLineBytes);
  }

  /** Bytes consumed up to and including the last complete line. */
  get offset(): number {
    return this.splitter.consumed;
  }

  /** Complete lines seen (well-formed, blank, malformed and over-long alike). */
  get linesRead(): number {
    return this.splitter.lineNumber;
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
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        if (this.splitter.consumed + this.splitter.pending > 0) this.startOver(result);
        return result;
      }
      throw error;
    }
    try {
      const size = (await handle.stat()).size;
      if (this.mark && !(await markHolds(handle, this.mark, size))) this.startOver(result);
      const sink = this.sink(result);
      const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, Math.max(1, size)));
      let position = this.splitter.consumed + this.splitter.pending;
      while (position < size) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - position), position);
        if (bytesRead === 0) break;
        position += bytesRead;
        this.splitter.push(buffer.subarray(0, bytesRead), sink);
      }
      this.mark = await takeMark(handle, position);
    } finally {
      await handle.close();
    }
    return result;
  }

  /** The file was rewritten or removed: read it again from its first byte. */
  private startOver(result: PollResult<T>): void {
    this.splitter = new LineSplitter(this.maxLineBytes);
    this.mark = undefined;
    result.restarted = true;
  }

  private sink(result: PollResult<T>): LineSink {
    return {
      line: (data, start, end, lineNumber) => {
        const outcome = parseJsonLine(data.toString('utf8', start, end), { file: this.path, line: lineNumber }, this.parse);
        if (outcome === undefined) return;
        if ('malformed' in outcome) result.malformed.push(outcome.malformed);
        else result.records.push(outcome.record);
      },
      tooLong: (lineNumber, _offset, length) => {
        result.malformed.push(tooLongLine({ file: this.path, line: lineNumber }, length, this.maxLineBytes));
      },
    };
  }
}

/** The Malformed entry of a line over the cap. */
export function tooLongLine(where: LineLocation, length: number, maxLineBytes: number): Malformed {
  return { ...where, message: `line of ${length} bytes is longer than the limit of ${maxLineBytes} bytes (mgrpo.maxLineBytes); skipped` };
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
    return { malformed: { ...where, message: `not JSON: ${errorText(error)}` } };
  }
  try {
    return { record: parse(value, where) };
  } catch (error) {
    return { malformed: { ...where, message: errorText(error) } };
  }
}

function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}
