import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { AbortError, RunReader, hasRollouts, stepOfRecordId } from '../../extension/src/format/runReader';
import type { RolloutRecord } from '../../extension/src/format/types';
import { FIXTURE_RUN, copyFixtureRun, tempDir } from './fixture';

/** Writes rollouts/step-<to>.jsonl as a copy of step <from> with its step and ids renumbered. */
async function deriveStep(runDir: string, from: number, to: number): Promise<string> {
  const pad = (n: number): string => String(n).padStart(6, '0');
  const text = await fs.readFile(path.join(runDir, 'rollouts', `step-${pad(from)}.jsonl`), 'utf8');
  const lines = text.split('\n').filter(Boolean).map((line) => {
    const r = JSON.parse(line) as RolloutRecord;
    r.step = to;
    r.id = r.id.replace(`s${pad(from)}`, `s${pad(to)}`);
    if (r.parent_id) r.parent_id = r.parent_id.replace(`s${pad(from)}`, `s${pad(to)}`);
    return JSON.stringify(r);
  });
  const file = path.join(runDir, 'rollouts', `step-${pad(to)}.jsonl`);
  await fs.writeFile(file, lines.join('\n') + '\n');
  return file;
}

async function appendMetricsFor(runDir: string, step: number): Promise<void> {
  const lines = (await fs.readFile(path.join(runDir, 'metrics.jsonl'), 'utf8')).split('\n').filter(Boolean);
  const line = JSON.parse(lines[lines.length - 1]);
  line.step = step;
  await fs.appendFile(path.join(runDir, 'metrics.jsonl'), JSON.stringify(line) + '\n');
}

async function setManifest(runDir: string, change: Record<string, unknown>): Promise<void> {
  const file = path.join(runDir, 'run.json');
  const manifest = JSON.parse(await fs.readFile(file, 'utf8'));
  await fs.writeFile(file, JSON.stringify({ ...manifest, ...change }, null, 2));
}

