// What the dashboard shows, computed on the host from the run's files: metrics lines projected to
// chart points, evaluation files to table rows, the manifest to a header. Pure (no `vscode`), so
// test/unit/webviewDashboard.test.ts checks it against the example run. The words it puts in front
// of the user ("not recorded by verl") come from `DashboardWords`: the panel passes localised ones.

import type { CorrectionMetrics, EvalResult, MetricsLine, RunManifest } from '../../format/types';
import { notRecorded, runSourceKind } from '../../model/absence';
import { ETA_WINDOW } from '../../model/runProgress';
import { DASHBOARD_METRIC_KEYS, type DashboardMetricKey, type DashboardPoint, type EvalRow, type RunHeader, type UnrecordedMetrics } from '../../webview/protocol';

/** The user-facing words this module writes; the defaults are model/absence's English. */
export interface DashboardWords {
  /** "not recorded by verl": a metric or the model an imported run's source did not record. */
  notRecorded(kind: string | undefined): string;
  /** "not recorded by verl (imported)": the header's model of an imported run that does not name it. */
  unnamedImportedModel(kind: string | undefined): string;
}

export const ENGLISH_WORDS: DashboardWords = {
  notRecorded,
  unnamedImportedModel: (kind) => `${notRecorded(kind)} (imported)`,
};

