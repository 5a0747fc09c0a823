// The webview's translations: the host writes the extension's l10n bundle (VS Code's `l10n.bundle`
// for the display language) into the page's <meta name="mgrpo-l10n"> (extension/src/vscode/panels/html.ts),
// and each main.ts configures @vscode/l10n from it (pageL10n.ts) before it renders anything.
// Strings are then looked up where they are made, by `l10n.t(...)`: the modules keep no translated
// text at import time, so nothing is fixed in English before the bundle is read. English needs no
// bundle: every message is its own translation. Pure (no DOM): test/unit/webviewL10n.test.ts.
import * as l10n from '@vscode/l10n';
import { parseL10nBundle, type L10nBundle } from '../../../extension/src/webview/protocol';

/** Uses `bundle` for every later `l10n.t`; undefined or empty goes back to English. */
export function configureL10n(bundle: L10nBundle | undefined): void {
  l10n.config({ contents: bundle ?? {} });
}

/** The bundle in a <meta> content attribute (JSON), checked; undefined when absent or unreadable. */
export function parseL10nMeta(content: string | null | undefined): L10nBundle | undefined {
  if (!content) return undefined;
  try {
    return parseL10nBundle(JSON.parse(content));
  } catch {
    console.warn('[mgrpo webview] the l10n bundle in the page is not JSON; showing English');
    return undefined;
  }
}
