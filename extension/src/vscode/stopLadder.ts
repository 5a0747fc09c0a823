// How a trainer is stopped when asking is not enough: a ladder of signals, each sent after a wait
// if the process is still alive. The waits come from the last step's duration, with a floor and a
// default (a missing or broken `step_seconds` must not make the first rung fire at once). A trainer
// spawned as a tree (its own process group, torchrun's workers) is killed as one: see processTree.ts.
// No `vscode` import: unit-tested with real child processes.

import type { ChildProcess } from 'node:child_process';
import { descendantsOf, processTable, signalSurvivors, signalTree, type ProcessEntry } from './processTree';

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

/**
 * Sends `signal` if the process still runs; a process gone in between is not an error. With `tree`
 * (a trainer spawned as a process-group leader), SIGKILL goes to its group and all its descendants:
 * the one signal a leader cannot pass on, and torchrun's workers sit in sessions of their own.
 * SIGTERM stays for the leader alone, which passes it on as it should: torchrun sends each worker one
 * (a second would make the trainer exit at once, without its checkpoint), and the trainer stops its
 * own helpers (the math-verify worker must not die in the middle of the step being checkpointed).
 * Returns the descendants a tree SIGKILL signalled.
 */
export function sendSignal(child: ChildProcess, signal: NodeJS.Signals, tree = false): ProcessEntry[] {
  if (!isRunning(child)) return [];
  if (tree && signal === 'SIGKILL' && child.pid !== undefined) return signalTree(child.pid, signal);
  try {
    child.kill(signal);
  } catch {
    // Already gone.
  }
  return [];
}

export interface LadderOptions {
  /** The child leads its own process group (spawned detached): kill it as a tree (see sendSignal). */
  tree?: boolean;
  /** Told how many processes a leader left behind were killed when it exited. */
  onSweep?: (killed: number) => void;
}

/**
 * Climbs the rungs against `child` until it exits. One ladder at a time: climbing again (a
 * shutdown during a stop) replaces the previous one. For a tree, each rung first lists the child's
 * descendants; if the child then exits leaving some of them running (torchrun, exiting on a second
 * SIGTERM, leaves workers still in their stop), those are killed: nothing of a stopped trainer
 * outlives it, holding its stdout open and its GPU.
 */
export class SignalLadder {
  private timer?: NodeJS.Timeout;
  private listed: ProcessEntry[] = [];

  constructor(private readonly child: ChildProcess, private readonly onRung: (rung: StopRung) => void,
    private readonly options: LadderOptions = {}) {
    child.once('exit', () => {
      this.cancel();
      if (!this.listed.length) return;
      const killed = signalSurvivors(this.listed, 'SIGKILL');
      this.listed = [];
      if (killed) this.options.onSweep?.(killed);
    });
  }

  climb(rungs: readonly StopRung[]): void {
    this.cancel();
    const [rung, ...rest] = rungs;
    if (!rung || !isRunning(this.child)) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!isRunning(this.child)) return;
      this.onRung(rung);
      this.fire(rung.signal);
      this.climb(rest);
    }, rung.afterMs);
  }

  /** Sends one signal now as a rung would (shutdown's first SIGTERM, the host's last SIGKILL). */
  fire(signal: NodeJS.Signals): void {
    if (!isRunning(this.child)) return;
    const pid = this.child.pid;
    if (!this.options.tree || pid === undefined) {
      sendSignal(this.child, signal);
      return;
    }
    // Listed before the signal: a leader that dies of it takes its children's parent link with it.
    let listed: ProcessEntry[];
    if (signal === 'SIGKILL') {
      listed = sendSignal(this.child, signal, true);
    } else {
      listed = descendantsOf(pid, processTable());
      sendSignal(this.child, signal);
    }
    for (const entry of listed) if (!this.listed.some((known) => known.pid === entry.pid)) this.listed.push(entry);
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
