// The harness's log check on a hand-written log folder (no VS Code needed): it must catch an
// error line with its stack, only once, honour declared expectations, and wait for whole lines.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExtensionHostLogWatcher, extensionActivated, findExtensionHostLogs } from './harness/extensionHostLog';

describe('harness: extension host log check', function () {
  let userDataDir: string;
  let hostLog: string;
  let channelLog: string;

  beforeEach(function () {
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpo-e2e-log-'));
    const session = path.join(userDataDir, 'logs', '20260101T000000', 'exthost1');
    fs.mkdirSync(path.join(session, 'mgrpo-lens.mgrpo-lens'), { recursive: true });
    fs.mkdirSync(path.join(session, 'vscode.git'), { recursive: true });
    hostLog = path.join(session, 'remoteexthost.log');
    channelLog = path.join(session, 'mgrpo-lens.mgrpo-lens', 'MGRPO Trainer.log');
    fs.writeFileSync(hostLog, '2026-01-01 00:00:00.000 [info] Extension host with pid 1 started\n');
    fs.writeFileSync(channelLog, '');
    // Another extension's channel is not ours to judge.
    fs.writeFileSync(path.join(session, 'vscode.git', 'Git.log'), '2026-01-01 00:00:00.000 [error] git not found\n');
  });

  afterEach(function () {
    fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  it('finds the host log and only the extension-under-test channel logs', function () {
    const found = findExtensionHostLogs(userDataDir, 'mgrpo-lens.mgrpo-lens').map((f) => path.basename(f)).sort();
    assert.deepEqual(found, ['MGRPO Trainer.log', 'remoteexthost.log']);
  });

  it('reports a new error with its stack lines once, then nothing', function () {
    const watcher = new ExtensionHostLogWatcher(userDataDir, 'mgrpo-lens.mgrpo-lens');
    assert.deepEqual(watcher.newErrors(), []);
    fs.appendFileSync(hostLog, [
      '2026-01-01 00:00:01.000 [error] TypeError: cannot read "step" of undefined',
      '    at RunsTree.getChildren (extension.js:10:5)',
      '2026-01-01 00:00:02.000 [info] later line',
      '',
    ].join('\n'));
    const errors = watcher.newErrors();
    assert.equal(errors.length, 1);
    assert.match(errors[0], /^remoteexthost\.log: .*TypeError: cannot read "step"/);
    assert.match(errors[0], /at RunsTree\.getChildren/);
    assert.doesNotMatch(errors[0], /later line/);
    assert.deepEqual(watcher.newErrors(), [], 'an error is reported by the check after it was written, not again');
    assert.throws(() => {
      fs.appendFileSync(channelLog, '2026-01-01 00:00:03.000 [error] [run] trainer crashed\n');
      watcher.assertNoNewErrors();
    }, /logged 1 error\(s\):\nMGRPO Trainer\.log: .*trainer crashed/);
  });

  it('lets a test declare the errors it provokes, for that check only', function () {
    const watcher = new ExtensionHostLogWatcher(userDataDir, 'mgrpo-lens.mgrpo-lens');
    fs.appendFileSync(channelLog, "2026-01-01 00:00:01.000 [error] config key 'max_steps': got -3\n");
    watcher.expectErrors(/max_steps/);
    assert.deepEqual(watcher.newErrors(), []);
    fs.appendFileSync(channelLog, "2026-01-01 00:00:02.000 [error] config key 'max_steps': got -4\n");
    assert.equal(watcher.newErrors().length, 1, 'the expectation does not carry over to the next check');
  });

  it('leaves a half-written last line for the next check', function () {
    const watcher = new ExtensionHostLogWatcher(userDataDir, 'mgrpo-lens.mgrpo-lens');
    fs.appendFileSync(hostLog, '2026-01-01 00:00:01.000 [error] half');
    assert.deepEqual(watcher.newErrors(), []);
    fs.appendFileSync(hostLog, ' written\n');
    assert.deepEqual(watcher.newErrors().map((e) => e.split(': ').slice(1).join(': ')), ['2026-01-01 00:00:01.000 [error] half written']);
  });

  it('sees activation only for the exact extension id', function () {
    fs.appendFileSync(hostLog, '2026-01-01 00:00:01.000 [info] ExtensionService#_doActivateExtension mgrpo-lens.mgrpo-lens-extra, startup: false\n');
    assert.equal(extensionActivated(userDataDir, 'mgrpo-lens.mgrpo-lens'), false);
    fs.appendFileSync(hostLog, "2026-01-01 00:00:02.000 [info] ExtensionService#_doActivateExtension mgrpo-lens.mgrpo-lens, startup: false, activationEvent: 'onStartupFinished'\n");
    assert.equal(extensionActivated(userDataDir, 'mgrpo-lens.mgrpo-lens'), true);
  });
});
