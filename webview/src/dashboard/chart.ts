// One uPlot chart of the dashboard, themed from VS Code's --vscode-* colours. Charts share a
// cursor (hovering a step in one shows it in all), and are redrawn by setData only: uPlot draws a
// few thousand points per chart in well under a frame.
import * as l10n from '@vscode/l10n';
import uPlot from 'uplot';
import { h, replaceChildren } from '../shared/dom';
import { compact, percent } from '../shared/format';
import { themeVar } from '../shared/theme';
import type { AxisFormat, ChartAbsence, ChartSpec } from './chartSpecs';
import type { MetricsColumns } from './series';

const HEIGHT = 190;
const CURSOR_SYNC_KEY = 'mgrpo-dashboard';
const STEP_INCREMENTS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000, 100000];

function formatTick(format: AxisFormat): (self: uPlot, ticks: number[]) => string[] {
  return (_self, ticks) => ticks.map((t) => (format === 'percent' ? percent(t, 0) : compact(t)));
}

function formatValue(format: AxisFormat): (self: uPlot, value: number | null) => string {
  return (_self, value) => (format === 'percent' ? percent(value) : compact(value));
}

function showLatestInLegend(plot: uPlot): void {
  const last = plot.data[0].length - 1;
  if (plot.cursor.idx == null && last >= 0) plot.setLegend({ idx: last });
}

export class ChartView {
  readonly element: HTMLElement;
  private readonly plotHost: HTMLElement;
  /** What an imported run's source does not record, in place of (or above) the plot. */
  private readonly absenceNote: HTMLElement;
  private absenceKey = '';
  private plot: uPlot | undefined;

  constructor(readonly spec: ChartSpec, private readonly columns: MetricsColumns) {
    this.plotHost = h('div', { className: 'chart-plot' });
    this.absenceNote = h('p', { className: 'chart-absent muted' });
    this.absenceNote.hidden = true;
    this.element = h('figure', { className: 'chart', id: `chart-${spec.id}`, title: spec.description },
      h('figcaption', {}, spec.title),
      this.absenceNote,
      this.plotHost);
  }

  /** Says which series the source does not record; a chart with none of its series recorded shows only that. */
  showAbsence(absence: ChartAbsence): void {
    const key = JSON.stringify(absence);
    if (key === this.absenceKey) return;
    this.absenceKey = key;
    const lines = absence.whole !== null ? [absence.whole] : absence.series;
    replaceChildren(this.absenceNote, ...lines.flatMap((line, i) => (i === 0 ? [line] : [h('br'), line])));
    this.absenceNote.hidden = lines.length === 0;
    this.plotHost.hidden = absence.whole !== null;
    this.element.classList.toggle('chart-not-recorded', absence.whole !== null);
  }

  /** (Re)creates the plot: first draw, and after a theme change (uPlot bakes colours in). */
  build(): void {
    this.plot?.destroy();
    const foreground = themeVar('--vscode-foreground', '#cccccc');
    const grid = themeVar('--vscode-editorWidget-border', themeVar('--vscode-panel-border', '#80808040'));
    const font = `11px ${themeVar('--vscode-font-family', 'sans-serif')}`;
    const { spec } = this;
    const axis = (scale: 'y' | 'y2', format: AxisFormat, label: string, side: 1 | 3): uPlot.Axis => ({
      scale, side, label, stroke: foreground, font, labelFont: font, size: 52, labelSize: 16,
      grid: { stroke: grid, width: 1, show: scale === 'y' }, ticks: { stroke: grid, width: 1 },
      values: formatTick(format),
    });
    const axes: uPlot.Axis[] = [
      // Steps are whole numbers: integer tick spacings only.
      { stroke: foreground, font, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, incrs: STEP_INCREMENTS, values: (_u, ticks) => ticks.map((t) => String(t)) },
      axis('y', spec.left.format, spec.left.label, 3),
    ];
    if (spec.right) axes.push(axis('y2', spec.right.format, spec.right.label, 1));
    const scales: uPlot.Scales = { x: { time: false } };
    scales.y = spec.left.range ? { range: spec.left.range } : { auto: true };
    if (spec.right) scales.y2 = { auto: true };
    const options: uPlot.Options = {
      width: this.width(),
      height: HEIGHT,
      scales,
      axes,
      legend: { show: true, live: true },
      // Away from the cursor the legend shows the newest step's values, not dashes.
      hooks: { setCursor: [(u) => showLatestInLegend(u)] },
      cursor: { sync: { key: CURSOR_SYNC_KEY }, drag: { x: true, y: false } },
      series: [
        { label: l10n.t('step'), value: (_u, v) => (v === null || v === undefined ? '—' : String(v)) },
        ...spec.series.map((s): uPlot.Series => ({
          label: s.label,
          scale: s.scale,
          stroke: themeVar(s.color, foreground),
          width: 1.5,
          dash: s.dashed ? [5, 4] : undefined,
          spanGaps: false,
          points: { size: 4 },
          value: formatValue(s.scale === 'y2' ? spec.right!.format : spec.left.format),
        })),
      ],
    };
    this.plot = new uPlot(options, this.columns.aligned(spec.series.map((s) => s.key)) as uPlot.AlignedData, this.plotHost);
    showLatestInLegend(this.plot);
  }

  /** Redraws with the columns as they are now (they are shared arrays, appended in place). */
  redraw(): void {
    if (!this.plot) return this.build();
    this.plot.setData(this.columns.aligned(this.spec.series.map((s) => s.key)) as uPlot.AlignedData);
    showLatestInLegend(this.plot);
  }

  resize(): void {
    const width = this.width();
    if (this.plot && Math.abs(this.plot.width - width) > 1) this.plot.setSize({ width, height: HEIGHT });
  }

  private width(): number {
    return Math.max(240, Math.floor(this.element.clientWidth || this.plotHost.clientWidth || 480) - 16);
  }
}
