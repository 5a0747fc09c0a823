import * as vscode from 'vscode';
import { makeNonce, webviewHtml } from './html';

/** Where scripts/build.mjs writes the webview bundles (dashboard.js/.css, inspector.js/.css). */
export const WEBVIEW_DIST = ['dist', 'webview'] as const;

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
  const root = vscode.Uri.joinPath(extensionUri, ...WEBVIEW_DIST);
  const panel = vscode.window.createWebviewPanel(spec.viewType, spec.title, { viewColumn: spec.column ?? vscode.ViewColumn.Active, preserveFocus: false }, {
    enableScripts: true,
    enableCommandUris: false,
    retainContextWhenHidden: true,
    localResourceRoots: [root],
  });
  const { webview } = panel;
  panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'mgrpo.svg');
  webview.html = webviewHtml({
    cspSource: webview.cspSource,
    nonce: makeNonce(),
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(root, `${spec.bundle}.js`)).toString(),
    styleUris: [webview.asWebviewUri(vscode.Uri.joinPath(root, `${spec.bundle}.css`)).toString()],
    title: spec.title,
    inlineStyles: spec.inlineStyles,
    blobWorkers: spec.blobWorkers,
  });
  return panel;
}
