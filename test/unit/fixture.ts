// Shared by the unit tests: the schema's example run (test/fixtures/example-run) and temp dirs.
// Reading the real fixture means a change of format on either side breaks a test.

import { promises as fs, readFileSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RolloutRecord } from '../../extension/src/format/types';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const FIXTURE_RUN = path.join(REPO_ROOT, 'test', 'fixtures', 'example-run');
export const SCHEMA_PATH = path.join(REPO_ROOT, 'trainer', 'mgrpo', 'schemas', 'run-format.schema.json');

export function fixtureRecords(): RolloutRecord[] {
  const dir = path.join(FIXTURE_RUN, 'rollouts');
  return readdirSync(dir)
    .sort()
    .flatMap((name) => readFileSync(path.join(dir, name), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as RolloutRecord));
}

export function fixtureRecord(id: string): RolloutRecord {
  const found = fixtureRecords().find((r) => r.id === id);
  if (!found) throw new Error(`fixture has no record ${id}`);
  return found;
}

/**
 * A copy of the fixture's first layer-1 record (question 3+5*2-7) whose completion is the given step lines, one per
 * line, then `A: <answer>`; steps and answer span point at them and every character is a token of log-prob -0.1.
 */
export function chainRecord(stepLines: string[], answer: string, layer: 1 | 2 = 1): RolloutRecord {
  const base = fixtureRecord('s000001-q000-l1-000');
  const steps: { start: number; end: number }[] = [];
  let completion = '';
  for (const line of stepLines) {
    steps.push({ start: completion.length, end: completion.length + line.length });
    completion += `${line}\n`;
  }
  const answer_span = { start: completion.length, end: completion.length + 3 + answer.length };
  completion += `A: ${answer}\n`;
  const offsets = Array.from({ length: completion.length }, (_, i) => i);
  return { ...base, layer, completion, steps, answer_span, token_offsets: offsets, token_logprobs: offsets.map(() => -0.1) };
}

/** A fresh temp directory, removed by the returned cleanup. */
export async function tempDir(prefix = 'mgrpo-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}

/** Copies the fixture run into a temp directory so a test can change it. */
export async function copyFixtureRun(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const temp = await tempDir('mgrpo-run-');
  await fs.cp(FIXTURE_RUN, temp.dir, { recursive: true });
  return temp;
}

/** A tiny JSON-lines record for the follower's tests: {"x": <number>}, anything else throws. */
export interface Point {
  x: number;
}
export function parsePoint(value: unknown): Point {
  const x = (value as { x?: unknown })?.x;
  if (typeof x !== 'number') throw new Error(`"x" should be a number, got ${JSON.stringify(x)}`);
  return { x };
}
