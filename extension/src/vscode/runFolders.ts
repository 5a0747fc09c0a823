// New run folders under the runs folder. Created exclusively (mkdir fails if the name exists), so
// two starts in the same second, in this window or another, never share a folder: each gets its
// own suffix. No `vscode` import: unit-tested on a real file system.

import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** How many suffixed names to try before giving up (a runs folder that is not writable). */
const MAX_ATTEMPTS = 1000;

/** `demo-20261203-083412`: the run's base name and the local time it was started. */
export function runFolderName(base: string, date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
  // The base comes from a file name: keep it to characters that are safe in a folder name.
  const safe = base.replace(/[^\w.-]+/g, '-').replace(/^[.-]+/, '') || 'run';
  return `${safe}-${stamp}`;
}

/**
 * Creates `<runsFolder>/<name>` (or `<name>-2`, `-3`, ... when taken) and returns its absolute
 * path. The runs folder itself is created if needed.
 */
export async function createRunDir(runsFolder: string, name: string): Promise<string> {
  await fs.mkdir(runsFolder, { recursive: true });
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const candidate = path.resolve(runsFolder, attempt === 1 ? name : `${name}-${attempt}`);
    try {
      await fs.mkdir(candidate);
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error(`could not create a run folder for ${name} in ${runsFolder}: ${MAX_ATTEMPTS} names are taken`);
}
