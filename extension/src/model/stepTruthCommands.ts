// The trainer's step-truth CLI as the editor drives it: argument lists for
// `python -m mgrpo step-values` and `export-step-labels`, their progress lines, and the summaries
// they print, turned into what the editor shows. Pure; the spawning is in src/vscode/commands.

import * as path from 'node:path';
import type { StepValues } from '../format/types';
import { formatNumber, formatPercent } from './text';

export interface StepValuesRequest {
  runDir: string;
  /** The record's training step (its rollout file, and the step-values file written). */
  step: number;
  recordId: string;
  /** Continuations per step prefix. */
  k: number;
  seed: number;
  /** Model folder to draw with; absent: the run's newest checkpoint (the CLI's default). */
  checkpoint?: string;
}

export function stepValuesArgs(request: StepValuesRequest): string[] {
  return ['-m', 'mgrpo', 'step-values', '--run-dir', request.runDir, '--step', String(request.step), '--sample', request.recordId,
    '-k', String(request.k), '--seed', String(request.seed), ...(request.checkpoint ? ['--checkpoint', request.checkpoint] : [])];
}

/**
 * Where a run's base model (run.json's model.name_or_path) may be, for a run without a checkpoint:
 * an absolute path as it is; a relative one against the run folder, then the extension's folder
 * (the demo's model is shipped there). The caller keeps the first that exists.
 */
export function baseModelCandidates(nameOrPath: string, runDir: string, extensionRoot: string): string[] {
  if (!nameOrPath.trim()) return [];
  if (path.isAbsolute(nameOrPath)) return [nameOrPath];
  return [path.join(runDir, nameOrPath), path.join(extensionRoot, nameOrPath)];
}

/** `step-values: 3/10 s000002-q000-l1-001 (cached)` (the CLI's progress line on stderr). */
export function parseStepValuesProgress(line: string): { done: number; total: number; recordId: string; cached: boolean } | null {
  const match = /^step-values: (\d+)\/(\d+) (\S+)( \(cached\))?\s*$/.exec(line);
  if (!match) return null;
  return { done: Number(match[1]), total: Number(match[2]), recordId: match[3], cached: match[4] !== undefined };
}

/** Parses a positive whole number of continuations typed by the user; an error message otherwise. */
export function parseContinuations(text: string): { k: number } | { error: string } {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return { error: `"${trimmed.slice(0, 20)}" is not a whole number of continuations` };
  const k = Number(trimmed);
  if (k < 1 || k > 1024) return { error: 'continuations per step must be between 1 and 1024' };
  return { k };
}

/** "values 0.75 → 0.25 → 0.50 → 1.00 · likely error: step 1 (drop 0.50)" for a notification. */
export function describeStepValues(values: StepValues): string {
  const chain = [values.prefix_value, ...values.values].map((v) => formatNumber(v, 2)).join(' → ');
  const likely = values.likely_error;
  const drop = likely !== null ? values.drops[likely] : undefined;
  const verdict = likely === null
    ? 'no step lowers the value'
    : `likely error: step ${likely + 1}${drop !== undefined ? ` (drop ${formatNumber(drop, 2)})` : ''}`;
  return `values ${chain} (k = ${values.k}) · ${verdict}`;
}

export type StepLabelExportSource = 'implicit' | 'checker' | 'value';

export const EXPORT_SOURCES: readonly { source: StepLabelExportSource; label: string; detail: string }[] = [
  { source: 'implicit', label: 'Implicit (layer 2)', detail: 'steps before a fixing correction’s first departure are right, the departed step wrong' },
  { source: 'checker', label: 'Step checker', detail: 'the labels the task’s step checker gave during training' },
  { source: 'value', label: 'Step values', detail: 'Monte-Carlo values estimated with Estimate Step Values (step-values/)' },
];

export function exportStepLabelsArgs(runDir: string, to: string, source: StepLabelExportSource): string[] {
  return ['-m', 'mgrpo', 'export-step-labels', '--run-dir', runDir, '--to', to, '--source', source];
}

export interface ExportSummary {
  rows: number;
  source: string;
  path: string;
  implicit_vs_checker?: {
    rows: number;
    true_positive: number;
    false_positive: number;
    false_negative: number;
    true_negative: number;
    precision: number | null;
    recall: number | null;
  };
}

/** The JSON summary the export prints on stdout: the last output line that is one. */
export function exportSummaryOf(lines: readonly string[]): ExportSummary | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const text = lines[i].trim();
    if (!text.startsWith('{')) continue;
    try {
      const value = JSON.parse(text) as Partial<ExportSummary>;
      if (typeof value.rows === 'number' && typeof value.source === 'string' && typeof value.path === 'string') return value as ExportSummary;
    } catch {
      // A log line that happens to start with "{": keep looking.
    }
  }
  return null;
}

/** "12 solutions with implicit labels written to /x.jsonl · against the checker: precision 75.0% (3 of 4), recall 60.0% (3 of 5)" */
export function describeExportSummary(summary: ExportSummary): string {
  const parts = [`${summary.rows} solution${summary.rows === 1 ? '' : 's'} with ${summary.source} labels written to ${summary.path}`];
  const agreement = summary.implicit_vs_checker;
  if (agreement) {
    const flagged = agreement.true_positive + agreement.false_positive;
    const wrong = agreement.true_positive + agreement.false_negative;
    parts.push(`“wrong step” against the checker: precision ${formatPercent(agreement.precision)} (${agreement.true_positive} of ${flagged}), recall ${formatPercent(agreement.recall)} (${agreement.true_positive} of ${wrong})`);
  }
  return parts.join(' · ');
}
