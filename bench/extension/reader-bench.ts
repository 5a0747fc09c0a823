// Extension reader benchmark: `npm run bench:extension` (tsx bench/extension/reader-bench.ts).
//
// Generates (once, into bench/out/, reused when present) a synthetic run of 1,000,000 samples in
// the run format — 1000 steps x (8 questions x 25 layer-1 samples + 4 corrections each) — and
// measures what the Runs view does with it: open the run, expand a step, filter by outcome across
// the whole run, hover content, peak memory, and the reader's scan rate against a plain read of
// the same bytes. Writes bench/results/extension-reader.md.
//
// MGRPO_BENCH_STEPS=20 makes a small run (its own folder) for a quick check.

import { spawn } from 'node:child_process';
import { promises as fs, existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { DEFAULT_MAX_INDEX_BYTES_ON_DISK, RunReader } from '../../extension/src/format/runReader';
import type { MetricsLine, RolloutRecord, RunManifest } from '../../extension/src/format/types';
import { RunPaths } from '../../extension/src/format/types';
import { firstDivergence, changedSteps } from '../../extension/src/model/divergence';
import { stepHoverMarkdown } from '../../extension/src/model/hoverContent';
import { matchesFilter, type SampleFilter } from '../../extension/src/model/filters';
import { childrenOf, runNode } from '../../extension/src/model/runTree';
import { traceSteps } from '../../extension/src/model/segmentation';
import { renderTrace } from '../../extension/src/model/traceDocument';

const ROOT = path.resolve(__dirname, '..', '..');
const STEPS = Number(process.env.MGRPO_BENCH_STEPS ?? 1000);
const QUESTIONS = 8;
const LAYER1 = 25;
const LAYER2 = 4;
const SAMPLES = STEPS * QUESTIONS * LAYER1 * (1 + LAYER2);
const RUN_DIR = path.join(ROOT, 'bench', 'out', `extension-run-${STEPS}x${QUESTIONS}x${LAYER1}x${LAYER2}`);
const RESULTS = path.join(ROOT, 'bench', 'results', 'extension-reader.md');
/** The bench's own index cache folder (emptied before use), standing in for the extension's global storage. */
const INDEX_CACHE_DIR = path.join(ROOT, 'bench', 'out', `extension-index-cache-${STEPS}`);
const GENERATOR_VERSION = 3;

// ---------------------------------------------------------------- synthetic run

/** Deterministic PRNG (mulberry32): the same run on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Completion {
  text: string;
  steps: { start: number; end: number }[];
  answer: string;
  answerSpan: { start: number; end: number };
}

/** A ~200-character chain of 2-digit operations, one per line, ending "A: n"; `slip` makes a wrong step. */
function completionFor(random: () => number, start: number, slip: boolean): Completion {
  let value = start;
  let text = '';
  const steps: { start: number; end: number }[] = [];
  const lines = 16;
  const slipAt = slip ? 1 + Math.floor(random() * (lines - 2)) : -1;
  for (let i = 0; i < lines; i++) {
    const operand = 10 + Math.floor(random() * 89);
    const plus = random() < 0.5;
    let next = plus ? value + operand : value - operand;
    if (i === slipAt) next += 1 + Math.floor(random() * 9);
    const line = `${value}${plus ? '+' : '-'}${operand}=${next}`;
    steps.push({ start: text.length, end: text.length + line.length });
    text += `${line}\n`;
    value = next;
  }
  const answer = String(value);
  const answerSpan = { start: text.length, end: text.length + 3 + answer.length };
  text += `A: ${answer}\n`;
  return { text, steps, answer, answerSpan };
}

/** BPE-like tokens of about 4 characters with log-probabilities (4 decimals, as the trainer writes them). */
function tokensFor(random: () => number, length: number): { offsets: number[]; logprobs: number[] } {
  const offsets: number[] = [];
  const logprobs: number[] = [];
  for (let at = 0; at < length; at += 2 + Math.floor(random() * 5)) {
    offsets.push(at);
    logprobs.push(-Math.round(-Math.log(0.05 + 0.95 * random()) * 10000) / 10000);
  }
  return { offsets, logprobs };
}

const GUIDING = ['Wait, let me double-check that.', 'Where might I have gone wrong? Let me check carefully.'];

function stepFileText(step: number, random: () => number): { text: string; stats: { l1Right: number; l2Right: number; outcomes: Record<string, number> } } {
  const lines: string[] = [];
  const stats = { l1Right: 0, l2Right: 0, outcomes: { 'i->c': 0, 'c->i': 0, 'c->c': 0, 'i->i': 0 } as Record<string, number> };
  const pad = (n: number, w: number): string => String(n).padStart(w, '0');
  const base = (layer: 1 | 2, prompt: string, c: Completion, truth: string, random: () => number) => {
    const tokens = tokensFor(random, c.text.length);
    return {
      run_id: 'bench-run', step, layer, prompt, completion: c.text, ground_truth: truth, parsed_answer: c.answer, correct: c.answer === truth,
      prompt_tokens: Math.ceil(prompt.length / 4), completion_tokens: tokens.offsets.length, finish_reason: 'stop',
      token_logprobs: tokens.logprobs, token_entropies: null, token_offsets: tokens.offsets,
    };
  };
  for (let q = 0; q < QUESTIONS; q++) {
    const questionIndex = (step * 7 + q * 13) % 5000;
    const start = 10 + ((questionIndex * 37) % 89);
    const truthChain = completionFor(prng(questionIndex + 1), start, false);
    const truth = truthChain.answer;
    const question = `Q: start at ${start}, then apply the sixteen operations of problem ${questionIndex}\n`;
    const layer1: { record: Record<string, unknown>; correct: boolean; text: string }[] = [];
    // Layer 1 right about half the time.
    for (let s = 0; s < LAYER1; s++) {
      const right = random() < 0.5;
      const c = right ? truthChain : completionFor(random, start, true);
      const record = { id: `s${pad(step, 6)}-q${pad(q, 3)}-l1-${pad(s, 3)}`, ...base(1, question, c, truth, random), group: q, sample: s, question_id: `train-${pad(questionIndex, 6)}`, parent_id: null, guiding_phrase: null };
      layer1.push({ record, correct: c.answer === truth, text: c.text });
    }
    groupRewards(layer1.map((l) => l.record));
    for (const l of layer1) {
      lines.push(pyDumps(withSpans(l.record, l.text)));
      if (l.correct) stats.l1Right += 1;
    }
    for (const parent of layer1) {
      const corrections: Record<string, unknown>[] = [];
      for (let s = 0; s < LAYER2; s++) {
        // Corrections: a right answer stays right 92% of the time, a wrong one is fixed 30% of the time.
        const right = parent.correct ? random() < 0.92 : random() < 0.3;
        const c = right ? truthChain : completionFor(random, start, true);
        const phrase = GUIDING[s % GUIDING.length];
        const record = {
          id: `${parent.record.id as string}-l2-${pad(s, 3)}`, ...base(2, `${question}${parent.text}${phrase}\n`, c, truth, random), group: q, sample: s,
          question_id: parent.record.question_id, parent_id: parent.record.id, guiding_phrase: phrase,
          outcome: `${parent.correct ? 'c' : 'i'}->${right ? 'c' : 'i'}`, parent_correct: parent.correct,
        };
        corrections.push(record);
        stats.outcomes[record.outcome] += 1;
        if (right) stats.l2Right += 1;
      }
      groupRewards(corrections);
      for (const r of corrections) lines.push(pyDumps(withSpans(r, r.completion as string)));
    }
  }
  return { text: lines.join('\n') + '\n', stats };
}

/**
 * JSON as Python's json.dumps writes it (", " and ": " separators), so that line sizes and the
 * raw pre-check see what the trainer writes. Floats that are whole numbers keep Python's ".0".
 */
function pyDumps(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${typeof value[0] === 'number' ? value.join(', ') : value.map(pyDumps).join(', ')}]`;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) parts.push(`${JSON.stringify(k)}: ${FLOAT_FIELDS.has(k) && Number.isInteger(v) ? `${v as number}.0` : pyDumps(v)}`);
  return `{${parts.join(', ')}}`;
}
const FLOAT_FIELDS = new Set(['reward', 'correctness', 'advantage', 'group_reward_mean', 'group_reward_std']);

/** reward, advantage and group statistics as the trainer computes them (population std, 1e-4). */
function groupRewards(records: Record<string, unknown>[]): void {
  const rewards: number[] = records.map((r) => (r.correct ? 1 : 0));
  const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
  const std = Math.sqrt(rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / rewards.length);
  records.forEach((r, i) => {
    Object.assign(r, { reward: rewards[i], rewards: { correctness: rewards[i] }, advantage: Math.round(((rewards[i] - mean) / (std + 1e-4)) * 10000) / 10000, group_reward_mean: mean, group_reward_std: std });
    if (r.outcome === undefined) Object.assign(r, { outcome: null, parent_correct: null });
  });
}

function withSpans(record: Record<string, unknown>, text: string): Record<string, unknown> {
  const c = completionSpans(text);
  return { ...record, steps: c.steps, answer_span: c.answer };
}

function completionSpans(text: string): { steps: { start: number; end: number }[]; answer: { start: number; end: number } } {
  const steps: { start: number; end: number }[] = [];
  let at = 0;
  for (const line of text.split('\n')) {
    if (line.length > 0) steps.push({ start: at, end: at + line.length });
    at += line.length + 1;
  }
  const answer = steps.pop() as { start: number; end: number };
  return { steps, answer };
}

function metricsLine(step: number, stats: { l1Right: number; l2Right: number; outcomes: Record<string, number> }): MetricsLine {
  const n1 = QUESTIONS * LAYER1;
  const n2 = n1 * LAYER2;
  const acc1 = stats.l1Right / n1;
  const acc2 = stats.l2Right / n2;
  const layer = (samples: number, acc: number) => ({ samples, groups: samples / (samples === n1 ? LAYER1 : LAYER2), reward_mean: acc, reward_std: Math.sqrt(acc * (1 - acc)), accuracy: acc, completion_length_mean: 200, completion_length_max: 230, truncated_fraction: 0, frac_reward_zero_std: 0.1, generation_seconds: 4.2 });
  const rightFirst = stats.outcomes['c->c'] + stats.outcomes['c->i'];
  const wrongFirst = stats.outcomes['i->c'] + stats.outcomes['i->i'];
  const pairAcc1 = rightFirst / n2;
  return {
    step, time: new Date(Date.UTC(2026, 10, 22) + step * 60_000).toISOString(), layer1: layer(n1, acc1), layer2: layer(n2, acc2),
    correction: {
      n: n2, acc_t1: pairAcc1, acc_t2: acc2, delta: acc2 - pairAcc1, delta_i2c: stats.outcomes['i->c'] / n2, delta_c2i: stats.outcomes['c->i'] / n2,
      cl: rightFirst ? stats.outcomes['c->c'] / rightFirst : null, cs: wrongFirst ? stats.outcomes['i->c'] / wrongFirst : null,
      rss: pairAcc1 > 0 && pairAcc1 < 1 ? (acc2 - pairAcc1 ** 2) / (2 * pairAcc1 * (1 - pairAcc1)) : null,
    },
    loss: 0.01, kl: 0.001, clip_fraction: 0, entropy: 0.4, grad_norm: 0.9, learning_rate: 1e-6, train_seconds: 3.1, step_seconds: 8.4, tokens_per_second: 2400,
  };
}

async function generateRun(): Promise<{ seconds: number; reused: boolean }> {
  const marker = path.join(RUN_DIR, '.complete');
  const expected = JSON.stringify({ GENERATOR_VERSION, STEPS, QUESTIONS, LAYER1, LAYER2 });
  if (existsSync(marker) && (await fs.readFile(marker, 'utf8')) === expected) return { seconds: 0, reused: true };
  const started = performance.now();
  await fs.rm(RUN_DIR, { recursive: true, force: true });
  await fs.mkdir(path.join(RUN_DIR, RunPaths.rolloutsDir), { recursive: true });
  const manifest: RunManifest = {
    format_version: 1, run_id: 'bench-run', name: `synthetic ${SAMPLES.toLocaleString('en-US')}-sample run`, created: '2026-11-22T00:00:00Z', updated: '2026-11-22T00:00:00Z',
    status: 'finished', algorithm: 'mgrpo', config: { num_generations: LAYER1, layer2_num_generations: LAYER2 }, model: { name_or_path: 'synthetic' },
    total_steps: STEPS, completed_steps: STEPS, last_checkpoint: null, pid: null, error: null,
  };
  // Files are written one step at a time, as the trainer does: never more than one step in memory.
  const metrics = await fs.open(path.join(RUN_DIR, RunPaths.metrics), 'w');
  for (let step = 1; step <= STEPS; step++) {
    const { text, stats } = stepFileText(step, prng(step));
    await fs.writeFile(path.join(RUN_DIR, RunPaths.rolloutFile(step)), text);
    await metrics.write(JSON.stringify(metricsLine(step, stats)) + '\n');
    if (step % 100 === 0) process.stderr.write(`  generated ${step}/${STEPS} steps (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
  }
  await metrics.close();
  await fs.writeFile(path.join(RUN_DIR, RunPaths.manifest), JSON.stringify(manifest, null, 2));
  await fs.writeFile(marker, expected);
  return { seconds: (performance.now() - started) / 1000, reused: false };
}

