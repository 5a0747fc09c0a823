// The export's manifest (onnx-manifest.json, written by `python -m mgrpo export-onnx`): what the graph
// expects and which checkpoint it came from. Read and checked here, so a missing, broken or stale export
// is reported in words that name the command to run instead of failing deep inside onnxruntime.

export const MANIFEST_NAME = 'onnx-manifest.json';
export const MANIFEST_FORMAT = 'mgrpo-onnx-export';
export const MANIFEST_VERSION = 1;
export const MODEL_FILE = 'model.onnx';

export interface SpecialToken {
  text: string;
  id: number;
}

export interface ParityCase {
  text: string;
  input_ids: number[];
  token_logprobs: number[];
  entropies: number[];
  greedy_ids: number[];
}

export interface OnnxManifest {
  format: string;
  version: number;
  /** The checkpoint folder, relative to the export folder when it sits inside it (usually ".."). */
  checkpoint: string;
  /** sha256 of each weight file of the checkpoint at export time, by file name. */
  weights_sha256: Record<string, string>;
  onnx_sha256: string;
  model_type: string;
  vocab_size: number;
  num_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  max_position_embeddings: number;
  special_tokens: Partial<Record<'bos' | 'eos' | 'pad' | 'unk', SpecialToken>>;
  stop_token_ids: number[];
  inputs: string[];
  outputs: string[];
  tokenizer: string;
  parity?: ParityCase[];
}

/** Why an export cannot be used; `code` lets callers word the fix, `message` already does. */
export class ExportProblem extends Error {
  constructor(
    readonly code: 'missing' | 'broken' | 'stale' | 'mismatch',
    message: string,
  ) {
    super(message);
    this.name = 'ExportProblem';
  }
}

/** The command that (re)creates the export of `checkpoint` (shown in every problem message). */
export function exportCommand(checkpoint: string): string {
  return `python -m mgrpo export-onnx --checkpoint ${quoteArgument(checkpoint)}`;
}

function quoteArgument(text: string): string {
  return /^[\w./@:+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

export function pastInputNames(layers: number): string[] {
  const names: string[] = [];
  for (let layer = 0; layer < layers; layer++) names.push(`past_key_values.${layer}.key`, `past_key_values.${layer}.value`);
  return names;
}

export function presentOutputNames(layers: number): string[] {
  const names: string[] = [];
  for (let layer = 0; layer < layers; layer++) names.push(`present.${layer}.key`, `present.${layer}.value`);
  return names;
}

function positiveInteger(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) > 0;
}

/**
 * Parses and checks a manifest's text. `where` names the file in messages; `checkpoint` is the folder the
 * fix command should name. Throws ExportProblem('broken' | 'mismatch').
 */
export function parseManifest(text: string, where: string, checkpoint: string): OnnxManifest {
  const fix = `re-export it: ${exportCommand(checkpoint)}`;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ExportProblem('broken', `${where} is not valid JSON (${(error as Error).message}); ${fix}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ExportProblem('broken', `${where} is not a JSON object; ${fix}`);
  const manifest = raw as Partial<OnnxManifest>;
  if (manifest.format !== MANIFEST_FORMAT) throw new ExportProblem('broken', `${where}: format is ${JSON.stringify(manifest.format)}, expected "${MANIFEST_FORMAT}"; ${fix}`);
  if (manifest.version !== MANIFEST_VERSION) {
    throw new ExportProblem('mismatch', `${where}: manifest version ${JSON.stringify(manifest.version)}, this extension reads version ${MANIFEST_VERSION}; ${fix}`);
  }
  for (const key of ['vocab_size', 'num_layers', 'num_attention_heads', 'num_key_value_heads', 'head_dim'] as const) {
    if (!positiveInteger(manifest[key])) throw new ExportProblem('broken', `${where}: ${key} must be a positive integer, got ${JSON.stringify(manifest[key])}; ${fix}`);
  }
  const layers = manifest.num_layers as number;
  const inputs = ['input_ids', 'attention_mask', 'position_ids', ...pastInputNames(layers)];
  const outputs = ['logits', ...presentOutputNames(layers)];
  if (JSON.stringify(manifest.inputs) !== JSON.stringify(inputs) || JSON.stringify(manifest.outputs) !== JSON.stringify(outputs)) {
    throw new ExportProblem('mismatch', `${where}: inputs/outputs are not the KV-cache layout this extension runs (input_ids, attention_mask, position_ids, past_key_values.N.key/value -> logits, present.N.key/value); ${fix}`);
  }
  if (typeof manifest.weights_sha256 !== 'object' || manifest.weights_sha256 === null || Object.keys(manifest.weights_sha256).length === 0) {
    throw new ExportProblem('broken', `${where}: weights_sha256 is missing; ${fix}`);
  }
  if (!Array.isArray(manifest.stop_token_ids) || !manifest.stop_token_ids.every((id) => Number.isInteger(id) && id >= 0 && id < (manifest.vocab_size as number))) {
    throw new ExportProblem('broken', `${where}: stop_token_ids must be token ids below vocab_size; ${fix}`);
  }
  if (typeof manifest.checkpoint !== 'string') throw new ExportProblem('broken', `${where}: checkpoint must be a string; ${fix}`);
  if (typeof manifest.tokenizer !== 'string' || manifest.tokenizer.includes('/') || manifest.tokenizer.includes('\\')) {
    throw new ExportProblem('broken', `${where}: tokenizer must be a file name in the export folder; ${fix}`);
  }
  return manifest as OnnxManifest;
}

/**
 * Weight files whose current hash differs from the one recorded at export time (a checkpoint overwritten
 * after its export), and recorded files that are gone. Empty when the export matches its weights.
 */
export function staleWeights(recorded: Record<string, string>, current: Record<string, string | null>): string[] {
  return Object.keys(recorded).filter((name) => current[name] !== recorded[name]);
}
