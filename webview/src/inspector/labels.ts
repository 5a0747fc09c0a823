// The inspector's correction picker labels. Pure (no DOM, no web components), so
// test/unit/webviewL10n.test.ts checks them under a bundle.
import * as l10n from '@vscode/l10n';
import type { CorrectionChoice } from '../../../extension/src/webview/protocol';
import { fixed } from '../shared/format';
import { outcomeText } from '../shared/words';

/** "L2 #1 · i->i (wrong → wrong) · r=0.00". */
export function choiceLabel(choice: CorrectionChoice): string {
  const outcome = choice.outcome ? outcomeText(choice.outcome) : choice.correct ? l10n.t('right') : l10n.t('wrong');
  return l10n.t('L2 #{0} · {1} · r={2}', choice.sample, outcome, fixed(choice.reward));
}
