// Makes the extension available to the code-servers of one mocha run, ONCE: package it as a
// .vsix (`npm run package`) and install it with code-server's installer into a shared extensions
// folder, the way a user installs it. Each suite then starts its own code-server on that folder
// with a fresh user-data folder and workspace.
//
// Fallbacks, said out loud in the log: MGRPO_E2E_VSIX=<file> uses a .vsix built elsewhere (CI may
// package in an earlier step); if packaging fails but dist/extension.js exists, the repo is linked
// in unpacked (publisher.name-version); if neither exists the extension is absent and the tests
// that need it skip with that reason.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extensionIdentity, installVsix, linkUnpackedExtension, repoRoot } from '../../../scripts/lib/vscode-server.mjs';

export type ExtensionInstall =
  | { kind: 'vsix'; vsix: string; id: string }
  | { kind: 'unpacked'; folder: string; id: string; packagingError: string }
  | { kind: 'absent'; reason: string; id: string };

const packagedVsix = path.join(repoRoot, 'dist', 'mgrpo-lens.vsix');
const bundledEntry = path.join(repoRoot, 'dist', 'extension.js');

function log(message: string): void {
  process.stderr.write(`[e2e] ${message}\n`);
}

function packageExtension(): { vsix: string } | { error: string } {
  const fromEnv = process.env.MGRPO_E2E_VSIX;
  if (fromEnv) {
    if (!fs.existsSync(fromEnv)) return { error: `MGRPO_E2E_VSIX=${fromEnv} does not exist` };
    return { vsix: path.resolve(fromEnv) };
  }
  const started = Date.now();
  const result = spawnSync('npm', ['run', '--silent', 'package'], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 300_000,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  if (result.status !== 0 || !fs.existsSync(packagedVsix)) {
    const tail = output.split('\n').slice(-15).join('\n');
    return { error: `npm run package failed (status ${result.status ?? result.signal}):\n${tail}` };
  }
  log(`packaged ${path.relative(repoRoot, packagedVsix)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { vsix: packagedVsix };
}

/** Packages and installs the extension into `extensionsDir`; never throws for a missing build. */
export async function installExtensionUnderTest(extensionsDir: string, scratchUserDataDir: string): Promise<ExtensionInstall> {
  const { id } = extensionIdentity(repoRoot);
  const packaged = packageExtension();
  if ('vsix' in packaged) {
    const started = Date.now();
    await installVsix(packaged.vsix, { extensionsDir, userDataDir: scratchUserDataDir });
    log(`installed ${path.basename(packaged.vsix)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { kind: 'vsix', vsix: packaged.vsix, id };
  }
  if (fs.existsSync(bundledEntry)) {
    log(`could not package the extension, loading the repo unpacked instead. ${packaged.error}`);
    const folder = linkUnpackedExtension(extensionsDir, repoRoot);
    return { kind: 'unpacked', folder, id, packagingError: packaged.error };
  }
  const reason = `the extension is not built (no ${path.relative(repoRoot, packagedVsix)}, no ${path.relative(repoRoot, bundledEntry)}). ${packaged.error}`;
  log(reason);
  return { kind: 'absent', reason, id };
}
