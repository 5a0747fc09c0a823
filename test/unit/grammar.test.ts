// The reasoning-trace grammar in VS Code's own engines (vscode-textmate + vscode-oniguruma): the
// scopes of representative lines, held fixed while the grammar was made linear on long lines
// (bench/extension/grammar-bench.ts times those; tests never time anything).

import { strict as assert } from 'node:assert';
import { loadGrammar, tokenize, type Token } from './textmate';

/** Adjacent tokens with the same scopes merged, scopes without the grammar's suffix. */
function merged(tokens: Token[]): [string, string][] {
  const out: [string, string][] = [];
  for (const t of tokens) {
    const scopes = t.scopes.map((s) => s.replace('.reasoning-trace', '')).join(' ');
    const last = out[out.length - 1];
    if (last && last[1] === scopes) last[0] += t.text;
    else out.push([t.text, scopes]);
  }
  return out;
}

const EXPECTED: [string, [string, string][]][] = [
  ["### step 2 (changed)", [["###","markup.heading.step punctuation.definition.heading"],[" ","markup.heading.step"],["step","markup.heading.step entity.name.section"],[" ","markup.heading.step"],["2","markup.heading.step constant.numeric.integer"],[" (changed)","markup.heading.step comment.line"]]],
  ["reward: 1.00 · advantage: +1.000", [["reward","meta.header support.type.property-name"],[":","meta.header punctuation.separator.key-value"],[" ","meta.header"],["1.00","meta.header constant.numeric"],[" ","meta.header"],["·","meta.header punctuation.separator"],[" advantage: ","meta.header"],["+1.000","meta.header constant.numeric"]]],
  ["outcome: i->c (wrong -> right)", [["outcome","meta.header support.type.property-name"],[":","meta.header punctuation.separator.key-value"],[" ","meta.header"],["i->c","meta.header markup.inserted.outcome.fixed"],[" ","meta.header"],["(wrong -> right)","meta.header comment.line.parenthetical"]]],
  ["id: s000001-q000-l1-001-l2-000", [["id","meta.header support.type.property-name"],[":","meta.header punctuation.separator.key-value"],[" ","meta.header"],["s000001-q000-l1-001-l2-000","meta.header variable.other.constant.record-id"]]],
  ["3+5*2-7", [["3","meta.expression constant.numeric"],["+","meta.expression keyword.operator.arithmetic"],["5","meta.expression constant.numeric"],["*","meta.expression keyword.operator.arithmetic"],["2","meta.expression constant.numeric"],["-","meta.expression keyword.operator.arithmetic"],["7","meta.expression constant.numeric"]]],
  ["so 8*2 = 16, and -7 + 2 = -5.", [["so ",""],["8","meta.equation constant.numeric"],["*","meta.equation keyword.operator.arithmetic"],["2","meta.equation constant.numeric"],[" ","meta.equation"],["=","meta.equation keyword.operator.assignment"],[" ","meta.equation"],["16","meta.equation constant.numeric.result"],[", and ",""],["-7","meta.equation constant.numeric"],[" ","meta.equation"],["+","meta.equation keyword.operator.arithmetic"],[" ","meta.equation"],["2","meta.equation constant.numeric"],[" ","meta.equation"],["=","meta.equation keyword.operator.assignment"],[" ","meta.equation"],["-5","meta.equation constant.numeric.result"],[".",""]]],
  ["\\boxed{42}", [["\\boxed","support.function.boxed"],["{","punctuation.section.braces.begin"],["42","markup.bold.answer"],["}","punctuation.section.braces.end"]]],
  ["<think> hmm </think>", [["<","meta.tag punctuation.definition.tag.begin"],["think","meta.tag entity.name.tag"],[">","meta.tag punctuation.definition.tag.end"],[" hmm ",""],["</","meta.tag punctuation.definition.tag.begin"],["think","meta.tag entity.name.tag"],[">","meta.tag punctuation.definition.tag.end"]]],
  ["Wait, let me double-check that.", [["Wait, let me double-check that.","string.quoted.other.guiding-phrase"]]],
  ["x1.5e3 and 2.5E-3", [["x1.5e3 and ",""],["2.5E-3","constant.numeric"]]],
  ["A: 9", [["A:","meta.answer keyword.control.answer"],[" ","meta.answer"],["9","meta.answer markup.bold.answer constant.numeric"]]],
  ["ground truth: 9 · right", [["ground truth","support.type.property-name"],[":","punctuation.separator.key-value"],[" ",""],["9","string.unquoted.answer"],[" ",""],["·","punctuation.separator"],[" ",""],["right","markup.inserted.right"]]],
  ["## completion", [["##","markup.heading.section punctuation.definition.heading"],[" ","markup.heading.section"],["completion","markup.heading.section entity.name.section"]]],
];

describe('reasoning-trace grammar', () => {
  for (const [line, tokens] of EXPECTED) {
    it(`colours ${JSON.stringify(line)} as before`, async () => {
      const grammar = await loadGrammar();
      assert.deepEqual(merged(tokenize(grammar, [line])[0]), tokens);
    });
  }

  it('still colours long lines whole: a 20,000-digit run is one number, a long chain one expression', async () => {
    const grammar = await loadGrammar();
    assert.deepEqual(merged(tokenize(grammar, ['7'.repeat(20_000)])[0]), [['7'.repeat(20_000), 'constant.numeric']]);
    const chain = `${'1+'.repeat(5_000)}1`;
    const tokens = merged(tokenize(grammar, [chain])[0]);
    assert.equal(tokens.length, 10_001);
    assert.ok(tokens.every(([text, scopes]) => scopes === (text === '+' ? 'meta.expression keyword.operator.arithmetic' : 'meta.expression constant.numeric')));
    // A chain too long to be an equation (over 64 operations) is an expression, and its result a number.
    const long = merged(tokenize(grammar, [`${chain}=5001`])[0]);
    assert.deepEqual(long.slice(-2), [['=', ''], ['5001', 'constant.numeric']]);
    const short = merged(tokenize(grammar, ['1+1+1=3'])[0]);
    assert.deepEqual(short.slice(-2), [['=', 'meta.equation keyword.operator.assignment'], ['3', 'meta.equation constant.numeric.result']]);
  });
});
