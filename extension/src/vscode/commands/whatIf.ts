// "MGRPO: What If...": a first answer (layer 1) opened as an editable document; after an edit, the same
// command runs the layer-2 corrector on it locally (ONNX runtime process; N samples, temperature and length
// from the mgrpo.whatIf.* settings, with progress and cancel), or re-samples the rest of the answer after the
// cursor's line. Each result is verified with the trainer's verifier (ported) and listed with its reward,
// outcome and a diff against the edited input. A JSON-lines task's corrections are judged by its own verifier
// (math-verify, in the trainer's Python), the chain task's by the verifier ported here.
import * as vscode from 'vscode';
import { readRunManifest } from '../../format/runReader';
import type { RolloutRecord } from '../../format/types';
import { DEFAULT_GUIDING_PHRASES, DEFAULT_LAYER2_TEMPLATE, buildLayer2Prompt, judgeCorrections, promptFromRecordedCorrection, whatIfReport } from '../../onnx/whatIf';
import type { CommandFactory, Ctx } from '../ctx';
import { judgeWithMathVerify } from '../trainerVerifier';
import { activeTraceUri, asSampleRef } from './targets';
import { pickCheckpoint, withCheckpoint, type ChosenCheckpoint } from './scoreTrace';

interface WhatIfSession {
  runDir: string;
  record: RolloutRecord;
  checkpoint?: ChosenCheckpoint;
}

/** Open What If documents (untitled, editable) by URI. */
const sessions = new Map<string, WhatIfSession>();

interface WhatIfSettings {
  samples: number;
  temperature: number;
  topP: number;
  maxNewTokens: number;
}

function whatIfSettings(): WhatIfSettings {
  const config = vscode.workspace.getConfiguration('mgrpo.whatIf');
  const clamp = (value: number, low: number, high: number, fallback: number): number => (Number.isFinite(value) ? Math.min(high, Math.max(low, value)) : fallback);
  return {
    samples: Math.floor(clamp(config.get<number>('samples', 8), 1, 64, 8)),
    temperature: clamp(config.get<number>('temperature', 1), 0.05, 5, 1),
    topP: clamp(config.get<number>('topP', 1), 0.01, 1, 1),
    maxNewTokens: Math.floor(clamp(config.get<number>('maxNewTokens', 64), 1, 4096, 64)),
  };
}

let closeWatch: Ctx | undefined;

/** Sessions end with their document (one listener for the extension's life). */
function forgetOnClose(ctx: Ctx): void {
  if (closeWatch === ctx) return;
  closeWatch = ctx;
  ctx.register(vscode.workspace.onDidCloseTextDocument((closed) => sessions.delete(closed.uri.toString())));
}

export const whatIf: CommandFactory = (ctx) => async (arg?: unknown) => {
  const active = vscode.window.activeTextEditor;
  const session = active ? sessions.get(active.document.uri.toString()) : undefined;
  if (session && active && !asSampleRef(arg)) return runWhatIf(ctx, session, active);
  const ref = asSampleRef(arg) ?? asSampleRef(activeTraceUri());
  if (!ref) {
    void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: open a first answer\'s trace, or choose a sample in the Runs view, to ask What If.'));
    return;
  }
  const reader = await ctx.traces.readerFor(ref.runDir);
  let record = await reader.findRecord(ref.recordId);
  if (record?.layer === 2 && record.parent_id) record = await reader.findRecord(record.parent_id); // a correction: edit the answer it corrected
  if (!record) throw new Error(vscode.l10n.t('record {0} is not in the run any more', ref.recordId));
  if (record.prompt === null) {
    void vscode.window.showWarningMessage(vscode.l10n.t('MGRPO: {0} has no recorded prompt (an imported rollout), so there is nothing to continue from.', record.id));
    return;
  }
  const document = await vscode.workspace.openTextDocument({ language: 'reasoning-trace', content: record.completion });
  sessions.set(document.uri.toString(), { runDir: ref.runDir, record });
  forgetOnClose(ctx);
  await vscode.window.showTextDocument(document, { preview: false });
  const runNow = vscode.l10n.t('Run Corrector');
  const choice = await vscode.window.showInformationMessage(
    vscode.l10n.t('MGRPO What If: edit this first answer of {0}, then run "MGRPO: What If..." again (or press Run Corrector).', record.id),
    runNow,
  );
  const editor = vscode.window.visibleTextEditors.find((e) => e.document === document);
  if (choice === runNow && editor) await runWhatIf(ctx, sessions.get(document.uri.toString())!, editor);
};

