import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { RunReader } from '../../extension/src/format/runReader';
import type { RolloutRecord } from '../../extension/src/format/types';
import { correctnessText, notRecorded, sourceFieldEntries } from '../../extension/src/model/absence';
import { stepHoverMarkdown } from '../../extension/src/model/hoverContent';
import { presentation } from '../../extension/src/model/runTree';
import { traceSteps } from '../../extension/src/model/segmentation';
import { dashboardPoint, MetricPresence } from '../../extension/src/vscode/panels/dashboardData';
import { renderTrace } from '../../extension/src/model/traceDocument';
import { REPO_ROOT, fixtureRecord, tempDir } from './fixture';

/** A layer-1 record as `python -m mgrpo import` writes one from verl: no advantages, token data or correctness. */
function verlRecord(): RolloutRecord {
  const base = fixtureRecord('s000001-q000-l1-001');
  return {
    ...base,
    correct: null, ground_truth: '5', parsed_answer: null, advantage: null, token_logprobs: null, token_offsets: null, token_entropies: null,
    prompt_tokens: null, completion_tokens: null, finish_reason: null,
    reward: 1, rewards: { acc: 1 }, group_reward_mean: 0.5, group_reward_std: 0.5,
    derived: ['group_reward_mean', 'group_reward_std', 'steps', 'answer_span'],
    source: { kind: 'verl', location: '1.jsonl:2', fields: { request_id: 'r-17', acc: 1, 'long|name': 'a'.repeat(200) } },
  };
}

