// Runs of other trainers (verl, TRL, NeMo-RL, prime-rl) opened with "Open Run Folder...": the
// folder's files are listed (depth-limited), model/runSources says which trainer wrote them, and
// `python -m mgrpo import SRC --to <global storage>/imports/<hash> --from KIND --follow` converts
// them into a run folder that the Runs view follows live. The importer runs with the trainer's
// interpreter and environment; its stdin stays a pipe, and closing it stops the import (on
// deactivate, or when the run is removed from the view). After a window reload the imports of the
// runs still in the view start again (resumeAfterReload), so a live source stays followed.

import { ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { errorText } from '../format/errorText';
import { RunPaths } from '../format/types';
import { detectSourceKinds, importArgs, importsToResume, parseGroupSize, SOURCE_KINDS, sourceKindInfo, worthListing, type ImportToResume, type SourceKind } from '../model/runSources';
import type { Ctx } from './ctx';
import { Disposable, disposableFrom } from './disposable';
import { LogLineSplitter } from './logLines';
import { resolveTrainerPython } from './python';
import { isProcessAlive, type RunSession } from './runSession';
import { settings } from './settings';
import { trainerEnvironment } from './trainerProcess';

/** Entries a listing reads at most: a huge folder (a checkpoint dump) must not stall the dialog. */
const MAX_LISTED = 20_000;
/** Stderr kept for the error message of a failed import. */
const MAX_STDERR_CHARS = 4000;
/** How often to look for run.json before the importer's first event. */
const ATTACH_POLL_MS = 250;
/** Import folder -> the TRL group size it was imported with (run.json's source does not keep it). */
const GROUP_SIZES_KEY = 'mgrpo.importGroupSizes';
/**
 * How long a reload waits for the previous window's importer (its stdin closed) to finish its last
 * pass before starting a new one in the same folder; one still alive after that is another window's.
 */
const PREVIOUS_IMPORTER_GRACE_MS = 5000;

/** Relative file paths under `root`, descending only into folders that can hold a source's files. */
export async function listSourceFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  let seen = 0;
  const walk = async (rel: string): Promise<void> => {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(path.join(root, rel), { withFileTypes: true });
    } catch {
      return; // unreadable folder: nothing from it
    }
    for (const entry of entries) {
      if (++seen > MAX_LISTED) return;
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (worthListing(child)) await walk(child);
      } else {
        files.push(child);
      }
    }
  };
  await walk('');
  return files;
}

/** The folder that holds the run folders of imports (one per source path). */
export function importsFolder(storageDir: string): string {
  return path.join(storageDir, 'imports');
}

/** Where the run folder of an import of `sourceDir` goes: one per source path. */
export function importRunDir(storageDir: string, sourceDir: string): string {
  const hash = createHash('sha256').update(path.resolve(sourceDir)).digest('hex').slice(0, 16);
  return path.join(importsFolder(storageDir), hash);
}

interface LiveImport {
  child: ChildProcess;
  sourceDir: string;
  kind: SourceKind;
}

/** The live imports of this window (one per run folder). */
export class ImportedRuns extends Disposable {
  private readonly live = new Map<string, LiveImport>();
  private resuming: Promise<void> | undefined;

  constructor(private readonly ctx: Ctx) {
    super();
    // Imports not restarted at activation for want of trust start once the user trusts the workspace.
    this.register(vscode.workspace.onDidGrantWorkspaceTrust(() => void this.resumeAfterReload()));
    // Remove from View: a run no longer in the registry stops being imported.
    this.register(ctx.runs.onDidChangeRuns(() => {
      for (const runDir of [...this.live.keys()]) if (!ctx.runs.get(runDir)) this.stop(runDir);
    }));
    this.register(disposableFrom(() => [...this.live.keys()].forEach((runDir) => this.stop(runDir))));
  }

  isImporting(runDir: string): boolean {
    return this.live.has(path.resolve(runDir));
  }

  /** Ends an import: its stdin closes, it imports what is complete, marks run.json stopped and exits. */
  stop(runDir: string): void {
    const dir = path.resolve(runDir);
    const running = this.live.get(dir);
    if (!running) return;
    this.live.delete(dir);
    running.child.stdin?.end();
  }