/** A finite number, or null: NaN and infinities in a file would break a chart's scale. */
function finiteOrNull(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function dashboardPoint(line: MetricsLine): DashboardPoint {
  const c = line.correction;
  return {
    step: line.step,
    // A GRPO run has no correction table: its first-answer accuracy is layer 1's accuracy.
    accT1: finiteOrNull(c ? c.acc_t1 : line.layer1.accuracy),
    accT2: finiteOrNull(c?.acc_t2),
    deltaI2C: finiteOrNull(c?.delta_i2c),
    deltaC2I: finiteOrNull(c?.delta_c2i),
    cl: finiteOrNull(c?.cl),
    cs: finiteOrNull(c?.cs),
    rss: finiteOrNull(c?.rss),
    rewardLayer1: finiteOrNull(line.layer1.reward_mean),
    rewardLayer2: finiteOrNull(line.layer2?.reward_mean),
    loss: finiteOrNull(line.loss),
    kl: finiteOrNull(line.kl),
    clipFraction: finiteOrNull(line.clip_fraction),
    tokensPerSecond: finiteOrNull(line.tokens_per_second),
  };
}

/**
 * Which charted metrics have had a value at some step, fed each batch of points as the panel sends
 * it (so a long live run costs O(new steps) per update, not a pass over every step).
 */
export class MetricPresence {
  private readonly recorded = new Set<DashboardMetricKey>();
  private steps = 0;

  reset(points: readonly DashboardPoint[] = []): void {
    this.recorded.clear();
    this.steps = 0;
    this.add(points);
  }

  add(points: readonly DashboardPoint[]): void {
    for (const point of points) {
      this.steps++;
      for (const key of DASHBOARD_METRIC_KEYS) if (point[key] !== null) this.recorded.add(key);
    }
  }

  /**
   * For an imported run (run.json has `source`): every metric null at every step so far, as
   * "not recorded by <kind>". Nothing before the first step (nothing is known yet), and nothing
   * for the trainer's own runs, whose gaps mean "undefined at that step", not "not recorded".
   */
  unrecorded(manifest: Pick<RunManifest, 'source'> | undefined, words: DashboardWords = ENGLISH_WORDS): UnrecordedMetrics {
    const kind = runSourceKind(manifest);
    if (kind === undefined || this.steps === 0) return {};
    const unrecorded: UnrecordedMetrics = {};
    for (const key of DASHBOARD_METRIC_KEYS) if (!this.recorded.has(key)) unrecorded[key] = words.notRecorded(kind);
    return unrecorded;
  }
}

const METRIC_KEYS = ['acc_t1', 'acc_t2', 'delta', 'delta_i2c', 'delta_c2i', 'cl', 'cs', 'rss'] as const;

/**
 * Checks the parts of an eval/step-N.json the dashboard reads. Throws an Error naming the file and
 * the field; the caller skips that file and says so.
 */
export function parseEvalResult(value: unknown, file: string): Pick<EvalResult, 'step' | 'split' | 'n' | 'metrics'> {
  const fail = (what: string): never => {
    throw new Error(`${file}: ${what}`);
  };
  if (typeof value !== 'object' || value === null) fail('not a JSON object');
  const result = value as Record<string, unknown>;
  if (typeof result.step !== 'number' || !Number.isInteger(result.step) || result.step < 0) fail('"step" must be a non-negative integer');
  const metrics = result.metrics;
  if (typeof metrics !== 'object' || metrics === null) fail('"metrics" must be an object');
  const m = metrics as Record<string, unknown>;
  for (const key of METRIC_KEYS) {
    if (m[key] !== null && typeof m[key] !== 'number') fail(`"metrics.${key}" must be a number or null, got ${JSON.stringify(m[key])}`);
  }
  const n = typeof result.n === 'number' ? result.n : typeof m.n === 'number' ? m.n : 0;
  return { step: result.step as number, split: typeof result.split === 'string' ? result.split : 'eval', n, metrics: m as unknown as CorrectionMetrics };
}

export function evalRow(result: Pick<EvalResult, 'step' | 'split' | 'n' | 'metrics'>): EvalRow {
  const m = result.metrics;
  return {
    step: result.step,
    split: result.split,
    n: result.n,
    accT1: finiteOrNull(m.acc_t1),
    accT2: finiteOrNull(m.acc_t2),
    delta: finiteOrNull(m.delta),
    deltaI2C: finiteOrNull(m.delta_i2c),
    deltaC2I: finiteOrNull(m.delta_c2i),
    cl: finiteOrNull(m.cl),
    cs: finiteOrNull(m.cs),
    rss: finiteOrNull(m.rss),
  };
}

/** Mean of the last ETA_WINDOW steps' seconds (the status bar's pace), or null. */
export function recentSecondsPerStep(metrics: readonly MetricsLine[]): number | null {
  const recent = metrics.slice(-ETA_WINDOW).map((m) => m.step_seconds).filter((s): s is number => s !== null && Number.isFinite(s) && s >= 0);
  return recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : null;
}

export interface HeaderInput {
  runDir: string;
  name: string;
  manifest: RunManifest | undefined;
  metrics: readonly MetricsLine[];
  /** The live trainer's state when this window runs the run; it is fresher than run.json. */
  liveState?: 'starting' | 'running' | 'paused' | 'stopping' | 'exited';
  error?: string;
  /** The words of the header (default English). */
  words?: DashboardWords;
}

export function runHeader(input: HeaderInput): RunHeader {
  const { manifest, metrics } = input;
  const last = metrics.length ? metrics[metrics.length - 1].step : 0;
  const step = Math.max(last, manifest?.completed_steps ?? 0);
  const totalSteps = manifest?.total_steps ?? 0;
  let status: RunHeader['status'] = manifest?.status ?? (input.error ? 'unreadable' : 'starting');
  if (input.liveState === 'starting' || input.liveState === 'stopping' || input.liveState === 'paused' || input.liveState === 'running') {
    status = input.liveState;
  }
  const secondsPerStep = recentSecondsPerStep(metrics);
  const etaSeconds = status === 'running' && secondsPerStep !== null ? Math.max(0, totalSteps - step) * secondsPerStep : null;
  return {
    runDir: input.runDir,
    name: input.name,
    algorithm: manifest?.algorithm ?? '',
    // An imported run whose source does not name its model says so (and which trainer it came from).
    model: manifest?.model.name_or_path ?? (manifest?.source ? (input.words ?? ENGLISH_WORDS).unnamedImportedModel(manifest.source.kind) : ''),
    status,
    step,
    totalSteps,
    etaSeconds,
    secondsPerStep,
    error: input.error ?? manifest?.error ?? null,
  };
}
