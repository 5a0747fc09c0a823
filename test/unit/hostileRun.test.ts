// Run folders nobody vetted: over-long lines, invalid UTF-8, no newline, broken manifests, a
// folder deleted while open, files rewritten behind the reader's back. The reader reports and
// carries on; it never throws for what a folder holds.

import { strict as assert } from 'node:assert';
import { createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readEvalResults } from '../../extension/src/format/evalResults';
import { JsonlFollower } from '../../extension/src/format/jsonlFollower';
import { RunReader, readRunManifest } from '../../extension/src/format/runReader';
import { summarizeRolloutLine } from '../../extension/src/format/recordSummary';
import { StepIndex } from '../../extension/src/format/stepIndex';
import type { RolloutRecord } from '../../extension/src/format/types';
import { FIXTURE_RUN, copyFixtureRun, fixtureRecords, parsePoint, tempDir } from './fixture';

/** Writes `bytes` bytes of `fill` (no newline) in 1 MiB pieces, so the test never holds them. */
async function writeLong(file: string, prefix: string, bytes: number, suffix: string): Promise<void> {
  const out = createWriteStream(file);
  let failure: Error | undefined;
  out.on('error', (error) => (failure = error));
  const piece = Buffer.alloc(1 << 20, 'a');
  const write = (b: Buffer | string): Promise<void> => {
    if (failure) return Promise.reject(failure);
    return out.write(b) ? Promise.resolve() : new Promise((resolve) => out.once('drain', resolve));
  };
  await write(prefix);
  for (let left = bytes; left > 0; left -= piece.length) await write(left >= piece.length ? piece : piece.subarray(0, left));
  await write(suffix);
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

describe('a hostile run folder', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it('skips a 100 MB line as malformed (file and line named) and reads the next one', async function () {
    this.timeout(120_000);
    const file = path.join(dir, 'metrics.jsonl');
    await writeLong(file, '{"x": 1}\n{"x": "', 100 << 20, '"}\n{"x": 3}\n');
    const follower = new JsonlFollower(file, parsePoint); // default cap: 32 MiB
    const heapBefore = process.memoryUsage().heapUsed;
    const { records, malformed } = await follower.poll();
    assert.deepEqual(records, [{ x: 1 }, { x: 3 }]);
    assert.equal(malformed.length, 1);
    assert.equal(malformed[0].file, file);
    assert.equal(malformed[0].line, 2);
    assert.match(malformed[0].message, /^line of 104857609 bytes is longer than the limit of 33554432 bytes/);
    assert.equal(follower.linesRead, 3);
    // The long line was never gathered: far less than 100 MB stayed on the heap.
    assert.ok(process.memoryUsage().heapUsed - heapBefore < 40 << 20, 'the skipped line is not held');
  });

  it('never throws on invalid UTF-8: a bad byte in a string decodes to U+FFFD, elsewhere the line is malformed', async () => {
    const file = path.join(dir, 'rows.jsonl');
    await fs.writeFile(file, Buffer.concat([Buffer.from('{"s": "a'), Buffer.from([0xff, 0xfe]), Buffer.from('b"}\n'), Buffer.from([0xc3, 0x28, 0x0a]), Buffer.from('{"s": "ok"}\n')]));
    const follower = new JsonlFollower(file, (v) => v as { s: string });
    const { records, malformed } = await follower.poll();
    assert.deepEqual(records, [{ s: 'a\ufffd\ufffdb' }, { s: 'ok' }]);
    assert.equal(malformed.length, 1);
    assert.equal(malformed[0].line, 2);
    assert.match(malformed[0].message, /^not JSON/);
  });

  it('reads a newline-less file once, holding at most the cap, and resumes at the next newline', async () => {
    const file = path.join(dir, 'metrics.jsonl');
    await writeLong(file, '{"x": "', 20 << 20, '');
    const follower = new JsonlFollower(file, parsePoint, { maxLineBytes: 1 << 20 });
    const first = await follower.poll();
    assert.deepEqual(first, { records: [], malformed: [], restarted: false }, 'an unterminated line is not written yet');
    assert.equal(follower.offset, 0);
    await fs.appendFile(file, '"}\n{"x": 2}\n');
    const second = await follower.poll();
    assert.deepEqual(second.records, [{ x: 2 }]);
    assert.equal(second.malformed.length, 1);
    assert.equal(second.malformed[0].line, 1);
    assert.equal(follower.offset, 7 + (20 << 20) + 3 + 9);
  });

  it('tells a rewritten file by its content, even when it grew past the old size between two polls', async () => {
    const file = path.join(dir, 'metrics.jsonl');
    await fs.writeFile(file, '{"x": 1}\n{"x": 2}\n');
    const follower = new JsonlFollower(file, parsePoint);
    assert.deepEqual((await follower.poll()).records, [{ x: 1 }, { x: 2 }]);
    // A resumed run: truncated back to line 1, then new lines, now longer than before.
    await fs.writeFile(file, '{"x": 1}\n{"x": 20}\n{"x": 30}\n');
    const again = await follower.poll();
    assert.equal(again.restarted, true);
    assert.deepEqual(again.records, [{ x: 1 }, { x: 20 }, { x: 30 }]);
    // Plain growth is not a rewrite.
    await fs.appendFile(file, '{"x": 40}\n');
    assert.deepEqual(await follower.poll(), { records: [{ x: 40 }], malformed: [], restarted: false });
    // A rewrite of the head only (same length) is seen too.
    const text = await fs.readFile(file, 'utf8');
    await fs.writeFile(file, text.replace('{"x": 1}', '{"x": 9}'));
    const head = await follower.poll();
    assert.equal(head.restarted, true);
    assert.deepEqual(head.records.map((r) => r.x), [9, 20, 30, 40]);
  });

  for (const [manifest, problem] of [
    [{ model: {} }, 'missing "format_version"'],
    ['{"model": {}}', 'missing "format_version"'],
    ['not json', 'not JSON'],
    ['[]', 'the value should be object, got an array'],
  ] as const) {
    it(`rejects run.json ${JSON.stringify(manifest)} with "invalid run.json: <path>: ${problem}"`, async () => {
      const file = path.join(dir, 'run.json');
      await fs.writeFile(file, typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
      await assert.rejects(readRunManifest(dir), (e: Error) => e.message.startsWith(`invalid run.json: ${file}: ${problem}`));
      await assert.rejects(RunReader.open(dir), (e: Error) => e.message.startsWith(`invalid run.json: ${file}: ${problem}`));
    });
  }

  it('names the field of an otherwise valid run.json: "name": 1, {"model": {}}', async () => {
    const { dir: run, cleanup: done } = await copyFixtureRun();
    try {
      const file = path.join(run, 'run.json');
      const good = JSON.parse(await fs.readFile(file, 'utf8'));
      await fs.writeFile(file, JSON.stringify({ ...good, name: 1 }));
      await assert.rejects(readRunManifest(run), { message: `invalid run.json: ${file}: "name" should be string, got number 1` });
      await fs.writeFile(file, JSON.stringify({ ...good, model: {} }));
      await assert.rejects(readRunManifest(run), { message: `invalid run.json: ${file}: "model": missing "name_or_path"` });
    } finally {
      await done();
    }
  });

  it('counts a record whose steps hold null as malformed when its step is opened, and shows the rest', async () => {
    const { dir: run, cleanup: done } = await copyFixtureRun();
    try {
      const file = path.join(run, 'rollouts', 'step-000001.jsonl');
      const lines = (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean);
      const broken = JSON.parse(lines[0]) as RolloutRecord;
      lines[0] = JSON.stringify({ ...broken, steps: [null] });
      await fs.writeFile(file, lines.join('\n') + '\n');
      const reader = await RunReader.open(run);
      const step = await reader.loadStep(1);
      assert.equal(step.byId.size, 11);
      assert.ok(step.malformed.some((m) => m.line === 1 && m.message === `rollout record ${broken.id}: "steps.0" should be object, got null`));
    } finally {
      await done();
    }
  });

  it('reports a folder deleted while open instead of throwing', async () => {
    const { dir: run, cleanup: done } = await copyFixtureRun();
    try {
      const reader = await RunReader.open(run);
      await reader.loadStep(1);
      await fs.rm(run, { recursive: true, force: true });
      const change = await reader.refresh();
      assert.equal(change.gone, true);
      assert.equal(reader.gone, true);
      assert.deepEqual(change.removedSteps, [1, 2]);
      assert.equal(change.metricsRestarted, true, 'metrics.jsonl is gone: what was read from it is dropped');
      assert.deepEqual(reader.steps(), []);
      await assert.rejects(reader.loadStep(2), /step 2 has no rollout file/);
      assert.deepEqual([...(await reader.countRows(() => true, { steps: [1, 2] }))], [[1, 0], [2, 0]]);
      assert.equal(await reader.findRecord('s000001-q000-l1-000'), undefined);
    } finally {
      await done();
    }
  });

  it('bounds the parsed-step cache by bytes, least recently used out first', async () => {
    const { dir: run, cleanup: done } = await copyFixtureRun();
    try {
      const sizes = await Promise.all([1, 2].map(async (s) => (await fs.stat(path.join(run, 'rollouts', `step-00000${s}.jsonl`))).size));
      // Room for the bigger step alone, not for both.
      const reader = await RunReader.open(run, { maxCachedBytes: Math.max(...sizes) });
      await reader.loadStep(1);
      assert.deepEqual(reader.cachedSteps(), [1]);
      await reader.loadStep(2);
      assert.deepEqual(reader.cachedSteps(), [2]);
      const roomy = await RunReader.open(run, { maxCachedBytes: sizes[0] + sizes[1] });
      await roomy.loadStep(1);
      await roomy.loadStep(2);
      assert.deepEqual(roomy.cachedSteps(), [1, 2]);
      // A step bigger than the whole budget is returned, not cached.
      const tiny = await RunReader.open(run, { maxCachedBytes: 1 });
      assert.equal((await tiny.loadStep(1)).byId.size, 12);
      assert.deepEqual(tiny.cachedSteps(), [1]);
      await tiny.loadStep(2);
      assert.deepEqual(tiny.cachedSteps(), [2], 'only the newest stays, over budget');
    } finally {
      await done();
    }
  });
});

describe('step index cache', () => {
  it('holds indexes up to maxIndexBytes, least recently used out first', async () => {
    const reader = await RunReader.open(FIXTURE_RUN, { maxIndexBytes: 1 });
    await reader.countRows(() => true);
    assert.deepEqual(reader.indexedSteps(), [2], 'only the newest stays, over budget');
    const roomy = await RunReader.open(FIXTURE_RUN);
    await roomy.countRows(() => true);
    assert.deepEqual(roomy.indexedSteps(), [1, 2]);
    const one = await roomy.stepIndex(1);
    assert.ok(one.bytes >= one.count * 44, 'the size counts every column');
    assert.deepEqual(roomy.indexedSteps(), [2, 1], 'used again: now the most recent');
  });
});

describe('step index', () => {
  it('summarises every fixture record exactly as a full parse does', () => {
    for (const record of fixtureRecords()) {
      const line = Buffer.from(JSON.stringify(record));
      assert.deepEqual(summarizeRolloutLine(line, 0, line.length), expectedSummary(record));
    }
  });

  it('agrees with a full parse on lines written differently: key order, spacing, escapes, nested names, duplicates', () => {
    const record = fixtureRecords().find((r) => r.layer === 2) as RolloutRecord;
    const variants: string[] = [
      JSON.stringify(Object.fromEntries(Object.entries(record).reverse())),
      JSON.stringify(record, null, 1).replace(/\n/g, ' '),
      JSON.stringify({ ...record, question_id: 'q "7" \\ é ✓', completion: 'he said \\"reward\\": 5 ] } [' }),
      JSON.stringify({ ...record, rewards: { reward: 99, correct: false, outcome: 'x' } }),
      JSON.stringify(record).replace('"layer"', '"l\\u0061yer"'),
      JSON.stringify(record).replace('{', '{"reward": 42, '),
      JSON.stringify({ ...record, token_logprobs: [-0.5, 1e-3, 2.5E+2], token_offsets: [] }),
    ];
    for (const text of variants) {
      const line = Buffer.from(`  ${text}  `);
      const parsed = JSON.parse(text) as RolloutRecord;
      assert.deepEqual(summarizeRolloutLine(line, 0, line.length), expectedSummary(parsed), text.slice(0, 80));
    }
  });

  it('keeps what an imported run did not record as null: correct, reward, advantage, finish reason', () => {
    const record = fixtureRecords()[0];
    const line = Buffer.from(JSON.stringify({ ...record, correct: null, reward: null, advantage: null, finish_reason: null }));
    const summary = summarizeRolloutLine(line, 0, line.length);
    assert.deepEqual([summary.correct, summary.reward, summary.advantage, summary.finishReason], [null, null, null, null]);
  });

  it('calls a line malformed when a field the index needs is wrong, and says which', () => {
    const record = fixtureRecords()[0];
    for (const [change, problem] of [
      [{ layer: 3 }, '"layer" should be 1 or 2'],
      [{ reward: '1' }, '"reward" should be a number'],
      [{ correct: 'yes' }, '"correct" should be a boolean or null'],
      [{ outcome: 'x->y' }, '"outcome" should be one of i->c, c->i, c->c, i->i or null'],
    ] as const) {
      const line = Buffer.from(JSON.stringify({ ...record, ...change }));
      assert.throws(() => summarizeRolloutLine(line, 0, line.length), { message: `rollout record ${record.id}: ${problem}` });
    }
    const cut = Buffer.from(JSON.stringify(record).slice(0, 100));
    assert.throws(() => summarizeRolloutLine(cut, 0, cut.length), SyntaxError);
  });

  it('follows its file: appended lines are indexed on, a rewrite is indexed again', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const file = path.join(dir, 'step-000001.jsonl');
      const records = fixtureRecords().filter((r) => r.step === 1);
      await fs.writeFile(file, records.slice(0, 4).map((r) => JSON.stringify(r) + '\n').join('') + '{"id": "half');
      const index = new StepIndex(1, file);
      assert.equal(await index.update(), true);
      assert.equal(index.count, 4);
      await fs.appendFile(file, '-written"}\n' + records.slice(4).map((r) => JSON.stringify(r) + '\n').join(''));
      assert.equal(await index.update(), true, 'growth keeps the index');
      assert.equal(index.count, records.length);
      assert.equal(index.malformed.length, 1, 'the completed half line is malformed');
      for (let row = 0; row < index.count; row++) {
        const text = (await fs.readFile(file)).subarray(index.lineOffset.values[row], index.lineOffset.values[row] + index.lineLength.values[row]).toString('utf8');
        assert.equal((JSON.parse(text) as RolloutRecord).reward, index.reward.values[row]);
      }
      await fs.writeFile(file, records.slice(0, 2).map((r) => JSON.stringify({ ...r, reward: 7 }) + '\n').join('') + records.slice(2).map((r) => JSON.stringify(r) + '\n').join('') + '\n');
      assert.equal(await index.update(), false, 'a rewrite is reported');
      assert.equal(index.count, records.length);
      assert.equal(index.reward.values[0], 7);
      assert.deepEqual(index.malformed, []);
    } finally {
      await cleanup();
    }
  });
});

