// Geometry of the dashboard's step-truth charts: bars and lines in a plot box, from the host's
// StepTruthSummary. Pure (no DOM): test/unit/webviewStepTruth.test.ts checks it by hand-computed
// coordinates; stepTruthCharts.ts draws what it returns as SVG.
import * as l10n from '@vscode/l10n';
import type { CorrectionOutcome } from '../../../extension/src/format/types';
import type { StepTruthPoint } from '../../../extension/src/webview/protocol';

export interface PlotBox {
  /** Left and top of the plot area inside the SVG, and its size. */
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface Bar {
  x: number;
  y: number;
  width: number;
  height: number;
  /** What the bar counts, and how many. */
  key: string;
  count: number;
  /** The training step of an outcome bar. */
  step?: number;
}

/** Stacking order from the axis up: what improved, what stayed right, what broke, what stayed wrong. */
export const OUTCOME_ORDER: readonly CorrectionOutcome[] = ['i->c', 'c->c', 'c->i', 'i->i'];

/** The most steps drawn as bars; older steps are left out (the caption says so). */
export const MAX_OUTCOME_STEPS = 120;

/** Gap between bars as a share of each bar's slot. */
const GAP = 0.2;

/**
 * One stacked bar per step (the last MAX_OUTCOME_STEPS steps with outcomes), segments in
 * OUTCOME_ORDER from the bottom, heights on a scale whose top is the largest step total.
 */
export function outcomeBars(points: readonly StepTruthPoint[], box: PlotBox): { bars: Bar[]; shownSteps: number; maxTotal: number } {
  const withOutcomes = points.filter((p) => p.outcomes !== null).slice(-MAX_OUTCOME_STEPS);
  const totals = withOutcomes.map((p) => OUTCOME_ORDER.reduce((sum, o) => sum + p.outcomes![o], 0));
  const maxTotal = Math.max(0, ...totals);
  const bars: Bar[] = [];
  if (withOutcomes.length === 0 || maxTotal === 0) return { bars, shownSteps: withOutcomes.length, maxTotal };
  const slot = box.width / withOutcomes.length;
  const barWidth = Math.max(1, slot * (1 - GAP));
  withOutcomes.forEach((point, i) => {
    let base = box.top + box.height;
    for (const outcome of OUTCOME_ORDER) {
      const count = point.outcomes![outcome];
      if (count <= 0) continue;
      const height = (count / maxTotal) * box.height;
      base -= height;
      bars.push({ x: box.left + i * slot + (slot - barWidth) / 2, y: base, width: barWidth, height, key: outcome, count, step: point.step });
    }
  });
  return { bars, shownSteps: withOutcomes.length, maxTotal };
}

/**
 * Grouped bars: one group per category, one bar per series within it, all on one scale whose top
 * is the largest count. `series[s][c]` is the count of series s in category c.
 */
export function groupedBars(categories: readonly string[], series: readonly { key: string; counts: readonly number[] }[], box: PlotBox): { bars: Bar[]; maxCount: number } {
  const maxCount = Math.max(0, ...series.flatMap((s) => s.counts.slice(0, categories.length)));
  const bars: Bar[] = [];
  if (categories.length === 0 || series.length === 0) return { bars, maxCount };
  const slot = box.width / categories.length;
  const groupWidth = slot * (1 - GAP);
  const barWidth = groupWidth / series.length;
  categories.forEach((category, c) => {
    series.forEach((s, i) => {
      const count = s.counts[c] ?? 0;
      const height = maxCount > 0 ? (count / maxCount) * box.height : 0;
      bars.push({
        x: box.left + c * slot + (slot - groupWidth) / 2 + i * barWidth,
        y: box.top + box.height - height,
        width: barWidth,
        height,
        key: `${s.key}:${category}`,
        count,
      });
    });
  });
  return { bars, maxCount };
}

/**
 * A line of rates in [0, 1] over steps: one point per step with a value, x from the first to the
 * last step of `steps`, y from 0 (bottom) to 1 (top). A null value breaks the line.
 */
export function rateLine(steps: readonly number[], values: readonly (number | null)[], box: PlotBox): { x: number; y: number }[][] {
  const first = steps[0];
  const last = steps[steps.length - 1];
  const span = last - first;
  const runs: { x: number; y: number }[][] = [];
  let current: { x: number; y: number }[] = [];
  steps.forEach((step, i) => {
    const value = values[i];
    if (value === null || value === undefined || !Number.isFinite(value)) {
      if (current.length) runs.push(current);
      current = [];
      return;
    }
    const x = span > 0 ? box.left + ((step - first) / span) * box.width : box.left + box.width / 2;
    const y = box.top + (1 - Math.min(1, Math.max(0, value))) * box.height;
    current.push({ x, y });
  });
  if (current.length) runs.push(current);
  return runs;
}

const FRACTION_GLYPHS: Record<string, string> = { '1/2': '½', '1/4': '¼', '3/4': '¾', '1/3': '⅓', '2/3': '⅔' };

function fraction(numerator: number, denominator: number): string {
  if (numerator === denominator) return '1';
  let [a, b] = [numerator, denominator];
  while (b) [a, b] = [b, a % b];
  const key = `${numerator / a}/${denominator / a}`;
  return FRACTION_GLYPHS[key] ?? key;
}

/**
 * The axis label of a signed departure-offset bin (protocol's DepartureOffsetHistogram): its outer
 * edge as a share of the chain. "−¾" for bin −3 of 4 per side: departures more than ½ and at most
 * ¾ of the chain before the first error; "0" for the middle bin (exactly at it).
 */
export function offsetBinLabel(bin: number, perSide: number): string {
  if (bin === 0) return '0';
  return `${bin < 0 ? '−' : '+'}${fraction(Math.abs(bin), perSide)}`;
}

/** "departing 25–50% of layer 1's chain before its first error" for bin −2 of 4 per side. */
export function offsetBinWords(bin: number, perSide: number): string {
  if (bin === 0) return l10n.t("departing exactly at layer 1's first wrong step");
  const j = Math.abs(bin);
  const percent = (k: number) => Math.round((k / perSide) * 100);
  // Whole sentences per case (not pieces joined here): a translation may order them its own way.
  if (j === 1) {
    return bin < 0
      ? l10n.t("departing up to {0}% of layer 1's chain before its first wrong step", percent(j))
      : l10n.t("departing up to {0}% of layer 1's chain after its first wrong step", percent(j));
  }
  return bin < 0
    ? l10n.t("departing {0}–{1}% of layer 1's chain before its first wrong step", percent(j - 1), percent(j))
    : l10n.t("departing {0}–{1}% of layer 1's chain after its first wrong step", percent(j - 1), percent(j));
}

/** The signed bins of a histogram with `perSide` bins on each side of 0, left to right. */
export function offsetBins(perSide: number): number[] {
  return Array.from({ length: 2 * perSide + 1 }, (_, i) => i - perSide);
}
