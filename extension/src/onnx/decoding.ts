// Scoring and sampling on an exported checkpoint with its KV cache: the same loop as the trainer's sampler
// (trainer/mgrpo/sampling.py: left padding, position ids from the mask, log-probs of the distribution sampled
// from, greedy reporting temperature-1 log-probs), so what the editor shows is what training would have seen.

import type * as ort from 'onnxruntime-node';
import type { OnnxManifest } from './manifest';
import { pastInputNames, presentOutputNames } from './manifest';

/** What decoding needs of onnxruntime: tensors and a session (a real one; kept narrow for the types). */
export interface OrtApi {
  Tensor: typeof ort.Tensor;
}
export type Session = Pick<ort.InferenceSession, 'run'>;

/** Thrown between two forwards when the caller cancelled. */
export class DecodingCancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'DecodingCancelled';
  }
}

export interface TokenScores {
  /** log p(token | prefix) for every token after the first, at temperature 1. */
  logprobs: number[];
  /** Entropy (nats) of each of those next-token distributions. */
  entropies: number[];
}

export interface SampleOptions {
  maxNewTokens: number;
  temperature: number;
  topP: number;
  greedy: boolean;
  seed: number;
  /** Asked before every forward; true ends decoding with DecodingCancelled. */
  cancelled?: () => boolean;
  /** Tokens that end a completion (default: the manifest's stop_token_ids; [] for fixed-length benchmarks). */
  stopIds?: number[];
}

export interface SampledCompletion {
  ids: number[];
  logprobs: number[];
  entropies: number[];
  /** True when it ended with a stop token (the stop token is in ids), false when it hit maxNewTokens. */
  stopped: boolean;
}

/** log-softmax of logits[offset .. offset+vocab) divided by `scale`, in float64. */
export function logSoftmax(logits: Float32Array, offset: number, vocab: number, scale = 1): Float64Array {
  const out = new Float64Array(vocab);
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i] / scale);
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] / scale - max);
  const logSum = Math.log(sum) + max;
  for (let i = 0; i < vocab; i++) out[i] = logits[offset + i] / scale - logSum;
  return out;
}

export function entropy(logDistribution: Float64Array): number {
  let total = 0;
  for (const value of logDistribution) if (value > -Infinity) total -= Math.exp(value) * value;
  return total;
}

export function argmax(logits: Float32Array, offset: number, vocab: number): number {
  let best = 0;
  for (let i = 1; i < vocab; i++) if (logits[offset + i] > logits[offset + best]) best = i; // first maximum, as torch
  return best;
}

/** A small seeded generator (mulberry32): the same seed gives the same samples on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Draws from exp(logDistribution) restricted to its top-p nucleus (the smallest set of most likely tokens
 * whose mass before adding reaches top_p, as trainer/mgrpo/sampling.top_p_filter keeps them).
 */
export function sampleTopP(logDistribution: Float64Array, topP: number, random: () => number): number {
  const order = Array.from(logDistribution.keys()).sort((a, b) => logDistribution[b] - logDistribution[a]);
  const kept: number[] = [];
  let massBefore = 0;
  for (const token of order) {
    if (kept.length > 0 && massBefore >= topP) break;
    kept.push(token);
    massBefore += Math.exp(logDistribution[token]);
  }
  let draw = random() * massBefore;
  for (const token of kept) {
    draw -= Math.exp(logDistribution[token]);
    if (draw <= 0) return token;
  }
  return kept[kept.length - 1];
}

function int64(ortApi: OrtApi, values: number[], dims: number[]): ort.Tensor {
  return new ortApi.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
}

function emptyPast(ortApi: OrtApi, manifest: OnnxManifest, batch: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of pastInputNames(manifest.num_layers)) {
    feeds[name] = new ortApi.Tensor('float32', new Float32Array(0), [batch, manifest.num_key_value_heads, 0, manifest.head_dim]);
  }
  return feeds;
}

function checkLogits(logits: ort.Tensor, manifest: OnnxManifest): void {
  const vocab = logits.dims[2];
  if (vocab !== manifest.vocab_size) throw new Error(`the graph's logits have ${vocab} columns but the manifest says vocab_size ${manifest.vocab_size}`);
}

/**
 * Tokens per forward when scoring: a long trace goes through in chunks that attend to the cache of the earlier
 * ones (same numbers as one forward; one 2,000-token forward builds 2,000 x 2,000 attention intermediates and
 * measured several times slower than 256-token chunks, bench/results/extension-onnx.md).
 */
export const SCORE_CHUNK_TOKENS = 256;

