import { strict as assert } from 'node:assert';
import { heatLevel, placeTokens, scoreOfSpan, tokenAt } from '../../extension/src/onnx/heatMap';

const token = (start: number, end: number, p: number, entropy = 0.5) => ({ start, end, logprob: Math.log(p), entropy });

describe('onnx Score Trace: heat map placement and step scores', () => {
  it('buckets by probability at the documented thresholds', () => {
    assert.deepEqual([0.95, 0.9, 0.6, 0.3, 0.1, 0.01].map((p) => heatLevel(Math.log(p))), [0, 0, 1, 2, 3, 4]);
  });

  it('places tokens of a two-line step at document positions, skipping a lone line break and text outside steps', () => {
    // completion "ab\ncd\nA: 1": one step "ab\ncd" rendered at line 10, column 0.
    const completion = 'ab\ncd\nA: 1';
    const tokens = [token(0, 1, 0.95), token(1, 2, 0.5), token(2, 3, 0.99), token(3, 5, 0.01), token(6, 7, 0.5)];
    const placed = placeTokens(completion, [{ span: { start: 0, end: 5 }, startLine: 10, startCharacter: 0 }], tokens);
    assert.deepEqual(placed, [
      { token: 0, level: 0, range: { startLine: 10, startCharacter: 0, endLine: 10, endCharacter: 1 } },
      { token: 1, level: 1, range: { startLine: 10, startCharacter: 1, endLine: 10, endCharacter: 2 } },
      { token: 3, level: 4, range: { startLine: 11, startCharacter: 0, endLine: 11, endCharacter: 2 } },
    ]);
  });

  it('summarises a step: mean and least probability, mean entropy; finds the token at an offset', () => {
    const tokens = [token(0, 1, 0.8, 0.2), token(1, 2, 0.4, 0.6), token(5, 6, 0.1, 1)];
    const score = scoreOfSpan(tokens, { start: 0, end: 3 })!;
    assert.equal(score.tokens, 2);
    assert.ok(Math.abs(score.meanProb - 0.6) < 1e-12 && Math.abs(score.minProb - 0.4) < 1e-12 && Math.abs(score.meanEntropy - 0.4) < 1e-12);
    assert.equal(score.minToken, 1);
    assert.equal(scoreOfSpan(tokens, { start: 2, end: 5 }), null);
    assert.equal(tokenAt(tokens, 5), 2);
    assert.equal(tokenAt(tokens, 3), -1);
  });
});

describe('onnx: the runtime folder stays out of VS Code', () => {
  it('no module of extension/src/onnx imports vscode or the vscode/ layer', () => {
    const { readdirSync, readFileSync } = require('node:fs') as typeof import('node:fs');
    const folder = require('node:path').resolve(__dirname, '../../extension/src/onnx') as string;
    const files = readdirSync(folder).filter((name) => name.endsWith('.ts'));
    assert.ok(files.length >= 8);
    for (const name of files) {
      const source = readFileSync(`${folder}/${name}`, 'utf8');
      assert.doesNotMatch(source, /from '(vscode|\.\.\/vscode\/[^']*)'/, name);
    }
  });
});
