// Probing an interpreter: does a file exist, can `python -c "import torch"` run. Process spawning
// and file access live here, in the vscode layer (model/interpreter.ts decides, this looks). No
// `vscode` import, so unit tests run it against real executables.

import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';

/** Long enough for a cold `import torch` from a slow disk, short enough that a hang is noticed. */
export const PROBE_TIMEOUT_MS = 15_000;

export async function fileExists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

export interface ProbeOptions {
  timeoutMs?: number;
  /** Aborting kills the probe and answers false. */
  signal?: AbortSignal;
}

/**
 * Whether `python -c "import torch"` succeeds within the timeout. A missing executable, a crash,
 * a hang (killed at the timeout) or a cancelled probe all mean no.
 */
export function canImportTorch(python: string, options: ProbeOptions = {}): Promise<boolean> {
  const { timeoutMs = PROBE_TIMEOUT_MS, signal } = options;
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve(false);
      return;
    }
    let settled = false;
    let child: ReturnType<typeof spawn>;
    const finish = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = (): void => {
      child?.kill('SIGKILL');
      finish(false);
    };
    try {
      child = spawn(python, ['-c', 'import torch'], { stdio: 'ignore', windowsHide: true });
    } catch {
      resolve(false);
      return;
    }
    const timer = setTimeout(onAbort, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', () => finish(false));
    child.on('exit', (code) => finish(code === 0));
  });
}
