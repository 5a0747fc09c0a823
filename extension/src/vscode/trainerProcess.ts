import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { encodeCommand, LineSplitter, parseEvent } from '../format/protocol';
import type { TrainerCommand, TrainerEvent } from '../format/types';
import { Disposable, disposableFrom } from './disposable';

/** What to train: the embedded demo preset or a config file. */
export type TrainerSource = { kind: 'preset'; preset: 'demo' } | { kind: 'config'; file: string };

export interface TrainerLaunch {
  python: string;
  /** The extension's install folder; its `trainer/` holds the `mgrpo` package. */
  extensionRoot: string;
  runDir: string;
  source: TrainerSource;
  cwd: string;
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

/**
 * Stop escalation. The trainer acts on "stop" between steps (then checkpoints), so the first wait
 * covers the step in progress: at least STOP_MIN_WAIT_MS, or twice the last step's duration plus
 * the checkpoint allowance when steps are slow. Then SIGTERM (the trainer queues a stop, in case its
 * stdin reader is stuck), then a second SIGTERM (it exits at once; its files stay valid, being
 * written whole), and SIGKILL as the last resort.
 */
const STOP_MIN_WAIT_MS = 60_000;
const CHECKPOINT_ALLOWANCE_MS = 30_000;
const SIGTERM_REPEAT_MS = 10_000;
const SIGKILL_AFTER_MS = 5_000;
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
  private readonly stderrLines = new LineSplitter();
  private readonly logTail: string[] = [];
  private stopRequested = false;
  private finishedStatus?: 'finished' | 'stopped' | 'failed';
  private errorMessage?: string;
  private escalation?: NodeJS.Timeout;
  private currentState: TrainerState = 'starting';
  private lastStepSeconds = 0;
  readonly exited: Promise<TrainerExit>;
  readonly onEvent = this.eventEmitter.event;
  readonly onDidChangeState = this.stateEmitter.event;
  readonly commandLine: string[];

  constructor(readonly launch: TrainerLaunch, private readonly log: vscode.LogOutputChannel, readonly label: string) {
    super();
    const trainerRoot = path.join(launch.extensionRoot, 'trainer');
    const sourceArgs = launch.source.kind === 'preset'
      ? ['--preset', launch.source.preset]
      : ['--config', launch.source.file];
    // --stop-on-stdin-close: if this extension host dies in any way, the pipe closes and the trainer
    // checkpoints and exits instead of outliving it.
    this.commandLine = [launch.python, '-m', 'mgrpo', 'train', ...sourceArgs, '--run-dir', launch.runDir, '--stop-on-stdin-close'];
    const env = {
      ...process.env,
      PYTHONPATH: [trainerRoot, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
      PYTHONUNBUFFERED: '1',
      PYTHONIOENCODING: 'utf-8',
    };
    this.log.info(`[${label}] starting: ${this.commandLine.map(quoteArg).join(' ')}`);
    this.child = spawn(this.commandLine[0], this.commandLine.slice(1), {
      cwd: launch.cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });

    this.child.stdout!.setEncoding('utf8');
    this.child.stderr!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => this.onStdout(this.stdoutLines.push(chunk)));
    this.child.stderr!.on('data', (chunk: string) => this.onStderr(this.stderrLines.push(chunk)));
    // A trainer that exits while we write a command makes stdin emit EPIPE; the exit handler reports it.
    this.child.stdin!.on('error', (error) => this.log.debug(`[${label}] stdin: ${error.message}`));

    this.exited = new Promise<TrainerExit>((resolve) => {
      let settled = false;
      const settle = (code: number | null, signal: NodeJS.Signals | null) => {
        if (settled) return;
        settled = true;
        this.onStdout(this.stdoutLines.flush());
        this.onStderr(this.stderrLines.flush());
        clearTimeout(this.escalation);
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
    const killOnHostExit = () => this.signal('SIGKILL');
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
      const firstWaitMs = Math.max(STOP_MIN_WAIT_MS, 2 * this.lastStepSeconds * 1000 + CHECKPOINT_ALLOWANCE_MS);
      this.escalate([
        [firstWaitMs, 'SIGTERM', `did not stop within ${Math.round(firstWaitMs / 1000)} s; sending SIGTERM`],
        [SIGTERM_REPEAT_MS, 'SIGTERM', 'still running after SIGTERM; sending a second SIGTERM (exit now)'],
        [SIGKILL_AFTER_MS, 'SIGKILL', 'still running after two SIGTERMs; killing it'],
      ]);
    }
    return this.exited;
  }

  /** Runs the signal ladder: each rung waits its delay (after the previous rung), then signals. */
  private escalate(ladder: [number, NodeJS.Signals, string][]): void {
    const [rung, ...rest] = ladder;
    if (!rung) return;
    const [delayMs, signal, message] = rung;
    this.escalation = setTimeout(() => {
      if (!this.isAlive) return;
      this.log.warn(`[${this.label}] ${message}`);
      this.signal(signal);
      this.escalate(rest);
    }, delayMs);
  }

  /**
   * For shutdown, when there is no time to finish a step: SIGTERM (the trainer queues a stop),
   * a second SIGTERM halfway through the grace period (it exits at once, its files valid), SIGKILL
   * at the end. Resolves when it has exited or was killed.
   */
  async terminate(graceMs: number): Promise<void> {
    if (!this.isAlive) return;
    this.stopRequested = true;
    this.setState('stopping');
    clearTimeout(this.escalation);
    this.signal('SIGTERM');
    this.escalate([
      [graceMs / 2, 'SIGTERM', 'shutting down: second SIGTERM'],
      [graceMs / 2, 'SIGKILL', 'shutting down: still running; killing it'],
    ]);
    await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, graceMs + 200))]);
  }

  private killNow(): void {
    if (!this.isAlive) return;
    this.stopRequested = true;
    // dispose() is synchronous and may be the last thing the host does: two SIGTERMs, then SIGKILL.
    this.signal('SIGTERM');
    const second = setTimeout(() => this.signal('SIGTERM'), 500);
    const kill = setTimeout(() => this.signal('SIGKILL'), 2000);
    second.unref();
    kill.unref();
    void this.exited.then(() => {
      clearTimeout(second);
      clearTimeout(kill);
    });
  }

  private signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined) {
      try {
        this.child.kill(signal);
      } catch {
        // Already gone.
      }
    }
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
        this.lastStepSeconds = event.metrics.step_seconds;
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

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
