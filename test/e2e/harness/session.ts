// One VS Code for one test suite: a fresh code-server (own user-data folder, own workspace in a
// temp folder, the extension installed once per mocha run by rootHooks.ts) and a Chromium page
// on it. `useVSCode()` wires it into a mocha `describe`; `vscodeIt()` is mocha's `it` plus the
// extension-host log check after the test body.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot, startCodeServer, vscodeTools, type RunningCodeServer } from '../../../scripts/lib/vscode-server.mjs';
import { extensionActivated, ExtensionHostLogWatcher } from './extensionHostLog';
import { needs, type Feature } from './pending';
import { e2eRun } from './runState';
import { Workbench } from './workbench';

export const artifactsDir = path.join(repoRoot, 'test', 'e2e', 'artifacts');

/** Chromium flags for a headless, offline, single-purpose browser (ENVIRONMENT.md). */
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface SessionOptions {
  /** Files to create in the workspace before VS Code opens it: relative path -> content. */
  workspaceFiles?: Record<string, string>;
  /** Extra user settings. */
  settings?: Record<string, unknown>;
  /** Open the workspace untrusted (Workspace Trust on, restricted mode). */
  untrustedWorkspace?: boolean;
  /**
   * Point mgrpo.pythonPath at this checkout's .venv (default true). False: a user who installed
   * the .vsix and has set nothing up.
   */
  projectPython?: boolean;
}

export class VSCodeSession {
  private constructor(
    readonly name: string,
    readonly workspace: string,
    /** code-server's user data: settings, logs, and the extensions' global storage (User/globalStorage). */
    readonly userDataDir: string,
    readonly server: RunningCodeServer,
    readonly browser: Browser,
    readonly page: Page,
    readonly workbench: Workbench,
    readonly extensionHostLog: ExtensionHostLogWatcher,
  ) {}

  static async start(name: string, options: SessionOptions = {}): Promise<VSCodeSession> {
    const run = e2eRun();
    // Short: code-server puts a Unix socket (108-byte path limit) inside the user-data folder.
    const root = fs.mkdtempSync(path.join(run.tempRoot, `${slug(name).slice(0, 24)}-`));
    const workspace = path.join(root, 'workspace');
    fs.mkdirSync(workspace);
    for (const [relative, content] of Object.entries(options.workspaceFiles ?? {})) {
      const file = path.join(workspace, relative);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
    }
    const userDataDir = path.join(root, 'user-data');
    const server = await startCodeServer({
      workspace,
      userDataDir,
      extensionsDir: run.extensionsDir,
      settings: { ...(options.projectPython === false ? {} : projectSettings()), ...options.settings },
      workspaceTrust: options.untrustedWorkspace ?? false,
    });
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: vscodeTools.chromium, args: chromiumArgs, headless: true });
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const workbench = new Workbench(page);
      await page.goto(server.url);
      await workbench.waitUntilLoaded();
      // Until the extension host has loaded the extension, its commands are not in the palette.
      if (run.extension.kind !== 'absent') {
        const { id } = run.extension;
        await waitFor(() => extensionActivated(userDataDir, id), 90_000, `activation of ${id} (extension host log)`);
      }
      return new VSCodeSession(name, workspace, userDataDir, server, browser, page, workbench, new ExtensionHostLogWatcher(userDataDir, run.extension.id));
    } catch (error) {
      await browser?.close().catch(() => undefined);
      await server.stop();
      throw error;
    }
  }

  /** Saves the page as test/e2e/artifacts/<name>.png and returns the path. */
  async screenshot(name: string): Promise<string> {
    fs.mkdirSync(artifactsDir, { recursive: true });
    const file = path.join(artifactsDir, `${slug(name)}.png`);
    await this.page.screenshot({ path: file, timeout: 15_000 });
    return file;
  }

  /** Waits until `file` (relative to the workspace, or absolute) exists; returns its absolute path. */
  async waitForFile(file: string, timeoutMs = 60_000): Promise<string> {
    const absolute = path.resolve(this.workspace, file);
    await waitFor(() => fs.existsSync(absolute), timeoutMs, `file ${absolute}`);
    return absolute;
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await this.server.stop();
  }
}

/** Polls `condition` (a file appearing, a process ending) until true; the non-DOM kind of wait. */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
  pollMs = 200,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Settings that point the extension at this checkout's trainer environment. */
function projectSettings(): Record<string, unknown> {
  const venvPython = path.join(repoRoot, '.venv', 'bin', 'python');
  return fs.existsSync(venvPython) ? { 'mgrpo.pythonPath': venvPython } : {};
}

export function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 120) || 'unnamed';
}

/** Starts a suite's VS Code when its first test that runs needs it; shared by the suite's tests. */
export interface SuiteVSCode {
  /** The session, starting it on first use. */
  get(): Promise<VSCodeSession>;
  /** The session if it was started. */
  started(): VSCodeSession | undefined;
}

/**
 * Gives a `describe` its own VS Code: started lazily by its first test that is not skipped (a
 * suite whose tests all skip costs nothing), screenshot after every test that ran (pass or
 * fail), closed after the suite's last test.
 */
export function useVSCode(options: SessionOptions = {}): SuiteVSCode {
  let starting: Promise<VSCodeSession> | undefined;
  let session: VSCodeSession | undefined;
  let suiteTitle = 'suite';
  before(function () {
    suiteTitle = this.test?.parent?.fullTitle() ?? suiteTitle;
  });
  afterEach(async function () {
    const test = this.currentTest;
    if (!session || !test || test.isPending()) return;
    await session.screenshot(test.fullTitle()).catch((error) => {
      process.stderr.write(`[e2e] screenshot of "${test.fullTitle()}" failed: ${error}\n`);
    });
  });
  after(async function () {
    this.timeout(60_000);
    const toClose = session ?? (await starting?.catch(() => undefined));
    await toClose?.close();
  });
  return {
    get: () => (starting ??= VSCodeSession.start(suiteTitle, options).then((started) => (session = started))),
    started: () => session,
  };
}

/** How long starting code-server, Chromium and the workbench may take, on top of a test's own time. */
const SESSION_START_MS = 180_000;

/**
 * mocha's `it` for a VS Code test. Skips (saying why) unless the extension features in `features`
 * have landed, starts the suite's VS Code if needed, runs the body with it, then fails the test if
 * the extension host logged an error the body did not declare (session.extensionHostLog.expectErrors).
 */
export function vscodeIt(
  title: string,
  vscode: SuiteVSCode,
  features: Feature[],
  body: (this: Mocha.Context, session: VSCodeSession) => Promise<void>,
): Mocha.Test {
  return it(title, async function () {
    needs(this, ...features);
    if (!vscode.started()) this.timeout(this.timeout() + SESSION_START_MS);
    const current = await vscode.get();
    await body.call(this, current);
    current.extensionHostLog.assertNoNewErrors();
  });
}
