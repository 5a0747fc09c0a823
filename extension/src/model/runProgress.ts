// The live-run summary the status bar shows ("step 12/200 · 41%→47% · ETA 3m"), kept free of
// `vscode` so its arithmetic is unit-tested (test/unit/runProgress.test.ts).
import type { MetricsLine } from '../format/types';
import { formatDuration, formatPercent } from './text';

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
  // An imported run whose source logged no timings has step_seconds null: no ETA from it.
  const recent = metrics.step_seconds === null ? progress.recentStepSeconds : [...progress.recentStepSeconds, metrics.step_seconds].slice(-ETA_WINDOW);
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

/** "step 12/200 · 41%→47% · ETA 3m" (the arrow part only once accuracies are known). */
export function describeProgress(progress: RunProgress): string {
  const parts = [`step ${progress.step}/${progress.totalSteps}`];
  if (progress.accT1 !== null && progress.accT2 !== null) {
    parts.push(`${formatPercent(progress.accT1, 0)}→${formatPercent(progress.accT2, 0)}`);
  } else if (progress.accT1 !== null) {
    parts.push(`acc ${formatPercent(progress.accT1, 0)}`);
  }
  const eta = etaSeconds(progress);
  if (eta !== undefined && progress.step < progress.totalSteps) parts.push(`ETA ${formatDuration(eta, 'coarse')}`);
  return parts.join(' · ');
}

/** Fraction done in 0..1 (for the progress notification). */
export function fractionDone(progress: RunProgress): number {
  return progress.totalSteps > 0 ? Math.min(1, progress.step / progress.totalSteps) : 0;
}
