// The inspector webview: a Monaco diff editor with a layer-1 sample on the left and one of its
// corrections on the right, annotated per reasoning step, under a header with rewards, outcome,
// guiding phrase and a picker for the sample's other corrections.
import './inspector.css';
import * as l10n from '@vscode/l10n';
import type { InspectorState } from '../../../extension/src/webview/protocol';
import { HostChannel } from '../shared/channel';
import { h, replaceChildren, root } from '../shared/dom';
import { configureL10nFromPage } from '../shared/pageL10n';
import { onThemeChange } from '../shared/theme';
import { decorate } from './decorations';
import { renderInspectorHeader } from './header';
import { applyVsCodeTheme, editorFont, monaco, THEME_NAME } from './monaco';

// First: every string below is looked up in the bundle the host put in the page.
configureL10nFromPage();
const page = root();
const headerHost = h('div', { id: 'header-host' });
const status = h('p', { className: 'error', id: 'inspector-error', attrs: { role: 'alert' } });
const editorHost = h('div', { className: 'diff-host', id: 'diff-host' });
let diffEditor: monaco.editor.IStandaloneDiffEditor | undefined;
let original: monaco.editor.ITextModel | undefined;
let modified: monaco.editor.ITextModel | undefined;
let leftMarks: monaco.editor.IEditorDecorationsCollection | undefined;
let rightMarks: monaco.editor.IEditorDecorationsCollection | undefined;
let shown: InspectorState | undefined;

function ensureEditor(): monaco.editor.IStandaloneDiffEditor {
  if (diffEditor) return diffEditor;
  applyVsCodeTheme();
  diffEditor = monaco.editor.createDiffEditor(editorHost, {
    theme: THEME_NAME,
    // Laid out by the ResizeObserver below, not by polling.
    automaticLayout: false,
    readOnly: true,
    originalEditable: false,
    renderSideBySide: true,
    useInlineViewWhenSpaceIsLimited: false,
    ignoreTrimWhitespace: false,
    wordWrap: 'on',
    diffWordWrap: 'on',
    minimap: { enabled: false },
    scrollBeyondLastLine: false,
    renderOverviewRuler: true,
    hover: { enabled: 'on', delay: 250 },
    ...editorFont(),
  });
  original = monaco.editor.createModel('', 'plaintext');
  modified = monaco.editor.createModel('', 'plaintext');
  diffEditor.setModel({ original, modified });
  new ResizeObserver(() => layout()).observe(editorHost);
  // Decorations sit on the text; a new diff computation can shift view zones, not offsets.
  return diffEditor;
}

function layout(): void {
  const { width, height } = editorHost.getBoundingClientRect();
  diffEditor?.layout({ width: Math.floor(width), height: Math.floor(height) });
}

function show(state: InspectorState): void {
  shown = state;
  const editor = ensureEditor();
  if (!editorHost.isConnected) replaceChildren(page, headerHost, status, editorHost);
  replaceChildren(headerHost, renderInspectorHeader(state, {
    selectCorrection: (recordId) => void channel.request('inspector/selectCorrection', { recordId }).then(show, showError),
    openTrace: (recordId) => void channel.request('inspector/openTrace', { recordId }).catch(showError),
  }));
  status.textContent = '';
  original!.setValue(state.layer1.text);
  modified!.setValue(state.correction.text);
  leftMarks = decorate(editor.getOriginalEditor(), state.layer1, leftMarks);
  rightMarks = decorate(editor.getModifiedEditor(), state.correction, rightMarks);
  page.dataset.layer1 = state.layer1.recordId;
  page.dataset.correction = state.correction.recordId;
  page.removeAttribute('aria-busy');
  layout();
}

function showEmpty(message: string): void {
  shown = undefined;
  replaceChildren(page, h('div', { className: 'empty', id: 'empty' }, h('h1', {}, l10n.t('MGRPO Inspector')), h('p', {}, message)));
  page.removeAttribute('aria-busy');
}

function showError(error: unknown): void {
  status.textContent = error instanceof Error ? error.message : String(error);
  if (!status.isConnected) page.prepend(status);
}

const channel = new HostChannel({
  'inspector/show': show,
  'inspector/empty': ({ message }) => showEmpty(message),
});

onThemeChange(() => {
  if (!diffEditor) return;
  applyVsCodeTheme();
  diffEditor.updateOptions(editorFont());
  if (shown) layout();
});
window.addEventListener('resize', () => layout());
channel.ready();
