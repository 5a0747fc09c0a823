// Which charts the dashboard draws and what goes in each. Pure data (no DOM), so the list of
// metrics per chart is checked by test/unit/webviewSeries.test.ts against MGRPO.md's table.
// Made on call, not at import, so its words come from the l10n bundle the page was configured with.
import * as l10n from '@vscode/l10n';
import type { UnrecordedMetrics } from '../../../extension/src/webview/protocol';
import type { MetricKey } from './series';

export type AxisFormat = 'percent' | 'number';

export interface SeriesSpec {
  key: MetricKey;
  label: string;
  /** A --vscode-charts-* colour variable (follows the theme). */
  color: string;
  /** The y scale it is drawn on: 'y' (left axis) or 'y2' (right axis). */
  scale: 'y' | 'y2';
  dashed?: boolean;
}

export interface ChartSpec {
  id: string;
  title: string;
  /** What the chart is for, as the chart's tooltip. */
  description: string;
  series: SeriesSpec[];
  left: { label: string; format: AxisFormat; range?: [number, number] };
  right?: { label: string; format: AxisFormat };
}

/** The dashboard's charts, in the current display language. */
export function chartSpecs(): readonly ChartSpec[] {
  return [
    {
      id: 'accuracy',
      title: l10n.t('Accuracy before and after correction'),
      description: l10n.t('Acc@t1: first answers right. Acc@t2: right after the correction pass. Training should lift both and keep t2 above t1.'),
      series: [
        { key: 'accT1', label: l10n.t('Acc@t1'), color: '--vscode-charts-blue', scale: 'y' },
        { key: 'accT2', label: l10n.t('Acc@t2'), color: '--vscode-charts-green', scale: 'y' },
      ],
      left: { label: l10n.t('accuracy'), format: 'percent', range: [0, 1] },
    },
    {
      id: 'transitions',
      title: l10n.t('Corrections: Δ i→c vs Δ c→i'),
      description: l10n.t('Fraction of pairs wrong then right (i→c) and right then wrong (c→i). A base model usually has c→i above i→c; MGRPO should turn that around.'),
      series: [
        { key: 'deltaI2C', label: l10n.t('Δ i→c'), color: '--vscode-charts-green', scale: 'y' },
        { key: 'deltaC2I', label: l10n.t('Δ c→i'), color: '--vscode-charts-red', scale: 'y' },
      ],
      left: { label: l10n.t('fraction'), format: 'percent' },
    },
    {
      id: 'selfCorrection',
      title: l10n.t('Confidence, critique, RSS'),
      description: l10n.t('CL = P(right at t2 | right at t1), CS = P(right at t2 | wrong at t1), RSS above 0.5 means correction helped. Gaps: undefined at that step (e.g. RSS when Acc@t1 is 0 or 1).'),
      series: [
        { key: 'cl', label: l10n.t('CL'), color: '--vscode-charts-blue', scale: 'y' },
        { key: 'cs', label: l10n.t('CS'), color: '--vscode-charts-orange', scale: 'y' },
        { key: 'rss', label: l10n.t('RSS'), color: '--vscode-charts-purple', scale: 'y', dashed: true },
      ],
      left: { label: l10n.t('score'), format: 'number' },
    },
    {
      id: 'reward',
      title: l10n.t('Reward mean per layer'),
      description: l10n.t('Mean verifier reward of layer-1 answers and of layer-2 corrections.'),
      series: [
        { key: 'rewardLayer1', label: l10n.t('layer 1'), color: '--vscode-charts-blue', scale: 'y' },
        { key: 'rewardLayer2', label: l10n.t('layer 2'), color: '--vscode-charts-green', scale: 'y' },
      ],
      left: { label: l10n.t('reward'), format: 'number' },
    },
    {
      id: 'optimization',
      title: l10n.t('Loss, KL, clip fraction'),
      description: l10n.t('Policy loss (left axis); KL to the reference policy and the fraction of clipped token ratios (right axis).'),
      series: [
        { key: 'loss', label: l10n.t('loss'), color: '--vscode-charts-foreground', scale: 'y' },
        { key: 'kl', label: l10n.t('KL'), color: '--vscode-charts-purple', scale: 'y2' },
        { key: 'clipFraction', label: l10n.t('clip fraction'), color: '--vscode-charts-orange', scale: 'y2', dashed: true },
      ],
      left: { label: l10n.t('loss'), format: 'number' },
      right: { label: l10n.t('KL · clip'), format: 'number' },
    },
    {
      id: 'throughput',
      title: l10n.t('Throughput'),
      description: l10n.t('Tokens generated and trained per second of the step.'),
      series: [{ key: 'tokensPerSecond', label: l10n.t('tokens/s'), color: '--vscode-charts-yellow', scale: 'y' }],
      left: { label: l10n.t('tokens/s'), format: 'number' },
    },
  ];
}

/** What a chart says about the series an imported run's source does not record (protocol UnrecordedMetrics). */
export interface ChartAbsence {
  /** Every series of the chart is unrecorded: this text ("not recorded by verl") replaces the chart. */
  whole: string | null;
  /** Some are: one "KL: not recorded by verl" per missing series, under the caption. */
  series: string[];
}

/** "KL: not recorded by verl" (the text after the colon comes from the host, already localised). */
function seriesAbsence(series: SeriesSpec, unrecorded: UnrecordedMetrics): string {
  return l10n.t('{0}: {1}', series.label, unrecorded[series.key]!);
}

export function chartAbsence(spec: ChartSpec, unrecorded: UnrecordedMetrics): ChartAbsence {
  const missing = spec.series.filter((series) => unrecorded[series.key] !== undefined);
  if (missing.length > 0 && missing.length === spec.series.length) {
    const texts = [...new Set(missing.map((series) => unrecorded[series.key]!))];
    // One source per run, so one text; were they ever to differ, each series says its own.
    return texts.length === 1 ? { whole: texts[0], series: [] } : { whole: missing.map((series) => seriesAbsence(series, unrecorded)).join('; '), series: [] };
  }
  return { whole: null, series: missing.map((series) => seriesAbsence(series, unrecorded)) };
}
