// Runs of other trainers (issue 11), in a real VS Code: "Open Run Folder..." on verl's rollout
// folder imports it live (python -m mgrpo import --follow, in the extension's global storage) and
// the Runs view shows its steps and groups; a trace's hover shows the reward verl logged and says
// "not recorded by verl" for what it lacks (advantages, token log-probs). And TRL, live: TRL's
// GRPOTrainer trains the demo model with mgrpo.integrations.trl.record_rollouts attached, and the
// folder it wrote opens as a run.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../scripts/lib/vscode-server.mjs';
import { useVSCode, vscodeIt, waitFor, type VSCodeSession } from './harness/session';
import { selectors } from './harness/workbench';

const VERL_SAMPLE = path.join(repoRoot, 'trainer', 'tests', 'fixtures', 'sources', 'verl');

function verlFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of fs.readdirSync(VERL_SAMPLE)) files[path.join('verl-rollouts', name)] = fs.readFileSync(path.join(VERL_SAMPLE, name), 'utf8');
  return files;
}

/** Runs `lines` in the project's .venv with the trainer's tests importable (their helpers build sample runs), offline. */
function testPython(lines: string[], args: string[], timeoutMs: number): void {
  execFileSync(path.join(repoRoot, '.venv', 'bin', 'python'), ['-c', [
    'import sys, shutil, pathlib',
    "sys.path.insert(0, 'trainer/tests')",
    ...lines,
  ].join('\n'), ...args], {
    cwd: repoRoot, stdio: 'pipe', timeout: timeoutMs,
    env: { ...process.env, PYTHONPATH: path.join(repoRoot, 'trainer'), OMP_NUM_THREADS: '1', HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' },
  });
}

/** Open Run Folder... through VS Code's own folder dialog (the simple one code-server shows): type the path, press OK. */
async function openRunFolder(session: VSCodeSession, folder: string): Promise<void> {
  const { workbench, page } = session;
  await workbench.runCommand('MGRPO: Open Run Folder...');
  const input = page.locator(selectors.quickInputBox);
  // The dialog sets its starting folder asynchronously: wait for it, then replace it with ours.
  await page.locator(selectors.quickInput, { hasText: 'Open Run Folder (' }).waitFor({ state: 'visible' });
  await waitFor(async () => (await input.inputValue()).startsWith('/'), 20_000, 'the folder dialog\'s starting path');
  // The dialog can still reset the box to its starting folder after a fill: type until the box holds our folder
  // and the dialog lists its inside (a ".." row and no row named after the folder itself, which the parent lists).
  const rows = page.locator(selectors.quickInputRow);
  await waitFor(async () => {
    if ((await input.inputValue()) !== `${folder}/`) await input.fill(`${folder}/`);
    await page.waitForTimeout(300);
    const inside = (await rows.filter({ hasText: '..' }).count()) > 0 && (await rows.filter({ hasText: path.basename(folder) }).count()) === 0;
    return (await input.inputValue()) === `${folder}/` && inside;
  }, 30_000, `the folder dialog showing ${folder}/`, 500);
  // Its accept button (the command's openLabel) then picks the folder itself.
  await page.locator(`${selectors.quickInput} .monaco-button`, { hasText: 'Open Run' }).first().click();
  await page.locator(selectors.quickInput).waitFor({ state: 'hidden' });
}

describe('imported runs: verl and TRL runs in the Runs view', function () {
  this.timeout(300_000);
  const vscode = useVSCode({ workspaceFiles: verlFiles() });

  vscodeIt('Open Run Folder... imports a verl rollout folder: steps, groups, and hovers that say what verl did not record', vscode, ['runsTree', 'traceDocuments'], async function (session) {
    const { workbench } = session;
    await openRunFolder(session, path.join(session.workspace, 'verl-rollouts'));
    await workbench.waitForNotification(/importing the verl run/);

    await workbench.openViewContainer('MGRPO');
    const runsView = workbench.view('Runs');
    const run = workbench.treeItem(runsView, 'verl: verl-rollouts');
    await run.waitFor({ state: 'visible', timeout: 60_000 });
    // Both steps imported and run.json says so (the importer then idles until the folder changes): expanding
    // rows while a live run's tree is being rebuilt would race the refresh.
    await waitFor(async () => /2\/2/.test(await run.innerText()), 60_000, 'the run row saying 2/2 steps');
    await workbench.expandTreeItem(run);
    // The sample's two steps (1.jsonl, 2.jsonl).
    const step1 = workbench.treeItem(runsView, 'step 1');
    await step1.waitFor({ state: 'visible', timeout: 60_000 });
    await workbench.treeItem(runsView, 'step 2').waitFor({ state: 'visible', timeout: 60_000 });
    await workbench.expandTreeItem(step1);
    // Step 1: "2+3" three times (one uid group), "7*6" twice.
    const groups = runsView.locator('.monaco-list-row').filter({ hasText: /^q \d/ });
    await waitFor(async () => (await groups.count()) === 2, 20_000, 'the two groups of step 1');
    await workbench.expandTreeItem(workbench.treeItem(runsView, /^q 0\b/).first());
    const samples = runsView.locator('.monaco-list-row').filter({ hasText: /sample \d/ });
    await waitFor(async () => (await samples.count()) === 3, 20_000, 'the three samples of group 0');
    const texts = await samples.allInnerTexts();
    assert.ok(texts.every((t) => /adv not recorded by verl/.test(t)), texts.join(' | '));

    // sample 0 of q 0 is "2+3=5" (reward 1.0, uid a1b2_0_0 sorts first after the importer's order).
    await samples.first().click();
    const editor = workbench.activeEditor();
    await workbench.waitForText('### step 1', editor);
    assert.match(await workbench.activeEditorText(editor), /advantage: — \(not recorded by verl\) · group mean 0\.667 · std 0\.471/);
    // The run is live (the importer follows the folder): hoverBelow points again if the editor re-renders.
    const hover = await workbench.hoverBelow('### step 1');
    assert.match(hover, /reward\s+[01]\.00/);
    assert.match(hover, /advantage\s+not recorded by verl/);
    assert.match(hover, /token probability\s+not recorded by verl/);
    assert.match(hover, /group reward\s+mean 0\.667 · std 0\.471 \(derived\)/);
    assert.match(hover, /request_id\s+r-1\d/);
    await session.screenshot('importedRuns-verl');
  });

  vscodeIt('a run TRL trained with record_rollouts opens in the Runs view', vscode, ['runsTree'], async function (session) {
    const { workbench } = session;
    const out = path.join(session.workspace, 'trl-out');
    // TRL (pinned in .venv) trains the demo model 3 steps on CPU; the test's helper attaches record_rollouts.
    testPython([
      'from test_trl_integration import train_with_lens',
      "train_with_lens(pathlib.Path(sys.argv[1]), correct_from='correctness')",
    ], [out], 240_000);
    const runDir = path.join(out, 'lens-run');
    const manifest = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')) as { name?: string; run_id: string; source: { kind: string } };
    assert.equal(manifest.source.kind, 'trl-live');

    await openRunFolder(session, runDir);
    await workbench.openViewContainer('MGRPO');
    const runsView = workbench.view('Runs');
    await workbench.collapseAll(); // the verl run of the test before has its own "step 1"
    const run = workbench.treeItem(runsView, manifest.name ?? manifest.run_id);
    await run.waitFor({ state: 'visible', timeout: 60_000 });
    await workbench.expandTreeItem(run);
    for (const step of ['step 1', 'step 2', 'step 3']) await workbench.treeItem(runsView, step).waitFor({ state: 'visible', timeout: 30_000 });
    await workbench.expandTreeItem(workbench.treeItem(runsView, 'step 1'));
    await workbench.expandTreeItem(workbench.treeItem(runsView, /^q 0\b/).first());
    const samples = runsView.locator('.monaco-list-row').filter({ hasText: /sample \d/ });
    // TRL's groups: num_generations = 3 consecutive rows; TRL computed advantages.
    await waitFor(async () => (await samples.count()) === 3, 20_000, 'the three samples of group 0');
    const texts = await samples.allInnerTexts();
    assert.ok(texts.every((t) => /adv [+-]?\d\.\d{3}|adv 0\.000/.test(t)), texts.join(' | '));
    await session.screenshot('importedRuns-trl');

    // An opened run whose folder is deleted whole leaves the view (VS Code reports only the folder's deletion).
    fs.rmSync(runDir, { recursive: true });
    await run.waitFor({ state: 'detached', timeout: 30_000 });
  });
});

describe('imported runs: a prime-rl run with mgrpo.importTokenizer', function () {
  this.timeout(300_000);
  const tokenizer = path.join(repoRoot, 'trainer', 'models', 'mgrpo-demo-tiny');
  const vscode = useVSCode({ settings: { 'mgrpo.importTokenizer': tokenizer } });

  vscodeIt('places the sampling log-probs on the text, so the hover of a step shows its token probability', vscode, ['runsTree', 'traceDocuments'], async function (session) {
    const { workbench } = session;
    // prime-rl's upstream-shaped fixture, its replies' token ids written with the demo tokenizer (the pytest helper).
    const source = path.join(session.workspace, 'prime-run');
    testPython([
      'from test_import_prime_rl_upstream import UPSTREAM, with_demo_tokens',
      'shutil.copytree(UPSTREAM, sys.argv[1])',
      'with_demo_tokens(pathlib.Path(sys.argv[1]))',
    ], [source], 120_000);

    await openRunFolder(session, source);
    await workbench.waitForNotification(/importing the prime-rl run/);
    await workbench.openViewContainer('MGRPO');
    const runsView = workbench.view('Runs');
    const run = workbench.treeItem(runsView, 'prime-rl: prime-run');
    await run.waitFor({ state: 'visible', timeout: 60_000 });
    await workbench.expandTreeItem(run);
    const step1 = workbench.treeItem(runsView, 'step 1');
    await step1.waitFor({ state: 'visible', timeout: 60_000 });
    await workbench.expandTreeItem(step1);
    await workbench.expandTreeItem(workbench.treeItem(runsView, /^q 0\b/).first());
    const samples = runsView.locator('.monaco-list-row').filter({ hasText: /sample \d/ });
    await waitFor(async () => (await samples.count()) === 2, 20_000, 'the two samples of group 0');
    await samples.first().click();
    const editor = workbench.activeEditor();
    await workbench.waitForText('### step 1', editor);
    // Log-probs -0.01 ... -0.17 on step 1's 17 tokens ("48/2=24, 48+24=72", one character each): by hand the mean
    // probability is 0.915 and the least sure is exp(-0.17) = 0.844, on the 17th character, "2".
    const hover = await workbench.hoverBelow('### step 1');
    assert.match(hover, /token probability\s+mean 0\.915 · min 0\.844 at “2”/);
    assert.doesNotMatch(hover, /token probability\s+not recorded/);
    await session.screenshot('importedRuns-prime-tokenizer');
  });
});
