// Reads what a run wrote to disk, so the tests can compare what VS Code shows with the files
// (the ground truth) and validate them against the run-format schema.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { repoRoot } from '../../../scripts/lib/vscode-server.mjs';

export interface RolloutLine {
  id: string;
  step: number;
  group: number;
  sample: number;
  layer: 1 | 2;
  parent_id: string | null;
  reward: number;
  advantage: number;
  correct: boolean;
  outcome: 'i->c' | 'c->i' | 'c->c' | 'i->i' | null;
}

/** Run folders under <workspace>/.mgrpo/runs (the default mgrpo.runsFolder). */
export function runDirs(workspace: string): string[] {
  const runsFolder = path.join(workspace, '.mgrpo', 'runs');
  if (!fs.existsSync(runsFolder)) return [];
  return fs
    .readdirSync(runsFolder, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => path.join(runsFolder, entry.name));
}

export function readJsonLines<T>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  // A trailing line without "\n" is still being written (RUN_FORMAT.md); leave it out.
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((line) => line.trim())
    .map((line, index) => {
      try {
        return JSON.parse(line) as T;
      } catch (error) {
        throw new Error(`${file}:${index + 1}: not JSON (${(error as Error).message})`);
      }
    });
}

/** run.json's status and error, or undefined while it is not written yet. */
export function runStatus(runDir: string): { status: string; error: string | null } | undefined {
  const file = path.join(runDir, 'run.json');
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as { status: string; error: string | null };
  } catch {
    return undefined; // replaced atomically, but a reader may still race a half-copied file elsewhere
  }
}

/**
 * Polls until `condition(completed steps)` holds; fails at once, with the run's error and the
 * tail of trainer.log, if the run ends (failed/stopped/finished) before it does.
 */
export async function waitForSteps(runDir: string, condition: (steps: number[]) => boolean, timeoutMs: number, what: string): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const steps = completedSteps(runDir);
    if (condition(steps)) return steps;
    const status = runStatus(runDir);
    if (status && status.status !== 'running' && status.status !== 'paused') {
      const log = path.join(runDir, 'trainer.log');
      const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').slice(-8).join('\n') : '(no trainer.log)';
      throw new Error(`run ${path.basename(runDir)} ended (${status.status}: ${status.error ?? 'no error'}) before ${what}; trainer.log ends:\n${tail}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} in ${runDir}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Steps whose metrics line exists, i.e. whose rollout file is complete. */
export function completedSteps(runDir: string): number[] {
  return readJsonLines<{ step: number }>(path.join(runDir, 'metrics.jsonl')).map((line) => line.step);
}

export function rolloutFile(runDir: string, step: number): string {
  return path.join(runDir, 'rollouts', `step-${String(step).padStart(6, '0')}.jsonl`);
}

export function rollouts(runDir: string, step: number): RolloutLine[] {
  return readJsonLines<RolloutLine>(rolloutFile(runDir, step));
}

/**
 * Validates run.json, every metrics line and every rollout record against
 * trainer/mgrpo/schemas/run-format.schema.json. Returns the problems found (empty when valid).
 */
export function validateRunDir(runDir: string): string[] {
  const schemaPath = path.join(repoRoot, 'trainer', 'mgrpo', 'schemas', 'run-format.schema.json');
  const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8')) as { $id: string };
  const ajv = new Ajv2020({ allErrors: true });
  // The schema's only format; ajv-formats is not a dependency (same as test/unit/schema.test.ts).
  ajv.addFormat('date-time', { type: 'string', validate: (s: string) => !Number.isNaN(Date.parse(s)) });
  ajv.addSchema(schema);
  const check = (definition: string, value: unknown, where: string): string[] => {
    const validate = ajv.getSchema(`${schema.$id}#/$defs/${definition}`);
    if (!validate) return [`schema has no $defs/${definition}`];
    return validate(value) ? [] : [`${where}: ${ajv.errorsText(validate.errors)}`];
  };
  const problems: string[] = [];
  problems.push(...check('manifest', JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')), 'run.json'));
  readJsonLines(path.join(runDir, 'metrics.jsonl')).forEach((line, i) =>
    problems.push(...check('metricsLine', line, `metrics.jsonl:${i + 1}`)));
  const rolloutsDir = path.join(runDir, 'rollouts');
  for (const name of fs.existsSync(rolloutsDir) ? fs.readdirSync(rolloutsDir).sort() : []) {
    readJsonLines(path.join(rolloutsDir, name)).forEach((record, i) =>
      problems.push(...check('rolloutRecord', record, `rollouts/${name}:${i + 1}`)));
  }
  return problems;
}

/** The example run of trainer/RUN_FORMAT.md, as workspace files under `.mgrpo/runs/<runName>/`. */
export function fixtureRunFiles(runName = 'example-run'): Record<string, string> {
  const fixture = path.join(repoRoot, 'test', 'fixtures', 'example-run');
  const files: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files[path.join('.mgrpo', 'runs', runName, path.relative(fixture, full))] = fs.readFileSync(full, 'utf8');
    }
  };
  walk(fixture);
  return files;
}
