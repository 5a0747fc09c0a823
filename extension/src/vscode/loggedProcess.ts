// Runs a helper process (python -m venv, pip) to completion with its output, line by line, going
// to a callback (the output channel), and a signal that stops it. No `vscode` import.

import { spawn } from 'node:child_process';
import { LogLineSplitter } from './logLines';
import { SignalLadder } from './stopLadder';

export interface LoggedRun {
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Aborting sends SIGTERM, then SIGKILL after 5 s. */
  signal?: AbortSignal;
  /** Every line of stdout and stderr (the log). */
  onLine: (line: string) => void;
  /** Stdout's lines alone as well, for a process that answers on stdout (JSON lines) and logs on stderr. */
  onStdoutLine?: (line: string) => void;
  /** Written to the process's stdin, which is then closed; without it stdin is not connected. */
  stdin?: string;
}

export interface LoggedExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started (ENOENT, EACCES). */
  spawnError?: string;
  cancelled: boolean;
}

export function runLogged(run: LoggedRun): Promise<LoggedExit> {
  return new Promise((resolve) => {
    if (run.signal?.aborted) {
      resolve({ code: null, signal: null, cancelled: true });
      return;
    }
    const child = spawn(run.command, run.args, { cwd: run.cwd, env: run.env, stdio: [run.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], windowsHide: true });
    if (run.stdin !== undefined) {
      child.stdin!.on('error', () => undefined); // a process that exits early closes the pipe: its exit says why
      child.stdin!.end(run.stdin);
    }
    const lines = new LogLineSplitter();
    const stdoutLines = new LogLineSplitter();
    let spawnError: string | undefined;
    const ladder = new SignalLadder(child, () => undefined);
    const onAbort = () => ladder.climb([
      { afterMs: 0, signal: 'SIGTERM', message: 'cancelled' },
      { afterMs: 5000, signal: 'SIGKILL', message: 'cancelled; still running' },
    ]);
    run.signal?.addEventListener('abort', onAbort, { once: true });
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => lines.push(chunk).forEach(run.onLine));
    }
    if (run.onStdoutLine) child.stdout!.on('data', (chunk: string) => stdoutLines.push(chunk).forEach(run.onStdoutLine!));
    child.on('error', (error) => {
      spawnError = error.message;
      if (child.pid === undefined) finish(null, null);
    });
    child.on('close', (code, signal) => finish(code, signal));
    let settled = false;
    function finish(code: number | null, signal: NodeJS.Signals | null): void {
      if (settled) return;
      settled = true;
      lines.flush().forEach(run.onLine);
      if (run.onStdoutLine) stdoutLines.flush().forEach(run.onStdoutLine);
      ladder.cancel();
      run.signal?.removeEventListener('abort', onAbort);
      resolve({ code, signal, spawnError, cancelled: run.signal?.aborted ?? false });
    }
  });
}
