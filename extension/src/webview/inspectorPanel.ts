import * as vscode from 'vscode';
import type { RunReader } from '../format/runReader';
import type { RolloutRecord } from '../format/types';
import { showTrace } from '../vscode/commands/traces';
import type { Ctx } from '../vscode/ctx';
import { Disposable } from '../vscode/disposable';
import { WebviewChannel } from './channel';
import { inspectorState } from './inspectorData';
import { createPanel } from './panel';
import type { InspectorState } from './protocol';

export interface InspectTarget {
  runDir: string;
  /** A layer-2 correction, or a layer-1 sample (then its first correction is shown). */
  recordId: string;
}

/** The layer-1 sample and correction a record names, and the sample's other corrections. */
export async function resolvePair(reader: RunReader, recordId: string): Promise<{ layer1: RolloutRecord; correction: RolloutRecord; siblings: RolloutRecord[] }> {
  const record = await reader.findRecord(recordId);
  if (!record) throw new Error(`no rollout record ${recordId} in ${reader.runDir}`);
  const layer1Id = record.layer === 2 ? record.parent_id : record.id;
  const step = await reader.loadStep(record.step);
  const sample = step.groups.flatMap((g) => g.layer1).find((s) => s.record.id === layer1Id);
  if (!sample) throw new Error(`correction ${record.id} names parent ${record.parent_id ?? '(none)'}, which is not in step ${record.step}`);
  const correction = record.layer === 2 ? record : sample.corrections[0];
  if (!correction) throw new Error(`${record.id} has no layer-2 corrections (a GRPO run, or layer 2 skipped it)`);
  return { layer1: sample.record, correction, siblings: sample.corrections };
}

/**
 * The inspector: one panel, reused, showing one (layer-1 sample, correction) pair in a Monaco
 * diff editor. The webview asks for another correction of the same sample by request; the host
 * answers with the whole new state.
 */
export class InspectorPanel extends Disposable {
  private panel?: vscode.WebviewPanel;
  private channel?: WebviewChannel;
  private current: InspectorState | undefined;
  private emptyMessage = '';

  constructor(private readonly ctx: Ctx) {
    super();
    this.register({ dispose: () => this.panel?.dispose() });
  }

  async show(target: InspectTarget): Promise<void> {
    const state = await this.stateFor(target);
    this.current = state;
    this.open();
    this.panel!.title = `MGRPO Inspector: step ${state.step} · q ${state.group}`;
    this.channel!.notify('inspector/show', state);
  }

  /** Opens the panel with a message instead of a pair (no run has corrections yet). */
  showEmpty(message: string): void {
    this.current = undefined;
    this.emptyMessage = message;
    this.open();
    this.panel!.title = 'MGRPO Inspector';
    this.channel!.notify('inspector/empty', { message });
  }

  private async stateFor(target: InspectTarget): Promise<InspectorState> {
    const reader = await this.ctx.traces.readerFor(target.runDir);
    const { layer1, correction, siblings } = await resolvePair(reader, target.recordId);
    const runName = reader.manifest.name || reader.manifest.run_id;
    return inspectorState(target.runDir, runName, layer1, correction, siblings);
  }

  private open(): void {
    if (this.panel) {
      this.panel.reveal(undefined, false);
      return;
    }
    const panel = createPanel(this.ctx.extension.extensionUri, { viewType: 'mgrpo.inspector', title: 'MGRPO Inspector', bundle: 'inspector', inlineStyles: true, blobWorkers: true });
    const channel = new WebviewChannel(panel.webview, this.ctx.log, 'inspector', () => this.resend(), {
      'inspector/selectCorrection': async ({ recordId }) => {
        if (!this.current) throw new Error('the inspector shows no run');
        const state = await this.stateFor({ runDir: this.current.runDir, recordId });
        this.current = state;
        if (this.panel) this.panel.title = `MGRPO Inspector: step ${state.step} · q ${state.group}`;
        return state;
      },
      'inspector/openTrace': async ({ recordId }) => {
        if (!this.current) throw new Error('the inspector shows no run');
        await showTrace({ runDir: this.current.runDir, recordId }, { viewColumn: vscode.ViewColumn.Beside, preview: true });
        return null;
      },
    });
    panel.onDidDispose(() => {
      channel.dispose();
      if (this.panel === panel) {
        this.panel = undefined;
        this.channel = undefined;
      }
    });
    this.panel = panel;
    this.channel = channel;
  }

  private resend(): void {
    if (this.current) this.channel?.notify('inspector/show', this.current);
    else this.channel?.notify('inspector/empty', { message: this.emptyMessage || 'Choose a layer-2 correction to inspect.' });
  }
}
