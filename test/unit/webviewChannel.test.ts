import { strict as assert } from 'node:assert';
import type * as vscode from 'vscode';
import { WebviewChannel } from '../../extension/src/vscode/panels/channel';
import type { HostMessage } from '../../extension/src/webview/protocol';

/**
 * The webview end of the transport: what VS Code's Webview gives the channel (a message event,
 * postMessage). The channel under test is the real one.
 */
class WebviewTransport {
  readonly posted: HostMessage[] = [];
  private listener?: (message: unknown) => void;
  readonly webview = {
    onDidReceiveMessage: (listener: (message: unknown) => void) => {
      this.listener = listener;
      return { dispose: () => (this.listener = undefined) };
    },
    postMessage: async (message: HostMessage) => {
      this.posted.push(message);
      return true;
    },
  } as unknown as vscode.Webview;

  /** The page posts a message; resolves once the channel has answered whatever it answers. */
  async send(message: unknown): Promise<void> {
    this.listener?.(message);
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  }
}

function channel(handlers: ConstructorParameters<typeof WebviewChannel>[4] = {}) {
  const transport = new WebviewTransport();
  const warnings: string[] = [];
  const log = { warn: (text: string) => warnings.push(text) } as unknown as vscode.LogOutputChannel;
  let readyCalls = 0;
  const under = new WebviewChannel(transport.webview, log, 'test panel', () => readyCalls++, handlers);
  return { transport, warnings, under, readyCalls: () => readyCalls };
}

describe('webview channel (host end)', () => {
  it('posts nothing before "ready", and calls onReady on every "ready"', async () => {
    const { transport, under, readyCalls } = channel();
    under.notify('dashboard/empty', { message: 'early' });
    assert.deepEqual(transport.posted, []);
    await transport.send({ kind: 'ready' });
    under.notify('dashboard/empty', { message: 'now' });
    assert.deepEqual(transport.posted, [{ kind: 'notify', method: 'dashboard/empty', params: { message: 'now' } }]);
    await transport.send({ kind: 'ready' });
    assert.equal(readyCalls(), 2);
  });

  it('answers a request with its handler\'s result', async () => {
    const opened: string[] = [];
    const { transport } = channel({
      'inspector/openTrace': async ({ recordId }) => {
        opened.push(recordId);
        return null;
      },
    });
    await transport.send({ kind: 'request', id: 4, method: 'inspector/openTrace', params: { recordId: 's1-g0-l1-0' } });
    assert.deepEqual(opened, ['s1-g0-l1-0']);
    assert.deepEqual(transport.posted, [{ kind: 'reply', id: 4, result: null }]);
  });

  it('answers a failing handler with an error reply carrying its message, and logs it', async () => {
    const { transport, warnings } = channel({
      'inspector/selectCorrection': async () => {
        throw new Error('no rollout record s9 in /runs/a');
      },
    });
    await transport.send({ kind: 'request', id: 7, method: 'inspector/selectCorrection', params: { recordId: 's9' } });
    assert.deepEqual(transport.posted, [{ kind: 'error', id: 7, message: 'no rollout record s9 in /runs/a' }]);
    assert.match(warnings.join('\n'), /inspector\/selectCorrection failed: no rollout record s9/);
  });

  it('answers a known method this panel does not handle with an error', async () => {
    const { transport } = channel({});
    await transport.send({ kind: 'request', id: 1, method: 'inspector/openTrace', params: { recordId: 'x' } });
    assert.deepEqual(transport.posted, [{ kind: 'error', id: 1, message: 'test panel does not handle inspector/openTrace' }]);
  });

  it('answers a malformed request that has an id, and ignores one without', async () => {
    const { transport, warnings } = channel({ runCommand: async () => assert.fail('must not run') });
    await transport.send({ kind: 'request', id: 2, method: 'runCommand', params: { command: 'workbench.action.terminal.new' } });
    assert.equal(transport.posted.length, 1);
    const [reply] = transport.posted;
    assert.equal(reply.kind, 'error');
    assert.equal((reply as { id: number }).id, 2);
    assert.match((reply as { message: string }).message, /not a command a webview may run/);
    await transport.send({ kind: 'request', method: 'runCommand', params: {} });
    await transport.send('<script>');
    assert.equal(transport.posted.length, 1, 'nothing to answer without an id');
    assert.equal(warnings.length, 3);
  });

  it('stops posting once disposed', async () => {
    const { transport, under } = channel();
    await transport.send({ kind: 'ready' });
    under.dispose();
    under.notify('dashboard/empty', { message: 'late' });
    assert.deepEqual(transport.posted, []);
  });
});
