// The reasoning-trace grammar run by VS Code's own engines (vscode-textmate on vscode-oniguruma),
// for the grammar's unit test and benchmark: what a user's editor does with a line, token by token.

import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as oniguruma from 'vscode-oniguruma';
import * as textmate from 'vscode-textmate';
import { REPO_ROOT } from './fixture';

export const GRAMMAR_FILE = path.join(REPO_ROOT, 'syntaxes', 'reasoning-trace.tmLanguage.json');
const SCOPE = 'source.reasoning-trace';

export interface Token {
  text: string;
  /** Scopes below the grammar's root scope, outermost first. */
  scopes: string[];
}

let loaded: Promise<textmate.IGrammar> | undefined;
let onigLib: Promise<textmate.IOnigLib> | undefined;

/** The Oniguruma WebAssembly module: loaded once per process (it cannot be loaded twice). */
function engine(): Promise<textmate.IOnigLib> {
  if (!onigLib) {
    const wasm = readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
    onigLib = oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) as ArrayBuffer).then(() => ({
      createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text: string) => new oniguruma.OnigString(text),
    }));
  }
  return onigLib;
}

/** The grammar in `file` (default: the shipped one), compiled once per file. */
export function loadGrammar(file = GRAMMAR_FILE): Promise<textmate.IGrammar> {
  if (file === GRAMMAR_FILE && loaded) return loaded;
  const registry = new textmate.Registry({
    onigLib: engine(),
    loadGrammar: async (scope) => (scope === SCOPE ? textmate.parseRawGrammar(readFileSync(file, 'utf8'), file) : null),
  });
  const grammar = registry.loadGrammar(SCOPE).then((g) => {
    if (!g) throw new Error(`no grammar for ${SCOPE} in ${file}`);
    return g;
  });
  if (file === GRAMMAR_FILE) loaded = grammar;
  return grammar;
}

/** Tokenizes a document line by line, as the editor does (rule stack carried between lines). */
export function tokenize(grammar: textmate.IGrammar, lines: string[]): Token[][] {
  let state = textmate.INITIAL;
  return lines.map((line) => {
    const result = grammar.tokenizeLine(line, state);
    state = result.ruleStack;
    return result.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes.slice(1) }));
  });
}
