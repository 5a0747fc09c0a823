// "MGRPO: Create Trainer Environment": a virtual environment in the extension's global storage
// with the trainer's requirements (trainer/requirements.txt shipped in the .vsix), for people who
// installed the extension and have no Python with torch. The trainer itself is not installed into
// it: it runs from the extension's own trainer/ folder (PYTHONPATH), so it always matches the
// extension's version. The environment's python is remembered (PythonLocator) and used from then on.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { diskShortfall, pipFailedOnNetwork, pipFailureReason } from '../model/environmentNeeds';
import { defaultCandidates, venvPython } from '../model/interpreter';
import { runLogged, type LoggedExit } from './loggedProcess';
import type { PythonLocator } from './python';

/** The folder under the extension's global storage. */
export const TRAINER_ENVIRONMENT_FOLDER = 'trainer-env';

/** Lines of a step's output kept to find pip's reason for failing. */
const RECENT_LINES = 40;

/** A base Python can make the environment: 3.10 or newer, with venv and ensurepip (Debian splits them out). */
const BASE_PYTHON_CHECK = 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 10) else 3)';

export interface EnvironmentDeps {
  extension: vscode.ExtensionContext;
  log: vscode.LogOutputChannel;
  locator: PythonLocator;
}

export async function createTrainerEnvironment(deps: EnvironmentDeps): Promise<string | undefined> {
  const { extension, log, locator } = deps;
  const envDir = path.join(extension.globalStorageUri.fsPath, TRAINER_ENVIRONMENT_FOLDER);
  const requirements = path.join(extension.extensionUri.fsPath, 'trainer', 'requirements.txt');
  if (!fs.existsSync(requirements)) throw new Error(vscode.l10n.t('the extension has no {0}; reinstall it', requirements));
  log.show(true);
  if (!await enoughDisk(envDir, log)) return undefined;
  log.info(`Creating the trainer environment in ${envDir}`);
  // Set once `venv --clear` runs: from then on the folder holds nothing usable until the end.
  let replaced = false;
  const outcome = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('MGRPO: creating the trainer environment'), cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      // The last lines of the last step: pip says why it failed at the end of its output.
      const recent: string[] = [];
      const step = async (message: string, command: string, args: string[]): Promise<LoggedExit> => {
        progress.report({ message });
        log.info(`$ ${[command, ...args].join(' ')}`);
        recent.length = 0;
        return runLogged({
          command, args, signal: abort.signal, env: { ...process.env, PYTHONNOUSERSITE: '1' },
          onLine: (line) => {
            log.info(`[pip] ${line}`);
            recent.push(line);
            if (recent.length > RECENT_LINES) recent.shift();
            const collecting = /^(Collecting|Installing collected packages:|Downloading|Using cached)\s+(\S+)/.exec(line);
            if (collecting) progress.report({ message: `${message} ${collecting[2].slice(0, 60)}` });
          },
        });
      };
      const fail = (what: string, exit: LoggedExit): string => {
        if (exit.cancelled) return 'cancelled';
        const reason = pipFailureReason(recent);
        return `${what} ${exit.spawnError ?? (exit.signal ? `was killed (${exit.signal})` : `failed (exit code ${exit.code})`)}${reason ? `: ${reason}` : ''}`;
      };

      progress.report({ message: vscode.l10n.t('looking for Python 3.10+ with venv…') });
      const base = await findBasePython(abort.signal);
      if (!base) return vscode.l10n.t('no Python 3.10 or newer with the venv module was found (tried {0}). Install one (on Debian/Ubuntu: sudo apt install python3-venv), then try again.', defaultCandidates().join(', '));
      replaced = true;
      const made = await step(vscode.l10n.t('creating the virtual environment…'), base, ['-m', 'venv', '--clear', envDir]);
      if (made.code !== 0) return fail(`${base} -m venv`, made);
      const python = venvPython(envDir);
      const install = () => step(vscode.l10n.t('installing torch and the trainer\'s requirements (minutes)…'), python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--progress-bar', 'off', '-r', requirements]);
      let installed = await install();
      if (installed.code !== 0 && !installed.cancelled && pipFailedOnNetwork(recent)) {
        // Once: what was installed stays, so the second try fetches only what is missing.
        log.warn('pip failed on the network; trying once more.');
        installed = await install();
      }
      if (installed.code !== 0) return fail('pip install', installed);
      const check = await step(vscode.l10n.t('checking that torch imports…'), python, ['-c', 'import torch, transformers, jsonschema; print("torch", torch.__version__)']);
      if (check.code !== 0) return fail('the import check', check);
      return { python };
    },
  );
  if (typeof outcome === 'string') {
    // An unfinished environment is gigabytes nothing will use (and the disk may be what ran out).
    if (replaced) {
      await fs.promises.rm(envDir, { recursive: true, force: true }).then(
        () => log.info(`Removed the unfinished environment ${envDir}`),
        (error: unknown) => log.warn(`Could not remove the unfinished environment ${envDir}: ${String(error)}`),
      );
    }
    if (outcome === 'cancelled') {
      log.warn('Creating the trainer environment was cancelled.');
      void vscode.window.showWarningMessage(vscode.l10n.t('MGRPO: creating the trainer environment was cancelled.'));
    } else {
      log.error(`Creating the trainer environment failed: ${outcome}`);
      const showLog = vscode.l10n.t('Show Log');
      void vscode.window.showErrorMessage(vscode.l10n.t('MGRPO: could not create the trainer environment: {0}', outcome), showLog).then((choice) => {
        if (choice) log.show(true);
      });
    }
    return undefined;
  }
  await locator.setTrainerEnvironment(outcome.python);
  log.info(`Trainer environment ready: ${outcome.python}`);
  void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: the trainer environment is ready; runs use {0}.', outcome.python));
  return outcome.python;
}

/**
 * Checks the free space where the environment goes (pip fails late and leaves gigabytes behind when
 * the disk fills); when short, the user decides. False when they decline.
 */
async function enoughDisk(envDir: string, log: vscode.LogOutputChannel): Promise<boolean> {
  const free = await freeBytes(envDir);
  const shortfall = free === undefined ? undefined : diskShortfall(free, envDir);
  if (!shortfall) return true;
  log.warn(`Low disk space: ${shortfall}.`);
  const createAnyway = vscode.l10n.t('Create Anyway');
  const choice = await vscode.window.showWarningMessage(vscode.l10n.t('MGRPO: {0}. Free some space first, or create it anyway?', shortfall), { modal: true }, createAnyway);
  if (choice === createAnyway) return true;
  log.warn('Creating the trainer environment was cancelled: not enough disk space.');
  return false;
}

/** Bytes free to this user on the disk that holds `target` (its nearest existing folder); undefined when unknown. */
async function freeBytes(target: string): Promise<number | undefined> {
  let folder = target;
  while (!fs.existsSync(folder) && path.dirname(folder) !== folder) folder = path.dirname(folder);
  try {
    const stats = await fs.promises.statfs(folder);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

async function findBasePython(signal: AbortSignal): Promise<string | undefined> {
  for (const candidate of defaultCandidates()) {
    const exit = await runLogged({ command: candidate, args: ['-c', BASE_PYTHON_CHECK], signal, onLine: () => undefined });
    if (exit.code === 0) return candidate;
    if (exit.cancelled) return undefined;
  }
  return undefined;
}
