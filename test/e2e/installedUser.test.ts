// A user who installed the .vsix and has no Python with torch set up (no mgrpo.pythonPath, no
// .venv anywhere the lookup looks): Start MGRPO Run says so and offers "Create Trainer
// Environment", which makes a venv in the extension's global storage with the trainer's
// requirements (pip may reuse this machine's wheel cache), and the demo then trains with it.
// Slow (pip installs torch: minutes): .mocharc.json runs this file last.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findExtensionHostLogs } from './harness/extensionHostLog';
import { runDirs, waitForSteps } from './harness/runFiles';
import { useVSCode, vscodeIt, waitFor } from './harness/session';
import { e2eRun } from './harness/runState';

const INSTALL_TIMEOUT_MS = 15 * 60_000;

describe('installed from a .vsix with no Python set up', function () {
  this.timeout(INSTALL_TIMEOUT_MS + 6 * 60_000);
  const vscode = useVSCode({ projectPython: false });

  vscodeIt('offers a trainer environment, creates it, and trains the demo with it', vscode, ['startRun'], async function (session) {
    const { workbench, server, workspace } = session;
    await workbench.runCommand('MGRPO: Start MGRPO Run');
    await workbench.pickQuickItem(/Embedded demo/);
    const failure = /No Python interpreter that can import torch/;
    const message = await workbench.waitForNotification(failure);
    assert.doesNotMatch(message, /npm run setup/, 'an installed extension has no npm scripts to offer');
    // The status bar says the lookup failed (not "looking for ...").
    await workbench.statusBarItem(/no Python with torch/).waitFor({ state: 'visible' });
    await workbench.clickNotificationButton(failure, 'Create Trainer Environment');

    const logs = () => findExtensionHostLogs(server.userDataDir, e2eRun().extension.id)
      .map((file) => fs.readFileSync(file, 'utf8')).join('\n');
    // The extension's own channel (pip's output), not the host log, says why an install failed.
    const extensionLog = () => findExtensionHostLogs(server.userDataDir, e2eRun().extension.id)
      .filter((file) => file.includes(e2eRun().extension.id))
      .map((file) => fs.readFileSync(file, 'utf8')).join('\n');
    const started = Date.now();
    await waitFor(() => {
      const text = logs();
      if (/Creating the trainer environment failed|was cancelled|Low disk space/.test(text)) {
        const disk = fs.statfsSync(server.userDataDir);
        throw new Error(`creating the environment failed (${(disk.bavail * disk.bsize / 1024 ** 3).toFixed(1)} GB free under ${server.userDataDir}):\n`
          + extensionLog().split('\n').slice(-40).join('\n'));
      }
      return /Trainer environment ready: (\S+)/.exec(text)?.[1];
    }, INSTALL_TIMEOUT_MS, 'the trainer environment (pip install)', 2000);
    process.stderr.write(`[e2e] trainer environment created in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    const envPython = /Trainer environment ready: (\S+)/.exec(logs())![1];
    assert.ok(envPython.startsWith(path.join(server.userDataDir, 'User', 'globalStorage')), `the venv lives in the extension's global storage: ${envPython}`);
    assert.match(logs(), /\[pip\] (Collecting|Requirement already satisfied|Processing|Installing)/, 'the pip log is in the output channel');
    await workbench.statusBarItem(/no Python with torch/).waitFor({ state: 'hidden' });

    // Start again: the new environment is used, with the run folder as working directory.
    await workbench.runCommand('MGRPO: Start MGRPO Run');
    await workbench.pickQuickItem(/Embedded demo/);
    const runDir = await waitFor(() => runDirs(workspace).find((dir) => fs.existsSync(path.join(dir, 'run.json'))), 120_000, 'a run folder with run.json');
    const trainer = await waitFor(() => server.descendants().find((p) => p.cmdline.includes('-m mgrpo train')), 60_000, 'the trainer process');
    assert.ok(trainer.cmdline.startsWith(envPython), `trainer runs with the created environment: ${trainer.cmdline}`);
    assert.equal(fs.realpathSync(`/proc/${trainer.pid}/cwd`), fs.realpathSync(runDir), 'the run folder is the working directory');
    const environ = fs.readFileSync(`/proc/${trainer.pid}/environ`, 'utf8').split('\0');
    assert.ok(environ.includes('PYTHONSAFEPATH=1'), 'PYTHONSAFEPATH=1');
    assert.ok(environ.some((v) => v.startsWith('PYTHONPATH=') && v.endsWith(`${path.sep}trainer`) && !v.includes(path.delimiter)), `PYTHONPATH is the trainer's folder alone: ${environ.find((v) => v.startsWith('PYTHONPATH='))}`);
    await waitForSteps(runDir, (steps) => steps.length >= 1, 5 * 60_000, 'step 1 in metrics.jsonl');
    await workbench.runCommand('MGRPO: Stop Run');
    await waitFor(() => !server.descendants().some((p) => p.pid === trainer.pid), 120_000, 'the trainer to stop');
  });
});
