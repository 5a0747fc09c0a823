import * as vscode from 'vscode';
import { stepHoverMarkdown } from '../model/hoverContent';
import { stepVerdict } from '../model/stepTruth';
import type { StepValuesStore } from './stepValuesStore';
import type { TraceDocumentProvider, TraceView } from './traceDocuments';
import { TRACE_SCHEME } from './traceUri';

/**
 * Hover on a reasoning step of a trace: reward, advantage and group statistics, token
 * probabilities of that step, and whether layer 2 changed it. Works on both sides of a diff
 * because both sides are `mgrpo-trace` documents.
 */
export function registerTraceHover(traces: TraceDocumentProvider, stepValues?: StepValuesStore): vscode.Disposable {
  return vscode.languages.registerHoverProvider({ scheme: TRACE_SCHEME }, {
    async provideHover(document, position) {
      const view = traces.viewOf(document.uri);
      if (!view) return undefined;
      const hit = stepAt(view, position);
      if (!hit) return undefined;
      const values = stepValues ? await stepValues.valuesFor(view.address.runDir, view.record) : null;
      const markdown = new vscode.MarkdownString(
        stepHoverMarkdown(view.record, hit.step, {
          parent: view.parent,
          changedByLayer2: view.record.layer === 2 || view.against ? view.changed.has(hit.step.index) : undefined,
          truth: stepVerdict(view.record, hit.step.index, values),
        }),
      );
      // The content escapes the model's text itself; no HTML, no command links from untrusted output.
      markdown.isTrusted = false;
      markdown.supportHtml = false;
      return new vscode.Hover(markdown, hit.range);
    },
  });
}

export function stepAt(view: TraceView, position: vscode.Position): { step: NonNullable<TraceView['steps'][number]>; range: vscode.Range } | undefined {
  for (const placed of view.rendered.steps) {
    const range = rangeOf(placed.range);
    if (!range.contains(position)) continue;
    const step = view.steps.find((s) => s.index === placed.index);
    if (step) return { step, range };
  }
  return undefined;
}

export function rangeOf(r: { startLine: number; startCharacter: number; endLine: number; endCharacter: number }): vscode.Range {
  return new vscode.Range(r.startLine, r.startCharacter, r.endLine, r.endCharacter);
}
