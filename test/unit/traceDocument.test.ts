import { strict as assert } from 'node:assert';
import type { RolloutRecord } from '../../extension/src/format/types';
import { traceSteps } from '../../extension/src/model/segmentation';
import { TRUNCATION_MARKER_PREFIX, renderTrace, splitLayer2Prompt, type TextRange } from '../../extension/src/model/traceDocument';
import { fixtureRecord } from './fixture';

function textAt(text: string, range: TextRange): string {
  const lines = text.split('\n');
  if (range.startLine === range.endLine) return lines[range.startLine].slice(range.startCharacter, range.endCharacter);
  return [lines[range.startLine].slice(range.startCharacter), ...lines.slice(range.startLine + 1, range.endLine), lines[range.endLine].slice(0, range.endCharacter)].join('\n');
}

/** A layer-1 record with `count` steps "k+1=k+1" (about `count` x 12 characters). */
function longRecord(count: number): RolloutRecord {
  const base = fixtureRecord('s000001-q000-l1-000');
  const parts: string[] = [];
  const steps: { start: number; end: number }[] = [];
  let length = 0;
  for (let k = 0; k < count; k++) {
    const line = `${k}+1=${k + 1}`;
    steps.push({ start: length, end: length + line.length });
    parts.push(line, '\n');
    length += line.length + 1;
  }
  const completion = parts.join('') + `A: ${count}\n`;
  const offsets = Array.from({ length: Math.ceil(completion.length / 4) }, (_, i) => i * 4);
  return { ...base, completion, steps, answer_span: { start: length, end: length + 3 + String(count).length }, parsed_answer: String(count), ground_truth: String(count), token_offsets: offsets, token_logprobs: offsets.map(() => -0.05) };
}

