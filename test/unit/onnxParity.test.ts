import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { sampleCompletions, scoreTokens, logSoftmax, entropy, sampleTopP, seededRandom } from '../../extension/src/onnx/decoding';
import { RuntimeService } from '../../extension/src/onnx/runtimeService';
import type { OnnxManifest } from '../../extension/src/onnx/manifest';

// The shipped demo export under onnxruntime-node against the numbers PyTorch wrote into its manifest at export
// time (trainer/mgrpo/export_onnx.py; trainer/tests/test_export_onnx.py checks them against PyTorch itself).
const EXPORT = path.resolve(__dirname, '../../trainer/models/mgrpo-demo-tiny/onnx');

describe('onnx: the demo export on onnxruntime-node matches PyTorch', function () {
  this.timeout(60_000);
  let service: RuntimeService;
  let manifest: OnnxManifest;

  before(async () => {
    service = new RuntimeService(ort, { threads: 1, executionProvider: 'cpu' });
    manifest = JSON.parse(await fs.readFile(path.join(EXPORT, 'onnx-manifest.json'), 'utf8'));
  });
  after(() => service.releaseAll());

  it('tokenizes the parity texts to the ids the Python tokenizer gave', async () => {
    const loaded = await service.open(EXPORT);
    for (const parity of manifest.parity ?? []) assert.deepEqual(loaded.tokenizer.encode(parity.text, true), parity.input_ids);
    // split_special_tokens: "<eos>" typed in text is five characters, as in the trainer; unknown characters are <unk> (3).
    assert.deepEqual(loaded.tokenizer.encode('<eos>é', true), [1, 33, 74, 84, 88, 35, 3]);
  });

  it('gives per-token log-probs within 1e-4 of PyTorch and the same entropies', async () => {
    const loaded = await service.open(EXPORT);
    assert.ok((manifest.parity ?? []).length >= 2);
    for (const parity of manifest.parity ?? []) {
      const scores = await scoreTokens(ort, loaded.session, loaded.manifest, parity.input_ids);
      assert.equal(scores.logprobs.length, parity.input_ids.length - 1);
      const worst = Math.max(...scores.logprobs.map((value, i) => Math.abs(value - parity.token_logprobs[i])));
      assert.ok(worst < 1e-4, `largest log-prob difference ${worst}`);
      const worstEntropy = Math.max(...scores.entropies.map((value, i) => Math.abs(value - parity.entropies[i])));
      assert.ok(worstEntropy < 1e-4, `largest entropy difference ${worstEntropy}`);
    }
  });

  it('scores in cache-chained chunks exactly as in one forward', async () => {
    const loaded = await service.open(EXPORT);
    const ids = manifest.parity![0].input_ids;
    const whole = await scoreTokens(ort, loaded.session, loaded.manifest, ids, ids.length);
    for (const chunk of [1, 7, 32]) {
      const chunked = await scoreTokens(ort, loaded.session, loaded.manifest, ids, chunk);
      assert.equal(chunked.logprobs.length, whole.logprobs.length);
      assert.ok(chunked.logprobs.every((value, i) => Math.abs(value - whole.logprobs[i]) < 1e-5), `chunk ${chunk}`);
      assert.ok(chunked.entropies.every((value, i) => Math.abs(value - whole.entropies[i]) < 1e-5), `chunk ${chunk}`);
    }
  });

  it('continues greedily with exactly the tokens PyTorch chose, through the KV cache, alone and in a left-padded batch', async () => {
    const loaded = await service.open(EXPORT);
    const cases = manifest.parity ?? [];
    const options = { maxNewTokens: Math.max(...cases.map((c) => c.greedy_ids.length)), temperature: 1, topP: 1, greedy: true, seed: 0 };
    const batched = await sampleCompletions(ort, loaded.session, loaded.manifest, cases.map((c) => c.input_ids), loaded.padId, options);
    for (const [index, parity] of cases.entries()) {
      const [alone] = await sampleCompletions(ort, loaded.session, loaded.manifest, [parity.input_ids], loaded.padId, { ...options, maxNewTokens: parity.greedy_ids.length });
      assert.deepEqual(alone.ids, parity.greedy_ids);
      assert.deepEqual(batched[index].ids.slice(0, parity.greedy_ids.length), parity.greedy_ids);
    }
  });

  it('scores a completion given its prompt at the completion\'s character offsets', async () => {
    const text = manifest.parity![0].text;
    const split = text.indexOf('\n') + 1;
    const result = await service.score({ kind: 'score', id: 0, folder: EXPORT, prompt: text.slice(0, split), completion: text.slice(split) });
    assert.equal(result.promptTokens, split + 1); // BOS + one token per character
    assert.equal(result.tokens.length, text.length - split);
    assert.deepEqual(result.tokens.slice(0, 3).map((t) => [t.start, t.end]), [[0, 1], [1, 2], [2, 3]]);
    const expected = manifest.parity![0].token_logprobs.slice(split); // token split+1 of input_ids is completion token 0
    assert.ok(result.tokens.every((t, i) => Math.abs(t.logprob - expected[i]) < 1e-4));
  });
});

