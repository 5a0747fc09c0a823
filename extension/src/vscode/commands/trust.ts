// The one refusal every command that would run Python shares in an untrusted workspace.
import * as vscode from 'vscode';

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
