// Steps that carry truth (issue 9), in a real VS Code on the example run fixture: the right answer
// reached through a wrong step (s000002-q000-l1-001-l2-001: 3+5=3, 3*2=6, 6-7=9, A: 9) is flagged
// as a flawed chain in the Runs view, is what the "Right answer, flawed chain" filter finds, and its
// trace marks step 1 wrong: gutter mark, a note at the line's end, and the hover's step check, with
// the Monte-Carlo value this test writes to step-values/ next to it.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Locator } from 'playwright-core';
import { fixtureRunFiles } from './harness/runFiles';
import { useVSCode, vscodeIt, waitFor } from './harness/session';
import { renderedText, selectors } from './harness/workbench';

const RUN = 'example run (hand-made fixture)';
const LUCKY = 's000002-q000-l1-001-l2-001';

/** One estimate for the lucky chain: prefix 0.75, then 0.25 (drop 0.50, the likely error), 0.5, 1. */
const STEP_VALUES = {
  record_id: LUCKY, step: 2, checkpoint: 'checkpoints/step-000002', k: 4, seed: 0, temperature: 1,
  prefix_value: 0.75, values: [0.25, 0.5, 1], drops: [0.5, -0.25, -0.5], likely_error: 0, time: '2026-01-01T00:00:00Z',
};

function workspaceFiles(): Record<string, string> {
  return {
    ...fixtureRunFiles('example-run'),
    [path.join('.mgrpo', 'runs', 'example-run', 'step-values', 'step-000002.jsonl')]: `${JSON.stringify(STEP_VALUES)}\n`,
  };
}

/** What the editor draws after a line's text (decorations' `after` content), for the first line containing `text`. */
async function lineNotes(editor: Locator, text: string): Promise<string[]> {
  const line = editor.locator('.view-line', { hasText: text }).first();
  await line.waitFor({ state: 'visible' });
  return line.evaluate((element) => Array.from(element.querySelectorAll('span'))
    .map((span) => getComputedStyle(span, '::after').content)
    .filter((content) => content && content !== 'none' && content !== 'normal')
    .map((content) => content.replace(/^"|"$/g, '').trim()));
}

