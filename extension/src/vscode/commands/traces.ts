import * as vscode from 'vscode';
import type { RolloutRecord } from '../../format/types';
import type { CommandFactory, Ctx } from '../ctx';
import { parseTraceUri, showTrace, traceUri } from '../traceUri';
import { outcomeWords, pickSample, sampleSummary } from './pickSample';
import { activeTraceUri, asSampleRef } from './targets';

/** Open Trace: a sample as a read-only reasoning-trace document. */
export const openTrace: CommandFactory = (ctx) => async (arg?: unknown) => {
  const ref = asSampleRef(arg) ?? (await pickSample(ctx, { title: vscode.l10n.t('Open Trace') }));
  if (!ref) return;
  await showTrace(ref, { preview: true });
};

/** Show Full Completion: the same trace without truncation (may be large; the user asked). */
export const showFullCompletion: CommandFactory = () => async (arg?: unknown) => {
  const uri = arg instanceof vscode.Uri ? arg : activeTraceUri();
  const ref = asSampleRef(arg);
  if (!uri && !ref) {
    void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: open a trace first; this shows its completion without truncation.'));
    return;
  }
  const address = uri ? parseTraceUri(uri) : { ...ref!, full: false };
  const document = await vscode.workspace.openTextDocument(traceUri({ ...address, full: true }));
  await vscode.window.showTextDocument(document, { preview: false });
};

/**
 * Diff Correction Trace: layer 1 on the left, a layer-2 correction on the right, titled with
 * the outcome ("step 40 · q 7: wrong → right"). Given a layer-1 sample it asks which correction.
 */
export const diffCorrection: CommandFactory = (ctx) => async (arg?: unknown) => {
  const ref = asSampleRef(arg) ?? asSampleRef(activeTraceUri()) ?? (await pickSample(ctx, { title: vscode.l10n.t('Diff Correction Trace'), layer: 2 }));
  if (!ref) return;
  const reader = await ctx.traces.readerFor(ref.runDir);
  const record = await reader.findRecord(ref.recordId);
  if (!record) {
    void vscode.window.showErrorMessage(vscode.l10n.t('MGRPO: no rollout record {0} in {1}.', ref.recordId, ref.runDir));
    return;
  }
  let correction: RolloutRecord | undefined;
  let layer1: RolloutRecord | undefined;
  if (record.layer === 2) {
    correction = record;
    layer1 = record.parent_id ? await reader.findRecord(record.parent_id) : undefined;
    if (!layer1) {
      void vscode.window.showErrorMessage(vscode.l10n.t('MGRPO: correction {0} names parent {1}, which is not in the run.', record.id, record.parent_id ?? vscode.l10n.t('(none)')));
      return;
    }
  } else {
    layer1 = record;
    correction = await pickCorrection(ctx, ref.runDir, record);
    if (!correction) return;
  }
  await showCorrectionDiff(ref.runDir, layer1, correction);
};

export async function showCorrectionDiff(runDir: string, layer1: RolloutRecord, correction: RolloutRecord): Promise<void> {
  const left = traceUri({ runDir, recordId: layer1.id, full: false, against: correction.id });
  const right = traceUri({ runDir, recordId: correction.id, full: false, against: layer1.id });
  const title = vscode.l10n.t('step {0} · q {1}: {2} (L1 #{3} → L2 #{4})', correction.step, correction.group, outcomeWords(correction), layer1.sample, correction.sample);
  await vscode.commands.executeCommand('vscode.diff', left, right, title, { preview: true });
}

async function pickCorrection(ctx: Ctx, runDir: string, layer1: RolloutRecord): Promise<RolloutRecord | undefined> {
  const reader = await ctx.traces.readerFor(runDir);
  const step = await reader.loadStep(layer1.step);
  const corrections = step.groups.flatMap((g) => g.layer1).find((s) => s.record.id === layer1.id)?.corrections ?? [];
  if (corrections.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: {0} has no layer-2 corrections (a GRPO run, or layer 2 skipped it).', layer1.id));
    return undefined;
  }
  if (corrections.length === 1) return corrections[0];
  const picked = await vscode.window.showQuickPick(
    corrections.map((c) => ({ label: `L2 #${c.sample}  ${sampleSummary(c)}`, description: `${outcomeWords(c)} · ${c.id}`, record: c })),
    { title: vscode.l10n.t('MGRPO: Diff Correction Trace · {0}', layer1.id), placeHolder: vscode.l10n.t('Which correction?') },
  );
  return picked?.record;
}
