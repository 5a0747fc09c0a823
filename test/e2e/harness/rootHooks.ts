// mocha root hooks (loaded by test/e2e/.mocharc.json): prepare once per run what every suite
// shares, i.e. check the VS Code tools, package and install the extension, and clean up after.
// MGRPO_E2E_KEEP=1 keeps the temp folder (user-data dirs with their logs, workspaces) for a look.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { missingVSCodeTools } from '../../../scripts/lib/vscode-server.mjs';
import { installExtensionUnderTest } from './extensionUnderTest';
import { e2eRun, setE2ERun } from './runState';

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(600_000);
    const missing = missingVSCodeTools();
    if (missing) throw new Error(`the e2e tests need a real VS Code: ${missing}`);
    const tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpo-e2e-'));
    const extensionsDir = path.join(tempRoot, 'extensions');
    fs.mkdirSync(extensionsDir);
    const extension = await installExtensionUnderTest(extensionsDir, path.join(tempRoot, 'install-user-data'));
    setE2ERun({ tempRoot, extensionsDir, extension });
  },
  async afterAll(this: Mocha.Context) {
    // The installed-user test leaves a trainer environment (torch: gigabytes of small files) to delete.
    this.timeout(600_000);
    let tempRoot: string | undefined;
    try { tempRoot = e2eRun().tempRoot; } catch { return; }
    if (process.env.MGRPO_E2E_KEEP === '1') {
      process.stderr.write(`[e2e] kept ${tempRoot}\n`);
    } else {
      await fs.promises.rm(tempRoot, { recursive: true, force: true });
    }
    setE2ERun(undefined);
  },
};
