// "Compare Across Steps": one question's samples at every step where it was asked, so a user can
// watch its first answers and corrections change over training. question_id is stable across
// steps (RUN_FORMAT.md), so this is one pre-checked scan of the run.

import type { RunReader, ScanOptions } from '../format/runReader';
import type { RolloutRecord } from '../format/types';

export interface QuestionAtStep {
  step: number;
  layer1: RolloutRecord[];
  layer2: RolloutRecord[];
}

/**
 * The raw JSON spelling of a question id, when it is the same whatever the encoder (printable
 * ASCII without quotes or backslashes); otherwise no pre-check is possible.
 */
function rawNeedle(questionId: string): string[] | undefined {
  return /^[\x20-\x7e]*$/.test(questionId) && !/["\\]/.test(questionId) ? [JSON.stringify(questionId)] : undefined;
}

const bySample = (a: RolloutRecord, b: RolloutRecord): number => a.group - b.group || a.sample - b.sample || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export async function compareAcrossSteps(reader: RunReader, questionId: string, opts: Pick<ScanOptions, 'signal' | 'onProgress'> = {}): Promise<QuestionAtStep[]> {
  const steps = new Map<number, QuestionAtStep>();
  await reader.scan(
    (record) => {
      if (record.question_id !== questionId) return;
      let atStep = steps.get(record.step);
      if (!atStep) {
        atStep = { step: record.step, layer1: [], layer2: [] };
        steps.set(record.step, atStep);
      }
      (record.layer === 1 ? atStep.layer1 : atStep.layer2).push(record);
    },
    { mustContain: rawNeedle(questionId), signal: opts.signal, onProgress: opts.onProgress },
  );
  const result = [...steps.values()].sort((a, b) => a.step - b.step);
  for (const s of result) {
    s.layer1.sort(bySample);
    s.layer2.sort((a, b) => ((a.parent_id ?? '') < (b.parent_id ?? '') ? -1 : (a.parent_id ?? '') > (b.parent_id ?? '') ? 1 : a.sample - b.sample));
  }
  return result;
}
