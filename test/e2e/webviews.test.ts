// The two webviews on a finished run (a copy of test/fixtures/example-run in the workspace's
// .mgrpo/runs): the dashboard draws its charts and the evaluation table with the fixture's numbers,
// and the inspector shows a layer-1 sample and its correction in a Monaco diff editor, annotated
// per reasoning step, with hovers, a picker for the other corrections, and model text kept as text.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator } from 'playwright-core';
import { runCacheFolder } from '../../extension/src/format/indexCache';
import { fixtureRunFiles } from './harness/runFiles';
import { useVSCode, vscodeIt, waitFor, type VSCodeSession } from './harness/session';
import { renderedText, selectors } from './harness/workbench';

const LIVE_RUN = path.join('.mgrpo', 'runs', 'live-run');
const EXAMPLE_RUN = path.join('.mgrpo', 'runs', 'example-run');

/**
 * Two copies of the fixture run under .mgrpo/runs: `example-run` as it is (finished), and
 * `live-run`, marked running with 10 steps to go, which the live test appends to.
 */
function workspaceRuns(): Record<string, string> {
  const files = { ...fixtureRunFiles('example-run'), ...fixtureRunFiles('live-run') };
  const manifest = JSON.parse(files[path.join(LIVE_RUN, 'run.json')]) as Record<string, unknown>;
  // No pid: nothing says its trainer is gone, so the extension follows it as a growing run.
  Object.assign(manifest, { run_id: 'live-run', name: 'live run (appended by the test)', status: 'running', total_steps: 10, pid: null });
  files[path.join(LIVE_RUN, 'run.json')] = JSON.stringify(manifest, null, 2);
  return files;
}

/** Pixels a canvas has drawn (alpha > 0): a chart with lines has many, an empty one almost none. */
async function paintedPixels(frame: FrameLocator, selector: string): Promise<number[]> {
  return frame.locator(selector).evaluateAll((canvases) => canvases.map((canvas) => {
    const c = canvas as HTMLCanvasElement;
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted += 1;
    return painted;
  }));
}

/**
 * Starts from an empty editor area. Run from the palette over a focused webview, a command's quick
 * pick can lose focus to the webview coming back and close: a race of the workbench, not of a panel.
 */
async function closeAllEditors({ workbench, page }: VSCodeSession): Promise<void> {
  await page.locator(selectors.quickInput).waitFor({ state: 'hidden' });
  await workbench.runCommand('View: Close All Editors');
  await page.locator(selectors.webview).first().waitFor({ state: 'detached' });
  await page.locator(selectors.quickInput).waitFor({ state: 'hidden' });
}

const LAYER1 = 's000002-q000-l1-000';
const FIXED = 's000002-q000-l1-000-l2-000';
const STILL_WRONG = 's000002-q000-l1-000-l2-001';

