import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './fixture';

// The extension manifest as VS Code reads it: every %key% has its string in package.nls.json,
// every command has a factory, the settings a workspace must not choose are restricted.
const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
const nls: Record<string, string> = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.nls.json'), 'utf8'));

function placeholders(value: unknown, found: string[] = []): string[] {
  if (typeof value === 'string') {
    const match = /^%([^%]+)%$/.exec(value);
    if (match) found.push(match[1]);
  } else if (Array.isArray(value)) {
    for (const each of value) placeholders(each, found);
  } else if (value && typeof value === 'object') {
    for (const each of Object.values(value)) placeholders(each, found);
  }
  return found;
}

describe('extension manifest', () => {
  it('has a package.nls.json string for every %placeholder%, and no unused ones', () => {
    const used = new Set(placeholders(manifest));
    for (const key of used) assert.ok(typeof nls[key] === 'string' && nls[key].length > 0, `package.nls.json lacks "${key}"`);
    for (const key of Object.keys(nls)) assert.ok(used.has(key), `package.nls.json has unused "${key}"`);
  });

  it('registers a factory for every contributed command, and contributes every registered one', () => {
    const contributed = manifest.contributes.commands.map((c: { command: string }) => c.command).sort();
    const source = readFileSync(path.join(REPO_ROOT, 'extension', 'src', 'vscode', 'commands', 'index.ts'), 'utf8');
    const registered = [...source.matchAll(/'(mgrpo\.[\w.]+)':/g)].map((m) => m[1]).sort();
    assert.deepEqual(registered, contributed);
  });

  // Every setting, classified: does a workspace's value choose what runs (which program, which code or
  // config it loads, how many processes, where the trainer writes)? A new setting fails here until it is
  // classified, so a setting that spawns something cannot ship unrestricted by oversight.
  const CHOOSES_WHAT_RUNS: Record<string, boolean> = {
    'mgrpo.pythonPath': true, // the interpreter every trainer, probe and export runs
    'mgrpo.runsFolder': true, // where the trainer writes (a workspace could aim it anywhere)
    'mgrpo.defaultConfig': true, // the config the trainer loads: model, data set, its paths
    'mgrpo.processesPerNode': true, // torchrun and N processes instead of one
    'mgrpo.checkpointBackend': true, // "python" spawns the trainer's PyTorch on a checkpoint
    'mgrpo.importTokenizer': true, // a folder the importer's Python loads (a tokenizer's files)
    'mgrpo.maxCachedSteps': false,
    'mgrpo.maxLineBytes': false,
    'mgrpo.onnx.threads': false,
    'mgrpo.onnx.executionProvider': false, // the runtime shipped with the extension, on the GPU or not
    'mgrpo.whatIf.samples': false,
    'mgrpo.whatIf.temperature': false,
    'mgrpo.whatIf.topP': false,
    'mgrpo.whatIf.maxNewTokens': false,
    'mgrpo.trace.maxCharacters': false,
  };

  it('keeps every setting that chooses what runs out of an untrusted workspace\'s hands', () => {
    const settings = Object.keys(manifest.contributes.configuration.properties).sort();
    assert.deepEqual(settings, Object.keys(CHOOSES_WHAT_RUNS).sort(), 'classify every setting in CHOOSES_WHAT_RUNS');
    const restricted: string[] = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations;
    const expected = settings.filter((key) => CHOOSES_WHAT_RUNS[key]);
    assert.deepEqual([...restricted].sort(), expected);
    assert.ok(expected.includes('mgrpo.processesPerNode') && expected.includes('mgrpo.pythonPath'));
    assert.equal(manifest.capabilities.untrustedWorkspaces.supported, 'limited');
    assert.equal(manifest.capabilities.virtualWorkspaces.supported, false);
  });

  const FRACTIONAL_SETTINGS = new Set(['mgrpo.whatIf.temperature', 'mgrpo.whatIf.topP']);

  it('describes settings in Markdown and types counts as integers', () => {
    const properties: Record<string, { type: string; markdownDescription?: string; default: unknown }> = manifest.contributes.configuration.properties;
    for (const [key, property] of Object.entries(properties)) {
      assert.ok(property.markdownDescription, `${key} has no markdownDescription`);
      // Sampling knobs are real numbers whose defaults happen to be whole (temperature 1, top-p 1); every other number is a count.
      if (typeof property.default === 'number' && !FRACTIONAL_SETTINGS.has(key)) assert.equal(property.type, 'integer', key);
      if (FRACTIONAL_SETTINGS.has(key)) assert.equal(property.type, 'number', key);
    }
    assert.equal(properties['mgrpo.maxLineBytes'].default, 32 * 1024 * 1024);
  });

  it('activates for restored panels and ships its strings', () => {
    assert.ok(manifest.activationEvents.includes('onWebviewPanel:mgrpo.dashboard'));
    assert.ok(manifest.activationEvents.includes('onWebviewPanel:mgrpo.inspector'));
    assert.match(readFileSync(path.join(REPO_ROOT, '.vscodeignore'), 'utf8'), /^!package\.nls\.json$/m);
  });

  it('offers Open Run Folder... on run.json, not on every Explorer folder', () => {
    const explorer = manifest.contributes.menus['explorer/context'].filter((m: { command: string }) => m.command === 'mgrpo.openRunFolder');
    assert.deepEqual(explorer.map((m: { when: string }) => m.when), ['resourceFilename == run.json']);
  });
});
