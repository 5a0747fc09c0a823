// Issue 4, item 7: webview panels (the dashboard, the inspector). A new panel needs only a test
// like these: run its command, get its frame with workbench.webview(title), assert on its DOM.
import { strict as assert } from 'node:assert';
import { useVSCode, vscodeIt } from './harness/session';

describe('panels: webviews open and render', function () {
  const vscode = useVSCode();

  vscodeIt('the dashboard opens as a webview and renders', vscode, ['dashboard'], async function ({ workbench }) {
    await workbench.runCommand('MGRPO: Show Dashboard');
    const frame = await workbench.webview(/Dashboard/);
    await frame.locator('body').waitFor({ state: 'visible' });
    assert.ok((await frame.locator('body').innerText()).trim().length > 0, 'dashboard body is empty');
  });

  vscodeIt('the inspector opens as a webview and renders', vscode, ['inspector'], async function ({ workbench }) {
    await workbench.runCommand('MGRPO: Show Inspector');
    const frame = await workbench.webview(/Inspector/);
    await frame.locator('body').waitFor({ state: 'visible' });
    assert.ok((await frame.locator('body').innerText()).trim().length > 0, 'inspector body is empty');
  });
});
