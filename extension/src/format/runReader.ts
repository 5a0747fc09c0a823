// Reads a run directory lazily, so that a run of a million samples opens at once: open() reads
// run.json, metrics.jsonl and the rollouts/ listing only; a step's rollout file is parsed when it
// is asked for and kept in a bounded LRU cache; scan() streams the files one at a time through
// one reusable buffer and never keeps what it visits.

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { JsonlFollower, parseJsonLine, type Malformed } from './jsonlFollower';
import type { MetricsLine, RolloutRecord, RunManifest } from './types';
import { RunPaths } from './types';
import { parseManifest, parseMetricsLine, parseRolloutRecord } from './validate';

export interface Layer1Sample {
  record: RolloutRecord;
  /** Its layer-2 corrections, by sample index. */
  corrections: RolloutRecord[];
}

export interface QuestionGroup {
  step: number;
  group: number;
  questionId: string;
  /** The question as the model saw it (the layer-1 prompt). */
  question: string;
  layer1: Layer1Sample[];
}

export interface StepRollouts {
  step: number;
  groups: QuestionGroup[];
  byId: Map<string, RolloutRecord>;
  malformed: Malformed[];
}

export interface RefreshResult {
  manifestChanged: boolean;
  newMetrics: MetricsLine[];
  newSteps: number[];
  /** Steps whose rollout files disappeared (a resumed run deletes steps after its checkpoint). */
  removedSteps: number[];
  /** metrics.jsonl was truncated and read again from the start; `metrics` was replaced. */
  metricsRestarted: boolean;
}

export interface ScanOptions {
  signal?: AbortSignal;
  /** Called after each step file with (files done, files in all). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Raw text that every wanted record's line must contain (any one of them). Lines without any
   * are skipped before JSON.parse: a necessary condition only — visit() still sees records that
   * the caller must check. Malformed lines that are skipped this way are not counted.
   */
  mustContain?: readonly string[];
  /** Only these steps (default: every step with a rollout file). */
  steps?: readonly number[];
}

export interface RunReaderOptions {
  /** How many parsed steps to keep (default 64). */
  maxCachedSteps?: number;
}

const STEP_FILE = /^step-(\d+)\.jsonl$/;
const RECORD_ID_STEP = /^s(\d+)-/;
const NEWLINE = 0x0a;
const FINAL_STATUSES = new Set(['finished', 'stopped', 'failed']);

export class AbortError extends Error {
  override name = 'AbortError';
  constructor() {
    super('scan cancelled');
  }
}

/** The step a rollout id belongs to (ids are `s000040-q007-l1-002[-l2-001]`), or undefined. */
export function stepOfRecordId(id: string): number | undefined {
  const match = RECORD_ID_STEP.exec(id);
  return match ? Number(match[1]) : undefined;
}

export class RunReader {
  manifest: RunManifest;
  metrics: MetricsLine[];
  /** Every malformed line met so far, in all files, each once. */
  malformed: Malformed[] = [];

  private readonly metricsFollower: JsonlFollower<MetricsLine>;
  private readonly maxCachedSteps: number;
  private manifestText: string;
  private stepList: number[] = [];
  private readonly metricsSteps = new Set<number>();
  /** Map order is recency order: the first key is the least recently used step. */
  private readonly cache = new Map<number, StepRollouts>();
  private readonly loading = new Map<number, Promise<StepRollouts>>();
  private readonly malformedKeys = new Set<string>();
  private _generation = 0;

  private constructor(
    readonly runDir: string,
    manifestText: string,
    manifest: RunManifest,
    options: RunReaderOptions,
  ) {
    this.manifestText = manifestText;
    this.manifest = manifest;
    this.metrics = [];
    this.maxCachedSteps = Math.max(1, Math.floor(options.maxCachedSteps ?? 64));
    this.metricsFollower = new JsonlFollower(path.join(runDir, RunPaths.metrics), (value) => parseMetricsLine(value));
  }

