import { strict as assert } from 'node:assert';
import { descendantsOf, parseProcStat, parsePsLines, processTable } from '../../extension/src/vscode/processTree';

// How a trainer's process tree is read: /proc/PID/stat on Linux, `ps` elsewhere, then walked from the leader.
describe('process tree', () => {
  it('reads a /proc stat line whose command name holds spaces and parentheses', () => {
    // Fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    // cutime cstime priority nice threads itrealvalue starttime ...
    const line = '4242 (pt_main (thread) 1) S 4100 4100 4100 0 -1 4194560 10 0 0 0 1 2 0 0 20 0 3 0 987654 123 456';
    assert.deepEqual(parseProcStat(line), { pid: 4242, ppid: 4100, start: '987654' });
    assert.equal(parseProcStat(line.replace(') S ', ') Z ')), undefined, 'a zombie is not a running process');
    assert.equal(parseProcStat('garbage'), undefined);
  });

  it('reads ps lines with their start times', () => {
    const text = '    1     0 Thu Dec  3 12:00:01 2026\n  812     1 Thu Dec  3 12:15:49 2026\n\n';
    assert.deepEqual(parsePsLines(text), [
      { pid: 1, ppid: 0, start: 'Thu Dec  3 12:00:01 2026' },
      { pid: 812, ppid: 1, start: 'Thu Dec  3 12:15:49 2026' },
    ]);
  });

  it('walks descendants breadth first, and only those', () => {
    const table = [[10, 1], [11, 10], [12, 10], [13, 11], [14, 13], [20, 1], [21, 20], [0, 0]]
      .map(([pid, ppid]) => ({ pid, ppid, start: 's' }));
    assert.deepEqual(descendantsOf(10, table).map((e) => e.pid), [11, 12, 13, 14]);
    assert.deepEqual(descendantsOf(14, table), []);
    assert.deepEqual(descendantsOf(0, table).map((e) => e.pid), [], 'a self-parented entry is no child of itself');
  });

  (process.platform === 'win32' ? it.skip : it)('lists this process with its parent', () => {
    const me = processTable().find((entry) => entry.pid === process.pid);
    assert.ok(me, 'this process is in the table');
    assert.equal(me.ppid, process.ppid);
  });
});
