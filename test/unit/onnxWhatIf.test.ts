import { strict as assert } from 'node:assert';
import { buildLayer2Prompt, formatTemplate, judgeCorrections, lineDiff, promptFromRecordedCorrection, whatIfReport } from '../../extension/src/onnx/whatIf';

describe('onnx What If: prompts, verdicts, diffs', () => {
  it('builds the layer-2 prompt as the trainer does (newline added to a cut answer, {{ }} as braces)', () => {
    assert.equal(buildLayer2Prompt('Q: 1+2\n', '1+2=3\nA: 3', 'Wait, let me double-check that.'), 'Q: 1+2\n1+2=3\nA: 3\nWait, let me double-check that.\n');
    assert.equal(formatTemplate('{{x}} {a}', { a: 'A' }), '{x} A');
    assert.throws(() => formatTemplate('{b}', { a: 'A' }), /placeholder \{b\}/);
    assert.throws(() => buildLayer2Prompt('p', 'c', 'g', '{layer1_prompt}{guiding_phrase}'), /missing the placeholder \{layer1_completion\}/);
  });

  it('takes a recorded correction prompt and swaps in the edited first answer, for any template', () => {
    // The default template, as the trainer recorded it.
    const plain = 'Q: 3+5*2\n3+5=8\n8*2=9\nA: 9\nWait, let me double-check that.\n';
    assert.equal(promptFromRecordedCorrection(plain, '3+5=8\n8*2=9\nA: 9\n', '3+5=8\n8*2=6\nA: 6'),
      'Q: 3+5*2\n3+5=8\n8*2=6\nA: 6\nWait, let me double-check that.\n');
    // A chat template (Qwen's tags) with the question in a user turn: only the assistant's answer changes.
    const chat = '<|im_start|>user\n3+5*2<|im_end|>\n<|im_start|>assistant\n3+5=8\nA: 9<|im_end|>\n<|im_start|>user\nCheck.<|im_end|>\n<|im_start|>assistant\n';
    assert.equal(promptFromRecordedCorrection(chat, '3+5=8\nA: 9', '3+5=8\n8*2=6\nA: 6\n'),
      '<|im_start|>user\n3+5*2<|im_end|>\n<|im_start|>assistant\n3+5=8\n8*2=6\nA: 6<|im_end|>\n<|im_start|>user\nCheck.<|im_end|>\n<|im_start|>assistant\n');
    // A prompt whose first answer was cut in the middle to fit holds no verbatim copy: the caller builds one.
    assert.equal(promptFromRecordedCorrection('Q: 1+1\n1+1=2\n[...]\nA: 2\nCheck.\n', '1+1=2\n2+1=3\nA: 2\n', 'A: 2\n'), null);
    assert.equal(promptFromRecordedCorrection('Q: 1\nCheck.\n', '', 'A: 1\n'), null);
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