  static async open(runDir: string, opts: RunReaderOptions = {}): Promise<RunReader> {
    const dir = path.resolve(runDir);
    const { text, manifest } = await readManifest(dir);
    const reader = new RunReader(dir, text, manifest, opts);
    const polled = await reader.metricsFollower.poll();
    reader.addMetrics(polled.records);
    reader.addMalformed(polled.malformed);
    reader.stepList = await listStepFiles(dir);
    return reader;
  }

  /**
   * Bumped when already-read data may have been rewritten (a resumed run truncated metrics or
   * deleted rollout files): anything derived from the run's records must be recomputed.
   */
  get generation(): number {
    return this._generation;
  }

  /** Steps with a rollout file, ascending. */
  steps(): number[] {
    return this.stepList.slice();
  }

  /** Absolute path of a step's rollout file. */
  rolloutPath(step: number): string {
    return path.join(this.runDir, RunPaths.rolloutFile(step));
  }

  /**
   * A step's file is complete once its metrics line exists (the trainer writes rollouts first),
   * or once the run has ended. Incomplete steps are parsed each time and never cached.
   */
  isStepComplete(step: number): boolean {
    return this.metricsSteps.has(step) || FINAL_STATUSES.has(this.manifest.status);
  }

  metricsFor(step: number): MetricsLine | undefined {
    // Metrics are appended in step order, so the line is usually at index step - 1.
    const guess = this.metrics[step - 1];
    if (guess?.step === step) return guess;
    return this.metrics.find((m) => m.step === step);
  }

  /** Reads what the trainer added since open() or the last refresh. */
  async refresh(): Promise<RefreshResult> {
    const result: RefreshResult = { manifestChanged: false, newMetrics: [], newSteps: [], removedSteps: [], metricsRestarted: false };
    try {
      const { text, manifest } = await readManifest(this.runDir);
      if (text !== this.manifestText) {
        this.manifestText = text;
        this.manifest = manifest;
        result.manifestChanged = true;
      }
    } catch {
      // run.json is replaced atomically; a failed read is transient. Keep the last good manifest.
    }
    const polled = await this.metricsFollower.poll();
    this.addMalformed(polled.malformed);
    if (polled.restarted) {
      this.metrics = [];
      this.metricsSteps.clear();
      result.metricsRestarted = true;
    }
    this.addMetrics(polled.records);
    result.newMetrics = polled.records;

    const listed = await listStepFiles(this.runDir);
    const before = new Set(this.stepList);
    const now = new Set(listed);
    result.newSteps = listed.filter((s) => !before.has(s));
    result.removedSteps = this.stepList.filter((s) => !now.has(s));
    this.stepList = listed;
    // A step that became complete or disappeared must be read again next time.
    for (const s of result.removedSteps) this.cache.delete(s);
    for (const m of polled.records) this.cache.delete(m.step);
    if (polled.restarted) this.cache.clear();
    if (polled.restarted || result.removedSteps.length > 0) this._generation += 1;
    return result;
  }

  /** Parses one step's rollout file (cached). Throws when the step has no rollout file. */
  loadStep(step: number): Promise<StepRollouts> {
    const cached = this.cache.get(step);
    if (cached) {
      this.cache.delete(step);
      this.cache.set(step, cached);
      return Promise.resolve(cached);
    }
    const inFlight = this.loading.get(step);
    if (inFlight) return inFlight;
    const load = this.readStep(step).finally(() => this.loading.delete(step));
    this.loading.set(step, load);
    return load;
  }

  /** The parsed steps currently cached, least recently used first (for tests and diagnostics). */
  cachedSteps(): number[] {
    return [...this.cache.keys()];
  }

  async findRecord(id: string): Promise<RolloutRecord | undefined> {
    const step = stepOfRecordId(id);
    if (step === undefined || !this.stepList.includes(step)) return undefined;
    return (await this.loadStep(step)).byId.get(id);
  }

