// Monte-Carlo step values (Math-Shepherd) drawn by the extension itself with a checkpoint's ONNX export: the
// same estimate `python -m mgrpo step-values` makes (trainer/mgrpo/step_values.py), for small checkpoints and no
// Python. From the prompt plus the completion cut after each step, draw k continuations and verify each whole
// text against the ground truth with the trainer's verifier (ported, model/answerVerifier.ts); a step's value is
// the fraction right. Free of VS Code: the backend is passed in, and the caller writes the line.

import { createHash } from 'node:crypto';
import type { RolloutRecord, Span, StepValues } from '../format/types';
import { verifyAnswer } from '../model/answerVerifier';
import { PythonBackend, type CheckpointBackend } from './host';

export const LOCAL_BACKEND = 'onnxruntime-node';

export interface LocalValueSettings {
  k: number;
  seed: number;
  temperature: number;
  topP: number;
  maxCompletionLength: number;
}

/**
 * The completion through each step, with the line break that ends it (a continuation starts on a new line); a
 * step that ends the text gets one. As step_values.step_prefixes.
 */
export function stepPrefixes(completion: string, steps: readonly Span[]): string[] {
  return steps.map(({ end }) => {
    const newline = completion.indexOf('\n', end);
    return newline !== -1 ? completion.slice(0, newline + 1) : `${completion.slice(0, end)}\n`;
  });
}

/** drops[i] = value before step i minus value after it; the first largest positive drop, or null. As step_values.value_drops. */
export function valueDrops(prefixValue: number, values: readonly number[]): { drops: number[]; likelyError: number | null } {
  const drops: number[] = [];
  let before = prefixValue;
  for (const value of values) {
    drops.push(before - value);
    before = value;
  }
  const largest = drops.length ? Math.max(...drops) : 0;
  return { drops, likelyError: largest > 0 ? drops.indexOf(largest) : null };
}

/** The sampler's 32-bit seed for one prefix of one record: the same request draws the same samples. */
export function prefixSeed(seed: number, recordId: string, prefixIndex: number): number {
  return createHash('sha256').update(`${seed}:${recordId}:${prefixIndex}`).digest().readUInt32BE(0);
}

/** Whether a line answers this request (as step_values.matches, for the local backend). */
export function matchesLocal(line: StepValues, checkpoint: string, settings: LocalValueSettings): boolean {
  return line.backend === LOCAL_BACKEND && line.checkpoint === checkpoint && line.k === settings.k && line.seed === settings.seed
    && line.temperature === settings.temperature && line.max_completion_length === settings.maxCompletionLength;
}

/**
 * $defs/stepValues for one record (which needs its prompt, steps and ground truth), drawn through `backend` from
 * the export in `folder` (or by the trainer's PyTorch server, when the user chose it after an export problem:
 * the line then says so). `checkpoint`: how the line names the model (relative to the run folder when inside it).
 * `progress(done, total)` counts prefixes.
 */
export async function estimateStepValuesLocally(
  backend: CheckpointBackend,
  folder: string,
  record: RolloutRecord,
  settings: LocalValueSettings,
  checkpoint: string,
  signal?: AbortSignal,
  progress?: (done: number, total: number) => void,
): Promise<StepValues> {
  if (record.prompt === null) throw new Error(`${record.id} has no recorded prompt (an imported rollout): there is nothing to continue from`);
  if (record.ground_truth === null) throw new Error(`${record.id} has no ground truth: continuations cannot be verified`);
  const prefixes = ['', ...stepPrefixes(record.completion, record.steps)];
  const fractions: number[] = [];
  for (const [index, prefix] of prefixes.entries()) {
    const drawn = await backend.sample({
      kind: 'sample', folder, prompt: record.prompt + prefix, count: settings.k, maxNewTokens: settings.maxCompletionLength,
      temperature: settings.temperature, topP: settings.topP, greedy: false, seed: prefixSeed(settings.seed, record.id, index),
    }, signal);
    const right = drawn.completions.filter((c) => verifyAnswer(prefix + c.text, record.ground_truth!).correct).length;
    fractions.push(right / settings.k);
    progress?.(index + 1, prefixes.length);
  }
  const [prefixValue, ...values] = fractions;
  const { drops, likelyError } = valueDrops(prefixValue, values);
  return {
    record_id: record.id, step: record.step, checkpoint, backend: backend instanceof PythonBackend ? 'pytorch' : LOCAL_BACKEND, k: settings.k, seed: settings.seed,
    temperature: settings.temperature, max_completion_length: settings.maxCompletionLength, prefix_value: prefixValue,
    values, drops, likely_error: likelyError, time: new Date().toISOString(),
  };
}
