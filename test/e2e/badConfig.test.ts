// Issue 4, test 6: a run config with a bad value. The error must name the key, and nothing may
// crash: the extension keeps working, no trainer process is left behind.
import { strict as assert } from 'node:assert';
import { useVSCode, vscodeIt, waitFor } from './harness/session';

describe('bad config: starting a run from a config with a bad value', function () {
  this.timeout(240_000);
  const vscode = useVSCode({
    // max_steps must be an integer >= 0 (trainer/mgrpo/schemas/config.schema.json).
    workspaceFiles: { 'mgrpo.config.json': JSON.stringify({ preset: 'demo', max_steps: -3 }, null, 2) + '\n' },
  });

  vscodeIt('6. names the bad key in the error and keeps the extension working', vscode, ['configErrors'], async function (session) {
    const { workbench, server } = session;
    // The extension reports the failure on its log channel; that is the expected outcome here.
    session.extensionHostLog.expectErrors(/max_steps/);

    await workbench.runCommand('MGRPO: Start MGRPO Run');
    await workbench.pickQuickItem(/Config file from the workspace/);
    await workbench.pickQuickItem('mgrpo.config.json');
    const message = await workbench.waitForNotification(/max_steps/);
    assert.match(message, /-3/, `the error should show the bad value: ${message}`);

    // No trainer outlives the failure.
    await waitFor(
      () => !server.descendants().some((p) => /python/.test(p.cmdline) && /mgrpo/.test(p.cmdline)),
      30_000,
      'the failed trainer process to be gone',
    );
    // The extension still answers: its view renders and a command still runs.
    await workbench.openViewContainer('MGRPO');
    await workbench.view('Runs').waitFor({ state: 'visible' });
    await workbench.runCommand('MGRPO: Show Trainer Log');
    await workbench.waitForText(/max_steps/, workbench.page.locator('.part.panel'));
  });
});
