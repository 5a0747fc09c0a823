import * as vscode from 'vscode';
import type { RolloutRecord } from '../../format/types';
import { OUTCOME_WORDS } from '../../model/filters';
import type { Ctx } from '../ctx';
import type { RunSession } from '../runSession';
import { pickRun, type SampleRef } from './targets';

/** "✓ r=1.00" / "i->c (wrong → right) r=1.00": how a sample is named in pickers and titles. */
export function sampleSummary(record: RolloutRecord): string {
  const mark = record.correct === null ? '$(circle-outline)' : record.correct ? '$(pass)' : '$(error)';
  const outcome = record.outcome ? ` ${record.outcome}` : '';
  // An imported run may lack rewards (null): '—', as everywhere numbers are missing.
  return `${mark}${outcome} r=${record.reward === null ? '—' : record.reward.toFixed(2)}`;
}

export function outcomeWords(record: RolloutRecord): string {
  return record.outcome ? OUTCOME_WORDS[record.outcome].replace('->', '→') : record.correct ? vscode.l10n.t('right') : vscode.l10n.t('wrong');
}

/**
 * The palette's way to a sample: run (if several), step (newest first), then a sample of that
 * step. `layer` limits the last list (Diff Correction Trace wants layer-2 corrections).
 */
export async function pickSample(ctx: Ctx, opts: { title: string; layer?: 1 | 2 }): Promise<SampleRef | undefined> {
  const readable = ctx.runs.all().filter((s) => s.reader && s.reader.steps().length > 0);
  if (readable.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: no run with rollouts yet. Start a run or open a run folder.'));
    return undefined;
  }
  const session = await pickRun(ctx, undefined, readable, opts.title);
  if (!session?.reader) return undefined;
  const step = await pickStep(session, opts.title);
  if (step === undefined) return undefined;
  const rollouts = await session.reader.loadStep(step);
  type Item = vscode.QuickPickItem & { record?: RolloutRecord };
  const items: Item[] = [];
  for (const group of rollouts.groups) {
    items.push({ label: `q ${group.group} · ${group.questionId}`, kind: vscode.QuickPickItemKind.Separator });
    for (const sample of group.layer1) {
      if (opts.layer !== 2) {
        items.push({ label: `L1 #${sample.record.sample}  ${sampleSummary(sample.record)}`, description: sample.record.id, record: sample.record });
      }
      if (opts.layer !== 1) {
        for (const correction of sample.corrections) {
          items.push({
            label: `${opts.layer === 2 ? '' : '    '}L2 #${correction.sample} of L1 #${sample.record.sample}  ${sampleSummary(correction)}`,
            description: `${outcomeWords(correction)} · ${correction.id}`,
            record: correction,
          });
        }
      }
    }
  }
  if (!items.some((i) => i.record)) {
    void vscode.window.showInformationMessage(opts.layer === 2
      ? vscode.l10n.t('MGRPO: step {0} has no layer-2 corrections.', step)
      : vscode.l10n.t('MGRPO: step {0} has no samples.', step));
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('MGRPO: {0} · step {1}', opts.title, step), placeHolder: vscode.l10n.t('Sample'), matchOnDescription: true });
  return picked?.record ? { runDir: session.runDir, recordId: picked.record.id } : undefined;
}

async function pickStep(session: RunSession, title: string): Promise<number | undefined> {
  const reader = session.reader!;
  const steps = reader.steps().reverse();
  if (steps.length === 1) return steps[0];
  const picked = await vscode.window.showQuickPick(
    steps.map((step) => {
      const correction = reader.metricsFor(step)?.correction;
      const acc = correction && correction.acc_t1 !== null && correction.acc_t2 !== null
        ? `Acc@t1 ${Math.round(correction.acc_t1 * 100)}% → Acc@t2 ${Math.round(correction.acc_t2 * 100)}%`
        : undefined;
      return { label: vscode.l10n.t('step {0}', step), description: acc, step };
    }),
    { title: vscode.l10n.t('MGRPO: {0} · {1}', title, session.name), placeHolder: vscode.l10n.t('Step (newest first)') },
  );
  return picked?.step;
}
