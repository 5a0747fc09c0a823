import * as vscode from 'vscode';
import type { StepLabelValue } from '../format/types';
import { stepTruthMarks, VALUE_BAR_LEVELS, type StepTruthMark } from '../model/stepTruthMarks';
import { Disposable } from './disposable';
import type { StepValuesStore } from './stepValuesStore';
import type { TraceDocumentProvider, TraceView } from './traceDocuments';
import { rangeOf } from './traceHover';
import { isTraceUri } from './traceUri';

// Gutter icons are drawn here as SVG: a mark for the step check on the left, the step's value as a
// bar on the right. Fixed colours: a gutter icon cannot read theme colours.
const LABEL_COLOURS: Record<StepLabelValue, string> = { right: '#3fb950', wrong: '#f85149', unchecked: '#8b949e' };
const BAR_COLOUR = '#4c8dff';

function gutterSvg(label: StepLabelValue | null, level: number | null): string {
  const parts: string[] = [];
  if (label === 'right') parts.push(`<path d="M1.5 8.5l3 3 5-7" fill="none" stroke="${LABEL_COLOURS.right}" stroke-width="2"/>`);
  else if (label === 'wrong') parts.push(`<path d="M2 3l7 9M9 3l-7 9" fill="none" stroke="${LABEL_COLOURS.wrong}" stroke-width="2"/>`);
  else if (label === 'unchecked') parts.push(`<circle cx="5.5" cy="8" r="1.5" fill="${LABEL_COLOURS.unchecked}"/>`);
  if (level !== null) {
    const height = (14 * level) / VALUE_BAR_LEVELS;
    parts.push(`<rect x="12" y="1" width="3" height="14" fill="${BAR_COLOUR}" fill-opacity="0.25"/>`);
    parts.push(`<rect x="12" y="${15 - height}" width="3" height="${height}" fill="${BAR_COLOUR}"/>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">${parts.join('')}</svg>`;
}

/**
 * Step truth in every visible trace editor: a gutter mark per checked step (right / wrong / not a
 * step) with the step's Monte-Carlo value as a bar, a note after the first wrong step and after the
 * likely error by value, and the answer line marked when the error lies after the last step.
 */
export class StepTruthDecorations extends Disposable {
  /** One decoration type per (label, bar level) gutter icon, made when first needed. */
  private readonly gutterTypes = new Map<string, vscode.TextEditorDecorationType>();
  private readonly notes = this.register(vscode.window.createTextEditorDecorationType({
    overviewRulerColor: LABEL_COLOURS.wrong,
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  }));
  /** Bumped per editor on each decorate, so a slow read of step values never paints over a newer one. */
  private readonly rounds = new WeakMap<vscode.TextEditor, number>();

  constructor(private readonly traces: TraceDocumentProvider, private readonly stepValues: StepValuesStore) {
    super();
    this.register({ dispose: () => this.gutterTypes.forEach((t) => t.dispose()) });
    this.register(vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach((e) => void this.decorate(e))));
    this.register(traces.onDidBuildView((view) => this.decorateWhere((v) => v.uri.toString() === view.uri.toString())));
    this.register(vscode.workspace.onDidChangeTextDocument((e) => {
      if (isTraceUri(e.document.uri)) this.decorateWhere((v) => v.uri.toString() === e.document.uri.toString());
    }));
    this.register(stepValues.onDidChange(({ runDir, step }) => this.decorateWhere((v) => v.address.runDir === runDir && v.record.step === step)));
    vscode.window.visibleTextEditors.forEach((e) => void this.decorate(e));
  }

  private decorateWhere(matches: (view: TraceView) => boolean): void {
    for (const editor of vscode.window.visibleTextEditors) {
      const view = isTraceUri(editor.document.uri) ? this.traces.viewOf(editor.document.uri) : undefined;
      if (view && matches(view)) void this.decorate(editor);
    }
  }

  private async decorate(editor: vscode.TextEditor): Promise<void> {
    if (!isTraceUri(editor.document.uri)) return;
    const view = this.traces.viewOf(editor.document.uri);
    if (!view) return;
    const round = (this.rounds.get(editor) ?? 0) + 1;
    this.rounds.set(editor, round);
    const values = await this.stepValues.valuesFor(view.address.runDir, view.record);
    if (this.rounds.get(editor) !== round) return;
    const marks = stepTruthMarks(view.record, view.rendered.steps.map((s) => s.index), values);
    const gutter = new Map<string, vscode.Range[]>();
    const notes: vscode.DecorationOptions[] = [];
    for (const mark of marks) {
      const range = this.rangeOfMark(editor.document, view, mark);
      if (!range) continue;
      const key = `${mark.label ?? 'none'}:${mark.valueLevel ?? 'none'}`;
      const lineStart = new vscode.Range(range.start, range.start);
      gutter.set(key, [...(gutter.get(key) ?? []), lineStart]);
      if (mark.note !== null) {
        notes.push({
          range: new vscode.Range(range.end, range.end),
          renderOptions: { after: { contentText: `  ${mark.note}`, color: new vscode.ThemeColor('mgrpo.annotationForeground'), fontStyle: 'italic' } },
        });
      }
    }
    for (const key of gutter.keys()) this.gutterType(key);
    for (const [key, type] of this.gutterTypes) editor.setDecorations(type, gutter.get(key) ?? []);
    editor.setDecorations(this.notes, notes);
  }

  private rangeOfMark(document: vscode.TextDocument, view: TraceView, mark: StepTruthMark): vscode.Range | undefined {
    if (mark.step === null) {
      const line = view.rendered.answerLine;
      return line === undefined || line >= document.lineCount ? undefined : document.lineAt(line).range;
    }
    const placed = view.rendered.steps.find((s) => s.index === mark.step);
    return placed ? rangeOf(placed.range) : undefined;
  }

  private gutterType(key: string): vscode.TextEditorDecorationType {
    let type = this.gutterTypes.get(key);
    if (!type) {
      const [label, level] = key.split(':');
      const svg = gutterSvg(label === 'none' ? null : (label as StepLabelValue), level === 'none' ? null : Number(level));
      type = vscode.window.createTextEditorDecorationType({
        gutterIconPath: vscode.Uri.parse(`data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`),
        gutterIconSize: 'contain',
      });
      this.gutterTypes.set(key, type);
    }
    return type;
  }
}
