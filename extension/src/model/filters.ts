// Sample filters of the Runs view ("show where layer 2 broke a right answer").

import type { CorrectionOutcome, RolloutRecord } from '../format/types';
import { findStepTruthFilter } from './departureOffsets';

export interface SampleFilter {
  /** Layer-2 outcomes to keep; a layer-1 sample has no outcome and never matches this. */
  outcomes?: CorrectionOutcome[];
  /** Inclusive reward bounds. */
  minReward?: number;
  maxReward?: number;
  layer?: 1 | 2;
  correct?: boolean;
  /**
   * Id of a step-truth filter (departureOffsets.findStepTruthFilter: a STEP_TRUTH_FILTERS entry, or
   * a dashboard bar's "first wrong at step k" / "departed in this offset bin"): needs full records.
   */
  stepTruth?: string;
}

export interface FilterPreset {
  id: string;
  label: string;
  detail: string;
  filter: SampleFilter;
}

export const OUTCOME_WORDS: Record<CorrectionOutcome, string> = {
  'i->c': 'wrong -> right',
  'c->i': 'right -> wrong',
  'c->c': 'right -> right',
  'i->i': 'wrong -> wrong',
};

/** "c->i (right -> wrong)": how an outcome is named everywhere in the extension. */
export function describeOutcome(outcome: CorrectionOutcome): string {
  return `${outcome} (${OUTCOME_WORDS[outcome]})`;
}

export const FILTER_PRESETS: readonly FilterPreset[] = [
  { id: 'broke', label: 'Layer 2 broke a right answer', detail: 'corrections c->i', filter: { outcomes: ['c->i'] } },
  { id: 'fixed', label: 'Corrections that fixed a wrong answer', detail: 'corrections i->c', filter: { outcomes: ['i->c'] } },
  { id: 'stuck', label: 'Corrections that stayed wrong', detail: 'corrections i->i', filter: { outcomes: ['i->i'] } },
  { id: 'kept', label: 'Corrections that kept a right answer', detail: 'corrections c->c', filter: { outcomes: ['c->c'] } },
  { id: 'changed', label: 'Corrections that changed correctness', detail: 'corrections i->c or c->i', filter: { outcomes: ['i->c', 'c->i'] } },
  { id: 'wrong-first', label: 'Wrong first answers', detail: 'layer-1 samples with correct = false', filter: { layer: 1, correct: false } },
  { id: 'zero-reward', label: 'Zero reward', detail: 'any sample with reward <= 0', filter: { maxReward: 0 } },
];

export function isEmptyFilter(filter: SampleFilter | undefined): boolean {
  if (!filter) return true;
  return filter.outcomes === undefined && filter.minReward === undefined && filter.maxReward === undefined && filter.layer === undefined && filter.correct === undefined && filter.stepTruth === undefined;
}

/** What a filter looks at: a full record or a row of a step's index. */
export interface FilterableSample {
  layer: RolloutRecord['layer'];
  outcome: RolloutRecord['outcome'];
  correct: RolloutRecord['correct'] | null;
  reward: RolloutRecord['reward'] | null;
}

/**
 * `parent`: the layer-1 record a layer-2 record corrects, for step-truth filters. A step-truth
 * filter never matches an index row (it needs the record's steps and labels).
 */
export function matchesFilter(record: FilterableSample, filter: SampleFilter | undefined, parent?: RolloutRecord): boolean {
  if (!filter) return true;
  if (filter.stepTruth !== undefined) {
    const truth = findStepTruthFilter(filter.stepTruth);
    if (!truth || !isFullRecord(record) || !truth.matches(record, parent)) return false;
  }
  if (filter.layer !== undefined && record.layer !== filter.layer) return false;
  if (filter.outcomes !== undefined && (record.outcome === null || !filter.outcomes.includes(record.outcome))) return false;
  if (filter.correct !== undefined && record.correct !== filter.correct) return false;
  // A reward an imported run did not record (null) is in no range.
  if (filter.minReward !== undefined && (record.reward === null || !(record.reward >= filter.minReward))) return false;
  if (filter.maxReward !== undefined && (record.reward === null || !(record.reward <= filter.maxReward))) return false;
  return true;
}

function isFullRecord(record: FilterableSample): record is RolloutRecord {
  return Array.isArray((record as Partial<RolloutRecord>).steps) && typeof (record as Partial<RolloutRecord>).id === 'string';
}

/** A stable key for caching per-filter results. */
export function filterKey(filter: SampleFilter | undefined): string {
  if (isEmptyFilter(filter)) return '';
  const f = filter as SampleFilter;
  return JSON.stringify([f.outcomes ? [...f.outcomes].sort() : null, f.minReward ?? null, f.maxReward ?? null, f.layer ?? null, f.correct ?? null, f.stepTruth ?? null]);
}

/** "outcome c->i (right -> wrong) · reward ≥ 0.50" */
export function describeFilter(filter: SampleFilter | undefined): string {
  if (isEmptyFilter(filter)) return 'all samples';
  const f = filter as SampleFilter;
  const preset = FILTER_PRESETS.find((p) => filterKey(p.filter) === filterKey(f));
  if (preset) return preset.label;
  const parts: string[] = [];
  const truth = f.stepTruth === undefined ? undefined : findStepTruthFilter(f.stepTruth);
  if (f.stepTruth !== undefined) parts.push(truth ? truth.label : `unknown step-truth filter ${f.stepTruth}`);
  if (f.layer !== undefined) parts.push(`layer ${f.layer}`);
  if (f.outcomes !== undefined) parts.push(f.outcomes.length === 0 ? 'no outcome' : `outcome ${f.outcomes.map(describeOutcome).join(' or ')}`);
  if (f.correct !== undefined) parts.push(f.correct ? 'correct' : 'wrong');
  if (f.minReward !== undefined && f.maxReward !== undefined) parts.push(`reward in [${f.minReward}, ${f.maxReward}]`);
  else if (f.minReward !== undefined) parts.push(`reward ≥ ${f.minReward}`);
  else if (f.maxReward !== undefined) parts.push(`reward ≤ ${f.maxReward}`);
  return parts.join(' · ');
}

/**
 * Raw text that a matching record's JSON line must contain, for RunReader.scan's pre-check
 * (parse only lines that can match); a false hit only costs one JSON.parse. It answers a first
 * filter on a run whose steps are not indexed yet as fast as a search of the files. An outcome
 * is the JSON string "c->i"; the needles are chosen for Buffer.indexOf speed (a needle that
 * starts with '"', the commonest byte of a JSON line, is several times slower), so they drop the
 * opening quote. Encoders that write ">" as \u003e are matched by "u003ei\"" (both cases of e),
 * which also hits the other outcome ending in the same letter: harmless.
 * Undefined: no pre-check possible for this filter.
 */
export function rawLineNeedles(filter: SampleFilter | undefined): string[] | undefined {
  if (!filter?.outcomes) return undefined;
  const needles = new Set<string>();
  for (const outcome of filter.outcomes) {
    const [from, to] = outcome.split('->');
    needles.add(`${from}->${to}"`).add(`u003e${to}"`).add(`u003E${to}"`);
  }
  return [...needles];
}
