// Monaco for the inspector: the editor core plus the few contributions a read-only diff needs
// (diff editor, hover, find, clipboard, context menu), its worker started from a blob, and a
// theme made from the VS Code theme the webview is shown in.
import * as monaco from 'monaco-editor/editor/editor.api.js';
import 'monaco-editor/editor/browser/coreCommands.js';
import 'monaco-editor/editor/browser/widget/codeEditor/codeEditorWidget.js';
import 'monaco-editor/editor/browser/widget/diffEditor/diffEditor.contribution.js';
import 'monaco-editor/editor/contrib/hover/browser/hoverContribution.js';
import 'monaco-editor/editor/contrib/find/browser/findController.js';
import 'monaco-editor/editor/contrib/clipboard/browser/clipboard.js';
import 'monaco-editor/editor/contrib/contextmenu/browser/contextmenu.js';
import 'monaco-editor/editor/contrib/wordHighlighter/browser/wordHighlighter.js';
import 'monaco-editor/features/codicon/register.js';
import editorWorkerSource from 'mgrpo:editor-worker-source';
import { cssColorToHex, monacoBase } from '../shared/color';
import { bodyClasses, themeVar } from '../shared/theme';

export { monaco };

let workerUrl: string | undefined;

/** Monaco asks for its worker here; it runs from a blob URL made once from the inlined source. */
(globalThis as { MonacoEnvironment?: monaco.Environment }).MonacoEnvironment = {
  getWorker(_workerId: string, label: string): Worker {
    workerUrl ??= URL.createObjectURL(new Blob([editorWorkerSource], { type: 'text/javascript' }));
    return new Worker(workerUrl, { name: `mgrpo-${label}` });
  },
};

/** Monaco colour id -> the VS Code variable it is taken from. */
const THEME_COLORS: Record<string, string> = {
  'editor.background': '--vscode-editor-background',
  'editor.foreground': '--vscode-editor-foreground',
  'editorLineNumber.foreground': '--vscode-editorLineNumber-foreground',
  'editorLineNumber.activeForeground': '--vscode-editorLineNumber-activeForeground',
  'editor.selectionBackground': '--vscode-editor-selectionBackground',
  'editor.inactiveSelectionBackground': '--vscode-editor-inactiveSelectionBackground',
  'editor.lineHighlightBackground': '--vscode-editor-lineHighlightBackground',
  'editorCursor.foreground': '--vscode-editorCursor-foreground',
  'editorWidget.background': '--vscode-editorWidget-background',
  'editorWidget.border': '--vscode-editorWidget-border',
  'editorHoverWidget.background': '--vscode-editorHoverWidget-background',
  'editorHoverWidget.foreground': '--vscode-editorHoverWidget-foreground',
  'editorHoverWidget.border': '--vscode-editorHoverWidget-border',
  'diffEditor.insertedTextBackground': '--vscode-diffEditor-insertedTextBackground',
  'diffEditor.removedTextBackground': '--vscode-diffEditor-removedTextBackground',
  'diffEditor.insertedLineBackground': '--vscode-diffEditor-insertedLineBackground',
  'diffEditor.removedLineBackground': '--vscode-diffEditor-removedLineBackground',
  'diffEditor.border': '--vscode-diffEditor-border',
  'diffEditor.diagonalFill': '--vscode-diffEditor-diagonalFill',
  'scrollbarSlider.background': '--vscode-scrollbarSlider-background',
  'scrollbarSlider.hoverBackground': '--vscode-scrollbarSlider-hoverBackground',
  'scrollbarSlider.activeBackground': '--vscode-scrollbarSlider-activeBackground',
  'textLink.foreground': '--vscode-textLink-foreground',
  'textCodeBlock.background': '--vscode-textCodeBlock-background',
  'focusBorder': '--vscode-focusBorder',
};

export const THEME_NAME = 'mgrpo-vscode';

/** Defines (again) the Monaco theme from the current VS Code theme and applies it. */
export function applyVsCodeTheme(): void {
  const colors: Record<string, string> = {};
  for (const [id, variable] of Object.entries(THEME_COLORS)) {
    const hex = cssColorToHex(themeVar(variable));
    if (hex) colors[id] = hex;
  }
  monaco.editor.defineTheme(THEME_NAME, { base: monacoBase(bodyClasses()), inherit: true, rules: [], colors });
  monaco.editor.setTheme(THEME_NAME);
}

export function editorFont(): { fontFamily: string; fontSize: number } {
  const size = parseFloat(themeVar('--vscode-editor-font-size', '13'));
  return { fontFamily: themeVar('--vscode-editor-font-family', 'monospace'), fontSize: Number.isFinite(size) && size > 4 ? size : 13 };
}
