// The dashboard webview: a run's header, its training charts and its evaluation table, kept live
// by the host's notifications (protocol.ts). Redraws are batched to one per animation frame, so a
// burst of appended steps costs one draw.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import type { DashboardState, EvalRow, RunHeader, UnrecordedMetrics } from '../../../extension/src/webview/protocol';
import * as l10n from '@vscode/l10n';
import { HostChannel } from '../shared/channel';
import { h, replaceChildren, root } from '../shared/dom';
import { configureL10nFromPage } from '../shared/pageL10n';
import { onThemeChange } from '../shared/theme';
import { ChartView } from './chart';
import { chartAbsence, chartSpecs } from './chartSpecs';
import { renderEvalTable } from './evalTable';
import { renderHeader } from './header';
import { MetricsColumns } from './series';
import { StepTruthCharts } from './stepTruthCharts';

// First: every string below is looked up in the bundle the host put in the page.
configureL10nFromPage();
const columns = new MetricsColumns();
const page = root();
const headerSection = h('header', { className: 'run-header', id: 'run-header' });
const chartGrid = h('section', { className: 'charts', id: 'charts', attrs: { 'aria-label': l10n.t('training charts') } });
const evalSection = h('section', { className: 'evals', id: 'evals' });
const charts = chartSpecs().map((spec) => new ChartView(spec, columns));
let header: RunHeader | undefined;
/** The series an imported run's source does not record, as the host last said. */
let unrecorded: UnrecordedMetrics = {};
// A click on a step-truth bar: the host filters the Runs view to those samples and offers them.
const stepTruth = new StepTruthCharts((params) => void channel.request('dashboard/openSamples', params).catch(showError));
let drawQueued = false;

function queueDraw(): void {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    for (const chart of charts) {
      chart.showAbsence(chartAbsence(chart.spec, unrecorded));
      chart.redraw();
    }
    if (header) renderHeader(headerSection, header, columns);
    // For tests and for reading the page state: how many steps are drawn.
    page.dataset.steps = String(columns.length);
    performance.mark('mgrpo-dashboard-drawn');
  });
}

function showRun(): void {
  if (chartGrid.isConnected) return;
  replaceChildren(page,
    headerSection,
    h('h2', {}, l10n.t('Training')),
    chartGrid,
    h('h2', {}, l10n.t('Step truth')),
    stepTruth.element,
    h('h2', {}, l10n.t('Evaluation (greedy, two-pass)')),
    evalSection);
  replaceChildren(chartGrid, ...charts.map((c) => c.element));
  renderEvalTable(evalSection, []);
}

function reset(state: DashboardState): void {
  performance.mark('mgrpo-dashboard-reset');
  showRun();
  header = state.header;
  unrecorded = state.unrecorded ?? {};
  columns.reset(state.points);
  renderEvalTable(evalSection, state.evals);
  page.removeAttribute('aria-busy');
  queueDraw();
}

function showEmpty(message: string): void {
  const start = document.createElement('vscode-button');
  start.textContent = l10n.t('Start MGRPO Run');
  start.addEventListener('click', () => void channel.request('runCommand', { command: 'mgrpo.startRun' }).catch(showError));
  const open = document.createElement('vscode-button');
  open.setAttribute('secondary', '');
  open.textContent = l10n.t('Open Run Folder...');
  open.addEventListener('click', () => void channel.request('runCommand', { command: 'mgrpo.openRunFolder' }).catch(showError));
  replaceChildren(page, h('div', { className: 'empty', id: 'empty' }, h('h1', {}, l10n.t('MGRPO Dashboard')), h('p', {}, message), h('div', { className: 'actions' }, start, open)));
  page.removeAttribute('aria-busy');
}

function showError(error: unknown): void {
  const text = error instanceof Error ? error.message : String(error);
  page.appendChild(h('p', { className: 'error' }, text));
}

const channel = new HostChannel({
  'dashboard/reset': reset,
  'dashboard/append': ({ header: fresh, points, unrecorded: absent }) => {
    showRun();
    header = fresh;
    unrecorded = absent ?? {};
    columns.append(points);
    queueDraw();
  },
  'dashboard/evals': ({ evals }: { evals: EvalRow[] }) => {
    showRun();
    renderEvalTable(evalSection, evals);
  },
  'dashboard/empty': ({ message }) => showEmpty(message),
  'dashboard/stepTruth': (summary) => {
    showRun();
    stepTruth.update(summary);
  },
});

// Charts follow the panel's width and the user's theme.
new ResizeObserver(() => charts.forEach((c) => c.resize())).observe(chartGrid);
new ResizeObserver(() => stepTruth.render()).observe(stepTruth.element);
onThemeChange(() => {
  charts.forEach((c) => c.build());
  stepTruth.render();
});
channel.ready();
