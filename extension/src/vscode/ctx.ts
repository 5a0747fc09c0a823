import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SampleFilter } from '../model/filters';
import { Disposable } from './disposable';
import { Panels } from './panels/panels';
import { PythonLocator } from './python';
import { RunRegistry } from './runRegistry';
import type { RunSession } from './runSession';
import { StepValuesStore } from './stepValuesStore';
import { TraceDocumentProvider } from './traceDocuments';
import { errorText } from '../format/errorText';

/** A command is a factory: given the context, it returns the function VS Code calls. */
export type CommandFactory = (ctx: Ctx) => (...args: unknown[]) => unknown;

/**
 * The extension's one context object. It owns everything that lives as long as the extension
 * (log channel, run registry, document provider, views). Each run's own lifetime — its trainer
 * process, follower, status item — is owned by its RunSession inside the registry.
 */
export class Ctx extends Disposable {
  readonly log: vscode.LogOutputChannel;
  readonly runs: RunRegistry;
  readonly traces: TraceDocumentProvider;
  /** The dashboards and the inspector (made here, at activation, so a reload can restore them). */
  readonly panels: Panels;
  /** Which Python runs the trainer, looked up once per session. */
  readonly python: PythonLocator;
  /** Monte-Carlo step values of runs (step-values/), for hovers and gutters. */
  readonly stepValues: StepValuesStore;
  /** Shows a run in the Runs view (set once the view exists). */
  revealRun?: (session: RunSession) => Promise<void>;
  private filter: SampleFilter | undefined;
  private readonly filterEmitter = this.register(new vscode.EventEmitter<SampleFilter | undefined>());
  readonly onDidChangeFilter = this.filterEmitter.event;

  constructor(readonly extension: vscode.ExtensionContext) {
    super();
    this.log = this.register(vscode.window.createOutputChannel('MGRPO Trainer', { log: true }));
    this.runs = this.register(new RunRegistry(extension.workspaceState, this.log, path.join(extension.globalStorageUri.fsPath, 'runs')));
    this.traces = this.register(new TraceDocumentProvider(this.runs));
    // Before the panels: the inspector follows new step values from its constructor.
    this.stepValues = this.register(new StepValuesStore(this.log));
    this.panels = this.register(new Panels(this));
    this.python = this.register(new PythonLocator(extension, this.log));
    this.register(this.runs.onDidChangeLive(() => this.updateLiveContextKeys()));
    this.register(this.runs.onDidChangeRuns(() => this.updateLiveContextKeys()));
  }

  /** The folder the extension is installed in (the repository itself when run from source). */
  get extensionRoot(): string {
    return this.extension.extensionUri.fsPath;
  }

  get sampleFilter(): SampleFilter | undefined {
    return this.filter;
  }

  setSampleFilter(filter: SampleFilter | undefined): void {
    this.filter = filter;
    void vscode.commands.executeCommand('setContext', 'mgrpo.filterActive', filter !== undefined);
    this.filterEmitter.fire(filter);
  }

  registerCommand(id: string, factory: CommandFactory): void {
    const run = factory(this);
    this.register(vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await run(...args);
      } catch (error) {
        // Commands report their own expected failures; this is the net for the unexpected ones.
        const message = errorText(error);
        this.log.error(`${id} failed: ${error instanceof Error && error.stack ? error.stack : message}`);
        void vscode.window.showErrorMessage(vscode.l10n.t('MGRPO: {0}', message));
        return undefined;
      }
    }));
  }

  /** Context keys that menus read: whether any run started here is live, paused or running. */
  updateLiveContextKeys(): void {
    const live = this.runs.live();
    const paused = live.some((s: RunSession) => s.trainer?.state === 'paused');
    const running = live.some((s: RunSession) => s.trainer?.state === 'running' || s.trainer?.state === 'starting');
    void vscode.commands.executeCommand('setContext', 'mgrpo.hasLiveRun', live.length > 0);
    void vscode.commands.executeCommand('setContext', 'mgrpo.hasPausedRun', paused);
    void vscode.commands.executeCommand('setContext', 'mgrpo.hasRunningRun', running);
  }
}
