import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { JsonlFollower } from '../../extension/src/format/jsonlFollower';
import { parsePoint, tempDir } from './fixture';

describe('JsonlFollower', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let file: string;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    file = path.join(dir, 'metrics.jsonl');
  });
  afterEach(() => cleanup());

  it('treats a missing file as empty, then reads it once it exists', async () => {
    const follower = new JsonlFollower(file, parsePoint);
    assert.deepEqual(await follower.poll(), { records: [], malformed: [], restarted: false });
    await fs.writeFile(file, '{"x":1}\n');
    assert.deepEqual((await follower.poll()).records, [{ x: 1 }]);
  });

  it('follows live growth across polls, each line once', async () => {
    const follower = new JsonlFollower(file, parsePoint);
    await fs.writeFile(file, '{"x":1}\n{"x":2}\n');
    assert.deepEqual((await follower.poll()).records, [{ x: 1 }, { x: 2 }]);
    assert.deepEqual((await follower.poll()).records, []);
    await fs.appendFile(file, '{"x":3}\n');
    assert.deepEqual((await follower.poll()).records, [{ x: 3 }]);
    assert.equal(follower.linesRead, 3);
    assert.equal(follower.offset, Buffer.byteLength('{"x":1}\n{"x":2}\n{"x":3}\n'));
  });

  it('holds an unterminated last line until it is completed', async () => {
    const follower = new JsonlFollower(file, parsePoint);
    await fs.writeFile(file, '{"x":1}\n{"x":');
    const first = await follower.poll();
    assert.deepEqual(first.records, [{ x: 1 }]);
    assert.deepEqual(first.malformed, [], 'a half-written line is not malformed');
    assert.equal(follower.offset, 8);
    await fs.appendFile(file, '42');
    assert.deepEqual((await follower.poll()).records, [], 'still unterminated');
    await fs.appendFile(file, '}\n{"x":5}\n');
    assert.deepEqual((await follower.poll()).records, [{ x: 42 }, { x: 5 }]);
    assert.equal(follower.linesRead, 3);
  });

  it('keeps a multi-byte character split across polls intact', async () => {
    const follower = new JsonlFollower(file, (v) => v as { s: string });
    const line = Buffer.from('{"s":"é✓"}\n', 'utf8');
    await fs.writeFile(file, line.subarray(0, 8)); // cuts inside "é"'s two bytes
    assert.deepEqual((await follower.poll()).records, []);
    await fs.appendFile(file, line.subarray(8));
    assert.deepEqual((await follower.poll()).records, [{ s: 'é✓' }]);
  });

  it('skips and counts malformed lines with file:line, and keeps going', async () => {
    const follower = new JsonlFollower(file, parsePoint);
    await fs.writeFile(file, '{"x":1}\nnot json\n{"x":"two"}\n\n{"x":4}\n');
    const { records, malformed } = await follower.poll();
    assert.deepEqual(records, [{ x: 1 }, { x: 4 }]);
    assert.equal(malformed.length, 2, 'the blank line is not malformed');
    assert.equal(malformed[0].file, file);
    assert.equal(malformed[0].line, 2);
    assert.match(malformed[0].message, /^not JSON/);
    assert.equal(malformed[1].line, 3);
    assert.equal(malformed[1].message, '"x" should be a number, got "two"');
    await fs.appendFile(file, '{oops\n');
    assert.equal((await follower.poll()).malformed[0].line, 6, 'line numbers continue across polls');
  });

  it('reads CRLF line endings', async () => {
    const follower = new JsonlFollower(file, parsePoint);
    await fs.writeFile(file, '{"x":1}\r\n{"x":2}\r\n{"x":3}\r');
    const { records, malformed } = await follower.poll();
    assert.deepEqual(records, [{ x: 1 }, { x: 2 }]);
    assert.deepEqual(malformed, []);
    await fs.appendFile(file, '\n');
    assert.deepEqual((await follower.poll()).records, [{ x: 3 }]);
  });

  it('starts over when the file is truncated (a resumed run)', async () => {
    const follower = new JsonlFollower(file, parsePoint);
    await fs.writeFile(file, '{"x":1}\n{"x":2}\n{"x":3}\n');
    await follower.poll();
    await fs.writeFile(file, '{"x":1}\n');
    const again = await follower.poll();
    assert.equal(again.restarted, true);
    assert.deepEqual(again.records, [{ x: 1 }]);
    assert.equal(follower.linesRead, 1);
  });

  it('shares one read between concurrent polls', async () => {
    const follower = new JsonlFollower(file, parsePoint);
    await fs.writeFile(file, '{"x":1}\n');
    const [a, b] = await Promise.all([follower.poll(), follower.poll()]);
    assert.equal(a, b);
    assert.equal(follower.linesRead, 1);
  });

  it('reads a file bigger than one read chunk', async () => {
    const follower = new JsonlFollower(file, parsePoint);
    const count = 350_000; // ~4.6 MB: two 4 MB reads with a line cut between them
    await fs.writeFile(file, Array.from({ length: count }, (_, i) => `{"x":${i}}\n`).join(''));
    const { records } = await follower.poll();
    assert.equal(records.length, count);
    assert.equal(records[count - 1].x, count - 1);
    assert.ok(records.every((r, i) => r.x === i));
  });
});
