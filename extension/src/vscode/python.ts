import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  defaultCandidates, expandPythonSetting, resolvePythonInterpreter, workspaceVenvPythons, type InterpreterResolution,
} from '../model/interpreter';
import { Disposable } from './disposable';
import { canImportTorch, fileExists } from './pythonProbe';
import { settings } from './settings';
import { errorText } from '../format/errorText';

export interface ResolvedPython {
  python: string;
  source: string;
}

/** Where "MGRPO: Create Trainer Environment" records the python of the environment it made. */
export const TRAINER_ENVIRONMENT_KEY = 'mgrpo.trainerEnvironmentPython';

/**
 * Finds the interpreter that runs the trainer (order: model/interpreter.ts) and remembers the
 * answer for this session: probing starts Python and imports torch, seconds per candidate. The
 * answer is forgotten when mgrpo.pythonPath, the workspace folders or the Python extension's
 * selection change, or a trainer environment is created. While a lookup has failed, a status bar
 * item says so and offers to create the trainer environment.
 */
export class PythonLocator extends Disposable {
  private cached?: Promise<InterpreterResolution>;
  private watchingPythonExtension?: Promise<void>;
  private readonly failureItem: vscode.StatusBarItem;

  constructor(private readonly extension: vscode.ExtensionContext, private readonly log: vscode.LogOutputChannel) {
    super();
    this.failureItem = this.register(vscode.window.createStatusBarItem('mgrpo.python', vscode.StatusBarAlignment.Left, 49));
    this.failureItem.name = vscode.l10n.t('MGRPO Python');
    this.failureItem.text = `$(warning) ${vscode.l10n.t('MGRPO: no Python with torch')}`;
    this.failureItem.command = 'mgrpo.createTrainerEnvironment';
    this.register(vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('mgrpo.pythonPath')) this.invalidate();
    }));
    this.register(vscode.workspace.onDidChangeWorkspaceFolders(() => this.invalidate()));
  }

  /** The python "Create Trainer Environment" made, if it is still there. */
  get trainerEnvironment(): string | undefined {
    const python = this.extension.globalState.get<string>(TRAINER_ENVIRONMENT_KEY);
    return python && fs.existsSync(python) ? python : undefined;
  }

  async setTrainerEnvironment(python: string | undefined): Promise<void> {
    await this.extension.globalState.update(TRAINER_ENVIRONMENT_KEY, python);
    this.invalidate();
  }

  invalidate(): void {
    this.cached = undefined;
    this.failureItem.hide();
  }

  /**
   * The interpreter, from the session's cache or a fresh lookup. Cancelling `token` kills the
   * probes and forgets the lookup; it then resolves to an error saying it was cancelled.
   */
  async resolve(token?: vscode.CancellationToken): Promise<InterpreterResolution> {
    if (!this.cached) {
      const abort = new AbortController();
      const lookup = this.lookup(abort.signal);
      this.cached = lookup;
      const cancelled = token?.onCancellationRequested(() => {
        abort.abort();
        if (this.cached === lookup) this.cached = undefined;
      });
      void lookup.finally(() => cancelled?.dispose());
    }
    const lookup = this.cached;
    const result = await lookup;
    if (token?.isCancellationRequested) return { error: vscode.l10n.t('The Python lookup was cancelled.'), tried: [] };
    if ('error' in result) {
      if (this.cached === lookup) this.failureItem.tooltip = `${result.error}\n\n${vscode.l10n.t('Click to create a trainer environment.')}`;
      this.failureItem.show();
      // A failed lookup is not cached: the user fixes something (installs torch) and tries again.
      if (this.cached === lookup) this.cached = undefined;
    } else {
      this.failureItem.hide();
    }
    return result;
  }

  private async lookup(signal: AbortSignal): Promise<InterpreterResolution> {
    // The Python extension is asked (and so activated) only when a lookup needs it, not at startup.
    this.watchingPythonExtension ??= this.watchPythonExtension();
    const workspaceFolder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    let setting: string | undefined;
    try {
      setting = expandPythonSetting(settings.pythonPath(), workspaceFolder, os.homedir()) || undefined;
    } catch (error) {
      return { error: errorText(error), tried: [] };
    }
    // The extension's own folder last: from a source checkout its .venv is the one `npm run setup` made.
    const folders = [...(vscode.workspace.workspaceFolders ?? []).map((folder) => folder.uri.fsPath), this.extension.extensionUri.fsPath];
    const started = Date.now();
    const result = await resolvePythonInterpreter({
      setting,
      trainerEnvironment: this.trainerEnvironment,
      pythonExtensionPath: pythonExtensionInterpreter,
      workspaceVenvs: [...new Set(workspaceVenvPythons(folders))],
      candidates: defaultCandidates(),
      canImportTorch: (python) => canImportTorch(python, { signal }),
      exists: fileExists,
    });
    const took = `${((Date.now() - started) / 1000).toFixed(1)} s`;
    if ('python' in result) this.log.info(`Python: ${result.python} (from ${result.source}; lookup took ${took})`);
    else this.log.warn(`Python lookup failed after ${took}: ${result.error} Tried: ${result.tried.join('; ') || 'nothing'}`);
    return result;
  }

  private async watchPythonExtension(): Promise<void> {
    const api = await pythonExtensionApi();
    const onChange = api?.environments?.onDidChangeActiveEnvironmentPath;
    if (typeof onChange === 'function') this.register(onChange(() => this.invalidate()));
  }
}