// ---------------------------------------------------------------- measuring

let peakRss = 0;
let overallPeakRss = 0;
function sampleRss(): void {
  const rss = process.memoryUsage().rss;
  peakRss = Math.max(peakRss, rss);
  overallPeakRss = Math.max(overallPeakRss, rss);
}

async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);
const fmtMs = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(1) : ms.toFixed(3));
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);

async function plainRead(reader: RunReader): Promise<number> {
  let bytes = 0;
  for (const step of reader.steps()) bytes += (await fs.readFile(reader.rolloutPath(step))).length;
  return bytes;
}

// ---------------------------------------------------------------- before/after phases

type PhaseName = 'before' | 'after-memory' | 'after-disk' | 'reload';
type PhaseResult = Record<string, number> & { peakRss: number; startRss: number };
const PHASE_ENV = 'MGRPO_BENCH_PHASE';
const C_TO_I = { outcomes: ['c->i'] } satisfies SampleFilter;
const I_TO_C = { outcomes: ['i->c'] } satisfies SampleFilter;
/** The raw pre-check a c->i filter used before the index (the JSON string, escaped or not). */
const OLD_NEEDLES = ['c->i"', 'u003ei"', 'u003Ei"'];

function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

const matchesIn = (nodes: Awaited<ReturnType<typeof childrenOf>>): number => nodes.reduce((n, s) => n + (s.kind === 'step' ? s.matches ?? 0 : 0), 0);