describe('RunReader', () => {
  describe('on the example fixture', () => {
    it('opens with the manifest, the metrics and the step list, and parses no step yet', async () => {
      const reader = await RunReader.open(FIXTURE_RUN);
      assert.equal(reader.manifest.run_id, 'example-run');
      assert.equal(reader.manifest.status, 'finished');
      assert.deepEqual(reader.metrics.map((m) => m.step), [1, 2]);
      assert.equal(reader.metricsFor(2)?.correction?.acc_t2, 0.875);
      assert.deepEqual(reader.steps(), [1, 2]);
      assert.deepEqual(reader.cachedSteps(), []);
      assert.deepEqual(reader.malformed, []);
    });

    it('loads a step as question groups of layer-1 samples with their corrections', async () => {
      const reader = await RunReader.open(FIXTURE_RUN);
      const step = await reader.loadStep(1);
      assert.equal(step.step, 1);
      assert.equal(step.byId.size, 12);
      assert.deepEqual(step.groups.map((g) => [g.group, g.questionId, g.question]), [
        [0, 'train-000017', 'Q: 3+5*2-7\n'],
        [1, 'train-000042', 'Q: 9*3-4+8*7\n'],
      ]);
      const sample = step.groups[0].layer1[1];
      assert.equal(sample.record.id, 's000001-q000-l1-001');
      assert.deepEqual(sample.corrections.map((c) => [c.id, c.outcome]), [
        ['s000001-q000-l1-001-l2-000', 'i->c'],
        ['s000001-q000-l1-001-l2-001', 'i->i'],
      ]);
      assert.deepEqual(step.malformed, []);
      assert.deepEqual(reader.cachedSteps(), [1]);
      assert.equal(await reader.loadStep(1), step, 'a cached step is the same object');
    });

    it('finds a record by id through the step its id encodes', async () => {
      const reader = await RunReader.open(FIXTURE_RUN);
      assert.equal(stepOfRecordId('s000040-q007-l1-002-l2-001'), 40);
      const record = await reader.findRecord('s000002-q001-l1-001');
      assert.match(record?.completion ?? '', /<script>/);
      assert.deepEqual(reader.cachedSteps(), [2], 'only step 2 was parsed');
      assert.equal(await reader.findRecord('s000009-q000-l1-000'), undefined);
      assert.equal(await reader.findRecord('no-such-id'), undefined);
      await assert.rejects(reader.loadStep(9), /step 9 has no rollout file/);
    });

    it('scans every record in file order, reporting progress per file', async () => {
      const reader = await RunReader.open(FIXTURE_RUN);
      const ids: string[] = [];
      const progress: [number, number][] = [];
      await reader.scan((r) => ids.push(r.id), { onProgress: (done, total) => progress.push([done, total]) });
      assert.equal(ids.length, 24);
      assert.equal(ids[0], 's000001-q000-l1-000');
      assert.equal(ids[4], 's000001-q000-l1-000-l2-000');
      assert.equal(ids[23], 's000002-q001-l1-001-l2-001');
      assert.deepEqual(progress, [[1, 2], [2, 2]]);
      assert.deepEqual(reader.cachedSteps(), [], 'a scan keeps nothing');
    });

    it('with mustContain parses only lines carrying the text', async () => {
      const reader = await RunReader.open(FIXTURE_RUN);
      const seen: RolloutRecord[] = [];
      await reader.scan((r) => seen.push(r), { mustContain: ['"i->c"'] });
      assert.deepEqual(seen.map((r) => r.id), ['s000001-q000-l1-001-l2-000', 's000001-q001-l1-000-l2-000', 's000002-q000-l1-000-l2-000']);
      const both: string[] = [];
      await reader.scan((r) => both.push(r.id), { mustContain: ['"i->i"', '"s000001-q000-l1-001-l2-001"'] });
      assert.deepEqual(both, ['s000001-q000-l1-001-l2-001', 's000001-q001-l1-000-l2-001', 's000002-q000-l1-000-l2-001'], 'a line matching two needles is visited once');
    });

    it('stops a scan when its signal is aborted', async () => {
      const reader = await RunReader.open(FIXTURE_RUN);
      const controller = new AbortController();
      let visited = 0;
      await assert.rejects(
        reader.scan(() => {
          visited += 1;
        }, { signal: controller.signal, onProgress: () => controller.abort() }),
        AbortError,
      );
      assert.equal(visited, 12, 'stopped after the first file');
    });

    it('says what is wrong with a folder that is not a run', async () => {
      const { dir, cleanup } = await tempDir();
      try {
        await assert.rejects(RunReader.open(dir), /is not an MGRPO run: run.json not found/);
        await fs.writeFile(path.join(dir, 'run.json'), JSON.stringify({ format_version: 99 }));
        await assert.rejects(RunReader.open(dir), /^Error: invalid run.json: .*run.json: format_version number 99 is not supported \(this extension reads format_version 1 and 2\)$/);
        await fs.writeFile(path.join(dir, 'run.json'), '{"format_version": 1,');
        await assert.rejects(RunReader.open(dir), /run.json: not JSON/);
      } finally {
        await cleanup();
      }
    });
  });

  describe('on a copy that changes', () => {
    let dir: string;
    let cleanup: () => Promise<void>;
    beforeEach(async () => ({ dir, cleanup } = await copyFixtureRun()));
    afterEach(() => cleanup());

    it('keeps at most maxCachedSteps parsed steps, least recently used out first', async () => {
      await deriveStep(dir, 2, 3);
      const reader = await RunReader.open(dir, { maxCachedSteps: 2 });
      assert.deepEqual(reader.steps(), [1, 2, 3]);
      const first = await reader.loadStep(1);
      await reader.loadStep(2);
      assert.deepEqual(reader.cachedSteps(), [1, 2]);
      await reader.loadStep(1); // now 2 is the least recently used
      await reader.loadStep(3);
      assert.deepEqual(reader.cachedSteps(), [1, 3]);
      assert.equal(await reader.loadStep(1), first);
      const again = await reader.loadStep(2);
      assert.deepEqual(reader.cachedSteps(), [1, 2]);
      assert.equal(again.byId.size, 12);
    });

    it('refresh sees appended metrics, a new step file and a changed manifest', async () => {
      await setManifest(dir, { status: 'running' });
      const reader = await RunReader.open(dir);
      assert.deepEqual(await reader.refresh(), { manifestChanged: false, newMetrics: [], newSteps: [], removedSteps: [], metricsRestarted: false, gone: false });

      await deriveStep(dir, 2, 3);
      let change = await reader.refresh();
      assert.deepEqual(change.newSteps, [3]);
      assert.deepEqual(change.newMetrics, []);
      assert.deepEqual(reader.steps(), [1, 2, 3]);
      assert.equal(reader.isStepComplete(3), false, 'no metrics line yet');
      await reader.loadStep(3);
      assert.deepEqual(reader.cachedSteps(), [], 'an incomplete step is not cached');

      await appendMetricsFor(dir, 3);
      await setManifest(dir, { completed_steps: 3, total_steps: 3 });
      change = await reader.refresh();
      assert.deepEqual(change.newMetrics.map((m) => m.step), [3]);
      assert.equal(change.manifestChanged, true);
      assert.equal(reader.manifest.completed_steps, 3);
      assert.equal(reader.isStepComplete(3), true);
      assert.equal((await reader.loadStep(3)).byId.get('s000003-q001-l1-001')?.step, 3);
      assert.deepEqual(reader.cachedSteps(), [3]);
    });

    it('refresh follows a resumed run that truncated metrics and deleted later steps', async () => {
      await deriveStep(dir, 2, 3);
      await appendMetricsFor(dir, 3);
      const reader = await RunReader.open(dir);
      await reader.loadStep(3);
      const lines = (await fs.readFile(path.join(dir, 'metrics.jsonl'), 'utf8')).split('\n').filter(Boolean);
      await fs.writeFile(path.join(dir, 'metrics.jsonl'), lines.slice(0, 2).join('\n') + '\n');
      await fs.rm(path.join(dir, 'rollouts', 'step-000003.jsonl'));
      const change = await reader.refresh();
      assert.equal(change.metricsRestarted, true);
      assert.deepEqual(change.removedSteps, [3]);
      assert.deepEqual(reader.metrics.map((m) => m.step), [1, 2]);
      assert.deepEqual(reader.steps(), [1, 2]);
      assert.deepEqual(reader.cachedSteps(), []);
      assert.equal(reader.generation, 1, 'what was derived from the old records is stale');
    });

    it('skips malformed lines and orphan corrections, counting each once with file:line', async () => {
      const file = path.join(dir, 'rollouts', 'step-000002.jsonl');
      const orphan = { ...JSON.parse((await fs.readFile(file, 'utf8')).split('\n')[4]), id: 's000002-q009-l1-000-l2-000', parent_id: 's000002-q009-l1-000' };
      await fs.appendFile(file, '{"truncated": \n' + JSON.stringify({ id: 'x', layer: 3 }) + '\n' + JSON.stringify(orphan) + '\n');
      const reader = await RunReader.open(dir);
      const step = await reader.loadStep(2);
      assert.equal(step.byId.size, 13, '12 good records and the orphan');
      assert.deepEqual(step.malformed.map((m) => [m.line, m.message.replace(/:.*/, '')]), [
        [13, 'not JSON'],
        [14, 'rollout record x'],
        [15, 'rollout record s000002-q009-l1-000-l2-000'],
      ]);
      assert.match(step.malformed[1].message, /"run_id"|layer/);
      assert.match(step.malformed[2].message, /parent s000002-q009-l1-000 is not in this step/);
      assert.ok(step.malformed.every((m) => m.file === file));
      await reader.scan(() => undefined);
      assert.equal(reader.malformed.length, 3, 'a scan finding the same lines does not count them twice');
    });

    it('ignores an unterminated last line of a step file (still being written)', async () => {
      const file = path.join(dir, 'rollouts', 'step-000001.jsonl');
      await fs.appendFile(file, '{"id": "s000001-q000-l1-0');
      await setManifest(dir, { status: 'running' });
      const reader = await RunReader.open(dir);
      assert.equal((await reader.loadStep(1)).byId.size, 12);
      let scanned = 0;
      await reader.scan(() => (scanned += 1), { steps: [1] });
      assert.equal(scanned, 12);
      assert.deepEqual(reader.malformed, []);
    });
  });
});

describe('hasRollouts', () => {
  it('is true for an opened run with step files only', async () => {
    assert.equal(hasRollouts(undefined), false);
    assert.equal(hasRollouts(await RunReader.open(FIXTURE_RUN)), true);
    const { dir, cleanup } = await copyFixtureRun();
    try {
      await fs.rm(path.join(dir, 'rollouts'), { recursive: true });
      assert.equal(hasRollouts(await RunReader.open(dir)), false);
    } finally {
      await cleanup();
    }
  });
});
