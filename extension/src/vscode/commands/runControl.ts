import * as vscode from 'vscode';
import type { CommandFactory } from '../ctx';
import { pickRun } from './targets';

/** Stop Run: checkpoint and exit (escalating to signals if the trainer does not respond). */
export const stopRun: CommandFactory = (ctx) => async (arg?: unknown) => {
  const session = await pickRun(ctx, arg, ctx.runs.live(), vscode.l10n.t('Stop Run'));
  if (!session) {
    if (!arg) void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: no run started in this window is live.'));
    return;
  }
  if (!session.trainer?.isAlive) {
    void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: run "{0}" is not running in this window (status: {1}).', session.name, session.status));
    return;
  }
  await session.trainer.stop();
};

export const pauseRun: CommandFactory = (ctx) => async (arg?: unknown) => {
  const candidates = ctx.runs.live().filter((s) => s.trainer?.state === 'running' || s.trainer?.state === 'starting');
  const session = await pickRun(ctx, arg, candidates, vscode.l10n.t('Pause Run'));
  if (!session?.trainer?.isAlive) {
    if (!arg) void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: no running run to pause.'));
    return;
  }
  session.trainer.pause();
};

export const resumeRun: CommandFactory = (ctx) => async (arg?: unknown) => {
  const candidates = ctx.runs.live().filter((s) => s.trainer?.state === 'paused');
  const session = await pickRun(ctx, arg, candidates, vscode.l10n.t('Resume Run'));
  if (!session?.trainer?.isAlive) {
    if (!arg) void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: no paused run to resume.'));
    return;
  }
  session.trainer.resume();
};

/**
 * Save Checkpoint Now: the trainer checkpoints the last completed step between steps (at once when paused)
 * and keeps training; a step already saved is only announced again.
 */
export const saveCheckpoint: CommandFactory = (ctx) => async (arg?: unknown) => {
  const candidates = ctx.runs.live().filter((s) => s.trainer?.state === 'running' || s.trainer?.state === 'paused');
  const session = await pickRun(ctx, arg, candidates, vscode.l10n.t('Save Checkpoint Now'));
  if (!session?.trainer?.isAlive) {
    if (!arg) void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: no running or paused run to checkpoint.'));
    return;
  }
  session.trainer.send('checkpoint');
  vscode.window.setStatusBarMessage(vscode.l10n.t('MGRPO: run "{0}" saves a checkpoint after its current step.', session.name), 5000);
};

export const showLog: CommandFactory = (ctx) => () => {
  ctx.log.show(true);
};

export const refreshRuns: CommandFactory = (ctx) => async () => {
  await ctx.runs.discover();
  await Promise.all(ctx.runs.all().map((s) => s.poll()));
};

/** Remove from View: the run leaves the Runs view (its files stay); Open Run Folder... brings it back. */
export const removeRun: CommandFactory = (ctx) => async (arg?: unknown) => {
  const session = await pickRun(ctx, arg, ctx.runs.all().filter((s) => !s.hasLiveTrainer), vscode.l10n.t('Remove from View'));
  if (!session) return;
  if (session.hasLiveTrainer) {
    void vscode.window.showWarningMessage(vscode.l10n.t('MGRPO: run "{0}" is training in this window; stop it first.', session.name));
    return;
  }
  await ctx.runs.remove(session.runDir);
};
