// Reads a run directory lazily, so that a run of a million samples opens at once: open() reads
// run.json, metrics.jsonl (streamed) and the rollouts/ listing only; a step's rollout file is
// parsed when it is asked for and kept in an LRU cache bounded by bytes. Filters and counts
// across the run use each step's index (stepIndex.ts: byte ranges and a few fields per record,
// no JSON.parse of token arrays), kept in a second byte-bounded cache and, given a cache folder,
// on disk (indexCache.ts) so that they survive a window reload; a record is parsed in full only
// when it is opened. Listing runs needs only readRunManifest(). Nothing in a run folder can
// make these methods throw anything but an Error with a message saying what and where.

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ByteLru } from './byteLru';
import { errorText } from './errorText';
import { cachedIndexNames, indexCacheFile, isInside, loadIndex, removeIndex, runCacheFolder, saveIndex, type FileState } from './indexCache';
import { JsonlFollower, parseJsonLine, tooLongLine, type Malformed } from './jsonlFollower';
import { DEFAULT_MAX_LINE_BYTES, readBytes, readSmallFile, streamLines } from './lines';
import { BuildScratch, StepIndex, type RowFields } from './stepIndex';
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
  /** The question as the model saw it (the layer-1 prompt); null when an imported run's source did not record it. */
  question: string | null;
  layer1: Layer1Sample[];
}

export interface StepRollouts {
  step: number;
  groups: QuestionGroup[];
  byId: Map<string, RolloutRecord>;
  /** Each layer-1 sample with its corrections, by the sample's record id. */
  layer1ById: Map<string, Layer1Sample>;
  malformed: Malformed[];
  /** Bytes of the lines parsed: what this step costs the cache. */
  bytes: number;
}

export interface RefreshResult {
  manifestChanged: boolean;
  newMetrics: MetricsLine[];
  newSteps: number[];
  /** Steps whose rollout files disappeared (a resumed run deletes steps after its checkpoint). */
  removedSteps: number[];
  /** The run's folder or its run.json is gone: the reader keeps what it had, and says so. */
  gone: boolean;
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
  /** Bytes of parsed steps to keep (counted as the bytes of their lines; default 128 MiB). */
  maxCachedBytes?: number;
  /** At most this many parsed steps as well (older setting; default: no count limit). */
  maxCachedSteps?: number;
  /**
   * Bytes of step indexes to keep in memory (default DEFAULT_MAX_INDEX_BYTES, about six million
   * records; DEFAULT_MAX_INDEX_BYTES_ON_DISK with an indexCacheDir, from where an index reloads in
   * about half a millisecond a step on the bench machine).
   */
  maxIndexBytes?: number;
  /**
   * A folder for step indexes on disk (one per step file, indexCache.ts), outside the run folder:
   * one inside it is ignored, since run folders may be read-only or someone else's. Without it,
   * indexes live in memory only and are built again by each new reader.
   */
  indexCacheDir?: string;
  /** Lines longer than this are skipped as malformed (default DEFAULT_MAX_LINE_BYTES). */
  maxLineBytes?: number;
}

export const DEFAULT_MAX_CACHED_BYTES = 128 << 20;
export const DEFAULT_MAX_INDEX_BYTES = 96 << 20;
/**
 * With indexes on disk, memory holds the first ones used, up to about 150,000 records, and evicts
 * none for others: a filter across a bigger run reads the rest back (about half a millisecond a
 * step on the bench machine) and drops each after use, so the memory a big run costs stays at
 * what parsing its records did before the index.
 */
export const DEFAULT_MAX_INDEX_BYTES_ON_DISK = 2 << 20;

