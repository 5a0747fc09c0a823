import { strict as assert } from 'node:assert';
import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { RunReader } from '../../extension/src/format/runReader';
import type { CorrectionOutcome, RolloutRecord } from '../../extension/src/format/types';
import { FILTER_PRESETS, describeFilter, matchesFilter, type SampleFilter } from '../../extension/src/model/filters';
import { CONTEXT_VALUES, childrenOf, matchingStepCounts, presentation, recordOf, runNode, type RunTreeNode } from '../../extension/src/model/runTree';
import { FIXTURE_RUN, copyFixtureRun, fixtureRecords } from './fixture';

/** Every node under `node`, depth first, with its depth (the run is depth 0). */
async function walk(node: RunTreeNode, reader: RunReader, filter?: SampleFilter, depth = 0): Promise<[number, RunTreeNode][]> {
  const out: [number, RunTreeNode][] = [[depth, node]];
  for (const child of await childrenOf(node, reader, filter)) out.push(...(await walk(child, reader, filter, depth + 1)));
  return out;
}

const preset = (label: string): SampleFilter => {
  const found = FILTER_PRESETS.find((p) => p.label === label);
  if (!found) throw new Error(`no preset ${label}`);
  return found.filter;
};

describe('sample filters', () => {
  const records = fixtureRecords();

  it('counts each outcome of the fixture as hand-counted', () => {
    const count = (outcome: CorrectionOutcome): number => records.filter((r) => matchesFilter(r, { outcomes: [outcome] })).length;
    assert.deepEqual({ 'c->c': count('c->c'), 'i->c': count('i->c'), 'i->i': count('i->i'), 'c->i': count('c->i') }, { 'c->c': 10, 'i->c': 3, 'i->i': 3, 'c->i': 0 });
  });

  it('combines layer, correctness and inclusive reward bounds', () => {
    assert.equal(records.filter((r) => matchesFilter(r, { layer: 1, correct: false })).length, 3);
    assert.equal(records.filter((r) => matchesFilter(r, { maxReward: 0 })).length, 6);
    assert.equal(records.filter((r) => matchesFilter(r, { minReward: 1, maxReward: 1, layer: 2 })).length, 13);
    assert.equal(records.filter((r) => matchesFilter(r, { outcomes: ['i->c'], layer: 1 })).length, 0, 'layer-1 samples have no outcome');
    assert.equal(records.filter((r) => matchesFilter(r, {})).length, 24);
  });

  it('describes presets by name and other filters by their parts', () => {
    assert.equal(describeFilter({ outcomes: ['c->i'] }), 'Layer 2 broke a right answer');
    assert.equal(describeFilter({ outcomes: ['i->c'] }), 'Corrections that fixed a wrong answer');
    assert.equal(describeFilter({ outcomes: ['c->i', 'i->c'] }), 'Corrections that changed correctness', 'order does not matter');
    assert.equal(describeFilter({ layer: 2, minReward: 0.5 }), 'layer 2 · reward ≥ 0.5');
    assert.equal(describeFilter({ outcomes: ['i->i'], correct: false, minReward: 0, maxReward: 0.5 }), 'outcome i->i (wrong -> wrong) · wrong · reward in [0, 0.5]');
    assert.equal(describeFilter(undefined), 'all samples');
  });

  it('answers a first outcome filter by searching the files, then indexes them for the next one', async () => {
    const reader = await RunReader.open(FIXTURE_RUN);
    const first = await matchingStepCounts(reader, { outcomes: ['i->c'] });
    assert.equal(first.get(1), 2);
    await reader.buildIndexes(); // what the first filter started in the background
    assert.deepEqual(reader.steps().map((s) => reader.isIndexed(s)), [true, true]);
    for (const outcome of ['c->i', 'c->c', 'i->i', 'i->c'] as const) {
      const fromIndex = await matchingStepCounts(reader, { outcomes: [outcome] });
      const fresh = await matchingStepCounts(await RunReader.open(FIXTURE_RUN), { outcomes: [outcome] });
      assert.deepEqual([...fromIndex], [...fresh], outcome);
    }
  });

  it('counts the same matches from the step indexes as over fully parsed records, for every preset', async () => {
    const reader = await RunReader.open(FIXTURE_RUN);
    for (const preset of FILTER_PRESETS) {
      const fromIndex = await reader.countRows((row) => matchesFilter(row, preset.filter));
      for (const step of reader.steps()) {
        const lines = (await fs.readFile(reader.rolloutPath(step), 'utf8')).split('\n').filter(Boolean);
        const parsed = lines.filter((l) => matchesFilter(JSON.parse(l), preset.filter)).length;
        assert.equal(fromIndex.get(step), parsed, `${preset.id} at step ${step}`);
      }
    }
    const broke = await reader.countRows((row) => matchesFilter(row, { outcomes: ['i->c'] }), { steps: [1] });
    assert.equal(broke.get(1), 2, 'the fixture has two i->c corrections at step 1');
  });
});