  /**
   * Opens a folder another trainer wrote. Returns false when it is none that the importers know
   * (the caller then says the folder is not a run), true otherwise (opened, or the user cancelled).
   */
  async open(sourceDir: string): Promise<boolean> {
    const kinds = detectSourceKinds(await listSourceFiles(sourceDir), path.basename(sourceDir));
    if (kinds.length === 0) return false;
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage(vscode.l10n.t('MGRPO: importing a {0} folder runs Python, so it is disabled in an untrusted workspace. Trust this workspace to import it.', kinds.map((k) => sourceKindInfo(k).label).join(' / ')));
      return true;
    }
    const kind = kinds.length === 1 ? kinds[0] : await pickKind(kinds, sourceDir);
    if (!kind) return true;
    let groupSize: number | undefined;
    if (kind === 'trl') {
      const answer = await vscode.window.showInputBox({
        title: vscode.l10n.t('MGRPO: TRL completions'),
        prompt: vscode.l10n.t("The run's num_generations (rows of one group are consecutive). Leave empty to group rows by identical prompt."),
        validateInput: (text) => (text.trim() === '' ? undefined : typeof parseGroupSize(text) === 'string' ? vscode.l10n.t('A positive whole number') : undefined),
      });
      if (answer === undefined) return true;
      const parsed = answer.trim() === '' ? undefined : parseGroupSize(answer);
      groupSize = typeof parsed === 'number' ? parsed : undefined;
    }
    const runDir = importRunDir(this.ctx.extension.globalStorageUri.fsPath, sourceDir);
    if (this.live.has(runDir)) {
      await this.reveal(await this.ctx.runs.attach(runDir), kind);
      return true;
    }
    const python = await resolveTrainerPython(this.ctx.python, this.ctx.extensionRoot);
    if (!python) return true;
    await fs.promises.mkdir(runDir, { recursive: true });
    await this.rememberGroupSize(runDir, groupSize);
    const session = await this.start(python.python, sourceDir, runDir, kind, groupSize);
    if (session) await this.reveal(session, kind);
    return true;
  }

  /**
   * After a window reload: starts again the imports of the runs the view still lists (removed ones
   * are not listed), as Open Run Folder... started them. Only in a trusted workspace (it runs
   * Python); a source folder that is gone is logged and left as imported.
   */
  resumeAfterReload(): Promise<void> {
    this.resuming ??= this.resume().catch((error: unknown) => {
      this.ctx.log.warn(`[import] restarting imports after a reload failed: ${errorText(error)}`);
    }).finally(() => {
      this.resuming = undefined;
    });
    return this.resuming;
  }

  private async resume(): Promise<void> {
    const storage = this.ctx.extension.globalStorageUri.fsPath;
    const runs = this.ctx.runs.all().map((session) => ({ runDir: session.runDir, manifest: session.reader?.manifest }));
    const wanted = importsToResume(runs, importsFolder(storage), this.ctx.extension.globalState.get<Record<string, unknown>>(GROUP_SIZES_KEY, {}))
      .filter((resumable) => !this.live.has(resumable.runDir));
    if (wanted.length === 0 || this.isDisposed) return;
    if (!vscode.workspace.isTrusted) {
      this.ctx.log.info(`[import] ${wanted.length} import(s) not restarted: the workspace is not trusted`);
      return;
    }
    const present: ImportToResume[] = [];
    for (const resumable of wanted) {
      if (!fs.existsSync(resumable.sourceDir)) {
        this.ctx.log.info(`[import] not restarted: its source ${resumable.sourceDir} is gone (${resumable.runDir} keeps what was imported)`);
        continue;
      }
      const manifest = this.ctx.runs.get(resumable.runDir)?.reader?.manifest;
      if (manifest?.status === 'running' && typeof manifest.pid === 'number' && !(await processEnded(manifest.pid, PREVIOUS_IMPORTER_GRACE_MS))) {
        this.ctx.log.info(`[import] not restarted: ${resumable.runDir} is still imported by process ${manifest.pid} (another window's)`);
        continue;
      }
      present.push(resumable);
    }
    if (present.length === 0) return;
    const python = await resolveTrainerPython(this.ctx.python, this.ctx.extensionRoot);
    if (!python || this.isDisposed) return;
    for (const { runDir, sourceDir, kind, groupSize } of present) {
      if (this.live.has(runDir)) continue;
      this.ctx.log.info(`[import] restarting the ${kind} import of ${sourceDir} after a reload`);
      void this.start(python.python, sourceDir, runDir, kind, groupSize);
    }
  }

  /** mgrpo.importTokenizer for a kind whose files hold token ids; a folder that is not there is said and skipped. */
  private tokenizerFor(kind: SourceKind): string | undefined {
    if (!sourceKindInfo(kind).tokenLevel) return undefined;
    const folder = settings.importTokenizer();
    if (!folder) return undefined;
    if (fs.existsSync(folder)) return folder;
    this.ctx.log.warn(`[import] mgrpo.importTokenizer: ${folder} does not exist; importing without token log-probs`);
    void vscode.window.showWarningMessage(vscode.l10n.t('MGRPO: the tokenizer folder {0} (mgrpo.importTokenizer) does not exist; the {1} run is imported without token log-probs.', folder, sourceKindInfo(kind).label));
    return undefined;
  }

  private async rememberGroupSize(runDir: string, groupSize: number | undefined): Promise<void> {
    const sizes = { ...this.ctx.extension.globalState.get<Record<string, unknown>>(GROUP_SIZES_KEY, {}) };
    if (groupSize === undefined) delete sizes[runDir];
    else sizes[runDir] = groupSize;
    await this.ctx.extension.globalState.update(GROUP_SIZES_KEY, sizes);
  }

  /** Spawns the importer; resolves with the attached run once run.json exists, or undefined when it failed first. */
  private start(python: string, sourceDir: string, runDir: string, kind: SourceKind, groupSize?: number): Promise<RunSession | undefined> {
    const args = ['-m', 'mgrpo', ...importArgs(sourceDir, runDir, kind, { groupSize, tokenizer: this.tokenizerFor(kind) })];
    this.ctx.log.info(`[import] ${python} ${args.join(' ')}`);
    const child = spawn(python, args, { cwd: runDir, env: trainerEnvironment(this.ctx.extensionRoot), stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    this.live.set(runDir, { child, sourceDir, kind });
    let stderr = '';
    const errLines = new LogLineSplitter();
    const outLines = new LogLineSplitter();
    child.stderr!.setEncoding('utf8');
    child.stdout!.setEncoding('utf8');
    child.stdin!.on('error', () => undefined); // the importer may exit before we close its stdin
    child.stderr!.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-MAX_STDERR_CHARS);
      errLines.push(chunk).forEach((line) => this.ctx.log.info(`[import] ${line}`));
    });
    return new Promise((resolve) => {
      let settled = false;
      const settle = (session: RunSession | undefined): void => {
        if (settled) return;
        settled = true;
        clearInterval(poll);
        resolve(session);
      };
      const attach = (): void => {
        if (settled || !fs.existsSync(path.join(runDir, RunPaths.manifest))) return;
        clearInterval(poll);
        this.ctx.runs.attach(runDir).then(settle, (error) => {
          void vscode.window.showErrorMessage(vscode.l10n.t('MGRPO: could not read the imported run in {0}: {1}', runDir, errorText(error)));
          settle(undefined);
        });
      };
      const poll = setInterval(attach, ATTACH_POLL_MS);
      child.stdout!.on('data', (chunk: string) => {
        for (const line of outLines.push(chunk)) {
          if (/"event"\s*:\s*"rollouts"/.test(line)) attach();
        }
      });
      child.on('error', (error) => {
        this.live.delete(runDir);
        void vscode.window.showErrorMessage(vscode.l10n.t('MGRPO: could not start the importer ({0}): {1}', python, error.message));
        settle(undefined);
      });
      child.on('close', (code, signal) => {
        if (this.live.get(runDir)?.child === child) this.live.delete(runDir);
        errLines.flush().forEach((line) => this.ctx.log.info(`[import] ${line}`));
        this.ctx.log.info(`[import] ${sourceDir}: exit ${code ?? signal}`);
        if (code !== 0 && !(code === null && signal === 'SIGTERM')) {
          const why = code === 2 ? stderr.trim() : `${vscode.l10n.t('exit code {0}', String(code ?? signal))}\n${stderr.trim()}`;
          void vscode.window.showErrorMessage(vscode.l10n.t('MGRPO: importing {0} failed: {1}', sourceDir, why), { modal: false });
          settle(undefined);
        } else {
          attach(); // a quick import finished before the first poll
          setTimeout(() => settle(this.ctx.runs.get(runDir)), ATTACH_POLL_MS * 4);
        }
      });
    });
  }

  private async reveal(session: RunSession, kind: SourceKind): Promise<void> {
    await vscode.commands.executeCommand('mgrpo.runs.focus');
    await this.ctx.revealRun?.(session);
    void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: importing the {0} run in {1}; the view follows it while the folder grows. Removing it from the view stops the import.', sourceKindInfo(kind).label, this.live.get(session.runDir)?.sourceDir ?? session.runDir));
  }
}