/** One phase of the before/after table, from a fresh reader; what it measured, by name. */
async function phase(name: PhaseName): Promise<Record<string, number>> {
  switch (name) {
    case 'before': {
      const reader = await RunReader.open(RUN_DIR);
      let matches = 0;
      const filter = await timed(() => reader.scan((r) => void (matchesFilter(r, C_TO_I) && (matches += 1)), { mustContain: OLD_NEEDLES }));
      let scanned = 0;
      const scan = await timed(() => reader.scan(() => void (scanned += 1)));
      return { filterMs: filter.ms, matches, scanMs: scan.ms, scanned };
    }
    case 'after-memory': {
      // The indexed reader lives in this function only, so it is collectable before the summary scan.
      const measureFilters = async () => {
        const reader = await RunReader.open(RUN_DIR);
        const first = await timed(() => childrenOf(runNode(reader), reader, C_TO_I));
        // The first filter started indexing in the background; wait for it to finish.
        const build = await timed(() => reader.buildIndexes());
        const indexed = await timed(() => childrenOf(runNode(reader), reader, I_TO_C));
        const again = await timed(() => childrenOf(runNode(reader), reader, C_TO_I));
        sampleRss();
        return { firstMs: first.ms, matches: matchesIn(first.value), buildMs: build.ms, indexedMs: indexed.ms, againMs: again.ms };
      };
      const filters = await measureFilters();
      collectGarbage();
      const summaryReader = await RunReader.open(RUN_DIR);
      let summarized = 0;
      const summary = await timed(() => summaryReader.countRows(() => ((summarized += 1), true)));
      return { ...filters, summaryMs: summary.ms, summarized };
    }
    case 'after-disk': {
      // Indexes kept on disk, as the extension keeps them (its global storage), in a cache
      // folder of the bench's own that starts empty: the indexing now also writes each index.
      await fs.rm(INDEX_CACHE_DIR, { recursive: true, force: true });
      const reader = await RunReader.open(RUN_DIR, { indexCacheDir: INDEX_CACHE_DIR });
      const first = await timed(() => childrenOf(runNode(reader), reader, C_TO_I));
      const build = await timed(() => reader.buildIndexes());
      const indexed = await timed(() => childrenOf(runNode(reader), reader, I_TO_C));
      sampleRss();
      let cacheBytes = 0;
      let cacheFiles = 0;
      for (const entry of await fs.readdir(INDEX_CACHE_DIR, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile()) continue;
        cacheFiles += 1;
        cacheBytes += (await fs.stat(path.join(entry.parentPath ?? entry.path, entry.name))).size;
      }
      return { firstMs: first.ms, matches: matchesIn(first.value), buildMs: build.ms, indexedMs: indexed.ms, cacheFiles, cacheBytes };
    }
    case 'reload': {
      // A window reload: a new reader over the cache folder the phase before filled.
      const reader = await RunReader.open(RUN_DIR, { indexCacheDir: INDEX_CACHE_DIR });
      const onDiskAtOpen = reader.steps().filter((s) => reader.isIndexed(s)).length;
      const first = await timed(() => childrenOf(runNode(reader), reader, C_TO_I));
      const other = await timed(() => childrenOf(runNode(reader), reader, I_TO_C));
      return { onDiskAtOpen, firstMs: first.ms, matches: matchesIn(first.value), otherMs: other.ms };
    }
  }
}

