// "Compare Across Steps": one question's samples at every step where it was asked, so a user can
// watch its first answers and corrections change over training. question_id is stable across
// steps (RUN_FORMAT.md), so this is one pass over the steps' indexes (or, for steps not indexed
// yet, a pre-checked search of their files).

import type { RunReader, ScanOptions } from '../format/runReader';
import type { RolloutRecord } from '../format/types';

export interface QuestionAtStep {
  step: number;
  layer1: RolloutRecord[];
  layer2: RolloutRecord[];
}

const bySample = (a: RolloutRecord, b: RolloutRecord): number => a.group - b.group || a.sample - b.sample || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * The raw JSON spelling of a question id, when it is the same whatever the encoder (printable
 * ASCII without quotes or backslashes); otherwise no pre-check is possible.
 */
function rawNeedle(questionId: string): string[] | undefined {
  return /^[\x20-\x7e]*$/.test(questionId) && !/["\\]/.test(questionId) ? [JSON.stringify(questionId)] : undefined;
}

export async function compareAcrossSteps(reader: RunReader, questionId: string, opts: Pick<ScanOptions, 'signal' | 'onProgress'> = {}): Promise<QuestionAtStep[]> {
  const steps = new Map<number, QuestionAtStep>();
  const add = (record: RolloutRecord): void => {
    if (record.question_id !== questionId) return;
    let atStep = steps.get(record.step);
    if (!atStep) {
      atStep = { step: record.step, layer1: [], layer2: [] };
      steps.set(record.step, atStep);
    }
    (record.layer === 1 ? atStep.layer1 : atStep.layer2).push(record);
  };
  // Indexed steps name each record's question: only that question's lines are parsed. Steps not
  // indexed yet are searched for the id's raw spelling (as fast as before the indexes) and
  // indexed in the background for next time.
  const needle = rawNeedle(questionId);
  const all = reader.steps();
  const searched = needle ? all.filter((s) => !reader.isIndexed(s)) : [];
  const indexed = needle ? all.filter((s) => reader.isIndexed(s)) : all;
  const found = await reader.recordsWhere((index, row) => index.questionIds[index.question.values[row]] === questionId, { steps: indexed, signal: opts.signal });
  for (const records of found.values()) records.forEach(add);
  if (searched.length > 0) {
    await reader.scan(add, { steps: searched, mustContain: needle, signal: opts.signal, onProgress: opts.onProgress });
    void reader.buildIndexes({ steps: searched, signal: opts.signal }).catch(() => undefined);
  }
  const result = [...steps.values()].sort((a, b) => a.step - b.step);
  for (const s of result) {
    s.layer1.sort(bySample);
    s.layer2.sort((a, b) => ((a.parent_id ?? '') < (b.parent_id ?? '') ? -1 : (a.parent_id ?? '') > (b.parent_id ?? '') ? 1 : a.sample - b.sample));
  }
  return result;
}
