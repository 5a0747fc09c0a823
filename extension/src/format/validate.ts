// Checks what a run directory holds against the run-format schema itself: the validators are
// ajv's standalone code compiled from trainer/mgrpo/schemas/run-format.schema.json
// (scripts/gen-validators.mjs), so there is no hand-written subset to drift from the schema. A
// value that fails becomes a FormatError saying which field and what is wrong; nothing a run
// folder holds can make these functions throw anything else.

import * as generated from './generated/runFormatValidators';
import type { CheckpointState, EvalResult, MetricsLine, RolloutRecord, RunManifest, StepValues } from './types';

export class FormatError extends Error {
  override name = 'FormatError';
}

/** The part of an ajv error the messages use. */
interface SchemaError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}
type Validator = ((value: unknown) => boolean) & { errors?: SchemaError[] | null };

const validators = generated as unknown as Record<'manifest' | 'metricsLine' | 'rolloutRecord' | 'evalResult' | 'checkpointState' | 'stepValues', Validator>;

/** A short, safe rendering of a value for an error message (model text can be huge). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  return `${typeof value} ${String(value)}`;
}

/** The value at a JSON pointer (ajv's instancePath), or undefined. */
function valueAt(root: unknown, pointer: string): unknown {
  let value = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** `"model": missing "name_or_path"`, `"name" should be string, got number 1`, ... */
function explain(error: SchemaError, root: unknown): string {
  const at = error.instancePath ? `"${error.instancePath.slice(1).replace(/\//g, '.')}"` : 'the value';
  const value = valueAt(root, error.instancePath);
  switch (error.keyword) {
    case 'required':
      return `${error.instancePath ? `${at}: ` : ''}missing "${String(error.params.missingProperty)}"`;
    case 'type':
      return `${at} should be ${String(error.params.type).replace(',', ' or ')}, got ${describeValue(value)}`;
    case 'enum':
      return `${at} should be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(value)}`;
    case 'const':
      return `${at} should be ${JSON.stringify(error.params.allowedValue)}, got ${describeValue(value)}`;
    case 'oneOf':
      return `${at} has the wrong shape (got ${describeValue(value)})`;
    default:
      return `${at} ${error.message ?? `fails "${error.keyword}"`} (got ${describeValue(value)})`;
  }
}

function check<T>(validate: Validator, value: unknown, what: string): T {
  if (validate(value)) return value as T;
  const error = validate.errors?.[0];
  const problem = error ? explain(error, value) : 'does not match the run format';
  throw new FormatError(what ? `${what}: ${problem}` : problem);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseRolloutRecord(value: unknown): RolloutRecord {
  const id = isObject(value) && typeof value.id === 'string' ? value.id : undefined;
  const what = id === undefined ? 'rollout record' : `rollout record ${id}`;
  const record = check<RolloutRecord>(validators.rolloutRecord, value, what);
  // What the schema cannot say: a correction names the sample it corrects.
  if (record.layer === 2 && typeof record.parent_id !== 'string') throw new FormatError(`${what}: a layer-2 record needs "parent_id"`);
  return record;
}

export function parseMetricsLine(value: unknown): MetricsLine {
  const step = isObject(value) && typeof value.step === 'number' ? value.step : undefined;
  return check<MetricsLine>(validators.metricsLine, value, step === undefined ? 'metrics line' : `metrics line for step ${step}`);
}

/** The run.json format versions this extension reads (from the schema). */
export const FORMAT_VERSIONS: readonly number[] = (generated as unknown as { formatVersions: number[] }).formatVersions;

/** Checks a parsed run.json; the FormatError's message names the field (the caller adds the file). */
export function parseManifest(value: unknown): RunManifest {
  // Said before any other problem: a newer trainer's run needs a newer extension.
  if (isObject(value) && value.format_version !== undefined && !FORMAT_VERSIONS.includes(value.format_version as number)) {
    throw new FormatError(`format_version ${describeValue(value.format_version)} is not supported (this extension reads format_version ${FORMAT_VERSIONS.join(' and ')})`);
  }
  return check<RunManifest>(validators.manifest, value, '');
}

export function parseEvalResult(value: unknown): EvalResult {
  return check<EvalResult>(validators.evalResult, value, 'evaluation');
}

export function parseCheckpointState(value: unknown): CheckpointState {
  return check<CheckpointState>(validators.checkpointState, value, 'checkpoint state');
}

/** One line of step-values/step-NNNNNN.jsonl (format 2). */
export function parseStepValues(value: unknown): StepValues {
  const id = isObject(value) && typeof value.record_id === 'string' ? value.record_id : undefined;
  return check<StepValues>(validators.stepValues, value, id === undefined ? 'step values' : `step values of ${id}`);
}
