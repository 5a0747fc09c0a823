import { strict as assert } from 'node:assert';
import type { RolloutRecord, StepLabelValue, StepValues } from '../../extension/src/format/types';
import { stepHoverMarkdown, stepTruthRows } from '../../extension/src/model/hoverContent';
import { traceSteps } from '../../extension/src/model/segmentation';
import {
  STEP_TRUTH_FILTERS,
  departedAfterFirstError,
  departedBeforeFirstError,
  departurePosition,
  departureVsFirstError,
  errorAfterLastStep,
  firstWrongStep,
  fixedFirstWrongStep,
  hasStepLabels,
  isFlawedChain,
  latestStepValues,
  stepLabels,
  stepVerdict,
} from '../../extension/src/model/stepTruth';
import { chainRecord, fixtureRecord, fixtureRecords } from './fixture';

/** A record of the fixture's question 3+5*2-7 whose steps are the given lines, labelled as given. */
function chain(id: string, stepLines: string[], answer: string, labels: StepLabelValue[], first: number | null, layer: 1 | 2 = 1, parentId: string | null = null): RolloutRecord {
  return {
    ...chainRecord(stepLines, answer, layer), id, parent_id: parentId, correct: answer === '9',
    step_labels: labels.map((label) => ({ label, source: 'checker' as const })), first_wrong_step: first,
  };
}

