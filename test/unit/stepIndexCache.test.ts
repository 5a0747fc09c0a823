// The compact step index and its on-disk cache (issue 7, part 7): the index must give exactly
// the fields a full parse gives, and a cache file must give exactly the index a fresh build gives,
// or be ignored: stale, grown, rewritten, corrupt or shared files never change what a filter counts.

import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { decodeIndex, indexCacheFile, loadIndex, runCacheFolder, saveIndex, STALE_TEMPORARY_MS } from '../../extension/src/format/indexCache';
import { DEFAULT_MAX_LINE_BYTES } from '../../extension/src/format/lines';
import { RunReader } from '../../extension/src/format/runReader';
import { COLUMN_NAMES, Column, StepIndex } from '../../extension/src/format/stepIndex';
import type { RolloutRecord } from '../../extension/src/format/types';
import { matchesFilter } from '../../extension/src/model/filters';
import { copyFixtureRun, fixtureRecords, tempDir } from './fixture';

const STEP_1 = path.join('rollouts', 'step-000001.jsonl');

/** What the index must say about each line, from a full JSON.parse of the file (the reference). */
interface Expected {
  offset: number;
  length: number;
  line: number;
  layer: 1 | 2;
  correct: boolean | null;
  reward: number | null;
  outcome: string | null;
  lengthLimited: boolean | null;
  questionId: string;
}

function expectedRows(bytes: Buffer): { rows: Expected[]; malformedLines: number[] } {
  const rows: Expected[] = [];
  const malformedLines: number[] = [];
  let offset = 0;
  let line = 0;
  while (offset < bytes.length) {
    const newline = bytes.indexOf(0x0a, offset);
    if (newline < 0) break; // an unterminated last line is not written yet
    line += 1;
    let end = newline;
    if (end > offset && bytes[end - 1] === 0x0d) end -= 1;
    const text = bytes.toString('utf8', offset, end);
    if (text.trim() !== '') {
      let record: RolloutRecord | undefined;
      try {
        record = JSON.parse(text) as RolloutRecord;
      } catch {
        record = undefined;
      }
      if (record && (record.layer === 1 || record.layer === 2)) {
        rows.push({
          offset, length: end - offset, line, layer: record.layer, correct: record.correct, reward: record.reward, outcome: record.outcome ?? null,
          lengthLimited: record.finish_reason === null ? null : record.finish_reason === 'length', questionId: record.question_id,
        });
      } else {
        malformedLines.push(line);
      }
    }
    offset = newline + 1;
  }
  return { rows, malformedLines };
}

function assertIndexMatches(index: StepIndex, bytes: Buffer): void {
  const { rows, malformedLines } = expectedRows(bytes);
  assert.equal(index.count, rows.length);
  rows.forEach((want, row) => {
    const got = {
      offset: index.lineOffset.values[row], length: index.lineLength.values[row], line: index.lineNumberOf(row), ...index.fields(row),
      lengthLimited: index.lengthLimitedOf(row), questionId: index.questionIds[index.question.values[row]],
    };
    assert.deepEqual(got, want, `row ${row}`);
  });
  assert.deepEqual(index.malformed.map((m) => m.line), malformedLines);
}

/** Everything an index holds, as plain values (for comparing a loaded index with a fresh one). */
function snapshot(index: StepIndex): unknown {
  return {
    count: index.count, end: index.end, lines: index.lines, size: index.size, mtimeMs: index.mtimeMs,
    mark: index.mark && { end: index.mark.end, head: index.mark.head.toString('hex'), tail: index.mark.tail.toString('hex') },
    columns: COLUMN_NAMES.map((name) => [name, index.column(name).kind, [...index.column(name).values]]),
    questionIds: [...index.questionIds], lineShifts: [...index.lineShifts], malformed: [...index.malformed],
  };
}

async function freshIndex(file: string): Promise<StepIndex> {
  const index = new StepIndex(1, file);
  await index.update();
  return index;
}

