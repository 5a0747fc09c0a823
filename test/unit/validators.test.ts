import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { OUTPUT_FILE, SCHEMA_FILE, generateValidators } from '../../scripts/gen-validators.mjs';
import { parseManifest, parseRolloutRecord, FORMAT_VERSIONS } from '../../extension/src/format/validate';
import { FIXTURE_RUN } from './fixture';
import * as path from 'node:path';

describe('run-format validators compiled from the schema', () => {
  it('the committed generated module is what the schema compiles to now', () => {
    const fresh = generateValidators(readFileSync(SCHEMA_FILE, 'utf8'));
    assert.ok(readFileSync(OUTPUT_FILE, 'utf8') === fresh, `${OUTPUT_FILE} is stale: run node scripts/gen-validators.mjs`);
  });

  it('reads the format versions from the schema', () => {
    assert.deepEqual(FORMAT_VERSIONS, [1, 2]);
  });

  const manifest = JSON.parse(readFileSync(path.join(FIXTURE_RUN, 'run.json'), 'utf8')) as Record<string, unknown>;
  for (const [change, message] of [
    [{ model: {} }, '"model": missing "name_or_path"'],
    [{ name: 1 }, '"name" should be string, got number 1'],
    [{ status: 'exploded' }, '"status" should be one of "running", "paused", "finished", "stopped", "failed", got the string "exploded"'],
    [{ total_steps: -1 }, '"total_steps" must be >= 0 (got number -1)'],
    [{ created: 'yesterday' }, '"created" must match format "date-time" (got the string "yesterday")'],
  ] as const) {
    it(`rejects run.json with ${JSON.stringify(change)}: ${message}`, () => {
      assert.throws(() => parseManifest({ ...manifest, ...change }), (e: Error) => e.name === 'FormatError' && e.message === message);
    });
  }

  it('rejects a record whose steps hold null, naming the field', () => {
    const record = JSON.parse(readFileSync(path.join(FIXTURE_RUN, 'rollouts', 'step-000001.jsonl'), 'utf8').split('\n')[0]) as Record<string, unknown>;
    assert.throws(() => parseRolloutRecord({ ...record, steps: [null] }), (e: Error) => e.message === `rollout record ${record.id as string}: "steps.0" should be object, got null`);
    assert.doesNotThrow(() => parseRolloutRecord(record));
  });
});
