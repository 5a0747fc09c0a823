// The eval/ folder of a run (RUN_FORMAT.md): eval/step-NNNNNN.json, one greedy two-pass evaluation
// each, written whole by the trainer. The one place that knows this layout; the dashboard reads
// evaluations through it. Each file is checked against the run-format schema.

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { errorText } from './errorText';
import { readSmallFile } from './lines';
import type { EvalResult } from './types';
import { RunPaths } from './types';
import { parseEvalResult } from './validate';

const EVAL_FILE = /^step-(\d+)\.json$/;
/** An evaluation of a few thousand problems is a few MiB; far bigger is not one (and not read). */
export const MAX_EVAL_FILE_BYTES = 64 << 20;

export interface EvalListing {
  /** Names, sizes and modification times of the eval files: equal signatures, equal contents. */
  signature: string;
  files: string[];
}

export interface EvalResults {
  signature: string;
  /** Valid evaluations, by step. */
  results: EvalResult[];
  /** Files left out, and why ("<file>: <what>"). */
  skipped: string[];
}

/** The run's eval files (absolute paths, by step) and their signature; none when eval/ is missing. */
export async function listEvalFiles(runDir: string): Promise<EvalListing> {
  const dir = path.join(runDir, RunPaths.evalDir);
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter((name) => EVAL_FILE.test(name)).sort();
  } catch {
    return { signature: '', files: [] };
  }
  const files = names.map((name) => path.join(dir, name));
  const stamps = await Promise.all(files.map((file) => fs.stat(file).then((s) => `${path.basename(file)}:${s.mtimeMs}:${s.size}`, () => path.basename(file))));
  return { signature: stamps.join('|'), files };
}

/**
 * Every evaluation of the run, oldest step first; undefined when the listing's signature equals
 * `unlessSignature` (nothing changed since the caller last read them). Never rejects for what the
 * folder holds: a file that is unreadable, too big, not JSON or not an evaluation is skipped
 * and named in `skipped`.
 */
export async function readEvalResults(runDir: string, unlessSignature?: string): Promise<EvalResults | undefined> {
  const listing = await listEvalFiles(runDir);
  if (unlessSignature !== undefined && listing.signature === unlessSignature) return undefined;
  const results: EvalResult[] = [];
  const skipped: string[] = [];
  for (const file of listing.files) {
    try {
      results.push(parseEvalResult(JSON.parse(await readSmallFile(file, MAX_EVAL_FILE_BYTES))));
    } catch (error) {
      skipped.push(`${file}: ${error instanceof SyntaxError ? `not JSON: ${error.message}` : errorText(error)}`);
    }
  }
  return { signature: listing.signature, results: results.sort((a, b) => a.step - b.step), skipped };
}
