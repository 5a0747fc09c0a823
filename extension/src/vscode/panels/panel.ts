import * as vscode from 'vscode';
import { makeNonce, webviewHtml } from './html';

/** Where scripts/build.mjs writes the webview bundles (dashboard.js/.css, inspector.js/.css). */
export const WEBVIEW_DIST = ['dist', 'webview'] as const;

/** The panels' view types: the manifest's onWebviewPanel activation events name them. */
export const DASHBOARD_VIEW_TYPE = 'mgrpo.dashboard';
export const INSPECTOR_VIEW_TYPE = 'mgrpo.inspector';

export interface PanelSpec {
  viewType: string;
  title: string;
  /** Bundle name in dist/webview: `<bundle>.js`, plus `<bundle>.css` when it has styles. */
  bundle: 'dashboard' | 'inspector';
  inlineStyles: boolean;
  blobWorkers: boolean;
  column?: vscode.ViewColumn;
}

/**
 * A webview panel that may load only dist/webview from the extension, with the HTML shell of
 * html.ts. Scripts run; the page keeps its state while hidden (re-sending a dashboard of
 * thousands of steps each time its tab comes back would be the slower choice).
 */
export function createPanel(extensionUri: vscode.Uri, spec: PanelSpec): vscode.WebviewPanel {
  const panel = vscode.window.createWebviewPanel(spec.viewType, spec.title, { viewColumn: spec.column ?? vscode.ViewColumn.Active, preserveFocus: false }, {
    retainContextWhenHidden: true,
  });
  preparePanel(panel, extensionUri, spec);
  return panel;
}

/**
 * Options, icon and HTML of a panel: a new one, or one VS Code hands to a WebviewPanelSerializer
 * after a reload (that one comes with the options it had, but its HTML must be set again).
 */
export function preparePanel(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, spec: PanelSpec): void {
  const root = vscode.Uri.joinPath(extensionUri, ...WEBVIEW_DIST);
  const { webview } = panel;
  webview.options = { enableScripts: true, enableCommandUris: false, localResourceRoots: [root] };
  panel.title = spec.title;
  panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'mgrpo.svg');
  webview.html = webviewHtml({
    cspSource: webview.cspSource,
    nonce: makeNonce(),
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(root, `${spec.bundle}.js`)).toString(),
    styleUris: [webview.asWebviewUri(vscode.Uri.joinPath(root, `${spec.bundle}.css`)).toString()],
    title: spec.title,
    inlineStyles: spec.inlineStyles,
    blobWorkers: spec.blobWorkers,
    // The webview's strings are in the extension's bundle too (extracted from its l10n.t calls).
    l10nBundle: vscode.l10n.bundle,
    language: vscode.env.language,
    loadingText: vscode.l10n.t('Loading…'),
  });
}
