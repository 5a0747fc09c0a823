// Issue 4, tests 1-5: the path a person takes, in order, in one VS Code on an empty workspace.
// Start the embedded demo, watch it fill the Runs view, open a sample's trace, hover a step,
// diff a correction, filter to wrong -> right corrections, stop the run. Each test builds on the
// previous one's state (like the person would); what VS Code shows is checked against the run's
// files on disk.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Locator } from 'playwright-core';
import { completedSteps, rollouts, runDirs, validateRunDir, waitForSteps, type RolloutLine } from './harness/runFiles';
import { useVSCode, vscodeIt, waitFor } from './harness/session';
import { renderedText, selectors } from './harness/workbench';

// The demo trains on CPU; the first step includes starting Python and importing torch.
const FIRST_STEP_TIMEOUT_MS = 240_000;

describe('user path: train the embedded demo and debug its rollouts', function () {
  this.timeout(300_000);
  const vscode = useVSCode();
  let runDir: string | undefined;
  let runsView: Locator;

  const requireRun = (): string => {
    if (!runDir) throw new Error('no run: the "start" test did not get one going');
    return runDir;
  };

  vscodeIt('1. starts the embedded demo from the palette; status bar and Runs view follow the training', vscode, ['startRun', 'runsTree'], async function ({ workbench, workspace }) {
    await workbench.runCommand('MGRPO: Start MGRPO Run');
    const labels = await workbench.quickItemLabels();
    assert.match(labels[0] ?? '', /Embedded demo/, `first choice should be the embedded demo; got ${labels.join(' | ')}`);
    const demoRow = workbench.quickItem(/Embedded demo/).first();
    assert.match(await demoRow.locator('.label-description').innerText(), /tiny model.*CPU/i);
    await workbench.pickQuickItem(/Embedded demo/);

    // The run folder appears in the workspace, then its first metrics line.
    runDir = await waitFor(() => runDirs(workspace).find((dir) => fs.existsSync(path.join(dir, 'run.json'))), 60_000, 'a run folder with run.json');
    await waitForSteps(runDir, (steps) => steps.length >= 1, FIRST_STEP_TIMEOUT_MS, 'step 1 in metrics.jsonl');

    // Status bar: "MGRPO ... step N/total ..." with N >= 1.
    const status = workbench.statusBarItem(/MGRPO.*step [1-9]\d*\/\d+/);
    await status.waitFor({ state: 'visible', timeout: 60_000 });
    const [, total] = /step \d+\/(\d+)/.exec(await status.innerText())!;
    const manifest = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')) as { total_steps: number };
    assert.equal(Number(total), manifest.total_steps, 'status bar total = run.json total_steps');

    // Start revealed the Runs view with the new run selected (no notification kept open for the run).
    runsView = workbench.view('Runs');
    const selected = runsView.locator('.monaco-list-row[aria-selected="true"]').filter({ hasText: path.basename(runDir) });
    await selected.waitFor({ state: 'visible', timeout: 30_000 });
    assert.ok(!(await workbench.notifications()).some((n) => /^MGRPO demo/.test(n)), 'no progress notification for the run');

    // Runs view: the run, and under it steps that keep coming while it trains.
    await workbench.openViewContainer('MGRPO');
    const runRow = runsView.locator('.monaco-list-row[aria-level="1"]').first();
    await workbench.expandTreeItem(runRow);
    await workbench.treeItem(runsView, 'step 1').waitFor({ state: 'visible', timeout: 60_000 });
    const later = Math.max(...completedSteps(runDir)) + 1;
    await waitForSteps(runDir, (steps) => steps.includes(later), FIRST_STEP_TIMEOUT_MS, `step ${later}`);
    await workbench.treeItem(runsView, `step ${later}`).waitFor({ state: 'visible', timeout: 60_000 });
  });

  vscodeIt('2. opens a layer-1 sample as a coloured trace; hovering a step shows its reward and advantage', vscode, ['startRun', 'runsTree', 'traceDocuments'], async function ({ workbench }) {
    const dir = requireRun();
    // A layer-1 sample with corrections (so test 3 can diff it), from the first step that has one;
    // one with a non-zero advantage if there is one, so the hover's numbers say something.
    const hasCorrections = (records: RolloutLine[], r: RolloutLine) => r.layer === 1 && records.some((c) => c.parent_id === r.id);
    let withCorrections: RolloutLine | undefined;
    await waitForSteps(dir, (steps) => {
      for (const step of steps) {
        const candidates = rollouts(dir, step).filter((r, _, records) => hasCorrections(records, r));
        withCorrections = candidates.find((r) => r.advantage !== 0) ?? candidates[0];
        if (withCorrections) return true;
      }
      return false;
    }, FIRST_STEP_TIMEOUT_MS, 'a layer-1 sample with layer-2 corrections');
    assert.ok(withCorrections);

    await workbench.expandTreeItem(workbench.treeItem(runsView, `step ${withCorrections.step}`));
    const question = workbench.treeItem(runsView, new RegExp(`^q ${withCorrections.group}\\b`)).first();
    await workbench.expandTreeItem(question);
    const sampleRow = workbench.treeItem(runsView, new RegExp(`sample ${withCorrections.sample}\\b`)).first();
    await sampleRow.click();

    const editor = workbench.activeEditor();
    await workbench.waitForText(`id: ${withCorrections.id}`, editor);
    await workbench.statusBarItem(/^\s*Reasoning Trace\s*$/).waitFor({ state: 'visible' });
    // TextMate tokenizing is asynchronous: the text renders plain first, then in colour.
    let colors = new Set<string>();
    await waitFor(async () => (colors = await workbench.tokenColors(editor)).size >= 3, 20_000,
      'the grammar to colour the trace (headers, steps, numbers: 3 or more colours)').catch((error: Error) => {
      throw new Error(`${error.message}; saw colours ${[...colors].join(', ')}`);
    });

    const hover = await workbench.hoverBelow('### step 1');
    const reward = /reward\s+(-?[\d.]+)/.exec(hover);
    const advantage = /advantage\s+([+\-−]?[\d.]+)/.exec(hover);
    assert.ok(reward && advantage, `hover lacks reward/advantage:\n${hover}`);
    assertClose(parseNumber(reward[1]), withCorrections.reward, reward[1], 'hover reward');
    assertClose(parseNumber(advantage[1]), withCorrections.advantage, advantage[1], 'hover advantage');
    traceUnderTest = withCorrections;
  });

  let traceUnderTest: RolloutLine | undefined;

  vscodeIt('3. "Diff Correction Trace" opens layer 1 against a layer-2 correction', vscode, ['startRun', 'runsTree', 'traceDocuments', 'diffCorrection'], async function ({ workbench, page }) {
    const layer1 = traceUnderTest;
    assert.ok(layer1, 'test 2 did not open a trace');
    const corrections = rollouts(requireRun(), layer1.step).filter((r) => r.parent_id === layer1.id);

    await workbench.runCommand('MGRPO: Diff Correction Trace');
    // With several corrections the command asks which; take the first.
    const diff = page.locator(selectors.diffEditor);
    await page.locator(`${selectors.diffEditor}, ${selectors.quickInputRow}`).first().waitFor({ state: 'visible' });
    if (!(await diff.isVisible())) await workbench.pickQuickItem(/L2 #\d+/);
    await diff.first().waitFor({ state: 'visible' });

    const left = await renderedText(diff.locator('.editor.original .monaco-editor').first());
    const right = await renderedText(diff.locator('.editor.modified .monaco-editor').first());
    assert.match(left, new RegExp(`id: ${layer1.id}`));
    assert.match(left, /layer: 1/);
    const rightId = /id: (\S+)/.exec(right)?.[1];
    assert.ok(rightId && corrections.some((c) => c.id === rightId), `right side ${rightId} is not a correction of ${layer1.id}`);
    assert.match(right, /layer: 2/);
    const correction = corrections.find((c) => c.id === rightId)!;
    await workbench.editorTab(new RegExp(`step ${layer1.step} · q ${layer1.group}: .*(right|wrong)`));
    assert.match(right, new RegExp(`outcome: ${escape(correction.outcome ?? '')}`));
  });

  vscodeIt('4. filters to corrections that turned wrong into right; the view shows only those', vscode, ['startRun', 'runsTree', 'filterSamples'], async function ({ workbench }) {
    const dir = requireRun();
    // A completed step with at least one i->c correction (wait for training to produce one).
    const hasFix = (s: number) => rollouts(dir, s).some((r) => r.outcome === 'i->c');
    const steps = await waitForSteps(dir, (done) => done.some(hasFix), FIRST_STEP_TIMEOUT_MS, 'a step with an i->c correction');
    const step = steps.find(hasFix)!;
    const records = rollouts(dir, step);
    const fixed = records.filter((r) => r.outcome === 'i->c');
    const groups = new Set(fixed.map((r) => r.group));

    await workbench.runCommand('MGRPO: Filter Samples');
    await workbench.pickQuickItem(/fixed a wrong answer/);
    // Start from a collapsed tree so every row below is under this step.
    await workbench.collapseAll();
    await workbench.expandTreeItem(runsView.locator('.monaco-list-row[aria-level="1"]').first());
    const stepRow = workbench.treeItem(runsView, `step ${step}`);
    await stepRow.filter({ hasText: `${fixed.length} matching` }).waitFor({ state: 'visible' });
    await workbench.expandTreeItem(stepRow);

    const questionRows = runsView.locator('.monaco-list-row[aria-level="3"]');
    await questionRows.first().waitFor({ state: 'visible' });
    // The rows of an expanded step render in turn: read them once all the expected ones are there (any extra row
    // still fails the comparison below).
    await waitFor(async () => (await questionRows.count()) >= groups.size || undefined, 20_000, `${groups.size} question rows under step ${step}`);
    const shownGroups = (await questionRows.locator('.label-name').allInnerTexts()).map((t) => Number(/q (\d+)/.exec(t)![1]));
    assert.deepEqual(shownGroups.sort((a, b) => a - b), [...groups].sort((a, b) => a - b), 'questions shown = questions with an i->c correction');

    const firstGroup = [...groups][0];
    // A tree remembers which questions were open (test 2 opened one) across Collapse All: close them,
    // so the "sample N" row below can only be this question's.
    const openQuestions = runsView.locator('.monaco-list-row[aria-level="3"][aria-expanded="true"]');
    for (let open = await openQuestions.count(); open > 0; open = await openQuestions.count()) {
      await openQuestions.first().locator('.monaco-tl-twistie').click();
      await waitFor(async () => (await openQuestions.count()) < open, 10_000, 'an open question row to collapse');
    }
    const questionRow = workbench.treeItem(runsView, new RegExp(`^q ${firstGroup}\\b`));
    await workbench.expandTreeItem(questionRow);
    const parent = records.find((r) => r.id === fixed.find((f) => f.group === firstGroup)!.parent_id)!;
    // A live refresh can bring another question's rows back open: take the first "sample N" row below this
    // question's row, which is this question's own.
    const questionIndex = Number(await questionRow.first().getAttribute('data-index'));
    const sampleRows = workbench.treeItem(runsView, new RegExp(`sample ${parent.sample}\\b`));
    await sampleRows.first().waitFor({ state: 'visible' });
    const candidates = (await sampleRows.evaluateAll((rows) => rows.map((row) => ({ index: Number(row.getAttribute('data-index')), label: row.getAttribute('aria-label') ?? '' }))))
      .filter((row) => row.index > questionIndex)
      .sort((a, b) => a.index - b.index);
    assert.ok(candidates.length > 0, `no "sample ${parent.sample}" row below q ${firstGroup}`);
    // By its whole label (reward, advantage, tokens), which a re-render keeps, rather than its list position.
    await workbench.expandTreeItem(runsView.getByRole('treeitem', { name: candidates[0].label, exact: true }));
    const outcomeRows = runsView.locator('.monaco-list-row .label-name').filter({ hasText: /(i->c|c->i|c->c|i->i)/ });
    await outcomeRows.first().waitFor({ state: 'visible' });
    const outcomes = await outcomeRows.allInnerTexts();
    assert.ok(outcomes.every((label) => label.includes('i->c')), `filtered view shows other outcomes: ${outcomes.join(' | ')}`);
    // The filter stays on, so this test's screenshot shows the filtered view.
  });

  vscodeIt('5. stops the run from the palette; the trainer process ends and the run validates', vscode, ['startRun', 'stopRun'], async function ({ workbench, server }) {
    const dir = requireRun();
    const trainers = () => server.descendants().filter((p) => /python/.test(p.cmdline) && /mgrpo/.test(p.cmdline));
    assert.ok(trainers().length >= 1, `no trainer process under code-server: ${server.descendants().map((p) => p.cmdline).join('\n')}`);

    await workbench.runCommand('MGRPO: Stop Run');
    await workbench.waitForNotification(/MGRPO: run .* stopped/);
    await waitFor(() => trainers().length === 0, 30_000, 'the trainer process to exit');

    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as { status: string; completed_steps: number };
    assert.equal(manifest.status, 'stopped');
    assert.equal(manifest.completed_steps, Math.max(...completedSteps(dir)), 'completed_steps = last metrics line');
    assert.deepEqual(validateRunDir(dir), []);
    await workbench.statusBarItem(/MGRPO.*step/).waitFor({ state: 'hidden' });
  });
});

/** Numbers as the extension prints them: maybe a leading "+" or a Unicode minus. */
function parseNumber(text: string): number {
  return Number(text.replace('−', '-').replace(/^\+/, ''));
}

/** Equal to the precision the text was printed with (half a unit in its last digit). */
function assertClose(shown: number, actual: number, text: string, what: string): void {
  const decimals = (text.split('.')[1] ?? '').length;
  const tolerance = 0.5 * 10 ** -decimals + 1e-12;
  assert.ok(Math.abs(shown - actual) <= tolerance, `${what}: shows ${text}, the rollout file has ${actual}`);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