/** Hostile lines between records: blank, CRLF, not JSON, a wrong layer, nulls, a reward float32 cannot hold, an unterminated tail. */
function hostileStep(): string {
  const [a, b, c, d] = fixtureRecords().filter((r) => r.step === 1 && r.layer === 2).concat(fixtureRecords().filter((r) => r.step === 1));
  const line = (r: object): string => JSON.stringify(r);
  return [
    line({ ...a, reward: 0.1, finish_reason: 'length', outcome: 'c->i' }),
    '',
    '   \t',
    `${line({ ...b, correct: null, reward: null, finish_reason: null, outcome: 'i->i', question_id: 'q-ünïcødé "quoted"' })}\r`,
    '{"id": "not json',
    line({ ...c, layer: 3 }),
    line({ ...d, reward: -2.5 }),
    line({ ...a, reward: 1e300 }),
  ].join('\n') + '\n' + line(a).slice(0, 40);
}

describe('the compact step index', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await copyFixtureRun()));
  afterEach(() => cleanup());

  it('gives the fields a full parse gives, on the fixture', async () => {
    for (const name of ['step-000001.jsonl', 'step-000002.jsonl']) {
      const file = path.join(dir, 'rollouts', name);
      assertIndexMatches(await freshIndex(file), await fs.readFile(file));
    }
  });

  it('holds 14 bytes a record while offsets, rewards and question slots fit u32, f32 and u8', async () => {
    const index = await freshIndex(path.join(dir, STEP_1));
    assert.equal(index.count, 12);
    assert.deepEqual(COLUMN_NAMES.map((name) => index.column(name).kind), ['u32', 'u32', 'u8', 'f32', 'u8']);
    // 4 (offset) + 4 (length) + 1 (flags) + 4 (reward) + 1 (question) = 14, against 52 before.
    const columnBytes = COLUMN_NAMES.reduce((n, name) => n + index.column(name).values.byteLength, 0);
    assert.equal(columnBytes, 12 * 14);
    assert.deepEqual(index.lineShifts, [0, 1], 'a clean file: record r is on line r + 1');
  });

  it('gives the fields a full parse gives, on hostile lines (and widens the reward column for 0.1)', async () => {
    const file = path.join(dir, STEP_1);
    await fs.writeFile(file, hostileStep());
    const index = await freshIndex(file);
    assertIndexMatches(index, await fs.readFile(file));
    assert.equal(index.count, 4);
    assert.equal(index.column('reward').kind, 'f64', '0.1 is not a float32');
    assert.equal(index.reward.values[0], 0.1);
    assert.deepEqual([0, 1, 2, 3].map((row) => index.lineNumberOf(row)), [1, 4, 7, 8], 'two blank lines, then two malformed ones, skipped');
    assert.deepEqual(index.lineShifts, [0, 1, 1, 3, 2, 5], "[first row, line - row] pairs");
  });

  it('widens a column once, keeping the values it had, and is always exactly as long as its rows', () => {
    const batch = (...values: number[]) => Float64Array.from(values);
    const offsets = new Column(['u32', 'f64']);
    offsets.append(0, batch(7, 2 ** 32 - 1), 2);
    assert.equal(offsets.kind, 'u32');
    offsets.append(2, batch(2 ** 32 + 5, 99), 1); // a line past 4 GiB; the batch's spare slot is not taken
    assert.equal(offsets.kind, 'f64');
    assert.deepEqual([...offsets.values], [7, 2 ** 32 - 1, 2 ** 32 + 5]);
    const slots = new Column(['u8', 'u16', 'u32']);
    slots.append(0, batch(3, 70_000), 2); // skips u16
    assert.equal(slots.kind, 'u32');
    assert.deepEqual([...slots.values], [3, 70_000]);
    const rewards = new Column(['f32', 'f64']);
    rewards.append(0, batch(0, 1, 0.5, -0.25, Number.NaN), 5);
    assert.equal(rewards.kind, 'f32', 'exact in float32, NaN (null) included');
    rewards.append(5, batch(1 / 3), 1);
    assert.equal(rewards.kind, 'f64');
    assert.equal(rewards.values[5], 1 / 3);
    assert.equal(rewards.values[3], -0.25);
    assert.ok(Number.isNaN(rewards.values[4]));
    assert.equal(rewards.values.length, 6);
  });

  it('indexes a step file bigger than one row batch (65,536 rows) the same as in one go', async () => {
    const file = path.join(dir, STEP_1);
    const [record] = fixtureRecords().filter((r) => r.step === 1 && r.layer === 1);
    const { token_logprobs: _logprobs, token_entropies: _entropies, token_offsets: _offsets, ...small } = record;
    const lines: string[] = [];
    for (let i = 0; i < 70_000; i++) lines.push(JSON.stringify({ ...small, id: `${record.id}-${i}`, reward: i % 3 === 0 ? 0.1 : 1 }));
    await fs.writeFile(file, lines.join('\n') + '\n');
    const index = await freshIndex(file);
    assertIndexMatches(index, await fs.readFile(file));
    assert.equal(index.count, 70_000);
    for (const name of COLUMN_NAMES) assert.equal(index.column(name).values.length, 70_000, name);
    assert.equal(index.column('reward').kind, 'f64', '0.1 in the first batch widens the column');
    assert.equal(index.fields(69_998).reward, 1, 'a row of the second batch');
    assert.equal(index.fields(69_999).reward, 0.1);
    assert.equal(index.lineNumberOf(69_999), 70_000);
  });

  it('counts what a filter on full records counts, reward bounds included', async () => {
    const file = path.join(dir, STEP_1);
    await fs.writeFile(file, hostileStep() + '\n');
    const index = await freshIndex(file);
    const records = (await fs.readFile(file, 'utf8')).split('\n').flatMap((l) => {
      try {
        const r = JSON.parse(l) as RolloutRecord;
        return r.layer === 1 || r.layer === 2 ? [r] : [];
      } catch {
        return [];
      }
    });
    for (const filter of [{ minReward: 0.1 }, { maxReward: 0.1 }, { minReward: 0.1000001 }, { maxReward: 0 }, { outcomes: ['c->i' as const] }, { minReward: 1e299 }]) {
      assert.equal(index.countRows((row) => matchesFilter(row, filter)), records.filter((r) => matchesFilter(r, filter)).length, JSON.stringify(filter));
    }
  });
});

