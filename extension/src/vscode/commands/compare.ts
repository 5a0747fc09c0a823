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
      { location: vscode.ProgressLocation.Notification, title: `MGRPO: finding ${question.questionId} in every step`, cancellable: true },
      (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        let reported = 0;
        return compareQuestion(reader, question.questionId, {
          signal: abort.signal,
          onProgress: (done, total) => {
            const percent = Math.round((done / Math.max(1, total)) * 100);
            progress.report({ increment: percent - reported, message: `${done}/${total} steps` });
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
    void vscode.window.showInformationMessage(`MGRPO: question ${question.questionId} appears in no step of this run.`);
    return;
  }

  type Item = vscode.QuickPickItem & { record?: RolloutRecord; parent?: RolloutRecord };
  const diffButton: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('diff'), tooltip: 'Diff with its layer-1 sample' };
  const items: Item[] = [];
  for (const atStep of [...atSteps].reverse()) {
    const right1 = atStep.layer1.filter((r) => r.correct).length;
    const right2 = atStep.layer2.filter((r) => r.correct).length;
    const layer2 = atStep.layer2.length > 0 ? ` · layer 2 ${right2}/${atStep.layer2.length} right` : '';
    items.push({ label: `step ${atStep.step} · layer 1 ${right1}/${atStep.layer1.length} right${layer2}`, kind: vscode.QuickPickItemKind.Separator });
    for (const first of atStep.layer1) {
      items.push({ label: `L1 #${first.sample}  ${sampleSummary(first)}`, description: `adv ${signed(first.advantage)} · answer ${first.parsed_answer ?? '—'}`, record: first });
      for (const correction of atStep.layer2.filter((c) => c.parent_id === first.id)) {
        items.push({
          label: `    L2 #${correction.sample}  ${sampleSummary(correction)}`,
          description: `${outcomeWords(correction)} · adv ${signed(correction.advantage)} · answer ${correction.parsed_answer ?? '—'}`,
          record: correction,
          parent: first,
          buttons: [diffButton],
        });
      }
    }
  }
  const truth = atSteps[0].layer1[0]?.ground_truth ?? atSteps[0].layer2[0]?.ground_truth;
  const pick = vscode.window.createQuickPick<Item>();
  pick.title = `MGRPO: ${question.questionId} across ${atSteps.length} step${atSteps.length === 1 ? '' : 's'}${truth !== undefined ? ` · truth ${truth}` : ''}`;
  pick.placeholder = 'Pick a sample to open it (newest step first)';
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
    void vscode.window.showInformationMessage('MGRPO: no run with rollouts yet. Start a run or open a run folder.');
    return undefined;
  }
  const session = await pickRun(ctx, undefined, readable, 'Compare Across Steps');
  const reader = session?.reader;
  if (!session || !reader) return undefined;
  const newest = reader.steps().at(-1)!;
  const rollouts = await reader.loadStep(newest);
  const picked = await vscode.window.showQuickPick(
    rollouts.groups.map((g) => ({ label: `q ${g.group} · ${(g.question ?? '(prompt not recorded)').trim().slice(0, 80)}`, description: g.questionId, questionId: g.questionId })),
    { title: `MGRPO: Compare Across Steps · ${session.name}`, placeHolder: `Question (as asked at step ${newest})`, matchOnDescription: true },
  );
  return picked ? { runDir: session.runDir, questionId: picked.questionId } : undefined;
}

function signed(value: number | null): string {
  if (value === null) return '—'; // an imported run without advantages
  return `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;
}
