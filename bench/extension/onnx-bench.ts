// Local ONNX runtime benchmark: `npx tsx bench/extension/onnx-bench.ts` (also run by `npm run bench`).
//
// Side by side in one run, on the shipped demo checkpoint (trainer/models/mgrpo-demo-tiny and its onnx/ export),
// one thread each:
//   - tokens/s of sampling with onnxruntime-node (KV cache, extension/src/onnx/decoding.ts) and with PyTorch on
//     the CPU (the trainer's own sampler, mgrpo.sampling._generate_batch, KV cache), same prompts, batch 1 and 16,
//     fixed length (no stop token);
//   - time to score a 2,000-token trace (one forward + per-token log-prob and entropy), both runtimes;
//   - the extension host's event-loop delay while a generation runs in the runtime process (OnnxHost), against
//     idle and against running onnxruntime-node in the host itself.
// Writes bench/results/extension-onnx.md. MGRPO_BENCH_QUICK=1 (or BENCH_QUICK=1): fewer tokens, page to bench/out/.

import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { sampleCompletions, scoreTokens } from '../../extension/src/onnx/decoding';
import { OnnxHost } from '../../extension/src/onnx/host';
import { RuntimeService } from '../../extension/src/onnx/runtimeService';

const ROOT = path.resolve(__dirname, '..', '..');
const CHECKPOINT = path.join(ROOT, 'trainer', 'models', 'mgrpo-demo-tiny');
const EXPORT = path.join(CHECKPOINT, 'onnx');
const QUICK = ['MGRPO_BENCH_QUICK', 'BENCH_QUICK'].some((name) => process.env[name] && process.env[name] !== '0');
const NEW_TOKENS = QUICK ? 16 : 128;
const REPEATS = QUICK ? 1 : 3;
const SCORE_TOKENS = 2000;
const RESULTS = QUICK ? path.join(ROOT, 'bench', 'out', 'results-quick', 'extension-onnx.md') : path.join(ROOT, 'bench', 'results', 'extension-onnx.md');
const PROMPTS = ['Q: 3+5*2-7\n', 'Q: 4*4+9\n', 'Q: 1-8*3+2\n', 'Q: 9+9\n'];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** A demo-like trace of exactly SCORE_TOKENS characters (the demo tokenizer is one token per character). */
function longTrace(): string {
  const block = '3+5=8\n8*2=6\n6-7=9\nA: 9\nWait, let me double-check that.\n';
  return block.repeat(Math.ceil(SCORE_TOKENS / block.length)).slice(0, SCORE_TOKENS);
}

// PyTorch side: the trainer's sampler and a scoring forward, one thread, timings as one JSON line.
const TORCH_SCRIPT = String.raw`
import json, sys, time, torch
torch.set_num_threads(1)
from mgrpo.policy import load_policy
from mgrpo.sampling import _generate_batch
from mgrpo.export_onnx import torch_token_logprobs
spec = json.loads(sys.argv[1])
model, tokenizer = load_policy(spec["checkpoint"], torch.device("cpu"))
model.eval()
out = {"sampling": {}, "torch": torch.__version__}
for batch in spec["batches"]:
    prompts = [tokenizer(spec["prompts"][i % len(spec["prompts"])])["input_ids"] for i in range(batch)]
    times = []
    for repeat in range(spec["repeats"] + 1):
        started = time.perf_counter()
        generated, _, _, lengths, _ = _generate_batch(model, prompts, pad_id=0, stop_ids=[], max_new_tokens=spec["new_tokens"],
            temperature=1.0, top_p=1.0, greedy=False, generator=torch.Generator().manual_seed(repeat), use_cache=True)
        elapsed = time.perf_counter() - started
        assert int(lengths.sum()) == batch * spec["new_tokens"]
        if repeat:  # the first run warms up
            times.append(elapsed)
    out["sampling"][str(batch)] = times
ids = [tokenizer.bos_token_id] + tokenizer(spec["trace"], add_special_tokens=False)["input_ids"]
times = []
for repeat in range(spec["repeats"] + 1):
    started = time.perf_counter()
    torch_token_logprobs(model, ids)
    if repeat:
        times.append(time.perf_counter() - started)
out["score"] = times
out["score_tokens"] = len(ids) - 1
print(json.dumps(out))
`;

