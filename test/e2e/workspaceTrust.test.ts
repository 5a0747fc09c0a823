// Workspace Trust: in an untrusted (restricted-mode) workspace, starting a training run is refused
// with a message that says why, no trainer process starts, and reading runs still works.
import { strict as assert } from 'node:assert';
import { fixtureRunFiles } from './harness/runFiles';
import { useVSCode, vscodeIt } from './harness/session';

describe('workspace trust: an untrusted workspace', function () {
  this.timeout(240_000);
  const vscode = useVSCode({ untrustedWorkspace: true, workspaceFiles: fixtureRunFiles() });

  vscodeIt('refuses to train, starts no trainer, and still shows the runs', vscode, ['activation', 'runsTree'], async function (session) {
    const { workbench, server } = session;
    await workbench.runCommand('MGRPO: Start MGRPO Run');
    const message = await workbench.waitForNotification(/untrusted workspace/);
    assert.match(message, /executes Python/, `the refusal should say why: ${message}`);
    assert.ok(
      !server.descendants().some((p) => /python/.test(p.cmdline) && /mgrpo/.test(p.cmdline)),
      'no trainer process may start in an untrusted workspace',
    );

    await workbench.openViewContainer('MGRPO');
    const runsView = workbench.view('Runs');
    const run = workbench.treeItem(runsView, 'example run (hand-made fixture)');
    await workbench.expandTreeItem(run);
    await workbench.expandTreeItem(workbench.treeItem(runsView, 'step 1'));
    await workbench.treeItem(runsView, /^q 0\b/).first().waitFor({ state: 'visible' });
  });
});
