// Which Python runs the trainer. Order: the mgrpo.pythonPath setting; else the trainer environment
// this extension created ("MGRPO: Create Trainer Environment"); else the Python extension's
// selected interpreter; else the workspace's virtual environments; else candidates that can
// `import torch`. The setting is the user's explicit choice: when it is broken we say so instead of
// quietly running something else. Pure: probing (spawning python, checking files) is injected
// by the vscode layer (vscode/pythonProbe.ts), so this runs in unit tests without either.

import * as path from 'node:path';
import { errorText } from '../format/errorText';

export type InterpreterSource = 'setting' | 'trainer-environment' | 'python-extension' | 'venv' | 'candidate';

export interface InterpreterDeps {
  setting?: string;
  /** The python of the environment "Create Trainer Environment" made, when there is one. */
  trainerEnvironment?: string;
  pythonExtensionPath?: () => Promise<string | undefined>;
  /** Python executables inside workspace virtual environments (see workspaceVenvPythons). */
  workspaceVenvs: string[];
  /** Commands or paths to try last (see defaultCandidates); bare names are looked up on PATH. */
  candidates: string[];
  canImportTorch: (python: string) => Promise<boolean>;
  exists: (p: string) => Promise<boolean>;
}

export type InterpreterResolution =
  | { python: string; source: InterpreterSource }
  | { error: string; tried: string[] };

function isBareCommand(p: string): boolean {
  return !p.includes('/') && !p.includes('\\');
}

const NOTHING_FOUND_HINT = 'Create one with "MGRPO: Create Trainer Environment", or set mgrpo.pythonPath.';

/**
 * Resolves the trainer's interpreter. Every candidate is probed at once (a probe starts Python and
 * imports torch: seconds each), and the first in the order above that works wins.
 */
export async function resolvePythonInterpreter(deps: InterpreterDeps): Promise<InterpreterResolution> {
  /** Why `python` is unusable, or undefined when it works. */
  const problem = async (python: string): Promise<string | undefined> => {
    if (!isBareCommand(python) && !(await deps.exists(python))) return 'not found';
    if (!(await deps.canImportTorch(python))) return 'cannot import torch';
    return undefined;
  };

  const setting = deps.setting?.trim();
  if (setting) {
    const why = await problem(setting);
    if (!why) return { python: setting, source: 'setting' };
    return {
      error: `The Python interpreter in the setting mgrpo.pythonPath (${setting}) ${why === 'not found' ? 'does not exist' : 'cannot import torch'}. Fix the setting, or clear it to let MGRPO Lens look for one.`,
      tried: [`${setting} (setting mgrpo.pythonPath): ${why}`],
    };
  }

  const tried: string[] = [];
  let fromExtension: string | undefined;
  if (deps.pythonExtensionPath) {
    try {
      fromExtension = await deps.pythonExtensionPath();
    } catch (error) {
      tried.push(`the Python extension's interpreter: ${errorText(error)}`);
    }
  }
  const ordered: { python: string; source: InterpreterSource; label: string }[] = [];
  const seen = new Set<string>();
  const add = (python: string | undefined, source: InterpreterSource, label: string): void => {
    if (!python || seen.has(python)) return;
    seen.add(python);
    ordered.push({ python, source, label });
  };
  add(deps.trainerEnvironment, 'trainer-environment', 'trainer environment');
  add(fromExtension, 'python-extension', "the Python extension's interpreter");
  for (const venv of deps.workspaceVenvs) add(venv, 'venv', 'workspace virtual environment');
  for (const candidate of deps.candidates) add(candidate, 'candidate', 'candidate');

  // All probes start now; they are read in order, so a slow late candidate costs nothing when an
  // earlier one works.
  const probes = ordered.map((each) => problem(each.python));
  for (const [i, each] of ordered.entries()) {
    const why = await probes[i];
    if (!why) return { python: each.python, source: each.source };
    tried.push(`${each.python} (${each.label}): ${why}`);
  }
  return {
    error: tried.length > 0
      ? `No Python interpreter that can import torch was found. ${NOTHING_FOUND_HINT}`
      : `No Python interpreter to try. ${NOTHING_FOUND_HINT}`,
    tried,
  };
}

/**
 * The mgrpo.pythonPath setting as a path to run: `${workspaceFolder}` and `~/` expanded, and a
 * relative path with a folder in it (`.venv/bin/python`) taken relative to the first workspace
 * folder. A bare command (`python3`) stays as it is, for PATH lookup.
 */
export function expandPythonSetting(setting: string, workspaceFolder: string | undefined, home: string | undefined, platform: NodeJS.Platform = process.platform): string {
  const paths = platform === 'win32' ? path.win32 : path.posix;
  let value = setting.trim();
  if (!value) return value;
  if (value.includes('${workspaceFolder}')) {
    if (!workspaceFolder) throw new Error(`mgrpo.pythonPath (${setting}) names \${workspaceFolder}, but no folder is open`);
    value = value.split('${workspaceFolder}').join(workspaceFolder);
  }
  if (home && (value === '~' || value.startsWith('~/'))) value = paths.join(home, value.slice(1));
  if (isBareCommand(value)) return value;
  if (paths.isAbsolute(value)) return paths.normalize(value);
  if (!workspaceFolder) throw new Error(`mgrpo.pythonPath (${setting}) is relative, but no folder is open to resolve it against`);
  return paths.resolve(workspaceFolder, value);
}

/** Python executables of the usual virtual-environment folders of each workspace folder. */
export function workspaceVenvPythons(folders: string[], platform: NodeJS.Platform = process.platform): string[] {
  const names = ['.venv', 'venv', 'env'];
  return folders.flatMap((folder) => names.map((name) => venvPython(path.posix.join(folder, name), platform)));
}

/** Where a virtual environment keeps its python. */
export function venvPython(venv: string, platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? path.win32.join(venv, 'Scripts', 'python.exe') : path.posix.join(venv, 'bin', 'python');
}

export function defaultCandidates(platform: NodeJS.Platform = process.platform): string[] {
  return platform === 'win32' ? ['py', 'python', 'python3'] : ['python3', 'python', '/usr/bin/python3'];
}
