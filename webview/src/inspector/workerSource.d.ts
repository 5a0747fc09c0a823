// Monaco's editor worker, bundled by scripts/build.mjs and inlined into the inspector bundle as
// text, so the webview can start it from a blob (CSP `worker-src blob:`) without fetching anything.
declare module 'mgrpo:editor-worker-source' {
  const source: string;
  export default source;
}
