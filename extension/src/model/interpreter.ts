// Which Python runs the trainer. Order (issue "Starting and following a run"): the mgrpo.pythonPath
// setting; else the Python extension's active interpreter; else the workspace's virtual
// environments; else candidates that can `import torch`. The setting is the user's explicit
// choice: when it is broken we say so instead of quietly running something else.

import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export type InterpreterSource = 'setting' | 'python-extension' | 'venv' | 'candidate';

export interface InterpreterDeps {
  setting?: string;
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

export async function resolvePythonInterpreter(deps: InterpreterDeps): Promise<InterpreterResolution> {
  const tried: string[] = [];
  const seen = new Set<string>();

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
    tried.push(`${setting} (setting mgrpo.pythonPath): ${why}`);
    return {
      error: `The Python interpreter in the setting mgrpo.pythonPath (${setting}) ${why === 'not found' ? 'does not exist' : 'cannot import torch'}. Fix the setting, clear it to let MGRPO Lens look for one, or run the setup (npm run setup) to create .venv.`,
      tried,
    };
  }

  const attempt = async (python: string | undefined, source: InterpreterSource, label: string): Promise<InterpreterResolution | undefined> => {
    if (!python || seen.has(python)) return undefined;
    seen.add(python);
    const why = await problem(python);
    if (!why) return { python, source };
    tried.push(`${python} (${label}): ${why}`);
    return undefined;
  };

  if (deps.pythonExtensionPath) {
    let fromExtension: string | undefined;
    try {
      fromExtension = await deps.pythonExtensionPath();
    } catch (error) {
      tried.push(`the Python extension's interpreter: ${(error as Error).message}`);
    }
    const found = await attempt(fromExtension, 'python-extension', "the Python extension's interpreter");
    if (found) return found;
  }
  for (const venv of deps.workspaceVenvs) {
    const found = await attempt(venv, 'venv', 'workspace virtual environment');
    if (found) return found;
  }
  for (const candidate of deps.candidates) {
    const found = await attempt(candidate, 'candidate', 'candidate');
    if (found) return found;
  }
  return {
    error: tried.length > 0
      ? 'No Python interpreter that can import torch was found. Run the setup (npm run setup) to create .venv with the trainer\'s requirements, or set mgrpo.pythonPath.'
      : 'No Python interpreter to try: set mgrpo.pythonPath or run the setup (npm run setup) to create .venv.',
    tried,
  };
}

/** Python executables of the usual virtual-environment folders of each workspace folder. */
export function workspaceVenvPythons(folders: string[], platform: NodeJS.Platform = process.platform): string[] {
  const names = ['.venv', 'venv', 'env'];
  const relative = platform === 'win32' ? ['Scripts', 'python.exe'] : ['bin', 'python'];
  const join = platform === 'win32' ? path.win32.join : path.posix.join;
  return folders.flatMap((folder) => names.map((name) => join(folder, name, ...relative)));
}

export function defaultCandidates(platform: NodeJS.Platform = process.platform): string[] {
  return platform === 'win32' ? ['py', 'python', 'python3'] : ['python3', 'python', '/usr/bin/python3'];
}

export async function fileExists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `python -c "import torch"` succeeds within the timeout. A missing executable, a crash
 * or a hang (killed at the timeout) all mean no.
 */
export function canImportTorch(python: string, timeoutMs = 30_000): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(ok);
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(python, ['-c', 'import torch'], { stdio: 'ignore', windowsHide: true });
    } catch {
      resolve(false);
      return;
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(false);
    }, timeoutMs);
    child.on('error', () => finish(false));
    child.on('exit', (code) => finish(code === 0));
  });
}