describe('step indexes on disk', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let cacheDir: string;
  let cleanupCache: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await copyFixtureRun());
    ({ dir: cacheDir, cleanup: cleanupCache } = await tempDir('mgrpo-index-cache-'));
  });
  afterEach(async () => {
    await cleanup();
    await cleanupCache();
  });

  const cacheFileOf = (file: string): string => indexCacheFile(runCacheFolder(cacheDir, dir), file);

  it('a cache round-trip equals a fresh build, and a fresh reader counts from it without reading the step files', async () => {
    const first = await RunReader.open(dir, { indexCacheDir: cacheDir });
    assert.equal(first.isIndexed(1), false);
    const counts = await first.countRows((row) => row.outcome === 'c->i');
    const file = path.join(dir, STEP_1);
    const loaded = new StepIndex(1, file);
    assert.equal(await loadIndex(cacheFileOf(file), loaded), true);
    assert.deepEqual(snapshot(loaded), snapshot(await freshIndex(file)));

    // The window-reload case: a new reader knows the indexes are on disk before reading anything.
    const second = await RunReader.open(dir, { indexCacheDir: cacheDir });
    assert.deepEqual(second.steps().map((s) => [second.isIndexed(s), second.isIndexInMemory(s)]), [[true, false], [true, false]]);
    assert.deepEqual([...(await second.countRows((row) => row.outcome === 'c->i'))], [...counts]);
    assert.deepEqual(second.indexedSteps(), [1, 2]);
    // And it can still open the rows it found.
    const found = await second.recordsWhere((index, row) => index.fields(row).outcome === 'c->i');
    assert.deepEqual([...found].map(([s, rs]) => [s, rs.length]), [...counts].filter(([, n]) => n > 0));
  });

  it('indexes a file grown after caching on from the cached end', async () => {
    const file = path.join(dir, STEP_1);
    const text = await fs.readFile(file, 'utf8');
    const lines = text.split('\n').filter(Boolean);
    await fs.writeFile(file, lines.slice(0, 5).join('\n') + '\n' + lines[5].slice(0, 30));
    await (await RunReader.open(dir, { indexCacheDir: cacheDir })).stepIndex(1);
    const cachedEnd = Buffer.byteLength(lines.slice(0, 5).join('\n') + '\n');
    await fs.writeFile(file, text);

    const loaded = new StepIndex(1, file);
    assert.equal(await loadIndex(cacheFileOf(file), loaded), true, 'the grown file still begins with the cached bytes');
    assert.deepEqual([loaded.count, loaded.end, loaded.lines], [5, cachedEnd, 5]);
    assert.equal(await loaded.update(), true, 'indexed on, not rebuilt');
    assert.deepEqual(snapshot(loaded), snapshot(await freshIndex(file)));

    const reader = await RunReader.open(dir, { indexCacheDir: cacheDir });
    assert.equal((await reader.stepIndex(1)).count, 12);
    const saved = new StepIndex(1, file);
    assert.equal(await loadIndex(cacheFileOf(file), saved), true);
    assert.equal(saved.count, 12, 'the grown index was saved again');
  });

  it('rebuilds the index of a file rewritten to the same size and mtime', async () => {
    const file = path.join(dir, STEP_1);
    const reader = await RunReader.open(dir, { indexCacheDir: cacheDir });
    assert.equal((await reader.stepIndex(1)).fields(0).reward, 1);
    const before = await fs.stat(file);
    const text = await fs.readFile(file, 'utf8');
    const rewritten = text.replace('"reward": 1.0', '"reward": 0.0');
    assert.equal(rewritten.length, text.length);
    await fs.writeFile(file, rewritten);
    await fs.utimes(file, before.atime, before.mtime);

    const loaded = new StepIndex(1, file);
    assert.equal(await loadIndex(cacheFileOf(file), loaded), false);
    const fresh = await RunReader.open(dir, { indexCacheDir: cacheDir });
    const index = await fresh.stepIndex(1);
    assert.equal(index.fields(0).reward, 0);
    assertIndexMatches(index, Buffer.from(rewritten));
    const resaved = new StepIndex(1, file);
    assert.equal(await loadIndex(cacheFileOf(file), resaved), true);
    assert.equal(resaved.fields(0).reward, 0, 'the rebuilt index replaced the stale file');
  });

  it('rebuilds the index of a file whose last indexed bytes changed (the content mark\'s tail)', async () => {
    const file = path.join(dir, STEP_1);
    await (await RunReader.open(dir, { indexCacheDir: cacheDir })).stepIndex(1);
    const text = await fs.readFile(file, 'utf8');
    const at = text.lastIndexOf('"answer_span": {"start": 24');
    assert.ok(at > text.length - 256 && text.length > 4096, 'the change is in the last 256 bytes, past the first 4 KiB');
    await fs.writeFile(file, text.slice(0, at) + '"answer_span": {"start": 25' + text.slice(at + 27));
    assert.equal((await fs.stat(file)).size, text.length);
    assert.equal(await loadIndex(cacheFileOf(file), new StepIndex(1, file)), false);
  });

  it('keeps indexes on disk in memory while there is room, never evicting one for the next (a filter passes over all)', async () => {
    const one = (await freshIndex(path.join(dir, STEP_1))).bytes;
    const reader = await RunReader.open(dir, { indexCacheDir: cacheDir, maxIndexBytes: one + 1 });
    await reader.countRows(() => true);
    assert.deepEqual(reader.indexedSteps(), [1], 'step 1 filled the budget; step 2 is on disk only (an LRU would hold step 2)');
    assert.equal(reader.isIndexed(2), true);
    await reader.countRows(() => true, { steps: [2] });
    assert.deepEqual(reader.indexedSteps(), [1], 'still step 1');
  });

  it('reloads evicted indexes from disk within one reader, and still sees a rewrite', async () => {
    const reader = await RunReader.open(dir, { indexCacheDir: cacheDir, maxIndexBytes: 1 });
    const rewarded = (row: { reward: number | null }): boolean => row.reward === 1;
    const first = [...(await reader.countRows(rewarded))];
    assert.deepEqual(reader.indexedSteps(), [], 'neither fits the memory budget: both are on disk only (a filter never evicts to keep one)');
    assert.equal(reader.isIndexed(1), true, 'step 1 is on disk');
    assert.deepEqual([...(await reader.countRows(rewarded))], first);
    const file = path.join(dir, STEP_1);
    const text = await fs.readFile(file, 'utf8');
    await fs.writeFile(file, text.replace('"reward": 1.0', '"reward": 0.0'));
    await fs.utimes(file, new Date(), new Date(Date.now() + 5000));
    const after = await reader.countRows(rewarded);
    assert.equal(after.get(1), (first[0][1] as number) - 1, 'the rewritten step is counted afresh');
  });

  it('ignores a corrupt cache file (truncated, wrong version, garbage, empty, out-of-range values) and rebuilds it', async () => {
    const file = path.join(dir, STEP_1);
    // The bytes saveIndex writes, as a user's cache folder holds them.
    const saved = path.join(cacheDir, 'saved.idx');
    assert.equal(await saveIndex(saved, await freshIndex(file)), true);
    const good = await fs.readFile(saved);
    const withHeader = (change: (header: Record<string, unknown>) => void): Buffer => {
      const length = good.readUInt32LE(8);
      const header = JSON.parse(good.toString('utf8', 12, 12 + length)) as Record<string, unknown>;
      change(header);
      const json = Buffer.from(JSON.stringify(header));
      const prefix = Buffer.from(good.subarray(0, 12));
      prefix.writeUInt32LE(json.length, 8);
      return Buffer.concat([prefix, json, good.subarray(12 + length)]);
    };
    const outOfRange = Buffer.from(good);
    outOfRange[outOfRange.length - 1] = 200; // the last record's question slot
    const corrupt: [string, Buffer][] = [
      ['truncated', good.subarray(0, good.length - 7)],
      ['cut in the header', good.subarray(0, 40)],
      ['wrong version', withHeader((h) => (h.version = 999))],
      ['another file', withHeader((h) => (h.file = path.join(dir, 'rollouts', 'step-000002.jsonl')))],
      ['another line cap', withHeader((h) => (h.maxLineBytes = 10))],
      ['a column kind off its ladder', withHeader((h) => ((h.columns as string[][])[2][1] = 'f64'))],
      ['garbage', Buffer.from('\u0000\u0001not an index at all'.repeat(20))],
      ['empty', Buffer.alloc(0)],
      ['a question slot past the ids', outOfRange],
      ['a trailing byte', Buffer.concat([good, Buffer.from([0])])],
    ];
    assert.ok(decodeIndex(good, file, DEFAULT_MAX_LINE_BYTES), 'the good file decodes');
    const expected = (await freshIndex(file)).countRows(() => true);
    for (const [what, bytes] of corrupt) {
      assert.equal(decodeIndex(bytes, file, DEFAULT_MAX_LINE_BYTES), undefined, what);
      await fs.mkdir(path.dirname(cacheFileOf(file)), { recursive: true });
      await fs.writeFile(cacheFileOf(file), bytes);
      const reader = await RunReader.open(dir, { indexCacheDir: cacheDir });
      assert.equal(reader.isIndexed(1), true, `${what}: a cache file is there`);
      assert.equal((await reader.countRows(() => true)).get(1), expected, what);
      assert.deepEqual(reader.malformed, [], `${what}: nothing for the user`);
      const rebuilt = new StepIndex(1, file);
      assert.equal(await loadIndex(cacheFileOf(file), rebuilt), true, `${what}: rebuilt and saved`);
      assert.deepEqual(snapshot(rebuilt), snapshot(await freshIndex(file)), what);
    }
  });

  it('lets readers share a cache folder: concurrent writes replace whole files, never interleave', async () => {
    const readers = await Promise.all([1, 2, 3, 4, 5, 6].map(() => RunReader.open(dir, { indexCacheDir: cacheDir })));
    const counts = await Promise.all(readers.map((r) => r.countRows((row) => row.layer === 2)));
    for (const c of counts) assert.deepEqual([...c], [...counts[0]]);

    // The same file written 30 times at once while it is read: every read sees a whole index.
    const file = path.join(dir, STEP_1);
    const index = await freshIndex(file);
    const want = snapshot(index);
    const target = path.join(cacheDir, 'shared.idx');
    const reads: Promise<StepIndex | undefined>[] = [];
    const writes: Promise<boolean>[] = [];
    for (let i = 0; i < 30; i++) {
      writes.push(saveIndex(target, index));
      reads.push((async () => {
        const loaded = new StepIndex(1, file);
        return (await loadIndex(target, loaded)) ? loaded : undefined;
      })());
    }
    assert.deepEqual(await Promise.all(writes), Array(30).fill(true));
    for (const loaded of await Promise.all(reads)) if (loaded) assert.deepEqual(snapshot(loaded), want);
    const final = new StepIndex(1, file);
    assert.equal(await loadIndex(target, final), true);
    assert.deepEqual(snapshot(final), want);
    const leftovers = (await fs.readdir(cacheDir, { recursive: true })).filter((name) => String(name).endsWith('.tmp'));
    assert.deepEqual(leftovers, [], 'no temporary file is left behind');
  });

  it('sweeps the temporary files of writes that died, and leaves a young one (another window may be writing it)', async () => {
    await (await RunReader.open(dir, { indexCacheDir: cacheDir })).countRows(() => true);
    const folder = runCacheFolder(cacheDir, dir);
    const dead = path.join(folder, 'step-000001.jsonl.abc.idx.999-deadbeef0000.tmp');
    const young = path.join(folder, 'step-000001.jsonl.abc.idx.998-0123456789ab.tmp');
    await fs.writeFile(dead, 'half an index');
    await fs.writeFile(young, 'half an index');
    const old = new Date(Date.now() - STALE_TEMPORARY_MS - 60_000);
    await fs.utimes(dead, old, old);
    const reader = await RunReader.open(dir, { indexCacheDir: cacheDir });
    assert.equal(reader.isIndexed(1), true, 'the cache files are still found');
    const left = (await fs.readdir(folder)).filter((name) => name.endsWith('.tmp'));
    assert.deepEqual(left, [path.basename(young)]);
  });

  it('never writes inside the run folder, and carries on when the cache folder cannot be written', async () => {
    const before = (await fs.readdir(dir, { recursive: true })).sort();
    const inside = await RunReader.open(dir, { indexCacheDir: path.join(dir, 'cache') });
    const counts = await inside.countRows(() => true);
    assert.deepEqual((await fs.readdir(dir, { recursive: true })).sort(), before);

    const notAFolder = path.join(cacheDir, 'a-file');
    await fs.writeFile(notAFolder, 'x');
    const blocked = await RunReader.open(dir, { indexCacheDir: notAFolder });
    assert.deepEqual([...(await blocked.countRows(() => true))], [...counts]);
    assert.equal(blocked.isIndexed(1), true, 'held in memory');
    assert.deepEqual(blocked.malformed, []);
  });

  it('drops the cache file of a step whose file disappeared', async () => {
    const reader = await RunReader.open(dir, { indexCacheDir: cacheDir });
    await reader.countRows(() => true);
    const file = path.join(dir, 'rollouts', 'step-000002.jsonl');
    await fs.access(cacheFileOf(file));
    await fs.rm(file);
    assert.deepEqual((await reader.refresh()).removedSteps, [2]);
    await assert.rejects(fs.access(cacheFileOf(file)), { code: 'ENOENT' });
    assert.equal(reader.isIndexed(2), false);
  });
});
