// Bundles the extension host code (extension/src/main.ts) into dist/extension.js with esbuild,
// the local ONNX runtime process (extension/src/onnx/runtimeProcess.ts) into dist/onnxRuntime.js,
// and the webviews (webview/src/{dashboard,inspector}/main.ts) into dist/webview/ (see webview/README.md).
//   node scripts/build.mjs               development build with a source map
//   node scripts/build.mjs --production  minified (what `npm run package` ships)
//   node scripts/build.mjs --watch       rebuild on change
// `vscode` is provided by the editor at run time, so it stays external.
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';
import { OUTPUT_FILE, SCHEMA_FILE, generateValidators } from './gen-validators.mjs';

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

/**
 * Prints esbuild's errors in the `file:line:col: error: text` form VS Code's problem matchers read,
 * then one line naming the bundle (`output`) and how long it took.
 */
function reportProblems(output) {
  return {
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
        console.log(`[build] ${output} ${verdict} in ${Date.now() - started} ms${production ? ' (production)' : ''}`);
      });
    },
  };
}

const options = {
  absWorkingDir: root,
  entryPoints: ['extension/src/main.ts'],
  outfile: 'dist/extension.js',
  bundle: true,
  // onnxruntime-node loads its .node binaries from its own folder: it stays in node_modules (and the .vsix).
  external: ['vscode', 'onnxruntime-node'],
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  sourcesContent: !production,
  minify: production,
  logLevel: 'silent',
  plugins: [reportProblems('dist/extension.js')],
};

/**
 * Monaco's editor worker as one script, returned as text: the inspector bundle inlines it and
 * starts it from a blob (the webview CSP allows `worker-src blob:` and nothing else).
 */
async function editorWorkerSource() {
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['node_modules/monaco-editor/esm/vs/editor/editor.worker.js'],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: production,
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

/** Resolves `import source from 'mgrpo:editor-worker-source'` to the worker's text. */
const inlineEditorWorker = {
  name: 'inline-editor-worker',
  setup(build) {
    build.onResolve({ filter: /^mgrpo:editor-worker-source$/ }, (args) => ({ path: args.path, namespace: 'mgrpo-worker' }));
    build.onLoad({ filter: /.*/, namespace: 'mgrpo-worker' }, async () => ({ contents: await editorWorkerSource(), loader: 'text' }));
  },
};

/** A webview bundle: browser code and its CSS (plus Monaco's codicon font) into dist/webview/. */
function webviewOptions(name) {
  return {
    absWorkingDir: root,
    entryPoints: { [name]: `webview/src/${name}/main.ts` },
    outdir: 'dist/webview',
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    tsconfig: 'webview/tsconfig.json',
    loader: { '.ttf': 'file' },
    assetNames: '[name]',
    sourcemap: !production,
    sourcesContent: !production,
    minify: production,
    logLevel: 'silent',
    plugins: [inlineEditorWorker, reportProblems(`dist/webview/${name}.js`)],
  };
}

// The run-format validators are compiled from the schema (scripts/gen-validators.mjs): a schema
// change reaches the bundle without a separate step.
const validators = generateValidators(fs.readFileSync(SCHEMA_FILE, 'utf8'));
if (!fs.existsSync(OUTPUT_FILE) || fs.readFileSync(OUTPUT_FILE, 'utf8') !== validators) {
  fs.writeFileSync(OUTPUT_FILE, validators);
  console.log(`[build] regenerated ${path.relative(root, OUTPUT_FILE)} from the run-format schema`);
}

// The local ONNX runtime's process (extension/src/onnx/runtimeProcess.ts), forked by the extension so that
// onnxruntime-node never runs inside the extension host.
const onnxRuntimeOptions = {
  ...options,
  entryPoints: ['extension/src/onnx/runtimeProcess.ts'],
  outfile: 'dist/onnxRuntime.js',
  plugins: [reportProblems('dist/onnxRuntime.js')],
};

const builds = [options, onnxRuntimeOptions, webviewOptions('dashboard'), webviewOptions('inspector')];

// A production build must not ship a development build's multi-megabyte source maps (.vscodeignore
// packs dist/**/*.js.map): start dist/webview afresh.
if (production && !watch) fs.rmSync(path.join(root, 'dist', 'webview'), { recursive: true, force: true });

if (watch) {
  for (const each of builds) {
    const context = await esbuild.context(each);
    await context.watch();
  }
  console.log('[build] watching extension/src and webview/src for changes');
} else {
  const results = await Promise.allSettled(builds.map((each) => esbuild.build(each)));
  if (results.some((r) => r.status === 'rejected')) process.exit(1);
}
