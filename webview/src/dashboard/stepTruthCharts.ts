// The dashboard's step-truth section (issue 9): correction outcomes per step as stacked bars,
// where first answers and corrections first go wrong, where layer 2 departs against layer 1's
// first error (counts before / at / after, and the offset as a share of the chain), and the
// flawed-chain rates over training. Drawn as SVG (bars need click targets, which uPlot's canvas
// has not); a click on a bar asks the host to open those samples in the Runs view.
import * as l10n from '@vscode/l10n';
import type { OpenSamplesParams, StepTruthSummary } from '../../../extension/src/webview/protocol';
import { h, replaceChildren } from '../shared/dom';
import { percent } from '../shared/format';
import { themeVar } from '../shared/theme';
import { outcomeWords } from '../shared/words';
import './stepTruth.css';
import { groupedBars, MAX_OUTCOME_STEPS, offsetBinLabel, offsetBins, offsetBinWords, OUTCOME_ORDER, outcomeBars, rateLine, type Bar, type PlotBox } from './stepTruthLayout';

const SVG_NS = 'http://www.w3.org/2000/svg';
const HEIGHT = 180;
const MARGIN = { left: 40, right: 10, top: 8, bottom: 22 };

const OUTCOME_COLOURS: Record<string, [string, string]> = {
  'i->c': ['--vscode-charts-green', '#89d185'],
  'c->c': ['--vscode-charts-blue', '#3794ff'],
  'c->i': ['--vscode-charts-red', '#f14c4c'],
  'i->i': ['--vscode-charts-orange', '#d18616'],
};
const SERIES_COLOURS: [string, string][] = [['--vscode-charts-blue', '#3794ff'], ['--vscode-charts-purple', '#b180d7']];

/** Which step-truth filter a departure bar opens (series:category); others are not clickable. */
const DEPARTURE_FILTERS: Record<string, OpenSamplesParams> = {
  'i2c:exact': { stepTruth: 'fixed-first-error' },
  'i2c:before': { stepTruth: 'departed-before-error' },
  'all:before': { stepTruth: 'departed-before-error' },
  'i2c:after': { stepTruth: 'departed-after-error' },
  'all:after': { stepTruth: 'departed-after-error' },
};

/** The departure categories: their keys name the bars (data-key), their labels are shown. */
const DEPARTURE_CATEGORIES = ['before', 'exact', 'after', 'no departure'] as const;
type DepartureCategory = (typeof DEPARTURE_CATEGORIES)[number];

function departureLabel(category: DepartureCategory): string {
  switch (category) {
    case 'before': return l10n.t('before');
    case 'exact': return l10n.t('exact');
    case 'after': return l10n.t('after');
    case 'no departure': return l10n.t('no departure');
  }
}

function departureWords(category: DepartureCategory): string {
  switch (category) {
    case 'before': return l10n.t("departing before layer 1's first wrong step");
    case 'exact': return l10n.t("departing exactly at layer 1's first wrong step");
    case 'after': return l10n.t("departing after layer 1's first wrong step");
    case 'no departure': return l10n.t('keeping every step of layer 1');
  }
}

/** Which corrections a departure bar counts, as its tooltip and legend say. */
function departureSeriesWords(series: 'i2c' | 'all'): string {
  return series === 'i2c' ? l10n.t('wrong → right corrections') : l10n.t('all corrections');
}

/** A bar's tooltip, saying that a click opens its samples when it does. */
function clickable(title: string, opens: boolean): string {
  return opens ? l10n.t('{0} — click to open them', title) : title;
}

function colour([name, fallback]: [string, string]): string {
  return themeVar(name, fallback);
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  for (const child of children) element.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  return element;
}

function legend(entries: [string, string][]): HTMLElement {
  return h('div', { className: 'truth-legend' }, ...entries.map(([label, fill]) => {
    const swatch = h('span', { className: 'swatch' });
    swatch.style.background = fill;
    return h('span', { className: 'truth-legend-entry' }, swatch, label);
  }));
}

export class StepTruthCharts {
  readonly element: HTMLElement;
  private summary: StepTruthSummary | undefined;

  constructor(private readonly open: (params: OpenSamplesParams) => void) {
    this.element = h('section', { className: 'truth-charts', id: 'step-truth', attrs: { 'aria-label': l10n.t('step truth charts') } });
  }

  update(summary: StepTruthSummary): void {
    this.summary = summary;
    this.render();
  }

