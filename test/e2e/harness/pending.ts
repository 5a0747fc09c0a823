// The features of issue 3 that the e2e tests walk, and those not landed yet. A test names the
// features it needs: `vscodeIt(title, vscode, ['startRun', 'runsTree'], body)`. While one is listed
// in `notYetLanded` (or the extension is not built at all) the test is skipped and its title says why.
// When a feature lands, delete its line below: that is the whole change to unskip its tests.
import { e2eRun } from './runState';
import { isCI } from './extensionUnderTest';

export type Feature =
  | 'activation'
  | 'startRun'
  | 'runsTree'
  | 'traceDocuments'
  | 'diffCorrection'
  | 'filterSamples'
  | 'stopRun'
  | 'configErrors'
  | 'dashboard'
  | 'inspector';

// Empty: every feature above has landed and its tests pass (a line looks like
//   dashboard: 'dashboard webview panel ("MGRPO: Show Dashboard")',
// ).
export const notYetLanded: Partial<Record<Feature, string>> = {};

/** Skips the calling test unless the extension is installed and every feature it needs has landed. */
export function needs(context: Mocha.Context, ...features: Feature[]): void {
  const needsExtension = features.length > 0;
  const { extension } = e2eRun();
  const reasons: string[] = [];
  if (needsExtension && extension.kind === 'absent') reasons.push(`extension not built: ${extension.reason}`);
  // MGRPO_E2E_RUN_PENDING=1 runs the tests of features not marked landed (to try one that is landing).
  const ignorePending = process.env.MGRPO_E2E_RUN_PENDING === '1';
  for (const feature of ignorePending ? [] : features) {
    const missing = notYetLanded[feature];
    if (missing) reasons.push(`not landed: ${missing}`);
  }
  if (reasons.length === 0) return;
  // In CI a skipped test would pass without testing anything.
  if (isCI()) throw new Error(`CI: this test cannot be skipped: ${reasons.join('; ')}`);
  if (context.test) context.test.title += ` [skipped: ${reasons.join('; ')}]`;
  context.skip();
}