async function runWhatIf(ctx: Ctx, session: WhatIfSession, editor: vscode.TextEditor): Promise<void> {
  const edited = editor.document.getText();
  const line = editor.selection.active.line;
  type Mode = vscode.QuickPickItem & { mode: 'correct' | 'continue' };
  const mode = await vscode.window.showQuickPick<Mode>([
    { label: vscode.l10n.t('Run the corrector (layer 2) on the edited answer'), mode: 'correct' },
    { label: vscode.l10n.t('Re-sample the rest of the answer after line {0}', line + 1), description: vscode.l10n.t('keeps lines 1-{0} as written', line + 1), mode: 'continue' },
  ], { title: vscode.l10n.t('MGRPO: What If') });
  if (!mode) return;
  const config = await readRunManifest(session.runDir).then((m) => m.config, () => ({} as Record<string, unknown>));
  let prompt: string;
  let input: string;
  let prefix = '';
  let promptSource = '';
  if (mode.mode === 'correct') {
    // The trainer's own correction prompts for this first answer, when it recorded any: exact for every
    // template (chat templates and {question} included). Otherwise the prompt is built from layer2_template.
    const recorded = ((await (await ctx.traces.readerFor(session.runDir)).findLayer1Sample(session.record.id))?.corrections ?? [])
      .filter((c) => c.prompt !== null && c.guiding_phrase);
    const configured = Array.isArray(config.guiding_phrases) && config.guiding_phrases.every((p) => typeof p === 'string') && config.guiding_phrases.length > 0 ? (config.guiding_phrases as string[]) : DEFAULT_GUIDING_PHRASES;
    const phrases = [...new Set([...recorded.map((c) => c.guiding_phrase!), ...configured])];
    const phrase = phrases.length === 1 ? phrases[0] : await vscode.window.showQuickPick(phrases, { title: vscode.l10n.t('Guiding phrase for the correction') });
    if (phrase === undefined) return;
    const fromRecord = recorded.filter((c) => c.guiding_phrase === phrase)
      .map((c) => ({ id: c.id, prompt: promptFromRecordedCorrection(c.prompt!, session.record.completion, edited) }))
      .find((c) => c.prompt !== null);
    if (fromRecord) {
      prompt = fromRecord.prompt!;
      promptSource = `prompt: ${fromRecord.id}'s recorded prompt, first answer edited`;
    } else {
      const template = typeof config.layer2_template === 'string' ? config.layer2_template : DEFAULT_LAYER2_TEMPLATE;
      prompt = buildLayer2Prompt(session.record.prompt!, edited, phrase, template);
      promptSource = 'prompt: built from layer2_template';
    }
    input = edited;
  } else {
    const end = editor.document.offsetAt(editor.document.lineAt(line).range.end);
    prefix = edited.slice(0, end) + (end < edited.length || !edited.endsWith('\n') ? '\n' : '');
    prompt = session.record.prompt! + prefix;
    input = edited;
  }
  const chosen = session.checkpoint ?? (await pickCheckpoint(ctx, session.runDir, vscode.l10n.t('MGRPO: What If (checkpoint)')));
  if (!chosen) return;
  session.checkpoint = chosen;
  const settings = whatIfSettings();
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('MGRPO What If: {0} samples with {1}', settings.samples, chosen.label), cancellable: true },
    (progress, token) => withCheckpoint(ctx, chosen, (backend) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      let reported = 0;
      return backend.sample({
        kind: 'sample', folder: chosen.folder, prompt, count: settings.samples, maxNewTokens: settings.maxNewTokens,
        temperature: settings.temperature, topP: settings.topP, greedy: false, seed: Date.now() % 2 ** 31,
      }, abort.signal, (done, total) => {
        const percent = Math.floor((100 * done) / total);
        if (percent > reported) {
          progress.report({ increment: percent - reported, message: vscode.l10n.t('token {0} of at most {1}', done, total) });
          reported = percent;
        }
      });
    }),
  );
  if (!result) return;
  const texts = result.completions.map((c) => ({ ...c, text: mode.mode === 'continue' ? prefix + c.text : c.text }));
  // A JSON-lines task is judged by math-verify in the trainer; the chain task by the verifier ported here.
  const groundTruth = session.record.ground_truth;
  const judgement = groundTruth !== null && config.task === 'jsonl'
    ? await judgeWithMathVerify(ctx, [input, ...texts.map((t) => t.text)], groundTruth)
    : { verdicts: undefined, judge: 'exact match (the chain task\'s verifier)' };
  const judged = judgeCorrections(input, groundTruth, texts, judgement.verdicts);
  const title = mode.mode === 'correct' ? `What If: corrections of an edited ${session.record.id}` : `What If: ${session.record.id} re-sampled after line ${line + 1}`;
  const settingsLine = [`checkpoint ${chosen.label}`, `${settings.samples} samples`, `temperature ${settings.temperature}`, `top-p ${settings.topP}`,
    `at most ${settings.maxNewTokens} tokens`, `ground truth ${groundTruth ?? 'none'}`, `judged by ${judgement.judge}`, ...(promptSource ? [promptSource] : [])].join(' · ');
  const report = await vscode.workspace.openTextDocument({ language: 'markdown', content: whatIfReport(title, input, judged, settingsLine) });
  await vscode.window.showTextDocument(report, { viewColumn: vscode.ViewColumn.Beside, preview: false });
}