  /**
   * Visits every record of the run, step by step, in file order. Cached steps are not read
   * again. Rejects with AbortError when the signal fires (checked between files).
   */
  async scan(visit: (r: RolloutRecord) => void, opts: ScanOptions = {}): Promise<void> {
    const steps = opts.steps ? [...opts.steps] : this.steps();
    const needles = opts.mustContain?.map((n) => Buffer.from(n, 'utf8'));
    let buffer: Buffer = Buffer.allocUnsafe(1 << 20);
    for (let i = 0; i < steps.length; i++) {
      if (opts.signal?.aborted) throw new AbortError();
      const step = steps[i];
      const cached = this.cache.get(step);
      if (cached) {
        for (const record of cached.byId.values()) visit(record);
      } else {
        const file = this.rolloutPath(step);
        let size: number;
        try {
          ({ buffer, size } = await readInto(file, buffer));
        } catch (error) {
          // A file listed a moment ago may be gone (a resumed run deletes later steps).
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw error;
        }
        const malformed: Malformed[] = [];
        if (needles) visitLinesContaining(buffer, size, needles, file, visit, malformed);
        else visitAllLines(buffer.toString('utf8', 0, size), file, visit, malformed);
        this.addMalformed(malformed);
      }
      opts.onProgress?.(i + 1, steps.length);
    }
  }

  private async readStep(step: number): Promise<StepRollouts> {
    const file = this.rolloutPath(step);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`step ${step} has no rollout file (${file})`);
      throw error;
    }
    const records: RolloutRecord[] = [];
    const lines: number[] = [];
    const malformed: Malformed[] = [];
    visitAllLines(text, file, (r, line) => {
      records.push(r);
      lines.push(line);
    }, malformed);
    const rollouts = groupStep(step, records, lines, file, malformed);
    this.addMalformed(rollouts.malformed);
    if (this.isStepComplete(step)) {
      this.cache.set(step, rollouts);
      while (this.cache.size > this.maxCachedSteps) this.cache.delete(this.cache.keys().next().value as number);
    }
    return rollouts;
  }

  private addMetrics(lines: MetricsLine[]): void {
    for (const line of lines) {
      this.metrics.push(line);
      this.metricsSteps.add(line.step);
    }
  }

  private addMalformed(found: Malformed[]): void {
    for (const m of found) {
      const key = `${m.file}:${m.line}`;
      if (this.malformedKeys.has(key)) continue;
      this.malformedKeys.add(key);
      this.malformed.push(m);
    }
  }
}

async function readManifest(runDir: string): Promise<{ text: string; manifest: RunManifest }> {
  const file = path.join(runDir, RunPaths.manifest);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${runDir} is not an MGRPO run: ${RunPaths.manifest} not found`);
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not JSON: ${(error as Error).message}`);
  }
  try {
    return { text, manifest: parseManifest(value) };
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
}

