// The evaluation table's columns: header, tooltip and cell text per column, in the display
// language. Pure (no DOM): test/unit/webviewL10n.test.ts checks them under a bundle.
import * as l10n from '@vscode/l10n';
import type { EvalRow } from '../../../extension/src/webview/protocol';
import { fixed, percent, percentPoints } from '../shared/format';

export interface EvalColumn {
  label: string;
  title: string;
  cell: (row: EvalRow) => string;
}

/** The table's columns, headers and tooltips in the current display language. */
export function evalColumns(): readonly EvalColumn[] {
  return [
    { label: l10n.t('Step'), title: l10n.t('Training step the model was evaluated after'), cell: (r) => String(r.step) },
    { label: l10n.t('n'), title: l10n.t('Problems evaluated'), cell: (r) => String(r.n) },
    { label: l10n.t('Acc@t1'), title: l10n.t('Accuracy of first answers'), cell: (r) => percent(r.accT1) },
    { label: l10n.t('Acc@t2'), title: l10n.t('Accuracy after one correction pass'), cell: (r) => percent(r.accT2) },
    { label: l10n.t('Δ'), title: l10n.t('Acc@t2 − Acc@t1'), cell: (r) => percentPoints(r.delta) },
    { label: l10n.t('Δ i→c'), title: l10n.t('Fraction wrong at t1 and right at t2'), cell: (r) => percent(r.deltaI2C) },
    { label: l10n.t('Δ c→i'), title: l10n.t('Fraction right at t1 and wrong at t2'), cell: (r) => percent(r.deltaC2I) },
    { label: l10n.t('CL'), title: l10n.t('Confidence level: P(right at t2 | right at t1)'), cell: (r) => fixed(r.cl, 3) },
    { label: l10n.t('CS'), title: l10n.t('Critique score: P(right at t2 | wrong at t1)'), cell: (r) => fixed(r.cs, 3) },
    { label: l10n.t('RSS'), title: l10n.t('Relative self-correction score; above 0.5 means correction helped. Undefined when Acc@t1 is 0 or 1.'), cell: (r) => fixed(r.rss, 3) },
  ];
}
