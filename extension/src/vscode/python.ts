import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { canImportTorch, defaultCandidates, fileExists, resolvePythonInterpreter, workspaceVenvPythons } from '../model/interpreter';
import { settings } from './settings';

export interface ResolvedPython {
  python: string;
  source: string;
}

/**
 * Finds the interpreter that runs the trainer, in the documented order (setting, the Python
 * extension's active interpreter, the workspace's and the extension's own .venv, then python3 /
 * python on PATH that can import torch). When none works it says so, lists what it tried, and
 * offers the setup command in a terminal; it then returns undefined.
 */
export async function resolveTrainerPython(extensionRoot: string): Promise<ResolvedPython | undefined> {
  // The extension's own folder last: from a source checkout its .venv is the one `npm run setup` made.
  const folders = [...(vscode.workspace.workspaceFolders ?? []).map((folder) => folder.uri.fsPath), extensionRoot];
  const result = await resolvePythonInterpreter({
    setting: settings.pythonPath() || undefined,
    pythonExtensionPath: pythonExtensionInterpreter,
    workspaceVenvs: [...new Set(workspaceVenvPythons(folders))],
    candidates: defaultCandidates(),
    canImportTorch,
    exists: fileExists,
  });
  if ('python' in result) return result;

  const setup = setupCommand(extensionRoot);
  const choice = await vscode.window.showErrorMessage(
    `MGRPO: ${result.error}`,
    { modal: false, detail: `Tried: ${result.tried.join(', ')}` },
    'Run Setup in Terminal',
    'Choose Interpreter Setting',
  );
  if (choice === 'Run Setup in Terminal') {
    const terminal = vscode.window.createTerminal({ name: 'MGRPO Setup', cwd: setup.cwd });
    terminal.show();
    terminal.sendText(setup.command);
  } else if (choice === 'Choose Interpreter Setting') {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'mgrpo.pythonPath');
  }
  return undefined;
}

/**
 * The ms-python extension's active interpreter, through its public API when it is installed.
 * Guarded throughout: its API has changed shape before, and a failure here must only mean
 * "no answer from the Python extension".
 */
async function pythonExtensionInterpreter(): Promise<string | undefined> {
  const extension = vscode.extensions.getExtension('ms-python.python');
  if (!extension) return undefined;
  try {
    const api = (extension.isActive ? extension.exports : await extension.activate()) as PythonExtensionApi | undefined;
    const environments = api?.environments;
    if (!environments?.getActiveEnvironmentPath) return undefined;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const active = environments.getActiveEnvironmentPath(folder);
    if (!active?.path) return undefined;
    // The path may be an environment folder; resolveEnvironment gives the executable.
    const resolved = await environments.resolveEnvironment?.(active);
    return resolved?.executable?.uri?.fsPath ?? active.path;
  } catch (error) {
    console.warn('[mgrpo] Python extension API failed', error);
    return undefined;
  }
}

interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath?(resource?: vscode.Uri): { id: string; path: string } | undefined;
    resolveEnvironment?(env: { id: string; path: string }): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
  };
}

/**
 * From a source checkout (this repository), `npm run setup` makes the .venv that resolution then
 * finds; an installed extension has no package scripts, so it installs the trainer's requirements.
 */
export function setupCommand(extensionRoot: string): { cwd: string; command: string } {
  const isSourceCheckout = fs.existsSync(path.join(extensionRoot, 'scripts', 'setup.sh'));
  if (isSourceCheckout) return { cwd: extensionRoot, command: 'npm run setup' };
  const requirements = path.join(extensionRoot, 'trainer', 'requirements.txt');
  const python = process.platform === 'win32' ? 'python' : 'python3';
  return { cwd: extensionRoot, command: `${python} -m pip install -r "${requirements}"` };
}
