// The runtime's work, independent of how it is reached: loaded exports (one session per folder, kept) and
// the two requests, score and sample. runtimeProcess.ts serves it over IPC; benchmarks and tests may call it
// in-process.

import type * as ort from 'onnxruntime-node';
import { DecodingCancelled, sampleCompletions, scoreTokens } from './decoding';
import { ExportProblem } from './manifest';
import { loadExport } from './exportLoader';
import type { LoadedExport, SessionSettings } from './exportLoader';
import type { RuntimeError, SampleRequest, SampleResult, ScoreRequest, ScoreResult } from './protocol';

export const DEFAULT_SETTINGS: SessionSettings = { threads: 1, executionProvider: 'cpu' };

export class RuntimeService {
  private readonly exports = new Map<string, Promise<LoadedExport>>();

  constructor(private readonly ortModule: typeof ort, private settings: SessionSettings = DEFAULT_SETTINGS) {}

  async configure(settings: SessionSettings): Promise<void> {
    if (JSON.stringify(settings) === JSON.stringify(this.settings)) return;
    this.settings = settings;
    await this.releaseAll();
  }

  /** The export in `folder`, loaded once; a failed load is forgotten so that a fixed export loads next time. */
  open(folder: string): Promise<LoadedExport> {
    let loading = this.exports.get(folder);
    if (!loading) {
      loading = loadExport(this.ortModule, folder, this.settings);
      this.exports.set(folder, loading);
      loading.catch(() => this.exports.delete(folder));
    }
    return loading;
  }

  async score(request: ScoreRequest): Promise<ScoreResult> {
    const loaded = await this.open(request.folder);
    const promptIds = loaded.tokenizer.encode(request.prompt, true);
    const completionIds = loaded.tokenizer.encode(request.completion, false);
    if (promptIds.length === 0) throw new Error('the prompt encodes to no tokens, so the first completion token has no context');
    const scores = await scoreTokens(this.ortModule, loaded.session, loaded.manifest, [...promptIds, ...completionIds]);
    const starts = loaded.tokenizer.offsets(completionIds, request.completion);
    if (!starts) throw new Error('the completion does not survive encoding and decoding with this tokenizer, so its tokens have no place in the text');
    const tokens = completionIds.map((_, index) => ({
      start: starts[index],
      end: index + 1 < starts.length ? starts[index + 1] : request.completion.length,
      logprob: scores.logprobs[promptIds.length - 1 + index],
      entropy: scores.entropies[promptIds.length - 1 + index],
    }));
    return { checkpoint: loaded.checkpoint, promptTokens: promptIds.length, tokens };
  }

  async sample(request: SampleRequest, cancelled: () => boolean, progress: (done: number, total: number) => void): Promise<SampleResult> {
    const loaded = await this.open(request.folder);
    const promptIds = loaded.tokenizer.encode(request.prompt, true);
    let step = 0;
    const completions = await sampleCompletions(this.ortModule, loaded.session, loaded.manifest, new Array(request.count).fill(promptIds), loaded.padId, {
      maxNewTokens: request.maxNewTokens,
      temperature: request.temperature,
      topP: request.topP,
      greedy: request.greedy,
      seed: request.seed,
      stopIds: request.stopIds,
      cancelled: () => {
        progress(step++, request.maxNewTokens);
        return cancelled();
      },
    });
    const stops = new Set(loaded.manifest.stop_token_ids);
    return {
      checkpoint: loaded.checkpoint,
      completions: completions.map((completion) => ({
        text: loaded.tokenizer.decode(completion.ids.filter((id) => !stops.has(id))),
        tokenCount: completion.ids.length,
        stopped: completion.stopped,
        logprobs: completion.logprobs,
      })),
    };
  }

  async releaseAll(): Promise<void> {
    const loaded = [...this.exports.values()];
    this.exports.clear();
    for (const each of loaded) await each.then((e) => e.session.release(), () => undefined);
  }
}

/** Whatever was thrown, as the reply's error. */
export function runtimeError(error: unknown): RuntimeError {
  if (error instanceof ExportProblem) return { code: error.code, message: error.message };
  if (error instanceof DecodingCancelled) return { code: 'cancelled', message: 'cancelled' };
  return { code: 'failed', message: error instanceof Error ? error.message : String(error) };
}