describe('trace document rendering', () => {
  it('renders the exact text of a fixture correction', () => {
    const rendered = renderTrace(fixtureRecord('s000001-q000-l1-001-l2-000'), { maxCharacters: 1000, runName: 'example run' });
    assert.equal(
      rendered.text,
      [
        'run: example run (example-run)',
        'id: s000001-q000-l1-001-l2-000',
        'step: 1',
        'group: 0 · question train-000017',
        'sample: 0',
        'layer: 2 · corrects s000001-q000-l1-001',
        'reward: 1.00 · correctness 1.00',
        'advantage: +1.000 · group mean 0.500 · std 0.500',
        'outcome: i->c (wrong -> right)',
        'guiding phrase: Wait, let me double-check that.',
        '',
        '## prompt',
        'Q: 3+5*2-7',
        '3+5=8',
        '8*2=9',
        '9-7=2',
        'A: 2',
        'Wait, let me double-check that.',
        '',
        '## completion',
        '### step 1',
        '3+5=8',
        '',
        '### step 2',
        '8*2=6',
        '',
        '### step 3',
        '6-7=9',
        '',
        '## answer',
        'A: 9',
        'parsed answer: 9',
        'ground truth: 9 · right',
        '',
      ].join('\n'),
    );
    assert.equal(rendered.truncated, false);
    assert.equal(rendered.answerLine, 30);
    assert.deepEqual(rendered.steps.map((s) => [s.index, s.headerLine, s.range]), [
      [0, 20, { startLine: 21, startCharacter: 0, endLine: 21, endCharacter: 5 }],
      [1, 23, { startLine: 24, startCharacter: 0, endLine: 24, endCharacter: 5 }],
      [2, 26, { startLine: 27, startCharacter: 0, endLine: 27, endCharacter: 5 }],
    ]);
  });

  it('lays a correction\'s prompt out as question, first answer and guiding phrase when given its parent', () => {
    const correction = fixtureRecord('s000001-q000-l1-001-l2-000');
    const parent = fixtureRecord('s000001-q000-l1-001');
    const section = (text: string): string => text.slice(text.indexOf('## prompt'), text.indexOf('## completion'));
    const alone = renderTrace(correction, { maxCharacters: 1000, parent });
    assert.equal(
      section(alone.text),
      ['## prompt', 'Q: 3+5*2-7', '', '## first answer (layer 1)', '3+5=8', '8*2=9', '9-7=2', 'A: 2', '',
        '## guiding phrase', 'Wait, let me double-check that.', '', ''].join('\n'),
    );
    // On the right of a diff the first answer is on the left: named, not repeated.
    const beside = renderTrace(correction, { maxCharacters: 1000, parent, parentShownBeside: true });
    assert.equal(
      section(beside.text),
      ['## prompt', 'Q: 3+5*2-7', '', '## first answer (layer 1): on the left', '',
        '## guiding phrase', 'Wait, let me double-check that.', '', ''].join('\n'),
    );
    // The question section reads exactly as the layer-1 document's, so a diff shows no change there.
    assert.equal(section(renderTrace(parent, { maxCharacters: 1000 }).text), ['## prompt', 'Q: 3+5*2-7', '', ''].join('\n'));
    const lines = beside.text.split('\n');
    for (const step of beside.steps) {
      assert.equal(lines[step.range.startLine], correction.completion.split('\n')[step.index]);
    }
  });

  it('keeps a prompt from another template as one block', () => {
    const parent = fixtureRecord('s000001-q000-l1-001');
    const custom = { ...fixtureRecord('s000001-q000-l1-001-l2-000'), prompt: 'Review:\n' + parent.completion + 'Wait, let me double-check that.\n' };
    assert.equal(splitLayer2Prompt(custom, parent), undefined);
    const text = renderTrace(custom, { maxCharacters: 1000, parent }).text;
    assert.ok(text.includes('## prompt\nReview:\n3+5=8') && !text.includes('## first answer'));
  });

  it('labels a layer-1 sample and points every step range at its own text', () => {
    for (const id of ['s000001-q001-l1-000', 's000002-q001-l1-001']) {
      const record = fixtureRecord(id);
      const rendered = renderTrace(record, { maxCharacters: 1000 });
      assert.match(rendered.text, /^run: example-run\n/);
      assert.match(rendered.text, /\noutcome: — \(layer 1\)\nguiding phrase: —\n/);
      const steps = traceSteps(record);
      assert.equal(rendered.steps.length, steps.length);
      for (const s of rendered.steps) {
        assert.equal(textAt(rendered.text, s.range), steps[s.index].text);
        assert.equal(rendered.text.split('\n')[s.headerLine], `### step ${s.index + 1}`);
      }
      assert.equal(rendered.text.split('\n')[rendered.answerLine as number], record.completion.slice(record.answer_span!.start, record.answer_span!.end));
    }
  });

  it('keeps text outside the steps, normalizes line breaks, and spans multi-line steps', () => {
    const base = fixtureRecord('s000001-q000-l1-000');
    const completion = '<think>\r\nfirst line\r\nstill first\r\nsecond\r\n</think>\r\nA: 9';
    const record = { ...base, completion, steps: [{ start: 9, end: 32 }, { start: 34, end: 40 }], answer_span: { start: 52, end: 56 } };
    const rendered = renderTrace(record, { maxCharacters: 1000 });
    const body = rendered.text.slice(rendered.text.indexOf('## completion'), rendered.text.indexOf('## answer'));
    assert.equal(body, '## completion\n<think>\n\n### step 1\nfirst line\nstill first\n\n### step 2\nsecond\n\n</think>\n\n');
    assert.ok(!rendered.text.includes('\r'));
    assert.equal(textAt(rendered.text, rendered.steps[0].range), 'first line\nstill first');
    assert.equal(rendered.steps[0].range.endLine - rendered.steps[0].range.startLine, 1);
    assert.equal(rendered.steps[0].range.endCharacter, 'still first'.length);
  });

  it('truncates a 1 MB completion with the marker', () => {
    const record = longRecord(90_000); // 1,006,784 characters
    assert.ok(record.completion.length > 1_000_000);
    const rendered = renderTrace(record, { maxCharacters: 200_000 });
    assert.equal(rendered.truncated, true);
    const lines = rendered.text.split('\n');
    const marker = lines.find((l) => l.startsWith(TRUNCATION_MARKER_PREFIX));
    assert.equal(marker, `… truncated: ${record.completion.length - 200_000} more characters — run 'MGRPO: Show Full Completion'`);
    assert.ok(rendered.text.length < 3 * 200_000 + 2000, `rendered ${rendered.text.length} characters`);
    const last = rendered.steps[rendered.steps.length - 1];
    const cutStep = traceSteps(record)[last.index];
    assert.ok(cutStep.span.start < 200_000 && cutStep.span.end >= 200_000 - 1, 'the last rendered step is the one at the cut');
    assert.equal(lines[lines.indexOf(marker) - 1], '', 'the marker follows the last step block');
    assert.equal(lines[rendered.answerLine as number], 'A: 90000', 'the answer is shown even when cut off');
  });

  // Rendering speed is measured by `npm run bench:extension`, not asserted here.
  it('renders a 1 MB completion in full, with exact ranges to the last step', () => {
    const record = longRecord(90_000);
    const rendered = renderTrace(record, { maxCharacters: Number.MAX_SAFE_INTEGER });
    assert.equal(rendered.truncated, false);
    assert.equal(rendered.steps.length, 90_000);
    const lines = rendered.text.split('\n');
    const last = rendered.steps[89_999];
    assert.equal(lines[last.range.startLine], '89999+1=90000');
    assert.equal(lines[last.headerLine], '### step 90000');
  });

  it('bounds the document when tiny steps would multiply its size', () => {
    const base = fixtureRecord('s000001-q000-l1-000');
    const completion = 'x\n'.repeat(100_000);
    const steps = Array.from({ length: 100_000 }, (_, i) => ({ start: 2 * i, end: 2 * i + 1 }));
    const rendered = renderTrace({ ...base, completion, steps, answer_span: null }, { maxCharacters: 10_000 });
    assert.equal(rendered.truncated, true);
    const shown = rendered.steps.length;
    assert.ok(shown < 5000 && shown > 500, `${shown} steps shown`);
    assert.ok(rendered.text.includes(`… truncated: ${completion.length - 2 * shown} more characters`), 'the marker counts from the first step not shown');
  });

  it('truncates a long prompt too (a layer-2 prompt carries the whole first answer)', () => {
    const record = { ...fixtureRecord('s000001-q000-l1-001-l2-000'), prompt: 'x'.repeat(5000) };
    const rendered = renderTrace(record, { maxCharacters: 1000 });
    assert.equal(rendered.truncated, true);
    assert.match(rendered.text, /\n## prompt\nx{1000}\n… truncated: 4000 more characters of the prompt — run 'MGRPO: Show Full Completion'\n/);
  });
});
