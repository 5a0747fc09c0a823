// Which other trainer wrote a folder the user picked in "Open Run Folder...", from the names of the
// files in it. Pure: takes relative paths ('/'-separated), touches no file system. The patterns are
// the ones `python -m mgrpo import` detects (trainer/mgrpo/importers/*.py), so a folder offered here
// is one the importer accepts; the importer remains the judge (its exit code 2 says why not).

import * as path from 'node:path';
import type { RunManifest } from '../format/types';

export type SourceKind = 'verl' | 'trl' | 'nemo-rl' | 'prime-rl';

export interface SourceKindInfo {
  kind: SourceKind;
  /** How the user knows it (quick pick label). */
  label: string;
  /** What was looked for, for messages. */
  pattern: string;
  /** Its files hold token ids: a tokenizer (`--tokenizer`, mgrpo.importTokenizer) places their log-probs on the text. */
  tokenLevel: boolean;
}

export const SOURCE_KINDS: readonly SourceKindInfo[] = [
  { kind: 'verl', label: 'verl', pattern: '{step}.jsonl (trainer.rollout_data_dir)', tokenLevel: false },
  { kind: 'trl', label: 'TRL', pattern: 'completions/completions_{step}.parquet (log_completions)', tokenLevel: false },
  { kind: 'nemo-rl', label: 'NeMo-RL', pattern: 'train_data_step{N}.jsonl', tokenLevel: true },
  { kind: 'prime-rl', label: 'prime-rl', pattern: 'rollouts/step_{N}/train/.../traces.jsonl', tokenLevel: true },
];

const VERL = /^\d+\.jsonl$/;
const TRL_FILE = /^completions_\d+\.parquet$/;
const NEMO = /^(train|val)_data_step\d+\.jsonl$/;
const PRIME_STEP = /^step_\d+$/;

/**
 * The source kinds the listed files look like, in SOURCE_KINDS order; empty when none. `files`
 * are paths relative to the picked folder; `pickedName` is the folder's own name (a TRL
 * `completions` folder picked directly holds completions_N.parquet at its top).
 */
export function detectSourceKinds(files: readonly string[], pickedName = ''): SourceKind[] {
  const found = new Set<SourceKind>();
  for (const raw of files) {
    const parts = raw.split(/[\\/]+/).filter((part) => part !== '' && part !== '.');
    if (parts.length === 0) continue;
    const name = parts[parts.length - 1];
    if (parts.length === 1 && VERL.test(name)) found.add('verl');
    if (TRL_FILE.test(name)) {
      const parent = parts.length >= 2 ? parts[parts.length - 2] : pickedName;
      if (parent === 'completions' && parts.length <= 2) found.add('trl');
    }
    if (parts.length === 1 && NEMO.test(name) && name.startsWith('train_')) found.add('nemo-rl');
    if (name === 'traces.jsonl') {
      // rollouts/step_N/train/.../traces.jsonl from the output folder, or step_N/... from rollouts/.
      const stepAt = parts[0] === 'rollouts' ? 1 : 0;
      if (parts.length > stepAt + 2 && PRIME_STEP.test(parts[stepAt]) && parts[stepAt + 1] === 'train') found.add('prime-rl');
    }
  }
  return SOURCE_KINDS.map((info) => info.kind).filter((kind) => found.has(kind));
}

export function sourceKindInfo(kind: SourceKind): SourceKindInfo {
  const info = SOURCE_KINDS.find((candidate) => candidate.kind === kind);
  if (!info) throw new Error(`unknown source kind ${JSON.stringify(kind)}`);
  return info;
}

/** Folders a listing must descend into to see what detectSourceKinds looks for (depth-limited walk). */
export function worthListing(relativeDir: string): boolean {
  const parts = relativeDir.split(/[\\/]+/).filter((part) => part !== '');
  if (parts.length === 0) return true;
  if (parts[0] === 'completions') return parts.length === 1;
  const stepAt = parts[0] === 'rollouts' ? 1 : 0;
  if (parts[0] === 'rollouts' && parts.length === 1) return true;
  if (!PRIME_STEP.test(parts[stepAt] ?? '')) return false;
  // step_N/train/<env...>/traces.jsonl: a few levels of environment folders.
  return parts.length <= stepAt + 1 || (parts[stepAt + 1] === 'train' && parts.length <= stepAt + 5);
}

/** The arguments of `python -m mgrpo import` for a folder (run with `-m mgrpo` in front). */
export function importArgs(source: string, runDir: string, kind: SourceKind, options: ImportOptions = {}): string[] {
  const { groupSize, tokenizer } = options;
  const args = ['import', source, '--to', runDir, '--from', kind, '--follow'];
  if (groupSize !== undefined) {
    if (!Number.isSafeInteger(groupSize) || groupSize < 1) throw new Error(`group size must be a positive integer, got ${groupSize}`);
    args.push('--group-size', String(groupSize));
  }
  if (tokenizer && sourceKindInfo(kind).tokenLevel) args.push('--tokenizer', tokenizer);
  return args;
}

export interface ImportOptions {
  /** TRL: the run's num_generations. */
  groupSize?: number;
  /** NeMo-RL, prime-rl: a tokenizer folder (ignored for kinds without token ids). */
  tokenizer?: string;
}

/** "12" -> 12; anything but a positive integer -> an error message for the input box. */
export function parseGroupSize(text: string): number | string {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed) || Number(trimmed) < 1 || !Number.isSafeInteger(Number(trimmed))) return 'a positive whole number (TRL num_generations)';
  return Number(trimmed);
}

/** An import to start again after a window reload: `python -m mgrpo import` with importArgs(sourceDir, runDir, kind, { groupSize }). */
export interface ImportToResume {
  runDir: string;
  sourceDir: string;
  kind: SourceKind;
  groupSize?: number;
}

/**
 * Which imports a reloaded window restarts: the runs in the view (removed ones are not there) whose
 * folder is one of the extension's import folders (`importsDir`/<hash>) and whose run.json names the
 * source (`source.kind`, one the importers read, and `source.path`). The TRL recorder's runs
 * (`trl-live`) and runs imported by hand elsewhere are not ours to follow. `groupSizes`: the group
 * size given when each import folder was first imported (run.json does not keep it).
 */
export function importsToResume(
  runs: ReadonlyArray<{ runDir: string; manifest: Pick<RunManifest, 'source'> | undefined }>,
  importsDir: string,
  groupSizes: Readonly<Record<string, unknown>>,
): ImportToResume[] {
  const resumable: ImportToResume[] = [];
  const home = path.resolve(importsDir);
  for (const run of runs) {
    const runDir = path.resolve(run.runDir);
    if (path.dirname(runDir) !== home) continue;
    const source = run.manifest?.source;
    const kind = SOURCE_KINDS.find((info) => info.kind === source?.kind)?.kind;
    if (!kind || typeof source?.path !== 'string' || source.path.trim() === '') continue;
    const size = groupSizes[runDir];
    const groupSize = kind === 'trl' && typeof size === 'number' && Number.isSafeInteger(size) && size >= 1 ? size : undefined;
    resumable.push(groupSize === undefined ? { runDir, sourceDir: source.path, kind } : { runDir, sourceDir: source.path, kind, groupSize });
  }
  return resumable;
}
