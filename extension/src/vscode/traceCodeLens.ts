import * as vscode from 'vscode';
import { Disposable } from './disposable';
import type { TraceDocumentProvider } from './traceDocuments';
import { TRACE_SCHEME } from './traceUri';

/**
 * Lenses on the first line of a trace: "Diff with layer 1" (a correction) or "Diff with
 * correction" (a first answer), "Open in Inspector" (either, when it has a pair), "Compare
 * across steps", and "Show full completion" when the document was truncated.
 */
export class TraceCodeLensProvider extends Disposable implements vscode.CodeLensProvider {
  private readonly changeEmitter = this.register(new vscode.EventEmitter<void>());
  readonly onDidChangeCodeLenses = this.changeEmitter.event;

  constructor(private readonly traces: TraceDocumentProvider) {
    super();
    this.register(vscode.languages.registerCodeLensProvider({ scheme: TRACE_SCHEME }, this));
    this.register(traces.onDidBuildView(() => this.changeEmitter.fire()));
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const view = this.traces.viewOf(document.uri);
    if (!view) return [];
    const top = new vscode.Range(0, 0, 0, 0);
    const ref = { runDir: view.address.runDir, recordId: view.record.id };
    const lenses: vscode.CodeLens[] = [];
    if (view.record.layer === 2 && view.parent) {
      lenses.push(new vscode.CodeLens(top, { title: '$(diff) Diff with layer 1', command: 'mgrpo.diffCorrection', arguments: [ref], tooltip: `Layer-1 sample ${view.parent.id} on the left, this correction on the right` }));
    } else if (view.record.layer === 1 && view.corrections.length > 0) {
      const n = view.corrections.length;
      lenses.push(new vscode.CodeLens(top, { title: `$(diff) Diff with correction${n > 1 ? ` (${n})` : ''}`, command: 'mgrpo.diffCorrection', arguments: [ref], tooltip: 'This sample on the left, a layer-2 correction of it on the right' }));
    }
    if ((view.record.layer === 2 && view.parent) || (view.record.layer === 1 && view.corrections.length > 0)) {
      lenses.push(new vscode.CodeLens(top, { title: '$(inspect) Open in Inspector', command: 'mgrpo.showInspector', arguments: [ref], tooltip: 'Layer 1 and its correction side by side, annotated per reasoning step' }));
    }
    lenses.push(new vscode.CodeLens(top, {
      title: '$(history) Compare across steps',
      command: 'mgrpo.compareAcrossSteps',
      arguments: [{ runDir: view.address.runDir, questionId: view.record.question_id }],
      tooltip: `Question ${view.record.question_id} at every step of the run`,
    }));
    if (view.rendered.truncated && !view.address.full) {
      lenses.push(new vscode.CodeLens(top, { title: '$(unfold) Show full completion', command: 'mgrpo.showFullCompletion', arguments: [document.uri] }));
    }
    return lenses;
  }
}
