// The HTML shell of a webview: a strict Content-Security-Policy, one nonce'd script and local
// style sheets, the extension's l10n bundle in a <meta> (read by the script before it renders
// anything: webview/src/shared/l10n.ts), and a <main> that says "Loading…" until the script fills
// it. Nothing from the run goes in here; the run's data travels by postMessage and lands in text
// nodes and Monaco models.
// Pure, so the CSP is unit-tested (test/unit/webviewHtml.test.ts).

import { randomBytes } from 'node:crypto';
import { L10N_META_NAME, parseL10nBundle, type L10nBundle } from '../../webview/protocol';

export interface WebviewShell {
  /** The webview's `cspSource`: the source list its local resources are served from. */
  cspSource: string;
  nonce: string;
  /** asWebviewUri() of the bundle, as a string. */
  scriptUri: string;
  styleUris: string[];
  /** The page title (a fixed string chosen by the host, never model text). */
  title: string;
  /**
   * Monaco writes its theme and decoration rules into <style> elements it creates at run time,
   * which a nonce cannot cover: the inspector allows inline styles, the dashboard does not.
   */
  inlineStyles: boolean;
  /** Monaco's workers are created from blobs (`worker-src blob:`); the dashboard has none. */
  blobWorkers: boolean;
  /** VS Code's `l10n.bundle` for the display language; undefined (English) writes no <meta>. */
  l10nBundle?: L10nBundle;
  /** The display language (`env.language`) for <html lang>; English when absent or malformed. */
  language?: string;
  /** The placeholder shown until the script runs, already localised by the host. */
  loadingText?: string;
}

/** 128 random bits, base64: a fresh one for every HTML the host renders. */
export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

export function contentSecurityPolicy(shell: Pick<WebviewShell, 'cspSource' | 'nonce' | 'inlineStyles' | 'blobWorkers'>): string {
  if (!/^[A-Za-z0-9+/=]{16,}$/.test(shell.nonce)) throw new Error('webview nonce must be base64 of at least 16 characters');
  // cspSource is a source list ("'self' https://*.vscode-cdn.net"); it must not end the directive.
  if (!shell.cspSource.trim() || /[;,\r\n"]/.test(shell.cspSource)) throw new Error(`webview cspSource must be a CSP source list, got ${JSON.stringify(shell.cspSource)}`);
  const directives = [
    "default-src 'none'",
    `script-src 'nonce-${shell.nonce}'`,
    `style-src ${shell.cspSource}${shell.inlineStyles ? " 'unsafe-inline'" : ''}`,
    `font-src ${shell.cspSource}`,
    // uPlot draws on canvas; images are only the editor's own (codicons are a font).
    `img-src ${shell.cspSource} data:`,
  ];
  if (shell.blobWorkers) directives.push('worker-src blob:');
  return directives.join('; ');
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A BCP 47 tag as VS Code's `env.language` gives it ("en", "de", "zh-cn", "pt-br"). */
const LANGUAGE_TAG = /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/;

/**
 * The bundle as a <meta> line, or '' when there is none. Its JSON sits in an attribute (escaped
 * like any attribute), not in an inline script: the CSP runs only the nonce'd bundle.
 */
function l10nMeta(bundle: L10nBundle | undefined): string {
  const checked = parseL10nBundle(bundle);
  if (!checked) return '';
  return `    <meta name="${L10N_META_NAME}" content="${escapeAttribute(JSON.stringify(checked))}">\n`;
}

export function webviewHtml(shell: WebviewShell): string {
  const styles = shell.styleUris.map((uri) => `    <link rel="stylesheet" href="${escapeAttribute(uri)}">`).join('\n');
  const language = shell.language && LANGUAGE_TAG.test(shell.language) ? shell.language : 'en';
  return `<!DOCTYPE html>
<html lang="${escapeAttribute(language)}">
  <head>
    <meta charset="UTF-8">
    <meta http-equiv="Content-Security-Policy" content="${escapeAttribute(contentSecurityPolicy(shell))}">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
${l10nMeta(shell.l10nBundle)}${styles}
    <title>${escapeAttribute(shell.title)}</title>
  </head>
  <body>
    <main id="root" aria-busy="true"><p class="loading">${escapeAttribute(shell.loadingText ?? 'Loading…')}</p></main>
    <script nonce="${escapeAttribute(shell.nonce)}" src="${escapeAttribute(shell.scriptUri)}"></script>
  </body>
</html>
`;
}