describe('step truth', () => {
  it('reads the checker labels of the fixture and flags its one flawed chain', () => {
    const lucky = fixtureRecord('s000002-q000-l1-001-l2-001'); // 3+5=3 (wrong), 3*2=6, 6-7=9, A: 9
    assert.deepEqual(stepLabels(lucky)?.map((l) => l.label), ['wrong', 'right', 'right']);
    assert.equal(firstWrongStep(lucky), 0);
    assert.equal(isFlawedChain(lucky), true);
    const wrongAnswer = fixtureRecord('s000001-q000-l1-001'); // 8*2=9 is wrong, and so is the answer
    assert.equal(firstWrongStep(wrongAnswer), 1);
    assert.equal(isFlawedChain(wrongAnswer), false, 'a wrong answer is not a flawed *right* answer');
    assert.equal(isFlawedChain(fixtureRecord('s000002-q000-l1-001')), false, 'sound chain');
    assert.deepEqual(fixtureRecords().filter(isFlawedChain).map((r) => r.id), ['s000002-q000-l1-001-l2-001']);
  });

  it('treats format-1 records and labels that do not fit the steps as unlabelled', () => {
    const { step_labels: _labels, first_wrong_step: _first, ...version1 } = fixtureRecord('s000002-q000-l1-001-l2-001');
    const old = version1 as RolloutRecord;
    assert.equal(hasStepLabels(old), false);
    assert.equal(firstWrongStep(old), null);
    assert.equal(isFlawedChain(old), false);
    assert.equal(departureVsFirstError(old, fixtureRecord('s000002-q000-l1-001')), null);
    assert.deepEqual(stepVerdict(old, 0), { label: null, source: null, isFirstError: false, value: null, drop: null, isLikelyError: false });
    const lucky = fixtureRecord('s000002-q000-l1-001-l2-001');
    assert.equal(stepLabels({ ...lucky, step_labels: lucky.step_labels?.slice(1) }), null, 'one label short');
    assert.equal(firstWrongStep({ ...lucky, first_wrong_step: 7 }), null, 'past the end');
  });

  it('places layer 2’s first departure against layer 1’s first error (fixture corrections)', () => {
    const parent = fixtureRecord('s000001-q000-l1-001'); // 3+5=8, 8*2=9 (first error), 9-7=2
    const fixed = fixtureRecord('s000001-q000-l1-001-l2-000'); // 3+5=8, 8*2=6, 6-7=9: i->c
    const early = fixtureRecord('s000001-q000-l1-001-l2-001'); // 3+5=1, ...: i->i
    assert.equal(departurePosition(parent, fixed), 1);
    assert.equal(departureVsFirstError(parent, fixed), 'exact');
    assert.equal(fixedFirstWrongStep(fixed, parent), true);
    assert.equal(departurePosition(parent, early), 0);
    assert.equal(departureVsFirstError(parent, early), 'before');
    assert.equal(departedBeforeFirstError(early, parent), true);
    assert.equal(fixedFirstWrongStep(early, parent), false, 'stayed wrong');
    const sound = fixtureRecord('s000002-q000-l1-001');
    assert.equal(departureVsFirstError(sound, fixtureRecord('s000002-q000-l1-001-l2-001')), 'no-error');
    assert.equal(departureVsFirstError(sound, fixtureRecord('s000002-q000-l1-001-l2-000')), 'no-error');
    assert.equal(fixedFirstWrongStep(fixed, undefined), false, 'no parent given');
    assert.equal(fixedFirstWrongStep(fixed, sound), false, 'not the parent of this correction');
  });

  it('departs after the error, not at all, and at a missing step', () => {
    const parent = chain('p', ['3+5=8', '8*2=9', '9-7=2'], '2', ['right', 'wrong', 'right'], 1);
    const late = chain('c1', ['3+5=8', '8*2=9', '9-7=9'], '9', ['right', 'wrong', 'wrong'], 1, 2, 'p');
    assert.equal(departureVsFirstError(parent, late), 'after');
    assert.equal(departedAfterFirstError(late, parent), true);
    const same = chain('c2', ['3+5=8', '8*2=9', '9-7=2'], '2', ['right', 'wrong', 'right'], 1, 2, 'p');
    assert.equal(departureVsFirstError(parent, same), 'no-departure');
    // Two right steps, the third missing: the checker puts the error at steps.length = 2.
    const short = chain('p2', ['3+5=8', '8*2=6'], '6', ['right', 'right'], 2);
    assert.equal(errorAfterLastStep(short), true);
    assert.equal(errorAfterLastStep(parent), false);
    const completed = chain('c3', ['3+5=8', '8*2=6', '6-7=9'], '9', ['right', 'right', 'right'], null, 2, 'p2');
    assert.equal(departurePosition(short, completed), 2, 'divergence.ts says layer1Step 1, layer2Step 2: max is 2');
    assert.equal(fixedFirstWrongStep(completed, short), true);
  });

  it('combines a label with step values: value, drop from the step before, likely error', () => {
    const record = fixtureRecord('s000001-q000-l1-001');
    const values: StepValues = {
      record_id: record.id, step: 1, checkpoint: 'checkpoints/step-000002', k: 4, seed: 0, temperature: 1, prefix_value: 0.75,
      values: [0.5, 0, 0], drops: [0.25, 0.5, 0], likely_error: 1, time: '2026-11-22T00:00:00Z',
    };
    assert.deepEqual(stepVerdict(record, 1, values), { label: 'wrong', source: 'checker', isFirstError: true, value: 0, drop: 0.5, isLikelyError: true });
    assert.deepEqual(stepVerdict(record, 0, values), { label: 'right', source: 'checker', isFirstError: false, value: 0.5, drop: 0.25, isLikelyError: false });
    assert.equal(stepVerdict(record, 1, { ...values, record_id: 'another' }).value, null, 'values of another record are ignored');
    assert.equal(stepVerdict(record, 1, { ...values, values: [0.5] }).value, null, 'values that do not fit the steps are ignored');
    const newer = { ...values, k: 8 };
    assert.equal(latestStepValues([values, { ...values, record_id: 'x' }, newer], record.id), newer);
    assert.equal(latestStepValues([values], 'missing'), null);
  });

  it('offers filters that match the fixture', () => {
    const records = fixtureRecords();
    const byId = new Map(records.map((r) => [r.id, r]));
    const matched = (id: string): string[] => {
      const filter = STEP_TRUTH_FILTERS.find((f) => f.id === id)!;
      return records.filter((r) => filter.matches(r, r.parent_id ? byId.get(r.parent_id) : undefined)).map((r) => r.id);
    };
    assert.deepEqual(matched('flawed-chain'), ['s000002-q000-l1-001-l2-001']);
    assert.deepEqual(matched('fixed-first-error'), ['s000001-q000-l1-001-l2-000', 's000001-q001-l1-000-l2-000', 's000002-q000-l1-000-l2-000']);
    assert.deepEqual(matched('departed-before-error'), ['s000001-q000-l1-001-l2-001', 's000001-q001-l1-000-l2-001', 's000002-q000-l1-000-l2-001']);
    assert.deepEqual(matched('departed-after-error'), []);
  });

  it('adds label, value and drop to the step hover', () => {
    const record = fixtureRecord('s000001-q000-l1-001');
    const truth = { label: 'wrong' as const, source: 'checker' as const, isFirstError: true, value: 0, drop: 0.5, isLikelyError: true };
    assert.deepEqual(stepTruthRows(truth), ['| step check | wrong (checker) · first wrong step |', '| step value | 0.00 · drop +0.50 · likely error |']);
    assert.deepEqual(stepTruthRows({ ...truth, label: null, source: null, value: 0.75, drop: -0.25, isLikelyError: false }), ['| step value | 0.75 · drop -0.25 |']);
    assert.deepEqual(stepTruthRows(undefined), []);
    const md = stepHoverMarkdown(record, traceSteps(record)[1], { truth: stepVerdict(record, 1) });
    assert.match(md, /\| token probability \|[^\n]*\n\| step check \| wrong \(checker\) · first wrong step \|$/);
    assert.ok(!stepHoverMarkdown(record, traceSteps(record)[1]).includes('step check'), 'no truth given: no rows');
  });
});
