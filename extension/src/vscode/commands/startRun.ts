import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { scaffoldConfig, scaffoldText } from '../../model/configScaffold';
import type { CommandFactory, Ctx } from '../ctx';
import { LiveRunView } from '../liveRunView';
import { resolveTrainerPython } from '../python';
import { createRunDir, runFolderName } from '../runFolders';
import type { RunSession } from '../runSession';
import { settings } from '../settings';
import { TrainerProcess, type TrainerExit, type TrainerSource } from '../trainerProcess';
import { errorText } from '../../format/errorText';

const CONFIG_GLOB = '**/{*.mgrpo.json,mgrpo.config.json}';
const CONFIG_EXCLUDE = '{**/node_modules/**,**/.venv/**,**/.tools/**}';

type StartChoice = TrainerSource | { kind: 'pick-config' } | { kind: 'scaffold' };

/**
 * Start MGRPO Run. Called with a config file URI (explorer menu) or the string "demo" it starts
 * that directly; otherwise it asks: the embedded demo, a config file from the workspace, or a new
 * config scaffolded from the schema. Refused in an untrusted workspace (it runs Python).
 */
export const startRun: CommandFactory = (ctx) => async (arg?: unknown) => {
  if (!vscode.workspace.isTrusted) {
    const choice = await vscode.window.showWarningMessage(
      vscode.l10n.t('MGRPO: starting a training run executes Python, so it is disabled in an untrusted workspace. Reading runs still works. Trust this workspace to train.'),
      vscode.l10n.t('Manage Workspace Trust'),
    );
    if (choice) await vscode.commands.executeCommand('workbench.trust.manage');
    return;
  }
  let source: TrainerSource | undefined;
  if (arg instanceof vscode.Uri) source = { kind: 'config', file: arg.fsPath };
  else if (arg === 'demo') source = { kind: 'preset', preset: 'demo' };
  else source = await chooseSource(ctx);
  if (!source) return;
  await launch(ctx, source);
};

async function chooseSource(ctx: Ctx): Promise<TrainerSource | undefined> {
  type Item = vscode.QuickPickItem & { choice: StartChoice };
  const items: Item[] = [];
  const defaultConfig = resolveDefaultConfig();
  if (defaultConfig) {
    items.push({ label: `$(gear) ${path.basename(defaultConfig)}`, description: 'mgrpo.defaultConfig', detail: defaultConfig, choice: { kind: 'config', file: defaultConfig } });
  }
  items.push(
    { label: `$(beaker) ${vscode.l10n.t('Embedded demo')}`, description: vscode.l10n.t('tiny model, CPU, no download'), detail: vscode.l10n.t('The shipped tiny model on generated arithmetic chains; a step takes seconds.'), choice: { kind: 'preset', preset: 'demo' } },
    { label: `$(file-code) ${vscode.l10n.t('Config file from the workspace...')}`, description: '*.mgrpo.json, mgrpo.config.json', choice: { kind: 'pick-config' } },
    { label: `$(new-file) ${vscode.l10n.t('New config from the schema...')}`, description: vscode.l10n.t('scaffold mgrpo.config.json with every default'), choice: { kind: 'scaffold' } },
  );
  const picked = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('MGRPO: Start Run'), placeHolder: vscode.l10n.t('What to train') });
  if (!picked) return undefined;
  switch (picked.choice.kind) {
    case 'pick-config':
      return pickWorkspaceConfig(ctx);
    case 'scaffold':
      await scaffoldNewConfig(ctx);
      return undefined; // the user edits it first, then starts from it
    default:
      return picked.choice;
  }
}

function resolveDefaultConfig(): string | undefined {
  const configured = settings.defaultConfig();
  if (!configured) return undefined;
  if (path.isAbsolute(configured)) return configured;
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder ? path.join(folder.uri.fsPath, configured) : undefined;
}

async function pickWorkspaceConfig(ctx: Ctx): Promise<TrainerSource | undefined> {
  const files = await vscode.workspace.findFiles(CONFIG_GLOB, CONFIG_EXCLUDE, 200);
  if (files.length === 0) {
    const choice = await vscode.window.showInformationMessage(
      'MGRPO: no *.mgrpo.json or mgrpo.config.json in this workspace.',
      'New Config from the Schema',
    );
    if (choice) await scaffoldNewConfig(ctx);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    files
      .sort((a, b) => a.fsPath.localeCompare(b.fsPath))
      .map((uri) => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(uri, true), uri })),
    { title: vscode.l10n.t('MGRPO: Start Run'), placeHolder: vscode.l10n.t('Config file to train with') },
  );
  return picked ? { kind: 'config', file: picked.uri.fsPath } : undefined;
}

/** Writes mgrpo.config.json (schema defaults) into the first workspace folder and opens it. */
export async function scaffoldNewConfig(ctx: Ctx): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) {
    void vscode.window.showWarningMessage(vscode.l10n.t('MGRPO: open a folder first; the new config is written into it.'));
    return;
  }
  const target = vscode.Uri.joinPath(folder.uri, 'mgrpo.config.json');
  if (fs.existsSync(target.fsPath)) {
    const openIt = vscode.l10n.t('Open It');
    const overwrite = vscode.l10n.t('Overwrite');
    const choice = await vscode.window.showWarningMessage(vscode.l10n.t('MGRPO: {0} already exists.', vscode.workspace.asRelativePath(target)), openIt, overwrite);
    if (choice === openIt) await vscode.window.showTextDocument(target);
    if (choice !== overwrite) return;
  }
  const schemaPath = path.join(ctx.extensionRoot, 'trainer', 'mgrpo', 'schemas', 'config.schema.json');
  const schema = JSON.parse(await fs.promises.readFile(schemaPath, 'utf8')) as unknown;
  const config = scaffoldConfig(schema, {
    // No $schema: the manifest's jsonValidation validates mgrpo.config.json already.
    demoModelPath: path.join(ctx.extensionRoot, 'trainer', 'models', 'mgrpo-demo-tiny'),
  });
  await fs.promises.writeFile(target.fsPath, scaffoldText(config), 'utf8');
  await vscode.window.showTextDocument(target);
  const choice = await vscode.window.showInformationMessage(
    'MGRPO: wrote mgrpo.config.json with the schema\'s defaults (hover a key for its meaning). Edit it, then start a run from it.',
    'Start Run with This Config',
  );
  if (choice) await vscode.commands.executeCommand('mgrpo.startRun', target);
}

