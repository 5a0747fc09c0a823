import * as vscode from 'vscode';
import { divergenceNote } from '../model/divergence';
import { leastConfidentNote, markedLeastConfidentSteps } from '../model/segmentation';
import { Disposable } from './disposable';
import { rangeOf } from './traceHover';
import type { TraceDocumentProvider, TraceView } from './traceDocuments';
import { isTraceUri } from './traceUri';

/**
 * Marks, in every visible trace editor, the first step where layer 2 departs from layer 1 and
 * the least confident steps. Colours come from the `mgrpo.*` theme colours in package.json.
 */
export class TraceDecorations extends Disposable {
  private readonly divergence = this.register(vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor('mgrpo.divergenceBackground'),
    overviewRulerColor: new vscode.ThemeColor('mgrpo.divergenceBackground'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
    borderWidth: '0 0 0 2px',
    borderStyle: 'solid',
    borderColor: new vscode.ThemeColor('mgrpo.divergenceBorder'),
  }));
  private readonly lowConfidence = this.register(vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('mgrpo.lowConfidenceBackground'),
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.warningForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Right,
  }));

  constructor(private readonly traces: TraceDocumentProvider) {
    super();
    this.register(vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach((e) => this.decorate(e))));
    this.register(traces.onDidBuildView((view) => this.decorateUri(view.uri)));
    // Content arrives after the view is built: decorate again once the document holds the new text.
    this.register(vscode.workspace.onDidChangeTextDocument((e) => {
      if (isTraceUri(e.document.uri)) this.decorateUri(e.document.uri);
    }));
    vscode.window.visibleTextEditors.forEach((e) => this.decorate(e));
  }

  private decorateUri(uri: vscode.Uri): void {
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.toString() === uri.toString()) this.decorate(editor);
    }
  }

  private decorate(editor: vscode.TextEditor): void {
    if (!isTraceUri(editor.document.uri)) return;
    const view = this.traces.viewOf(editor.document.uri);
    if (!view) return;
    editor.setDecorations(this.divergence, this.divergenceDecorations(view));
    editor.setDecorations(this.lowConfidence, this.lowConfidenceDecorations(view));
  }

  private divergenceDecorations(view: TraceView): vscode.DecorationOptions[] {
    if (!view.divergence) return [];
    const index = view.record.layer === 2 ? view.divergence.layer2Step : view.divergence.layer1Step;
    const placed = view.rendered.steps.find((s) => s.index === index);
    if (!placed) return [];
    const text = divergenceNote(view.record.layer);
    return [{
      range: rangeOf(placed.range),
      hoverMessage: new vscode.MarkdownString(view.record.layer === 2
        ? `First step where this correction differs from its layer-1 sample (layer-1 step ${view.divergence.layer1Step + 1}).`
        : `First step the correction rewrites (its step ${view.divergence.layer2Step + 1}).`),
      renderOptions: { after: { contentText: text, color: new vscode.ThemeColor('mgrpo.annotationForeground'), fontStyle: 'italic' } },
    }];
  }

  private lowConfidenceDecorations(view: TraceView): vscode.DecorationOptions[] {
    const decorations: vscode.DecorationOptions[] = [];
    for (const index of markedLeastConfidentSteps(view.steps)) {
      const step = view.steps.find((s) => s.index === index);
      const placed = view.rendered.steps.find((s) => s.index === index);
      if (!step || !placed) continue;
      decorations.push({
        range: rangeOf(placed.range),
        renderOptions: {
          after: {
            contentText: leastConfidentNote(step),
            color: new vscode.ThemeColor('mgrpo.annotationForeground'),
            fontStyle: 'italic',
          },
        },
      });
    }
    return decorations;
  }
}
