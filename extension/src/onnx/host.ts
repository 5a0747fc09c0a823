// The extension host's side of the local runtime: forks the runtime process on first use, sends requests,
// routes replies, progress and cancellation. If the process dies (a native fault, killed, out of memory),
// the requests in flight fail with a message saying so and the next request starts a fresh process.

import { fork } from 'node:child_process';
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

export interface HostOptions {
  /** The runtime process's script: dist/onnxRuntime.js in the extension, the .ts entry under tsx in tests. */
  entry: string;
  execArgv?: string[];
  settings: SessionSettings;
  log?: (line: string) => void;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  progress?: (done: number, total: number) => void;
}

type Body<T> = T extends { id: number } ? Omit<T, 'id'> : never;

export class OnnxHost {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private settings: SessionSettings;

  constructor(private readonly options: HostOptions) {
    this.settings = options.settings;
  }

  score(request: Body<ScoreRequest>, signal?: AbortSignal): Promise<ScoreResult> {
    return this.request(request, signal) as Promise<ScoreResult>;
  }

  sample(request: Body<SampleRequest>, signal?: AbortSignal, progress?: (done: number, total: number) => void): Promise<SampleResult> {
    return this.request(request, signal, progress) as Promise<SampleResult>;
  }

  /** New thread count or provider: sessions are rebuilt on the next request. */
  async configure(settings: SessionSettings): Promise<void> {
    this.settings = settings;
    if (this.child) await this.request({ kind: 'configure', settings });
  }

  /** The runtime process's pid while one runs (for tests and the log). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  dispose(): void {
    const child = this.child;
    this.child = undefined;
    child?.kill();
    this.failAll(new RuntimeFailure('exited', 'the ONNX runtime was shut down'));
  }

  private start(): ChildProcess {
    const child = fork(this.options.entry, [], {
      execArgv: this.options.execArgv ?? [],
      // In VS Code, execPath is the editor's own binary: this makes it run the script as plain Node.
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    child.stdout?.on('data', (data: Buffer) => this.options.log?.(`[onnx runtime] ${data.toString().trimEnd()}`));
    child.stderr?.on('data', (data: Buffer) => this.options.log?.(`[onnx runtime] ${data.toString().trimEnd()}`));
    child.on('message', (message: RuntimeReply) => this.onReply(message));
    child.on('error', (error) => this.options.log?.(`[onnx runtime] ${error.message}`));
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      this.options.log?.(`[onnx runtime] process ${how}`);
      this.failAll(new RuntimeFailure('exited', `the ONNX runtime process ${how}; the next request starts a new one`));
    });
    this.child = child;
    child.send({ kind: 'configure', id: this.nextId++, settings: this.settings } satisfies RuntimeRequest);
    return child;
  }

  private request(body: Body<RuntimeRequest>, signal?: AbortSignal, progress?: (done: number, total: number) => void): Promise<unknown> {
    if (signal?.aborted) return Promise.reject(new RuntimeFailure('cancelled', 'cancelled'));
    const child = this.child ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        if (this.child === child && child.connected) child.send({ kind: 'cancel', id } satisfies RuntimeRequest);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = <T>(fn: (value: T) => void) => (value: T): void => {
        signal?.removeEventListener('abort', onAbort);
        fn(value);
      };
      this.pending.set(id, { resolve: settle(resolve), reject: settle(reject), progress });
      child.send({ ...body, id } as RuntimeRequest);
    });
  }

  private onReply(message: RuntimeReply): void {
    const waiting = this.pending.get(message.id);
    if (!waiting) return; // the reply to the start-up configure, or to a request already failed
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
