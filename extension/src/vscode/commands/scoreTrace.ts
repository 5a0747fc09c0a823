// "MGRPO: Score Trace with Checkpoint...": per-token log-prob and entropy of a trace under a chosen checkpoint,
// computed locally by the ONNX runtime process (extension/src/onnx/), shown as a heat map on the trace's steps
// and in a hover beside the numbers the trace was sampled with. Also the glue What If shares: the runtime host
// (one per extension), the checkpoint picker and the way out of a missing or stale export.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RolloutRecord } from '../../format/types';
import { codeSpan, escapeMarkdown } from '../../model/text';
import type { SessionSettings } from '../../onnx/exportLoader';
import { HEAT_LEVELS, placeTokens, scoreOfSpan, tokenAt, type PlacedStep } from '../../onnx/heatMap';
import { OnnxHost, PythonBackend, RuntimeFailure, type CheckpointBackend } from '../../onnx/host';
import { MANIFEST_NAME, exportCommand } from '../../onnx/manifest';
import type { ScoreResult } from '../../onnx/protocol';
import type { CommandFactory, Ctx } from '../ctx';
import { runLogged } from '../loggedProcess';
import { resolveTrainerPython } from '../python';
import { stepAt } from '../traceHover';
import { isTraceUri, TRACE_SCHEME } from '../traceUri';
import { trainerEnvironment } from '../trainerProcess';
import { activeTraceUri, asSampleRef, type SampleRef } from './targets';
import { mayRunPython } from './trust';

const DEMO_MODEL = path.join('trainer', 'models', 'mgrpo-demo-tiny');

// ---- the runtime host, one per extension --------------------------------------------------------------------

let sharedHost: { host: OnnxHost; ctx: Ctx } | undefined;

function runtimeSettings(): SessionSettings {
  const config = vscode.workspace.getConfiguration('mgrpo.onnx');
  const threads = Math.floor(config.get<number>('threads', 1));
  return {
    threads: Number.isFinite(threads) && threads >= 0 ? threads : 1,
    executionProvider: config.get<string>('executionProvider', 'cpu') === 'cuda' ? 'cuda' : 'cpu',
  };
}

/** The runtime host, started on first use; disposed with the extension; re-configured when settings change. */
export function onnxHost(ctx: Ctx): OnnxHost {
  if (sharedHost?.ctx === ctx) return sharedHost.host;
  const host = new OnnxHost({
    entry: path.join(ctx.extensionRoot, 'dist', 'onnxRuntime.js'),
    settings: runtimeSettings(),
    log: (line) => ctx.log.info(line),
  });
  sharedHost = { host, ctx };
  ctx.register({ dispose: () => { host.dispose(); if (sharedHost?.host === host) sharedHost = undefined; } });
  ctx.register(vscode.workspace.onDidChangeConfiguration((event) => {
    if (event.affectsConfiguration('mgrpo.onnx')) void host.configure(runtimeSettings());
  }));
  return host;
}

/** The PyTorch servers started for checkpoints (python -m mgrpo serve), one per checkpoint, kept until shutdown. */
const pythonBackends = new Map<string, PythonBackend>();

async function pythonBackend(ctx: Ctx, checkpoint: string): Promise<PythonBackend | undefined> {
  const running = pythonBackends.get(checkpoint);
  if (running) return running;
  if (!(await mayRunPython(vscode.l10n.t('running a checkpoint with PyTorch')))) return undefined;
  const python = await resolveTrainerPython(ctx.python, ctx.extensionRoot);
  if (!python) return undefined;
  const backend = new PythonBackend({ python: python.python, checkpoint, env: trainerEnvironment(ctx.extensionRoot), log: (line) => ctx.log.info(line) });
  pythonBackends.set(checkpoint, backend);
  ctx.register({ dispose: () => { backend.dispose(); pythonBackends.delete(checkpoint); } });
  return backend;
}

