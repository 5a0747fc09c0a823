// Recognising a file we have read before by its content, not its size: a resumed run truncates
// its files back to a checkpoint and appends again, so between two polls a file can be rewritten
// and grow past the size we knew. A mark keeps the file's first bytes and the bytes just before
// the point we read up to; if either differs now, what we read is no longer the file's content.

import type { promises as fs } from 'node:fs';
import { readBytes } from './lines';

const HEAD_BYTES = 4096;
const TAIL_BYTES = 256;

export interface ContentMark {
  /** The file's first bytes (up to 4 KiB, fewer when `end` is smaller). */
  head: Buffer;
  /** Where the reader stopped: the bytes before it are `tail`. */
  end: number;
  tail: Buffer;
}

/** Marks the first `end` bytes of an open file. */
export async function takeMark(handle: fs.FileHandle, end: number): Promise<ContentMark> {
  const head = await readBytes(handle, 0, Math.min(HEAD_BYTES, end));
  const tailStart = Math.max(0, end - TAIL_BYTES);
  const tail = end > HEAD_BYTES ? await readBytes(handle, tailStart, end - tailStart) : head.subarray(tailStart, end);
  return { head, end, tail };
}

/** True when the file (of `size` bytes now) still begins with what the mark saw. */
export async function markHolds(handle: fs.FileHandle, mark: ContentMark, size: number): Promise<boolean> {
  if (size < mark.end) return false;
  if (mark.end === 0) return true;
  const head = await readBytes(handle, 0, mark.head.length);
  if (!head.equals(mark.head)) return false;
  if (mark.end <= HEAD_BYTES) return true;
  const tail = await readBytes(handle, mark.end - mark.tail.length, mark.tail.length);
  return tail.equals(mark.tail);
}
