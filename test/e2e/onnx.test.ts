// Checkpoints in the editor (issue 10), in a real VS Code on the example run fixture, with the shipped demo
// model's ONNX export run by the packaged onnxruntime-node in its own process: Score Trace tints the trace's
// tokens and adds the checkpoint's numbers to the step hover; What If on an edited first answer lists the
// corrector's answers with verdicts.
import { strict as assert } from 'node:assert';
import type { Locator } from 'playwright-core';
import { fixtureRunFiles } from './harness/runFiles';
import { useVSCode, vscodeIt, waitFor, type VSCodeSession } from './harness/session';

const RUN = 'example run (hand-made fixture)';
const DEMO = 'demo model (shipped)';
// extension/src/vscode/commands/scoreTrace.ts HEAT_COLOURS, as the browser computes them.
const HEAT = ['rgba(64, 160, 255, 0.1)', 'rgba(255, 200, 0, 0.18)', 'rgba(255, 140, 0, 0.28)', 'rgba(255, 80, 0, 0.4)', 'rgba(255, 0, 0, 0.55)'];

/** Backgrounds of everything the editor draws now (decorations are overlay or inline elements, by VS Code version). */
async function backgrounds(editor: Locator): Promise<string[]> {
  return editor.locator('*').evaluateAll((elements) => elements.map((element) => getComputedStyle(element).backgroundColor));
}

const isHeat = (colour: string): boolean => HEAT.includes(colour.replace(/\s+/g, ' '));

describe('checkpoints in the editor: Score Trace and What If on the demo export', function () {
  this.timeout(240_000);
  const vscode = useVSCode({ workspaceFiles: fixtureRunFiles('example-run') });

  async function openFirstAnswer(session: VSCodeSession): Promise<Locator> {
    const { workbench } = session;
    await workbench.openViewContainer('MGRPO');
    const runsView = workbench.view('Runs');
    await workbench.expandTreeItem(workbench.treeItem(runsView, RUN));
    await workbench.expandTreeItem(workbench.treeItem(runsView, 'step 2'));
    await workbench.expandTreeItem(workbench.treeItem(runsView, /^q 0\b/).first());
    await workbench.treeItem(runsView, /sample 0\b/).first().click();
    const editor = workbench.activeEditor();
    await workbench.waitForText('id: s000002-q000-l1-000', editor);
    return editor;
  }

  vscodeIt('Score Trace draws a heat map and puts the checkpoint beside the sampled numbers', vscode, ['runsTree', 'traceDocuments'], async function (session) {
    const { workbench } = session;
    const editor = await openFirstAnswer(session);
    await workbench.runCommand('MGRPO: Score Trace with Checkpoint...');
    await workbench.pickQuickItem(DEMO);
    let seen: string[] = [];
    await waitFor(async () => {
      seen = await backgrounds(editor);
      // VS Code merges adjacent ranges of one decoration type into one element: a step of equally sure tokens is one.
      return seen.filter(isHeat).length >= 3 && new Set(seen.filter(isHeat)).size >= 2;
    }, 60_000, 'heat-map overlays on the trace').catch((error) => {
      throw new Error(`${error.message}; backgrounds drawn: ${[...new Set(seen)].join(' | ')}`);
    });
    const hover = await workbench.hoverBelow('### step 1');
    assert.match(hover, /Checkpoint demo model \(shipped\)/);
    assert.match(hover, /mean p \/ least p\s+\d\.\d{3} \/ \d\.\d{3}\s+\d\.\d{3} \/ \d\.\d{3}/);
    await session.screenshot('onnx-scoreTrace');
  });

  vscodeIt('What If runs the corrector on an edited first answer and lists verdicts', vscode, ['runsTree', 'traceDocuments'], async function (session) {
    const { workbench, page } = session;
    await openFirstAnswer(session);
    await workbench.runCommand('MGRPO: What If...');
    await workbench.waitForNotification(/edit this first answer of s000002-q000-l1-000/);
    const editor = workbench.activeEditor();
    await workbench.waitForText('8*2=9', editor);
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('3+5=8\n8*2=6\n6-7=9\nA: 9\n');
    await workbench.runCommand('MGRPO: What If...');
    await workbench.pickQuickItem('Run the corrector (layer 2) on the edited answer');
    await workbench.pickQuickItem('Wait, let me double-check that.');
    await workbench.pickQuickItem(DEMO);
    await workbench.waitForText(/Corrections\sright:\s\d\sof\s8/);
    const text = await workbench.activeEditorText();
    assert.match(text, /Edited first answer: correct \(answer 9\)/, text);
    // The report's settings line is long: Markdown's word wrap may break it anywhere between words.
    assert.match(text, /prompt:\s+s000002-q000-l1-000-l2-000's\s+recorded\s+prompt,\s+first\s+answer\s+edited/, 'the trainer\'s own prompt, edited');
    assert.match(text, /judged\s+by\s+exact\s+match\s+\(the\s+chain\s+task's\s+verifier\)/);
    assert.match(text, /## correction 1: (reward [01], answer \S+, c->[ci]|reward 0, answer none, c->i)/);
    await session.screenshot('onnx-whatIf');
  });
});
