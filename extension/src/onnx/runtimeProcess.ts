// Entry point of the runtime process (bundled to dist/onnxRuntime.js and forked by host.ts): onnxruntime-node
// lives here, not in the extension host, so a native crash or a long generation can neither kill nor block
// the editor. Requests arrive over IPC; a cancel is seen between two forwards (session.run is asynchronous,
// so messages are read while it runs).

import * as ort from 'onnxruntime-node';
import type { RuntimeReply, RuntimeRequest } from './protocol';
import { RuntimeService, runtimeError } from './runtimeService';

const service = new RuntimeService(ort);
const cancelledIds = new Set<number>();

function reply(message: RuntimeReply): void {
  process.send?.(message);
}

async function handle(request: Exclude<RuntimeRequest, { kind: 'cancel' }>): Promise<unknown> {
  switch (request.kind) {
    case 'configure':
      return service.configure(request.settings);
    case 'score':
      return service.score(request);
    case 'sample':
      return service.sample(request, () => cancelledIds.has(request.id), (done, total) => reply({ id: request.id, kind: 'progress', done, total }));
  }
}

process.on('message', (request: RuntimeRequest) => {
  if (request.kind === 'cancel') {
    cancelledIds.add(request.id);
    return;
  }
  handle(request).then(
    (result) => reply({ id: request.id, kind: 'result', result: result ?? null }),
    (error) => reply({ id: request.id, kind: 'error', error: runtimeError(error) }),
  ).finally(() => cancelledIds.delete(request.id));
});

// The host going away (its IPC channel closing) ends this process: nothing else would.
process.on('disconnect', () => {
  void service.releaseAll().finally(() => process.exit(0));
});
