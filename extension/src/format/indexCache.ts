// Step indexes kept on disk, so that a window reload (or another window) filters a big run from
// its indexes at once instead of indexing every step file again. One cache file per step file,
// named by a hash of the step file's absolute path, in a folder the caller owns (the extension's
// global storage): never inside the run folder, which may be read-only or someone else's.
//
// A cache file is a fixed magic, a JSON header (format version, the step file's size, mtime,
// content mark, end and lines, and the index's question ids, line shifts and malformed lines),
// then each column's raw typed-array bytes. It is trusted only when everything in it is
// consistent and the step file still begins with the bytes it was built from (contentMark.ts);
// anything else (a truncated, garbled or older-format file, another reader's half-written one)
// means "not cached": the index is built again, and no error reaches the user. Files are written
// to a temporary name and renamed, so a reader never sees half of one.

import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { markHolds, type ContentMark } from './contentMark';
import type { Malformed } from './jsonlFollower';
import { OUTCOME_CODES } from './recordSummary';
import { COLUMN_KINDS, COLUMN_NAMES, type ColumnKind, type ColumnName, type ColumnValues, type StepIndex } from './stepIndex';

/** Bumped whenever the layout or the meaning of a column changes: older files are rebuilt. */
export const INDEX_CACHE_VERSION = 1;
const MAGIC = Buffer.from('MGRPOIX\n', 'latin1');
const PREFIX_BYTES = MAGIC.length + 4;
/** A header bigger than this is not one of ours (question ids and malformed lines are bounded by the step file anyway). */
const MAX_HEADER_BYTES = 64 << 20;
/** Columns bigger than this are not ours either (over 4 GiB: a billion records in one step file). */
const MAX_COLUMN_BYTES = 2 ** 32;

interface Header {
  version: number;
  endian: string;
  file: string;
  maxLineBytes: number;
  size: number;
  mtimeMs: number;
  end: number;
  lines: number;
  count: number;
  mark: { end: number; head: string; tail: string };
  columns: [ColumnName, ColumnKind][];
  questionIds: string[];
  lineShifts: number[];
  malformed: Malformed[];
}

const hash = (text: string, length: number): string => createHash('sha256').update(text).digest('hex').slice(0, length);

/** The folder holding one run's cache files (one per run keeps a listing small). */
export function runCacheFolder(cacheDir: string, runDir: string): string {
  return path.join(cacheDir, hash(path.resolve(runDir), 16));
}

/** The cache file of a step file, within its run's folder. */
export function indexCacheFile(runFolder: string, stepFile: string): string {
  return path.join(runFolder, `${hash(path.resolve(stepFile), 32)}.idx`);
}

