import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './fixture';

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

const WEBVIEW_SRC = path.join(REPO_ROOT, 'webview', 'src');
const IMPORT = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]/g;
/** Browser packages the webview bundles; anything else (node:*, vscode, fs) would not run there. */
const ALLOWED_PACKAGES = [/^monaco-editor\//, /^uplot(\/|$)/, /^@vscode-elements\/elements\/dist\//, /^@vscode\/l10n$/, /^mgrpo:editor-worker-source$/];
/** The host files a webview may import: the shared message types and the format types they name. */
const SHARED_HOST_FILES = ['extension/src/webview/protocol.ts', 'extension/src/format/types.ts'];

describe('webview code stays browser code', () => {
  const files = tsFiles(WEBVIEW_SRC).concat(path.join(REPO_ROOT, 'extension', 'src', 'webview', 'protocol.ts'));

  it('imports only browser packages, its own modules and the shared protocol', () => {
    assert.ok(files.length > 10, `found ${files.length} files`);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(IMPORT)) {
        const specifier = match[3];
        const where = `${path.relative(REPO_ROOT, file)} imports ${specifier}`;
        if (specifier.startsWith('.')) {
          const target = path.relative(REPO_ROOT, path.resolve(path.dirname(file), specifier)).replace(/\\/g, '/');
          const resolved = target.endsWith('.ts') || target.endsWith('.css') ? target : `${target}.ts`;
          if (!resolved.startsWith('webview/')) assert.ok(SHARED_HOST_FILES.includes(resolved), where);
        } else {
          assert.ok(ALLOWED_PACKAGES.some((allowed) => allowed.test(specifier)), where);
        }
      }
    }
  });

  it('never builds HTML from strings (model output is untrusted text)', () => {
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      assert.doesNotMatch(text, /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|createContextualFragment/, path.relative(REPO_ROOT, file));
    }
  });
});
