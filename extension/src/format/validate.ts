// Cheap structural checks for what a run directory holds. The schema is the full definition
// (test/unit/schema.test.ts runs ajv over the fixture); these checks run on every line of a
// million-sample run, so they look only at the fields the extension relies on and say exactly
// which one is wrong.

import type { MetricsLine, RolloutRecord, RunManifest } from './types';

export class FormatError extends Error {
  override name = 'FormatError';
}

type Json = Record<string, unknown>;

function object(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FormatError(`${what}: expected an object, got ${describe(value)}`);
  }
  return value as Json;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  return `${typeof value} ${String(value)}`;
}

function field(o: Json, key: string, type: 'string' | 'number' | 'boolean' | 'object' | 'array', what: string, nullable = false): void {
  const value = o[key];
  if (value === null && nullable) return;
  const ok =
    type === 'array' ? Array.isArray(value) :
    type === 'object' ? typeof value === 'object' && value !== null && !Array.isArray(value) :
    type === 'number' ? typeof value === 'number' && Number.isFinite(value) :
    typeof value === type;
  if (!ok) {
    const expected = nullable ? `${type} or null` : type;
    throw new FormatError(value === undefined ? `${what}: missing "${key}"` : `${what}: "${key}" should be ${expected}, got ${describe(value)}`);
  }
}

export function parseRolloutRecord(value: unknown): RolloutRecord {
  const o = object(value, 'rollout record');
  field(o, 'id', 'string', 'rollout record');
  const what = `rollout record ${o.id as string}`;
  for (const key of ['run_id', 'question_id', 'prompt', 'completion', 'ground_truth'] as const) field(o, key, 'string', what);
  for (const key of ['step', 'group', 'sample', 'reward', 'advantage', 'group_reward_mean', 'group_reward_std'] as const) field(o, key, 'number', what);
  if (o.layer !== 1 && o.layer !== 2) throw new FormatError(`${what}: "layer" should be 1 or 2, got ${describe(o.layer)}`);
  field(o, 'correct', 'boolean', what);
  field(o, 'parent_id', 'string', what, true);
  field(o, 'parsed_answer', 'string', what, true);
  field(o, 'guiding_phrase', 'string', what, true);
  field(o, 'token_logprobs', 'array', what);
  field(o, 'token_offsets', 'array', what);
  field(o, 'steps', 'array', what);
  if (o.layer === 2 && typeof o.parent_id !== 'string') throw new FormatError(`${what}: a layer-2 record needs "parent_id"`);
  const outcome = o.outcome;
  if (outcome !== null && outcome !== 'i->c' && outcome !== 'c->i' && outcome !== 'c->c' && outcome !== 'i->i') {
    throw new FormatError(`${what}: "outcome" should be one of i->c, c->i, c->c, i->i or null, got ${describe(outcome)}`);
  }
  return o as unknown as RolloutRecord;
}

export function parseMetricsLine(value: unknown): MetricsLine {
  const o = object(value, 'metrics line');
  field(o, 'step', 'number', 'metrics line');
  const what = `metrics line for step ${o.step as number}`;
  field(o, 'layer1', 'object', what);
  field(o, 'correction', 'object', what, true);
  field(o, 'loss', 'number', what);
  return o as unknown as MetricsLine;
}

export function parseManifest(value: unknown): RunManifest {
  const o = object(value, 'run.json');
  if (o.format_version !== 1) {
    throw new FormatError(`run.json: format_version ${describe(o.format_version)} is not supported (this extension reads format_version 1)`);
  }
  for (const key of ['run_id', 'created', 'updated', 'status', 'algorithm'] as const) field(o, key, 'string', 'run.json');
  field(o, 'total_steps', 'number', 'run.json');
  field(o, 'completed_steps', 'number', 'run.json');
  field(o, 'model', 'object', 'run.json');
  return o as unknown as RunManifest;
}
