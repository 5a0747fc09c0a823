import { strict as assert } from 'node:assert';
import { contentSecurityPolicy, makeNonce, webviewHtml, type WebviewShell } from '../../extension/src/vscode/panels/html';

const CSP_SOURCE = "'self' https://*.vscode-cdn.net";
const NONCE = 'AAAAAAAAAAAAAAAAAAAAAA==';

function shell(overrides: Partial<WebviewShell> = {}): WebviewShell {
  return {
    cspSource: CSP_SOURCE,
    nonce: NONCE,
    scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/dashboard.js',
    styleUris: ['https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/dashboard.css'],
    title: 'MGRPO Dashboard',
    inlineStyles: false,
    blobWorkers: false,
    ...overrides,
  };
}

describe('webview HTML and Content-Security-Policy', () => {
  it('gives the dashboard a strict policy: nothing by default, scripts by nonce, styles and fonts from the extension only', () => {
    assert.equal(
      contentSecurityPolicy(shell()),
      `default-src 'none'; script-src 'nonce-${NONCE}'; style-src ${CSP_SOURCE}; font-src ${CSP_SOURCE}; img-src ${CSP_SOURCE} data:`,
    );
  });

  it("gives the inspector blob workers (Monaco) and inline styles (Monaco's runtime <style> elements), and still no script but by nonce", () => {
    const csp = contentSecurityPolicy(shell({ inlineStyles: true, blobWorkers: true }));
    assert.equal(
      csp,
      `default-src 'none'; script-src 'nonce-${NONCE}'; style-src ${CSP_SOURCE} 'unsafe-inline'; font-src ${CSP_SOURCE}; img-src ${CSP_SOURCE} data:; worker-src blob:`,
    );
    assert.doesNotMatch(csp, /script-src[^;]*unsafe/);
    assert.doesNotMatch(csp, /https?:\/\/(?!\*\.vscode-cdn\.net)/, 'no remote origin besides the webview resource host');
  });

  it('puts the policy first in <head>, one nonce-carrying script, and no inline script', () => {
    const html = webviewHtml(shell());
    const head = html.slice(html.indexOf('<head>'), html.indexOf('</head>'));
    assert.ok(head.indexOf('Content-Security-Policy') < head.indexOf('<link'), 'CSP before any resource');
    const scripts = html.match(/<script[^>]*>/g) ?? [];
    assert.deepEqual(scripts, [`<script nonce="${NONCE}" src="https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/dashboard.js">`]);
    assert.match(html, /<main id="root" aria-busy="true"><p class="loading">Loading…<\/p><\/main>/);
  });

  it('escapes what goes into attributes and the title', () => {
    const html = webviewHtml(shell({ title: 'a "b" <c>' }));
    assert.match(html, /<title>a &quot;b&quot; &lt;c&gt;<\/title>/);
  });

  it('refuses a nonce or a source list that could break out of the policy', () => {
    assert.throws(() => contentSecurityPolicy(shell({ nonce: "abc'; script-src *" })), /nonce/);
    assert.throws(() => contentSecurityPolicy(shell({ cspSource: "'self'; script-src *" })), /cspSource/);
    assert.throws(() => contentSecurityPolicy(shell({ cspSource: '' })), /cspSource/);
  });

  it('makes a fresh 128-bit nonce each time', () => {
    const a = makeNonce();
    const b = makeNonce();
    assert.notEqual(a, b);
    assert.equal(Buffer.from(a, 'base64').length, 16);
    contentSecurityPolicy(shell({ nonce: a })); // accepted
  });
});
