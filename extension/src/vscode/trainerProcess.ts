import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { encodeCommand, LineSplitter, parseEvent } from '../format/protocol';
import type { TrainerCommand, TrainerEvent } from '../format/types';
import { errorText } from '../format/errorText';
import { Disposable, disposableFrom } from './disposable';
import { LogLineSplitter } from './logLines';
import { OWN_PROCESS_GROUP } from './processTree';
import { shutdownRungs, SignalLadder, stopRungs } from './stopLadder';
import { trainerCommandLine, type TrainerSource } from '../model/trainerCommand';

export type { TrainerSource } from '../model/trainerCommand';

export interface TrainerLaunch {
  python: string;
  /** The extension's install folder; its `trainer/` holds the `mgrpo` package. */
  extensionRoot: string;
  /** Also the working directory: nothing of the workspace's is importable from there. */
  runDir: string;
  source: TrainerSource;
  /** Processes on this machine (`mgrpo.processesPerNode`): more than 1 launches them through torchrun. */
  processesPerNode?: number;
}

/**
 * The environment of every `python -m mgrpo` the extension starts (training, step values, exports).
 * A workspace's own mgrpo/, json.py or torch.py must never be imported in place of the real
 * ones: the run folder is the working directory, PYTHONSAFEPATH keeps it (and the script's
 * folder) off sys.path, and PYTHONPATH is the trainer's folder alone, not the user's.
 */
export function trainerEnvironment(extensionRoot: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PYTHONPATH: path.join(extensionRoot, 'trainer'),
    PYTHONSAFEPATH: '1',
    PYTHONUNBUFFERED: '1',
    PYTHONIOENCODING: 'utf-8',
  };
}

export type TrainerState = 'starting' | 'running' | 'paused' | 'stopping' | 'exited';

export interface TrainerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the extension asked it to stop (stop command, cancel, deactivate). */
  stopRequested: boolean;
  /** Status from the trainer's `finished` event, when it got that far. */
  finishedStatus?: 'finished' | 'stopped' | 'failed';
  /** Message of the last `error` event, or the spawn error. */
  errorMessage?: string;
  /** The last lines of stderr, for the crash message. */
  lastLogLines: string[];
}

const LOG_TAIL_LINES = 40;

/**
 * The trainer child process of one run: `python -m mgrpo train ...`, events parsed from stdout,
 * stderr copied to the log channel, commands written to stdin. The extension owns it: disposing
 * this kills it, and a process-exit hook kills it if the extension host goes down without that.
 */
export class TrainerProcess extends Disposable {
  private readonly child: ChildProcess;
  private readonly eventEmitter = this.register(new vscode.EventEmitter<TrainerEvent>());
  private readonly stateEmitter = this.register(new vscode.EventEmitter<TrainerState>());
  private readonly stdoutLines = new LineSplitter();
  private readonly stderrLines = new LogLineSplitter();
  private readonly logTail: string[] = [];
  private stopRequested = false;
  private finishedStatus?: 'finished' | 'stopped' | 'failed';
  private errorMessage?: string;
  private readonly ladder: SignalLadder;
  private currentState: TrainerState = 'starting';
  private lastStepSeconds: number | undefined;
  readonly exited: Promise<TrainerExit>;
  readonly onEvent = this.eventEmitter.event;
  readonly onDidChangeState = this.stateEmitter.event;
  readonly commandLine: string[];

  constructor(readonly launch: TrainerLaunch, private readonly log: vscode.LogOutputChannel, readonly label: string) {
    super();
    this.commandLine = trainerCommandLine({ python: launch.python, source: launch.source, runDir: launch.runDir,
      processesPerNode: launch.processesPerNode ?? 1 });
    const env = trainerEnvironment(launch.extensionRoot);
    this.log.info(`[${label}] starting: ${this.commandLine.map(quoteArg).join(' ')}`);
    this.child = spawn(this.commandLine[0], this.commandLine.slice(1), {
      cwd: launch.runDir,
      env,
      // Pipes still: when the host dies in any way, stdin closes and --stop-on-stdin-close stops the run.
      stdio: ['pipe', 'pipe', 'pipe'],
      // POSIX: the trainer leads a process group of its own, so the ladder's SIGKILL can end all of it
      // (torchrun and its workers included, see processTree.ts) and not the trainer alone.
      detached: OWN_PROCESS_GROUP,
      windowsHide: true,
    });

    this.child.stdout!.setEncoding('utf8');
    this.child.stderr!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => this.onStdout(this.stdoutLines.push(chunk)));
    this.child.stderr!.on('data', (chunk: string) => this.onStderr(this.stderrLines.push(chunk)));
    // A trainer that exits while we write a command makes stdin emit EPIPE; the exit handler reports it.
    this.child.stdin!.on('error', (error) => this.log.debug(`[${label}] stdin: ${error.message}`));
    this.ladder = new SignalLadder(this.child, (rung) => this.log.warn(`[${label}] ${rung.message}`), {
      tree: OWN_PROCESS_GROUP,
      onSweep: (killed) => this.log.warn(`[${label}] it exited leaving ${killed} of its processes running; killed them`),
    });

