import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { errorText } from '../format/errorText';
import { runCacheFolder } from '../format/indexCache';
import type { Malformed } from '../format/jsonlFollower';
import type { RunReaderOptions } from '../format/runReader';
import { RunPaths } from '../format/types';
import { Disposable } from './disposable';
import { RunChange, RunSession } from './runSession';
import { settings } from './settings';

const ATTACHED_RUNS_KEY = 'mgrpo.attachedRuns';
/** Runs of the runs folder the user removed from the view (their files stay). */
const HIDDEN_RUNS_KEY = 'mgrpo.hiddenRuns';
/** The global storage's folder of step indexes (format/indexCache.ts). */
const STEP_INDEX_FOLDER = 'step-indexes';

/**
 * Every run the Runs view shows: the run directories under the runs folder, the ones attached
 * with "Open Run Folder..." (remembered per workspace), and the ones started in this window.
 */
export class RunRegistry extends Disposable {
  private readonly sessions = new Map<string, RunSession>();
  private readonly runsChanged = this.register(new vscode.EventEmitter<void>());
  private readonly runChanged = this.register(new vscode.EventEmitter<RunChange>());
  private readonly liveChanged = this.register(new vscode.EventEmitter<void>());
  private runsFolderWatcher?: vscode.Disposable;
  /** run.json watchers of attached runs (runs-folder runs share the runs folder's watcher). */
  private readonly attachedWatchers = new Map<string, vscode.Disposable>();
  /** The set of runs changed (added, removed). */
  readonly onDidChangeRuns = this.runsChanged.event;
  /** One run's content changed (new steps, status). */
  readonly onDidChangeRun = this.runChanged.event;
  /** A trainer started, paused, resumed or exited. */
  readonly onDidChangeLive = this.liveChanged.event;

