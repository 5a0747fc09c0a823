// Grammar benchmark: `npx tsx bench/extension/grammar-bench.ts`.
//
// Time per line of the reasoning-trace grammar (syntaxes/reasoning-trace.tmLanguage.json) in VS
// Code's own engines (vscode-textmate + vscode-oniguruma) on long lines a model can write: a
// 20,000-character "1+1+1...", a 20,000-digit run, 20,000 spaces between words, and a plain
// reasoning line for scale. With MGRPO_GRAMMAR_BEFORE=<file>, the same lines through that grammar
// too (before/after). Writes bench/results/extension-grammar.md.

import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GRAMMAR_FILE, loadGrammar, tokenize } from '../../test/unit/textmate';

const ROOT = path.resolve(__dirname, '..', '..');
const RESULTS = path.join(ROOT, 'bench', 'results', 'extension-grammar.md');
const LENGTH = 20_000;

const LINES: [string, string][] = [
  ['"1+1+1..." (no "=")', '1+'.repeat(LENGTH / 2).slice(0, LENGTH)],
  ['"1+1+...+1=9"', `${'1+'.repeat(LENGTH / 2 - 2)}1=9`],
  ['"1 + 1 + 1 ..." (spaced)', '1 + '.repeat(LENGTH / 4)],
  ['digit run', '7'.repeat(LENGTH)],
  ['digit run, then a letter', `${'7'.repeat(LENGTH)}x`],
  ['space run between words', `a${' '.repeat(LENGTH)}b`],
  ['a number, then spaces', `1${' '.repeat(LENGTH)}x`],
  ['"<think" then spaces', `<think${' '.repeat(LENGTH)}`],
  ['"ground truth:" then spaces', `ground truth: 9${' '.repeat(LENGTH)}x`],
  ['"(" then text (header line)', `question: (${'a'.repeat(LENGTH)}`],
  ['ordinary steps, 20,000 chars', '12+34=46 so 46*2=92, then 92-5=87. '.repeat(LENGTH / 36)],
];

/** Median milliseconds to tokenize `line` as a one-line document. */
async function timeLine(file: string, line: string): Promise<number> {
  const grammar = await loadGrammar(file);
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    tokenize(grammar, [line]);
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[1];
}

async function main(): Promise<void> {
  const before = process.env.MGRPO_GRAMMAR_BEFORE;
  const rows: string[] = [];
  for (const [what, line] of LINES) {
    const after = await timeLine(GRAMMAR_FILE, line);
    const old = before ? await timeLine(before, line) : undefined;
    rows.push(`| ${what} | ${line.length.toLocaleString('en-US')} | ${old === undefined ? '—' : old.toFixed(1)} | ${after.toFixed(1)} |`);
    process.stderr.write(`  ${what}: ${old === undefined ? '' : `before ${old.toFixed(1)} ms, `}after ${after.toFixed(1)} ms\n`);
  }
  const report = [
    '# Reasoning-trace grammar benchmark',
    '',
    `Command: \`${before ? `MGRPO_GRAMMAR_BEFORE=${before} ` : ''}npx tsx bench/extension/grammar-bench.ts\`. Date: ${new Date().toISOString()}. ` +
      `Machine: ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')}.`,
    '',
    'Milliseconds to tokenize one line (median of 3) with vscode-textmate + vscode-oniguruma, as VS Code does. ' +
      '"Before" is the grammar as it was before it was made linear (`git show 4d9e4c5:syntaxes/reasoning-trace.tmLanguage.json`).',
    '',
    '| line | characters | before (ms) | after (ms) |',
    '|:--|--:|--:|--:|',
    ...rows,
    '',
  ].join('\n');
  await fs.writeFile(RESULTS, report);
  process.stdout.write(report);
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
