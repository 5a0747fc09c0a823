// The dashboard's data as columns (one array per metric, aligned on the step column), which is
// what uPlot draws. Appending is O(new points); a step that is not after the last one means the
// run was resumed from a checkpoint and rewrote later steps, so the columns are cut back to it
// first. Pure (no DOM): test/unit/webviewSeries.test.ts.
import { DASHBOARD_METRIC_KEYS, type DashboardMetricKey, type DashboardPoint } from '../../../extension/src/webview/protocol';

export type MetricKey = DashboardMetricKey;

/** The charted metrics, defined once in the protocol (the host decides which ones a source does not record). */
export const METRIC_KEYS: readonly MetricKey[] = DASHBOARD_METRIC_KEYS;

/** uPlot's aligned data: x values first, then one array per series (null = no value, a gap). */
export type AlignedColumns = [number[], ...(number | null)[][]];

export class MetricsColumns {
  readonly steps: number[] = [];
  private readonly columns = new Map<MetricKey, (number | null)[]>(METRIC_KEYS.map((key) => [key, []]));

  get length(): number {
    return this.steps.length;
  }

  reset(points: readonly DashboardPoint[]): void {
    this.truncate(0);
    this.append(points);
  }

  append(points: readonly DashboardPoint[]): void {
    for (const point of points) {
      if (!Number.isFinite(point.step)) continue;
      const last = this.steps[this.steps.length - 1];
      if (last !== undefined && point.step <= last) this.truncate(lowerBound(this.steps, point.step));
      this.steps.push(point.step);
      for (const key of METRIC_KEYS) {
        const value = point[key];
        this.columns.get(key)!.push(typeof value === 'number' && Number.isFinite(value) ? value : null);
      }
    }
  }

  column(key: MetricKey): readonly (number | null)[] {
    return this.columns.get(key)!;
  }

  /** The x column and the given metrics' columns, for uPlot.setData (the arrays are shared, not copied). */
  aligned(keys: readonly MetricKey[]): AlignedColumns {
    return [this.steps, ...keys.map((key) => this.columns.get(key)!)];
  }

  /** The newest non-null value of a metric, or null. */
  latest(key: MetricKey): number | null {
    const column = this.columns.get(key)!;
    for (let i = column.length - 1; i >= 0; i--) if (column[i] !== null) return column[i];
    return null;
  }

  private truncate(length: number): void {
    this.steps.length = length;
    for (const column of this.columns.values()) column.length = length;
  }
}

/** Index of the first element >= value in an ascending array. */
export function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
