import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { RunPaths } from '../../format/types';
import type { Ctx } from '../ctx';
import { Disposable } from '../disposable';
import type { RunSession } from '../runSession';
import { WebviewChannel } from './channel';
import { dashboardPoint, evalRow, MetricPresence, parseEvalResult, runHeader, type DashboardWords } from './dashboardData';
import { createPanel, DASHBOARD_VIEW_TYPE, preparePanel } from './panel';
import { openDashboardSamples } from './stepTruthDashboard';
import { DepartureOffsetTally, stepTruthSummary } from './stepTruthData';
import type { AllowedCommand, EvalRow, RunHeader } from '../../webview/protocol';
import type { RunReader } from '../../format/runReader';
import type { MetricsLine } from '../../format/types';
import { errorText } from '../../format/errorText';

const EVAL_FILE = /^step-(\d+)\.json$/;

/** dashboardData's words, localised: the header and the charts of an imported run say what its source left out. */
function localisedWords(): DashboardWords {
  const notRecorded = (kind: string | undefined) => vscode.l10n.t('not recorded by {0}', kind?.trim() || vscode.l10n.t('the source'));
  return { notRecorded, unnamedImportedModel: (kind) => vscode.l10n.t('{0} (imported)', notRecorded(kind)) };
}

/**
 * One run's live dashboard. Sends the whole run once the webview is ready, then only what the
 * run appended (new metrics lines, new evaluation files) each time the run session reports a
 * change, so a run of thousands of steps costs one message per step.
 */
export class DashboardPanel extends Disposable {
  readonly panel: vscode.WebviewPanel;
  private readonly channel: WebviewChannel;
  /** How many of the reader's metrics lines the webview has, and of which generation. */
  private sentMetrics = 0;
  private sentGeneration = -1;
  /** eval file name -> mtime, as last sent; a changed listing re-sends the table. */
  private evalSignature = '';
  /** Which metrics the sent steps had values for: an imported run's charts say what its source does not record. */
  private readonly presence = new MetricPresence();
  private readonly words = localisedWords();
  /** Where layer 2 departs against layer 1's first error, counted from the rollout files step by step. */
  private readonly offsets = new DepartureOffsetTally();
  /** The step-truth section was sent before its departure offsets were counted. */
  private offsetsPending = false;
  private readonly stopReading = new AbortController();
  private updating: Promise<void> = Promise.resolve();

  /** `restored`: the panel VS Code hands back after a reload (else a new one is created). */
  constructor(private readonly ctx: Ctx, readonly runDir: string | undefined, title: string, restored?: vscode.WebviewPanel) {
    super();
    const spec = { viewType: DASHBOARD_VIEW_TYPE, title, bundle: 'dashboard', inlineStyles: false, blobWorkers: false } as const;
    if (restored) preparePanel(restored, ctx.extension.extensionUri, spec);
    this.panel = restored ?? createPanel(ctx.extension.extensionUri, spec);
    this.register({ dispose: () => this.panel.dispose() });
    this.register({ dispose: () => this.stopReading.abort() });
    this.channel = this.register(new WebviewChannel(this.panel.webview, ctx.log, `dashboard ${runDir ?? '(no run)'}`, () => this.sendAll(), {
      runCommand: async ({ command }: { command: AllowedCommand }) => {
        await vscode.commands.executeCommand(command);
        return null;
      },
      'dashboard/openSamples': async (params) => {
        if (!runDir) throw new Error(vscode.l10n.t('this dashboard shows no run'));
        return openDashboardSamples(ctx, runDir, params);
      },
    }));
    if (runDir) {
      this.register(ctx.runs.onDidChangeRun((change) => {
        if (change.session.runDir === runDir) this.scheduleUpdate();
      }));
      // Pausing or stopping changes the header before the files do.
      this.register(ctx.runs.onDidChangeLive(() => this.scheduleUpdate()));
    }
  }

  reveal(): void {
    this.panel.reveal(undefined, false);
  }

  private session(): RunSession | undefined {
    return this.runDir ? this.ctx.runs.get(this.runDir) : undefined;
  }

  private header(): RunHeader {
    const session = this.session();
    const reader = session?.reader;
    return runHeader({
      runDir: this.runDir ?? '',
      name: session?.name ?? path.basename(this.runDir ?? ''),
      manifest: reader?.manifest,
      metrics: reader?.metrics ?? [],
      liveState: session?.trainer?.state,
      error: session ? session.error : vscode.l10n.t('the run {0} is no longer in the Runs view', this.runDir ?? ''),
      words: this.words,
    });
  }

  /** Everything, from the start (on `ready`, and after a resumed run rewrote its files). */
  private sendAll(): void {
    if (!this.runDir) {
      this.channel.notify('dashboard/empty', { message: vscode.l10n.t('No MGRPO run yet. Start one, or open a run folder; its dashboard shows the run live.') });
      return;
    }
    const reader = this.session()?.reader;
    const metrics = reader?.metrics ?? [];
    this.sentMetrics = metrics.length;
    this.sentGeneration = reader?.generation ?? -1;
    this.evalSignature = '';
    this.channel.notify('panel/restoreState', { runDir: this.runDir });
    const points = metrics.map(dashboardPoint);
    this.presence.reset(points);
    this.channel.notify('dashboard/reset', { header: this.header(), points, evals: [], unrecorded: this.presence.unrecorded(reader?.manifest, this.words) });
    // The departure offsets when they are counted already (a rebuilt webview); else update() counts them.
    const summary = stepTruthSummary(metrics);
    if (summary.hasLabels && reader) summary.departureOffsets = this.offsets.peek(reader, metrics);
    this.offsetsPending = summary.hasLabels && reader !== undefined && summary.departureOffsets === null;
    this.channel.notify('dashboard/stepTruth', summary);
    this.scheduleUpdate();
  }