/** Resolves true once process `pid` is gone, false if it still runs after `withinMs`. */
async function processEnded(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (isProcessAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, ATTACH_POLL_MS));
  }
  return true;
}

async function pickKind(kinds: SourceKind[], sourceDir: string): Promise<SourceKind | undefined> {
  const items = kinds.map((sourceKind) => ({ label: sourceKindInfo(sourceKind).label, description: sourceKindInfo(sourceKind).pattern, sourceKind }));
  const picked = await vscode.window.showQuickPick(items, {
    title: vscode.l10n.t('MGRPO: {0} holds rollouts of several trainers', path.basename(sourceDir)),
    placeHolder: vscode.l10n.t('Which one to import'),
  });
  return picked?.sourceKind;
}

/** What Open Run Folder... says it looked for, when a folder is neither a run nor a known source. */
export function lookedFor(): string {
  return SOURCE_KINDS.map((info) => `${info.label}: ${info.pattern}`).join('; ');
}

const perCtx = new WeakMap<Ctx, ImportedRuns>();

/** The window's imports, made on first use and disposed with the extension's context. */
export function importedRunsOf(ctx: Ctx): ImportedRuns {
  let imports = perCtx.get(ctx);
  if (!imports) {
    imports = ctx.register(new ImportedRuns(ctx));
    perCtx.set(ctx, imports);
  }
  return imports;
}