  constructor(
    private readonly workspaceState: vscode.Memento,
    private readonly log: vscode.LogOutputChannel,
    /** Where runs go when no folder is open (the extension's global storage). */
    private readonly fallbackRunsFolder: string,
    /**
     * Where readers keep step indexes on disk (never a run folder): by default beside the
     * fallback runs folder, i.e. in the extension's global storage, so that a window reload
     * filters a big run from its indexes instead of reading every step file again.
     */
    private readonly indexCacheDir: string = path.join(path.dirname(fallbackRunsFolder), STEP_INDEX_FOLDER),
  ) {
    super();
    this.register({ dispose: () => this.runsFolderWatcher?.dispose() });
    this.register({ dispose: () => [...this.attachedWatchers.values()].forEach((w) => w.dispose()) });
    this.register(vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('mgrpo.runsFolder')) void this.discover();
    }));
  }

  /** The runs folder: the setting, resolved against the first workspace folder, else the fallback. */
  runsFolder(): string {
    return settings.runsFolder() ?? this.fallbackRunsFolder;
  }

  all(): RunSession[] {
    return [...this.sessions.values()].sort((a, b) => createdOf(b).localeCompare(createdOf(a)));
  }

  get(runDir: string): RunSession | undefined {
    return this.sessions.get(path.resolve(runDir));
  }

  /** Runs with a live trainer started in this window. */
  live(): RunSession[] {
    return this.all().filter((s) => s.hasLiveTrainer);
  }

  private discovering: Promise<void> = Promise.resolve();

  /** Resolves once the scans asked for so far are done. */
  discovered(): Promise<void> {
    return this.discovering;
  }

  /** Re-scans the runs folder and the attached list; keeps sessions that still exist. */
  discover(): Promise<void> {
    // One scan at a time: watcher events and settings changes can arrive together.
    this.discovering = this.discovering.then(() => this.scan(), () => this.scan());
    return this.discovering;
  }

  private async scan(): Promise<void> {
    if (this.isDisposed) return;
    const runsFolder = this.runsFolder();
    const found = new Map<string, RunSession['origin']>();
    const hidden = new Set(this.hiddenDirs());
    if (runsFolder) {
      for (const dir of await listRunDirs(runsFolder)) if (!hidden.has(dir)) found.set(dir, 'runs-folder');
      this.watchRunsFolder(runsFolder);
    }
    for (const dir of this.attachedDirs()) {
      if (!found.has(dir) && fs.existsSync(path.join(dir, RunPaths.manifest))) found.set(dir, 'attached');
    }
    let changed = false;
    for (const [dir, session] of this.sessions) {
      // Keep runs with a live trainer of this window, wherever their folder is; drop the rest
      // once their folder (or its run.json) is gone or they were removed from the view.
      if (session.hasLiveTrainer || found.has(dir)) continue;
      if (session.origin === 'started' && !hidden.has(dir) && fs.existsSync(dir)) continue;
      this.forget(dir, session);
      changed = true;
    }
    const opening: Promise<void>[] = [];
    for (const [dir, origin] of found) {
      if (!this.sessions.has(dir)) {
        opening.push(this.add(dir, origin).then(() => undefined));
        changed = true;
      }
    }
    await Promise.all(opening);
    if (changed) this.runsChanged.fire();
  }

  /** Adds a run directory chosen by the user; remembered for this workspace. */
  async attach(runDir: string): Promise<RunSession> {
    const dir = path.resolve(runDir);
    const attached = this.attachedDirs();
    if (!attached.includes(dir)) await this.workspaceState.update(ATTACHED_RUNS_KEY, [...attached, dir]);
    if (this.hiddenDirs().includes(dir)) await this.workspaceState.update(HIDDEN_RUNS_KEY, this.hiddenDirs().filter((d) => d !== dir));
    const existing = this.sessions.get(dir);
    if (existing) return existing;
    const session = await this.add(dir, 'attached');
    this.runsChanged.fire();
    return session;
  }

  /** Registers a run this window is about to start (run.json appears once the trainer is up). */
  addStarted(runDir: string): RunSession {
    const dir = path.resolve(runDir);
    const session = this.track(new RunSession(dir, 'started', this.sessionReaderOptions, this.onMalformed));
    this.runsChanged.fire();
    return session;
  }

  notifyLiveChanged(): void {
    this.liveChanged.fire();
  }

  /**
   * Remove from View: the run leaves the Runs view and is not listed again (its files stay). A
   * run whose trainer this window runs is refused: stop it first.
   */
  async remove(runDir: string): Promise<void> {
    const dir = path.resolve(runDir);
    const session = this.sessions.get(dir);
    if (session?.hasLiveTrainer) throw new Error(`run ${session.name} is still training here; stop it first`);
    await this.workspaceState.update(ATTACHED_RUNS_KEY, this.attachedDirs().filter((d) => d !== dir));
    if (!this.hiddenDirs().includes(dir)) await this.workspaceState.update(HIDDEN_RUNS_KEY, [...this.hiddenDirs(), dir]);
    if (session) {
      this.forget(dir, session);
      this.runsChanged.fire();
    }
  }

  /**
   * Disposes a session: its following, its watcher and (through it) its reader's caches. A run whose
   * folder is gone also loses its step indexes on disk (a run only removed from the view keeps them).
   */
  private forget(dir: string, session: RunSession): void {
    this.sessions.delete(dir);
    this.attachedWatchers.get(dir)?.dispose();
    this.attachedWatchers.delete(dir);
    session.dispose();
    if (!fs.existsSync(dir)) {
      fs.promises.rm(runCacheFolder(this.indexCacheDir, dir), { recursive: true, force: true })
        .catch((error: unknown) => this.log.warn(`step indexes of ${dir}: could not remove them: ${errorText(error)}`));
    }
  }

  override dispose(): void {
    for (const session of this.sessions.values()) session.dispose();
    this.sessions.clear();
    super.dispose();
  }

  private async add(dir: string, origin: RunSession['origin']): Promise<RunSession> {
    const session = this.track(new RunSession(dir, origin, this.sessionReaderOptions, this.onMalformed));
    if (origin === 'attached') this.watchAttached(dir, session);
    await session.open();
    return session;
  }

  /** What a run's reader may hold, from the settings of the moment, and where its indexes go. */
  private readonly sessionReaderOptions = (): RunReaderOptions => ({ ...readerOptions(), indexCacheDir: this.indexCacheDir });

  private track(session: RunSession): RunSession {
    this.sessions.get(session.runDir)?.dispose();
    this.sessions.set(session.runDir, session);
    session.register(session.onDidChange((change) => {
      if (change.gone && this.sessions.get(session.runDir) === session) {
        this.forget(session.runDir, session);
        this.log.info(`[${session.name}] its folder ${session.runDir} is gone; removed from the Runs view`);
        this.runsChanged.fire();
        return;
      }
      this.runChanged.fire(change);
    }));
    return session;
  }

  /** Every malformed line goes to the log with where it is; the first ones of a run also to a warning. */
  private readonly onMalformed = (session: RunSession, found: Malformed[], first: boolean): void => {
    for (const m of found) this.log.warn(`[${session.name}] skipped malformed line ${m.file}:${m.line}: ${m.message}`);
    if (!first) return;
    void vscode.window.showWarningMessage(
      vscode.l10n.t('MGRPO: run "{0}" has malformed lines ({1} so far); they are skipped. The Runs view counts them; the log says where.', session.name, found.length),
      vscode.l10n.t('Show Log'),
    ).then((choice) => {
      if (choice) this.log.show(true);
    });
  };

  private attachedDirs(): string[] {
    return this.workspaceState.get<string[]>(ATTACHED_RUNS_KEY, []);
  }

  private hiddenDirs(): string[] {
    return this.workspaceState.get<string[]>(HIDDEN_RUNS_KEY, []);
  }

  /** An attached run's run.json: rewritten (resumed elsewhere) or deleted, alone or with its folder. */
  private watchAttached(dir: string, session: RunSession): void {
    this.attachedWatchers.get(dir)?.dispose();
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dir), RunPaths.manifest));
    const touched = () => void session.manifestTouched();
    watcher.onDidChange(touched);
    watcher.onDidCreate(touched);
    watcher.onDidDelete(touched);
    // A folder deleted whole is one event, for the folder, which no pattern inside it matches.
    const folder = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(dir)), path.basename(dir)), true, true, false);
    folder.onDidDelete(touched);
    this.attachedWatchers.set(dir, vscode.Disposable.from(watcher, folder));
  }

  private watchRunsFolder(runsFolder: string): void {
    this.runsFolderWatcher?.dispose();
    // run.json appearing or disappearing in a child folder = a run added or deleted (e.g. by the
    // CLI); rewritten = a status change, e.g. a finished run resumed from the command line.
    const pattern = new vscode.RelativePattern(vscode.Uri.file(runsFolder), `*/${RunPaths.manifest}`);
    const watcher = vscode.workspace.createFileSystemWatcher(pattern);
    watcher.onDidCreate(() => void this.discover());
    watcher.onDidDelete(() => void this.discover());
    watcher.onDidChange((uri) => void this.get(path.dirname(uri.fsPath))?.manifestTouched());
    // A run folder deleted whole is one event, for the folder, which `*/run.json` does not match.
    const folders = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(runsFolder), '*'), true, true, false);
    folders.onDidDelete(() => void this.discover());
    this.runsFolderWatcher = vscode.Disposable.from(watcher, folders);
  }
}

/** What a run's reader may hold, from the settings of the moment. */
function readerOptions(): RunReaderOptions {
  return { maxCachedSteps: settings.maxCachedSteps(), maxLineBytes: settings.maxLineBytes() };
}

async function listRunDirs(runsFolder: string): Promise<string[]> {
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(runsFolder, { withFileTypes: true });
  } catch {
    return []; // no runs folder yet
  }
  return entries
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(runsFolder, e.name, RunPaths.manifest)))
    .map((e) => path.resolve(runsFolder, e.name));
}

function createdOf(session: RunSession): string {
  // Runs still starting (no manifest yet) sort first.
  return session.reader?.manifest.created ?? '9999';
}
