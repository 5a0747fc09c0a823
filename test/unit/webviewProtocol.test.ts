import { strict as assert } from 'node:assert';
import { parseHostMessage, parseRestoreState, parseWebviewMessage } from '../../extension/src/webview/protocol';

describe('webview protocol: messages from a webview', () => {
  it('accepts ready and well-formed requests, keeping only the known params', () => {
    assert.deepEqual(parseWebviewMessage({ kind: 'ready' }), { kind: 'ready' });
    assert.deepEqual(
      parseWebviewMessage({ kind: 'request', id: 7, method: 'inspector/selectCorrection', params: { recordId: 's000002-q000-l1-000-l2-001', extra: '<x>' } }),
      { kind: 'request', id: 7, method: 'inspector/selectCorrection', params: { recordId: 's000002-q000-l1-000-l2-001' } },
    );
    assert.deepEqual(
      parseWebviewMessage({ kind: 'request', id: 0, method: 'runCommand', params: { command: 'mgrpo.startRun' } }),
      { kind: 'request', id: 0, method: 'runCommand', params: { command: 'mgrpo.startRun' } },
    );
  });

  it('rejects malformed messages, saying what is wrong', () => {
    const error = (value: unknown): string => {
      const parsed = parseWebviewMessage(value);
      assert.ok(parsed instanceof Error, `expected an error for ${JSON.stringify(value)}`);
      return parsed.message;
    };
    assert.match(error(null), /not an object/);
    assert.match(error('ready'), /not an object/);
    assert.match(error({ kind: 'hello' }), /unknown kind "hello"/);
    assert.match(error({ kind: 'request', id: -1, method: 'runCommand', params: {} }), /no valid id/);
    assert.match(error({ kind: 'request', id: 1.5, method: 'runCommand', params: {} }), /no valid id/);
    assert.match(error({ kind: 'request', id: 2, method: 'inspector/openTrace', params: [] }), /params is not an object/);
    assert.match(error({ kind: 'request', id: 3, method: 'inspector/openTrace', params: { recordId: '' } }), /recordId must be a non-empty string/);
    assert.match(error({ kind: 'request', id: 4, method: 'fs/read', params: {} }), /unknown method "fs\/read"/);
  });

  it('lets a webview run only the commands it offers (a page showing model output must not run arbitrary ones)', () => {
    const parsed = parseWebviewMessage({ kind: 'request', id: 5, method: 'runCommand', params: { command: 'workbench.action.terminal.sendSequence' } });
    assert.ok(parsed instanceof Error);
    assert.match(parsed.message, /not a command a webview may run/);
  });
});

describe('webview protocol: messages from the host', () => {
  it('accepts replies, errors and known notifications', () => {
    assert.deepEqual(parseHostMessage({ kind: 'reply', id: 3, result: null }), { kind: 'reply', id: 3, result: null });
    assert.deepEqual(parseHostMessage({ kind: 'error', id: 3, message: 'no such record' }), { kind: 'error', id: 3, message: 'no such record' });
    const notify = { kind: 'notify', method: 'dashboard/empty', params: { message: 'none' } };
    assert.deepEqual(parseHostMessage(notify), notify);
  });

  it('rejects unknown notifications and replies without ids', () => {
    assert.ok(parseHostMessage({ kind: 'notify', method: 'dashboard/explode', params: {} }) instanceof Error);
    assert.ok(parseHostMessage({ kind: 'notify', method: 'dashboard/reset' }) instanceof Error);
    assert.ok(parseHostMessage({ kind: 'reply', result: 1 }) instanceof Error);
    assert.ok(parseHostMessage({ type: 'vscode-internal' }) instanceof Error);
  });
});

describe('webview protocol: a panel restored after a reload', () => {
  it('takes back the run folder and the correction a webview saved', () => {
    assert.deepEqual(parseRestoreState({ runDir: '/runs/a', recordId: 's3-g0-l2-1' }), { runDir: '/runs/a', recordId: 's3-g0-l2-1' });
    assert.deepEqual(parseRestoreState({ runDir: '/runs/a', recordId: 7 }), { runDir: '/runs/a' });
    const notify = { kind: 'notify', method: 'panel/restoreState', params: { runDir: '/runs/a' } };
    assert.deepEqual(parseHostMessage(notify), notify);
  });

  it('restores nothing from state it cannot use (old versions, a tampered page)', () => {
    for (const state of [undefined, null, 'x', [], {}, { runDir: '' }, { runDir: 3 }]) {
      assert.equal(parseRestoreState(state), undefined, JSON.stringify(state));
    }
  });
});
