// State shared by every suite of one mocha run: a temp root and the extensions folder the
// extension was installed into once (see rootHooks.ts).
import type { ExtensionInstall } from './extensionUnderTest';

export interface E2ERun {
  tempRoot: string;
  extensionsDir: string;
  extension: ExtensionInstall;
}

let current: E2ERun | undefined;

export function setE2ERun(run: E2ERun | undefined): void {
  current = run;
}

export function e2eRun(): E2ERun {
  if (!current) throw new Error('e2e run not prepared: run through `npm run test:e2e` (test/e2e/.mocharc.json loads rootHooks.ts)');
  return current;
}