describe('imported runs: views say what the source did not record', () => {
  it('says "not recorded by <kind>", and never reads null as false', () => {
    assert.equal(notRecorded('verl'), 'not recorded by verl');
    assert.equal(notRecorded(undefined), 'not recorded by the source');
    assert.equal(correctnessText(null, 'trl'), 'not recorded by trl');
    assert.equal(correctnessText(false, 'trl'), 'wrong');
  });

  it('hover: reward, derived group statistics, "not recorded" for advantage and tokens, the source columns', () => {
    const record = verlRecord();
    const step = traceSteps(record)[0];
    assert.deepEqual(step.tokenRange, [0, 0]);
    const hover = stepHoverMarkdown(record, step);
    const lines = hover.split('\n');
    assert.equal(lines[0], '**Step 1** · layer 1 · answer correctness not recorded by verl');
    assert.ok(lines.includes('| reward | 1.00 (acc 1.00) |') || lines.includes('| reward | 1.00 |'), hover);
    assert.ok(lines.includes('| advantage | not recorded by verl |'), hover);
    assert.ok(lines.includes('| group reward | mean 0.500 · std 0.500 (derived) |'), hover);
    assert.ok(lines.includes('| token probability | not recorded by verl |'), hover);
    assert.ok(lines.includes('| reward share | — (tokens not recorded by verl) |'), hover);
    assert.ok(lines.includes('| source | verl · 1\\.jsonl:2 |'), hover);
    assert.ok(lines.includes('| request\\_id | r\\-17 |'), hover);
    // A column name with a table pipe is escaped; a long value is cut.
    const long = lines.find((line) => line.startsWith('| long\\|name |'));
    assert.ok(long && long.length < 140, long);
  });

  it('source columns: strings as they are, other values as JSON, long ones cut', () => {
    assert.deepEqual(sourceFieldEntries({ source: { kind: 'verl', fields: { a: 'x', b: [1, 2], c: null } } }), [['a', 'x'], ['b', '[1,2]'], ['c', 'null']]);
    assert.deepEqual(sourceFieldEntries({ source: { kind: 'verl' } }), []);
    assert.equal(sourceFieldEntries({ source: { kind: 'verl', fields: { a: 'y'.repeat(100) } } }, 10)[0][1], `${'y'.repeat(10)}…`);
  });

  it('tree row: ? mark, "adv not recorded by verl", and the source in the tooltip', () => {
    const record = verlRecord();
    const shown = presentation({ kind: 'layer1', id: 'x', runDir: '/r', step: 1, sample: { record, corrections: [] }, corrections: [] });
    assert.equal(shown.label, '? sample 1  r=1.00');
    assert.match(String(shown.description), /^adv not recorded by verl · tokens not recorded by verl$/);
    assert.equal(shown.icon, 'circle-outline');
    const tooltip = String(shown.tooltip);
    assert.match(tooltip, /layer\\-1 sample 1 · not recorded by verl/);
    assert.match(tooltip, /advantage.*not recorded by verl/);
    assert.match(tooltip, /\| source \| verl · 1\\\.jsonl:2 \|/);
  });

  it('trace document: a missing prompt and correctness are said, not invented', () => {
    const record = { ...verlRecord(), prompt: null, ground_truth: null };
    const text = renderTrace(record, { maxCharacters: 10_000 }).text;
    assert.match(text, /## prompt\n— \(not recorded by verl\)\n/);
    assert.match(text, /ground truth: — \(not recorded by verl\) · verdict not recorded by verl/);
    assert.match(text, /parsed answer: — \(not recorded by verl\)/, 'not "none found": an importer parses no answers');
  });
});

describe('imported runs: the extension reads what python -m mgrpo import writes', function () {
  this.timeout(120_000);

  it('the verl sample imports into a run the reader opens whole: steps, groups, nulls where verl is silent', async () => {
    const { dir, cleanup } = await tempDir('mgrpo-import-');
    try {
      const runDir = path.join(dir, 'run');
      execFileSync(path.join(REPO_ROOT, '.venv', 'bin', 'python'), ['-m', 'mgrpo', 'import', path.join(REPO_ROOT, 'trainer', 'tests', 'fixtures', 'sources', 'verl'), '--to', runDir], {
        env: { ...process.env, PYTHONPATH: path.join(REPO_ROOT, 'trainer'), PYTHONSAFEPATH: '1', OMP_NUM_THREADS: '1' }, stdio: 'pipe',
      });
      const reader = await RunReader.open(runDir);
      assert.equal(reader.manifest.source?.kind, 'verl');
      assert.equal(reader.manifest.model.name_or_path, null);
      assert.deepEqual(reader.steps(), [1, 2]);
      const step1 = await reader.loadStep(1);
      assert.equal(step1.malformed.length, 0, JSON.stringify(step1.malformed));
      // Step 1 of the sample: 5 rows, "2+3" three times (uid a1b2_*), "7*6" twice: groups of 3 and 2.
      assert.deepEqual(step1.groups.map((g) => g.layer1.length), [3, 2]);
      const first = step1.groups[0].layer1[0].record;
      assert.equal(first.advantage, null);
      assert.equal(first.token_logprobs, null);
      assert.equal(first.source?.kind, 'verl');
      // Group mean/std derived from the group's rewards 0, 1, 1 (population std sqrt(2/9)).
      assert.ok(Math.abs((first.group_reward_mean ?? NaN) - 2 / 3) < 1e-9);
      assert.ok(Math.abs((first.group_reward_std ?? NaN) - Math.sqrt(2 / 9)) < 1e-9);
      assert.equal(reader.metricsFor(1)?.loss, null);
      // The dashboard says which of its charts verl does not fill, instead of drawing them empty.
      const presence = new MetricPresence();
      presence.reset(reader.metrics.map(dashboardPoint));
      const unrecorded = presence.unrecorded(reader.manifest);
      for (const key of ['loss', 'kl', 'clipFraction', 'tokensPerSecond', 'accT2', 'rewardLayer2'] as const) assert.equal(unrecorded[key], 'not recorded by verl', key);
      assert.equal(unrecorded.rewardLayer1, undefined); // verl's score is its reward
    } finally {
      await cleanup();
    }
  });
});