describe('onnx: decoding arithmetic', () => {
  it('log-softmax, entropy and temperature by hand', () => {
    const logits = new Float32Array([0, Math.log(3)]);
    const log = logSoftmax(logits, 0, 2);
    assert.ok(Math.abs(log[0] - Math.log(0.25)) < 1e-7 && Math.abs(log[1] - Math.log(0.75)) < 1e-7);
    assert.ok(Math.abs(entropy(log) - -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75))) < 1e-7);
    const hot = logSoftmax(logits, 0, 2, 2); // temperature 2: weights 1 and sqrt(3)
    assert.ok(Math.abs(Math.exp(hot[1]) - Math.sqrt(3) / (1 + Math.sqrt(3))) < 1e-7);
  });

  it('top-p keeps the nucleus only, and a seed repeats its draws', () => {
    const log = Float64Array.from([0.5, 0.3, 0.2], Math.log);
    const random = seededRandom(7);
    const draws = Array.from({ length: 2000 }, () => sampleTopP(log, 0.6, random));
    // mass before 0.5 < 0.6, so 0.3 joins; then 0.8 >= 0.6 stops: tokens 0 and 1, in ratio 5:3.
    assert.ok(!draws.includes(2));
    const share = draws.filter((t) => t === 0).length / draws.length;
    assert.ok(Math.abs(share - 0.625) < 0.04, `share of token 0: ${share}`);
    const again = seededRandom(7);
    assert.deepEqual(Array.from({ length: 20 }, () => sampleTopP(log, 1, again)), Array.from({ length: 20 }, ((r) => () => sampleTopP(log, 1, r))(seededRandom(7))));
  });
});

describe('onnx: a real-architecture export (Qwen2, byte-level BPE) on onnxruntime-node', function () {
  // Built here like the Python tests build it (trainer/scripts/make_tiny_qwen2.py, then export-onnx): ~30 s.
  this.timeout(240_000);
  const root = path.resolve(__dirname, '../..');
  const python = path.join(root, '.venv', 'bin', 'python');
  const env = { ...process.env, PYTHONPATH: path.join(root, 'trainer'), OMP_NUM_THREADS: '1', HF_HUB_OFFLINE: '1' };
  let scratch: string;
  let folder: string;
  let service: RuntimeService;
  let manifest: OnnxManifest;
  const tricky = 'Évaluer 3×4 = √144, 漢字!\n';

  before(async () => {
    const { spawnSync } = await import('node:child_process');
    const os = await import('node:os');
    scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'mgrpo-qwen2-'));
    const checkpoint = path.join(scratch, 'ckpt');
    for (const args of [[path.join(root, 'trainer', 'scripts', 'make_tiny_qwen2.py'), '--out', checkpoint], ['-m', 'mgrpo', 'export-onnx', '--checkpoint', checkpoint]]) {
      const run = spawnSync(python, args, { env, encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr.slice(-2000));
    }
    folder = path.join(checkpoint, 'onnx');
    manifest = JSON.parse(await fs.readFile(path.join(folder, 'onnx-manifest.json'), 'utf8'));
    service = new RuntimeService(ort, { threads: 1, executionProvider: 'cpu' });
  });
  after(async () => {
    await service?.releaseAll();
    if (scratch) await fs.rm(scratch, { recursive: true, force: true });
  });

  it('tokenizes as the Python tokenizer does, multi-byte characters included', async () => {
    const { spawnSync } = await import('node:child_process');
    const loaded = await service.open(folder);
    for (const parity of manifest.parity ?? []) assert.deepEqual(loaded.tokenizer.encode(parity.text, true), parity.input_ids);
    const script = 'import json,sys; from transformers import AutoTokenizer; t=AutoTokenizer.from_pretrained(sys.argv[1]); print(json.dumps(t(sys.argv[2], add_special_tokens=False)["input_ids"]))';
    const run = spawnSync(python, ['-c', script, folder, tricky], { env, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr.slice(-1000));
    const pythonIds = JSON.parse(run.stdout.trim().split('\n').pop()!);
    const ids = loaded.tokenizer.encode(tricky, false);
    assert.deepEqual(ids, pythonIds);
    assert.equal(loaded.tokenizer.decode(ids), tricky);
    assert.ok(ids.length > [...tricky].length / 3, 'byte-level pieces');
  });

  it('scores within 1e-4 of PyTorch, continues greedily with its tokens, and places tokens split inside a character', async () => {
    const loaded = await service.open(folder);
    for (const parity of manifest.parity ?? []) {
      const scores = await scoreTokens(ort, loaded.session, loaded.manifest, parity.input_ids);
      const worst = Math.max(...scores.logprobs.map((value, i) => Math.abs(value - parity.token_logprobs[i])));
      assert.ok(worst < 1e-4, `largest log-prob difference ${worst}`);
      const [greedy] = await sampleCompletions(ort, loaded.session, loaded.manifest, [parity.input_ids], loaded.padId, { maxNewTokens: parity.greedy_ids.length, temperature: 1, topP: 1, greedy: true, seed: 0 });
      assert.deepEqual(greedy.ids, parity.greedy_ids);
    }
    const scored = await service.score({ kind: 'score', id: 0, folder, prompt: 'Q: 1+1\n', completion: tricky });
    const starts = scored.tokens.map((t) => t.start);
    assert.equal(starts[0], 0);
    assert.ok(starts.every((start, i) => i === 0 || start >= starts[i - 1]), `offsets ${starts}`);
    assert.ok(scored.tokens.every((t) => t.end <= tricky.length && t.start <= t.end));
    assert.equal(scored.tokens[scored.tokens.length - 1].end, tricky.length);
    // The same offsets as the trainer's token_offsets (what records carry), split characters included.
    const { spawnSync } = await import('node:child_process');
    const script = 'import json,sys; from transformers import AutoTokenizer; from mgrpo.sampling import token_offsets; t=AutoTokenizer.from_pretrained(sys.argv[1]); ids=t(sys.argv[2], add_special_tokens=False)["input_ids"]; print(json.dumps(token_offsets(t, ids, sys.argv[2])))';
    const run = spawnSync(python, ['-c', script, folder, tricky], { env, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr.slice(-1000));
    assert.deepEqual(starts, JSON.parse(run.stdout.trim().split('\n').pop()!));
    assert.ok(new Set(starts).size < starts.length, 'some character is split over several tokens');
  });
});