  /** Redraws at the current width (after a resize or a theme change). */
  render(): void {
    const summary = this.summary;
    if (!summary) return;
    const width = Math.max(280, Math.floor((this.element.clientWidth || 900) / (this.element.clientWidth > 880 ? 2 : 1)) - 24);
    const figures = [this.outcomesFigure(summary, width)];
    if (summary.hasLabels) {
      figures.push(this.firstErrorFigure(summary, width), this.departureFigure(summary, width), this.offsetFigure(summary, width), this.flawedFigure(summary, width));
    } else {
      figures.push(h('p', { className: 'muted', id: 'truth-no-labels' }, l10n.t('No step labels in this run: its task has no step checker, so flawed chains and first errors are not measured.')));
    }
    replaceChildren(this.element, ...figures);
    this.element.dataset.steps = String(summary.points.length);
  }

  private frame(width: number): { box: PlotBox; root: SVGSVGElement } {
    const box = { left: MARGIN.left, top: MARGIN.top, width: width - MARGIN.left - MARGIN.right, height: HEIGHT - MARGIN.top - MARGIN.bottom };
    const axis = themeVar('--vscode-editorWidget-border', '#80808060');
    const root = svg('svg', { width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`, role: 'img' },
      svg('line', { x1: box.left, y1: box.top + box.height, x2: box.left + box.width, y2: box.top + box.height, stroke: axis }),
      svg('line', { x1: box.left, y1: box.top, x2: box.left, y2: box.top + box.height, stroke: axis }));
    return { box, root };
  }

  private label(root: SVGSVGElement, x: number, y: number, text: string, anchor: 'start' | 'middle' | 'end'): void {
    root.appendChild(svg('text', { x, y, 'text-anchor': anchor, 'font-size': 10, fill: themeVar('--vscode-descriptionForeground', '#999') }, text));
  }

  private bar(root: SVGSVGElement, bar: Bar, fill: string, title: string, open?: OpenSamplesParams): void {
    const rect = svg('rect', { x: bar.x, y: bar.y, width: bar.width, height: Math.max(bar.height, bar.count > 0 ? 1 : 0), fill, class: 'truth-bar', 'data-key': bar.key, 'data-count': bar.count },
      svg('title', {}, title));
    if (bar.step !== undefined) rect.setAttribute('data-step', String(bar.step));
    if (open) {
      rect.classList.add('clickable');
      rect.setAttribute('role', 'button');
      rect.setAttribute('tabindex', '0');
      rect.setAttribute('aria-label', title);
      rect.addEventListener('click', () => this.open(open));
      rect.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ') this.open(open);
      });
    }
    root.appendChild(rect);
  }

  private figure(id: string, caption: string, description: string, ...content: Node[]): HTMLElement {
    return h('figure', { className: 'truth-chart', id, title: description }, h('figcaption', {}, caption), ...content);
  }

  private outcomesFigure(summary: StepTruthSummary, width: number): HTMLElement {
    const { box, root } = this.frame(width);
    const { bars, shownSteps, maxTotal } = outcomeBars(summary.points, box);
    for (const bar of bars) {
      const title = clickable(l10n.t('step {0}: {1} {2} ({3})', bar.step!, bar.count, bar.key, outcomeWords(bar.key as (typeof OUTCOME_ORDER)[number])), true);
      this.bar(root, bar, colour(OUTCOME_COLOURS[bar.key]), title, { step: bar.step!, outcome: bar.key as (typeof OUTCOME_ORDER)[number] });
    }
    this.label(root, box.left - 4, box.top + 8, String(maxTotal), 'end');
    this.label(root, box.left - 4, box.top + box.height, '0', 'end');
    const withOutcomes = summary.points.filter((p) => p.outcomes !== null).slice(-MAX_OUTCOME_STEPS);
    if (withOutcomes.length) {
      this.label(root, box.left, HEIGHT - 6, l10n.t('step {0}', withOutcomes[0].step), 'start');
      this.label(root, box.left + box.width, HEIGHT - 6, l10n.t('step {0}', withOutcomes[withOutcomes.length - 1].step), 'end');
    }
    const total = summary.points.filter((p) => p.outcomes !== null).length;
    const caption = total > shownSteps ? l10n.t('Correction outcomes per step (last {0} of {1})', shownSteps, total) : l10n.t('Correction outcomes per step');
    return this.figure('truth-outcomes', caption, l10n.t('Layer-2 corrections of each training step by outcome. Click a bar to open those corrections.'),
      root, legend(OUTCOME_ORDER.map((o) => [l10n.t('{0} {1}', o, outcomeWords(o)), colour(OUTCOME_COLOURS[o])])));
  }

  private firstErrorFigure(summary: StepTruthSummary, width: number): HTMLElement {
    const { box, root } = this.frame(width);
    const positions = Math.max(summary.firstErrorT1.length, summary.firstErrorT2.length);
    // The keys name the bars (data-key, not shown); the labels under them are in the display language.
    const categories = Array.from({ length: positions }, (_, i) => `step ${i + 1}`);
    const labels = Array.from({ length: positions }, (_, i) => l10n.t('step {0}', i + 1));
    const { bars, maxCount } = groupedBars(categories, [
      { key: 't1', counts: summary.firstErrorT1 },
      { key: 't2', counts: summary.firstErrorT2 },
    ], box);
    bars.forEach((bar, i) => {
      // groupedBars orders the bars category by category, series within: bar i is position i / 2.
      const position = Math.floor(i / 2);
      const series = bar.key.split(':')[0];
      const open: OpenSamplesParams | undefined = bar.count > 0 ? { firstError: position, layer: series === 't1' ? 1 : 2 } : undefined;
      const title = series === 't1'
        ? l10n.t('first answers first wrong at step {0}: {1}', position + 1, bar.count)
        : l10n.t('corrections first wrong at step {0}: {1}', position + 1, bar.count);
      this.bar(root, bar, colour(SERIES_COLOURS[series === 't1' ? 0 : 1]), clickable(title, open !== undefined), open);
    });
    labels.forEach((label, i) => this.label(root, box.left + (i + 0.5) * (box.width / Math.max(1, positions)), HEIGHT - 6, label, 'middle'));
    this.label(root, box.left - 4, box.top + 8, String(maxCount), 'end');
    return this.figure('truth-first-error', l10n.t('First wrong step (position)'), l10n.t('How many samples first go wrong at each reasoning step, over all training steps: first answers (t1) and corrections (t2). Click a bar to open those samples.'),
      root, legend([[l10n.t('first answers (t1)'), colour(SERIES_COLOURS[0])], [l10n.t('corrections (t2)'), colour(SERIES_COLOURS[1])]]));
  }

  private departureFigure(summary: StepTruthSummary, width: number): HTMLElement {
    const { box, root } = this.frame(width);
    const categories = DEPARTURE_CATEGORIES;
    const counts = (d: StepTruthSummary['departures']['all']) => [d.before, d.exact, d.after, d.noDeparture];
    const { bars, maxCount } = groupedBars(categories, [
      { key: 'i2c', counts: counts(summary.departures.i2c) },
      { key: 'all', counts: counts(summary.departures.all) },
    ], box);
    for (const bar of bars) {
      const [series, category] = bar.key.split(':') as ['i2c' | 'all', DepartureCategory];
      const open = DEPARTURE_FILTERS[`${series}:${category}`];
      const title = l10n.t('{0} {1}: {2}', departureSeriesWords(series), departureWords(category), bar.count);
      this.bar(root, bar, colour(SERIES_COLOURS[series === 'i2c' ? 0 : 1]), clickable(title, open !== undefined), open);
    }
    categories.forEach((category, i) => this.label(root, box.left + (i + 0.5) * (box.width / categories.length), HEIGHT - 6, departureLabel(category), 'middle'));
    this.label(root, box.left - 4, box.top + 8, String(maxCount), 'end');
    const i2c = summary.departures.i2c;
    const rate = i2c.exact + i2c.before + i2c.after + i2c.noDeparture > 0 ? i2c.exact / (i2c.exact + i2c.before + i2c.after + i2c.noDeparture) : null;
    return this.figure('truth-departure', l10n.t("Layer 2's first departure vs layer 1's first error (i→c exact: {0})", percent(rate)),
      l10n.t("Where a correction first changes its first answer, relative to the first answer's first wrong step, over corrections of first answers that have one. Exact: implicit process supervision found the error."),
      root, legend([[departureSeriesWords('i2c'), colour(SERIES_COLOURS[0])], [departureSeriesWords('all'), colour(SERIES_COLOURS[1])]]));
  }

  /**
   * Departure minus first error as a share of layer 1's chain (protocol's DepartureOffsetHistogram):
   * the pairing the before / exact / after counts keep, with how far off layer 2 was. Each bar
   * opens its corrections.
   */
  private offsetFigure(summary: StepTruthSummary, width: number): HTMLElement {
    const histogram = summary.departureOffsets;
    const caption = l10n.t("Layer 2's departure − layer 1's first error, as a share of layer 1's chain");
    const description = l10n.t("For each correction of a first answer with a wrong (or missing) step: where the correction first changes a step, minus where the first answer first went wrong, divided by the first answer's step count. 0: exactly at the error; left: it rewrote right steps; right: it kept the wrong one. Click a bar to open those corrections.");
    if (!histogram) return this.figure('truth-offsets', caption, description, h('p', { className: 'muted', id: 'truth-offsets-pending' }, l10n.t('Counting departures in the rollout files…')));
    const { box, root } = this.frame(width);
    const bins = offsetBins(histogram.perSide);
    const { bars, maxCount } = groupedBars(bins.map(String), [
      { key: 'i2c', counts: histogram.i2c },
      { key: 'all', counts: histogram.all },
    ], box);
    bars.forEach((bar, i) => {
      const bin = bins[Math.floor(i / 2)];
      const series = bar.key.split(':')[0] as 'i2c' | 'all';
      const open: OpenSamplesParams | undefined = bar.count > 0 ? { departureOffset: bin, corrections: series } : undefined;
      const title = l10n.t('{0} {1}: {2}', departureSeriesWords(series), offsetBinWords(bin, histogram.perSide), bar.count);
      this.bar(root, bar, colour(SERIES_COLOURS[series === 'i2c' ? 0 : 1]), clickable(title, open !== undefined), open);
    });
    bins.forEach((bin, i) => this.label(root, box.left + (i + 0.5) * (box.width / bins.length), HEIGHT - 6, offsetBinLabel(bin, histogram.perSide), 'middle'));
    this.label(root, box.left - 4, box.top + 8, String(maxCount), 'end');
    return this.figure('truth-offsets', caption, description,
      root, legend([[departureSeriesWords('i2c'), colour(SERIES_COLOURS[0])], [departureSeriesWords('all'), colour(SERIES_COLOURS[1])]]));
  }

  private flawedFigure(summary: StepTruthSummary, width: number): HTMLElement {
    const { box, root } = this.frame(width);
    const steps = summary.points.map((p) => p.step);
    const lines: [string, (number | null)[], [string, string]][] = [
      ['t1', summary.points.map((p) => p.flawedT1), SERIES_COLOURS[0]],
      ['t2', summary.points.map((p) => p.flawedT2), SERIES_COLOURS[1]],
    ];
    for (const [key, values, fill] of lines) {
      for (const run of rateLine(steps, values, box)) {
        const stroke = colour(fill);
        root.appendChild(svg('polyline', { points: run.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' '), fill: 'none', stroke, 'stroke-width': 1.5, class: `truth-line truth-line-${key}` }));
        for (const p of run) root.appendChild(svg('circle', { cx: p.x.toFixed(1), cy: p.y.toFixed(1), r: 2.5, fill: stroke }));
      }
    }
    this.label(root, box.left - 4, box.top + 8, '100%', 'end');
    this.label(root, box.left - 4, box.top + box.height, '0%', 'end');
    if (steps.length) {
      this.label(root, box.left, HEIGHT - 6, l10n.t('step {0}', steps[0]), 'start');
      this.label(root, box.left + box.width, HEIGHT - 6, l10n.t('step {0}', steps[steps.length - 1]), 'end');
    }
    // The whole plot opens the flawed chains: a line has no bars to click.
    const target = svg('rect', { x: box.left, y: box.top, width: box.width, height: box.height, fill: 'transparent', class: 'truth-bar clickable', role: 'button', tabindex: 0, 'aria-label': l10n.t('open the right answers with a flawed chain') },
      svg('title', {}, l10n.t('Click to open the right answers with a flawed chain')));
    target.addEventListener('click', () => this.open({ stepTruth: 'flawed-chain' }));
    root.appendChild(target);
    const last = summary.points[summary.points.length - 1];
    return this.figure('truth-flawed', l10n.t('Flawed-chain rate (now t1 {0}, t2 {1})', percent(last?.flawedT1), percent(last?.flawedT2)),
      l10n.t('Share of right answers reached through a wrong, missing or extra step, per training step: first answers (t1) and corrections (t2). Click to open them.'),
      root, legend([[l10n.t('first answers (t1)'), colour(SERIES_COLOURS[0])], [l10n.t('corrections (t2)'), colour(SERIES_COLOURS[1])]]));
  }
}