/** Whether `dir` is `runDir` or inside it: no cache may be written there. */
export function isInside(dir: string, runDir: string): boolean {
  const relative = path.relative(path.resolve(runDir), path.resolve(dir));
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** A temporary file this old is a write that never finished (its process died): nobody renames it any more. */
export const STALE_TEMPORARY_MS = 60 * 60 * 1000;

/**
 * Names of the cache files a run's folder holds now (none when it does not exist or cannot be
 * read). Removes the temporary files of writes that died (older than STALE_TEMPORARY_MS; a younger
 * one may be another window's write in progress).
 */
export async function cachedIndexNames(runFolder: string, now = Date.now()): Promise<Set<string>> {
  let names: string[];
  try {
    names = await fs.readdir(runFolder);
  } catch {
    return new Set();
  }
  await Promise.all(names.filter((name) => name.endsWith('.tmp')).map(async (name) => {
    const file = path.join(runFolder, name);
    const stat = await fs.stat(file).catch(() => undefined);
    if (stat && now - stat.mtimeMs > STALE_TEMPORARY_MS) await fs.rm(file, { force: true }).catch(() => undefined);
  }));
  return new Set(names.filter((name) => name.endsWith('.idx')));
}

/** The parts of an index's cache file, in order: a header, then each column's values as they lie in memory (no copy). */
function indexFileParts(index: StepIndex): Buffer[] {
  if (!index.mark) throw new Error(`index of ${index.file} was never built`);
  const header: Header = {
    version: INDEX_CACHE_VERSION,
    endian: os.endianness(),
    file: path.resolve(index.file),
    maxLineBytes: index.maxLineBytes,
    size: index.size,
    mtimeMs: index.mtimeMs,
    end: index.end,
    lines: index.lines,
    count: index.count,
    mark: { end: index.mark.end, head: index.mark.head.toString('base64'), tail: index.mark.tail.toString('base64') },
    columns: COLUMN_NAMES.map((name) => [name, index.column(name).kind]),
    questionIds: index.questionIds,
    lineShifts: index.lineShifts,
    malformed: index.malformed,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(PREFIX_BYTES);
  MAGIC.copy(prefix);
  prefix.writeUInt32LE(json.length, MAGIC.length);
  const columns = COLUMN_NAMES.map((name) => {
    const values = index.column(name).values.subarray(0, index.count);
    return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  });
  return [prefix, json, ...columns];
}

/** What a cache file holds, when it is whole and consistent and made for `stepFile`; undefined otherwise. */
export function decodeIndex(data: Buffer, stepFile: string, maxLineBytes: number): Parameters<StepIndex['restore']>[0] | undefined {
  try {
    if (data.length < PREFIX_BYTES || !data.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
    const headerBytes = data.readUInt32LE(MAGIC.length);
    if (headerBytes > MAX_HEADER_BYTES || PREFIX_BYTES + headerBytes > data.length) return undefined;
    const header = JSON.parse(data.toString('utf8', PREFIX_BYTES, PREFIX_BYTES + headerBytes)) as Header;
    if (!isHeader(header) || header.version !== INDEX_CACHE_VERSION || header.endian !== os.endianness()) return undefined;
    if ((header.file !== stepFile && header.file !== path.resolve(stepFile)) || header.maxLineBytes !== maxLineBytes) return undefined;
    const columns = new Map<ColumnName, { kind: ColumnKind; values: ColumnValues }>();
    let at = PREFIX_BYTES + headerBytes;
    for (const [name, kind] of header.columns) {
      const Kind = COLUMN_KINDS[kind];
      const bytes = header.count * Kind.BYTES_PER_ELEMENT;
      if (at + bytes > data.length) return undefined;
      // Copied, not viewed: the file's bytes need not be aligned for the element type.
      const values = new Kind(header.count);
      new Uint8Array(values.buffer).set(data.subarray(at, at + bytes));
      columns.set(name, { kind, values });
      at += bytes;
    }
    if (at !== data.length) return undefined;
    // Values that would index past the question ids or the outcome codes are not ours either.
    const question = columns.get('question')?.values;
    if (question?.some((slot) => slot >= header.questionIds.length)) return undefined;
    if (columns.get('flags')?.values.some((flags) => ((flags >> 3) & 7) >= OUTCOME_CODES.length || ((flags >> 1) & 3) === 3 || flags >> 6 === 3)) return undefined;
    const mark: ContentMark = { end: header.mark.end, head: Buffer.from(header.mark.head, 'base64'), tail: Buffer.from(header.mark.tail, 'base64') };
    if (mark.end !== header.end) return undefined;
    return { ...header, mark, columns };
  } catch {
    return undefined;
  }
}

/**
 * Read buffers for cache files, reused: a filter across a long run reads a thousand of them, and
 * a fresh buffer each (fs.readFile) is a thousand allocations outside V8's heap, which it
 * collects late. One per load running at once; a bigger file gets its own.
 */
const READ_BUFFER_BYTES = 64 << 10;
const MAX_POOLED_BUFFERS = 8;
const readBuffers: Buffer[] = [];

/** A cache file's bytes, in `buffer` when they fit (a view of it: valid until the buffer is reused). */
async function readCacheFile(file: string, buffer: Buffer): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    if (size > PREFIX_BYTES + MAX_HEADER_BYTES + MAX_COLUMN_BYTES) throw new Error(`${file}: ${size} bytes is not an index`);
    const target = size <= buffer.length ? buffer : Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await handle.read(target, filled, size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return target.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** A step file as an index saw it: what a reader remembers of the cache files it wrote or checked. */
export interface FileState {
  size: number;
  mtimeMs: number;
  end: number;
}

/**
 * Fills a fresh `index` from its cache file when that file is sound and the step file still
 * holds the bytes it was built from (it may have grown since: update() indexes on from `end`).
 * False, and `index` untouched, otherwise: missing, corrupt, stale or unreadable alike.
 * `verified`: the state this reader already checked the file in (the check is then skipped).
 */
export async function loadIndex(cacheFile: string, index: StepIndex, verified?: FileState): Promise<boolean> {
  const buffer = readBuffers.pop() ?? Buffer.allocUnsafe(READ_BUFFER_BYTES);
  let state: ReturnType<typeof decodeIndex>;
  try {
    // decodeIndex copies what it keeps, so the buffer goes back to the pool.
    state = decodeIndex(await readCacheFile(cacheFile, buffer), index.file, index.maxLineBytes);
  } catch {
    return false;
  } finally {
    if (readBuffers.length < MAX_POOLED_BUFFERS) readBuffers.push(buffer);
  }
  if (!state) return false;
  // Written or checked by this reader for the file as it was then: update() compares size and
  // mtime with the file's now, as for an index held in memory.
  if (verified && verified.size === state.size && verified.mtimeMs === state.mtimeMs && verified.end === state.end) return index.restore(state);
  try {
    const handle = await fs.open(index.file, 'r');
    try {
      const size = (await handle.stat()).size;
      if (!(await markHolds(handle, state.mark, size))) return false;
    } finally {
      await handle.close();
    }
  } catch {
    return false; // the step file is gone or unreadable: update() will say so
  }
  return index.restore(state);
}

/**
 * Writes an index's cache file atomically (a temporary file renamed over it: a concurrent
 * reader sees the old file or the new one, and two writers' last rename wins whole). Returns
 * false when it could not: a cache is a convenience, its failure is not the user's problem.
 */
export async function saveIndex(cacheFile: string, index: StepIndex): Promise<boolean> {
  const temporary = `${cacheFile}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  try {
    await fs.mkdir(path.dirname(cacheFile), { recursive: true });
    // Written part by part: one buffer of the whole file would be garbage the size of the index.
    await fs.writeFile(temporary, indexFileParts(index));
    await fs.rename(temporary, cacheFile);
    return true;
  } catch {
    await fs.rm(temporary, { force: true }).catch(() => undefined);
    return false;
  }
}

/** Removes a cache file (its step file is gone); quietly does nothing when it cannot. */
export async function removeIndex(cacheFile: string): Promise<void> {
  await fs.rm(cacheFile, { force: true }).catch(() => undefined);
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

function isHeader(value: Header): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const { mark, columns } = value;
  return (
    typeof value.version === 'number' && typeof value.endian === 'string' && typeof value.file === 'string' && typeof value.maxLineBytes === 'number' &&
    isCount(value.size) && typeof value.mtimeMs === 'number' && isCount(value.end) && isCount(value.lines) && isCount(value.count) && value.end <= value.size &&
    typeof mark === 'object' && mark !== null && isCount(mark.end) && typeof mark.head === 'string' && typeof mark.tail === 'string' &&
    Array.isArray(columns) && columns.length === COLUMN_NAMES.length &&
    columns.every((c, i) => Array.isArray(c) && c[0] === COLUMN_NAMES[i] && Object.prototype.hasOwnProperty.call(COLUMN_KINDS, c[1])) &&
    Array.isArray(value.questionIds) && value.questionIds.every((id) => typeof id === 'string') &&
    Array.isArray(value.lineShifts) && value.lineShifts.length % 2 === 0 && value.lineShifts.every((n) => Number.isSafeInteger(n)) && (value.count === 0 || value.lineShifts.length >= 2) &&
    Array.isArray(value.malformed) && value.malformed.every((m) => typeof m === 'object' && m !== null && typeof m.file === 'string' && typeof m.line === 'number' && typeof m.message === 'string')
  );
}