function expectedSummary(r: RolloutRecord) {
  return {
    id: r.id, step: r.step, layer: r.layer, group: r.group, sample: r.sample, questionId: r.question_id, parentId: r.parent_id,
    correct: r.correct, reward: r.reward, advantage: r.advantage, outcome: r.outcome, finishReason: r.finish_reason,
  };
}

describe('eval results', () => {
  it('reads every evaluation of the fixture, and nothing again until the folder changes', async () => {
    const { dir, cleanup } = await copyFixtureRun();
    try {
      const first = await readEvalResults(dir);
      assert.ok(first);
      assert.deepEqual(first.results.map((r) => r.step), [0]);
      assert.deepEqual(first.skipped, []);
      assert.equal(await readEvalResults(dir, first.signature), undefined);
      await fs.writeFile(path.join(dir, 'eval', 'step-000005.json'), '{"step": 5}');
      await fs.writeFile(path.join(dir, 'eval', 'step-000006.json'), '{"step": ');
      await fs.writeFile(path.join(dir, 'eval', 'notes.txt'), 'not an eval file');
      const second = await readEvalResults(dir, first.signature);
      assert.ok(second);
      assert.deepEqual(second.results.map((r) => r.step), [0]);
      assert.deepEqual(second.skipped.map((s) => s.replace(dir, '<run>')), [
        '<run>/eval/step-000005.json: evaluation: missing "time"',
        '<run>/eval/step-000006.json: not JSON: Unexpected end of JSON input',
      ]);
      assert.deepEqual(await readEvalResults(path.join(dir, 'missing')), { signature: '', results: [], skipped: [] });
    } finally {
      await cleanup();
    }
  });
});
