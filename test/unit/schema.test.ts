import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { CheckpointState, EvalResult, MetricsLine, RolloutRecord, RunManifest } from '../../extension/src/format/types';
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
  prompt: true, completion: true, ground_truth: true, parsed_answer: true, correct: true, prompt_tokens: true, completion_tokens: true,
  finish_reason: true, token_logprobs: true, token_entropies: true, token_offsets: true, reward: true, rewards: true, advantage: true,
  group_reward_mean: true, group_reward_std: true, outcome: true, parent_correct: true, steps: true, answer_span: true,
};
const rolloutRequired: KeySet<RequiredKeys<RolloutRecord>> = {
  id: true, run_id: true, step: true, layer: true, group: true, sample: true, question_id: true, parent_id: true, guiding_phrase: true,
  prompt: true, completion: true, ground_truth: true, parsed_answer: true, correct: true, prompt_tokens: true, completion_tokens: true,
  finish_reason: true, token_logprobs: true, token_offsets: true, reward: true, rewards: true, advantage: true,
  group_reward_mean: true, group_reward_std: true, outcome: true, steps: true,
};
const manifestAll: KeySet<keyof RunManifest> = {
  format_version: true, run_id: true, name: true, created: true, updated: true, status: true, algorithm: true, config: true, model: true,
  device: true, world_size: true, total_steps: true, completed_steps: true, last_checkpoint: true, pid: true, error: true,
};
const manifestRequired: KeySet<RequiredKeys<RunManifest>> = {
  format_version: true, run_id: true, created: true, updated: true, status: true, algorithm: true, config: true, model: true, total_steps: true, completed_steps: true,
};
const metricsAll: KeySet<keyof MetricsLine> = {
  step: true, time: true, layer1: true, layer2: true, correction: true, loss: true, kl: true, clip_fraction: true, entropy: true,
  grad_norm: true, learning_rate: true, train_seconds: true, step_seconds: true, tokens_per_second: true,
};
const metricsRequired: KeySet<RequiredKeys<MetricsLine>> = {
  step: true, time: true, layer1: true, correction: true, loss: true, kl: true, clip_fraction: true, train_seconds: true, step_seconds: true, tokens_per_second: true,
};
const evalAll: KeySet<keyof EvalResult> = { step: true, time: true, split: true, n: true, metrics: true, sampled_accuracy: true, problems: true };
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
    assert.equal(manifest({ ...run, format_version: 2 }), false);
  });

  for (const [def, all, required] of [
    ['rolloutRecord', rolloutAll, rolloutRequired],
    ['manifest', manifestAll, manifestRequired],
    ['metricsLine', metricsAll, metricsRequired],
    ['evalResult', evalAll, undefined],
    ['checkpointState', checkpointAll, undefined],
  ] as const) {
    it(`types.ts names the same fields as $defs/${def}`, () => {
      const d = schema.$defs[def];
      assert.deepEqual(sorted(Object.keys(all)), sorted(Object.keys(d.properties ?? {})));
      if (required) assert.deepEqual(sorted(Object.keys(required)), sorted(d.required ?? []));
      else assert.deepEqual(sorted(d.required ?? []), sorted(d.required ?? []).filter((k) => k in all));
    });
  }
});