/** The SVGs of the gutter icons drawn beside the first line containing `text` (decoded from their data URIs). */
async function gutterIcons(editor: Locator, text: string): Promise<string[]> {
  const line = editor.locator('.view-line', { hasText: text }).first();
  await line.waitFor({ state: 'visible' });
  const lineTop = (await line.boundingBox())?.y;
  assert.ok(lineTop !== undefined, `line "${text}" has no box on screen`);
  // Glyph-margin decorations are elements with class cgmr beside the line (same top, give or take a pixel).
  const urls = await editor.locator('.cgmr').evaluateAll((icons, top) => icons
    .filter((icon) => Math.abs(icon.getBoundingClientRect().top - top) < 3)
    .map((icon) => getComputedStyle(icon).backgroundImage), lineTop);
  return urls.map((url) => {
    const base64 = /base64,([^")]+)/.exec(url)?.[1];
    return base64 ? Buffer.from(base64, 'base64').toString('utf8') : url;
  });
}

describe('step truth: a flawed chain in the Runs view and its trace', function () {
  this.timeout(240_000);
  const vscode = useVSCode({ workspaceFiles: workspaceFiles() });

  vscodeIt('the lucky correction is flagged, and its wrong first step is marked in the trace', vscode, ['runsTree', 'traceDocuments'], async function (session) {
    const { workbench, page } = session;
    await workbench.openViewContainer('MGRPO');
    const runsView = workbench.view('Runs');
    await workbench.expandTreeItem(workbench.treeItem(runsView, RUN));
    await workbench.expandTreeItem(workbench.treeItem(runsView, 'step 2'));
    await workbench.expandTreeItem(workbench.treeItem(runsView, /^q 0\b/).first());
    await workbench.expandTreeItem(workbench.treeItem(runsView, /sample 0\b/).first());
    await workbench.expandTreeItem(workbench.treeItem(runsView, /sample 1\b/).first());

    // q 0 of step 2 shows 2 samples and 4 corrections; exactly one row is a flawed chain.
    const rows = runsView.locator('.monaco-list-row');
    await waitFor(async () => (await rows.count()) >= 9, 20_000, 'step 2 · q 0 with both samples and their corrections');
    const flagged = rows.filter({ hasText: 'flawed chain' });
    // A refresh can re-render the expanded rows after the count above: wait for the flagged one to be drawn.
    await waitFor(async () => (await flagged.count()) >= 1, 20_000, 'the flawed-chain row').catch(() => undefined);
    assert.equal(await flagged.count(), 1, `rows: ${(await rows.allInnerTexts()).join(' | ')}`);
    const flaggedText = await flagged.innerText();
    assert.match(flaggedText, /c->c/);
    assert.match(await flagged.locator('.codicon').first().getAttribute('class') ?? '', /codicon-warning/);

    await flagged.click();
    const editor = workbench.activeEditor();
    await workbench.waitForText(`id: ${LUCKY}`, editor);

    // Step 1 (3+5=3) is wrong, and the first wrong step; step 2 (3*2=6) is right.
    await waitFor(async () => (await lineNotes(editor, '3+5=3')).some((n) => /first wrong step/.test(n)), 20_000, 'the note after step 1');
    const notes = await lineNotes(editor, '3+5=3');
    assert.ok(notes.some((n) => /✗ first wrong step · ▼ likely error by value \(0\.25, drop \+0\.50\)/.test(n)), `notes on step 1: ${notes.join(' | ')}`);
    const rightNotes = await lineNotes(editor, '3*2=6');
    assert.ok(!rightNotes.some((n) => /wrong|likely error/.test(n)), `notes on step 2: ${rightNotes.join(' | ')}`);
    const wrongIcon = await gutterIcons(editor, '3+5=3');
    assert.ok(wrongIcon.some((svg) => svg.includes('#f85149')), `gutter of step 1: ${wrongIcon.join(' | ')}`);
    const rightIcon = await gutterIcons(editor, '3*2=6');
    assert.ok(rightIcon.some((svg) => svg.includes('#3fb950')), `gutter of step 2: ${rightIcon.join(' | ')}`);

    const hover = await workbench.hoverBelow('### step 1');
    assert.match(hover, /step check\s+wrong \(checker\) · first wrong step/);
    assert.match(hover, /step value\s+0\.25 · drop \+0\.50 · likely error/);
    // Let the first hover close, so the next one read is step 2's.
    await page.keyboard.press('Escape');
    await page.mouse.move(0, 0);
    await page.locator(selectors.hover).filter({ visible: true }).first().waitFor({ state: 'hidden' });
    const hover2 = await workbench.hoverBelow('### step 2');
    assert.match(hover2, /step check\s+right \(checker\)/);
    assert.doesNotMatch(hover2, /first wrong step/);
    await session.screenshot('stepTruth-trace');
  });

  vscodeIt('"Right answer, flawed chain" filters the Runs view down to that correction', vscode, ['runsTree', 'filterSamples'], async function (session) {
    const { workbench } = session;
    await workbench.runCommand('MGRPO: Filter Samples');
    await workbench.pickQuickItem('Right answer, flawed chain');
    const runsView = workbench.view('Runs');
    await workbench.collapseAll();
    await workbench.expandTreeItem(workbench.treeItem(runsView, RUN));
    const step2 = workbench.treeItem(runsView, 'step 2');
    await step2.waitFor({ state: 'visible' });
    assert.match(await step2.innerText(), /1 matching/);
    assert.equal(await workbench.treeItem(runsView, 'step 1').count(), 0, 'step 1 has no flawed chain');
    await workbench.expandTreeItem(step2);
    await workbench.expandTreeItem(workbench.treeItem(runsView, /^q 0\b/).first());
    await workbench.expandTreeItem(workbench.treeItem(runsView, /sample 1\b/).first());
    const rows = runsView.locator('.monaco-list-row');
    await rows.filter({ hasText: 'flawed chain' }).first().waitFor({ state: 'visible' });
    // run, step 2, q 0, sample 1 and the one correction: no other sample or correction is listed.
    assert.deepEqual((await rows.allInnerTexts()).length, 5, `rows: ${(await rows.allInnerTexts()).join(' | ')}`);
    await session.screenshot('stepTruth-filter');
  });
  vscodeIt('the dashboard draws step truth, and a bar opens its corrections', vscode, ['dashboard', 'runsTree', 'traceDocuments'], async function (session) {
    const { workbench, page } = session;
    await page.locator(selectors.quickInput).waitFor({ state: 'hidden' });
    // The workspace's only run: the dashboard opens without asking which.
    await workbench.runCommand('MGRPO: Show Dashboard');
    const frame = await workbench.webview(/MGRPO Dashboard: example run/);
    await frame.locator('#step-truth[data-steps="2"]').waitFor({ state: 'attached' });
    await frame.locator('#step-truth').scrollIntoViewIfNeeded();
    // The departure offsets are counted from the rollout files after the metrics are drawn.
    await frame.locator('#truth-offsets rect.truth-bar').first().waitFor({ state: 'attached' });
    const captions = await frame.locator('figure.truth-chart figcaption').allInnerTexts();
    // metrics.jsonl: step 2's t2 flawed-chain rate is 1 of 7 right corrections; all 3 i->c corrections depart exactly.
    assert.deepEqual(captions, [
      'Correction outcomes per step',
      'First wrong step (position)',
      "Layer 2's first departure vs layer 1's first error (i→c exact: 100.0%)",
      "Layer 2's departure − layer 1's first error, as a share of layer 1's chain",
      'Flawed-chain rate (now t1 0.0%, t2 14.3%)',
    ]);
    // The fixture's corrections of a first answer with a first error (test/unit/departureOffsets.test.ts):
    // 3 i->c exactly at it; 2 one step before in a 3-step chain (−1/3: the −½ bin), 1 in a 4-step chain (−¼).
    const offsetBars = await frame.locator('#truth-offsets rect.truth-bar').evaluateAll((bars) => bars
      .filter((b) => b.getAttribute('data-count') !== '0')
      .map((b) => `${b.getAttribute('data-key')} ${b.getAttribute('data-count')}`));
    assert.deepEqual(offsetBars, ['all:-2 2', 'all:-1 1', 'i2c:0 3', 'all:0 3']);
    // Step 1: 2 i->c, 4 c->c, 2 i->i; step 2: 1 i->c, 6 c->c, 1 i->i (no c->i, so no bar for it).
    const outcomeBars = frame.locator('#truth-outcomes rect.truth-bar');
    const drawn = await outcomeBars.evaluateAll((bars) => bars.map((b) => `${b.getAttribute('data-step')} ${b.getAttribute('data-key')} ${b.getAttribute('data-count')}`));
    assert.deepEqual(drawn, ['1 i->c 2', '1 c->c 4', '1 i->i 2', '2 i->c 1', '2 c->c 6', '2 i->i 1']);
    await session.screenshot('stepTruth-dashboard');

    // First answers first wrong at step 2 (metrics: 2 at training step 1, 1 at step 2): the bar
    // filters the Runs view to them.
    await frame.locator('#truth-first-error rect.truth-bar.clickable[data-key="t1:step 2"]').click();
    const runsView = workbench.view('Runs');
    await workbench.expandTreeItem(workbench.treeItem(runsView, RUN));
    const matches = async (step: string) => (await workbench.treeItem(runsView, step).allInnerTexts()).join(' ');
    await waitFor(async () => /2 matching/.test(await matches('step 1')) && /1 matching/.test(await matches('step 2')), 20_000,
      'step 1 with 2 and step 2 with 1 first answer first wrong at step 2');

    // Step 2's i->c bar: one correction, offered in a quick pick that opens its trace.
    await frame.locator('#truth-outcomes rect.truth-bar[data-step="2"][data-key="i->c"]').click();
    await workbench.pickQuickItem(/q 0 · sample 0/);
    await workbench.waitForText('id: s000002-q000-l1-000-l2-000', workbench.activeEditor());
  });
  vscodeIt('Estimate Step Values draws continuations locally (ONNX) on the trace and its hover shows the new value', vscode, ['runsTree', 'traceDocuments'], async function (session) {
    const { workbench, page, workspace } = session;
    await page.locator(selectors.quickInput).waitFor({ state: 'hidden' });
    // The previous test's bar left an outcome filter: find the lucky correction through its own filter.
    await workbench.runCommand('MGRPO: Filter Samples');
    await workbench.pickQuickItem('Right answer, flawed chain');
    const runsView = workbench.view('Runs');
    await workbench.collapseAll();
    await workbench.expandTreeItem(workbench.treeItem(runsView, RUN));
    await workbench.expandTreeItem(workbench.treeItem(runsView, 'step 2'));
    await workbench.expandTreeItem(workbench.treeItem(runsView, /^q 0\b/).first());
    await workbench.expandTreeItem(workbench.treeItem(runsView, /sample 1\b/).first());
    await runsView.locator('.monaco-list-row').filter({ hasText: 'flawed chain' }).first().click();
    const editor = workbench.activeEditor();
    await workbench.waitForText(`id: ${LUCKY}`, editor);

    await workbench.runCommand('MGRPO: Estimate Step Values');
    await workbench.answerInputBox('4');
    // The fixture run has no checkpoint: draw with its base model, the shipped demo model, whose ONNX export
    // lets the extension draw the continuations itself (no Python).
    await workbench.pickQuickItem(/base model/);
    const done = page.locator(selectors.notificationToast).filter({ hasText: `${LUCKY}: values` }).first();
    await done.waitFor({ state: 'visible', timeout: 180_000 });
    const message = await done.innerText();
    assert.match(message, /values [\d.]+( → [\d.]+){3} \(k = 4\)/);

    // A line was appended for the record; the newest line wins in hovers and gutters.
    const file = path.join(workspace, '.mgrpo', 'runs', 'example-run', 'step-values', 'step-000002.jsonl');
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2, 'the line the test wrote and the one the estimate appended');
    const estimate = JSON.parse(lines[1]) as typeof STEP_VALUES & { backend?: string };
    assert.equal(estimate.record_id, LUCKY);
    assert.equal(estimate.k, 4);
    assert.equal(estimate.backend, 'onnxruntime-node');
    await page.keyboard.press('Escape');
    await page.mouse.move(0, 0);
    const hover = await workbench.hoverBelow('### step 1');
    assert.match(hover, new RegExp(`step value\\s+${estimate.values[0].toFixed(2)}`), hover);
    await session.screenshot('stepTruth-estimated');

    // The inspector marks the same steps: step 1 of the correction wrong, its first answer all right.
    await workbench.runCommand('MGRPO: Show Inspector');
    const frame = await workbench.webview(/MGRPO Inspector/);
    await frame.locator(`#root[data-correction="${LUCKY}"]`).waitFor({ state: 'attached' });
    const diff = frame.locator(selectors.diffEditor);
    await diff.locator('.editor.modified .mgrpo-step-wrong').first().waitFor({ state: 'attached' });
    assert.equal(await diff.locator('.editor.modified .mgrpo-step-wrong').count(), 1);
    assert.equal(await diff.locator('.editor.modified .mgrpo-step-right').count(), 2);
    assert.equal(await diff.locator('.editor.original .mgrpo-step-wrong').count(), 0);
    assert.equal(await diff.locator('.editor.original .mgrpo-step-right').count(), 3);
    // The note follows the step's line (after the departure note; the editor may wrap it).
    const modified = await renderedText(diff.locator('.editor.modified'));
    const note = modified.search(/✗\s+first wrong step/);
    assert.ok(note > modified.indexOf('3+5=3') && note < modified.indexOf('3*2=6'), modified);
    // ...and carries the value just estimated for that step.
    assert.match(modified, new RegExp(`first wrong step\\s+value\\s+${estimate.values[0].toFixed(2)}`), modified);
    await session.screenshot('stepTruth-inspector');
  });
  vscodeIt('Export Step Labels writes the implicit labels and shows their agreement with the checker', vscode, ['runsTree'], async function (session) {
    const { workbench, page, workspace } = session;
    await page.keyboard.press('Escape');
    await page.locator(selectors.quickInput).waitFor({ state: 'hidden' });
    // No webview in front: a quick pick run over a focused webview can lose focus to it and close.
    await workbench.runCommand('View: Close All Editors');
    await page.locator(selectors.webview).first().waitFor({ state: 'detached' });
    await workbench.runCommand('MGRPO: Export Step Labels');
    await workbench.pickQuickItem('Implicit (layer 2)');
    // The save dialog (VS Code's own, a quick input in a browser) proposes a file in the run folder.
    const target = path.join(workspace, '.mgrpo', 'runs', 'example-run', 'step-labels-implicit.jsonl');
    const input = page.locator(selectors.quickInputBox);
    await input.waitFor({ state: 'visible' });
    await waitFor(async () => (await input.inputValue()).endsWith('step-labels-implicit.jsonl'), 10_000, 'the proposed file name');
    await input.press('Enter');
    // The fixture's three i->c corrections depart at their parent's first wrong step, as the checker says.
    const message = await workbench.waitForNotification(/solutions with implicit labels/);
    assert.match(message, /^MGRPO: 3 solutions with implicit labels written to .*step-labels-implicit\.jsonl · “wrong step” against the checker: precision 100\.0% \(3 of 3\), recall 100\.0% \(3 of 3\)/);
    const rows = fs.readFileSync(target, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; labels: boolean[] });
    assert.deepEqual(rows.map((r) => r.id), ['s000001-q000-l1-001', 's000001-q001-l1-000', 's000002-q000-l1-000']);
    await session.screenshot('stepTruth-export');
  });
});
