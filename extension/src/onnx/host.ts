// The extension host's side of the two checkpoint backends. Both speak protocol.ts: the local ONNX runtime in
// a forked Node process over IPC (OnnxHost), and the trainer's PyTorch server `python -m mgrpo serve` over JSON
// lines on stdin/stdout (PythonBackend), for checkpoints too big to export. RequestChannel is what they share:
// request ids, progress, cancellation, and failing the requests in flight when the process dies (the next
// request starts a fresh one).

import { fork, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { SessionSettings } from './exportLoader';
import type { RuntimeError, RuntimeReply, RuntimeRequest, SampleRequest, SampleResult, ScoreRequest, ScoreResult } from './protocol';

/** A request that did not produce a result; `code` as in RuntimeError, plus 'exited' for a dead process. */
export class RuntimeFailure extends Error {
  constructor(readonly code: RuntimeError['code'] | 'exited', message: string) {
    super(message);
    this.name = 'RuntimeFailure';
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  progress?: (done: number, total: number) => void;
}

type Body<T> = T extends { id: number } ? Omit<T, 'id'> : never;
export type ScoreBody = Body<ScoreRequest>;
export type SampleBody = Body<SampleRequest>;

/** What the commands need of a backend. */
export interface CheckpointBackend {
  score(request: ScoreBody, signal?: AbortSignal): Promise<ScoreResult>;
  sample(request: SampleBody, signal?: AbortSignal, progress?: (done: number, total: number) => void): Promise<SampleResult>;
  dispose(): void;
}

export abstract class RequestChannel implements CheckpointBackend {
  private child: ChildProcess | undefined;
  protected nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(protected readonly log?: (line: string) => void, private readonly name = 'ONNX runtime') {}

  /** Starts the process; replies must reach `onReply`. */
  protected abstract launch(): ChildProcess;
  protected abstract transmit(child: ChildProcess, request: RuntimeRequest): void;

  score(request: ScoreBody, signal?: AbortSignal): Promise<ScoreResult> {
    return this.request(request, signal) as Promise<ScoreResult>;
  }

  sample(request: SampleBody, signal?: AbortSignal, progress?: (done: number, total: number) => void): Promise<SampleResult> {
    return this.request(request, signal, progress) as Promise<SampleResult>;
  }

  /** The process's pid while one runs (for tests and the log). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  protected get running(): ChildProcess | undefined {
    return this.child;
  }

  dispose(): void {
    const child = this.child;
    this.child = undefined;
    child?.kill();
    this.failAll(new RuntimeFailure('exited', `the ${this.name} was shut down`));
  }

  private start(): ChildProcess {
    const child = this.launch();
    child.stderr?.on('data', (data: Buffer) => this.log?.(`[${this.name}] ${data.toString().trimEnd()}`));
    child.on('error', (error) => this.log?.(`[${this.name}] ${error.message}`));
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      this.log?.(`[${this.name}] process ${how}`);
      this.failAll(new RuntimeFailure('exited', `the ${this.name} process ${how}; the next request starts a new one`));
    });
    this.child = child;
    return child;
  }

  protected request(body: Body<RuntimeRequest>, signal?: AbortSignal, progress?: (done: number, total: number) => void): Promise<unknown> {
    if (signal?.aborted) return Promise.reject(new RuntimeFailure('cancelled', 'cancelled'));
    const child = this.child ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        if (this.child === child) this.transmit(child, { kind: 'cancel', id });
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = <T>(fn: (value: T) => void) => (value: T): void => {
        signal?.removeEventListener('abort', onAbort);
        fn(value);
      };
      this.pending.set(id, { resolve: settle(resolve), reject: settle(reject), progress });
      this.transmit(child, { ...body, id } as RuntimeRequest);
    });
  }

  protected onReply(message: RuntimeReply): void {
    const waiting = this.pending.get(message.id);
    if (!waiting) return; // the reply to a start-up configure, or to a request already failed
    if (message.kind === 'progress') {
      waiting.progress?.(message.done, message.total);
      return;
    }
    this.pending.delete(message.id);
    if (message.kind === 'result') waiting.resolve(message.result);
    else waiting.reject(new RuntimeFailure(message.error.code, message.error.message));
  }

  private failAll(error: RuntimeFailure): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const each of waiting) each.reject(error);
  }
}

export interface HostOptions {
  /** The runtime process's script: dist/onnxRuntime.js in the extension, the .ts entry under tsx in tests. */
  entry: string;
  execArgv?: string[];
  settings: SessionSettings;
  log?: (line: string) => void;
}

/** The local ONNX runtime (runtimeProcess.ts) in a forked Node process. */
export class OnnxHost extends RequestChannel {
  private settings: SessionSettings;

  constructor(private readonly options: HostOptions) {
    super(options.log);
    this.settings = options.settings;
  }

  /** New thread count or provider: sessions are rebuilt on the next request. */
  async configure(settings: SessionSettings): Promise<void> {
    this.settings = settings;
    if (this.running) await this.request({ kind: 'configure', settings });
  }

  protected launch(): ChildProcess {
    const child = fork(this.options.entry, [], {
      execArgv: this.options.execArgv ?? [],
      // In VS Code, execPath is the editor's own binary: this makes it run the script as plain Node.
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    child.stdout?.on('data', (data: Buffer) => this.log?.(`[ONNX runtime] ${data.toString().trimEnd()}`));
    child.on('message', (message: RuntimeReply) => this.onReply(message));
    child.send({ kind: 'configure', id: this.nextId++, settings: this.settings } satisfies RuntimeRequest);
    return child;
  }

  protected transmit(child: ChildProcess, request: RuntimeRequest): void {
    if (child.connected) child.send(request);
  }
}

export interface PythonBackendOptions {
  python: string;
  checkpoint: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

/** The trainer's PyTorch server (`python -m mgrpo serve`, GPU when there is one), same requests and replies. */
export class PythonBackend extends RequestChannel {
  private buffered = '';

  constructor(private readonly options: PythonBackendOptions) {
    super(options.log, 'PyTorch server');
  }

  protected launch(): ChildProcess {
    const child = spawn(this.options.python, ['-m', 'mgrpo', 'serve', '--checkpoint', this.options.checkpoint], {
      env: this.options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.buffered = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (text: string) => {
      this.buffered += text;
      let newline: number;
      while ((newline = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, newline).trim();
        this.buffered = this.buffered.slice(newline + 1);
        if (!line) continue;
        try {
          const message = JSON.parse(line) as RuntimeReply;
          if (message && typeof message.id === 'number') this.onReply(message);
        } catch {
          this.log?.(`[PyTorch server] ${line}`); // not a reply: a stray print
        }
      }
    });
    return child;
  }

  protected transmit(child: ChildProcess, request: RuntimeRequest): void {
    if (child.stdin?.writable) child.stdin.write(`${JSON.stringify(request)}\n`);
  }
}
