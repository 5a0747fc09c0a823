// The live-run summary the status bar shows ("step 12/200 · 41%→47% · ETA 3m"), kept free of
// `vscode` so its arithmetic is unit-tested (test/unit/runProgress.test.ts).
import type { MetricsLine } from '../format/types';

export interface RunProgress {
  step: number;
  totalSteps: number;
  /** Seconds per step of the most recent steps, newest last. */
  recentStepSeconds: number[];
  /** Accuracy of first answers (Acc@t1) and after correction (Acc@t2) at the last step, 0..1. */
  accT1: number | null;
  accT2: number | null;
}

/** How many recent steps the ETA averages over: recent enough to follow a slowdown, long enough to be steady. */
export const ETA_WINDOW = 10;

export function emptyProgress(totalSteps: number, startStep = 0): RunProgress {
  return { step: startStep, totalSteps, recentStepSeconds: [], accT1: null, accT2: null };
}

/** Folds one training step's metrics line into the progress. */
export function advanceProgress(progress: RunProgress, metrics: MetricsLine, totalSteps: number): RunProgress {
  const recent = [...progress.recentStepSeconds, metrics.step_seconds].slice(-ETA_WINDOW);
  // GRPO runs have no correction table; Acc@t1 is then layer 1's accuracy.
  const accT1 = metrics.correction?.acc_t1 ?? metrics.layer1.accuracy ?? null;
  const accT2 = metrics.correction?.acc_t2 ?? null;
  return { step: metrics.step, totalSteps, recentStepSeconds: recent, accT1, accT2 };
}

/** Seconds left: mean of the recent step times times the steps left; undefined before the first step. */
export function etaSeconds(progress: RunProgress): number | undefined {
  if (progress.recentStepSeconds.length === 0) return undefined;
  const mean = progress.recentStepSeconds.reduce((a, b) => a + b, 0) / progress.recentStepSeconds.length;
  return Math.max(0, progress.totalSteps - progress.step) * mean;
}

/** "45s", "3m", "1h 05m": coarse on purpose, a status bar is not a stopwatch. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
}

export function formatPercent(value: number | null): string {
  return value === null || !Number.isFinite(value) ? '–' : `${Math.round(value * 100)}%`;
}

/** "step 12/200 · 41%→47% · ETA 3m" (the arrow part only once accuracies are known). */
export function describeProgress(progress: RunProgress): string {
  const parts = [`step ${progress.step}/${progress.totalSteps}`];
  if (progress.accT1 !== null && progress.accT2 !== null) {
    parts.push(`${formatPercent(progress.accT1)}→${formatPercent(progress.accT2)}`);
  } else if (progress.accT1 !== null) {
    parts.push(`acc ${formatPercent(progress.accT1)}`);
  }
  const eta = etaSeconds(progress);
  if (eta !== undefined && progress.step < progress.totalSteps) parts.push(`ETA ${formatDuration(eta)}`);
  return parts.join(' · ');
}

/** Fraction done in 0..1 (for the progress notification). */
export function fractionDone(progress: RunProgress): number {
  return progress.totalSteps > 0 ? Math.min(1, progress.step / progress.totalSteps) : 0;
}
