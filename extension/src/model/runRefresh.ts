// Which rows of the Runs view a change of a live run touched. VS Code redraws an element and
// re-fetches everything expanded under it when told that element changed; a row re-fetched while
// the user expands or clicks it makes VS Code log "No tree item with id ... found" and drop the
// click. So the view says a run changed only when something it shows did, a step alone when only
// that step did, and at most once per run per REFRESH_INTERVAL_MS. Pure: the provider
// (src/vscode/runsTree.ts) computes signatures, asks for a plan and fires what it says.

import type { RunReader } from '../format/runReader';
import { presentation, type RunNode, type StepNode } from './runTree';

/** Fewest milliseconds between two refreshes of one run. */
export const REFRESH_INTERVAL_MS = 500;
/** Wait after the first change of a burst (step file, metrics line, run.json, trainer state) before refreshing. */
export const REFRESH_SETTLE_MS = 50;

/** What the Runs view shows of one run, as comparable text. */
export interface RunViewSignature {
  /** The run's row: its presentation and what this window adds to it (trainer state, a killed trainer). */
  row: string;
  /** The run's children: its steps (under a filter, everything: matches are counted per step in the run's children). */
  children: string;
  /** Each step's row; an incomplete step's records may still grow, so it never compares equal. */
  steps: Map<number, string>;
}

export type RunViewReader = Pick<RunReader, 'steps' | 'metricsFor' | 'isStepComplete' | 'generation'>;

/** Every incomplete step differs from itself: its file may have grown with no other sign. */
const GROWING = '\u0000growing';

/**
 * The signature of `node` (kept up to date from `reader`). `windowState` is what the provider adds
 * to the run's row (its context value, a trainer killed before writing its status); `filtered`
 * folds every step into the run's children, since a filter's match counts are computed there.
 */
export function runViewSignature(node: RunNode, reader: RunViewReader, windowState: string, filtered: boolean): RunViewSignature {
  const look = presentation(node);
  const row = JSON.stringify([look.label, look.description, look.tooltip, look.icon, look.color, windowState]);
  const steps = new Map<number, string>();
  for (const step of reader.steps()) {
    const stepLook = presentation(stepView(node, reader, step));
    steps.set(step, JSON.stringify([stepLook.label, stepLook.description, stepLook.tooltip]) + (reader.isStepComplete(step) ? '' : GROWING));
  }
  const list = reader.steps().join(',');
  const children = filtered
    ? JSON.stringify([list, reader.generation, [...steps.values()]]) + ([...steps.values()].some((s) => s.endsWith(GROWING)) ? GROWING : '')
    : `${list}|${reader.generation}`;
  return { row, children, steps };
}

function stepView(node: RunNode, reader: RunViewReader, step: number): StepNode {
  return { kind: 'step', id: `${node.runDir}::step:${step}`, runDir: node.runDir, step, metrics: reader.metricsFor(step) };
}

function differs(before: string | undefined, after: string): boolean {
  return before !== after || after.endsWith(GROWING);
}

export interface RunRefreshPlan {
  /** Fire the run element: its row, its step list and everything expanded under it are redrawn. */
  run: boolean;
  /** Otherwise, the steps to fire (each redraws its row and what is expanded under it). */
  steps: number[];
}

/**
 * What to refresh after `before` became `after`. VS Code cannot redraw a row without re-fetching what
 * is expanded under it, so a changed run row means the run; a new or removed step means the run (its
 * children); a step whose row changed, or that is still being written, means that step alone.
 */
export function runRefreshPlan(before: RunViewSignature | undefined, after: RunViewSignature): RunRefreshPlan {
  if (!before || before.row !== after.row || differs(before.children, after.children)) return { run: true, steps: [] };
  const steps: number[] = [];
  for (const [step, signature] of after.steps) if (differs(before.steps.get(step), signature)) steps.push(step);
  return { run: false, steps };
}

/** How long to wait before refreshing a run last refreshed at `lastRefreshAt` (ms clock), at `now`. */
export function refreshDelayMs(now: number, lastRefreshAt: number | undefined): number {
  if (lastRefreshAt === undefined) return REFRESH_SETTLE_MS;
  return Math.max(REFRESH_SETTLE_MS, lastRefreshAt + REFRESH_INTERVAL_MS - now);
}
