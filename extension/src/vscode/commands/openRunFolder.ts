import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { RunPaths } from '../../format/types';
import type { CommandFactory } from '../ctx';
import { importedRunsOf, lookedFor } from '../importedRuns';

/**
 * Open Run Folder...: attaches any run directory (one written on a cluster, a colleague's copy)
 * to the Runs view; it is followed live while its run.json says running or paused.
 */
export const openRunFolder: CommandFactory = (ctx) => async (arg?: unknown) => {
  let folder = arg instanceof vscode.Uri ? arg : undefined;
  if (!folder) {
    const picked = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      canSelectMany: false,
      openLabel: vscode.l10n.t('Open Run'),
      title: vscode.l10n.t('MGRPO: Open Run Folder (run.json, or verl / TRL / NeMo-RL / prime-rl rollouts)'),
    });
    folder = picked?.[0];
  }
  if (!folder) return;
  let runDir = folder.fsPath;
  // Accept run.json itself as well as its folder.
  if (path.basename(runDir) === RunPaths.manifest) runDir = path.dirname(runDir);
  if (!fs.existsSync(path.join(runDir, RunPaths.manifest))) {
    // Not one of ours: perhaps rollouts another trainer wrote (verl, TRL, NeMo-RL, prime-rl), imported live.
    if (await importedRunsOf(ctx).open(runDir)) return;
    void vscode.window.showErrorMessage(vscode.l10n.t('MGRPO: {0} is not a run folder: it has no {1}, and no rollouts of another trainer ({2}).', runDir, RunPaths.manifest, lookedFor()));
    return;
  }
  const session = await ctx.runs.attach(runDir);
  if (session.error) {
    void vscode.window.showErrorMessage(vscode.l10n.t('MGRPO: could not read the run in {0}: {1}', runDir, session.error));
    return;
  }
  await vscode.commands.executeCommand('mgrpo.runs.focus');
  await ctx.revealRun?.(session);
  const live = session.isGrowing ? ` ${vscode.l10n.t('It is still running: the view follows it live.')}` : '';
  void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: opened run "{0}" ({1}, {2} steps).', session.name, session.status, session.reader?.steps().length ?? 0) + live);
};
