// Imported runs (python -m mgrpo import, mgrpo.integrations.trl) write null where their source did
// not record a value; the views say so instead of inventing one. One wording for every view:
// "not recorded by verl". The trainer's own runs never hold these nulls.

import type { RolloutRecord, RunManifest } from '../format/types';

/** `not recorded by <kind>`; `kind` is the source's kind (record.source.kind / run.json source.kind). */
export function notRecorded(kind: string | undefined): string {
  return `not recorded by ${kind && kind.trim() ? kind.trim() : 'the source'}`;
}

/** The source kind of an imported record; undefined for the trainer's own records. */
export function recordSourceKind(record: Pick<RolloutRecord, 'source'>): string | undefined {
  const kind = record.source?.kind;
  return typeof kind === 'string' ? kind : undefined;
}

/** The source kind of an imported run; undefined for the trainer's own runs. */
export function runSourceKind(manifest: Pick<RunManifest, 'source'> | undefined): string | undefined {
  const kind = manifest?.source?.kind;
  return typeof kind === 'string' ? kind : undefined;
}

/** A formatted value, or the "not recorded" text when it is null (or absent). */
export function orNotRecorded<T>(value: T | null | undefined, format: (value: T) => string, kind: string | undefined): string {
  return value === null || value === undefined ? notRecorded(kind) : format(value);
}

/** "right" / "wrong" / "not recorded by <kind>" for an answer's correctness. */
export function correctnessText(correct: boolean | null | undefined, kind: string | undefined): string {
  return orNotRecorded(correct, (value) => (value ? 'right' : 'wrong'), kind);
}

/** The row's extra columns an importer kept (source.fields), as [name, short text] pairs for hovers. */
export function sourceFieldEntries(record: Pick<RolloutRecord, 'source'>, maxValueChars = 80): Array<[string, string]> {
  const fields = record.source?.fields;
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return [];
  return Object.entries(fields).map(([name, value]) => {
    let text: string;
    try {
      text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
    return [name, text.length > maxValueChars ? `${text.slice(0, maxValueChars)}…` : text];
  });
}
