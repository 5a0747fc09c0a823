// A clicked bar of the dashboard's step-truth section opens its samples: the Runs view is filtered
// to them and shows the run; for one outcome at one step the samples are also offered in a quick
// pick that opens the chosen one as a trace.
import * as vscode from 'vscode';
import type { RolloutRecord } from '../../format/types';
import { describeOutcome } from '../../model/filters';
import { formatNumber } from '../../model/text';
import type { OpenSamplesParams } from '../../webview/protocol';
import type { Ctx } from '../ctx';
import { stepTruthFilterOf } from './stepTruthData';

export async function openDashboardSamples(ctx: Ctx, runDir: string, params: OpenSamplesParams): Promise<null> {
  const session = ctx.runs.get(runDir);
  if (!session?.reader) throw new Error(vscode.l10n.t('the run {0} is not in the Runs view', runDir));
  if (!('outcome' in params)) {
    const id = stepTruthFilterOf(params);
    if (id === undefined) throw new Error(vscode.l10n.t('no step-truth filter matches this bar ({0})', JSON.stringify(params)));
    ctx.setSampleFilter({ stepTruth: id });
    await ctx.revealRun?.(session);
    return null;
  }
  ctx.setSampleFilter({ outcomes: [params.outcome] });
  await ctx.revealRun?.(session);
  const step = await session.reader.loadStep(params.step);
  const matching: { record: RolloutRecord; question: string | null }[] = [];
  for (const group of step.groups) {
    for (const sample of group.layer1) {
      for (const correction of sample.corrections) if (correction.outcome === params.outcome) matching.push({ record: correction, question: group.question });
    }
  }
  if (matching.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: step {0} has no {1} corrections in its rollout file.', params.step, describeOutcome(params.outcome)));
    return null;
  }
  const picked = await vscode.window.showQuickPick(
    matching.map(({ record, question }) => ({
      label: vscode.l10n.t('q {0} · sample {1}', record.group, record.sample),
      description: `r=${formatNumber(record.reward)} · ${record.id}`,
      // Model and data text: a quick pick renders it as plain text.
      detail: (question ?? '').replace(/\s+/g, ' ').slice(0, 120),
      record,
    })),
    { title: vscode.l10n.t('MGRPO: step {0} · {1}', params.step, describeOutcome(params.outcome)), placeHolder: vscode.l10n.t('Open which correction?'), matchOnDescription: true },
  );
  if (picked) await vscode.commands.executeCommand('mgrpo.openTrace', { runDir, recordId: picked.record.id });
  return null;
}
