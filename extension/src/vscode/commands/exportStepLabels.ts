// "MGRPO: Export Step Labels": a process-reward data set from a run. Asks for the label source
// (implicit from layer 2, the step checker, or step values) and the file, runs
// `python -m mgrpo export-step-labels` (TRL's stepwise-supervision layout, trainer/RUN_FORMAT.md)
// and shows the JSON summary it prints: rows written and, for implicit labels, their precision and
// recall of "this step is wrong" against the checker.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { describeExportSummary, EXPORT_SOURCES, exportStepLabelsArgs, exportSummaryOf } from '../../model/stepTruthCommands';
import type { CommandFactory } from '../ctx';
import { runLogged } from '../loggedProcess';
import { resolveTrainerPython } from '../python';
import { trainerEnvironment } from '../trainerProcess';
import { mayRunPython } from './trust';
import { pickRun } from './targets';

export const exportStepLabels: CommandFactory = (ctx) => async (arg?: unknown) => {
  const session = await pickRun(ctx, arg, ctx.runs.all(), vscode.l10n.t('Export Step Labels'));
  if (!session) return;
  if (!(await mayRunPython(vscode.l10n.t('exporting step labels')))) return;
  const picked = await vscode.window.showQuickPick(
    EXPORT_SOURCES.map((s) => ({ label: s.label, detail: s.detail, source: s.source })),
    { title: vscode.l10n.t('MGRPO: Export Step Labels'), placeHolder: vscode.l10n.t('Which labels?') },
  );
  if (!picked) return;
  const target = await vscode.window.showSaveDialog({
    title: vscode.l10n.t('MGRPO: Export Step Labels to'),
    defaultUri: vscode.Uri.file(path.join(session.runDir, `step-labels-${picked.source}.jsonl`)),
    filters: { [vscode.l10n.t('JSON lines')]: ['jsonl'] },
  });
  if (!target) return;
  const python = await resolveTrainerPython(ctx.python, ctx.extensionRoot);
  if (!python) return;
  const args = exportStepLabelsArgs(session.runDir, target.fsPath, picked.source);
  ctx.log.info(`[export-step-labels] $ ${[python.python, ...args].join(' ')}`);
  const output: string[] = [];
  const exit = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('MGRPO: exporting step labels'), cancellable: true },
    (_progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      return runLogged({
        command: python.python, args, cwd: session.runDir, env: trainerEnvironment(ctx.extensionRoot), signal: abort.signal,
        onLine: (line) => {
          output.push(line);
          ctx.log.info(`[export-step-labels] ${line}`);
        },
      });
    },
  );
  if (exit.cancelled) return;
  const summary = exportSummaryOf(output);
  if (exit.code !== 0 || !summary) {
    const reason = exit.spawnError ?? (exit.signal ? `killed (${exit.signal})` : exit.code !== 0 ? `exit code ${exit.code}` : 'no summary printed');
    const last = output.filter((l) => l.trim()).slice(-1)[0] ?? '';
    void vscode.window.showErrorMessage(vscode.l10n.t('MGRPO: could not export step labels ({0}): {1}', reason, last.slice(0, 300)));
    return;
  }
  const open = vscode.l10n.t('Open File');
  const choice = await vscode.window.showInformationMessage(`MGRPO: ${describeExportSummary(summary)}`, open);
  if (choice) await vscode.window.showTextDocument(vscode.Uri.file(summary.path));
};
