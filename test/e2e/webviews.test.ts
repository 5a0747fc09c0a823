// The two webviews on a finished run (a copy of test/fixtures/example-run in the workspace's
// .mgrpo/runs): the dashboard draws its charts and the evaluation table with the fixture's numbers,
// and the inspector shows a layer-1 sample and its correction in a Monaco diff editor, annotated
// per reasoning step, with hovers, a picker for the other corrections, and model text kept as text.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator } from 'playwright-core';
import { repoRoot } from '../../scripts/lib/vscode-server.mjs';
import { useVSCode, vscodeIt, waitFor } from './harness/session';
import { renderedText, selectors } from './harness/workbench';

const FIXTURE_RUN = path.join(repoRoot, 'test', 'fixtures', 'example-run');

/** The fixture run's files as workspace files under .mgrpo/runs/example-run. */
function fixtureRunFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files[path.join('.mgrpo', 'runs', 'example-run', path.relative(FIXTURE_RUN, full))] = fs.readFileSync(full, 'utf8');
    }
  };
  walk(FIXTURE_RUN);
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

const LAYER1 = 's000002-q000-l1-000';
const FIXED = 's000002-q000-l1-000-l2-000';
const STILL_WRONG = 's000002-q000-l1-000-l2-001';

describe('webviews: dashboard and inspector on a finished run', function () {
  this.timeout(180_000);
  const vscode = useVSCode({ workspaceFiles: fixtureRunFiles() });

  vscodeIt('the dashboard draws the run header, six charts and the evaluation table', vscode, ['dashboard'], async function (session) {
    const { workbench } = session;
    await workbench.runCommand('MGRPO: Show Dashboard');
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

  vscodeIt('the inspector shows layer 1 and its correction in a Monaco diff editor, annotated per step', vscode, ['inspector'], async function (session) {
    const { workbench, page } = session;
    await workbench.runCommand('MGRPO: Show Inspector');
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
    assert.match(await frame.locator('#inspector-header').innerText(), /i->i \(wrong → wrong\)/);
    assert.equal(await frame.locator('#root').getAttribute('data-layer1'), LAYER1);
  });

  vscodeIt('model text that looks like HTML stays text in the inspector', vscode, ['inspector'], async function (session) {
    const { workbench, page } = session;
    // s000002-q001-l1-001 answered with a line "<script>alert('x')</script>".
    await workbench.runCommand('MGRPO: Show Inspector');
    await workbench.pickQuickItem('step 2');
    await page.locator(selectors.quickInputBox).fill('s000002-q001-l1-001-l2-000');
    await workbench.pickQuickItem(/L2 #0 of L1 #1/);
    const frame = await workbench.webview(/MGRPO Inspector/);
    await frame.locator('#root[data-correction="s000002-q001-l1-001-l2-000"]').waitFor({ state: 'attached' });
    const left = await renderedText(frame.locator(`${selectors.diffEditor} .editor.original`));
    assert.match(left, /<script>alert\('x'\)<\/script>/);
    // Only the bundle's own nonce'd script exists in the page.
    assert.equal(await frame.locator('script').count(), 1);
  });
});
