import * as vscode from 'vscode';
import { RunReader } from '../format/runReader';
import type { RolloutRecord } from '../format/types';
import { changedSteps, firstDivergence } from '../model/divergence';
import { traceSteps, type TraceStep } from '../model/segmentation';
import { renderTrace, type RenderedTrace } from '../model/traceDocument';
import { Disposable } from './disposable';
import type { RunRegistry } from './runRegistry';
import { settings } from './settings';
import { parseTraceUri, TRACE_SCHEME, type TraceAddress } from './traceUri';
import { errorText } from '../format/errorText';

/** Everything the editor features (hover, decorations, CodeLens) need about one open trace. */
export interface TraceView {
  uri: vscode.Uri;
  address: TraceAddress;
  runName: string;
  record: RolloutRecord;
  /** Layer 2: the layer-1 sample it corrects. */
  parent?: RolloutRecord;
  /** Layer 1 opened as the left side of a diff: the correction on the right. */
  against?: RolloutRecord;
  /** Layer 1: its layer-2 corrections. */
  corrections: RolloutRecord[];
  rendered: RenderedTrace;
  steps: TraceStep[];
  /**
   * Layer 2: indexes of its steps whose text is not in layer 1 at that position. Layer 1 opened
   * against a correction: indexes of its steps that the correction did not keep.
   */
  changed: Set<number>;
  /** Where the layer-2 side departs from the layer-1 side (parent or `against`). */
  divergence: { layer1Step: number; layer2Step: number } | null;
}

/**
 * Read-only documents for scheme `mgrpo-trace`: one rollout record rendered by renderTrace in the
 * reasoning-trace language. Keeps the parsed view of each open document for the editor features.
 */
export class TraceDocumentProvider extends Disposable implements vscode.TextDocumentContentProvider {
  private readonly changeEmitter = this.register(new vscode.EventEmitter<vscode.Uri>());
  private readonly views = new Map<string, TraceView>();
  private readonly viewEmitter = this.register(new vscode.EventEmitter<TraceView>());
  readonly onDidChange = this.changeEmitter.event;
  /** A trace was (re)built: decorations and lenses refresh. */
  readonly onDidBuildView = this.viewEmitter.event;

  constructor(private readonly registry: RunRegistry) {
    super();
    this.register(vscode.workspace.registerTextDocumentContentProvider(TRACE_SCHEME, this));
    this.register(vscode.workspace.onDidCloseTextDocument((doc) => this.views.delete(doc.uri.toString())));
    // A run removed from the view (or whose folder is gone): its open traces say so.
    this.register(registry.onDidChangeRuns(() => {
      for (const view of this.views.values()) if (!registry.get(view.address.runDir)) this.changeEmitter.fire(view.uri);
    }));
    this.register(vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('mgrpo.trace.maxCharacters')) this.refreshAll();
    }));
  }

  viewOf(uri: vscode.Uri): TraceView | undefined {
    return this.views.get(uri.toString());
  }

  /** Re-renders every open trace (settings changed). */
  refreshAll(): void {
    for (const view of this.views.values()) this.changeEmitter.fire(view.uri);
  }

  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
    try {
      const view = await this.buildView(uri);
      if (token.isCancellationRequested) return view.rendered.text;
      this.views.set(uri.toString(), view);
      this.viewEmitter.fire(view);
      return view.rendered.text;
    } catch (error) {
      this.views.delete(uri.toString());
      // A document that says what went wrong beats an editor error banner: it names the run and id.
      return [
        '# MGRPO: this trace could not be opened',
        '',
        errorText(error),
        '',
        `URI: ${uri.toString()}`,
      ].join('\n');
    }
  }

  /**
   * The reader of a run the Runs view lists. Nothing else is served: a trace URI can name any
   * folder (a link, a restored editor), and only runs the user opened or started are read. The
   * reader belongs to the run's session, so a run removed from the view releases it.
   */
  async readerFor(runDir: string): Promise<RunReader> {
    // A trace restored with the window may be asked for before the first scan of the runs folder.
    await this.registry.discovered();
    const session = this.registry.get(runDir);
    if (!session) throw new Error(`the run ${runDir} is not in the Runs view; open it with "MGRPO: Open Run Folder..." first`);
    if (!session.reader) await session.poll();
    if (!session.reader) throw new Error(`the run ${runDir} cannot be read${session.error ? `: ${session.error}` : ' yet'}`);
    return session.reader;
  }

  private async buildView(uri: vscode.Uri): Promise<TraceView> {
    const address = parseTraceUri(uri);
    const reader = await this.readerFor(address.runDir);
    const record = await reader.findRecord(address.recordId);
    if (!record) throw new Error(`no rollout record ${address.recordId} in ${address.runDir}`);
    const runName = reader.manifest.name || reader.manifest.run_id;
    const parent = record.parent_id ? await reader.findRecord(record.parent_id) : undefined;
    const rendered = renderTrace(record, {
      maxCharacters: address.full ? Number.MAX_SAFE_INTEGER : settings.traceMaxCharacters(),
      runName,
      parent,
      parentShownBeside: parent !== undefined && address.against === parent.id,
    });
    const against = address.against ? await reader.findRecord(address.against) : undefined;
    let corrections: RolloutRecord[] = [];
    if (record.layer === 1) {
      const step = await reader.loadStep(record.step);
      for (const group of step.groups) {
        const sample = group.layer1.find((s) => s.record.id === record.id);
        if (sample) corrections = sample.corrections;
      }
    }
    const steps = traceSteps(record);
    let changed = new Set<number>();
    let divergence: TraceView['divergence'] = null;
    if (record.layer === 2 && parent) {
      changed = changedSteps(parent, record);
      divergence = firstDivergence(parent, record);
    } else if (record.layer === 1 && against) {
      // Same comparison with the roles swapped: which layer-1 steps the correction dropped or rewrote.
      changed = changedSteps(against, record);
      divergence = firstDivergence(record, against);
    }
    return { uri, address, runName, record, parent, against, corrections, rendered, steps, changed, divergence };
  }
}
