// The page's end of l10n.ts: reads the bundle the host wrote into <meta name="mgrpo-l10n">.
import { L10N_META_NAME } from '../../../extension/src/webview/protocol';
import { configureL10n, parseL10nMeta } from './l10n';

/** Configures l10n from the page the host rendered (called first thing by each webview's main.ts). */
export function configureL10nFromPage(): void {
  const meta = document.querySelector(`meta[name="${L10N_META_NAME}"]`);
  configureL10n(parseL10nMeta(meta?.getAttribute('content')));
}