describe('webviews: dashboard and inspector on a finished run', function () {
  this.timeout(180_000);
  const vscode = useVSCode({ workspaceFiles: workspaceRuns() });

  vscodeIt('the dashboard draws the run header, six charts and the evaluation table', vscode, ['dashboard'], async function (session) {
    const { workbench } = session;
    await workbench.runCommand('MGRPO: Show Dashboard');
    await workbench.pickQuickItem('example run (hand-made fixture)');
    const frame = await workbench.webview(/MGRPO Dashboard: example run/);
    await frame.locator('#eval-table').waitFor({ state: 'visible' });
    await frame.locator('#root[data-steps="2"]').waitFor({ state: 'attached' });

    const header = await frame.locator('#run-header').innerText();
    assert.match(header, /example run \(hand-made fixture\)/);
    assert.match(header, /finished/);
    assert.match(header, /2 \/ 2/);
    // The last step's Acc@t1 -> Acc@t2 (metrics.jsonl step 2: 0.75 -> 0.875).
    assert.match(header, /75\.0% → 87\.5%/);

    const captions = await frame.locator('figure.chart figcaption').allInnerTexts();
    assert.deepEqual(captions, [
      'Accuracy before and after correction',
      'Corrections: Δ i→c vs Δ c→i',
      'Confidence, critique, RSS',
      'Reward mean per layer',
      'Loss, KL, clip fraction',
      'Throughput',
    ]);
    // uPlot draws on canvas: every chart has painted its axes and lines.
    const painted = await paintedPixels(frame, 'figure.chart canvas');
    assert.equal(painted.length, 6);
    painted.forEach((count, i) => assert.ok(count > 500, `chart ${captions[i]} painted only ${count} pixels`));

    // eval/step-000000.json: n 2, Acc@t1 0.5, Acc@t2 1.0, Δ 0.5, i->c 0.5, c->i 0, CL 1, CS 1, RSS 1.5.
    const headings = await frame.locator('#eval-table thead th').allInnerTexts();
    assert.deepEqual(headings.map((t) => t.trim()), ['Step', 'n', 'Acc@t1', 'Acc@t2', 'Δ', 'Δ i→c', 'Δ c→i', 'CL', 'CS', 'RSS']);
    const cells = await frame.locator('#eval-table tbody tr').first().locator('td').allInnerTexts();
    assert.deepEqual(cells.map((t) => t.trim()), ['0', '2', '50.0%', '100.0%', '+50.0 pp', '50.0%', '0.0%', '1.000', '1.000', '1.500']);
    await session.screenshot('webviews-dashboard');
  });

  vscodeIt('the dashboard of a growing run follows new metrics lines and evaluations', vscode, ['dashboard'], async function (session) {
    const { workbench, workspace, page } = session;
    await closeAllEditors(session);
    await workbench.runCommand('MGRPO: Show Dashboard');
    await workbench.pickQuickItem('live run (appended by the test)');
    const frame = await workbench.webview(/MGRPO Dashboard: live run/);
    await frame.locator('#root[data-steps="2"]').waitFor({ state: 'attached' });

    // The trainer appends step 3 (a whole line, as RUN_FORMAT.md says) and an evaluation after it.
    const runDir = path.join(workspace, LIVE_RUN);
    const lines = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n');
    const step3 = JSON.parse(lines[1]) as Record<string, unknown> & { correction: Record<string, unknown> };
    Object.assign(step3, { step: 3, step_seconds: 3 });
    Object.assign(step3.correction, { acc_t1: 0.8, acc_t2: 0.9 });
    fs.appendFileSync(path.join(runDir, 'metrics.jsonl'), `${JSON.stringify(step3)}\n`);
    await frame.locator('#root[data-steps="3"]').waitFor({ state: 'attached' });
    const header = await frame.locator('#run-header').innerText();
    assert.match(header, /running/);
    assert.match(header, /3 \/ 10/);
    assert.match(header, /80\.0% → 90\.0%/);
    // ETA: 7 steps left at the mean of 2.1, 2.1 and 3 s per step (2.4 s) = 16.8 s.
    assert.match(header, /ETA\s*17s/);

    const evaluation = JSON.parse(fs.readFileSync(path.join(runDir, 'eval', 'step-000000.json'), 'utf8')) as Record<string, unknown>;
    Object.assign(evaluation, { step: 3, metrics: { n: 2, acc_t1: 1, acc_t2: 1, delta: 0, delta_i2c: 0, delta_c2i: 0, cl: 1, cs: null, rss: null } });
    fs.writeFileSync(path.join(runDir, 'eval', 'step-000003.json'), JSON.stringify(evaluation));
    // The next metrics line makes the session report a change; the table reads eval/ then.
    fs.appendFileSync(path.join(runDir, 'metrics.jsonl'), `${JSON.stringify({ ...step3, step: 4 })}\n`);
    await frame.locator('#eval-table tbody tr:first-child td:first-child', { hasText: /^3$/ }).waitFor({ state: 'attached' });
    const newest = (await frame.locator('#eval-table tbody tr').first().locator('td').allInnerTexts()).map((t) => t.trim());
    assert.deepEqual(newest, ['3', '2', '100.0%', '100.0%', '0.0 pp', '0.0%', '0.0%', '1.000', '—', '—']);
    assert.equal(await frame.locator('#eval-table tbody tr').count(), 2);
    await session.screenshot('webviews-dashboard-live');
  });

  vscodeIt('the inspector shows layer 1 and its correction in a Monaco diff editor, annotated per step', vscode, ['inspector'], async function (session) {
    const { workbench, page } = session;
    await closeAllEditors(session);
    await workbench.runCommand('MGRPO: Show Inspector');
    await workbench.pickQuickItem('example run (hand-made fixture)');
    await workbench.pickQuickItem('step 2');
    // The sample list: filter it to one correction by its id (the items' descriptions hold it).
    await page.locator(selectors.quickInputBox).fill(FIXED);
    await workbench.pickQuickItem(/L2 #0 of L1 #0/);

    const frame = await workbench.webview(/MGRPO Inspector/);
    await frame.locator(`#root[data-correction="${FIXED}"]`).waitFor({ state: 'attached' });
    const diff = frame.locator(selectors.diffEditor);
    await diff.waitFor({ state: 'visible' });
    const left = await renderedText(diff.locator('.editor.original'));
    const right = await renderedText(diff.locator('.editor.modified'));
    assert.match(left, /3\+5=8\s*\n8\*2=9/);
    assert.match(left, /A: 2/);
    assert.match(right, /8\*2=6/);
    assert.match(right, /A: 9/);

    const header = await frame.locator('#inspector-header').innerText();
    assert.match(header, /step 2 · q 0/);
    assert.match(header, /i->c \(wrong → right\)/);
    assert.match(header, /Wait, let me double-check that\./);
    assert.match(header, /ground truth\s*9/);

    // The first divergent step (8*2, the second step) is marked on both sides, with its note.
    await diff.locator('.editor.original .mgrpo-divergent').first().waitFor({ state: 'attached' });
    await diff.locator('.editor.modified .mgrpo-divergent').first().waitFor({ state: 'attached' });
    assert.match(right, /layer 2 departs from layer 1 here/);
    assert.match(left, /least confident: min p 0\.66/);
    await session.screenshot('webviews-inspector');

    // Hovering a step of the correction shows what it earned.
    const step = diff.locator('.editor.modified .view-line', { hasText: '3+5=8' }).first();
    const hover = frame.locator(selectors.hover).filter({ visible: true }).first();
    await step.hover({ position: { x: 12, y: 6 } });
    await hover.waitFor({ state: 'visible' });
    const hoverText = await hover.innerText();
    assert.match(hoverText, /Step 1/);
    assert.match(hoverText, /advantage\s*\+1\.000/);
    assert.match(hoverText, /token probability/);
    await session.screenshot('webviews-inspector-hover');
  });

  vscodeIt('the picker switches to another correction of the same layer-1 sample', vscode, ['inspector'], async function (session) {
    const { workbench } = session;
    const frame = await workbench.webview(/MGRPO Inspector/);
    const picker = frame.locator('#correction-picker');
    await picker.click();
    await frame.getByText('L2 #1 · i->i (wrong → wrong) · r=0.00').filter({ visible: true }).first().click();
    await frame.locator(`#root[data-correction="${STILL_WRONG}"]`).waitFor({ state: 'attached' });
    const right = await waitFor(async () => {
      const text = await renderedText(frame.locator(`${selectors.diffEditor} .editor.modified`));
      return /3\+5=1/.test(text) ? text : undefined;
    }, 20_000, 'the second correction in the right editor');
    assert.match(right, /A: 5/);
    // The diff is computed again (by Monaco's worker) for the new pair: its changed lines are marked.
    await frame.locator(`${selectors.diffEditor} .editor.modified .line-insert`).first().waitFor({ state: 'attached' });
    assert.match(await frame.locator('#inspector-header').innerText(), /i->i \(wrong → wrong\)/);
    assert.equal(await frame.locator('#root').getAttribute('data-layer1'), LAYER1);
  });

  vscodeIt('model text that looks like HTML stays text in the inspector', vscode, ['inspector'], async function (session) {
    const { workbench, page } = session;
    // s000002-q001-l1-001 answered with a line "<script>alert('x')</script>".
    await closeAllEditors(session);
    await workbench.runCommand('MGRPO: Show Inspector');
    await workbench.pickQuickItem('example run (hand-made fixture)');
    await workbench.pickQuickItem('step 2');
    await page.locator(selectors.quickInputBox).fill('s000002-q001-l1-001-l2-000');
    await workbench.pickQuickItem(/L2 #0 of L1 #1/);
    const frame = await workbench.webview(/MGRPO Inspector/);
    await frame.locator('#root[data-correction="s000002-q001-l1-001-l2-000"]').waitFor({ state: 'attached' });
    const left = await renderedText(frame.locator(`${selectors.diffEditor} .editor.original`));
    assert.match(left, /<script>alert\('x'\)<\/script>/);
    // The page runs only its bundle (and VS Code's own acquireVsCodeApi script); no script came from the model.
    const scripts = await frame.locator('script').evaluateAll((elements) => elements.map((e) => ({ id: e.id, src: (e as HTMLScriptElement).src, text: e.textContent ?? '' })));
    assert.deepEqual(scripts.filter((s) => s.id !== '_vscodeApiScript').map((s) => s.src.replace(/^.*\//, '')), ['inspector.js']);
    assert.ok(scripts.every((s) => !s.text.includes("alert('x')")), 'a script element holds the model text');
  });

  vscodeIt('a window reload brings the dashboard and the inspector back, showing what they showed', vscode, ['dashboard', 'inspector'], async function (session) {
    const { workbench, page } = session;
    // The inspector shows the correction of the previous test; add the example run's dashboard.
    await page.locator(selectors.quickInput).waitFor({ state: 'hidden' });
    await workbench.runCommand('MGRPO: Show Dashboard');
    await workbench.pickQuickItem('example run (hand-made fixture)');
    await (await workbench.webview(/MGRPO Dashboard: example run/)).locator('#root[data-steps="2"]').waitFor({ state: 'attached' });

    // VS Code's own reload (not the browser's): it saves the editors and webview states first.
    const reloaded = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame(), timeout: 60_000 });
    await workbench.runCommand('Developer: Reload Window');
    await reloaded;
    await workbench.waitUntilLoaded();
    // Restored by the extension's WebviewPanelSerializers from the state each webview kept.
    const dashboard = await workbench.webview(/MGRPO Dashboard: example run/);
    await dashboard.locator('#root[data-steps="2"]').waitFor({ state: 'attached', timeout: 90_000 });
    assert.match(await dashboard.locator('#run-header').innerText(), /example run \(hand-made fixture\)/);
    const inspector = await workbench.webview(/MGRPO Inspector/);
    await inspector.locator('#root[data-correction="s000002-q001-l1-001-l2-000"]').waitFor({ state: 'attached', timeout: 90_000 });
  });
});

describe('runs leaving the Runs view: removed from it (the folder stays), or deleted (the indexes go too)', function () {
  this.timeout(180_000);
  const vscode = useVSCode({ workspaceFiles: workspaceRuns() });

  vscodeIt('removes a run from the view, keeps its folder, and it stays removed after a reload', vscode, ['runsTree'], async function (session) {
    const { workbench, page, workspace } = session;
    await workbench.openViewContainer('MGRPO');
    const runsView = workbench.view('Runs');
    const live = workbench.treeItem(runsView, /live run \(appended by the test\)/);
    await live.waitFor({ state: 'visible', timeout: 60_000 });
    // The command lives in the run row's context menu (not the palette): right-click, pick it.
    await live.click({ button: 'right' });
    const item = page.getByRole('menuitem', { name: 'Remove from View' });
    await item.waitFor({ state: 'visible' });
    await item.hover();
    await page.keyboard.press('Enter'); // VS Code's menu acts on its own focus; Enter picks the hovered item
    await live.waitFor({ state: 'detached', timeout: 30_000 });
    await workbench.treeItem(runsView, 'example run (hand-made fixture)').waitFor({ state: 'visible' });
    assert.ok(fs.existsSync(path.join(workspace, LIVE_RUN, 'run.json')), 'the run folder is left on disk');

    const reloaded = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame(), timeout: 60_000 });
    await workbench.runCommand('Developer: Reload Window');
    await reloaded;
    await workbench.waitUntilLoaded();
    await workbench.openViewContainer('MGRPO');
    const reloadedView = workbench.view('Runs');
    await workbench.treeItem(reloadedView, 'example run (hand-made fixture)').waitFor({ state: 'visible', timeout: 60_000 });
    assert.equal(await workbench.treeItem(reloadedView, /live run \(appended by the test\)/).count(), 0, 'still removed after a reload');
  });

  vscodeIt('a run whose folder is deleted leaves the view, and its step indexes leave the extension\'s storage', vscode, ['runsTree', 'filterSamples'], async function (session) {
    const { workbench, workspace, userDataDir } = session;
    await workbench.openViewContainer('MGRPO');
    const runsView = workbench.view('Runs');
    const example = workbench.treeItem(runsView, 'example run (hand-made fixture)');
    await workbench.expandTreeItem(example);
    // A filter counts matches in every step of the expanded run, and indexes the steps for the next one.
    await workbench.runCommand('MGRPO: Filter Samples');
    await workbench.pickQuickItem(/fixed a wrong answer/);
    const runDir = path.join(workspace, EXAMPLE_RUN);
    let indexFolder: string | undefined;
    await waitFor(() => {
      const storage = path.join(userDataDir, 'User', 'globalStorage');
      const owner = fs.existsSync(storage) ? fs.readdirSync(storage).find((name) => fs.existsSync(path.join(storage, name, 'step-indexes'))) : undefined;
      indexFolder = owner ? runCacheFolder(path.join(storage, owner, 'step-indexes'), runDir) : undefined;
      return indexFolder !== undefined && fs.existsSync(indexFolder) && fs.readdirSync(indexFolder).some((name) => name.endsWith('.idx'));
    }, 60_000, 'the example run\'s step indexes in the extension\'s global storage');
    assert.ok(!fs.readdirSync(runDir, { recursive: true }).some((name) => String(name).endsWith('.idx')), 'nothing written in the run folder');

    fs.rmSync(runDir, { recursive: true });
    await example.waitFor({ state: 'detached', timeout: 30_000 });
    await waitFor(() => !fs.existsSync(indexFolder as string), 30_000, `${indexFolder} to be removed with its run`);
  });
});
