import { strict as assert } from 'node:assert';
import { LogLineSplitter } from '../../extension/src/vscode/logLines';

describe('trainer log lines (stderr, pip)', () => {
  it('ends lines at \\n, \\r\\n and a bare \\r (progress bars), across chunk boundaries', () => {
    const split = new LogLineSplitter();
    assert.deepEqual(split.push('Downloading  10%\rDownloading  50%\rDown'), ['Downloading  10%', 'Downloading  50%']);
    assert.deepEqual(split.push('loading 100%\r'), ['Downloading 100%']);
    assert.deepEqual(split.push('\nnext line\r'), ['next line']);
    assert.deepEqual(split.push('\nlast'), [], 'the \\n of a \\r\\n pair makes no empty line');
    assert.deepEqual(split.flush(), ['last']);
    assert.deepEqual(split.flush(), []);
  });

  it('caps a line that never ends, and drops the rest until the next line break', () => {
    const split = new LogLineSplitter(10);
    assert.deepEqual(split.push('abcdef'), []);
    const cut = split.push('ghijklmnop');
    assert.deepEqual(cut, ['abcdefghij … [line cut at 10 characters]']);
    // A megabyte more of the same line: nothing kept, nothing emitted.
    assert.deepEqual(split.push('x'.repeat(1_000_000)), []);
    assert.deepEqual(split.push('y\rok\n'), ['ok']);
    assert.deepEqual(split.flush(), []);
  });

  it('refuses a cap that is not a positive integer', () => {
    assert.throws(() => new LogLineSplitter(0), /positive integer/);
    assert.throws(() => new LogLineSplitter(Number.NaN), /positive integer/);
  });
});
