// Recognising a file we have read before by its content, not its size: a resumed run truncates
// its files back to a checkpoint and appends again, so between two polls a file can be rewritten
// and grow past the size we knew. A mark keeps a digest of the file's first bytes and of the
// bytes just before the point we read up to; if either differs now, what we read is no longer
// the file's content. Digests, not the bytes: a reader holds a mark per step index (a thousand
// for a long run, and they are written to the index cache), and 40 bytes beat 4 KiB.

import { createHash } from 'node:crypto';
import type { promises as fs } from 'node:fs';
import { readBytes } from './lines';

const HEAD_BYTES = 4096;
const TAIL_BYTES = 256;

export interface ContentMark {
  /** Digest of the file's first bytes (up to 4 KiB, fewer when `end` is smaller). */
  head: Buffer;
  /** Where the reader stopped: `tail` is the digest of the 256 bytes before it (empty when the head covers them). */
  end: number;
  tail: Buffer;
}

const digest = (bytes: Buffer): Buffer => createHash('sha1').update(bytes).digest();

/** Marks the first `end` bytes of an open file. */
export async function takeMark(handle: fs.FileHandle, end: number): Promise<ContentMark> {
  const head = digest(await readBytes(handle, 0, Math.min(HEAD_BYTES, end)));
  const tail = end > HEAD_BYTES ? digest(await readBytes(handle, end - TAIL_BYTES, TAIL_BYTES)) : Buffer.alloc(0);
  return { head, end, tail };
}

/** True when the file (of `size` bytes now) still begins with what the mark saw. */
export async function markHolds(handle: fs.FileHandle, mark: ContentMark, size: number): Promise<boolean> {
  if (size < mark.end) return false;
  if (mark.end === 0) return true;
  const headLength = Math.min(HEAD_BYTES, mark.end);
  const head = await readBytes(handle, 0, headLength);
  if (head.length !== headLength || !digest(head).equals(mark.head)) return false;
  if (mark.end <= HEAD_BYTES) return true;
  const tail = await readBytes(handle, mark.end - TAIL_BYTES, TAIL_BYTES);
  return tail.length === TAIL_BYTES && digest(tail).equals(mark.tail);
}