describe('Runs tree model', () => {
  it('lays out run -> step -> group -> layer-1 sample -> corrections without a filter', async () => {
    const reader = await RunReader.open(FIXTURE_RUN);
    const nodes = await walk(runNode(reader), reader);
    const perDepth = [0, 1, 2, 3, 4].map((d) => nodes.filter(([depth]) => depth === d).length);
    assert.deepEqual(perDepth, [1, 2, 4, 8, 16]);
    const ids = nodes.map(([, n]) => n.id);
    assert.equal(new Set(ids).size, ids.length, 'node ids are unique');
    const kinds = nodes.map(([d, n]) => `${d}:${n.kind}`);
    assert.deepEqual(kinds.slice(0, 5), ['0:run', '1:step', '2:group', '3:layer1', '4:layer2']);
  });

  it('"Layer 2 broke a right answer" shows nothing on the fixture, which has no c->i', async () => {
    const reader = await RunReader.open(FIXTURE_RUN);
    assert.deepEqual(await childrenOf(runNode(reader), reader, preset('Layer 2 broke a right answer')), []);
  });

  describe('with one right answer broken by layer 2', () => {
    let dir: string;
    let cleanup: () => Promise<void>;
    const brokenId = 's000002-q001-l1-000-l2-001';
    beforeEach(async () => {
      ({ dir, cleanup } = await copyFixtureRun());
      const file = path.join(dir, 'rollouts', 'step-000002.jsonl');
      const lines = (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean).map((l) => {
        const r = JSON.parse(l) as RolloutRecord;
        if (r.id === brokenId) Object.assign(r, { outcome: 'c->i', correct: false, reward: 0, rewards: { correctness: 0 }, parsed_answer: '9', advantage: -1.5 });
        return JSON.stringify(r);
      });
      await fs.writeFile(file, lines.join('\n') + '\n');
    });
    afterEach(() => cleanup());

    it('shows only the c->i correction, under its step, group and parent', async () => {
      const reader = await RunReader.open(dir);
      const nodes = await walk(runNode(reader), reader, preset('Layer 2 broke a right answer'));
      assert.deepEqual(nodes.map(([d, n]) => `${d}:${n.kind}:${recordOf(n)?.id ?? (n.kind === 'step' ? n.step : n.kind === 'group' ? n.group.group : '')}`), [
        '0:run:',
        '1:step:2',
        '2:group:1',
        '3:layer1:s000002-q001-l1-000',
        `4:layer2:${brokenId}`,
      ]);
      const step = nodes[1][1];
      assert.equal(step.kind === 'step' && step.matches, 1);
      assert.match(presentation(step).description, /^1 matching/);
      const correction = presentation(nodes[4][1]);
      assert.equal(correction.label, '✗ c->i  r=0.00');
      assert.equal(correction.icon, 'arrow-down');
      assert.equal(correction.color, 'charts.red');
    });

    it('hides groups and samples without a match', async () => {
      const reader = await RunReader.open(dir);
      const fixed = preset('Corrections that fixed a wrong answer');
      const steps = await childrenOf(runNode(reader), reader, fixed);
      assert.deepEqual(steps.map((s) => s.kind === 'step' && [s.step, s.matches]), [[1, 2], [2, 1]]);
      const groups = await childrenOf(steps[1], reader, fixed);
      assert.deepEqual(groups.map((g) => g.kind === 'group' && g.group.group), [0], 'group 1 of step 2 has no i->c');
      const samples = await childrenOf(groups[0], reader, fixed);
      assert.deepEqual(samples.map((s) => recordOf(s)?.id), ['s000002-q000-l1-000']);
      const corrections = await childrenOf(samples[0], reader, fixed);
      assert.deepEqual(corrections.map((c) => recordOf(c)?.id), ['s000002-q000-l1-000-l2-000']);
    });

    it('keeps all corrections as context under a layer-1 filter', async () => {
      const reader = await RunReader.open(dir);
      const wrongFirst = preset('Wrong first answers');
      const nodes = await walk(runNode(reader), reader, wrongFirst);
      const layer1 = nodes.filter(([, n]) => n.kind === 'layer1').map(([, n]) => recordOf(n)?.id);
      assert.deepEqual(layer1, ['s000001-q000-l1-001', 's000001-q001-l1-000', 's000002-q000-l1-000']);
      assert.equal(nodes.filter(([, n]) => n.kind === 'layer2').length, 6);
    });

    it('caches per-filter step counts for complete steps', async () => {
      const reader = await RunReader.open(dir);
      const broke = preset('Layer 2 broke a right answer');
      assert.deepEqual([...(await matchingStepCounts(reader, broke))], [[2, 1]]);
      // The finished run's files do not change; a second call must not read them again.
      await fs.writeFile(path.join(dir, 'rollouts', 'step-000002.jsonl'), '');
      assert.deepEqual([...(await matchingStepCounts(reader, broke))], [[2, 1]]);
      // A resume that truncates metrics.jsonl invalidates the counts: step 2 is counted again.
      const metrics = path.join(dir, 'metrics.jsonl');
      await fs.writeFile(metrics, (await fs.readFile(metrics, 'utf8')).split('\n')[0] + '\n');
      await reader.refresh();
      assert.deepEqual([...(await matchingStepCounts(reader, broke))], []);
    });
  });

  it('shows a live run\'s progress from metrics.jsonl when run.json lags behind (it is rewritten at checkpoints)', async () => {
    const reader = await RunReader.open(FIXTURE_RUN);
    const node = runNode(reader);
    const lagging = { ...node, manifest: { ...node.manifest, status: 'running' as const, completed_steps: 0 } };
    assert.match(presentation(lagging).description, /^running · 2\/2 · /);
  });

  it('presents nodes with outcome, reward and numbers, escaping model text', async () => {
    const reader = await RunReader.open(FIXTURE_RUN);
    const run = presentation(runNode(reader));
    assert.equal(run.label, 'example run (hand-made fixture)');
    assert.equal(run.description, 'finished · 2/2 · Acc@t1 0.75 → Acc@t2 0.88');
    assert.equal(run.icon, 'pass');
    assert.equal(run.contextValue, CONTEXT_VALUES.run);

    const [step1] = await childrenOf(runNode(reader), reader);
    assert.deepEqual(
      (({ label, description, contextValue, collapsible }) => ({ label, description, contextValue, collapsible }))(presentation(step1)),
      { label: 'step 1', description: 'Acc@t1 0.50 → Acc@t2 0.75', contextValue: 'mgrpoStep', collapsible: true },
    );
    assert.ok(presentation(step1).tooltip.includes('| Acc@t1 → Acc@t2 | 0\\.500 → 0\\.750 |'), 'numbers are escaped like any other cell');

    const [group0] = await childrenOf(step1, reader);
    const group = presentation(group0);
    assert.equal(group.label, 'q 0 · Q: 3+5*2-7');
    assert.equal(group.description, 'layer 1 1/2 right · layer 2 3/4 right');

    const [, wrongSample] = await childrenOf(group0, reader);
    const sample = presentation(wrongSample);
    assert.equal(sample.label, '✗ sample 1  r=0.00');
    assert.equal(sample.description, 'adv -1.000 · 23 tok · 2 corrections');
    assert.equal(sample.icon, 'error');
    assert.equal(sample.color, 'testing.iconFailed');
    assert.equal(sample.contextValue, 'mgrpoLayer1Sample');

    const [fixedIt] = await childrenOf(wrongSample, reader);
    const correction = presentation(fixedIt);
    assert.equal(correction.label, '✓ i->c  r=1.00');
    assert.equal(correction.description, 'adv +1.000 · 23 tok · “Wait, let me double-check that.”');
    assert.equal(correction.icon, 'arrow-up');
    assert.equal(correction.color, 'charts.green');
    assert.equal(correction.contextValue, 'mgrpoLayer2Sample');
    assert.equal(correction.collapsible, false);

    const step2 = (await childrenOf(runNode(reader), reader))[1];
    const group1 = (await childrenOf(step2, reader))[1];
    const scripted = (await childrenOf(group1, reader))[1];
    const tooltip = presentation(scripted).tooltip;
    assert.ok(!tooltip.includes('<script>'), tooltip);
    assert.match(tooltip, /&lt;script&gt;alert\\\('x'\\\)&lt;\/script&gt;/);
  });

  it('escapes every value of a run tooltip, not only model text', () => {
    const manifest = JSON.parse(readFileSync(path.join(FIXTURE_RUN, 'run.json'), 'utf8'));
    const hostile = { ...manifest, run_id: '[x](command:evil)', status: '**finished**', algorithm: '<img src=x>', total_steps: '# 3' };
    const node: RunTreeNode = { kind: 'run', id: 'r', runDir: '/runs/`a`|b', manifest: hostile, malformedLines: 2 };
    const tooltip = presentation(node).tooltip;
    for (const raw of ['[x](command:evil)', '**finished**', '<img', '`a`|b']) assert.ok(!tooltip.includes(raw), `${raw} reached the markdown: ${tooltip}`);
    assert.ok(tooltip.includes('\\[x\\]\\(command:evil\\)'));
    assert.ok(tooltip.includes('&lt;img src=x&gt;'));
    assert.ok(tooltip.includes('| steps | 2 / \\# 3 |'), 'counts too');
    assert.ok(tooltip.includes('| malformed lines | 2 skipped |'));
  });
});
