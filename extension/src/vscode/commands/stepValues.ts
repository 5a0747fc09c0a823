// "MGRPO: Estimate Step Values" on a trace document or a sample in the Runs view: runs
// `python -m mgrpo step-values` for that record (k continuations from each step prefix, with the
// run's newest checkpoint) with a cancellable progress, then reloads step-values/ so the hover and
// the gutter bar show the values. Refused in an untrusted workspace (it runs Python).
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { stepOfRecordId } from '../../format/runReader';
import { baseModelCandidates, describeStepValues, parseContinuations, parseStepValuesProgress, stepValuesArgs } from '../../model/stepTruthCommands';
import type { CommandFactory, Ctx } from '../ctx';
import { runLogged } from '../loggedProcess';
import { resolveTrainerPython } from '../python';
import { trainerEnvironment } from '../trainerProcess';
import { activeTraceUri, asSampleRef, type SampleRef } from './targets';

const DEFAULT_CONTINUATIONS = 8;
const DEFAULT_SEED = 0;

/** Refuses, with the way out, when the workspace is not trusted; true when it may run Python. */
export async function mayRunPython(what: string): Promise<boolean> {
  if (vscode.workspace.isTrusted) return true;
  const manage = vscode.l10n.t('Manage Workspace Trust');
  const choice = await vscode.window.showWarningMessage(
    vscode.l10n.t('MGRPO: {0} executes Python, so it is disabled in an untrusted workspace. Trust this workspace to use it.', what),
    manage,
  );
  if (choice) await vscode.commands.executeCommand('workbench.trust.manage');
  return false;
}

export const estimateStepValues: CommandFactory = (ctx) => async (arg?: unknown) => {
  const ref = asSampleRef(arg) ?? asSampleRef(activeTraceUri());
  if (!ref) {
    void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: open a trace, or choose a sample in the Runs view, to estimate its step values.'));
    return;
  }
  if (!(await mayRunPython(vscode.l10n.t('estimating step values')))) return;
  const step = stepOfRecordId(ref.recordId);
  if (step === undefined) throw new Error(vscode.l10n.t('{0} is not a rollout record id (sNNNNNN-...)', ref.recordId));
  const typed = await vscode.window.showInputBox({
    title: vscode.l10n.t('MGRPO: Estimate Step Values'),
    prompt: vscode.l10n.t('Continuations drawn from each step prefix (more: steadier values, slower)'),
    value: String(DEFAULT_CONTINUATIONS),
    validateInput: (text) => {
      const parsed = parseContinuations(text);
      return 'error' in parsed ? parsed.error : undefined;
    },
  });
  if (typed === undefined) return;
  const parsed = parseContinuations(typed);
  if ('error' in parsed) return;
  const checkpoint = await chooseModel(ctx, ref.runDir);
  if (checkpoint === undefined) return;
  const python = await resolveTrainerPython(ctx.python, ctx.extensionRoot);
  if (!python) return;
  await runStepValues(ctx, ref, step, parsed.k, python.python, checkpoint ?? undefined);
};

/**
 * The model to draw with: null for the run's newest checkpoint (the CLI's default); for a run
 * without one, the user's choice of its base model or another folder; undefined when dismissed.
 */
async function chooseModel(ctx: Ctx, runDir: string): Promise<string | null | undefined> {
  const manifest = (await ctx.traces.readerFor(runDir)).manifest;
  if (manifest.last_checkpoint) return null;
  const base = baseModelCandidates(manifest.model.name_or_path ?? '', runDir, ctx.extensionRoot).find((dir) => fs.existsSync(dir));
  type Item = vscode.QuickPickItem & { model?: string; browse?: boolean };
  const items: Item[] = [];
  if (base) items.push({ label: vscode.l10n.t('$(file-directory) The run\'s base model'), description: base, model: base });
  items.push({ label: vscode.l10n.t('$(folder-opened) Choose a model folder...'), browse: true });
  const picked = await vscode.window.showQuickPick(items, {
    title: vscode.l10n.t('MGRPO: the run has no checkpoint yet'),
    placeHolder: vscode.l10n.t('Draw the continuations with which model?'),
  });
  if (!picked) return undefined;
  if (picked.model) return picked.model;
  const folder = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: vscode.l10n.t('Use This Model') });
  return folder?.[0]?.fsPath;
}

async function runStepValues(ctx: Ctx, ref: SampleRef, step: number, k: number, python: string, checkpoint: string | undefined): Promise<void> {
  const args = stepValuesArgs({ runDir: ref.runDir, step, recordId: ref.recordId, k, seed: DEFAULT_SEED, checkpoint });
  ctx.log.info(`[step-values] $ ${[python, ...args].join(' ')}`);
  const output: string[] = [];
  const exit = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('MGRPO: estimating step values of {0}', ref.recordId), cancellable: true },
    (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      progress.report({ message: vscode.l10n.t('loading the checkpoint…') });
      return runLogged({
        command: python, args, cwd: ref.runDir, env: trainerEnvironment(ctx.extensionRoot), signal: abort.signal,
        onLine: (line) => {
          output.push(line);
          ctx.log.info(`[step-values] ${line}`);
          const done = parseStepValuesProgress(line);
          if (done) progress.report({ message: vscode.l10n.t('{0} of {1} records', done.done, done.total) });
        },
      });
    },
  );
  // Whatever was appended before a cancel or failure is valid: show it either way.
  ctx.stepValues.reload(ref.runDir, step);
  if (exit.cancelled) {
    void vscode.window.showWarningMessage(vscode.l10n.t('MGRPO: estimating step values was cancelled.'));
    return;
  }
  if (exit.code !== 0) {
    const reason = exit.spawnError ?? (exit.signal ? `killed (${exit.signal})` : `exit code ${exit.code}`);
    const last = output.filter((l) => l.trim()).slice(-1)[0] ?? '';
    ctx.log.error(`[step-values] failed: ${reason}`);
    const showLog = vscode.l10n.t('Show Log');
    const choice = await vscode.window.showErrorMessage(vscode.l10n.t('MGRPO: could not estimate step values ({0}): {1}', reason, last.slice(0, 300)), showLog);
    if (choice) ctx.log.show(true);
    return;
  }
  const reader = await ctx.traces.readerFor(ref.runDir);
  const record = await reader.findRecord(ref.recordId);
  const values = record ? await ctx.stepValues.valuesFor(ref.runDir, record) : null;
  void vscode.window.showInformationMessage(values
    ? vscode.l10n.t('MGRPO: {0}: {1}', ref.recordId, describeStepValues(values))
    : vscode.l10n.t('MGRPO: step values of {0} were estimated, but none match its steps.', ref.recordId));
}
