// Words both webviews show for the run's enumerations (a correction's outcome, a run's status), in
// the display language. Pure (no DOM): test/unit/webviewL10n.test.ts checks them under a bundle.
import * as l10n from '@vscode/l10n';
import type { CorrectionOutcome } from '../../../extension/src/format/types';
import type { RunHeader } from '../../../extension/src/webview/protocol';

/** An outcome in words: 'wrong → right' for i->c. */
export function outcomeWords(outcome: CorrectionOutcome): string {
  switch (outcome) {
    case 'i->c': return l10n.t('wrong → right');
    case 'c->i': return l10n.t('right → wrong');
    case 'c->c': return l10n.t('right → right');
    case 'i->i': return l10n.t('wrong → wrong');
    // An outcome a newer host sends: shown as it came.
    default: return String(outcome);
  }
}

/** "i->c (wrong → right)". */
export function outcomeText(outcome: CorrectionOutcome): string {
  return l10n.t('{0} ({1})', outcome, outcomeWords(outcome));
}

/** The dashboard's status badge word (its CSS class keeps the status itself). */
export function statusWords(status: RunHeader['status']): string {
  switch (status) {
    case 'running': return l10n.t('running');
    case 'paused': return l10n.t('paused');
    case 'finished': return l10n.t('finished');
    case 'stopped': return l10n.t('stopped');
    case 'failed': return l10n.t('failed');
    case 'starting': return l10n.t('starting');
    case 'stopping': return l10n.t('stopping');
    case 'unreadable': return l10n.t('unreadable');
    default: return String(status);
  }
}
