// Opens an export folder as a ready-to-run model: manifest checked, weights not changed since the export,
// graph names as the manifest says, tokenizer loaded. Every failure is an ExportProblem whose message names
// the command that fixes it. Runs in the runtime process (it loads onnxruntime-node).

import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { ExportProblem, MANIFEST_NAME, MODEL_FILE, exportCommand, parseManifest, staleWeights } from './manifest';
import type { OnnxManifest } from './manifest';
import { TraceTokenizer } from './tokenizerBridge';

export interface LoadedExport {
  folder: string;
  checkpoint: string;
  manifest: OnnxManifest;
  session: ort.InferenceSession;
  tokenizer: TraceTokenizer;
  padId: number;
}

export interface SessionSettings {
  /** Threads for one operator (onnxruntime's intra-op pool); 0 lets onnxruntime choose. */
  threads: number;
  /** 'cpu' (default) or 'cuda' (only with an onnxruntime-node install that has the CUDA provider). */
  executionProvider: 'cpu' | 'cuda';
}

export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(() => true, () => false);
}

/** The checkpoint an export folder belongs to, before its manifest is read: by convention CHECKPOINT/onnx. */
export function defaultCheckpointOf(folder: string): string {
  return path.basename(folder) === 'onnx' ? path.dirname(folder) : folder;
}

export async function loadExport(ortModule: typeof ort, folder: string, settings: SessionSettings): Promise<LoadedExport> {
  const guessedCheckpoint = defaultCheckpointOf(folder);
  const manifestPath = path.join(folder, MANIFEST_NAME);
  const modelPath = path.join(folder, MODEL_FILE);
  if (!(await exists(manifestPath)) || !(await exists(modelPath))) {
    throw new ExportProblem('missing', `No ONNX export in ${folder} (${MANIFEST_NAME} and ${MODEL_FILE} are needed). Create it with: ${exportCommand(guessedCheckpoint)}`);
  }
  const manifest = parseManifest(await fs.readFile(manifestPath, 'utf8'), manifestPath, guessedCheckpoint);
  const checkpoint = path.resolve(folder, manifest.checkpoint);
  // A checkpoint folder that is still there must hold the weights the export was made from; an export copied
  // away from its checkpoint (the folder is gone) is taken as it is.
  if (await exists(checkpoint)) {
    const current: Record<string, string | null> = {};
    for (const name of Object.keys(manifest.weights_sha256)) {
      const file = path.join(checkpoint, name);
      current[name] = (await exists(file)) ? await fileSha256(file) : null;
    }
    const stale = staleWeights(manifest.weights_sha256, current);
    if (stale.length > 0) {
      throw new ExportProblem('stale', `The ONNX export in ${folder} was made from other weights than ${checkpoint} now holds (${stale.join(', ')} changed). Re-export it: ${exportCommand(checkpoint)}`);
    }
  }
  let session: ort.InferenceSession;
  try {
    session = await ortModule.InferenceSession.create(modelPath, {
      intraOpNumThreads: settings.threads,
      interOpNumThreads: 1,
      executionProviders: [settings.executionProvider],
      graphOptimizationLevel: 'all',
    });
  } catch (error) {
    throw new ExportProblem('broken', `onnxruntime cannot load ${modelPath} (${(error as Error).message}). Re-export it: ${exportCommand(checkpoint)}`);
  }
  if (JSON.stringify(session.inputNames) !== JSON.stringify(manifest.inputs) || JSON.stringify(session.outputNames) !== JSON.stringify(manifest.outputs)) {
    await session.release();
    throw new ExportProblem('mismatch', `${modelPath} does not have the inputs/outputs its manifest lists (a model.onnx from another export?). Re-export it: ${exportCommand(checkpoint)}`);
  }
  const tokenizerPath = path.join(folder, manifest.tokenizer);
  const configPath = path.join(folder, 'tokenizer_config.json');
  let tokenizer: TraceTokenizer;
  try {
    const files = {
      tokenizer: JSON.parse(await fs.readFile(tokenizerPath, 'utf8')),
      config: (await exists(configPath)) ? JSON.parse(await fs.readFile(configPath, 'utf8')) : {},
    };
    tokenizer = new TraceTokenizer(files, tokenizerPath);
  } catch (error) {
    await session.release();
    if (error instanceof ExportProblem) throw new ExportProblem(error.code, `${error.message}. Re-export it: ${exportCommand(checkpoint)}`);
    throw new ExportProblem('broken', `${tokenizerPath} cannot be read (${(error as Error).message}). Re-export it: ${exportCommand(checkpoint)}`);
  }
  if (tokenizer.vocabularySize > manifest.vocab_size) {
    await session.release();
    throw new ExportProblem('mismatch', `${tokenizerPath} has ${tokenizer.vocabularySize} tokens but the model only ${manifest.vocab_size}. Re-export it: ${exportCommand(checkpoint)}`);
  }
  const padId = manifest.special_tokens.pad?.id ?? manifest.stop_token_ids[0] ?? 0;
  return { folder, checkpoint, manifest, session, tokenizer, padId };
}
