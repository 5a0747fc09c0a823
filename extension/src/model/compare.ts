// "Compare Across Steps": one question's samples at every step where it was asked, so a user can
// watch its first answers and corrections change over training. question_id is stable across
// steps (RUN_FORMAT.md), so this is one pass over the steps' indexes.

import type { RunReader, ScanOptions } from '../format/runReader';
import type { RolloutRecord } from '../format/types';

export interface QuestionAtStep {
  step: number;
  layer1: RolloutRecord[];
  layer2: RolloutRecord[];
}

const bySample = (a: RolloutRecord, b: RolloutRecord): number => a.group - b.group || a.sample - b.sample || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export async function compareAcrossSteps(reader: RunReader, questionId: string, opts: Pick<ScanOptions, 'signal' | 'onProgress'> = {}): Promise<QuestionAtStep[]> {
  const steps = new Map<number, QuestionAtStep>();
  // The steps' indexes name each record's question: only that question's lines are parsed.
  const found = await reader.recordsWhere((index, row) => index.questionIds[index.question.values[row]] === questionId, opts);
  for (const [step, records] of found) {
    const atStep: QuestionAtStep = { step, layer1: [], layer2: [] };
    for (const record of records) if (record.question_id === questionId) (record.layer === 1 ? atStep.layer1 : atStep.layer2).push(record);
    if (atStep.layer1.length + atStep.layer2.length > 0) steps.set(step, atStep);
  }
  const result = [...steps.values()].sort((a, b) => a.step - b.step);
  for (const s of result) {
    s.layer1.sort(bySample);
    s.layer2.sort((a, b) => ((a.parent_id ?? '') < (b.parent_id ?? '') ? -1 : (a.parent_id ?? '') > (b.parent_id ?? '') ? 1 : a.sample - b.sample));
  }
  return result;
}