/** `mgrpo.checkpointBackend`: the local ONNX runtime (default) or the trainer's PyTorch for every checkpoint. */
export function prefersPython(): boolean {
  return vscode.workspace.getConfiguration('mgrpo').get<string>('checkpointBackend', 'onnx') === 'python';
}

// ---- choosing a checkpoint ------------------------------------------------------------------------------------

export interface ChosenCheckpoint {
  checkpoint: string;
  /** Its export folder (CHECKPOINT/onnx). */
  folder: string;
  label: string;
}

async function isFile(file: string): Promise<boolean> {
  return fs.stat(file).then((s) => s.isFile(), () => false);
}

async function runCheckpoints(runDir: string): Promise<string[]> {
  const folder = path.join(runDir, 'checkpoints');
  const names = await fs.readdir(folder).catch(() => [] as string[]);
  const found: string[] = [];
  for (const name of names.sort()) if (await isFile(path.join(folder, name, 'config.json'))) found.push(path.join(folder, name));
  return found;
}

/** The run's checkpoints (newest first), the shipped demo model, or any folder; each says whether it has an export. */
export async function pickCheckpoint(ctx: Ctx, runDir: string | undefined, title: string): Promise<ChosenCheckpoint | undefined> {
  const candidates = [...(runDir ? (await runCheckpoints(runDir)).reverse() : []), path.join(ctx.extensionRoot, DEMO_MODEL)];
  type Item = vscode.QuickPickItem & { checkpoint?: string };
  const items: Item[] = [];
  for (const checkpoint of candidates) {
    const ready = await isFile(path.join(checkpoint, 'onnx', MANIFEST_NAME));
    items.push({
      label: checkpoint.endsWith(DEMO_MODEL) ? vscode.l10n.t('demo model (shipped)') : path.basename(checkpoint),
      description: ready ? vscode.l10n.t('ONNX export ready') : vscode.l10n.t('no ONNX export yet'),
      detail: checkpoint,
      checkpoint,
    });
  }
  items.push({ label: vscode.l10n.t('$(folder-opened) Another checkpoint folder…') });
  const picked = await vscode.window.showQuickPick(items, { title, placeHolder: vscode.l10n.t('Checkpoint to run locally (its ONNX export)') });
  if (!picked) return undefined;
  let checkpoint = picked.checkpoint;
  if (!checkpoint) {
    const chosen = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, title: vscode.l10n.t('Checkpoint folder (or its onnx export folder)') });
    if (!chosen?.[0]) return undefined;
    checkpoint = chosen[0].fsPath;
    if (path.basename(checkpoint) === 'onnx') checkpoint = path.dirname(checkpoint);
  }
  return { checkpoint, folder: path.join(checkpoint, 'onnx'), label: picked.checkpoint ? picked.label : path.basename(checkpoint) };
}

/**
 * Says why a request failed. A missing, stale, broken or mismatched export offers to run the export (Python, so
 * only in a trusted workspace), to answer with PyTorch instead (the trainer's `serve`, for checkpoints too big to
 * export) or to copy the command. Returns what to do next.
 */
async function explainFailure(ctx: Ctx, error: unknown, chosen: ChosenCheckpoint): Promise<'retry' | 'python' | 'stop'> {
  if (error instanceof RuntimeFailure && error.code === 'cancelled') return 'stop';
  const message = error instanceof Error ? error.message : String(error);
  ctx.log.error(`[checkpoint] ${message}`);
  if (!(error instanceof RuntimeFailure) || !['missing', 'stale', 'broken', 'mismatch'].includes(error.code)) {
    void vscode.window.showErrorMessage(vscode.l10n.t('MGRPO: {0}', message));
    return 'stop';
  }
  const exportNow = vscode.l10n.t('Export Now');
  const usePython = vscode.l10n.t('Use PyTorch');
  const copy = vscode.l10n.t('Copy Command');
  const choice = await vscode.window.showErrorMessage(vscode.l10n.t('MGRPO: {0}', message), exportNow, usePython, copy);
  if (choice === copy) await vscode.env.clipboard.writeText(exportCommand(chosen.checkpoint));
  if (choice === usePython) return 'python';
  if (choice !== exportNow) return 'stop';
  return (await runExport(ctx, chosen)) ? 'retry' : 'stop';
}

