import * as vscode from 'vscode';

export const TRACE_SCHEME = 'mgrpo-trace';

/**
 * What a trace URI names: `mgrpo-trace:/<record id>.rtrace?run=<encoded run dir>`, plus `full=1`
 * for the untruncated completion and `against=<id>` when it is one side of a diff with that record:
 * the layer-1 side (same text, but its decorations mark where that correction departs) or the
 * layer-2 side (its first answer is on the left, so its prompt names it instead of repeating it).
 */
export interface TraceAddress {
  runDir: string;
  recordId: string;
  full: boolean;
  against?: string;
}

export function traceUri(address: TraceAddress): vscode.Uri {
  const query = new URLSearchParams({ run: address.runDir });
  if (address.full) query.set('full', '1');
  if (address.against) query.set('against', address.against);
  return vscode.Uri.from({ scheme: TRACE_SCHEME, path: `/${address.recordId}.rtrace`, query: query.toString() });
}

/** Parses a trace URI; throws an Error naming what is wrong (shown in the editor). */
export function parseTraceUri(uri: vscode.Uri): TraceAddress {
  if (uri.scheme !== TRACE_SCHEME) throw new Error(`not an MGRPO trace URI: ${uri.toString()}`);
  const match = /^\/([^/]+)\.rtrace$/.exec(uri.path);
  if (!match) throw new Error(`trace URI path must be /<record id>.rtrace, got ${uri.path}`);
  const query = new URLSearchParams(uri.query);
  const runDir = query.get('run');
  if (!runDir) throw new Error(`trace URI has no run= parameter: ${uri.toString()}`);
  return { runDir, recordId: match[1], full: query.get('full') === '1', against: query.get('against') ?? undefined };
}

export function isTraceUri(uri: vscode.Uri): boolean {
  return uri.scheme === TRACE_SCHEME;
}

/** Opens one sample's trace document (truncated to the setting; Show Full Completion lifts it). */
export async function showTrace(ref: { runDir: string; recordId: string }, options: vscode.TextDocumentShowOptions = {}): Promise<void> {
  const document = await vscode.workspace.openTextDocument(traceUri({ ...ref, full: false }));
  await vscode.window.showTextDocument(document, options);
}
