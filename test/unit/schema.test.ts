import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { CheckpointState, DepartureCounts, EvalResult, ImportSource, MetricsLine, RolloutRecord, RunManifest, StepLabel, StepTruth, StepTruthLayer, StepValues } from '../../extension/src/format/types';
import { FIXTURE_RUN, SCHEMA_PATH } from './fixture';

// The schema uses format "date-time" only. ajv-formats is not a dependency; RFC 3339 date-times
// are checked by this regular expression plus Date.parse (rejects 2026-13-40T...).
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
function isDateTime(value: string): boolean {
  return RFC3339.test(value) && !Number.isNaN(Date.parse(value));
}

const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as { $id: string; $defs: Record<string, { required?: string[]; properties?: Record<string, unknown> }> };
const ajv = new Ajv2020({ allErrors: true, strict: true });
ajv.addFormat('date-time', { type: 'string', validate: isDateTime });
ajv.addSchema(schema);

function validator(def: string) {
  const validate = ajv.getSchema(`${schema.$id}#/$defs/${def}`);
  if (!validate) throw new Error(`schema has no $defs/${def}`);
  return (value: unknown, where: string): void => {
    const ok = validate(value);
    assert.ok(ok, `${where} is not a valid ${def}: ${ajv.errorsText(validate.errors)}`);
  };
}

