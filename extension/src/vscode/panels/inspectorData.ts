// What the inspector shows for one (layer-1 sample, correction) pair, computed on the host with the
// same segmentation, divergence and hover code as the trace documents, and sent as plain data: the
// webview never parses records and imports nothing from Node.

import type { RolloutRecord, StepValues } from '../../format/types';
import { notRecorded, recordSourceKind } from '../../model/absence';
import { changedSteps, firstDivergence } from '../../model/divergence';
import { stepHoverMarkdown } from '../../model/hoverContent';
import { LEAST_CONFIDENT_STEPS, markedLeastConfidentSteps, traceSteps } from '../../model/segmentation';
import { stepVerdict } from '../../model/stepTruth';
import type { CorrectionChoice, InspectorSide, InspectorState } from '../../webview/protocol';

/** How many steps per side are called out as least confident (as in the trace editor). */
export { LEAST_CONFIDENT_STEPS };

function side(record: RolloutRecord, changed: Set<number>, divergentStep: number | null, values: StepValues | null, parent?: RolloutRecord): InspectorSide {
  const steps = traceSteps(record);
  const leastConfident = markedLeastConfidentSteps(steps);
  return {
    recordId: record.id,
    layer: record.layer,
    sample: record.sample,
    text: record.completion,
    correct: record.correct,
    parsedAnswer: record.parsed_answer,
    reward: record.reward,
    rewards: { ...record.rewards },
    advantage: record.advantage,
    finishReason: record.finish_reason,
    steps: steps.map((step) => {
      const truth = stepVerdict(record, step.index, values);
      return {
        index: step.index,
        start: step.span.start,
        end: step.span.end,
        minProb: step.minProb,
        meanProb: step.meanProb,
        hover: stepHoverMarkdown(record, step, { parent, changedByLayer2: changed.has(step.index), truth }),
        changed: changed.has(step.index),
        truth: truth.label,
        firstError: truth.isFirstError,
        value: truth.value,
        likelyError: truth.isLikelyError,
      };
    }),
    divergentStep,
    leastConfident,
  };
}

export function correctionChoice(record: RolloutRecord): CorrectionChoice {
  return { recordId: record.id, sample: record.sample, outcome: record.outcome, reward: record.reward, correct: record.correct };
}

/** Estimated step values (step-values/ files, read by the caller) of the two sides, where there are any. */
export interface InspectorStepValues {
  layer1: StepValues | null;
  correction: StepValues | null;
}

/**
 * The inspector's state: layer 1 on the left, `correction` on the right, `siblings` (every
 * correction of the same layer-1 sample) for the picker. Throws when `correction` does not
 * correct `layer1`.
 */
export function inspectorState(
  runDir: string,
  runName: string,
  layer1: RolloutRecord,
  correction: RolloutRecord,
  siblings: readonly RolloutRecord[],
  values: InspectorStepValues = { layer1: null, correction: null },
): InspectorState {
  if (layer1.layer !== 1) throw new Error(`${layer1.id} is not a layer-1 sample`);
  if (correction.layer !== 2 || correction.parent_id !== layer1.id) {
    throw new Error(`${correction.id} is not a correction of ${layer1.id} (its parent is ${correction.parent_id ?? 'none'})`);
  }
  const divergence = firstDivergence(layer1, correction);
  const choices = (siblings.some((s) => s.id === correction.id) ? [...siblings] : [...siblings, correction])
    .sort((a, b) => a.sample - b.sample)
    .map(correctionChoice);
  return {
    runDir,
    runName,
    step: correction.step,
    group: correction.group,
    questionId: correction.question_id,
    question: layer1.prompt ?? `(${notRecorded(recordSourceKind(layer1))})`,
    groundTruth: layer1.ground_truth ?? `(${notRecorded(recordSourceKind(layer1))})`,
    guidingPhrase: correction.guiding_phrase,
    outcome: correction.outcome,
    // Left: layer-1 steps the correction did not keep. Right: correction steps not in layer 1.
    layer1: side(layer1, changedSteps(correction, layer1), divergence?.layer1Step ?? null, values.layer1),
    correction: side(correction, changedSteps(layer1, correction), divergence?.layer2Step ?? null, values.correction, layer1),
    choices,
  };
}
