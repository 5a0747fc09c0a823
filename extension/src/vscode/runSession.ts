import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Malformed } from '../format/jsonlFollower';
import { RunReader, type RunReaderOptions } from '../format/runReader';
import { RunPaths, type RunStatus } from '../format/types';
import { Disposable, disposableFrom } from './disposable';
import type { TrainerProcess } from './trainerProcess';
import { errorText } from '../format/errorText';

/** How often a growing run is re-read. The reader only reads appended bytes, so this is cheap. */
const FOLLOW_INTERVAL_MS = 1000;

export interface RunChange {
  session: RunSession;
  manifestChanged: boolean;
  newSteps: number[];
  /** The run folder is gone (deleted, moved, an unmounted disk): the registry drops the session. */
  gone?: boolean;
}

/**
 * One run directory as the extension sees it: its reader (once run.json exists), live following
 * while it grows, and the trainer process when this window started it. Disposing it stops the
 * following and (through the trainer it owns) kills a live trainer: this is the run's lifetime.
 */
export class RunSession extends Disposable {
  private readerInstance?: RunReader;
  private openError?: string;
  private following?: NodeJS.Timeout;
  private polling = false;
  private reportedMalformed = 0;
  private trainerInstance?: TrainerProcess;
  private readonly changeEmitter = this.register(new vscode.EventEmitter<RunChange>());
  readonly onDidChange = this.changeEmitter.event;

  constructor(
    readonly runDir: string,
    /** Where it came from: the runs folder, "Open Run Folder...", or started here. */
    readonly origin: 'runs-folder' | 'attached' | 'started',
    /** Read when the reader is opened: the settings of the moment (caches, line cap). */
    private readonly readerOptions: () => RunReaderOptions,
    /** Told about malformed lines as they are found; `first` is true for the run's first ones. */
    private readonly onMalformed: (session: RunSession, found: Malformed[], first: boolean) => void,
  ) {
    super();
    this.register(disposableFrom(() => clearInterval(this.following)));
  }

  get reader(): RunReader | undefined {
    return this.readerInstance;
  }

  get trainer(): TrainerProcess | undefined {
    return this.trainerInstance;
  }

  /** The manifest's status, or 'starting' while a trainer we launched has not written run.json. */
  get status(): RunStatus | 'starting' | 'unreadable' {
    if (this.readerInstance) return this.readerInstance.manifest.status;
    return this.openError && !this.trainerInstance?.isAlive ? 'unreadable' : 'starting';
  }

  get error(): string | undefined {
    return this.openError;
  }

  get name(): string {
    const manifest = this.readerInstance?.manifest;
    return manifest?.name || manifest?.run_id || path.basename(this.runDir);
  }

  /** True when this window's trainer for it is alive. */
  get hasLiveTrainer(): boolean {
    return this.trainerInstance?.isAlive ?? false;
  }

  /** Running or paused according to its manifest (possibly written by a trainer elsewhere). */
  get isGrowing(): boolean {
    if (this.trainerInstance) return this.trainerInstance.isAlive;
    const status = this.status;
    return (status === 'running' || status === 'paused' || status === 'starting') && !this.endedWithoutStatus;
  }

  /**
   * True when run.json says running or paused but its trainer is gone (killed before it could
   * write its final status): this window's trainer has exited, or — for runs in the local runs
   * folder — the pid in run.json is not a live process. Attached runs may come from another
   * machine, so their pid says nothing here.
   */
  get endedWithoutStatus(): boolean {
    const manifest = this.readerInstance?.manifest;
    if (!manifest || (manifest.status !== 'running' && manifest.status !== 'paused')) return false;
    if (this.trainerInstance) return !this.trainerInstance.isAlive;
    return this.origin !== 'attached' && typeof manifest.pid === 'number' && !isProcessAlive(manifest.pid);
  }

  attachTrainer(trainer: TrainerProcess): void {
    this.trainerInstance = this.register(trainer);
    this.register(trainer.onEvent(() => void this.poll()));
    void trainer.exited.then(() => this.poll());
    this.startFollowing();
  }

  /** Opens the reader (or reports why not) and follows the run while it is growing. */
  async open(): Promise<void> {
    await this.poll();
    if (this.isGrowing) this.startFollowing();
  }

  /**
   * run.json changed on disk (a watcher saw it): re-read, and follow again if the run grows again,
   * e.g. resumed from the command line after it had finished.
   */
  async manifestTouched(): Promise<void> {
    await this.poll();
    if (this.isGrowing) this.startFollowing();
  }

  /** True once the run folder has disappeared (and no trainer of this window writes it). */
  get isGone(): boolean {
    return this.gone;
  }
  private gone = false;

  /** Re-reads what the trainer appended since the last poll; fires onDidChange when something changed. */
  async poll(): Promise<void> {
    if (this.polling || this.isDisposed) return;
    this.polling = true;
    try {
      if (!this.trainerInstance?.isAlive && !fs.existsSync(this.runDir)) {
        this.gone = true;
        this.stopFollowing();
        this.fire({ session: this, manifestChanged: true, newSteps: [], gone: true });
        return;
      }
      if (!this.readerInstance) {
        if (!fs.existsSync(path.join(this.runDir, RunPaths.manifest))) {
          if (!this.trainerInstance?.isAlive) this.openError = `no ${RunPaths.manifest} in ${this.runDir}`;
          return;
        }
        this.readerInstance = await RunReader.open(this.runDir, this.readerOptions());
        this.openError = undefined;
        this.fire({ session: this, manifestChanged: true, newSteps: this.readerInstance.steps() });
      } else {
        const { manifestChanged, newMetrics, newSteps, removedSteps, metricsRestarted } = await this.readerInstance.refresh();
        if (manifestChanged || newMetrics.length > 0 || newSteps.length > 0 || removedSteps.length > 0 || metricsRestarted) {
          // A resumed run truncates back to its checkpoint: removed steps redraw the run like a status change.
          this.fire({ session: this, manifestChanged: manifestChanged || removedSteps.length > 0 || metricsRestarted, newSteps });
        }
      }
      this.reportMalformed();
    } catch (error) {
      // A run.json being replaced or a half-copied folder: say why in the tree, try again next poll.
      this.openError = errorText(error);
      this.fire({ session: this, manifestChanged: true, newSteps: [] });
    } finally {
      this.polling = false;
      if (!this.isGrowing && this.following && this.readerInstance) this.stopFollowing();
    }
  }

  startFollowing(): void {
    if (this.following || this.isDisposed) return;
    this.following = setInterval(() => void this.poll(), FOLLOW_INTERVAL_MS);
  }

  private stopFollowing(): void {
    clearInterval(this.following);
    this.following = undefined;
  }

  /**
   * Reports malformed lines found since the last report (polls find them in metrics.jsonl, the
   * Runs view finds them when it parses a step). Returns true when there were new ones.
   */
  reportMalformed(): boolean {
    const all = this.readerInstance?.malformed ?? [];
    if (all.length <= this.reportedMalformed) return false;
    const found = all.slice(this.reportedMalformed);
    const first = this.reportedMalformed === 0;
    this.reportedMalformed = all.length;
    this.onMalformed(this, found, first);
    return true;
  }

  private fire(change: RunChange): void {
    if (!this.isDisposed) this.changeEmitter.fire(change);
  }
}

/** Whether a process exists (signal 0); a process of another user counts. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