async function listStepFiles(runDir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await fs.readdir(path.join(runDir, RunPaths.rolloutsDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const steps: number[] = [];
  for (const name of names) {
    const match = STEP_FILE.exec(name);
    if (match) steps.push(Number(match[1]));
  }
  return steps.sort((a, b) => a - b);
}

/** Reads a whole file into `buffer`, growing it when needed: one allocation for a whole scan. */
async function readInto(file: string, buffer: Buffer): Promise<{ buffer: Buffer; size: number }> {
  const handle = await fs.open(file, 'r');
  try {
    const expected = (await handle.stat()).size;
    if (expected > buffer.length) buffer = Buffer.allocUnsafe(Math.max(expected, buffer.length * 2));
    let size = 0;
    while (size < expected) {
      const { bytesRead } = await handle.read(buffer, size, expected - size, size);
      if (bytesRead === 0) break;
      size += bytesRead;
    }
    return { buffer, size };
  } finally {
    await handle.close();
  }
}

function parseRecordLine(text: string, file: string, line: number, visit: (r: RolloutRecord, line: number) => void, malformed: Malformed[]): void {
  const parsed = parseJsonLine(text, { file, line }, parseRolloutRecord);
  if (parsed === undefined) return;
  if ('malformed' in parsed) malformed.push(parsed.malformed);
  else visit(parsed.record, line);
}

/**
 * Parses every terminated line of a file's text. An unterminated last line is a record still
 * being written (RUN_FORMAT.md) and is left for a later read.
 */
function visitAllLines(text: string, file: string, visit: (r: RolloutRecord, line: number) => void, malformed: Malformed[]): void {
  let start = 0;
  let line = 0;
  let newline = text.indexOf('\n');
  while (newline !== -1) {
    line += 1;
    const end = newline > start && text.charCodeAt(newline - 1) === 0x0d ? newline - 1 : newline;
    if (end > start) parseRecordLine(text.slice(start, end), file, line, visit, malformed);
    start = newline + 1;
    newline = text.indexOf('\n', start);
  }
}

/** Parses only the lines that contain one of the needles, found by byte search over the file. */
function visitLinesContaining(buffer: Buffer, size: number, needles: Buffer[], file: string, visit: (r: RolloutRecord) => void, malformed: Malformed[]): void {
  const data = buffer.subarray(0, size);
  const lineStarts: number[] = [];
  for (const needle of needles) {
    let at = data.indexOf(needle);
    while (at !== -1) {
      const start = data.lastIndexOf(NEWLINE, at) + 1;
      const end = data.indexOf(NEWLINE, at);
      if (end === -1) break; // unterminated last line: still being written
      lineStarts.push(start);
      at = data.indexOf(needle, end + 1); // one hit per line is enough
    }
  }
  if (needles.length > 1) lineStarts.sort((a, b) => a - b);
  let previous = -1;
  for (const start of lineStarts) {
    if (start === previous) continue;
    previous = start;
    let end = data.indexOf(NEWLINE, start);
    if (end > start && data[end - 1] === 0x0d) end -= 1;
    const text = data.toString('utf8', start, end);
    const parsed = parseJsonLine(text, { file, line: 0 }, parseRolloutRecord);
    if (parsed === undefined) continue;
    if ('malformed' in parsed) malformed.push({ ...parsed.malformed, line: lineNumberAt(data, start) });
    else visit(parsed.record);
  }
}

function lineNumberAt(data: Buffer, offset: number): number {
  let line = 1;
  let at = data.indexOf(NEWLINE);
  while (at !== -1 && at < offset) {
    line += 1;
    at = data.indexOf(NEWLINE, at + 1);
  }
  return line;
}

/** Builds the question-group tree of one step; a correction whose parent is missing is malformed. */
function groupStep(step: number, records: RolloutRecord[], lines: number[], file: string, malformed: Malformed[]): StepRollouts {
  const byId = new Map<string, RolloutRecord>();
  const groups = new Map<number, QuestionGroup>();
  const layer1ById = new Map<string, Layer1Sample>();
  for (const record of records) {
    byId.set(record.id, record);
    if (record.layer !== 1) continue;
    let group = groups.get(record.group);
    if (!group) {
      group = { step, group: record.group, questionId: record.question_id, question: record.prompt, layer1: [] };
      groups.set(record.group, group);
    }
    const sample: Layer1Sample = { record, corrections: [] };
    group.layer1.push(sample);
    layer1ById.set(record.id, sample);
  }
  records.forEach((record, i) => {
    if (record.layer !== 2) return;
    const parent = layer1ById.get(record.parent_id ?? '');
    if (parent) parent.corrections.push(record);
    else malformed.push({ file, line: lines[i], message: `rollout record ${record.id}: parent ${record.parent_id} is not in this step` });
  });
  const sorted = [...groups.values()].sort((a, b) => a.group - b.group);
  for (const group of sorted) {
    group.layer1.sort((a, b) => a.record.sample - b.record.sample);
    for (const sample of group.layer1) sample.corrections.sort((a, b) => a.sample - b.sample);
  }
  return { step, groups: sorted, byId, malformed };
}