    this.exited = new Promise<TrainerExit>((resolve) => {
      let settled = false;
      const settle = (code: number | null, signal: NodeJS.Signals | null) => {
        if (settled) return;
        settled = true;
        this.onStdout(this.stdoutLines.flush());
        this.onStderr(this.stderrLines.flush());
        this.ladder.cancel();
        this.setState('exited');
        const exit: TrainerExit = {
          code,
          signal,
          stopRequested: this.stopRequested,
          finishedStatus: this.finishedStatus,
          errorMessage: this.errorMessage,
          lastLogLines: [...this.logTail],
        };
        this.log.info(`[${label}] exited with ${signal ? `signal ${signal}` : `code ${code}`}`);
        resolve(exit);
      };
      this.child.on('error', (error) => {
        // Spawn failures (ENOENT, EACCES) never produce 'exit'.
        this.errorMessage = `could not start ${launch.python}: ${error.message}`;
        this.log.error(`[${label}] ${this.errorMessage}`);
        if (this.child.pid === undefined) settle(null, null);
      });
      this.child.on('close', (code, signal) => settle(code, signal));
    });

    // Last resort: the extension host exits without deactivate() finishing (crash, reload).
    const killOnHostExit = () => this.ladder.fire('SIGKILL');
    process.once('exit', killOnHostExit);
    this.register(disposableFrom(() => process.removeListener('exit', killOnHostExit)));
    this.register(disposableFrom(() => this.killNow()));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get state(): TrainerState {
    return this.currentState;
  }

  get isAlive(): boolean {
    return this.currentState !== 'exited';
  }

  send(command: TrainerCommand['command']): void {
    if (!this.isAlive || !this.child.stdin?.writable) return;
    this.log.info(`[${this.label}] sending ${command}`);
    this.child.stdin.write(encodeCommand({ command }));
  }

  pause(): void {
    this.send('pause');
  }

  resume(): void {
    this.send('resume');
  }

  /**
   * Asks the trainer to checkpoint and exit; escalates to SIGTERM (which the trainer treats like
   * stop) and then SIGKILL if it does not exit in time. Resolves when it has exited.
   */
  stop(): Promise<TrainerExit> {
    if (this.isAlive && !this.stopRequested) {
      this.stopRequested = true;
      this.setState('stopping');
      this.send('stop');
      this.ladder.climb(stopRungs(this.lastStepSeconds));
    }
    return this.exited;
  }

  /**
   * For shutdown, when there is no time to finish a step: SIGTERM (the trainer queues a stop),
   * then the shutdown rungs within `graceMs`. Resolves when it has exited or was killed.
   */
  async terminate(graceMs: number): Promise<void> {
    if (!this.isAlive) return;
    this.stopRequested = true;
    this.setState('stopping');
    this.ladder.fire('SIGTERM');
    this.ladder.climb(shutdownRungs(graceMs));
    await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, graceMs + 200))]);
  }

  private killNow(): void {
    if (!this.isAlive) return;
    this.stopRequested = true;
    // dispose() is synchronous and may be the last thing the host does: two SIGTERMs, then SIGKILL.
    this.ladder.fire('SIGTERM');
    const second = setTimeout(() => this.ladder.fire('SIGTERM'), 500);
    const kill = setTimeout(() => this.ladder.fire('SIGKILL'), 2000);
    second.unref();
    kill.unref();
    void this.exited.then(() => {
      clearTimeout(second);
      clearTimeout(kill);
    });
  }

  private setState(state: TrainerState): void {
    if (this.currentState === state || this.currentState === 'exited') return;
    // 'stopping' is sticky until exit: a late 'paused' or 'resumed' event must not undo it.
    if (this.currentState === 'stopping' && state !== 'exited') return;
    this.currentState = state;
    this.stateEmitter.fire(state);
  }

  private onStdout(lines: string[]): void {
    for (const line of lines) {
      if (!line.trim()) continue;
      let event: TrainerEvent;
      try {
        event = parseEvent(line);
      } catch (error) {
        this.log.warn(`[${this.label}] ignored a stdout line that is not a protocol event (${errorText(error)}): ${line.slice(0, 300)}`);
        continue;
      }
      this.track(event);
      this.eventEmitter.fire(event);
    }
  }

  private track(event: TrainerEvent): void {
    switch (event.event) {
      case 'step':
        // Absent or not a number in a trainer of another version: stopRungs falls back to its default.
        this.lastStepSeconds = event.metrics?.step_seconds ?? undefined;
        if (this.currentState === 'starting') this.setState('running');
        break;
      case 'started':
        if (this.currentState === 'starting') this.setState('running');
        break;
      case 'paused':
        this.setState('paused');
        break;
      case 'resumed':
        this.setState('running');
        break;
      case 'finished':
        this.finishedStatus = event.status;
        break;
      case 'log':
        if (event.level === 'debug') this.log.debug(`[${this.label}] ${event.message}`);
        else this.log.info(`[${this.label}] ${event.message}`);
        break;
      case 'warning':
        this.log.warn(`[${this.label}] ${event.message}`);
        break;
      case 'error':
        this.errorMessage = event.message;
        this.log.error(`[${this.label}] ${event.message}${event.detail ? `\n${event.detail}` : ''}`);
        break;
      default:
        break;
    }
  }

  private onStderr(lines: string[]): void {
    for (const line of lines) {
      this.logTail.push(line);
      if (this.logTail.length > LOG_TAIL_LINES) this.logTail.shift();
      this.log.info(`[${this.label}] ${line}`);
    }
  }
}

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
