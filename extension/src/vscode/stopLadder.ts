// How a trainer is stopped when asking is not enough: a ladder of signals, each sent after a wait
// if the process is still alive. The waits come from the last step's duration, with a floor and a
// default (a missing or broken `step_seconds` must not make the first rung fire at once). No
// `vscode` import: unit-tested with real child processes.

import type { ChildProcess } from 'node:child_process';

export interface StopRung {
  /** Wait after the previous rung (or the start) before this one. */
  afterMs: number;
  signal: NodeJS.Signals;
  /** Said in the log when this rung fires. */
  message: string;
}

/** The trainer acts on "stop" between steps: the first wait covers at least this much. */
export const STOP_MIN_WAIT_MS = 60_000;
/** Time the trainer gets to write its checkpoint after the step in progress. */
export const CHECKPOINT_ALLOWANCE_MS = 30_000;
export const SIGTERM_REPEAT_MS = 10_000;
export const SIGKILL_AFTER_MS = 5_000;

/**
 * The first wait after "stop": twice the last step plus the checkpoint allowance, never under
 * STOP_MIN_WAIT_MS. Unknown, NaN, negative or infinite step seconds count as unknown.
 */
export function stopWaitMs(lastStepSeconds: number | undefined): number {
  const seconds = typeof lastStepSeconds === 'number' && Number.isFinite(lastStepSeconds) && lastStepSeconds > 0 ? lastStepSeconds : 0;
  return Math.max(STOP_MIN_WAIT_MS, Math.round(2 * seconds * 1000 + CHECKPOINT_ALLOWANCE_MS));
}

/**
 * After "stop": SIGTERM (the trainer queues a stop, in case its stdin reader is stuck), then a
 * second SIGTERM (it exits at once; its files stay valid, being written whole), then SIGKILL.
 */
export function stopRungs(lastStepSeconds: number | undefined): StopRung[] {
  const firstWaitMs = stopWaitMs(lastStepSeconds);
  return [
    { afterMs: firstWaitMs, signal: 'SIGTERM', message: `did not stop within ${Math.round(firstWaitMs / 1000)} s; sending SIGTERM` },
    { afterMs: SIGTERM_REPEAT_MS, signal: 'SIGTERM', message: 'still running after SIGTERM; sending a second SIGTERM (exit now)' },
    { afterMs: SIGKILL_AFTER_MS, signal: 'SIGKILL', message: 'still running after two SIGTERMs; killing it' },
  ];
}

/**
 * For shutdown, when there is no time to finish a step (the caller sends the first SIGTERM): a
 * second SIGTERM halfway through the grace period, SIGKILL at its end.
 */
export function shutdownRungs(graceMs: number): StopRung[] {
  const half = Number.isFinite(graceMs) && graceMs > 0 ? graceMs / 2 : 0;
  return [
    { afterMs: half, signal: 'SIGTERM', message: 'shutting down: second SIGTERM' },
    { afterMs: half, signal: 'SIGKILL', message: 'shutting down: still running; killing it' },
  ];
}

/** Whether the process has neither exited nor been killed by a signal yet. */
export function isRunning(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/** Sends `signal` if the process still runs; a process gone in between is not an error. */
export function sendSignal(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!isRunning(child)) return;
  try {
    child.kill(signal);
  } catch {
    // Already gone.
  }
}

/**
 * Climbs the rungs against `child` until it exits. One ladder at a time: climbing again (a
 * shutdown during a stop) replaces the previous one.
 */
export class SignalLadder {
  private timer?: NodeJS.Timeout;

  constructor(private readonly child: ChildProcess, private readonly onRung: (rung: StopRung) => void) {
    child.once('exit', () => this.cancel());
  }

  climb(rungs: readonly StopRung[]): void {
    this.cancel();
    const [rung, ...rest] = rungs;
    if (!rung || !isRunning(this.child)) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!isRunning(this.child)) return;
      this.onRung(rung);
      sendSignal(this.child, rung.signal);
      this.climb(rest);
    }, rung.afterMs);
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
