import * as path from 'node:path';
import * as vscode from 'vscode';
import { AbortError } from '../format/runReader';
import { describeFilter, isEmptyFilter } from '../model/filters';
import { refreshDelayMs, runRefreshPlan, runViewSignature, type RunViewSignature } from '../model/runRefresh';
import { childrenOf, CONTEXT_VALUES, presentation, runNode, type RunNode, type RunTreeNode, type StepNode } from '../model/runTree';
import type { Ctx } from './ctx';
import { Disposable } from './disposable';
import type { RunSession } from './runSession';
import { errorText } from '../format/errorText';

/** A run whose run.json is not readable yet (trainer starting) or at all (broken folder). */
export interface PendingRunElement {
  kind: 'pending';
  id: string;
  runDir: string;
}

export type RunsTreeElement = RunTreeNode | PendingRunElement;

/**
 * The Runs view: maps runTree's data nodes to TreeItems. Run and step nodes are kept as the same
 * objects across refreshes (VS Code finds an element to refresh by identity) and updated in place
 * when their run changes, so a live run redraws without collapsing what the user expanded. A change
 * refreshes only what it touched (model/runRefresh.ts), at most once per run per interval: a
 * refresh re-fetches every expanded row under it, and one landing under a click loses the click.
 */
export class RunsTreeProvider extends Disposable implements vscode.TreeDataProvider<RunsTreeElement> {
  private readonly changeEmitter = this.register(new vscode.EventEmitter<RunsTreeElement | undefined>());
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private readonly roots = new Map<string, RunNode | PendingRunElement>();
  /** Step nodes as last handed to VS Code, per run, so that one step can be refreshed alone. */
  private readonly stepNodes = new Map<string, Map<number, StepNode>>();
  /** What each run's rows showed at its last refresh. */
  private readonly signatures = new Map<string, RunViewSignature>();
  private readonly refreshTimers = new Map<string, NodeJS.Timeout>();
  private readonly lastRefreshAt = new Map<string, number>();
  /** Cancels the filter scans of the previous filter when it changes. */
  private filterScans = new AbortController();
  /** Called once VS Code has fetched the roots after they were last redrawn (see rootsSettled). */
  private rootsFetched: (() => void)[] = [];
  private rootsStale = false;
  /** Rows whose last listing failed and was reported: a live run retries every second, one toast is enough. */
  private readonly reportedFailures = new Set<string>();
  readonly view: vscode.TreeView<RunsTreeElement>;

  constructor(private readonly ctx: Ctx) {
    super();
    this.view = this.register(vscode.window.createTreeView('mgrpo.runs', { treeDataProvider: this, showCollapseAll: true }));
    this.register(ctx.runs.onDidChangeRuns(() => this.redrawRoots()));
    this.register(ctx.runs.onDidChangeRun(({ session }) => this.refreshRun(session)));
    this.register(ctx.runs.onDidChangeLive(() => {
      for (const session of ctx.runs.all()) this.refreshRun(session);
    }));
    this.register(ctx.onDidChangeFilter((filter) => {
      this.filterScans.abort();
      this.filterScans = new AbortController();
      this.view.description = isEmptyFilter(filter) ? undefined : `filter: ${describeFilter(filter)}`;
      this.signatures.clear();
      this.redrawRoots();
    }));
    this.register({ dispose: () => this.filterScans.abort() });
    this.register({ dispose: () => {
      for (const timer of this.refreshTimers.values()) clearTimeout(timer);
      this.refreshTimers.clear();
    } });
  }

  /**
   * Selects and expands the run's row. VS Code resolves the row by fetching the roots itself; a fetch
   * of its own running at the same time (after a redraw) makes it drop the reveal with "Failed to
   * resolve tree node". So a run that just became readable is redrawn now, and the reveal waits for
   * VS Code to have fetched the roots once after the last redraw.
   */
  async reveal(session: RunSession): Promise<void> {
    if (this.roots.get(session.runDir)?.kind === 'pending' && session.reader) this.redrawRoot(session);
    await this.rootsSettled();
    await this.view.reveal(this.rootFor(session), { select: true, focus: false, expand: true });
  }

  /** The run's root changes kind (it became readable, or unreadable): redraw the roots with a fresh element for it. */
  private redrawRoot(session: RunSession): void {
    if (this.roots.get(session.runDir)?.kind === 'pending' && session.reader) this.roots.delete(session.runDir);
    this.signatures.delete(session.runDir);
    this.redrawRoots();
  }

