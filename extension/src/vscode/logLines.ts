// Log output of a child process (the trainer's stderr, pip) cut into lines for the output channel.
// Unlike the protocol's LineSplitter (stdout, one JSON event per \n line) a log may redraw one
// line with \r forever (download and progress bars): \r ends a line too, and a partial line is
// capped, so neither can grow without bound. No `vscode` import: unit-tested on its own.

/** A longer log line is cut here, with a marker; the rest up to the next line break is dropped. */
export const MAX_LOG_LINE_CHARS = 16 * 1024;

export class LogLineSplitter {
  private partial = '';
  /** True while dropping the rest of a line already cut at the cap. */
  private dropping = false;

  constructor(private readonly maxLineChars = MAX_LOG_LINE_CHARS) {
    if (!Number.isInteger(maxLineChars) || maxLineChars < 1) throw new Error(`LogLineSplitter: maxLineChars must be a positive integer, got ${maxLineChars}`);
  }

  /** Complete lines in the order they arrived, without their line breaks; empty ones dropped. */
  push(chunk: string): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c !== 10 && c !== 13) continue; // \n, \r
      this.take(chunk.slice(start, i), lines);
      this.end(lines);
      start = i + 1;
    }
    this.take(chunk.slice(start), lines);
    return lines;
  }

  /** What is left at end of stream, as a last line. */
  flush(): string[] {
    const lines: string[] = [];
    this.end(lines);
    this.dropping = false;
    return lines;
  }

  private take(text: string, lines: string[]): void {
    if (this.dropping || text.length === 0) return;
    const room = this.maxLineChars - this.partial.length;
    if (text.length <= room) {
      this.partial += text;
      return;
    }
    lines.push(`${this.partial}${text.slice(0, room)} … [line cut at ${this.maxLineChars} characters]`);
    this.partial = '';
    this.dropping = true;
  }

  private end(lines: string[]): void {
    if (this.partial.trim().length > 0) lines.push(this.partial);
    this.partial = '';
    this.dropping = false;
  }
}
