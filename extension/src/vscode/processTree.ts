// All the processes of one trainer, so that a kill ends every one of them. On POSIX the trainer is
// spawned `detached`: it leads a process group of its own, which its helpers (torchrun itself, the
// math-verify worker) share. torchrun, however, starts each worker in a session of its own
// (start_new_session), out of that group, and a SIGKILLed torchrun leaves its workers running,
// re-parented, holding the run's stdout. So a kill signals the group and every descendant listed
// just before. Windows has neither groups nor this walk: the pid alone. No `vscode` import:
// unit-tested with real processes.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Whether trainers are spawned as process-group leaders (`detached`) and killed as a tree. */
export const OWN_PROCESS_GROUP = process.platform !== 'win32';

export interface ProcessEntry {
  pid: number;
  ppid: number;
  /** When it started, as the system says it (tells a process from a later one given the same pid). */
  start: string;
}

/** One /proc/PID/stat line: "pid (comm) state ppid ... starttime(22nd field) ..."; comm may hold spaces and ")". */
export function parseProcStat(text: string): ProcessEntry | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 1).trim().split(/\s+/);
  // rest[0] is the state (field 3), so field n is rest[n - 3].
  const ppid = Number(rest[1]);
  const start = rest[19];
  if (!Number.isInteger(pid) || !Number.isInteger(ppid) || start === undefined || rest[0] === 'Z') return undefined;
  return { pid, ppid, start };
}

/** `ps -A -o pid=,ppid=,lstart=` lines (macOS and other POSIX systems without /proc). */
export function parsePsLines(text: string): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*(\d+)\s+(\d+)\s+(.+?)\s*$/.exec(line);
    if (match) entries.push({ pid: Number(match[1]), ppid: Number(match[2]), start: match[3] });
  }
  return entries;
}

/** Every live process this user can see (zombies left out). Empty where it cannot be read. */
export function processTable(): ProcessEntry[] {
  if (!OWN_PROCESS_GROUP) return [];
  try {
    if (process.platform === 'linux') {
      const entries: ProcessEntry[] = [];
      for (const name of readdirSync('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        try {
          const entry = parseProcStat(readFileSync(`/proc/${name}/stat`, 'utf8'));
          if (entry) entries.push(entry);
        } catch {
          // Gone between the listing and the read.
        }
      }
      return entries;
    }
    return parsePsLines(execFileSync('ps', ['-A', '-o', 'pid=,ppid=,lstart='], { encoding: 'utf8', timeout: 5000 }));
  } catch {
    return [];
  }
}

/** The descendants of `root` in `table`, parents before children. Pure. */
export function descendantsOf(root: number, table: readonly ProcessEntry[]): ProcessEntry[] {
  const children = new Map<number, ProcessEntry[]>();
  for (const entry of table) {
    if (entry.pid === entry.ppid) continue;
    const list = children.get(entry.ppid) ?? [];
    list.push(entry);
    children.set(entry.ppid, list);
  }
  const found: ProcessEntry[] = [];
  const seen = new Set<number>([root]);
  const queue = [root];
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      if (seen.has(child.pid)) continue;
      seen.add(child.pid);
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

function trySignal(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false; // gone already, or not ours
  }
}

/** The group led by `pid` when there is one (spawned detached on POSIX), else `pid` alone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  if (OWN_PROCESS_GROUP && trySignal(-pid, signal)) return;
  trySignal(pid, signal);
}

/**
 * Sends `signal` to `pid`, its process group and every descendant it has now (listed before the
 * leader is signalled, since a killed leader's children are re-parented out of reach). Returns the
 * descendants signalled, for a later `signalSurvivors`.
 */
export function signalTree(pid: number, signal: NodeJS.Signals): ProcessEntry[] {
  const descendants = OWN_PROCESS_GROUP ? descendantsOf(pid, processTable()) : [];
  // The leader first: a torchrun still alive would notice its workers dying and act on it.
  signalGroup(pid, signal);
  for (const entry of descendants) trySignal(entry.pid, signal);
  return descendants;
}

/**
 * Sends `signal` to those of `listed` that still run as the same processes (same pid and start), e.g.
 * workers a leader left behind when it exited. A pid given since to another process is left alone.
 */
export function signalSurvivors(listed: readonly ProcessEntry[], signal: NodeJS.Signals): number {
  if (!listed.length) return 0;
  const now = new Map(processTable().map((entry) => [entry.pid, entry.start]));
  let signalled = 0;
  for (const entry of listed) {
    if (now.get(entry.pid) === entry.start && trySignal(entry.pid, signal)) signalled++;
  }
  return signalled;
}