/**
 * Resolves the trainer's Python for a command, with a cancellable progress. On failure it says
 * why, lists what it tried and offers what helps: the trainer environment (never pip into a
 * system Python, which Debian and Ubuntu refuse), the setting, or in a source checkout the setup.
 */
export async function resolveTrainerPython(locator: PythonLocator, extensionRoot: string): Promise<ResolvedPython | undefined> {
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('MGRPO: looking for a Python that can import torch'), cancellable: true },
    (_progress, token) => locator.resolve(token),
  );
  if ('python' in result) return result;
  if (result.tried.length === 0 && /cancelled/.test(result.error)) return undefined;

  const create = vscode.l10n.t('Create Trainer Environment');
  const choose = vscode.l10n.t('Choose Interpreter Setting');
  const runSetup = vscode.l10n.t('Run Setup in Terminal');
  const sourceCheckout = isSourceCheckout(extensionRoot);
  const choice = await vscode.window.showErrorMessage(
    `MGRPO: ${result.error}`,
    { modal: false, detail: vscode.l10n.t('Tried: {0}', result.tried.join(', ')) },
    ...(sourceCheckout ? [runSetup, create, choose] : [create, choose]),
  );
  if (choice === create) {
    await vscode.commands.executeCommand('mgrpo.createTrainerEnvironment');
  } else if (choice === runSetup) {
    const terminal = vscode.window.createTerminal({ name: 'MGRPO Setup', cwd: extensionRoot });
    terminal.show();
    terminal.sendText('npm run setup');
  } else if (choice === choose) {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'mgrpo.pythonPath');
  }
  return undefined;
}

/** From a source checkout (this repository) `npm run setup` makes the .venv the lookup finds. */
function isSourceCheckout(extensionRoot: string): boolean {
  return fs.existsSync(path.join(extensionRoot, 'scripts', 'setup.sh'));
}

interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath?(resource?: vscode.Uri): { id: string; path: string } | undefined;
    resolveEnvironment?(env: { id: string; path: string }): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
    onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
  };
}

async function pythonExtensionApi(): Promise<PythonExtensionApi | undefined> {
  const extension = vscode.extensions.getExtension('ms-python.python');
  if (!extension) return undefined;
  try {
    return (extension.isActive ? extension.exports : await extension.activate()) as PythonExtensionApi | undefined;
  } catch (error) {
    console.warn('[mgrpo] Python extension API failed', error);
    return undefined;
  }
}

/**
 * The ms-python extension's selected interpreter, through its public API when it is installed.
 * Guarded throughout: its API has changed shape before, and a failure here must only mean
 * "no answer from the Python extension". It is used only when it can import torch.
 */
async function pythonExtensionInterpreter(): Promise<string | undefined> {
  try {
    const environments = (await pythonExtensionApi())?.environments;
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
