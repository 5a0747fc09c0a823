import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OnnxHost, PythonBackend, RuntimeFailure } from '../../extension/src/onnx/host';

// The runtime in its own process, as the extension runs it (the .ts entry under tsx instead of the bundle).
const DEMO = path.resolve(__dirname, '../../trainer/models/mgrpo-demo-tiny');
const ENTRY = path.resolve(__dirname, '../../extension/src/onnx/runtimeProcess.ts');

async function failure(promise: Promise<unknown>): Promise<RuntimeFailure> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RuntimeFailure, String(error));
    return error;
  }
  assert.fail('expected the request to fail');
}

describe('onnx: the runtime process behind OnnxHost', function () {
  this.timeout(60_000);
  let host: OnnxHost;
  let scratch: string;

  before(async () => {
    host = new OnnxHost({ entry: ENTRY, execArgv: ['--import', 'tsx'], settings: { threads: 1, executionProvider: 'cpu' } });
    scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'mgrpo-onnx-'));
  });
  after(async () => {
    host.dispose();
    await fs.rm(scratch, { recursive: true, force: true });
  });

  it('scores and samples in another process', async () => {
    const scored = await host.score({ kind: 'score', folder: path.join(DEMO, 'onnx'), prompt: 'Q: 1+2\n', completion: '1+2=3\nA: 3\n' });
    assert.equal(scored.tokens.length, 11);
    assert.ok(scored.tokens.every((t) => t.logprob <= 0 && t.entropy >= 0));
    assert.equal(path.resolve(scored.checkpoint), DEMO);
    assert.notEqual(host.pid, process.pid);
    const progress: number[] = [];
    const sampled = await host.sample({ kind: 'sample', folder: path.join(DEMO, 'onnx'), prompt: 'Q: 1+2\n', count: 4, maxNewTokens: 12, temperature: 1, topP: 1, greedy: false, seed: 1 }, undefined, (done) => progress.push(done));
    assert.equal(sampled.completions.length, 4);
    assert.ok(sampled.completions.every((c) => c.tokenCount >= 1 && c.tokenCount <= 12 && c.logprobs.length === c.tokenCount));
    assert.deepEqual(progress.slice(0, 3), [0, 1, 2]);
  });

  it('names the export command when there is no export', async () => {
    const error = await failure(host.score({ kind: 'score', folder: path.join(scratch, 'step-000010', 'onnx'), prompt: 'Q: 1\n', completion: 'A: 1\n' }));
    assert.equal(error.code, 'missing');
    assert.match(error.message, /python -m mgrpo export-onnx --checkpoint \S*step-000010/);
  });

  it('refuses an export whose checkpoint weights changed after it, and a broken manifest', async () => {
    const checkpoint = path.join(scratch, 'checkpoint');
    await fs.cp(DEMO, checkpoint, { recursive: true });
    const weights = path.join(checkpoint, 'model.safetensors');
    const bytes = await fs.readFile(weights);
    bytes[bytes.length - 1] ^= 1;
    await fs.writeFile(weights, bytes);
    const stale = await failure(host.score({ kind: 'score', folder: path.join(checkpoint, 'onnx'), prompt: 'Q: 1\n', completion: 'A: 1\n' }));
    assert.equal(stale.code, 'stale');
    assert.match(stale.message, /model\.safetensors changed.*export-onnx --checkpoint/);
    await fs.writeFile(path.join(checkpoint, 'onnx', 'onnx-manifest.json'), '{"format": "mgrpo-onnx-export", "version": 1, "vocab_size": 0}');
    const broken = await failure(host.score({ kind: 'score', folder: path.join(checkpoint, 'onnx'), prompt: 'Q: 1\n', completion: 'A: 1\n' }));
    assert.equal(broken.code, 'broken');
    assert.match(broken.message, /vocab_size must be a positive integer/);
  });

  it('cancels a long generation between two tokens', async () => {
    const abort = new AbortController();
    let steps = 0;
    const running = host.sample({ kind: 'sample', folder: path.join(DEMO, 'onnx'), prompt: 'Q: 1+2\n', count: 8, maxNewTokens: 100_000, temperature: 5, topP: 1, greedy: false, seed: 3 }, abort.signal, (done) => {
      steps = done;
      if (done === 20) abort.abort();
    });
    const error = await failure(running);
    assert.equal(error.code, 'cancelled');
    assert.ok(steps >= 20 && steps < 200, `stopped after ${steps} tokens`);
  });

  it('survives the runtime process dying: requests in flight fail, the next one starts a new process', async () => {
    const first = host.pid ?? 0;
    const running = host.sample({ kind: 'sample', folder: path.join(DEMO, 'onnx'), prompt: 'Q: 1\n', count: 8, maxNewTokens: 100_000, temperature: 5, topP: 1, greedy: false, seed: 0 }, undefined, (done) => {
      if (done === 5) process.kill(first, 'SIGKILL');
    });
    const error = await failure(running);
    assert.equal(error.code, 'exited');
    assert.match(error.message, /SIGKILL/);
    const again = await host.score({ kind: 'score', folder: path.join(DEMO, 'onnx'), prompt: 'Q: 1\n', completion: 'A: 1\n' });
    assert.equal(again.tokens.length, 5);
    assert.notEqual(host.pid, first);
  });

  it('gets the same scores and greedy answers from the PyTorch server (python -m mgrpo serve), the big-model backend', async function () {
    this.timeout(120_000);
    const root = path.resolve(__dirname, '../..');
    const python = new PythonBackend({
      python: path.join(root, '.venv', 'bin', 'python'),
      checkpoint: DEMO,
      env: { ...process.env, PYTHONPATH: path.join(root, 'trainer'), OMP_NUM_THREADS: '1', HF_HUB_OFFLINE: '1' },
    });
    try {
      const request = { kind: 'score' as const, folder: path.join(DEMO, 'onnx'), prompt: 'Q: 3+5*2-7\n', completion: '3+5=8\n8*2=6\n6-7=9\nA: 9\n' };
      const [local, remote] = await Promise.all([host.score(request), python.score(request)]);
      assert.equal(remote.tokens.length, local.tokens.length);
      assert.equal(remote.promptTokens, local.promptTokens);
      assert.ok(remote.tokens.every((t, i) => t.start === local.tokens[i].start && Math.abs(t.logprob - local.tokens[i].logprob) < 1e-4));
      const greedy = { kind: 'sample' as const, folder: path.join(DEMO, 'onnx'), prompt: 'Q: 4*4+9\n', count: 1, maxNewTokens: 20, temperature: 1, topP: 1, greedy: true, seed: 0 };
      const [localGreedy, remoteGreedy] = await Promise.all([host.sample(greedy), python.sample(greedy)]);
      assert.equal(remoteGreedy.completions[0].text, localGreedy.completions[0].text);
      const bad = await failure(python.sample({ ...greedy, count: 0 }));
      assert.equal(bad.code, 'failed');
      assert.match(bad.message, /'count' is invalid/);
    } finally {
      python.dispose();
    }
  });
});