/** In a child process: runs one phase with its own memory sampler and prints what it measured as JSON. */
async function runPhase(name: PhaseName): Promise<void> {
  collectGarbage();
  const startRss = process.memoryUsage().rss;
  peakRss = startRss;
  const sampler = setInterval(sampleRss, 10);
  const measured = await phase(name);
  sampleRss();
  clearInterval(sampler);
  process.stdout.write(`${JSON.stringify({ ...measured, peakRss, startRss })}\n`);
}

/** Runs a phase in a fresh Node process (with this one's loader flags: tsx) and returns what it measured. */
async function inFreshProcess(name: PhaseName): Promise<PhaseResult> {
  process.stderr.write(`  (phase ${name} in a fresh process)\n`);
  const child = spawn(process.execPath, [...process.execArgv, __filename], { env: { ...process.env, [PHASE_ENV]: name }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
  const code = await new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve));
  if (code !== 0) throw new Error(`phase ${name} exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop() as string) as PhaseResult;
}

async function main(): Promise<void> {
  const sampler = setInterval(sampleRss, 10);
  const rows: [string, string, string][] = [];
  const note = (what: string, value: string, how: string): void => {
    rows.push([what, value, how]);
    process.stderr.write(`  ${what}: ${value}\n`);
  };

  process.stderr.write(`run: ${RUN_DIR}\n`);
  const generated = await generateRun();
  let runBytes = 0;
  for (const name of await fs.readdir(path.join(RUN_DIR, RunPaths.rolloutsDir))) runBytes += (await fs.stat(path.join(RUN_DIR, RunPaths.rolloutsDir, name))).size;
  note('synthetic run', `${SAMPLES.toLocaleString('en-US')} samples, ${STEPS} step files, ${mib(runBytes)} MiB`, generated.reused ? 'reused from bench/out' : `generated in ${generated.seconds.toFixed(1)} s`);
  // Every figure below reads from the page cache: one untimed pass puts the run there, so a
  // freshly generated run (still being written back to disk) and a reused one measure alike.
  const warmStarted = performance.now();
  for (const name of await fs.readdir(path.join(RUN_DIR, RunPaths.rolloutsDir))) await fs.readFile(path.join(RUN_DIR, RunPaths.rolloutsDir, name));
  process.stderr.write(`  (page cache warmed in ${((performance.now() - warmStarted) / 1000).toFixed(1)} s)\n`);
  peakRss = 0;
  overallPeakRss = 0;
  const baselineRss = process.memoryUsage().rss;

  // Open: run.json + metrics.jsonl + the rollouts listing.
  const opens: number[] = [];
  let reader!: RunReader;
  for (let i = 0; i < 5; i++) {
    const t = await timed(() => RunReader.open(RUN_DIR));
    opens.push(t.ms);
    reader = t.value;
  }
  note('open run', `${fmtMs(opens[0])} ms (median of 5: ${fmtMs(median(opens))} ms)`, `RunReader.open: ${reader.metrics.length} metrics lines, ${reader.steps().length} step files listed`);
  const root = runNode(reader);
  const stepNodes = await childrenOf(root, reader);

  // Expand a step: parse its file and build its children (groups), then one group's samples.
  const random = prng(99);
  const expands: number[] = [];
  for (let i = 0; i < 30; i++) {
    const node = stepNodes[Math.floor(random() * stepNodes.length)];
    const t = await timed(async () => {
      const groups = await childrenOf(node, reader);
      return childrenOf(groups[0], reader);
    });
    expands.push(t.ms);
  }
  expands.sort((a, b) => a - b);
  note('expand a step', `p50 ${fmtMs(percentile(expands, 50))} ms, max ${fmtMs(expands[expands.length - 1])} ms`, `loadStep (${QUESTIONS * LAYER1 * (1 + LAYER2)} records) + childrenOf(step) + childrenOf(group), 30 random steps incl. cache hits`);

  // Heap held by parsed steps, i.e. what the mgrpo.maxCachedSteps setting costs per step.
  const gc = collectGarbage;
  let heapReader: RunReader | undefined = await RunReader.open(RUN_DIR);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  for (const step of heapReader.steps().slice(0, 20)) await heapReader.loadStep(step);
  gc();
  const perStep = (process.memoryUsage().heapUsed - heapBefore) / 20;
  note('heap per cached step', `${(perStep / 2 ** 20).toFixed(1)} MiB`, `20 parsed steps of ${QUESTIONS * LAYER1 * (1 + LAYER2)} records held (file ${mib(runBytes / STEPS)} MiB); the step cache holds up to 128 MiB of lines by default`);
  heapReader = undefined; // measured: let it go before timing the filter

  // Before/after: how a filter across the run and a summary scan worked before the step index
  // (a raw pre-check, then JSON.parse of every candidate line, token arrays included) and now
  // (each step's index: byte ranges and the filter's fields; token arrays never parsed). Each
  // phase runs in a fresh process of its own, so that its peak memory owes nothing to the phases
  // measured before it (a process's RSS does not fall back after a collection).
  const before = await inFreshProcess('before');
  const afterMemory = await inFreshProcess('after-memory');
  if (afterMemory.matches !== before.matches) throw new Error(`index filter found ${afterMemory.matches} samples, the full parse ${before.matches}`);
  if (afterMemory.summarized !== SAMPLES || before.scanned !== SAMPLES) throw new Error(`summary scan saw ${afterMemory.summarized}, full scan ${before.scanned}, expected ${SAMPLES}`);
  const afterDisk = await inFreshProcess('after-disk');
  const reload = await inFreshProcess('reload');
  if (afterDisk.matches !== before.matches || reload.matches !== before.matches) throw new Error(`filters with indexes on disk found ${afterDisk.matches} / ${reload.matches} samples, the full parse ${before.matches}`);

  // The plain read rate the scan rates are measured against (page cache, like the scans).
  await plainRead(reader);
  const plainForRatio = await timed(() => plainRead(reader));
  const rawRate = plainForRatio.value / 2 ** 20 / (plainForRatio.ms / 1000);
  const rate = (ms: number): number => runBytes / 2 ** 20 / (ms / 1000);
  const atStart = (phase: PhaseResult): string => `${mib(phase.startRss)} MiB at its start, +${mib(phase.peakRss - phase.startRss)} MiB to its peak`;
  // The extension keeps indexes on disk (its global storage): those phases are the "after".
  const beforeAfter: [string, string, string, string][] = [
    ['filter by outcome (c->i) across the run', `${fmtMs(before.filterMs)} ms (fresh reader)`, `${fmtMs(afterDisk.firstMs)} ms first (files searched, as before), then ${fmtMs(afterDisk.buildMs)} ms more to finish the background indexing (writing the indexes included); ${fmtMs(afterDisk.indexedMs)} ms once indexed (i->c, another filter)`, `as the extension runs it (indexes on disk, at most ${mib(DEFAULT_MAX_INDEX_BYTES_ON_DISK)} MiB of them in memory); ${afterDisk.matches.toLocaleString('en-US')} matching samples, same count both ways; goal once indexed < 1 s`],
    ['filter in a fresh reader (window reload)', `${fmtMs(before.filterMs)} ms (fresh reader: files searched)`, `${fmtMs(reload.firstMs)} ms (c->i), then ${fmtMs(reload.otherMs)} ms (i->c)`, `indexes from disk: ${reload.onDiskAtOpen.toLocaleString('en-US')} of ${STEPS.toLocaleString('en-US')} steps known at open; ${reload.matches.toLocaleString('en-US')} matching samples, same count`],
    ['summary scan rate / plain read rate', `${(rate(before.scanMs) / rawRate).toFixed(3)} (${rate(before.scanMs).toFixed(0)} MB/s, JSON.parse of every record)`, `${(rate(afterMemory.summaryMs) / rawRate).toFixed(3)} (${rate(afterMemory.summaryMs).toFixed(0)} MB/s, indexes built from the files by a fresh reader)`, `plain read ${rawRate.toFixed(0)} MB/s (page cache, so it swings with the machine's load far more than the scans do); goal >= 0.5`],
    ['peak memory (RSS) of the phase', `${mib(before.peakRss)} MiB`, `${mib(afterDisk.peakRss)} MiB (first filter, indexing, indexed filter); ${mib(reload.peakRss)} MiB (window reload: a fresh reader filtering from disk)`, `each phase in a fresh process, one reader at a time, sampled every 10 ms (before: ${atStart(before)}; after: ${atStart(afterDisk)}; ${atStart(reload)}); ${afterDisk.cacheFiles.toLocaleString('en-US')} cache files, ${(afterDisk.cacheBytes / 2 ** 20).toFixed(1)} MiB on disk; goal: after not above before`],
    ['indexes in memory only (a RunReader without a cache folder: library use, not the extension)', `${mib(before.peakRss)} MiB peak`, `${mib(afterMemory.peakRss)} MiB peak; a filter once indexed ${fmtMs(afterMemory.indexedMs)} ms`, `holds the indexes of all ${STEPS.toLocaleString('en-US')} steps (compact: about 14 bytes a record), so its peak is the disk phase's plus the indexes (${atStart(afterMemory)})`],
  ];
  for (const row of beforeAfter) process.stderr.write(`  ${row[0]}: before ${row[1]}; after ${row[2]}\n`);
  note('same filter again', `${fmtMs(afterMemory.againMs)} ms`, 'per-filter step counts cached for complete steps');

  // Hover content over many steps: segmentation + divergence vs. the parent + markdown. The
  // records are picked first so that step loading (and its garbage) is not timed.
  const picked: { record: RolloutRecord; parent?: RolloutRecord }[] = [];
  for (let i = 0; i < 40; i++) {
    const step = await reader.loadStep(reader.steps()[Math.floor(random() * STEPS)]);
    const records = [...step.byId.values()];
    for (let k = 0; k < 25; k++) {
      const record = records[Math.floor(random() * records.length)];
      picked.push({ record, parent: record.parent_id ? step.byId.get(record.parent_id) : undefined });
    }
  }
  const hoverTimes: number[] = [];
  gc(); // start from a clean heap: what is timed is the hover's own work and garbage
  for (const { record, parent } of picked) {
    const started = performance.now();
    const steps = traceSteps(record);
    const changed = parent ? changedSteps(parent, record) : undefined;
    if (parent) firstDivergence(parent, record);
    const at = steps[Math.floor(random() * steps.length)];
    const md = stepHoverMarkdown(record, at, { parent, changedByLayer2: changed?.has(at.index) });
    hoverTimes.push(performance.now() - started);
    if (md.length === 0) throw new Error('empty hover');
  }
  hoverTimes.sort((a, b) => a - b);
  note('hover content', `p50 ${fmtMs(percentile(hoverTimes, 50))} ms, p99 ${fmtMs(percentile(hoverTimes, 99))} ms`, `${hoverTimes.length} hovers over 40 steps: traceSteps + changedSteps/firstDivergence + stepHoverMarkdown`);

  // A 1 MB completion opened as a trace document (the default 200,000-character cut, and in full).
  const hugeSteps: { start: number; end: number }[] = [];
  let huge = '';
  for (let k = 0; huge.length < 1_000_000; k++) {
    const line = `${k}*3=${k * 3} so far`;
    hugeSteps.push({ start: huge.length, end: huge.length + line.length });
    huge += `${line}\n`;
  }
  const hugeRecord: RolloutRecord = { ...picked[0].record, completion: huge, steps: hugeSteps, answer_span: null, token_offsets: [], token_logprobs: [] };
  gc();
  const cutRender = await timed(() => renderTrace(hugeRecord, { maxCharacters: 200_000 }));
  const fullRender = await timed(() => renderTrace(hugeRecord, { maxCharacters: Number.MAX_SAFE_INTEGER }));
  note('render a 1 MB completion', `${fmtMs(cutRender.ms)} ms cut at 200,000 chars, ${fmtMs(fullRender.ms)} ms in full`, `renderTrace, ${hugeSteps.length.toLocaleString('en-US')} steps; documents of ${cutRender.value.text.length.toLocaleString('en-US')} / ${fullRender.value.text.length.toLocaleString('en-US')} chars`);

  sampleRss();
  clearInterval(sampler);
  note('peak memory (RSS)', `${mib(overallPeakRss)} MiB`, `sampled every 10 ms from open to the end; ${mib(baselineRss)} MiB before open`);

  const table = ['| measure | result | how |', '|:--|:--|:--|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const beforeAfterTable = ['| measure | before (full parse) | after (step index) | notes |', '|:--|:--|:--|:--|', ...beforeAfter.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const report = [
    '# Extension reader benchmark',
    '',
    `Command: \`npm run bench:extension\` (\`tsx bench/extension/reader-bench.ts\`). Date: ${new Date().toISOString()}. ` +
      `Machine: ${os.cpus().length} cores (nproc), ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}; ` +
      `load average ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')} at the end (1 / 5 / 15 min: other work on the machine slows every figure).`,
    '',
    `Synthetic run: ${STEPS} steps x ${QUESTIONS} questions x ${LAYER1} layer-1 samples x (1 + ${LAYER2} corrections) = ${SAMPLES.toLocaleString('en-US')} samples, ` +
      `~200-character completions with ~4-character tokens (token_logprobs, token_offsets), layer-2 prompts carrying the layer-1 answer. ` +
      'Files are read from the page cache (the run was just generated or read).',
    '',
    '## Before and after the step index',
    '',
    'On a shared machine (other work on the same cores) times can swing by a factor of two or more between runs, the plain read rate most of all; peak memory is steadier. Each phase below runs in a fresh process, so its peak owes nothing to the phases before it.',
    '',
    beforeAfterTable,
    '',
    '## Everything else',
    '',
    table,
    '',
  ].join('\n');
  await fs.mkdir(path.dirname(RESULTS), { recursive: true });
  if (STEPS === 1000) await fs.writeFile(RESULTS, report);
  process.stdout.write(`${report}\n`);
  if (STEPS !== 1000) process.stdout.write(`(MGRPO_BENCH_STEPS=${STEPS}: ${path.relative(ROOT, RESULTS)} not written)\n`);
}

const phaseName = process.env[PHASE_ENV] as PhaseName | undefined;
(phaseName ? runPhase(phaseName) : main()).catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
