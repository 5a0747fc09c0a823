// The harness itself works: a fresh code-server opens, the palette runs commands, and the
// extension (when built) activates and offers its commands where a person looks for them.
import { strict as assert } from 'node:assert';
import { extensionActivated } from './harness/extensionHostLog';
import { e2eRun } from './harness/runState';
import { useVSCode, vscodeIt } from './harness/session';

describe('smoke: a real VS Code', function () {
  const vscode = useVSCode();

  vscodeIt('loads the workbench and runs a command from the palette', vscode, [], async ({ workbench }) => {
    await workbench.runCommand('Preferences: Open User Settings (JSON)');
    await workbench.editorTab('settings.json');
    // The launcher seeded these; seeing them proves the palette ran the command and the editor rendered.
    const text = await workbench.activeEditorText();
    assert.match(text, /"workbench\.startupEditor": "none"/);
    assert.match(text, /"telemetry\.telemetryLevel": "off"/);
  });

  vscodeIt('activates the extension, which lists its MGRPO commands and Runs view', vscode, ['activation'], async function (session) {
    const { workbench, server } = session;
    // VS Code logs every activation in the extension host log: a file state, not a guess.
    // (The session waits for it too; this names it as what the test proves.)
    assert.ok(extensionActivated(server.userDataDir, e2eRun().extension.id), 'extension not activated');

    await workbench.openCommandPalette('MGRPO:');
    const labels = await workbench.quickItemLabels();
    // Commands that are offered with no run open (Stop/Pause/Resume appear only while one is live).
    for (const title of ['MGRPO: Start MGRPO Run', 'MGRPO: Open Run Folder...', 'MGRPO: Diff Correction Trace', 'MGRPO: Filter Samples']) {
      assert.ok(labels.includes(title), `palette for "MGRPO:" lacks "${title}"; shows: ${labels.join(' | ')}`);
    }
    await workbench.closeQuickInput();

    const sideBar = await workbench.openViewContainer('MGRPO');
    await workbench.view('Runs').waitFor({ state: 'visible' });
    await workbench.waitForText(/No MGRPO runs yet/, sideBar);
  });
});
