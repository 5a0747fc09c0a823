// Types for vscode-server.mjs, so the TypeScript e2e harness can import the launcher.
import type { ChildProcess } from 'node:child_process';

export declare const repoRoot: string;
export declare const vscodeTools: {
  readonly toolsDir: string;
  readonly node24: string;
  readonly codeServerEntry: string;
  readonly chromium: string;
};
export declare const quietSettings: Readonly<Record<string, unknown>>;

export declare function missingVSCodeTools(): string | null;
export declare function seedUserSettings(
  userDataDir: string,
  extra?: Record<string, unknown>,
  options?: { overwrite?: boolean },
): string;
export declare function extensionIdentity(extensionRoot: string): { id: string; version: string; folderName: string };
export declare function linkUnpackedExtension(extensionsDir: string, extensionRoot: string): string;
export declare function installVsix(
  vsixPath: string,
  options: { extensionsDir: string; userDataDir: string },
): Promise<string>;
export declare function freePort(): Promise<number>;

export interface CodeServerOptions {
  workspace: string;
  userDataDir: string;
  extensionsDir: string;
  settings?: Record<string, unknown>;
  keepUserSettings?: boolean;
  port?: number;
  logFile?: string;
  startTimeoutMs?: number;
  env?: Record<string, string>;
  /** Workspace Trust on: the workspace opens untrusted (restricted mode). */
  workspaceTrust?: boolean;
}

export interface ProcessInfo {
  pid: number;
  cmdline: string;
}

export interface RunningCodeServer {
  url: string;
  port: number;
  pid: number;
  userDataDir: string;
  extensionsDir: string;
  logFile: string;
  descendants(): ProcessInfo[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export declare function startCodeServer(options: CodeServerOptions): Promise<RunningCodeServer>;
export declare function descendantsOf(rootPid: number): ProcessInfo[];
export declare function killProcessTree(child: ChildProcess, graceMs?: number): Promise<void>;