/**
 * Resolves Python, creates the run folder (exclusively: a second start in the same second gets
 * its own), spawns the trainer there and shows the run: selected in the Runs view, progress in
 * the status bar and the window's progress indicator.
 */
async function launch(ctx: Ctx, source: TrainerSource): Promise<RunSession | undefined> {
  if (source.kind === 'config' && !fs.existsSync(source.file)) {
    void vscode.window.showErrorMessage(vscode.l10n.t('MGRPO: config file not found: {0}', source.file));
    return undefined;
  }
  const python = await resolveTrainerPython(ctx.python, ctx.extensionRoot);
  if (!python) return undefined;

  const runsFolder = ctx.runs.runsFolder();
  const base = source.kind === 'preset' ? source.preset : path.basename(source.file).replace(/(\.mgrpo)?\.json$|\.config\.json$/, '');
  let runDir: string;
  try {
    runDir = await createRunDir(runsFolder, runFolderName(base, new Date()));
  } catch (error) {
    void vscode.window.showErrorMessage(vscode.l10n.t('MGRPO: could not create the run folder in {0}: {1}', runsFolder, errorText(error)));
    return undefined;
  }
  const runName = path.basename(runDir);

  const session = ctx.runs.addStarted(runDir);
  let trainer: TrainerProcess;
  try {
    trainer = new TrainerProcess({
      python: python.python, extensionRoot: ctx.extensionRoot, runDir, source, processesPerNode: settings.processesPerNode(),
    }, ctx.log, runName);
  } catch (error) {
    void vscode.window.showErrorMessage(vscode.l10n.t('MGRPO: could not start the trainer: {0}', errorText(error)));
    return undefined;
  }
  session.attachTrainer(trainer);
  const view = trainer.register(new LiveRunView(trainer, runName, 0));
  trainer.register(trainer.onDidChangeState(() => ctx.runs.notifyLiveChanged()));
  ctx.runs.notifyLiveChanged();
  void revealStartedRun(ctx, session);
  void session.poll();
  void trainer.exited.then((exit) => {
    view.dispose();
    ctx.runs.notifyLiveChanged();
    void reportExit(ctx, session, exit);
  });
  return session;
}

/**
 * Shows the new run selected in the Runs view, and again once run.json is readable (the row then
 * changes from "starting…" to the run, and a new row is not selected).
 */
async function revealStartedRun(ctx: Ctx, session: RunSession): Promise<void> {
  const reveal = async () => {
    try {
      await vscode.commands.executeCommand('mgrpo.runs.focus');
      await ctx.revealRun?.(session);
    } catch (error) {
      ctx.log.debug(`could not reveal ${session.runDir}: ${errorText(error)}`);
    }
  };
  await reveal();
  if (session.reader) return;
  const readable = session.onDidChange(() => {
    if (!session.reader) return;
    readable.dispose();
    void reveal();
  });
  session.register(readable);
}

async function reportExit(ctx: Ctx, session: RunSession, exit: TrainerExit): Promise<void> {
  await session.poll();
  const manifest = session.reader?.manifest;
  const where = manifest ? `at step ${manifest.completed_steps}/${manifest.total_steps}` : 'before writing run.json';
  const cleanExit = exit.code === 0 && exit.signal === null;
  if (cleanExit && exit.finishedStatus !== 'failed') {
    const last = session.reader?.metrics.at(-1)?.correction;
    const accuracy = last && last.acc_t1 !== null && last.acc_t2 !== null
      ? ` · Acc@t1 ${Math.round(last.acc_t1 * 100)}% → Acc@t2 ${Math.round(last.acc_t2 * 100)}%`
      : '';
    const verb = exit.finishedStatus === 'stopped' || exit.stopRequested ? 'stopped' : 'finished';
    void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: run "{0}" {1} {2}{3}.', session.name, verb, where, accuracy));
    return;
  }
  if (exit.stopRequested && exit.signal !== null) {
    ctx.log.warn(`[${session.name}] ended by ${exit.signal} after a stop request`);
    void vscode.window.showWarningMessage(vscode.l10n.t('MGRPO: run "{0}" did not stop in time and was killed ({1}) {2}; what it wrote stays readable.', session.name, exit.signal, where));
    return;
  }
  const how = exit.signal ? vscode.l10n.t('was killed ({0})', exit.signal) : exit.code === null ? vscode.l10n.t('could not start') : vscode.l10n.t('crashed (exit code {0})', exit.code);
  const reason = exit.errorMessage ? `: ${exit.errorMessage}` : '';
  const tail = exit.lastLogLines.filter((l) => l.trim()).slice(-4).map((l) => l.trim()).join(' ⏎ ');
  const showLog = vscode.l10n.t('Show Log');
  const choice = await vscode.window.showErrorMessage(
    vscode.l10n.t('MGRPO: run "{0}" {1} {2}{3}', session.name, how, where, reason) + (tail ? `. ${vscode.l10n.t('Last log lines: {0}', tail)}` : ''),
    showLog,
  );
  if (choice === showLog) ctx.log.show(true);
}
