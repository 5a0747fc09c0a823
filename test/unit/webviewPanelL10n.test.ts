// The host hands each webview the extension's l10n bundle: preparePanel (panel.ts) writes VS Code's
// `l10n.bundle` into the HTML it gives the panel, where the webview reads it before rendering
// (webview/src/shared/l10n.ts). Run against a stand-in for the few `vscode` members panel.ts uses.
import { strict as assert } from 'node:assert';
import Module = require('node:module');
import { L10N_META_NAME } from '../../extension/src/webview/protocol';
import { parseL10nMeta } from '../../webview/src/shared/l10n';

type Bundle = Record<string, string> | undefined;

interface FakeUri { path: string }

/** The `vscode` members panel.ts touches: Uri.joinPath, l10n (bundle and t), env.language, ViewColumn. */
function fakeVscode(bundle: Bundle, language: string) {
  return {
    Uri: { joinPath: (base: FakeUri, ...parts: string[]) => ({ path: [base.path, ...parts].join('/') }) },
    l10n: {
      bundle,
      t: (message: string) => bundle?.[message] ?? message,
    },
    env: { language },
    ViewColumn: { Active: -1 },
  };
}

function fakePanel() {
  return {
    title: '',
    iconPath: undefined as unknown,
    webview: {
      cspSource: "'self' https://*.vscode-cdn.net",
      options: {} as unknown,
      html: '',
      asWebviewUri: (uri: FakeUri) => ({ toString: () => `https://file+.vscode-resource.vscode-cdn.net${uri.path}` }),
    },
  };
}

const PANEL_MODULE = '../../extension/src/vscode/panels/panel';

/** preparePanel's HTML for a dashboard, with `vscode` as the stand-in says. */
function preparedHtml(bundle: Bundle, language: string): string {
  const loader = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
  const original = loader._load;
  const fake = fakeVscode(bundle, language);
  loader._load = function load(request: string, parent: unknown, isMain: boolean) {
    if (request === 'vscode') return fake;
    return original.call(this, request, parent, isMain);
  };
  const resolved = require.resolve(PANEL_MODULE);
  try {
    delete require.cache[resolved];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { preparePanel } = require(PANEL_MODULE) as typeof import('../../extension/src/vscode/panels/panel');
    const panel = fakePanel();
    preparePanel(panel as never, { path: '/ext' } as never, { viewType: 'mgrpo.dashboard', title: 'MGRPO Dashboard', bundle: 'dashboard', inlineStyles: false, blobWorkers: false });
    return panel.webview.html;
  } finally {
    loader._load = original;
    // Whoever imports panel.ts next gets its own `vscode`, not this stand-in.
    delete require.cache[resolved];
  }
}

/** The content attribute of the l10n <meta>, unescaped as the browser would. */
function l10nMetaContent(html: string): string | undefined {
  const match = new RegExp(`<meta name="${L10N_META_NAME}" content="([^"]*)">`).exec(html);
  return match?.[1].replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

describe("webview panels carry the extension's l10n bundle", () => {
  const GERMAN = {
    'Loading…': 'Wird geladen…',
    'Accuracy before and after correction': 'Genauigkeit vor und nach der Korrektur',
    // Quotes and markup in a translation stay inside the attribute.
    Step: '"Schritt"</title><script>alert(1)</script>',
  };

  it('writes the bundle into the initial HTML, with the display language and a translated placeholder', () => {
    const html = preparedHtml(GERMAN, 'de');
    assert.deepEqual(parseL10nMeta(l10nMetaContent(html)), GERMAN);
    assert.match(html, /<html lang="de">/);
    assert.match(html, /<p class="loading">Wird geladen…<\/p>/);
    assert.equal(html.match(/<script\b/g)?.length, 1, 'the one nonce\'d bundle script, nothing from the bundle');
    assert.ok(html.indexOf('<meta name="mgrpo-l10n"') > html.indexOf('<meta http-equiv="Content-Security-Policy"'), 'the policy comes first in <head>');
  });

  it('writes no bundle for English (VS Code gives none), and the page stays English', () => {
    const html = preparedHtml(undefined, 'en');
    assert.equal(l10nMetaContent(html), undefined);
    assert.doesNotMatch(html, /mgrpo-l10n/);
    assert.match(html, /<html lang="en">/);
    assert.match(html, /<p class="loading">Loading…<\/p>/);
  });

  it('falls back to lang="en" for a language tag that is not one', () => {
    assert.match(preparedHtml(undefined, 'de"><script>'), /<html lang="en">/);
  });
});
