// Bundles the extension host code (extension/src/main.ts) into dist/extension.js with esbuild.
//   node scripts/build.mjs               development build with a source map
//   node scripts/build.mjs --production  minified (what `npm run package` ships)
//   node scripts/build.mjs --watch       rebuild on change
// `vscode` is provided by the editor at run time, so it stays external.
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const production = args.has('--production');
const watch = args.has('--watch');
for (const arg of args) {
  if (!['--production', '--watch'].includes(arg)) {
    console.error(`build.mjs: unknown option ${arg} (expected --production and/or --watch)`);
    process.exit(2);
  }
}

/** Prints esbuild's errors in the `file:line:col: error: text` form VS Code's problem matchers read. */
const reportProblems = {
  name: 'report-problems',
  setup(build) {
    let started = 0;
    build.onStart(() => { started = Date.now(); });
    build.onEnd((result) => {
      for (const { text, location } of result.errors) {
        const where = location ? `${location.file}:${location.line}:${location.column}: ` : '';
        console.error(`${where}error: ${text}`);
      }
      const verdict = result.errors.length ? `failed with ${result.errors.length} error(s)` : 'ok';
      console.log(`[build] dist/extension.js ${verdict} in ${Date.now() - started} ms${production ? ' (production)' : ''}`);
    });
  },
};

const options = {
  absWorkingDir: root,
  entryPoints: ['extension/src/main.ts'],
  outfile: 'dist/extension.js',
  bundle: true,
  external: ['vscode'],
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  sourcesContent: !production,
  minify: production,
  logLevel: 'silent',
  plugins: [reportProblems],
};

if (watch) {
  const context = await esbuild.context(options);
  await context.watch();
  console.log('[build] watching extension/src for changes');
} else {
  try {
    await esbuild.build(options);
  } catch {
    process.exit(1);
  }
}
