// The step-truth CLI as the editor drives it (model/stepTruthCommands): the argument lists it
// spawns, the progress and summary lines it reads back, and what it tells the user.
import { strict as assert } from 'node:assert';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { StepValues } from '../../extension/src/format/types';
import {
  baseModelCandidates, describeExportSummary, describeStepValues, EXPORT_SOURCES, exportStepLabelsArgs, exportSummaryOf, parseContinuations,
  parseStepValuesProgress, stepValuesArgs,
} from '../../extension/src/model/stepTruthCommands';
import { runLogged } from '../../extension/src/vscode/loggedProcess';
import { copyFixtureRun, REPO_ROOT } from './fixture';

describe('step-truth commands', () => {
  it('spawns step-values for one record with k and seed, as the CLI names them', () => {
    assert.deepEqual(stepValuesArgs({ runDir: '/runs/a b', step: 2, recordId: 's000002-q000-l1-001-l2-001', k: 8, seed: 0 }), [
      '-m', 'mgrpo', 'step-values', '--run-dir', '/runs/a b', '--step', '2', '--sample', 's000002-q000-l1-001-l2-001', '-k', '8', '--seed', '0',
    ]);
  });

  it('passes a model folder when one is chosen, and looks for a relative base model in the run, then the extension', () => {
    assert.deepEqual(stepValuesArgs({ runDir: '/r', step: 1, recordId: 's1', k: 2, seed: 3, checkpoint: '/models/tiny' }).slice(-2), ['--checkpoint', '/models/tiny']);
    assert.deepEqual(baseModelCandidates('trainer/models/mgrpo-demo-tiny', '/runs/a', '/ext'), ['/runs/a/trainer/models/mgrpo-demo-tiny', '/ext/trainer/models/mgrpo-demo-tiny']);
    assert.deepEqual(baseModelCandidates('/models/qwen', '/runs/a', '/ext'), ['/models/qwen']);
    assert.deepEqual(baseModelCandidates('  ', '/runs/a', '/ext'), []);
  });

  it('reads the progress lines and nothing else', () => {
    assert.deepEqual(parseStepValuesProgress('step-values: 3/10 s000002-q000-l1-001'), { done: 3, total: 10, recordId: 's000002-q000-l1-001', cached: false });
    assert.deepEqual(parseStepValuesProgress('step-values: 1/1 s1 (cached)'), { done: 1, total: 1, recordId: 's1', cached: true });
    assert.equal(parseStepValuesProgress('{"record_id": "s1"}'), null);
    assert.equal(parseStepValuesProgress('loading step-values: 1/2'), null);
  });

  it('takes 1..1024 continuations and says what is wrong with anything else', () => {
    assert.deepEqual(parseContinuations(' 16 '), { k: 16 });
    assert.match((parseContinuations('0') as { error: string }).error, /between 1 and 1024/);
    assert.match((parseContinuations('2000') as { error: string }).error, /between 1 and 1024/);
    assert.match((parseContinuations('eight') as { error: string }).error, /"eight" is not a whole number/);
    assert.match((parseContinuations('1.5') as { error: string }).error, /not a whole number/);
  });

  it('describes values as the chain from the prompt, with the likely error and its drop', () => {
    const values: StepValues = {
      record_id: 's1', step: 2, checkpoint: 'c', k: 4, seed: 0, temperature: 1, prefix_value: 0.75, values: [0.25, 0.5, 1],
      drops: [0.5, -0.25, -0.5], likely_error: 0, time: '2026-01-01T00:00:00Z',
    };
    assert.equal(describeStepValues(values), 'values 0.75 → 0.25 → 0.50 → 1.00 (k = 4) · likely error: step 1 (drop 0.50)');
    assert.equal(describeStepValues({ ...values, likely_error: null }), 'values 0.75 → 0.25 → 0.50 → 1.00 (k = 4) · no step lowers the value');
  });

  it('spawns the export with each source the CLI accepts', () => {
    assert.deepEqual(EXPORT_SOURCES.map((s) => s.source), ['implicit', 'checker', 'value']);
    assert.deepEqual(exportStepLabelsArgs('/r', '/out.jsonl', 'checker'), ['-m', 'mgrpo', 'export-step-labels', '--run-dir', '/r', '--to', '/out.jsonl', '--source', 'checker']);
  });

  it('finds the summary among log lines and describes precision and recall with their counts', () => {
    const summary = {
      rows: 3, source: 'implicit', path: '/out.jsonl',
      implicit_vs_checker: { rows: 3, true_positive: 3, false_positive: 1, false_negative: 2, true_negative: 4, precision: 0.75, recall: 0.6 },
    };
    const lines = ['INFO reading run', '{not json', JSON.stringify(summary), ''];
    assert.deepEqual(exportSummaryOf(lines), summary);
    assert.equal(exportSummaryOf(['{"rows": "3"}', 'done']), null);
    assert.equal(describeExportSummary(summary),
      '3 solutions with implicit labels written to /out.jsonl · “wrong step” against the checker: precision 75.0% (3 of 4), recall 60.0% (3 of 5)');
    assert.equal(describeExportSummary({ rows: 1, source: 'checker', path: '/c.jsonl' }), '1 solution with checker labels written to /c.jsonl');
  });
});

describe('export-step-labels through the real trainer CLI', function () {
  this.timeout(60_000);

  it('writes the implicit labels of the fixture and prints the summary the command shows', async function () {
    const python = path.join(REPO_ROOT, '.venv', 'bin', 'python');
    if (!existsSync(python)) this.skip();
    const run = await copyFixtureRun();
    try {
      const to = path.join(run.dir, 'labels.jsonl');
      const lines: string[] = [];
      const exit = await runLogged({
        command: python, args: exportStepLabelsArgs(run.dir, to, 'implicit'), cwd: run.dir,
        // What trainerEnvironment() gives every `python -m mgrpo` the extension starts.
        env: { ...process.env, PYTHONPATH: path.join(REPO_ROOT, 'trainer'), PYTHONSAFEPATH: '1' },
        onLine: (line) => lines.push(line),
      });
      assert.equal(exit.code, 0, lines.join('\n'));
      const summary = exportSummaryOf(lines);
      assert.ok(summary, `no summary in: ${lines.join('\n')}`);
      // The fixture's three i->c corrections depart at their parent's first wrong step (step 2):
      // three rows, step 2 labelled wrong in each, as the checker says (precision and recall 1).
      assert.equal(summary.rows, 3);
      assert.deepEqual(summary.implicit_vs_checker, { rows: 3, true_positive: 3, false_positive: 0, false_negative: 0, true_negative: 3, precision: 1, recall: 1 });
      const rows = (await fs.readFile(to, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { id: string; labels: boolean[] });
      assert.deepEqual(rows.map((r) => [r.id, r.labels]), [
        ['s000001-q000-l1-001', [true, false]],
        ['s000001-q001-l1-000', [true, false]],
        ['s000002-q000-l1-000', [true, false]],
      ]);
      assert.match(describeExportSummary(summary), /^3 solutions with implicit labels written to .*labels\.jsonl · “wrong step” against the checker: precision 100\.0% \(3 of 3\), recall 100\.0% \(3 of 3\)$/);
    } finally {
      await run.cleanup();
    }
  });
});
