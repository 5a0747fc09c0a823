#!/usr/bin/env node
// `npm start`: a real VS Code with this extension loaded, on demo-workspace/.
// - Desktop VS Code when `code` is on PATH: `code --extensionDevelopmentPath=<repo> demo-workspace`.
// - Otherwise code-server (installed by `npm run setup` into .tools/) on 127.0.0.1, through the
//   same launcher as the e2e tests (scripts/lib/vscode-server.mjs), with the repo linked in as an
//   unpacked extension. Prints the URL and runs until Ctrl-C, then stops code-server and
//   everything it started (the trainer included).
// Environment: MGRPO_USE_CODE_SERVER=1 forces code-server; MGRPO_PORT picks the port.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const repoRoot = path.resolve(__dirname, '..');
const demoWorkspace = path.join(repoRoot, 'demo-workspace');

function say(message) {
  process.stdout.write(`[start] ${message}\n`);
}

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function build() {
  say('building the extension (npm run build)');
  const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: 'inherit' });
  if (result.status !== 0) {
    throw new Error(`npm run build failed (status ${result.status ?? result.signal})`);
  }
  const entry = path.join(repoRoot, 'dist', 'extension.js');
  if (!fs.existsSync(entry)) throw new Error(`npm run build succeeded but ${entry} is missing`);
}

function startDesktop() {
  say(`opening desktop VS Code on ${demoWorkspace}`);
  const child = spawn('code', [`--extensionDevelopmentPath=${repoRoot}`, demoWorkspace], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
}

async function startCodeServerSession() {
  const launcher = await import('./lib/vscode-server.mjs');
  const missing = launcher.missingVSCodeTools();
  if (missing) throw new Error(`no desktop VS Code (\`code\`) on PATH, and code-server is not installed: ${missing}`);

  // Kept between starts (ignored folder): settings, window state and the extension link.
  const home = path.join(launcher.vscodeTools.toolsDir, 'start');
  const extensionsDir = path.join(home, 'extensions');
  launcher.linkUnpackedExtension(extensionsDir, repoRoot);
  const venvPython = path.join(repoRoot, '.venv', 'bin', 'python');
  const server = await launcher.startCodeServer({
    workspace: demoWorkspace,
    userDataDir: path.join(home, 'user-data'),
    extensionsDir,
    // Seed once; later edits the user makes in VS Code's settings are kept.
    keepUserSettings: true,
    settings: fs.existsSync(venvPython) ? { 'mgrpo.pythonPath': venvPython } : {},
    port: process.env.MGRPO_PORT ? Number(process.env.MGRPO_PORT) : undefined,
  });

  const line = '='.repeat(Math.max(40, server.url.length + 8));
  process.stdout.write(`\n${line}\n  VS Code with MGRPO Lens: ${server.url}\n  (open it in a browser on this machine; Ctrl-C stops it)\n${line}\n\n`);
  say(`code-server log: ${server.logFile}`);

  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping code-server and everything it started`);
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  const { code, signal } = await server.exited;
  if (!stopping) {
    say(`code-server exited by itself (code ${code}, signal ${signal}); see ${server.logFile}`);
    process.exit(code ?? 1);
  }
}

async function main() {
  build();
  const useDesktop = onPath('code') && process.env.MGRPO_USE_CODE_SERVER !== '1';
  if (useDesktop) startDesktop();
  else await startCodeServerSession();
}

main().catch((error) => {
  process.stderr.write(`[start] ERROR: ${error instanceof Error ? error.message : error}\n`);
  process.exit(1);
});