async function runExport(ctx: Ctx, chosen: ChosenCheckpoint): Promise<boolean> {
  if (!(await mayRunPython(vscode.l10n.t('exporting a checkpoint to ONNX')))) return false;
  const python = await resolveTrainerPython(ctx.python, ctx.extensionRoot);
  if (!python) return false;
  const args = ['-m', 'mgrpo', 'export-onnx', '--checkpoint', chosen.checkpoint];
  ctx.log.info(`[onnx] $ ${[python.python, ...args].join(' ')}`);
  const exit = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('MGRPO: exporting {0} to ONNX', chosen.label), cancellable: true },
    (_progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      return runLogged({ command: python.python, args, env: trainerEnvironment(ctx.extensionRoot), signal: abort.signal, onLine: (line) => ctx.log.info(`[export-onnx] ${line}`) });
    },
  );
  if (exit.code === 0) return true;
  if (!exit.cancelled) {
    const showLog = vscode.l10n.t('Show Log');
    if (await vscode.window.showErrorMessage(vscode.l10n.t('MGRPO: the ONNX export failed ({0}); its output is in the log.', exit.spawnError ?? `exit code ${exit.code}`), showLog)) ctx.log.show(true);
  }
  return false;
}

/**
 * Runs `request` on a backend for the chosen checkpoint: the local ONNX runtime, unless the settings prefer
 * PyTorch or the user chose it after an export problem; after a successful "Export Now" it runs once more.
 */
export async function withCheckpoint<T>(ctx: Ctx, chosen: ChosenCheckpoint, request: (backend: CheckpointBackend) => Promise<T>): Promise<T | undefined> {
  let backend: CheckpointBackend | undefined = prefersPython() ? await pythonBackend(ctx, chosen.checkpoint) : onnxHost(ctx);
  for (let attempt = 0; backend && attempt < 3; attempt++) {
    try {
      return await request(backend);
    } catch (error) {
      const next = await explainFailure(ctx, error, chosen);
      if (next === 'stop' || backend instanceof PythonBackend) return undefined;
      backend = next === 'python' ? await pythonBackend(ctx, chosen.checkpoint) : onnxHost(ctx);
    }
  }
  return undefined;
}

// ---- Score Trace -------------------------------------------------------------------------------------------

interface TraceScore {
  label: string;
  record: RolloutRecord;
  result: ScoreResult;
}

/** Heat colours from cool to hot: a token the checkpoint expected is barely tinted, a surprising one is red. */
const HEAT_COLOURS = ['rgba(64, 160, 255, 0.10)', 'rgba(255, 200, 0, 0.18)', 'rgba(255, 140, 0, 0.28)', 'rgba(255, 80, 0, 0.40)', 'rgba(255, 0, 0, 0.55)'];

