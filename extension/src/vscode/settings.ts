import * as path from 'node:path';
import * as vscode from 'vscode';
import { DEFAULT_MAX_LINE_BYTES } from '../format/lines';

/** Typed access to the `mgrpo.*` settings declared in package.json. */
export const settings = {
  pythonPath(): string {
    return config().get<string>('pythonPath', '').trim();
  },
  defaultConfig(): string {
    return config().get<string>('defaultConfig', '').trim();
  },
  /** Trainer processes "Start MGRPO Run" launches on this machine (torchrun when more than 1). */
  processesPerNode(): number {
    const value = Math.floor(config().get<number>('processesPerNode', 1));
    return Number.isFinite(value) ? value : 1;
  },
  maxCachedSteps(): number {
    return Math.max(1, Math.floor(config().get<number>('maxCachedSteps', 64)));
  },
  /** Longest JSON line read from a run folder; longer ones are skipped as malformed. */
  maxLineBytes(): number {
    const value = Math.floor(config().get<number>('maxLineBytes', DEFAULT_MAX_LINE_BYTES));
    return Number.isFinite(value) && value >= 1024 ? value : DEFAULT_MAX_LINE_BYTES;
  },
  traceMaxCharacters(): number {
    return Math.max(1000, Math.floor(config().get<number>('trace.maxCharacters', 200_000)));
  },
  /**
   * Absolute runs folder: the setting as is when absolute, else relative to the first workspace
   * folder. Undefined when it is relative and no folder is open (nowhere to put runs).
   */
  runsFolder(): string | undefined {
    return workspacePath(config().get<string>('runsFolder', '.mgrpo/runs').trim() || '.mgrpo/runs');
  },
  /**
   * The tokenizer folder NeMo-RL and prime-rl imports place token log-probs with, resolved like
   * runsFolder; undefined when unset.
   */
  importTokenizer(): string | undefined {
    const configured = config().get<string>('importTokenizer', '').trim();
    return configured ? workspacePath(configured) : undefined;
  },
};

/** A path setting: `~/` expanded, absolute as is, else relative to the first workspace folder (undefined without one). */
function workspacePath(configured: string): string | undefined {
  const expanded = configured.startsWith('~/') ? path.join(process.env.HOME ?? '', configured.slice(2)) : configured;
  if (path.isAbsolute(expanded)) return expanded;
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder ? path.join(folder.uri.fsPath, expanded) : undefined;
}

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('mgrpo');
}