  private redrawRoots(): void {
    this.rootsStale = true;
    this.changeEmitter.fire(undefined);
  }

  /** Resolves once VS Code fetched the roots after the last redraw, or after `timeoutMs` (a hidden view fetches nothing). */
  private rootsSettled(timeoutMs = 2_000): Promise<void> {
    if (!this.rootsStale) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.rootsFetched.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  getParent(element: RunsTreeElement): RunsTreeElement | undefined {
    // Only runs are revealed programmatically; they are roots.
    if (element.kind === 'run' || element.kind === 'pending') return undefined;
    const session = this.ctx.runs.get(element.runDir);
    return session ? this.rootFor(session) : undefined;
  }

  async getChildren(element?: RunsTreeElement): Promise<RunsTreeElement[]> {
    if (!element) {
      const sessions = this.ctx.runs.all();
      const live = new Set(sessions.map((s) => s.runDir));
      for (const dir of this.roots.keys()) if (!live.has(dir)) this.forget(dir);
      this.rootsStale = false;
      const waiting = this.rootsFetched.splice(0);
      // VS Code registers the rows after this returns (it asks for their items first): let it finish.
      if (waiting.length > 0) setTimeout(() => waiting.forEach((resolve) => resolve()), 100);
      return sessions.map((s) => this.rootFor(s));
    }
    if (element.kind === 'pending') return [];
    const reader = this.ctx.runs.get(element.runDir)?.reader ?? (await this.ctx.traces.readerFor(element.runDir));
    const filter = this.ctx.sampleFilter;
    const signal = this.filterScans.signal;
    try {
      if (element.kind === 'run' && !isEmptyFilter(filter)) {
        // Finding which steps match reads the whole run: show progress, cancel on a new filter.
        return this.keepStepNodes(element.runDir, await vscode.window.withProgress(
          { location: { viewId: 'mgrpo.runs' }, title: `Filtering ${path.basename(element.runDir)}` },
          () => childrenOf(element, reader, filter, { signal }),
        ));
      }
      const children = await childrenOf(element, reader, filter, { signal });
      // Parsing a step may have found malformed lines: report them and update the run's count.
      const session = this.ctx.runs.get(element.runDir);
      if (element.kind === 'step' && session?.reportMalformed()) this.refreshRun(session);
      this.reportedFailures.delete(element.id);
      return element.kind === 'run' ? this.keepStepNodes(element.runDir, children) : children;
    } catch (error) {
      if (error instanceof AbortError) return [];
      if (!this.reportedFailures.has(element.id)) {
        this.reportedFailures.add(element.id);
        this.ctx.log.error(`Runs view: could not list ${element.id}: ${errorText(error)}`);
        const what = element.kind === 'run' ? vscode.l10n.t('the run') : element.id.split('::').pop() ?? element.id;
        void vscode.window.showErrorMessage(vscode.l10n.t('MGRPO: could not read {0}: {1}', what, errorText(error)));
      }
      return [];
    }
  }

  getTreeItem(element: RunsTreeElement): vscode.TreeItem {
    if (element.kind === 'pending') return this.pendingItem(element);
    const look = presentation(element);
    const item = new vscode.TreeItem(
      look.label,
      look.collapsible ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
    );
    item.id = element.id;
    item.description = look.description;
    item.tooltip = new vscode.MarkdownString(look.tooltip);
    item.iconPath = new vscode.ThemeIcon(look.icon, look.color ? new vscode.ThemeColor(look.color) : undefined);
    item.contextValue = look.contextValue;
    if (element.kind === 'run') {
      item.contextValue = this.runContextValue(element);
      if (this.ctx.runs.get(element.runDir)?.endedWithoutStatus) {
        // Killed before it could write its final status: don't keep showing a spinner.
        item.description = `${vscode.l10n.t('ended (process killed)')} · ${element.manifest.completed_steps}/${element.manifest.total_steps}`;
        item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
      }
    }
    if (element.kind === 'layer1' || element.kind === 'layer2') {
      item.command = { command: 'mgrpo.openTrace', title: 'Open Trace', arguments: [element] };
    }
    return item;
  }

  private pendingItem(element: PendingRunElement): vscode.TreeItem {
    const session = this.ctx.runs.get(element.runDir);
    const item = new vscode.TreeItem(path.basename(element.runDir), vscode.TreeItemCollapsibleState.None);
    item.id = element.id;
    const unreadable = session?.status === 'unreadable';
    item.description = unreadable ? vscode.l10n.t('unreadable: {0}', session?.error ?? '') : vscode.l10n.t('starting…');
    item.tooltip = unreadable ? `${element.runDir}\n\n${session?.error ?? ''}` : `${element.runDir}\n\n${vscode.l10n.t('Waiting for the trainer to write run.json.')}`;
    item.iconPath = unreadable
      ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'))
      : new vscode.ThemeIcon('loading~spin');
    item.contextValue = `${CONTEXT_VALUES.run}.${session?.trainer?.state ?? 'pending'}`;
    return item;
  }

  /**
   * `mgrpoRun.<state>`: the state of this window's trainer for it (running, paused, stopping,
   * exited) or `idle` when it has none, so menus offer stop/pause/resume only where they apply.
   */
  private runContextValue(node: RunNode): string {
    const trainer = this.ctx.runs.get(node.runDir)?.trainer;
    const state = trainer?.isAlive ? trainer.state : 'idle';
    return `${CONTEXT_VALUES.run}.${state}`;
  }

  private rootFor(session: RunSession): RunNode | PendingRunElement {
    const existing = this.roots.get(session.runDir);
    const reader = session.reader;
    if (reader) {
      if (existing?.kind === 'run') return existing;
      const node = runNode(reader);
      this.roots.set(session.runDir, node);
      return node;
    }
    if (existing) return existing;
    const pending: PendingRunElement = { kind: 'pending', id: `${session.runDir}::pending`, runDir: session.runDir };
    this.roots.set(session.runDir, pending);
    return pending;
  }

  /** The run's step nodes as the same objects as before (updated in place), remembered for a later refresh. */
  private keepStepNodes(runDir: string, children: RunTreeNode[]): RunTreeNode[] {
    const previous = this.stepNodes.get(runDir) ?? new Map<number, StepNode>();
    const kept = new Map<number, StepNode>();
    const result = children.map((child) => {
      if (child.kind !== 'step') return child;
      const known = previous.get(child.step);
      const node = known ? Object.assign(known, child) : child;
      kept.set(child.step, node);
      return node;
    });
    this.stepNodes.set(runDir, kept);
    return result;
  }

  private forget(runDir: string): void {
    this.roots.delete(runDir);
    this.stepNodes.delete(runDir);
    this.signatures.delete(runDir);
    this.lastRefreshAt.delete(runDir);
    clearTimeout(this.refreshTimers.get(runDir));
    this.refreshTimers.delete(runDir);
  }

  /** Something of the run may have changed: look once the burst settles, at most once per interval. */
  private refreshRun(session: RunSession): void {
    const runDir = session.runDir;
    if (!this.roots.has(runDir) || this.refreshTimers.has(runDir) || this.isDisposed) return;
    const delay = refreshDelayMs(Date.now(), this.lastRefreshAt.get(runDir));
    this.refreshTimers.set(runDir, setTimeout(() => {
      this.refreshTimers.delete(runDir);
      const current = this.ctx.runs.get(runDir);
      if (current && !this.isDisposed) this.applyRefresh(current);
    }, delay));
  }

  /** Fires what changed since the run's last refresh, and nothing else. */
  private applyRefresh(session: RunSession): void {
    const existing = this.roots.get(session.runDir);
    if (!existing) return;
    this.lastRefreshAt.set(session.runDir, Date.now());
    if (existing.kind === 'pending' || !session.reader) {
      this.redrawRoot(session);
      return;
    }
    const reader = session.reader;
    Object.assign(existing, runNode(reader));
    const windowState = `${this.runContextValue(existing)}|${session.endedWithoutStatus ? 'killed' : ''}`;
    const signature = runViewSignature(existing, reader, windowState, !isEmptyFilter(this.ctx.sampleFilter));
    const plan = runRefreshPlan(this.signatures.get(session.runDir), signature);
    this.signatures.set(session.runDir, signature);
    if (plan.run) {
      this.changeEmitter.fire(existing);
      return;
    }
    const shown = this.stepNodes.get(session.runDir);
    for (const step of plan.steps) {
      const node = shown?.get(step);
      if (!node) continue; // never drawn: it is fetched fresh when its run is expanded
      node.metrics = reader.metricsFor(step);
      this.changeEmitter.fire(node);
    }
  }
}