class TraceScores implements vscode.Disposable {
  private readonly scores = new Map<string, TraceScore>();
  private readonly levels: vscode.TextEditorDecorationType[];
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly ctx: Ctx) {
    this.levels = Array.from({ length: HEAT_LEVELS }, (_, level) => vscode.window.createTextEditorDecorationType({
      backgroundColor: HEAT_COLOURS[level],
      overviewRulerColor: level >= 3 ? HEAT_COLOURS[level] : undefined,
      overviewRulerLane: vscode.OverviewRulerLane.Center,
    }));
    this.disposables.push(...this.levels);
    this.disposables.push(vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach((e) => this.decorate(e))));
    this.disposables.push(ctx.traces.onDidBuildView((view) => this.decorateUri(view.uri)));
    this.disposables.push(vscode.workspace.onDidChangeTextDocument((e) => { if (isTraceUri(e.document.uri)) this.decorateUri(e.document.uri); }));
    this.disposables.push(vscode.workspace.onDidCloseTextDocument((d) => this.scores.delete(d.uri.toString())));
    this.disposables.push(vscode.languages.registerHoverProvider({ scheme: TRACE_SCHEME }, { provideHover: (d, p) => this.hover(d, p) }));
  }

  set(uri: vscode.Uri, score: TraceScore): void {
    this.scores.set(uri.toString(), score);
    this.decorateUri(uri);
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  private decorateUri(uri: vscode.Uri): void {
    for (const editor of vscode.window.visibleTextEditors) if (editor.document.uri.toString() === uri.toString()) this.decorate(editor);
  }

  /** The rendered steps whose document text is the completion's text at the step's span (others are not tinted). */
  private placedSteps(editor: vscode.TextEditor, score: TraceScore): PlacedStep[] {
    const view = this.ctx.traces.viewOf(editor.document.uri);
    if (!view || view.record.id !== score.record.id) return [];
    const placed: PlacedStep[] = [];
    for (const rendered of view.rendered.steps) {
      const step = view.steps.find((s) => s.index === rendered.index);
      if (!step) continue;
      const range = new vscode.Range(rendered.range.startLine, rendered.range.startCharacter, rendered.range.endLine, rendered.range.endCharacter);
      if (editor.document.getText(range) !== score.record.completion.slice(step.span.start, step.span.end)) continue;
      placed.push({ span: step.span, startLine: rendered.range.startLine, startCharacter: rendered.range.startCharacter });
    }
    return placed;
  }

  private decorate(editor: vscode.TextEditor): void {
    const score = this.scores.get(editor.document.uri.toString());
    if (!score) return;
    const byLevel: vscode.Range[][] = this.levels.map(() => []);
    for (const token of placeTokens(score.record.completion, this.placedSteps(editor, score), score.result.tokens)) {
      const r = token.range;
      byLevel[token.level].push(new vscode.Range(r.startLine, r.startCharacter, r.endLine, r.endCharacter));
    }
    this.levels.forEach((type, level) => editor.setDecorations(type, byLevel[level]));
  }

  private hover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const score = this.scores.get(document.uri.toString());
    const view = this.ctx.traces.viewOf(document.uri);
    if (!score || !view || view.record.id !== score.record.id) return undefined;
    const hit = stepAt(view, position);
    if (!hit) return undefined;
    const tokens = score.result.tokens;
    const here = scoreOfSpan(tokens, hit.step.span);
    if (!here) return undefined;
    const lines = [`**${escapeMarkdown(vscode.l10n.t('Checkpoint {0}', score.label))}**`, ''];
    const sampled = hit.step.meanProb === null ? vscode.l10n.t('not recorded') : `${hit.step.meanProb.toFixed(3)} / ${hit.step.minProb!.toFixed(3)}`;
    lines.push(`| | ${vscode.l10n.t('this checkpoint')} | ${vscode.l10n.t('as sampled')} |`, '|---|---|---|');
    lines.push(`| ${vscode.l10n.t('mean p / least p')} | ${here.meanProb.toFixed(3)} / ${here.minProb.toFixed(3)} | ${sampled} |`);
    lines.push(`| ${vscode.l10n.t('mean entropy (nats)')} | ${here.meanEntropy.toFixed(3)} | |`);
    const least = tokens[here.minToken];
    lines.push('', vscode.l10n.t('Least expected token: {0} (log p {1})', codeSpan(score.record.completion.slice(least.start, least.end)), least.logprob.toFixed(3)));
    // The token under the pointer, when the position maps into the step's text on its first line.
    const offsetInLine = position.character - hit.range.start.character;
    if (position.line === hit.range.start.line && offsetInLine >= 0) {
      const index = tokenAt(tokens, hit.step.span.start + offsetInLine);
      if (index >= 0) {
        const token = tokens[index];
        const recorded = recordedLogprobAt(score.record, token.start);
        lines.push('', vscode.l10n.t('Token {0}: log p {1}, entropy {2}{3}', codeSpan(score.record.completion.slice(token.start, token.end)), token.logprob.toFixed(3), token.entropy.toFixed(3),
          recorded === null ? '' : vscode.l10n.t(' (sampled with log p {0})', recorded.toFixed(3))));
      }
    }
    const markdown = new vscode.MarkdownString(lines.join('\n'));
    markdown.isTrusted = false;
    markdown.supportHtml = false;
    return new vscode.Hover(markdown, hit.range);
  }
}

