import { strict as assert } from 'node:assert';
import { changedSteps } from '../../extension/src/model/divergence';
import { stepHoverMarkdown, stepTokenShare } from '../../extension/src/model/hoverContent';
import { traceSteps } from '../../extension/src/model/segmentation';
import { escapeMarkdown, formatNumber, formatSigned } from '../../extension/src/model/text';
import { fixtureRecord } from './fixture';

describe('step hover content', () => {
  it('shows reward, share, advantage, group statistics, token probabilities and the layer-2 change', () => {
    const parent = fixtureRecord('s000001-q000-l1-001');
    const correction = fixtureRecord('s000001-q000-l1-001-l2-000');
    const step = traceSteps(correction)[1]; // "8*2=6", tokens 6..10
    // Token probabilities of step 2: exp of -0.1849, -0.1097, -0.1164, -0.1615, -0.2092 -> mean 0.85590, min 0.81123 (the "6").
    assert.equal(
      stepHoverMarkdown(correction, step, { parent, changedByLayer2: changedSteps(parent, correction).has(1) }),
      [
        '**Step 2** · layer 2 · i->c (wrong -> right) · right answer',
        '',
        '8\\*2=6',
        '',
        '| | |',
        '|:--|:--|',
        '| reward | 1.00 |',
        '| reward share | 21.7% (5 of 23 tokens) |',
        '| advantage | +1.000 |',
        '| group reward | mean 0.500 · std 0.500 |',
        '| token probability | mean 0.856 · min 0.811 at “6” |',
        '| layer 2 | changed from layer 1 |',
        '| corrects | `s000001-q000-l1-001` (wrong, reward 0.00) |',
      ].join('\n'),
    );
    assert.equal(stepTokenShare(correction, step), 5 / 23);
  });

  it('uses a given reward share and says when layer 2 kept a layer-1 step', () => {
    const layer1 = fixtureRecord('s000001-q000-l1-001');
    const md = stepHoverMarkdown(layer1, traceSteps(layer1)[0], { changedByLayer2: false, rewardShare: 0.25 });
    assert.match(md, /^\*\*Step 1\*\* · layer 1 · wrong answer/);
    assert.match(md, /\| reward share \| 25\.0% \|/);
    assert.match(md, /\| advantage \| -1\.000 \|/);
    assert.match(md, /\| layer 2 \| kept by layer 2 \|/);
  });

  it('escapes model text: no HTML, no markdown structure', () => {
    const scripted = fixtureRecord('s000002-q001-l1-001');
    const md = stepHoverMarkdown(scripted, traceSteps(scripted)[1]);
    assert.ok(!md.includes('<script>') && !md.includes('</script>'), md);
    assert.match(md, /&lt;script&gt;alert\\\('x'\\\)&lt;\/script&gt;/);
    assert.match(md, /min 0\.905 at “&lt;”/, 'the weakest token is escaped too');

    const hostile = '**bold** [link](command:evil) | # head\n```\n<img src=x onerror=alert(1)> &amp;';
    const record = { ...scripted, completion: hostile, steps: [{ start: 0, end: hostile.length }], rewards: { '<b>bonus</b>': 1, correctness: 0 } };
    const out = stepHoverMarkdown(record, traceSteps(record)[0]);
    assert.ok(!/<img|<b>|\]\(command:|^#|```/m.test(out), out);
    assert.ok(out.includes('\\*\\*bold\\*\\* \\[link\\]\\(command:evil\\) \\| \\# head \\`\\`\\` &lt;img src=x onerror=alert\\(1\\)&gt; &amp;amp;'), out);
    assert.match(out, /\| reward \| 1\.00 \(&lt;b&gt;bonus&lt;\/b&gt; 1\.00, correctness 0\.00\) \|/);
  });

  it('formats numbers for people: fixed decimals, signs, no "-0.00", "—" for missing', () => {
    assert.equal(formatNumber(0.875), '0.88');
    assert.equal(formatNumber(-0.0001), '0.00');
    assert.equal(formatNumber(null), '—');
    assert.equal(formatNumber(Number.NaN), '—');
    assert.equal(formatSigned(0.9998), '+1.000');
    assert.equal(formatSigned(-0.5), '-0.500');
    assert.equal(formatSigned(0), '0.000');
    assert.equal(escapeMarkdown('a\r\nb'), 'a ⏎ b');
  });
});
