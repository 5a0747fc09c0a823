// Whether a test's process is still running, for tests that kill process trees.
import { readFileSync } from 'node:fs';

/** Alive and not a zombie (a re-parented process killed in a container may wait for a reaper that never comes). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}
