import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './fixture';

// The layering of extension/README.md: format -> model -> vscode. format/ and model/ are
// unit-tested outside VS Code, so they must not import it; model/ is pure logic, so processes and
// the file system (child_process, fs in any of its forms) belong to the vscode layer or format/.

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** Every module specifier a file imports, re-exports, requires or imports dynamically. */
function importsOf(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) found.push(match[1]);
  return found;
}

const FORBIDDEN: Record<string, RegExp[]> = {
  format: [/^vscode$/],
  model: [/^vscode$/, /^(node:)?child_process$/, /^(node:)?fs(\/promises)?$/],
};

describe('pure modules', () => {
  it('the import finder sees every form an import can take', () => {
    const text = [
      "import * as vscode from 'vscode';",
      "import { spawn } from 'node:child_process';",
      "import type { Stats } from 'fs';",
      "export { readFile } from 'node:fs/promises';",
      "const cp = require('child_process');",
      "const f = await import('fs/promises');",
      "import 'node:fs';",
    ].join('\n');
    assert.deepEqual(importsOf(text).sort(), ['child_process', 'fs', 'fs/promises', 'node:child_process', 'node:fs', 'node:fs/promises', 'vscode'].sort());
  });

  for (const [folder, forbidden] of Object.entries(FORBIDDEN)) {
    it(`extension/src/${folder} imports none of ${forbidden.map(String).join(', ')}`, () => {
      const files = tsFiles(path.join(REPO_ROOT, 'extension', 'src', folder));
      assert.ok(files.length > 0);
      for (const file of files) {
        for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
          assert.ok(!forbidden.some((f) => f.test(specifier)), `${path.relative(REPO_ROOT, file)} imports ${specifier}`);
        }
      }
    });
  }

  it('extension/src/webview holds only the protocol shared with the webview bundles', () => {
    const files = tsFiles(path.join(REPO_ROOT, 'extension', 'src', 'webview')).map((f) => path.relative(REPO_ROOT, f).replace(/\\/g, '/'));
    assert.deepEqual(files, ['extension/src/webview/protocol.ts']);
  });

  it('nothing under extension/src/vscode/panels imports from vscode/commands (commands use panels, not back)', () => {
    for (const file of tsFiles(path.join(REPO_ROOT, 'extension', 'src', 'vscode', 'panels'))) {
      for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
        assert.ok(!/(^|\/)commands(\/|$)/.test(specifier), `${path.relative(REPO_ROOT, file)} imports ${specifier}`);
      }
    }
  });
});