/** Per-token log-probs and entropies of `ids` (the first token is only context). */
export async function scoreTokens(ortApi: OrtApi, session: Session, manifest: OnnxManifest, ids: number[], chunkTokens = SCORE_CHUNK_TOKENS): Promise<TokenScores> {
  const logprobs: number[] = [];
  const entropies: number[] = [];
  if (ids.length < 2) return { logprobs, entropies };
  const vocab = manifest.vocab_size;
  const presentNames = presentOutputNames(manifest.num_layers);
  const pastNames = pastInputNames(manifest.num_layers);
  let past = emptyPast(ortApi, manifest, 1);
  for (let from = 0; from < ids.length - 1; from += chunkTokens) {
    // Every token but the last is an input: the last one is only predicted.
    const chunk = ids.slice(from, Math.min(from + chunkTokens, ids.length - 1));
    const outputs = await session.run({
      input_ids: int64(ortApi, chunk, [1, chunk.length]),
      attention_mask: int64(ortApi, new Array(from + chunk.length).fill(1), [1, from + chunk.length]),
      position_ids: int64(ortApi, chunk.map((_, i) => from + i), [1, chunk.length]),
      ...past,
    });
    checkLogits(outputs.logits, manifest);
    const data = outputs.logits.data as Float32Array;
    for (let position = 0; position < chunk.length; position++) {
      const logDistribution = logSoftmax(data, position * vocab, vocab);
      logprobs.push(logDistribution[ids[from + position + 1]]);
      entropies.push(entropy(logDistribution));
    }
    past = {};
    pastNames.forEach((name, index) => { past[name] = outputs[presentNames[index]]; });
  }
  return { logprobs, entropies };
}

/**
 * One completion per prompt (repeat a prompt for a group), batched with left padding and a KV cache.
 * `padId` fills the left of shorter prompts (masked out, so any id works).
 */
export async function sampleCompletions(ortApi: OrtApi, session: Session, manifest: OnnxManifest, prompts: number[][], padId: number, options: SampleOptions): Promise<SampledCompletion[]> {
  const batch = prompts.length;
  if (batch === 0) return [];
  if (prompts.some((prompt) => prompt.length === 0)) throw new Error('every prompt needs at least one token');
  const width = Math.max(...prompts.map((prompt) => prompt.length));
  const mask: number[][] = prompts.map((prompt) => [...new Array(width - prompt.length).fill(0), ...new Array(prompt.length).fill(1)]);
  let stepIds: number[] = prompts.flatMap((prompt) => [...new Array(width - prompt.length).fill(padId), ...prompt]);
  let stepPositions: number[] = prompts.flatMap((prompt) => [...new Array(width - prompt.length).fill(0), ...prompt.map((_, i) => i)]);
  let stepLength = width;
  let past = emptyPast(ortApi, manifest, batch);
  const vocab = manifest.vocab_size;
  const stop = new Set(options.stopIds ?? manifest.stop_token_ids);
  const scale = options.greedy ? 1 : options.temperature;
  const random = seededRandom(options.seed);
  const results: SampledCompletion[] = prompts.map(() => ({ ids: [], logprobs: [], entropies: [], stopped: false }));
  const finished = new Array<boolean>(batch).fill(false);
  const presentNames = presentOutputNames(manifest.num_layers);
  const pastNames = pastInputNames(manifest.num_layers);
  for (let step = 0; step < options.maxNewTokens; step++) {
    if (options.cancelled?.()) throw new DecodingCancelled();
    const outputs = await session.run({
      input_ids: int64(ortApi, stepIds, [batch, stepLength]),
      attention_mask: int64(ortApi, mask.flat(), [batch, mask[0].length]),
      position_ids: int64(ortApi, stepPositions, [batch, stepLength]),
      ...past,
    });
    checkLogits(outputs.logits, manifest);
    const logits = outputs.logits.data as Float32Array;
    const nextIds: number[] = [];
    for (let row = 0; row < batch; row++) {
      const offset = (row * stepLength + stepLength - 1) * vocab;
      if (finished[row]) {
        nextIds.push(padId);
        continue;
      }
      const logDistribution = logSoftmax(logits, offset, vocab, scale);
      const token = options.greedy ? argmax(logits, offset, vocab) : sampleTopP(logDistribution, options.topP, random);
      results[row].ids.push(token);
      results[row].logprobs.push(logDistribution[token]);
      results[row].entropies.push(entropy(logDistribution));
      if (stop.has(token)) {
        finished[row] = true;
        results[row].stopped = true;
      }
      nextIds.push(token);
    }
    if (finished.every(Boolean)) break;
    past = {};
    pastNames.forEach((name, index) => { past[name] = outputs[presentNames[index]]; });
    for (const row of mask) row.push(1);
    stepPositions = Array.from({ length: batch }, (_, row) => stepPositions[row * stepLength + stepLength - 1] + 1);
    stepIds = nextIds;
    stepLength = 1;
  }
  return results;
}
