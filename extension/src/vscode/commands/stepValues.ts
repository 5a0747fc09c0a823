// "MGRPO: Estimate Step Values" on a trace document or a sample in the Runs view: k continuations
// from each step prefix of that record with a checkpoint (the run's newest by default), verified,
// then step-values/ is reloaded so the hover and the gutter bar show the values. Two backends, one
// result: the extension's local ONNX runtime when the checkpoint has an export and the run's task is
// judged by the verifier the extension carries (the chain task: no Python, works in an untrusted
// workspace), otherwise `python -m mgrpo step-values` (any model, GPU when there is one; refused in
// an untrusted workspace).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { stepOfRecordId } from '../../format/runReader';
import type { RolloutRecord } from '../../format/types';
import { baseModelCandidates, describeStepValues, parseContinuations, parseStepValuesProgress, stepValuesArgs } from '../../model/stepTruthCommands';
import { MANIFEST_NAME } from '../../onnx/manifest';
import { LOCAL_BACKEND, estimateStepValuesLocally, matchesLocal, type LocalValueSettings } from '../../onnx/stepValues';
import type { CommandFactory, Ctx } from '../ctx';
import { runLogged } from '../loggedProcess';
import { resolveTrainerPython } from '../python';
import { trainerEnvironment } from '../trainerProcess';
import { prefersPython, withCheckpoint } from './scoreTrace';
import { activeTraceUri, asSampleRef, type SampleRef } from './targets';
import { mayRunPython } from './trust';

const DEFAULT_CONTINUATIONS = 8;
const DEFAULT_SEED = 0;

export const estimateStepValues: CommandFactory = (ctx) => async (arg?: unknown) => {
  const ref = asSampleRef(arg) ?? asSampleRef(activeTraceUri());
  if (!ref) {
    void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: open a trace, or choose a sample in the Runs view, to estimate its step values.'));
    return;
  }
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
  const local = await localPlan(ctx, ref, checkpoint, parsed.k);
  if (local) {
    await runLocally(ctx, ref, local);
    return;
  }
  if (!(await mayRunPython(vscode.l10n.t('estimating step values')))) return;
  const python = await resolveTrainerPython(ctx.python, ctx.extensionRoot);
  if (!python) return;
  await runStepValues(ctx, ref, step, parsed.k, python.python, checkpoint ?? undefined);
};

interface LocalPlan {
  record: RolloutRecord;
  /** The checkpoint folder, and how the line names it (relative to the run folder when inside it). */
  checkpoint: string;
  name: string;
  settings: LocalValueSettings;
}

/**
 * The local ONNX runtime draws the continuations when it can answer exactly what the trainer would: the
 * checkpoint has an export, the settings do not ask for PyTorch, and the run's task is the chain task (whose
 * verifier the extension carries; a JSON-lines task is judged by math-verify, in Python). Undefined otherwise.
 */
async function localPlan(ctx: Ctx, ref: SampleRef, chosen: string | null, k: number): Promise<LocalPlan | undefined> {
  if (prefersPython()) return undefined;
  const reader = await ctx.traces.readerFor(ref.runDir);
  const manifest = reader.manifest;
  const config = manifest.config ?? {};
  if ((config.task ?? 'chain') !== 'chain') return undefined;
  const checkpoint = chosen ?? (manifest.last_checkpoint ? path.join(ref.runDir, manifest.last_checkpoint) : undefined);
  if (!checkpoint || !fs.existsSync(path.join(checkpoint, 'onnx', MANIFEST_NAME))) return undefined;
  const record = await reader.findRecord(ref.recordId);
  if (!record || record.prompt === null || record.ground_truth === null) return undefined;
  const relative = path.relative(ref.runDir, checkpoint);
  const number = (value: unknown, fallback: number): number => (typeof value === 'number' && Number.isFinite(value) ? value : fallback);
  return {
    record, checkpoint,
    name: relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : checkpoint,
    settings: {
      k, seed: DEFAULT_SEED, temperature: number(config.temperature, 1), topP: number(config.top_p, 1),
      maxCompletionLength: Math.floor(number(config.max_completion_length, 64)),
    },
  };
}

async function runLocally(ctx: Ctx, ref: SampleRef, plan: LocalPlan): Promise<void> {
  const cached = (await ctx.stepValues.estimatesOf(ref.runDir, plan.record)).reverse().find((line) => matchesLocal(line, plan.name, plan.settings));
  let values = cached;
  if (!values) {
    ctx.log.info(`[step-values] ${ref.recordId}: k=${plan.settings.k} with ${plan.checkpoint} (${LOCAL_BACKEND})`);
    const chosen = { checkpoint: plan.checkpoint, folder: path.join(plan.checkpoint, 'onnx'), label: path.basename(plan.checkpoint) };
    values = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('MGRPO: estimating step values of {0} locally', ref.recordId), cancellable: true },
      (progress, token) => withCheckpoint(ctx, chosen, (backend) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        return estimateStepValuesLocally(backend, chosen.folder, plan.record, plan.settings, plan.name, abort.signal,
          (done, total) => progress.report({ increment: 100 / total, message: vscode.l10n.t('{0} of {1} step prefixes', done, total) }));
      }),
    );
    if (!values) return; // cancelled, or the failure was explained
    await ctx.stepValues.append(ref.runDir, values);
  }
  void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: {0}: {1}', ref.recordId, describeStepValues(values)));
}

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
