import { strict as assert } from 'node:assert';
import { buildLayer2Prompt, formatTemplate, judgeCorrections, lineDiff, whatIfReport } from '../../extension/src/onnx/whatIf';

describe('onnx What If: prompts, verdicts, diffs', () => {
  it('builds the layer-2 prompt as the trainer does (newline added to a cut answer, {{ }} as braces)', () => {
    assert.equal(buildLayer2Prompt('Q: 1+2\n', '1+2=3\nA: 3', 'Wait, let me double-check that.'), 'Q: 1+2\n1+2=3\nA: 3\nWait, let me double-check that.\n');
    assert.equal(formatTemplate('{{x}} {a}', { a: 'A' }), '{x} A');
    assert.throws(() => formatTemplate('{b}', { a: 'A' }), /placeholder \{b\}/);
    assert.throws(() => buildLayer2Prompt('p', 'c', 'g', '{layer1_prompt}{guiding_phrase}'), /missing the placeholder \{layer1_completion\}/);
  });

  it('diffs lines: kept, dropped, added', () => {
    assert.deepEqual(lineDiff('1+2=3\n3*2=5\nA: 5', '1+2=3\n3*2=6\nA: 6'), [
      { kind: ' ', text: '1+2=3' }, { kind: '-', text: '3*2=5' }, { kind: '-', text: 'A: 5' }, { kind: '+', text: '3*2=6' }, { kind: '+', text: 'A: 6' },
    ]);
  });

  it('judges corrections against the ground truth with outcomes relative to the edited input', () => {
    const judged = judgeCorrections('1+2=3\n3*2=5\nA: 5\n', '6', [
      { text: '3*2=6\nA: 6\n', logprobs: [-1, -3], stopped: true },
      { text: 'A: 5\n', logprobs: [-0.5], stopped: false },
    ]);
    assert.equal(judged.input?.correct, false);
    assert.deepEqual(judged.corrections.map((c) => [c.outcome, c.verdict?.reward, c.meanLogprob]), [['i->c', 1, -2], ['i->i', 0, -0.5]]);
    const report = whatIfReport('What If', '1+2=3\n3*2=5\nA: 5\n', judged, 'settings');
    assert.match(report, /Corrections right: 1 of 2/);
    assert.match(report, /## correction 2: reward 0, answer 5, i->i/);
    assert.match(report, /cut at the length limit/);
  });

  it('keeps model text inside its fence even when it holds backticks', () => {
    const judged = judgeCorrections('A: 1', null, [{ text: '```\n# heading\nA: 2', logprobs: [-1], stopped: true }]);
    const report = whatIfReport('t', 'A: 1', judged, '');
    assert.match(report, /````diff\n/);
    assert.match(report, /not verified/);
  });
});
