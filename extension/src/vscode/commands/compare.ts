import * as vscode from 'vscode';
import { AbortError } from '../../format/runReader';
import type { RolloutRecord } from '../../format/types';
import { compareAcrossSteps as compareQuestion } from '../../model/compare';
import type { CommandFactory, Ctx } from '../ctx';
import { outcomeWords, sampleSummary } from './pickSample';
import { pickRun, activeTraceUri, asQuestionRef, asSampleRef, type QuestionRef } from './targets';
import { showTrace } from '../traceUri';
import { showCorrectionDiff } from './traces';

/**
 * Compare Across Steps: one question's first answers and corrections at every step it was
 * asked, newest first, in a quick pick; picking a sample opens it, the diff button on a
 * correction opens it beside its layer-1 sample.
 */
export const compareAcrossSteps: CommandFactory = (ctx) => async (arg?: unknown) => {
  const question = (await questionOf(ctx, arg)) ?? (await pickQuestion(ctx));
  if (!question) return;
  const reader = await ctx.traces.readerFor(question.runDir);
  let atSteps: Awaited<ReturnType<typeof compareQuestion>>;
  try {
    atSteps = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('MGRPO: finding {0} in every step', question.questionId), cancellable: true },
      (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        let reported = 0;
        return compareQuestion(reader, question.questionId, {
          signal: abort.signal,
          onProgress: (done, total) => {
            const percent = Math.round((done / Math.max(1, total)) * 100);
            progress.report({ increment: percent - reported, message: vscode.l10n.t('{0}/{1} steps', done, total) });
            reported = percent;
          },
        });
      },
    );
  } catch (error) {
    if (error instanceof AbortError) return;
    throw error;
  }
  if (atSteps.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: question {0} appears in no step of this run.', question.questionId));
    return;
  }

  type Item = vscode.QuickPickItem & { record?: RolloutRecord; parent?: RolloutRecord };
  const diffButton: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('diff'), tooltip: vscode.l10n.t('Diff with its layer-1 sample') };
  const items: Item[] = [];
  for (const atStep of [...atSteps].reverse()) {
    const right1 = atStep.layer1.filter((r) => r.correct).length;
    const right2 = atStep.layer2.filter((r) => r.correct).length;
    const layer2 = atStep.layer2.length > 0 ? vscode.l10n.t(' · layer 2 {0}/{1} right', right2, atStep.layer2.length) : '';
    items.push({ label: vscode.l10n.t('step {0} · layer 1 {1}/{2} right', atStep.step, right1, atStep.layer1.length) + layer2, kind: vscode.QuickPickItemKind.Separator });
    for (const first of atStep.layer1) {
      items.push({ label: `L1 #${first.sample}  ${sampleSummary(first)}`, description: vscode.l10n.t('adv {0} · answer {1}', signed(first.advantage), first.parsed_answer ?? '—'), record: first });
      for (const correction of atStep.layer2.filter((c) => c.parent_id === first.id)) {
        items.push({
          label: `    L2 #${correction.sample}  ${sampleSummary(correction)}`,
          description: `${outcomeWords(correction)} · ${vscode.l10n.t('adv {0} · answer {1}', signed(correction.advantage), correction.parsed_answer ?? '—')}`,
          record: correction,
          parent: first,
          buttons: [diffButton],
        });
      }
    }
  }
  const truth = atSteps[0].layer1[0]?.ground_truth ?? atSteps[0].layer2[0]?.ground_truth;
  const pick = vscode.window.createQuickPick<Item>();
  const across = atSteps.length === 1
    ? vscode.l10n.t('MGRPO: {0} across 1 step', question.questionId)
    : vscode.l10n.t('MGRPO: {0} across {1} steps', question.questionId, atSteps.length);
  pick.title = across + (truth !== undefined ? vscode.l10n.t(' · truth {0}', String(truth)) : '');
  pick.placeholder = vscode.l10n.t('Pick a sample to open it (newest step first)');
  pick.matchOnDescription = true;
  pick.items = items;
  pick.onDidTriggerItemButton(async ({ item }) => {
    if (item.record && item.parent) await showCorrectionDiff(question.runDir, item.parent, item.record);
  });
  pick.onDidAccept(async () => {
    const chosen = pick.selectedItems[0];
    pick.hide();
    if (chosen?.record) await showTrace({ runDir: question.runDir, recordId: chosen.record.id }, { preview: true });
  });
  pick.onDidHide(() => pick.dispose());
  pick.show();
};

async function questionOf(ctx: Ctx, arg: unknown): Promise<QuestionRef | undefined> {
  const direct = asQuestionRef(arg);
  if (direct) return direct;
  const sample = asSampleRef(arg) ?? asSampleRef(activeTraceUri());
  if (!sample) return undefined;
  const reader = await ctx.traces.readerFor(sample.runDir);
  const record = await reader.findRecord(sample.recordId);
  return record ? { runDir: sample.runDir, questionId: record.question_id } : undefined;
}

/** Palette: run, then a question of its newest step. */
async function pickQuestion(ctx: Ctx): Promise<QuestionRef | undefined> {
  const readable = ctx.runs.all().filter((s) => s.reader && s.reader.steps().length > 0);
  if (readable.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: no run with rollouts yet. Start a run or open a run folder.'));
    return undefined;
  }
  const session = await pickRun(ctx, undefined, readable, vscode.l10n.t('Compare Across Steps'));
  const reader = session?.reader;
  if (!session || !reader) return undefined;
  const newest = reader.steps().at(-1)!;
  const rollouts = await reader.loadStep(newest);
  const picked = await vscode.window.showQuickPick(
    rollouts.groups.map((g) => ({ label: `q ${g.group} · ${(g.question ?? vscode.l10n.t('(prompt not recorded)')).trim().slice(0, 80)}`, description: g.questionId, questionId: g.questionId })),
    { title: vscode.l10n.t('MGRPO: Compare Across Steps · {0}', session.name), placeHolder: vscode.l10n.t('Question (as asked at step {0})', newest), matchOnDescription: true },
  );
  return picked ? { runDir: session.runDir, questionId: picked.questionId } : undefined;
}

function signed(value: number | null): string {
  if (value === null) return '—'; // an imported run without advantages
  return `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;
}
