// Puts annotations.ts's marks on one side of the diff as Monaco decorations.
import type { InspectorSide } from '../../../extension/src/webview/protocol';
import { annotations } from './annotations';
import type { monaco } from './monaco';

export function decorate(editor: monaco.editor.ICodeEditor, side: InspectorSide, collection: monaco.editor.IEditorDecorationsCollection | undefined): monaco.editor.IEditorDecorationsCollection {
  const model = editor.getModel();
  const decorations: monaco.editor.IModelDeltaDecoration[] = [];
  if (model) {
    for (const mark of annotations(side)) {
      const from = model.getPositionAt(mark.start);
      const to = model.getPositionAt(mark.end);
      const range = { startLineNumber: from.lineNumber, startColumn: from.column, endLineNumber: to.lineNumber, endColumn: to.column };
      const options: monaco.editor.IModelDecorationOptions = {
        className: mark.className,
        isWholeLine: mark.wholeLine,
        // Model text never becomes HTML: the host escaped it and Monaco renders no HTML here.
        hoverMessage: mark.hover ? { value: mark.hover, isTrusted: false, supportHtml: false } : undefined,
        after: mark.note ? { content: mark.note, inlineClassName: 'mgrpo-note' } : undefined,
      };
      if (mark.kind === 'divergent') {
        options.linesDecorationsClassName = 'mgrpo-divergent-gutter';
        options.overviewRuler = { color: '#3794ff', position: 1 /* OverviewRulerLane.Left */ };
      } else if (mark.kind === 'truth') {
        options.linesDecorationsClassName = mark.gutterClassName;
        if (mark.gutterClassName === 'mgrpo-step-wrong') options.overviewRuler = { color: '#f14c4c', position: 1 /* OverviewRulerLane.Left */ };
      } else if (mark.kind === 'leastConfident') {
        options.overviewRuler = { color: '#cca700', position: 4 /* OverviewRulerLane.Right */ };
      }
      decorations.push({ range, options });
    }
  }
  if (collection) {
    collection.set(decorations);
    return collection;
  }
  return editor.createDecorationsCollection(decorations);
}
