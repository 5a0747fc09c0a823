import { strict as assert } from 'node:assert';
import Module = require('node:module');
import { RunReader } from '../../extension/src/format/runReader';
import type { MetricsLine, RunManifest } from '../../extension/src/format/types';
import { REFRESH_INTERVAL_MS } from '../../extension/src/model/runRefresh';
import type { RunTreeNode } from '../../extension/src/model/runTree';
import type { RunsTreeElement, RunsTreeProvider as Provider } from '../../extension/src/vscode/runsTree';
import { FIXTURE_RUN } from './fixture';
import { EventEmitter } from './vscodeRuntime';

// The Runs view provider against a live run, with the few pieces of `vscode` it uses faked: what it
// fires (the elements VS Code would redraw, with everything expanded under them) for each change.

const fakeVscode = {
  EventEmitter,
  TreeItem: class { constructor(public label: string, public collapsibleState: number) {} },
  TreeItemCollapsibleState: { None: 0, Collapsed: 1 },
  MarkdownString: class { constructor(public value: string) {} },
  ThemeIcon: class { constructor(public id: string, public color?: unknown) {} },
  ThemeColor: class { constructor(public id: string) {} },
  l10n: { t: (text: string, ...args: unknown[]) => text.replace(/\{(\d+)\}/g, (_, i: string) => String(args[Number(i)])) },
  window: {
    createTreeView: () => ({ description: undefined, reveal: async () => undefined, dispose: () => undefined }),
    withProgress: (_options: unknown, task: () => unknown) => task(),
    showErrorMessage: async () => undefined,
  },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Runs view provider: refreshes of a live run', function () {
  this.timeout(10_000);
  const loader = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
  const original = loader._load;
  let RunsTreeProvider: typeof Provider;
  let base: { manifest: RunManifest; metrics: MetricsLine[] };

  before(async () => {
    loader._load = function load(request: string, parent: unknown, isMain: boolean) {
      if (request === 'vscode') return fakeVscode;
      return original.call(this, request, parent, isMain);
    };
    // Required, not imported: the hook must be in place when the provider's module loads `vscode`.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    RunsTreeProvider = (require('../../extension/src/vscode/runsTree') as typeof import('../../extension/src/vscode/runsTree')).RunsTreeProvider;
    const reader = await RunReader.open(FIXTURE_RUN);
    base = { manifest: reader.manifest, metrics: reader.metrics.slice() };
  });
  after(() => {
    loader._load = original;
  });

  /** A run of two steps whose step 2 is written but has no metrics line yet; `complete()` finishes it. */
  function setUp() {
    const state = { done: 1, steps: [1, 2] };
    const reader = {
      runDir: '/runs/live',
      get manifest(): RunManifest {
        return { ...base.manifest, status: state.done < 2 ? 'running' : 'finished', completed_steps: state.done };
      },
      get metrics(): MetricsLine[] {
        return base.metrics.filter((m) => m.step <= state.done);
      },
      malformed: [],
      generation: 0,
      steps: () => state.steps.slice(),
      metricsFor: (step: number) => base.metrics.find((m) => m.step === step && step <= state.done),
      isStepComplete: (step: number) => step <= state.done,
    };
    const session = { runDir: reader.runDir, reader, trainer: undefined, endedWithoutStatus: false, reportMalformed: () => false };
    const runChanged = new EventEmitter<{ session: typeof session }>();
    const live = new EventEmitter<void>();
    const ctx = {
      runs: {
        onDidChangeRuns: new EventEmitter<void>().event,
        onDidChangeRun: runChanged.event,
        onDidChangeLive: live.event,
        all: () => [session],
        get: (dir: string) => (dir === session.runDir ? session : undefined),
      },
      onDidChangeFilter: new EventEmitter<unknown>().event,
      sampleFilter: {},
      traces: { readerFor: async () => reader },
      log: { error: () => undefined },
    };
    const provider = new RunsTreeProvider(ctx as never);
    const fired: (RunsTreeElement | undefined)[] = [];
    provider.onDidChangeTreeData((element) => fired.push(element));
    return {
      provider, fired,
      change: () => runChanged.fire({ session }),
      liveChange: () => live.fire(),
      complete: () => { state.done = 2; },
    };
  }

  it('fires once per burst, then only what changed: the growing step alone, the run when its row changes, nothing when nothing did', async () => {
    const { provider, fired, change, liveChange, complete } = setUp();
    try {
      const [root] = await provider.getChildren();
      const steps = (await provider.getChildren(root)) as RunTreeNode[];
      assert.deepEqual(steps.map((s) => s.id), ['/runs/live::step:1', '/runs/live::step:2']);

      for (let i = 0; i < 5; i++) change();
      liveChange();
      await sleep(150);
      assert.deepEqual(fired, [root], 'a burst of six changes: one refresh, of the run');

      // Nothing new but step 2 is still being written: step 2 alone, as the very object VS Code holds.
      fired.length = 0;
      change();
      await sleep(REFRESH_INTERVAL_MS + 150);
      assert.equal(fired.length, 1);
      assert.equal(fired[0], steps[1], 'the step node VS Code was given, so it finds it');

      // Step 2's metrics line and run.json arrive: the run's row changes, so the run.
      fired.length = 0;
      complete();
      change();
      await sleep(REFRESH_INTERVAL_MS + 150);
      assert.deepEqual(fired, [root]);
      const again = (await provider.getChildren(root)) as RunTreeNode[];
      assert.equal(again[1], steps[1], 'step nodes keep their identity across fetches');
      assert.equal(again[1].kind === 'step' && again[1].metrics?.step, 2, '...and are updated in place');

      // The run is finished and complete: further polls and trainer-state changes redraw nothing.
      fired.length = 0;
      change();
      liveChange();
      await sleep(REFRESH_INTERVAL_MS + 150);
      assert.deepEqual(fired, []);
    } finally {
      provider.dispose();
    }
  });

  it('refreshes a run at most once per interval', async () => {
    const { provider, fired, change } = setUp();
    try {
      const [root] = await provider.getChildren();
      await provider.getChildren(root);
      change();
      await sleep(120);
      assert.equal(fired.length, 1);
      const firstAt = Date.now();
      change(); // step 2 still growing: worth a refresh, but not before the interval is over
      await sleep(150);
      assert.equal(fired.length, 1, 'not yet');
      await sleep(REFRESH_INTERVAL_MS);
      assert.equal(fired.length, 2);
      assert.ok(Date.now() - firstAt >= REFRESH_INTERVAL_MS - 150);
    } finally {
      provider.dispose();
    }
  });
});