function jsonLines(file: string): unknown[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

// Compile-time key lists: each must name exactly the keys (required ones, all ones) of the
// TypeScript type, so comparing them with the schema ties types.ts to the schema.
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
type KeySet<K extends PropertyKey> = Record<K, true>;

const rolloutAll: KeySet<keyof RolloutRecord> = {
  id: true, run_id: true, step: true, layer: true, group: true, sample: true, question_id: true, parent_id: true, guiding_phrase: true,
  prompt: true, completion: true, ground_truth: true, parsed_answer: true, correct: true, prompt_tokens: true, prompt_truncated: true, completion_tokens: true,
  finish_reason: true, token_logprobs: true, token_entropies: true, token_offsets: true, reward: true, rewards: true, advantage: true,
  group_reward_mean: true, group_reward_std: true, outcome: true, parent_correct: true, steps: true, answer_span: true,
  step_labels: true, first_wrong_step: true, derived: true, source: true, logprob_source: true,
};
const rolloutRequired: KeySet<RequiredKeys<RolloutRecord>> = {
  id: true, run_id: true, step: true, layer: true, group: true, sample: true, question_id: true, parent_id: true, guiding_phrase: true,
  prompt: true, completion: true, ground_truth: true, parsed_answer: true, correct: true, prompt_tokens: true, completion_tokens: true,
  finish_reason: true, token_logprobs: true, token_offsets: true, reward: true, rewards: true, advantage: true,
  group_reward_mean: true, group_reward_std: true, outcome: true, steps: true,
};
const manifestAll: KeySet<keyof RunManifest> = {
  format_version: true, run_id: true, name: true, created: true, updated: true, status: true, algorithm: true, config: true, model: true,
  device: true, world_size: true, total_steps: true, completed_steps: true, last_checkpoint: true, pid: true, error: true, source: true,
};
const manifestRequired: KeySet<RequiredKeys<RunManifest>> = {
  format_version: true, run_id: true, created: true, updated: true, status: true, algorithm: true, config: true, model: true, total_steps: true, completed_steps: true,
};
const metricsAll: KeySet<keyof MetricsLine> = {
  step: true, time: true, layer1: true, layer2: true, correction: true, loss: true, kl: true, clip_fraction: true, entropy: true,
  grad_norm: true, learning_rate: true, train_seconds: true, step_seconds: true, tokens_per_second: true, step_truth: true,
  source_metrics: true, rollouts_from_step: true,
};
const importSourceAll: KeySet<keyof ImportSource> = {
  kind: true, path: true, format_followed: true, absent_fields: true, derived_fields: true, rows_imported: true, rows_unreadable: true,
  rows_non_utf8: true, rewards_not_finite: true, skipped_files: true, problems: true, trl_version: true, logprob_sources: true, last_step_recorded: true,
};
const importSourceRequired: KeySet<RequiredKeys<ImportSource>> = { kind: true };
// Fields an imported run writes as null when its source did not record them (run.json source.absent_fields).
const NULLABLE_WHEN_IMPORTED = ['prompt', 'ground_truth', 'correct', 'prompt_tokens', 'completion_tokens', 'finish_reason', 'token_logprobs',
  'token_offsets', 'reward', 'advantage', 'group_reward_mean', 'group_reward_std'] as const;
const metricsRequired: KeySet<RequiredKeys<MetricsLine>> = {
  step: true, time: true, layer1: true, correction: true, loss: true, kl: true, clip_fraction: true, train_seconds: true, step_seconds: true, tokens_per_second: true,
};
const evalAll: KeySet<keyof EvalResult> = { step: true, time: true, split: true, n: true, metrics: true, sampled_accuracy: true, step_truth: true, problems: true };
const stepLabelAll: KeySet<keyof StepLabel> = { label: true, source: true, value: true };
const stepLabelRequired: KeySet<RequiredKeys<StepLabel>> = { label: true, source: true };
const stepTruthLayerAll: KeySet<keyof StepTruthLayer> = {
  samples: true, right_answers: true, flawed_right_answers: true, flawed_chain_rate: true, steps_checked: true, steps_right: true,
  step_accuracy: true, with_error: true, first_error_mean: true, first_error_counts: true,
};
const departureAll: KeySet<keyof DepartureCounts> = { n: true, exact: true, before: true, after: true, no_departure: true, no_error: true, exact_rate: true };
const stepTruthAll: KeySet<keyof StepTruth> = { t1: true, t2: true, implicit: true, checker_errors: true };
const stepValuesAll: KeySet<keyof StepValues> = {
  record_id: true, step: true, checkpoint: true, backend: true, k: true, seed: true, temperature: true, max_completion_length: true, prefix_value: true,
  values: true, drops: true, likely_error: true, time: true,
};
const stepValuesRequired: KeySet<RequiredKeys<StepValues>> = {
  record_id: true, step: true, checkpoint: true, k: true, seed: true, temperature: true, prefix_value: true, values: true, drops: true,
  likely_error: true, time: true,
};
const checkpointAll: KeySet<keyof CheckpointState> = { step: true, time: true, metrics_lines: true, rollout_lines: true };

const sorted = (keys: Iterable<string>): string[] => [...keys].sort();

describe('run-format schema vs. the example fixture and types.ts', () => {
  it('run.json is a valid manifest', () => {
    validator('manifest')(JSON.parse(readFileSync(path.join(FIXTURE_RUN, 'run.json'), 'utf8')), 'run.json');
  });

  it('every metrics.jsonl line is a valid metricsLine', () => {
    const lines = jsonLines(path.join(FIXTURE_RUN, 'metrics.jsonl'));
    assert.ok(lines.length >= 2);
    const check = validator('metricsLine');
    lines.forEach((line, i) => check(line, `metrics.jsonl:${i + 1}`));
  });

  it('every rollout line is a valid rolloutRecord', () => {
    const check = validator('rolloutRecord');
    const dir = path.join(FIXTURE_RUN, 'rollouts');
    let count = 0;
    for (const name of readdirSync(dir)) {
      jsonLines(path.join(dir, name)).forEach((line, i) => {
        check(line, `rollouts/${name}:${i + 1}`);
        count += 1;
      });
    }
    assert.equal(count, 24);
  });

  it('every eval file is a valid evalResult', () => {
    const dir = path.join(FIXTURE_RUN, 'eval');
    const check = validator('evalResult');
    const names = readdirSync(dir);
    assert.ok(names.length > 0);
    for (const name of names) check(JSON.parse(readFileSync(path.join(dir, name), 'utf8')), `eval/${name}`);
  });

  it('rejects what the format forbids (the validator is not vacuous)', () => {
    const validate = ajv.getSchema(`${schema.$id}#/$defs/rolloutRecord`)!;
    const record = jsonLines(path.join(FIXTURE_RUN, 'rollouts', 'step-000001.jsonl'))[4] as Record<string, unknown>;
    assert.equal(validate({ ...record, outcome: 'c->x' }), false);
    assert.equal(validate({ ...record, layer: 3 }), false);
    const { reward: _reward, ...withoutReward } = record;
    assert.equal(validate(withoutReward), false);
    const manifest = ajv.getSchema(`${schema.$id}#/$defs/manifest`)!;
    const run = JSON.parse(readFileSync(path.join(FIXTURE_RUN, 'run.json'), 'utf8'));
    assert.equal(manifest({ ...run, created: 'yesterday' }), false);
    assert.equal(manifest({ ...run, format_version: 3 }), false);
    assert.equal(manifest({ ...run, format_version: 1 }), true, 'readers accept format 1 runs');
    assert.equal(validate({ ...record, step_labels: [{ label: 'maybe', source: 'checker' }] }), false);
    assert.equal(validate({ ...record, step_labels: [{ label: 'wrong', source: 'oracle' }] }), false);
    assert.equal(validate({ ...record, first_wrong_step: -1 }), false);
    const { step_labels: _labels, first_wrong_step: _first, ...version1 } = record;
    assert.equal(validate(version1), true, 'a format-1 record (no step truth) is still valid');
  });

  it('the fixture carries step truth: labels for every step, a flawed chain, step-truth metrics', () => {
    const records = readdirSync(path.join(FIXTURE_RUN, 'rollouts')).flatMap((name) => jsonLines(path.join(FIXTURE_RUN, 'rollouts', name)) as RolloutRecord[]);
    for (const record of records) assert.equal(record.step_labels?.length, record.steps.length, record.id);
    const flawed = records.filter((r) => r.correct && r.first_wrong_step !== null && r.first_wrong_step !== undefined).map((r) => r.id);
    assert.deepEqual(flawed, ['s000002-q000-l1-001-l2-001']);
    const lines = jsonLines(path.join(FIXTURE_RUN, 'metrics.jsonl')) as MetricsLine[];
    // Step 2, layer 2: 7 right answers, one of them flawed.
    assert.equal(lines[1].step_truth?.t2.flawed_right_answers, 1);
    assert.equal(lines[1].step_truth?.t2.right_answers, 7);
  });

  it('an imported record may hold null where its source recorded nothing; the trainer\'s own records never do', () => {
    const validate = ajv.getSchema(`${schema.$id}#/$defs/rolloutRecord`)!;
    const record = jsonLines(path.join(FIXTURE_RUN, 'rollouts', 'step-000001.jsonl'))[0] as Record<string, unknown>;
    const imported: Record<string, unknown> = { ...record, ...Object.fromEntries(NULLABLE_WHEN_IMPORTED.map((key) => [key, null])), derived: ['group_reward_mean'], source: { kind: 'verl', location: '1.jsonl:3', fields: { acc: 1 } } };
    assert.equal(validate(imported), true, ajv.errorsText(validate.errors));
    // Null is "not recorded", never a missing key, and the source block needs its kind.
    const { advantage: _advantage, ...withoutAdvantage } = imported;
    assert.equal(validate(withoutAdvantage), false);
    assert.equal(validate({ ...imported, source: { location: 'x' } }), false);
    assert.equal(validate({ ...imported, finish_reason: 'eos' }), false);
    const metrics = ajv.getSchema(`${schema.$id}#/$defs/metricsLine`)!;
    const line = jsonLines(path.join(FIXTURE_RUN, 'metrics.jsonl'))[0] as MetricsLine;
    const importedLine = { ...line, loss: null, train_seconds: null, step_seconds: null, tokens_per_second: null, layer1: { ...line.layer1, generation_seconds: null }, source_metrics: { 'critic/score/mean': 0.5 } };
    assert.equal(metrics(importedLine), true, ajv.errorsText(metrics.errors));
    const manifest = ajv.getSchema(`${schema.$id}#/$defs/manifest`)!;
    const run = JSON.parse(readFileSync(path.join(FIXTURE_RUN, 'run.json'), 'utf8'));
    assert.equal(manifest({ ...run, model: { name_or_path: null }, source: { kind: 'verl', absent_fields: ['advantage', 'model.name_or_path'] } }), true, ajv.errorsText(manifest.errors));
    assert.equal(manifest({ ...run, source: { absent_fields: [] } }), false, 'a source block names its kind');
    // The trainer's own run (the fixture) writes every one of them.
    const records = readdirSync(path.join(FIXTURE_RUN, 'rollouts')).flatMap((name) => jsonLines(path.join(FIXTURE_RUN, 'rollouts', name)) as Record<string, unknown>[]);
    for (const own of records) for (const key of NULLABLE_WHEN_IMPORTED) assert.notEqual(own[key], null, `${String(own.id)}.${key}`);
  });

  it('a step-values line validates, and one without values does not', () => {
    const check = ajv.getSchema(`${schema.$id}#/$defs/stepValues`)!;
    const line: StepValues = {
      record_id: 's000001-q000-l1-001', step: 1, checkpoint: 'checkpoints/step-000002', k: 4, seed: 0, temperature: 1,
      prefix_value: 0.75, values: [0.75, 0.25, 0], drops: [0, 0.5, 0.25], likely_error: 1, time: '2026-11-22T00:00:00Z',
    };
    assert.equal(check(line), true, ajv.errorsText(check.errors));
    const { values: _values, ...withoutValues } = line;
    assert.equal(check(withoutValues), false);
  });

  for (const [def, all, required] of [
    ['rolloutRecord', rolloutAll, rolloutRequired],
    ['manifest', manifestAll, manifestRequired],
    ['metricsLine', metricsAll, metricsRequired],
    ['evalResult', evalAll, undefined],
    ['checkpointState', checkpointAll, undefined],
    ['stepLabel', stepLabelAll, stepLabelRequired],
    ['stepTruthLayer', stepTruthLayerAll, undefined],
    ['departureCounts', departureAll, undefined],
    ['stepTruth', stepTruthAll, undefined],
    ['stepValues', stepValuesAll, stepValuesRequired],
    ['importSource', importSourceAll, importSourceRequired],
  ] as const) {
    it(`types.ts names the same fields as $defs/${def}`, () => {
      const d = schema.$defs[def];
      assert.deepEqual(sorted(Object.keys(all)), sorted(Object.keys(d.properties ?? {})));
      if (required) assert.deepEqual(sorted(Object.keys(required)), sorted(d.required ?? []));
      else assert.deepEqual(sorted(d.required ?? []), sorted(d.required ?? []).filter((k) => k in all));
    });
  }
});