interface TorchFigures {
  sampling: Record<string, number[]>;
  score: number[];
  score_tokens: number;
  torch: string;
}

function runTorch(): TorchFigures {
  const python = path.join(ROOT, '.venv', 'bin', 'python');
  const spec = { checkpoint: CHECKPOINT, prompts: PROMPTS, batches: [1, 16], new_tokens: NEW_TOKENS, repeats: REPEATS, trace: longTrace() };
  const result = spawnSync(python, ['-c', TORCH_SCRIPT, JSON.stringify(spec)], {
    cwd: ROOT,
    env: { ...process.env, PYTHONPATH: path.join(ROOT, 'trainer'), OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1', HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' },
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`PyTorch side failed (${result.status}): ${result.stderr.slice(-2000)}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!);
}

async function eventLoopDelayDuring(work: () => Promise<unknown>): Promise<{ p50: number; p99: number; max: number; seconds: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  histogram.disable();
  const ms = (ns: number): number => ns / 1e6;
  return { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), seconds };
}

async function main(): Promise<void> {
  const service = new RuntimeService(ort, { threads: 1, executionProvider: 'cpu' });
  const loaded = await service.open(EXPORT);
  const encode = (text: string): number[] => loaded.tokenizer.encode(text, true);
  const ortSampling: Record<number, number[]> = {};
  for (const batch of [1, 16]) {
    const prompts = Array.from({ length: batch }, (_, i) => encode(PROMPTS[i % PROMPTS.length]));
    ortSampling[batch] = [];
    for (let repeat = 0; repeat <= REPEATS; repeat++) {
      const started = performance.now();
      const out = await sampleCompletions(ort, loaded.session, loaded.manifest, prompts, loaded.padId, { maxNewTokens: NEW_TOKENS, temperature: 1, topP: 1, greedy: false, seed: repeat, stopIds: [] });
      const elapsed = (performance.now() - started) / 1000;
      if (out.some((c) => c.ids.length !== NEW_TOKENS)) throw new Error('a completion stopped early');
      if (repeat) ortSampling[batch].push(elapsed);
    }
  }
  const trace = longTrace();
  const traceIds = [1, ...loaded.tokenizer.encode(trace, false)];
  const ortScore: number[] = [];
  const ortScoreWhole: number[] = [];
  for (let repeat = 0; repeat <= REPEATS; repeat++) {
    let started = performance.now();
    await scoreTokens(ort, loaded.session, loaded.manifest, traceIds);
    if (repeat) ortScore.push((performance.now() - started) / 1000);
    started = performance.now();
    await service.score({ kind: 'score', id: 0, folder: EXPORT, prompt: 'Q: 3+5*2-7\n', completion: trace });
    if (repeat) ortScoreWhole.push((performance.now() - started) / 1000);
  }

  // Event-loop delay of this process (standing in for the extension host) while a batch-16 generation runs.
  const idle = await eventLoopDelayDuring(() => new Promise((resolve) => setTimeout(resolve, 2000)));
  const longRequest = { kind: 'sample' as const, folder: EXPORT, prompt: PROMPTS[0], count: 16, maxNewTokens: QUICK ? 32 : 200, temperature: 1, topP: 1, greedy: false, seed: 0, stopIds: [] };
  const inProcess = await eventLoopDelayDuring(() => service.sample({ ...longRequest, id: 0 }, () => false, () => undefined));
  const host = new OnnxHost({ entry: path.join(ROOT, 'extension', 'src', 'onnx', 'runtimeProcess.ts'), execArgv: ['--import', 'tsx'], settings: { threads: 1, executionProvider: 'cpu' } });
  await host.score({ kind: 'score', folder: EXPORT, prompt: 'Q: 1\n', completion: 'A: 1\n' }); // start the process and load the export first
  const childProcess = await eventLoopDelayDuring(() => host.sample(longRequest));
  host.dispose();
  await service.releaseAll();

  const torch = runTorch();
  const tokensPerSecond = (batch: number, seconds: number[]): number => (batch * NEW_TOKENS) / median(seconds);
  const rows = [1, 16].map((batch) => {
    const onnx = tokensPerSecond(batch, ortSampling[batch]);
    const pytorch = tokensPerSecond(batch, torch.sampling[String(batch)]);
    return `| ${batch} | ${onnx.toFixed(0)} | ${pytorch.toFixed(0)} | ${(onnx / pytorch).toFixed(2)}x |`;
  });
  const load = os.loadavg().map((v) => v.toFixed(1)).join(' / ');
  const page = [
    '# Local ONNX runtime benchmark',
    '',
    `Command: \`nice npx tsx bench/extension/onnx-bench.ts\`${QUICK ? ' (quick)' : ''}. Date: ${new Date().toISOString()}. Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}, onnxruntime-node ${ort.env.versions?.common ?? '1.30.0'}, PyTorch ${torch.torch}; load average ${load} at the end (1 / 5 / 15 min: other work on this shared machine slows every figure).`,
    '',
    `Checkpoint: the shipped demo model (Llama, 4 layers, hidden 128, vocabulary 100) and its export. One thread each (onnxruntime intra-op 1; torch.set_num_threads(1), OMP_NUM_THREADS=1). Sampling at temperature 1 with a KV cache, ${NEW_TOKENS} new tokens per row with no stop token, prompts of 8-12 tokens; median of ${REPEATS} runs after a warm-up.`,
    '',
    '## Sampling throughput (tokens/s)',
    '',
    '| batch | onnxruntime-node | PyTorch CPU | ratio |',
    '|--:|--:|--:|--:|',
    ...rows,
    '',
    '## Scoring a 2,000-token trace',
    '',
    '| measure | onnxruntime-node | PyTorch CPU |',
    '|:--|--:|--:|',
    `| one forward + per-token log-prob and entropy (${torch.score_tokens} tokens) | ${(1000 * median(ortScore)).toFixed(0)} ms | ${(1000 * median(torch.score)).toFixed(0)} ms |`,
    `| Score Trace's whole request (tokenize, score, token offsets) | ${(1000 * median(ortScoreWhole)).toFixed(0)} ms | |`,
    '',
    '## Event-loop delay of the host while a generation runs',
    '',
    `A batch-16 generation of ${longRequest.maxNewTokens} tokens per row (no stop token); delay sampled every 5 ms by monitorEventLoopDelay in this process, which stands in for the extension host.`,
    '',
    '| where the model runs | p50 | p99 | max | generation took |',
    '|:--|--:|--:|--:|--:|',
    `| nothing running (idle baseline, 2 s) | ${idle.p50.toFixed(1)} ms | ${idle.p99.toFixed(1)} ms | ${idle.max.toFixed(1)} ms | |`,
    `| runtime process (OnnxHost, what the extension does) | ${childProcess.p50.toFixed(1)} ms | ${childProcess.p99.toFixed(1)} ms | ${childProcess.max.toFixed(1)} ms | ${childProcess.seconds.toFixed(2)} s |`,
    `| in the host itself (onnxruntime-node in-process, for comparison) | ${inProcess.p50.toFixed(1)} ms | ${inProcess.p99.toFixed(1)} ms | ${inProcess.max.toFixed(1)} ms | ${inProcess.seconds.toFixed(2)} s |`,
    '',
  ].join('\n');
  await fs.mkdir(path.dirname(RESULTS), { recursive: true });
  await fs.writeFile(RESULTS, page);
  console.log(page);
  console.log(`wrote ${path.relative(ROOT, RESULTS)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
