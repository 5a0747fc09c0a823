import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './fixture';

// src/format and src/model are unit-tested outside VS Code: they must not import it.
describe('pure modules', () => {
  for (const folder of ['format', 'model']) {
    it(`extension/src/${folder} does not import vscode`, () => {
      const dir = path.join(REPO_ROOT, 'extension', 'src', folder);
      const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
      assert.ok(files.length > 0);
      for (const file of files) {
        const text = readFileSync(path.join(dir, file), 'utf8');
        assert.ok(!/from\s+['"]vscode['"]|require\(\s*['"]vscode['"]\s*\)|import\(\s*['"]vscode['"]\s*\)/.test(text), `${folder}/${file} imports vscode`);
      }
    });
  }
});
