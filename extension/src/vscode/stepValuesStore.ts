import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { errorText } from '../format/errorText';
import { parseJsonLine } from '../format/jsonlFollower';
import { RunPaths, type RolloutRecord, type StepValues } from '../format/types';
import { parseStepValues } from '../format/validate';
import { latestStepValues } from '../model/stepTruth';
import { Disposable } from './disposable';

interface CachedFile {
  /** mtime and size when read: a file appended to by `mgrpo step-values` is read again. */
  stamp: string;
  lines: StepValues[];
}

/**
 * The Monte-Carlo step values of a run (step-values/step-NNNNNN.jsonl, appended by
 * `python -m mgrpo step-values`), read on demand per training step and read again when the file
 * changed. Hovers and gutters ask it for a record's newest estimate; the Estimate Step Values
 * command calls reload() when it has written new lines.
 */
export class StepValuesStore extends Disposable {
  private readonly files = new Map<string, CachedFile>();
  private readonly changeEmitter = this.register(new vscode.EventEmitter<{ runDir: string; step: number }>());
  /** New values for a step of a run were written: hovers and gutters recompute. */
  readonly onDidChange = this.changeEmitter.event;

  constructor(private readonly log: vscode.LogOutputChannel) {
    super();
  }

  /** The newest estimate for a record, or null when none was made (or its file is unreadable). */
  async valuesFor(runDir: string, record: RolloutRecord): Promise<StepValues | null> {
    return latestStepValues(await this.linesOf(runDir, record.step), record.id);
  }

  /** Every estimate made for a record, oldest first (to reuse one that answers the same request). */
  async estimatesOf(runDir: string, record: RolloutRecord): Promise<StepValues[]> {
    return (await this.linesOf(runDir, record.step)).filter((line) => line.record_id === record.id);
  }

  /**
   * Appends an estimate the extension made (validated against the schema first, so the file stays readable
   * by every reader) and tells every view. One write of a whole line: a reader never sees half of it.
   */
  async append(runDir: string, values: StepValues): Promise<void> {
    const line = parseStepValues(JSON.parse(JSON.stringify(values)));
    const file = this.fileOf(runDir, line.step);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.appendFile(file, `${JSON.stringify(line)}\n`, 'utf8');
    this.reload(runDir, line.step);
  }

  /** Forget what was read for a step and tell every view (called after new estimates). */
  reload(runDir: string, step: number): void {
    this.files.delete(this.fileOf(runDir, step));
    this.changeEmitter.fire({ runDir, step });
  }

  private fileOf(runDir: string, step: number): string {
    return path.join(runDir, RunPaths.stepValuesFile(step));
  }

  private async linesOf(runDir: string, step: number): Promise<StepValues[]> {
    const file = this.fileOf(runDir, step);
    let stamp: string;
    try {
      const stat = await fs.stat(file);
      stamp = `${stat.mtimeMs}:${stat.size}`;
    } catch {
      // Most records never get step values: no file is the common case, not an error.
      this.files.delete(file);
      return [];
    }
    const cached = this.files.get(file);
    if (cached?.stamp === stamp) return cached.lines;
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      this.log.warn(`step values: could not read ${file}: ${errorText(error)}`);
      return [];
    }
    const lines: StepValues[] = [];
    text.split('\n').forEach((line, i) => {
      const parsed = parseJsonLine(line, { file, line: i + 1 }, (value) => parseStepValues(value));
      if (parsed === undefined) return;
      if ('record' in parsed) lines.push(parsed.record);
      else this.log.warn(`step values: ${file}:${parsed.malformed.line}: ${parsed.malformed.message} (line skipped)`);
    });
    this.files.set(file, { stamp, lines });
    return lines;
  }
}