  private scheduleUpdate(): void {
    // One update at a time, in order: a slow eval read must not let a later append overtake it.
    this.updating = this.updating.then(() => this.update()).catch((error: unknown) => {
      this.ctx.log.warn(`[dashboard] update of ${this.runDir} failed: ${errorText(error)}`);
    });
  }

  private async update(): Promise<void> {
    if (this.isDisposed || !this.channel.isReady || !this.runDir) return;
    const reader = this.session()?.reader;
    const metrics = reader?.metrics ?? [];
    if ((reader?.generation ?? -1) !== this.sentGeneration || metrics.length < this.sentMetrics) {
      this.sendAll();
      return;
    }
    const fresh = metrics.slice(this.sentMetrics);
    this.sentMetrics = metrics.length;
    const points = fresh.map(dashboardPoint);
    this.presence.add(points);
    this.channel.notify('dashboard/append', { header: this.header(), points, unrecorded: this.presence.unrecorded(reader?.manifest, this.words) });
    // Totals over the whole run: sent whole, and only when steps were added (or offsets are owed).
    if (fresh.length > 0 || this.offsetsPending) await this.sendStepTruth(reader, metrics);
    const evals = await this.readEvalsIfChanged();
    if (evals) this.channel.notify('dashboard/evals', { evals });
  }

  /** The step-truth section with its departure offsets, reading the steps not counted yet. */
  private async sendStepTruth(reader: RunReader | undefined, metrics: readonly MetricsLine[]): Promise<void> {
    const summary = stepTruthSummary(metrics);
    this.offsetsPending = false;
    if (summary.hasLabels && reader) {
      try {
        summary.departureOffsets = await this.offsets.count(reader, metrics, this.stopReading.signal);
      } catch (error) {
        // Sent without them; the next step's update tries again.
        if (this.isDisposed) return;
        this.ctx.log.warn(`[dashboard] could not count departure offsets of ${this.runDir}: ${errorText(error)}`);
      }
    }
    if (!this.isDisposed) this.channel.notify('dashboard/stepTruth', summary);
  }

  /** All evaluations, oldest first, when the eval/ listing changed since the last call. */
  private async readEvalsIfChanged(): Promise<EvalRow[] | undefined> {
    const dir = path.join(this.runDir!, RunPaths.evalDir);
    let names: string[];
    try {
      names = (await fs.readdir(dir)).filter((name) => EVAL_FILE.test(name)).sort();
    } catch {
      names = [];
    }
    const stats = await Promise.all(names.map((name) => fs.stat(path.join(dir, name)).then((s) => `${name}:${s.mtimeMs}:${s.size}`, () => name)));
    const signature = stats.join('|');
    if (signature === this.evalSignature) return undefined;
    this.evalSignature = signature;
    const rows: EvalRow[] = [];
    for (const name of names) {
      const file = path.join(dir, name);
      try {
        rows.push(evalRow(parseEvalResult(JSON.parse(await fs.readFile(file, 'utf8')), file)));
      } catch (error) {
        // The trainer writes eval files whole; a bad one is reported and left out of the table.
        this.ctx.log.warn(`[dashboard] skipped ${file}: ${errorText(error)}`);
      }
    }
    return rows.sort((a, b) => a.step - b.step);
  }
}

/** The open dashboards, one per run (plus one "no run yet" page). */
export class DashboardPanels extends Disposable {
  private readonly panels = new Map<string, DashboardPanel>();

  constructor(private readonly ctx: Ctx) {
    super();
    this.register({ dispose: () => [...this.panels.values()].forEach((p) => p.dispose()) });
  }

  show(session: RunSession | undefined): DashboardPanel {
    const existing = this.panels.get(session?.runDir ?? '');
    if (existing && !existing.isDisposed) {
      existing.reveal();
      return existing;
    }
    return this.track(session?.runDir, session ? dashboardTitle(session.name) : vscode.l10n.t('MGRPO Dashboard'));
  }

  /**
   * Takes back a dashboard VS Code kept across a window reload. Its run is looked up by folder on
   * every update, so a run the registry lists later (or never: the header says so) is fine.
   */
  restore(panel: vscode.WebviewPanel, runDir: string | undefined): void {
    const session = runDir ? this.ctx.runs.get(runDir) : undefined;
    const title = runDir ? dashboardTitle(session?.name ?? path.basename(runDir)) : vscode.l10n.t('MGRPO Dashboard');
    this.panels.get(runDir ?? '')?.dispose();
    this.track(runDir, title, panel);
  }

  private track(runDir: string | undefined, title: string, restored?: vscode.WebviewPanel): DashboardPanel {
    const key = runDir ?? '';
    const dashboard = new DashboardPanel(this.ctx, runDir, title, restored);
    this.panels.set(key, dashboard);
    dashboard.panel.onDidDispose(() => {
      if (this.panels.get(key) === dashboard) this.panels.delete(key);
      dashboard.dispose();
    });
    return dashboard;
  }
}

function dashboardTitle(runName: string): string {
  return vscode.l10n.t('MGRPO Dashboard: {0}', runName);
}
