// What a command acts on. Commands are called from the Runs view (with a tree element), from
// CodeLens (with a ref object), from the editor title (with the document's URI) and from the
// palette (with nothing): these helpers turn any of those into a run or a sample, asking the
// user only when the answer is ambiguous.
import * as vscode from 'vscode';
import type { RunTreeNode } from '../../model/runTree';
import type { Ctx } from '../ctx';
import type { RunSession } from '../runSession';
import { isTraceUri, parseTraceUri } from '../traceUri';

export interface RunRef {
  runDir: string;
}

export interface SampleRef extends RunRef {
  recordId: string;
}

export interface QuestionRef extends RunRef {
  questionId: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** A Runs view element (runTree's data node), as menus pass it to commands. */
function asTreeNode(value: unknown): RunTreeNode | undefined {
  return isObject(value) && typeof value.kind === 'string' && typeof value.runDir === 'string' ? (value as unknown as RunTreeNode) : undefined;
}

export function asRunRef(value: unknown): RunRef | undefined {
  return isObject(value) && typeof value.runDir === 'string' ? { runDir: value.runDir } : undefined;
}

export function asSampleRef(value: unknown): SampleRef | undefined {
  if (value instanceof vscode.Uri) {
    if (!isTraceUri(value)) return undefined;
    const address = parseTraceUri(value);
    return { runDir: address.runDir, recordId: address.recordId };
  }
  const node = asTreeNode(value);
  if (node?.kind === 'layer1') return { runDir: node.runDir, recordId: node.sample.record.id };
  if (node?.kind === 'layer2') return { runDir: node.runDir, recordId: node.record.id };
  if (isObject(value) && typeof value.runDir === 'string' && typeof value.recordId === 'string') {
    return { runDir: value.runDir, recordId: value.recordId };
  }
  return undefined;
}

export function asQuestionRef(value: unknown): QuestionRef | undefined {
  const node = asTreeNode(value);
  if (node?.kind === 'group') return { runDir: node.runDir, questionId: node.group.questionId };
  if (node?.kind === 'layer1') return { runDir: node.runDir, questionId: node.sample.record.question_id };
  if (node?.kind === 'layer2') return { runDir: node.runDir, questionId: node.record.question_id };
  return isObject(value) && typeof value.runDir === 'string' && typeof value.questionId === 'string'
    ? { runDir: value.runDir, questionId: value.questionId }
    : undefined;
}

/** The trace in the active editor (either side of a trace diff counts). */
export function activeTraceUri(): vscode.Uri | undefined {
  const uri = vscode.window.activeTextEditor?.document.uri;
  return uri && isTraceUri(uri) ? uri : undefined;
}

/**
 * The run a command acts on: the one it was called with, else the only candidate, else the
 * user's pick among the candidates. Undefined when there is none or the pick was dismissed.
 */
export async function pickRun(ctx: Ctx, arg: unknown, candidates: RunSession[], purpose: string): Promise<RunSession | undefined> {
  const ref = asRunRef(arg);
  if (ref) return ctx.runs.get(ref.runDir);
  if (candidates.length <= 1) return candidates[0];
  const picked = await vscode.window.showQuickPick(
    candidates.map((session) => ({
      label: session.name,
      description: session.trainer?.state ?? session.status,
      detail: session.runDir,
      session,
    })),
    { title: vscode.l10n.t('MGRPO: {0}', purpose), placeHolder: vscode.l10n.t('Which run?') },
  );
  return picked?.session;
}
