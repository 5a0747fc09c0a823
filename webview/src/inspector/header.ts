// The inspector's header: the question, both sides' rewards and answers, the correction's outcome
// and guiding phrase, and the picker for the sample's other corrections. Model text (question,
// answers, phrase) is set as text, never as HTML.
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import * as l10n from '@vscode/l10n';
import type { InspectorSide, InspectorState } from '../../../extension/src/webview/protocol';
import { h } from '../shared/dom';
import { fixed, signed } from '../shared/format';
import { outcomeText } from '../shared/words';
import { choiceLabel } from './labels';

function correctness(correct: boolean | null): string {
  if (correct === null) return l10n.t('? correctness not recorded');
  return correct ? l10n.t('✓ right') : l10n.t('✗ wrong');
}

function rewardText(side: InspectorSide): string {
  const parts = Object.entries(side.rewards);
  const breakdown = parts.length > 1 || (parts.length === 1 && parts[0][1] !== side.reward)
    ? ` (${parts.map(([name, value]) => `${name} ${fixed(value)}`).join(', ')})`
    : '';
  return `${fixed(side.reward)}${breakdown}`;
}

function sideCard(title: string, side: InspectorSide, id: string, outcome?: string): HTMLElement {
  return h('section', { className: `side ${side.correct ? 'right' : 'wrong'}`, id },
    h('h2', {}, title),
    h('dl', {},
      outcome ? h('dt', {}, l10n.t('outcome')) : null,
      outcome ? h('dd', { className: 'outcome' }, outcome) : null,
      h('dt', {}, l10n.t('answer')),
      // The parsed answer is model text: its own text node, never inside a translated message.
      h('dd', { className: 'answer' }, side.parsedAnswer ?? l10n.t('(none parsed)'), ` · ${correctness(side.correct)}`),
      h('dt', {}, l10n.t('reward')),
      h('dd', {}, rewardText(side)),
      h('dt', {}, l10n.t('advantage')),
      h('dd', {}, signed(side.advantage)),
      side.finishReason === 'length' ? h('dt', {}, l10n.t('finish')) : null,
      side.finishReason === 'length' ? h('dd', { className: 'warning' }, l10n.t('cut at max length')) : null));
}

export interface HeaderActions {
  selectCorrection(recordId: string): void;
  openTrace(recordId: string): void;
}

export function renderInspectorHeader(state: InspectorState, actions: HeaderActions): HTMLElement {
  const select = document.createElement('vscode-single-select');
  select.id = 'correction-picker';
  select.setAttribute('aria-label', l10n.t('Correction of this layer-1 sample'));
  for (const choice of state.choices) {
    const option = document.createElement('vscode-option');
    option.setAttribute('value', choice.recordId);
    if (choice.recordId === state.correction.recordId) option.setAttribute('selected', '');
    option.textContent = choiceLabel(choice);
    select.appendChild(option);
  }
  select.addEventListener('change', () => {
    if (select.value && select.value !== state.correction.recordId) actions.selectCorrection(select.value);
  });

  const openButton = (label: string, recordId: string): HTMLElement => {
    const button = document.createElement('vscode-button');
    button.setAttribute('secondary', '');
    button.textContent = label;
    button.addEventListener('click', () => actions.openTrace(recordId));
    return button;
  };

  const outcome = state.outcome ? outcomeText(state.outcome) : undefined;
  return h('header', { className: 'inspector-header', id: 'inspector-header' },
    h('div', { className: 'title-row' },
      h('h1', {}, l10n.t('step {0} · q {1} · {2}', state.step, state.group, state.questionId)),
      h('span', { className: 'muted' }, state.runName)),
    h('div', { className: 'question-row' },
      h('div', { className: 'question' }, h('span', { className: 'label' }, l10n.t('question')), h('pre', { id: 'question' }, state.question)),
      h('div', { className: 'truth' }, h('span', { className: 'label' }, l10n.t('ground truth')), h('code', { id: 'ground-truth' }, state.groundTruth))),
    h('div', { className: 'sides' },
      sideCard(l10n.t('Layer 1 · sample #{0}', state.layer1.sample), state.layer1, 'side-layer1'),
      h('div', { className: 'phrase' },
        h('span', { className: 'label' }, l10n.t('guiding phrase')),
        h('q', { id: 'guiding-phrase' }, state.guidingPhrase ?? l10n.t('(none)'))),
      sideCard(l10n.t('Layer 2 · correction #{0}', state.correction.sample), state.correction, 'side-correction', outcome)),
    h('div', { className: 'toolbar' },
      h('label', { attrs: { for: 'correction-picker' } }, l10n.t('Corrections of L1 #{0} ({1})', state.layer1.sample, state.choices.length)),
      select,
      openButton(l10n.t('Open layer 1 as trace'), state.layer1.recordId),
      openButton(l10n.t('Open correction as trace'), state.correction.recordId)),
    h('p', { className: 'legend muted' },
      h('span', { className: 'swatch mgrpo-divergent' }, l10n.t('first divergent step')),
      ` · ${l10n.t('shading: least likely token of the step')} `,
      h('span', { className: 'swatch mgrpo-conf-3' }, 'p < 0.5'), ' ',
      h('span', { className: 'swatch mgrpo-conf-2' }, 'p < 0.2'), ' ',
      h('span', { className: 'swatch mgrpo-conf-1' }, 'p < 0.05'),
      ` · ${l10n.t('hover a step for its reward share, advantage and probabilities')}`));
}
