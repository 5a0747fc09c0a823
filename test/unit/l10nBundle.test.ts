import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from './fixture';

// l10n/bundle.l10n.json is what translators start from (VS Code loads bundle.l10n.<locale>.json beside it, named
// by the manifest's "l10n"): every vscode.l10n.t / l10n.t string of the extension and the webviews, kept in step
// with the code the way the schema validators are.
describe('l10n: the string bundle', function () {
  this.timeout(60_000);

  it('holds exactly the strings the code passes to l10n.t (run `npm run l10n` after changing one)', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'mgrpo-l10n-'));
    try {
      execFileSync(process.execPath, [path.join(REPO_ROOT, 'node_modules', '@vscode', 'l10n-dev', 'dist', 'cli.js'), 'export', '--outDir', out,
        path.join(REPO_ROOT, 'extension', 'src'), path.join(REPO_ROOT, 'webview', 'src')], { cwd: REPO_ROOT, stdio: 'pipe' });
      const fresh = JSON.parse(readFileSync(path.join(out, 'bundle.l10n.json'), 'utf8')) as Record<string, string>;
      const committed = JSON.parse(readFileSync(path.join(REPO_ROOT, 'l10n', 'bundle.l10n.json'), 'utf8')) as Record<string, string>;
      assert.deepEqual(Object.keys(committed).sort(), Object.keys(fresh).sort(), 'l10n/bundle.l10n.json is stale: run `npm run l10n`');
      assert.ok(Object.keys(fresh).length > 300, 'the export found the code\'s strings');
      assert.ok('MGRPO: estimating step values of {0} locally' in fresh, 'an extension string');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('is named by the manifest and shipped in the .vsix', () => {
    const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { l10n?: string };
    assert.equal(manifest.l10n, './l10n');
    assert.match(readFileSync(path.join(REPO_ROOT, '.vscodeignore'), 'utf8'), /^!l10n\/\*\.json$/m);
  });
});