/** The sampled log-prob of the record's token that starts at completion offset `start`, when recorded. */
function recordedLogprobAt(record: RolloutRecord, start: number): number | null {
  if (!record.token_offsets || !record.token_logprobs) return null;
  const index = record.token_offsets.indexOf(start);
  return index >= 0 && index < record.token_logprobs.length ? record.token_logprobs[index] : null;
}

let sharedScores: { scores: TraceScores; ctx: Ctx } | undefined;

function traceScores(ctx: Ctx): TraceScores {
  if (sharedScores?.ctx === ctx) return sharedScores.scores;
  const scores = ctx.register(new TraceScores(ctx));
  sharedScores = { scores, ctx };
  return scores;
}

/** The trace the command acts on, opened (and made the active editor) if it came from the Runs view. */
async function traceTarget(arg: unknown): Promise<{ ref: SampleRef; uri: vscode.Uri } | undefined> {
  const fromUri = arg instanceof vscode.Uri ? arg : activeTraceUri();
  const ref = asSampleRef(arg) ?? asSampleRef(fromUri);
  if (!ref) return undefined;
  if (!(arg instanceof vscode.Uri) && !(asSampleRef(activeTraceUri())?.recordId === ref.recordId)) {
    await vscode.commands.executeCommand('mgrpo.openTrace', ref);
  }
  const uri = activeTraceUri();
  return uri ? { ref, uri } : undefined;
}

export const scoreTrace: CommandFactory = (ctx) => async (arg?: unknown) => {
  const target = await traceTarget(arg);
  if (!target) {
    void vscode.window.showInformationMessage(vscode.l10n.t('MGRPO: open a trace, or choose a sample in the Runs view, to score it with a checkpoint.'));
    return;
  }
  const record = await (await ctx.traces.readerFor(target.ref.runDir)).findRecord(target.ref.recordId);
  if (!record) throw new Error(vscode.l10n.t('record {0} is not in the run any more', target.ref.recordId));
  if (record.prompt === null) {
    void vscode.window.showWarningMessage(vscode.l10n.t('MGRPO: {0} has no recorded prompt (an imported rollout), so its tokens have no context to score.', record.id));
    return;
  }
  const chosen = await pickCheckpoint(ctx, target.ref.runDir, vscode.l10n.t('MGRPO: Score Trace with Checkpoint'));
  if (!chosen) return;
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('MGRPO: scoring {0} with {1}', record.id, chosen.label), cancellable: true },
    (_progress, token) => withCheckpoint(ctx, chosen, (backend) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      return backend.score({ kind: 'score', folder: chosen.folder, prompt: record.prompt!, completion: record.completion }, abort.signal);
    }),
  );
  if (!result) return;
  traceScores(ctx).set(target.uri, { label: chosen.label, record, result });
  const mean = result.tokens.reduce((sum, t) => sum + t.logprob, 0) / Math.max(1, result.tokens.length);
  void vscode.window.setStatusBarMessage(vscode.l10n.t('MGRPO: {0} scored with {1}: {2} tokens, mean log p {3}', record.id, chosen.label, result.tokens.length, mean.toFixed(3)), 10_000);
};
