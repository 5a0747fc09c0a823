// The run header: name, status, step/total, ETA and pace, and the latest Acc@t1 → Acc@t2.
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import * as l10n from '@vscode/l10n';
import type { RunHeader } from '../../../extension/src/webview/protocol';
import { h, replaceChildren } from '../shared/dom';
import { duration, fixed, MISSING, percent } from '../shared/format';
import { statusWords } from '../shared/words';
import type { MetricsColumns } from './series';

function fact(label: string, value: string, id: string): HTMLElement {
  return h('div', { className: 'fact', id }, h('span', { className: 'fact-label' }, label), h('span', { className: 'fact-value' }, value));
}

export function renderHeader(container: HTMLElement, header: RunHeader, columns: MetricsColumns): void {
  const badge = document.createElement('vscode-badge');
  badge.className = `status status-${header.status}`;
  badge.textContent = statusWords(header.status);
  const done = header.totalSteps > 0 ? Math.min(1, header.step / header.totalSteps) : 0;
  const progress = h('progress', { className: 'run-progress', attrs: { max: '1', 'aria-label': l10n.t('steps done') } });
  progress.value = done;
  const accT1 = columns.latest('accT1');
  const accT2 = columns.latest('accT2');
  replaceChildren(container,
    h('div', { className: 'title-row' }, h('h1', { id: 'run-name' }, header.name), badge),
    h('div', { className: 'facts' },
      fact(l10n.t('step'), header.totalSteps ? l10n.t('{0} / {1}', header.step, header.totalSteps) : String(header.step), 'fact-step'),
      fact(l10n.t('ETA'), header.etaSeconds === null ? MISSING : duration(header.etaSeconds), 'fact-eta'),
      fact(l10n.t('s/step'), fixed(header.secondsPerStep, 2), 'fact-pace'),
      fact(l10n.t('Acc@t1 → Acc@t2'), accT1 === null && accT2 === null ? MISSING : `${percent(accT1)} → ${percent(accT2)}`, 'fact-acc'),
      fact(l10n.t('algorithm'), header.algorithm || MISSING, 'fact-algorithm'),
      fact(l10n.t('model'), header.model || MISSING, 'fact-model')),
    progress,
    header.error ? h('p', { className: 'error', id: 'run-error' }, header.error) : null);
}
