import * as vscode from 'vscode';
import type { RunReader } from '../../format/runReader';
import type { RolloutRecord } from '../../format/types';
import { showTrace } from '../traceUri';
import type { Ctx } from '../ctx';
import { Disposable } from '../disposable';
import { errorText } from '../../format/errorText';
import { WebviewChannel } from './channel';
import { inspectorState } from './inspectorData';
import { createPanel, INSPECTOR_VIEW_TYPE, preparePanel } from './panel';
import type { InspectorState } from '../../webview/protocol';

export interface InspectTarget {
  runDir: string;
  /** A layer-2 correction, or a layer-1 sample (then its first correction is shown). */
  recordId: string;
}

/** The layer-1 sample and correction a record names, and the sample's other corrections. */
export async function resolvePair(reader: RunReader, recordId: string): Promise<{ layer1: RolloutRecord; correction: RolloutRecord; siblings: RolloutRecord[] }> {
  const record = await reader.findRecord(recordId);
  if (!record) throw new Error(vscode.l10n.t('no rollout record {0} in {1}', recordId, reader.runDir));
  const layer1Id = record.layer === 2 ? record.parent_id : record.id;
  const step = await reader.loadStep(record.step);
  const sample = step.groups.flatMap((g) => g.layer1).find((s) => s.record.id === layer1Id);
  if (!sample) throw new Error(vscode.l10n.t('correction {0} names parent {1}, which is not in step {2}', record.id, record.parent_id ?? vscode.l10n.t('(none)'), record.step));
  const correction = record.layer === 2 ? record : sample.corrections[0];
  if (!correction) throw new Error(vscode.l10n.t('{0} has no layer-2 corrections (a GRPO run, or layer 2 skipped it)', record.id));
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
    // New step values (Estimate Step Values) for the pair on show: show them.
    this.register(ctx.stepValues.onDidChange(({ runDir, step }) => {
      const shown = this.current;
      if (!shown || shown.runDir !== runDir || shown.step !== step || !this.panel) return;
      this.refresh({ runDir, recordId: shown.correction.recordId }).catch((error) => this.ctx.log.warn(`inspector: ${errorText(error)}`));
    }));
  }

  async show(target: InspectTarget): Promise<void> {
    const state = await this.stateFor(target);
    this.current = state;
    this.open();
    this.panel!.title = inspectorTitle(state);
    this.channel!.notify('panel/restoreState', { runDir: state.runDir, recordId: state.correction.recordId });
    this.channel!.notify('inspector/show', state);
  }

  /** Recomputes what the panel shows in place, without revealing it or taking focus. */
  private async refresh(target: InspectTarget): Promise<void> {
    const state = await this.stateFor(target);
    this.current = state;
    this.channel?.notify('inspector/show', state);
  }

  /**
   * Takes back the inspector VS Code kept across a window reload and shows what it showed, or
   * says why it cannot (the run is gone from the Runs view, the record from the run).
   */
  async restore(panel: vscode.WebviewPanel, target: InspectTarget | undefined): Promise<void> {
    if (this.panel && this.panel !== panel) this.panel.dispose();
    this.open(panel);
    if (!target) {
      this.showEmpty(vscode.l10n.t('Choose a layer-2 correction to inspect.'));
      return;
    }
    try {
      await this.show(target);
    } catch (error) {
      this.showEmpty(vscode.l10n.t('Could not show what this inspector showed before the reload: {0}', errorText(error)));
    }
  }

  /** Opens the panel with a message instead of a pair (no run has corrections yet). */
  showEmpty(message: string): void {
    this.current = undefined;
    this.emptyMessage = message;
    this.open();
    this.panel!.title = vscode.l10n.t('MGRPO Inspector');
    this.channel!.notify('inspector/empty', { message });
  }

  private async stateFor(target: InspectTarget): Promise<InspectorState> {
    const reader = await this.ctx.traces.readerFor(target.runDir);
    const { layer1, correction, siblings } = await resolvePair(reader, target.recordId);
    const runName = reader.manifest.name || reader.manifest.run_id;
    const [layer1Values, correctionValues] = await Promise.all([
      this.ctx.stepValues.valuesFor(target.runDir, layer1),
      this.ctx.stepValues.valuesFor(target.runDir, correction),
    ]);
    return inspectorState(target.runDir, runName, layer1, correction, siblings, { layer1: layer1Values, correction: correctionValues });
  }

  /** Reveals the panel, creating it (or adopting `restored`, one VS Code kept across a reload). */
  private open(restored?: vscode.WebviewPanel): void {
    if (this.panel && (!restored || this.panel === restored)) {
      this.panel.reveal(undefined, false);
      return;
    }
    const spec = { viewType: INSPECTOR_VIEW_TYPE, title: vscode.l10n.t('MGRPO Inspector'), bundle: 'inspector', inlineStyles: true, blobWorkers: true } as const;
    if (restored) preparePanel(restored, this.ctx.extension.extensionUri, spec);
    const panel = restored ?? createPanel(this.ctx.extension.extensionUri, spec);
    const channel = new WebviewChannel(panel.webview, this.ctx.log, 'inspector', () => this.resend(), {
      'inspector/selectCorrection': async ({ recordId }) => {
        if (!this.current) throw new Error('the inspector shows no run');
        const state = await this.stateFor({ runDir: this.current.runDir, recordId });
        this.current = state;
        if (this.panel) this.panel.title = inspectorTitle(state);
        this.channel?.notify('panel/restoreState', { runDir: state.runDir, recordId: state.correction.recordId });
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
    if (this.current) {
      this.channel?.notify('panel/restoreState', { runDir: this.current.runDir, recordId: this.current.correction.recordId });
      this.channel?.notify('inspector/show', this.current);
    }
    else this.channel?.notify('inspector/empty', { message: this.emptyMessage || vscode.l10n.t('Choose a layer-2 correction to inspect.') });
  }
}

function inspectorTitle(state: InspectorState): string {
  return vscode.l10n.t('MGRPO Inspector: step {0} · q {1}', state.step, state.group);
}
