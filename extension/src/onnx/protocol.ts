// Messages between the extension host (host.ts) and the runtime process (runtimeProcess.ts). Plain JSON over
// the child process's IPC channel: every request has an id, answered by one reply with that id (and, for
// long requests, progress messages before it); a cancel names the request it ends.

import type { SessionSettings } from './exportLoader';

export interface ScoreRequest {
  kind: 'score';
  id: number;
  /** Export folder (CHECKPOINT/onnx). */
  folder: string;
  /** Encoded with the tokenizer's special tokens (BOS), as the trainer encodes prompts. */
  prompt: string;
  /** Encoded without special tokens and scored token by token given the prompt. */
  completion: string;
}

export interface SampleRequest {
  kind: 'sample';
  id: number;
  folder: string;
  prompt: string;
  /** Completions to draw (one batch of this many rows). */
  count: number;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  greedy: boolean;
  seed: number;
  /** Tokens that end a completion instead of the export's stop tokens; [] samples every row to maxNewTokens. */
  stopIds?: number[];
}

export interface CancelRequest {
  kind: 'cancel';
  /** The request to end. */
  id: number;
}

export interface ConfigureRequest {
  kind: 'configure';
  id: number;
  settings: SessionSettings;
}

export type RuntimeRequest = ScoreRequest | SampleRequest | CancelRequest | ConfigureRequest;

export interface ScoredToken {
  /** Character span of the token in the completion. */
  start: number;
  end: number;
  logprob: number;
  entropy: number;
}

export interface ScoreResult {
  checkpoint: string;
  promptTokens: number;
  tokens: ScoredToken[];
}

export interface SampledText {
  text: string;
  tokenCount: number;
  /** Ended with a stop token (not cut at maxNewTokens). */
  stopped: boolean;
  logprobs: number[];
}

export interface SampleResult {
  checkpoint: string;
  completions: SampledText[];
}

export interface RuntimeError {
  /** ExportProblem codes, 'cancelled', or 'failed' for anything else. */
  code: 'missing' | 'broken' | 'stale' | 'mismatch' | 'cancelled' | 'failed';
  message: string;
}

export type RuntimeReply =
  | { id: number; kind: 'result'; result: unknown }
  | { id: number; kind: 'error'; error: RuntimeError }
  | { id: number; kind: 'progress'; done: number; total: number };
