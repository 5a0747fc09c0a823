// Makes the extension available to the code-servers of one mocha run, ONCE: package it as a
// .vsix (`npm run package`) and install it with code-server's installer into a shared extensions
// folder, the way a user installs it. Each suite then starts its own code-server on that folder
// with a fresh user-data folder and workspace.
//
// MGRPO_E2E_VSIX=<file> uses a .vsix built elsewhere (CI may package in an earlier step). In CI
// (CI=true) a failure to package or install fails the run: a suite that skips there would pass
// without testing anything. Elsewhere, said out loud in the log: if packaging fails, dist/ is
// rebuilt now (never an older build) and the repo linked in unpacked (publisher.name-version);
// if that fails too the extension is absent and the tests that need it skip with that reason.
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

/** True under CI (`CI=true`, as CI services and .ci/run set it): no skipping, no fallbacks. */
export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI.toLowerCase() !== 'false';
}

/** A fresh development build of dist/ (so an unpacked fallback never runs an older bundle). */
function rebuildDist(): { error?: string } {
  fs.rmSync(bundledEntry, { force: true });
  const result = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'build.mjs')], { cwd: repoRoot, encoding: 'utf8', timeout: 300_000 });
  if (result.status === 0 && fs.existsSync(bundledEntry)) return {};
  return { error: `node scripts/build.mjs failed (status ${result.status ?? result.signal}):\n${`${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n')}` };
}

/**
 * Packages and installs the extension into `extensionsDir`. In CI it throws when either fails;
 * elsewhere it falls back as the header says.
 */
export async function installExtensionUnderTest(extensionsDir: string, scratchUserDataDir: string): Promise<ExtensionInstall> {
  const { id } = extensionIdentity(repoRoot);
  const ci = isCI();
  const packaged = packageExtension();
  if ('vsix' in packaged) {
    const started = Date.now();
    try {
      await installVsix(packaged.vsix, { extensionsDir, userDataDir: scratchUserDataDir });
    } catch (error) {
      if (ci) throw new Error(`CI: could not install ${packaged.vsix}: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
    log(`installed ${path.basename(packaged.vsix)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { kind: 'vsix', vsix: packaged.vsix, id };
  }
  if (ci) throw new Error(`CI: the extension could not be packaged, so the end-to-end suite cannot test it. ${packaged.error}`);
  const rebuilt = rebuildDist();
  if (!rebuilt.error) {
    log(`could not package the extension; rebuilt dist/ and loading the repo unpacked instead. ${packaged.error}`);
    const folder = linkUnpackedExtension(extensionsDir, repoRoot);
    return { kind: 'unpacked', folder, id, packagingError: packaged.error };
  }
  const reason = `the extension could not be packaged or built. ${packaged.error}\n${rebuilt.error}`;
  log(reason);
  return { kind: 'absent', reason, id };
}
