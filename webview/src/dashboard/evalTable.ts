// The evaluation table: one row per eval/step-N.json, newest first. Undefined metrics show "—".
import type { EvalRow } from '../../../extension/src/webview/protocol';
import { h, replaceChildren } from '../shared/dom';
import { fixed, MISSING, percent, percentPoints } from '../shared/format';

interface Column {
  label: string;
  title: string;
  cell: (row: EvalRow) => string;
}

const COLUMNS: readonly Column[] = [
  { label: 'Step', title: 'Training step the model was evaluated after', cell: (r) => String(r.step) },
  { label: 'n', title: 'Problems evaluated', cell: (r) => String(r.n) },
  { label: 'Acc@t1', title: 'Accuracy of first answers', cell: (r) => percent(r.accT1) },
  { label: 'Acc@t2', title: 'Accuracy after one correction pass', cell: (r) => percent(r.accT2) },
  { label: 'Δ', title: 'Acc@t2 − Acc@t1', cell: (r) => percentPoints(r.delta) },
  { label: 'Δ i→c', title: 'Fraction wrong at t1 and right at t2', cell: (r) => percent(r.deltaI2C) },
  { label: 'Δ c→i', title: 'Fraction right at t1 and wrong at t2', cell: (r) => percent(r.deltaC2I) },
  { label: 'CL', title: 'Confidence level: P(right at t2 | right at t1)', cell: (r) => fixed(r.cl, 3) },
  { label: 'CS', title: 'Critique score: P(right at t2 | wrong at t1)', cell: (r) => fixed(r.cs, 3) },
  { label: 'RSS', title: 'Relative self-correction score; above 0.5 means correction helped. Undefined when Acc@t1 is 0 or 1.', cell: (r) => fixed(r.rss, 3) },
];

export function renderEvalTable(container: HTMLElement, evals: readonly EvalRow[]): void {
  if (evals.length === 0) {
    replaceChildren(container, h('p', { className: 'muted' }, 'No evaluation yet. The trainer writes eval/step-N.json at the start and every eval interval.'));
    return;
  }
  const newestFirst = [...evals].sort((a, b) => b.step - a.step);
  const head = h('thead', {}, h('tr', {}, ...COLUMNS.map((c) => h('th', { title: c.title, attrs: { scope: 'col' } }, c.label))));
  const body = h('tbody', {}, ...newestFirst.map((row, i) => h('tr', { className: i === 0 ? 'latest' : '' },
    ...COLUMNS.map((c) => {
      const text = c.cell(row);
      return h('td', { className: text === MISSING ? 'num missing' : 'num', title: text === MISSING ? 'undefined for this evaluation' : '' }, text);
    }))));
  replaceChildren(container, h('table', { className: 'eval-table', id: 'eval-table' }, head, body));
}
