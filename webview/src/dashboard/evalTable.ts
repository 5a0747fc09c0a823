// The evaluation table: one row per eval/step-N.json, newest first. Undefined metrics show "—".
import * as l10n from '@vscode/l10n';
import type { EvalRow } from '../../../extension/src/webview/protocol';
import { h, replaceChildren } from '../shared/dom';
import { MISSING } from '../shared/format';
import { evalColumns } from './evalColumns';

export function renderEvalTable(container: HTMLElement, evals: readonly EvalRow[]): void {
  if (evals.length === 0) {
    replaceChildren(container, h('p', { className: 'muted' }, l10n.t('No evaluation yet. The trainer writes eval/step-N.json at the start and every eval interval.')));
    return;
  }
  const newestFirst = [...evals].sort((a, b) => b.step - a.step);
  const columns = evalColumns();
  const missing = l10n.t('undefined for this evaluation');
  const head = h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { title: c.title, attrs: { scope: 'col' } }, c.label))));
  const body = h('tbody', {}, ...newestFirst.map((row, i) => h('tr', { className: i === 0 ? 'latest' : '' },
    ...columns.map((c) => {
      const text = c.cell(row);
      return h('td', { className: text === MISSING ? 'num missing' : 'num', title: text === MISSING ? missing : '' }, text);
    }))));
  replaceChildren(container, h('table', { className: 'eval-table', id: 'eval-table' }, head, body));
}