const STEP_FILE = /^step-(\d+)\.jsonl$/;
const RECORD_ID_STEP = /^s(\d+)-/;
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
  /** Set by refresh() when run.json (or the whole folder) is gone. */
  gone = false;

  private readonly metricsFollower: JsonlFollower<MetricsLine>;
  readonly maxLineBytes: number;
  private manifestText: string;
  private stepList: number[] = [];
  private readonly metricsSteps = new Set<number>();
  /** Parsed complete steps, bounded by the bytes of their lines. */
  private readonly cache: ByteLru<number, StepRollouts>;
  private readonly loading = new Map<number, Promise<StepRollouts>>();
  /** Step indexes, bounded by the bytes they hold, and the updates in flight. */
  private readonly indexes: ByteLru<number, StepIndex>;
  private readonly indexing = new Map<number, Promise<StepIndex>>();
  /** This run's folder in the index cache (undefined: indexes are not kept on disk). */
  private readonly indexCacheFolder: string | undefined;
  /**
   * Steps whose index has a cache file (it may be stale: loading checks it against the file),
   * with the file's state when this reader wrote or checked that cache file (undefined: not yet).
   */
  private readonly indexesOnDisk = new Map<number, FileState | undefined>();
  private readonly indexCacheFiles = new Map<number, string>();
  /** What the next index update reads with (updates mostly run one after another). */
  private spare: BuildScratch | undefined;
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
    const maxCachedSteps = Math.max(1, Math.floor(options.maxCachedSteps ?? Number.MAX_SAFE_INTEGER));
    this.cache = new ByteLru(Math.max(0, options.maxCachedBytes ?? DEFAULT_MAX_CACHED_BYTES), (step) => step.bytes, maxCachedSteps);
    const cacheDir = options.indexCacheDir;
    this.indexCacheFolder = cacheDir !== undefined && !isInside(cacheDir, runDir) ? runCacheFolder(cacheDir, runDir) : undefined;
    const defaultIndexBytes = this.indexCacheFolder ? DEFAULT_MAX_INDEX_BYTES_ON_DISK : DEFAULT_MAX_INDEX_BYTES;
    this.indexes = new ByteLru(Math.max(0, options.maxIndexBytes ?? defaultIndexBytes), (index) => index.bytes);
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.metricsFollower = new JsonlFollower(path.join(runDir, RunPaths.metrics), (value) => parseMetricsLine(value), { maxLineBytes: this.maxLineBytes });
  }

  static async open(runDir: string, opts: RunReaderOptions = {}): Promise<RunReader> {
    const dir = path.resolve(runDir);
    const { text, manifest } = await readManifestFile(dir);
    const reader = new RunReader(dir, text, manifest, opts);
    const polled = await reader.metricsFollower.poll();
    reader.addMetrics(polled.records);
    reader.addMalformed(polled.malformed);
    reader.stepList = await listStepFiles(dir);
    await reader.noteIndexesOnDisk();
    return reader;
  }

  /**
   * Bumped when already-read data may have been rewritten (a resumed run truncated metrics or
   * deleted or rewrote rollout files): anything derived from the run's records must be recomputed.
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

  /** Reads what the trainer added since open() or the last refresh. Never rejects for what the folder holds. */
  async refresh(): Promise<RefreshResult> {
    const result: RefreshResult = { manifestChanged: false, newMetrics: [], newSteps: [], removedSteps: [], metricsRestarted: false, gone: false };
    try {
      const { text, manifest } = await readManifestFile(this.runDir);
      this.gone = false;
      if (text !== this.manifestText) {
        this.manifestText = text;
        this.manifest = manifest;
        result.manifestChanged = true;
      }
    } catch (error) {
      // run.json is replaced atomically, so a failed read is transient and the last good manifest
      // stays; a missing one means the run (or its folder) was removed.
      if (error instanceof MissingManifestError) this.gone = result.gone = true;
    }
    const polled = await this.metricsFollower.poll().catch((error: unknown) => {
      this.addMalformed([{ file: this.metricsFollower.path, line: 0, message: `could not read: ${errorText(error)}` }]);
      return { records: [], malformed: [], restarted: false };
    });
    this.addMalformed(polled.malformed);
    if (polled.restarted) {
      this.metrics = [];
      this.metricsSteps.clear();
      result.metricsRestarted = true;
    }
    this.addMetrics(polled.records);
    result.newMetrics = polled.records;

    const listed = await listStepFiles(this.runDir).catch(() => [] as number[]);
    const before = new Set(this.stepList);
    const now = new Set(listed);
    result.newSteps = listed.filter((s) => !before.has(s));
    result.removedSteps = this.stepList.filter((s) => !now.has(s));
    this.stepList = listed;
    // A step that became complete or disappeared must be read again next time.
    for (const s of result.removedSteps) {
      this.cache.delete(s);
      this.indexes.delete(s);
      if (this.indexesOnDisk.delete(s)) await removeIndex(this.indexCacheFileOf(s) as string);
    }
    for (const m of polled.records) this.cache.delete(m.step);
    if (polled.restarted) this.cache.clear();
    if (polled.restarted || result.removedSteps.length > 0) this._generation += 1;
    return result;
  }

  /** Parses one step's rollout file (cached). Rejects when the step has no rollout file. */
  loadStep(step: number): Promise<StepRollouts> {
    const cached = this.cache.get(step);
    if (cached) return Promise.resolve(cached);
    const inFlight = this.loading.get(step);
    if (inFlight) return inFlight;
    const load = this.readStep(step).finally(() => this.loading.delete(step));
    this.loading.set(step, load);
    return load;
  }

  /** The parsed steps currently cached, least recently used first (for tests and diagnostics). */
  cachedSteps(): number[] {
    return this.cache.keys();
  }

  /** Steps whose index is held, least recently used first (for tests and diagnostics). */
  indexedSteps(): number[] {
    return this.indexes.keys();
  }

  async findRecord(id: string): Promise<RolloutRecord | undefined> {
    const step = stepOfRecordId(id);
    if (step === undefined || !this.stepList.includes(step)) return undefined;
    return (await this.loadStep(step)).byId.get(id);
  }

  /** A layer-1 sample and its corrections, by the sample's record id. */
  async findLayer1Sample(id: string): Promise<Layer1Sample | undefined> {
    const step = stepOfRecordId(id);
    if (step === undefined || !this.stepList.includes(step)) return undefined;
    return (await this.loadStep(step)).layer1ById.get(id);
  }

  /**
   * A step's index, brought up to date with its file (see StepIndex.update). Rejects with an
   * Error naming the file when the step has no rollout file.
   */
  stepIndex(step: number): Promise<StepIndex> {
    const inFlight = this.indexing.get(step);
    if (inFlight) return inFlight;
    const work = this.updateIndex(step).finally(() => this.indexing.delete(step));
    this.indexing.set(step, work);
    return work;
  }

  /**
   * Whether the step's index is held, in memory or on disk (it may still need to catch up with
   * its file, or, from disk, turn out stale and be built again).
   */
  isIndexed(step: number): boolean {
    return this.indexes.has(step) || this.indexesOnDisk.has(step);
  }

  /** Whether the step's index is in memory now (for tests and diagnostics). */
  isIndexInMemory(step: number): boolean {
    return this.indexes.has(step);
  }

  /**
   * Builds (or brings up to date) the indexes of the given steps (default: all), one file at a
   * time, yielding between files: what a caller starts in the background after answering a
   * first filter the old way, so that the next one is answered from the indexes. Stops quietly
   * when the signal fires.
   */
  async buildIndexes(opts: Pick<ScanOptions, 'signal' | 'steps'> = {}): Promise<void> {
    for (const step of opts.steps ?? this.steps()) {
      if (opts.signal?.aborted) return;
      await this.stepIndexIfPresent(step);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Records per step for which `keep` holds, from the steps' indexes (default: every step with a
   * rollout file). Steps whose file vanished meanwhile count 0. Rejects with AbortError when the
   * signal fires (checked between files).
   */
  async countRows(keep: (row: RowFields) => boolean, opts: Pick<ScanOptions, 'signal' | 'onProgress' | 'steps'> = {}): Promise<Map<number, number>> {
    const steps = opts.steps ? [...opts.steps] : this.steps();
    const counts = new Map<number, number>();
    for (let i = 0; i < steps.length; i++) {
      if (opts.signal?.aborted) throw new AbortError();
      const index = await this.stepIndexIfPresent(steps[i]);
      counts.set(steps[i], index ? index.countRows(keep) : 0);
      opts.onProgress?.(i + 1, steps.length);
    }
    return counts;
  }

  /**
   * The full records of the rows of each step for which `keep` holds (say, one question's
   * samples across the run): found in the indexes, then only those lines are read and parsed.
   */
  async recordsWhere(keep: (index: StepIndex, row: number) => boolean, opts: Pick<ScanOptions, 'signal' | 'onProgress' | 'steps'> = {}): Promise<Map<number, RolloutRecord[]>> {
    const steps = opts.steps ? [...opts.steps] : this.steps();
    const found = new Map<number, RolloutRecord[]>();
    for (let i = 0; i < steps.length; i++) {
      if (opts.signal?.aborted) throw new AbortError();
      const index = await this.stepIndexIfPresent(steps[i]);
      const rows: number[] = [];
      if (index) for (let row = 0; row < index.count; row++) if (keep(index, row)) rows.push(row);
      if (index && rows.length > 0) found.set(steps[i], await this.readRows(index, rows));
      opts.onProgress?.(i + 1, steps.length);
    }
    return found;
  }

  /**
   * Visits every record of the run, parsed in full, step by step, in file order. Cached steps
   * are not read again. Rejects with AbortError when the signal fires (checked between files).
   * Filters and counts should use countRows()/recordsWhere(), which never parse token arrays.
   */
  async scan(visit: (r: RolloutRecord) => void, opts: ScanOptions = {}): Promise<void> {
    const steps = opts.steps ? [...opts.steps] : this.steps();
    const needles = opts.mustContain?.map((n) => Buffer.from(n, 'utf8'));
    const buffer = Buffer.allocUnsafe(4 << 20);
    for (let i = 0; i < steps.length; i++) {
      if (opts.signal?.aborted) throw new AbortError();
      const step = steps[i];
      const cached = this.cache.get(step);
      if (cached) {
        for (const record of cached.byId.values()) visit(record);
      } else {
        const file = this.rolloutPath(step);
        const malformed: Malformed[] = [];
        try {
          await streamLines(
            file,
            {
              line: (data, start, end, line) => {
                if (needles && !needles.some((n) => lineContains(data, start, end, n))) return;
                parseRecordLine(data.toString('utf8', start, end), file, line, visit, malformed);
              },
              tooLong: (line, _offset, length) => malformed.push(tooLongLine({ file, line }, length, this.maxLineBytes)),
            },
            { maxLineBytes: this.maxLineBytes, buffer },
          );
        } catch (error) {
          // A file listed a moment ago may be gone (a resumed run deletes later steps).
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw error;
        }
        this.addMalformed(malformed);
      }
      opts.onProgress?.(i + 1, steps.length);
    }
  }

  private async stepIndexIfPresent(step: number): Promise<StepIndex | undefined> {
    try {
      return await this.stepIndex(step);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** The cache file of a step's index, when indexes are kept on disk. */
  private indexCacheFileOf(step: number): string | undefined {
    if (!this.indexCacheFolder) return undefined;
    // Remembered: a filter asks for every step's, every time, and each is a hash of a resolved path.
    let file = this.indexCacheFiles.get(step);
    if (file === undefined) {
      file = indexCacheFile(this.indexCacheFolder, this.rolloutPath(step));
      this.indexCacheFiles.set(step, file);
    }
    return file;
  }

  /** Which steps' indexes are on disk already (from an earlier window, or another reader). */
  private async noteIndexesOnDisk(): Promise<void> {
    if (!this.indexCacheFolder) return;
    const names = await cachedIndexNames(this.indexCacheFolder);
    if (names.size === 0) return;
    for (const step of this.stepList) if (names.has(path.basename(this.indexCacheFileOf(step) as string))) this.indexesOnDisk.set(step, undefined);
  }

  private async updateIndex(step: number): Promise<StepIndex> {
    const cacheFile = this.indexCacheFileOf(step);
    let index = this.indexes.get(step);
    if (!index) {
      index = new StepIndex(step, this.rolloutPath(step), this.maxLineBytes);
      if (cacheFile && this.indexesOnDisk.has(step) && !(await loadIndex(cacheFile, index, this.indexesOnDisk.get(step)))) this.indexesOnDisk.delete(step);
    }
    const before = { end: index.end, size: index.size, mtimeMs: index.mtimeMs };
    let kept: boolean;
    try {
      // One read buffer and row batch for the reader's index builds (they are mostly one after
      // another): a 1,000-step run then allocates one of each, not a thousand. Updates running
      // alongside get scratch of their own, which allocates only if it reads.
      const scratch = this.spare ?? new BuildScratch();
      this.spare = undefined;
      try {
        kept = await index.update(scratch);
      } finally {
        this.spare = scratch;
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        const missing = new Error(`step ${step} has no rollout file (${index.file})`) as NodeJS.ErrnoException;
        missing.code = 'ENOENT';
        throw missing;
      }
      throw error;
    }
    if (!kept) {
      // Rewritten since it was indexed: what was parsed from it is stale too.
      this.cache.delete(step);
      this._generation += 1;
    }
    this.addMalformed(index.malformed);
    const changed = !kept || index.end !== before.end || index.size !== before.size || index.mtimeMs !== before.mtimeMs;
    if (cacheFile && (changed || !this.indexesOnDisk.has(step))) {
      if (await saveIndex(cacheFile, index)) this.indexesOnDisk.set(step, { size: index.size, mtimeMs: index.mtimeMs, end: index.end });
      else this.indexesOnDisk.delete(step);
    } else if (cacheFile && this.indexesOnDisk.get(step) === undefined) {
      // Loaded, checked against the file and found current: the next reload may skip the check.
      this.indexesOnDisk.set(step, { size: index.size, mtimeMs: index.mtimeMs, end: index.end });
    }
    if (this.indexesOnDisk.get(step) !== undefined) {
      // On disk and current there: kept in memory while there is room, never by evicting another.
      // Filters pass over every step's index in order, which an LRU smaller than the run turns
      // into one eviction per step; the indexes it dropped lived long enough to wait for V8's
      // late, full collections (measured: a peak RSS of 118 MiB building the bench's indexes,
      // against 105 MiB for the full-parse scan), while one used once and not kept dies young.
      this.indexes.setIfRoom(step, index);
    } else {
      this.indexes.set(step, index); // taken again: an index that grew costs more
    }
    return index;
  }

  /** Reads and parses the given rows' lines (one open, one read per line). */
  private async readRows(index: StepIndex, rows: number[]): Promise<RolloutRecord[]> {
    const records: RolloutRecord[] = [];
    const malformed: Malformed[] = [];
    const handle = await fs.open(index.file, 'r');
    try {
      for (const row of rows) {
        const bytes = await readBytes(handle, index.lineOffset.values[row], index.lineLength.values[row]);
        parseRecordLine(bytes.toString('utf8'), index.file, index.lineNumberOf(row), (r) => records.push(r), malformed);
      }
    } finally {
      await handle.close();
    }
    this.addMalformed(malformed);
    return records;
  }

  private async readStep(step: number): Promise<StepRollouts> {
    const file = this.rolloutPath(step);
    const records: RolloutRecord[] = [];
    const lines: number[] = [];
    const malformed: Malformed[] = [];
    let bytes = 0;
    try {
      await streamLines(
        file,
        {
          line: (data, start, end, line) => {
            bytes += end - start;
            parseRecordLine(data.toString('utf8', start, end), file, line, (r) => {
              records.push(r);
              lines.push(line);
            }, malformed);
          },
          tooLong: (line, _offset, length) => malformed.push(tooLongLine({ file, line }, length, this.maxLineBytes)),
        },
        { maxLineBytes: this.maxLineBytes },
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`step ${step} has no rollout file (${file})`);
      throw error;
    }
    const rollouts = groupStep(step, records, lines, file, malformed, bytes);
    this.addMalformed(rollouts.malformed);
    if (this.isStepComplete(step)) this.cache.set(step, rollouts);
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

/**
 * A run that can be browsed: opened, with at least one step file. The one test for "which runs
 * can a command offer" (Compare, Pick Sample, the panels).
 */
export function hasRollouts(reader: RunReader | undefined): reader is RunReader {
  return reader !== undefined && reader.steps().length > 0;
}

/** run.json is not there: the folder is not (or no longer) a run. */
export class MissingManifestError extends Error {
  override name = 'MissingManifestError';
}

/**
 * A run's manifest alone: what listing runs needs (steps and metrics are read when the run is
 * opened). Rejects with MissingManifestError, or an Error "invalid run.json: <file>: <what>".
 */
export async function readRunManifest(runDir: string): Promise<RunManifest> {
  return (await readManifestFile(path.resolve(runDir))).manifest;
}

/** run.json is small by nature; a bigger one is not a manifest (and is not read whole). */
const MAX_MANIFEST_BYTES = 1 << 20;

async function readManifestFile(runDir: string): Promise<{ text: string; manifest: RunManifest }> {
  const file = path.join(runDir, RunPaths.manifest);
  let text: string;
  try {
    text = await readSmallFile(file, MAX_MANIFEST_BYTES);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new MissingManifestError(`${runDir} is not an MGRPO run: ${RunPaths.manifest} not found`);
    if (code === 'EISDIR') throw new Error(`invalid run.json: ${file}: a folder, not a file`);
    throw new Error(`invalid run.json: ${file}: ${errorText(error)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`invalid run.json: ${file}: not JSON: ${errorText(error)}`);
  }
  try {
    return { text, manifest: parseManifest(value) };
  } catch (error) {
    throw new Error(`invalid run.json: ${file}: ${errorText(error)}`);
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

function parseRecordLine(text: string, file: string, line: number, visit: (r: RolloutRecord, line: number) => void, malformed: Malformed[]): void {
  const parsed = parseJsonLine(text, { file, line }, parseRolloutRecord);
  if (parsed === undefined) return;
  if ('malformed' in parsed) malformed.push(parsed.malformed);
  else visit(parsed.record, line);
}

/** True when bytes [start, end) of `data` contain `needle`: a raw pre-check before JSON.parse. */
function lineContains(data: Buffer, start: number, end: number, needle: Buffer): boolean {
  return data.subarray(start, end).indexOf(needle) !== -1;
}

/** Builds the question-group tree of one step; a correction whose parent is missing is malformed. */
function groupStep(step: number, records: RolloutRecord[], lines: number[], file: string, malformed: Malformed[], bytes: number): StepRollouts {
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
  return { step, groups: sorted, byId, layer1ById, malformed, bytes };
}
