// Entry point of the extension host side. Everything is owned by one Ctx (see vscode/ctx.ts);
// deactivate() stops live trainers so that no process outlives the extension.
import * as vscode from 'vscode';
import { COMMANDS } from './vscode/commands';
import { Ctx } from './vscode/ctx';
import { importedRunsOf } from './vscode/importedRuns';
import { RunsTreeProvider } from './vscode/runsTree';
import { TraceCodeLensProvider } from './vscode/traceCodeLens';
import { TraceDecorations } from './vscode/traceDecorations';
import { StepTruthDecorations } from './vscode/stepTruthDecorations';
import { registerTraceHover } from './vscode/traceHover';

/** How long deactivate waits for SIGTERM'd trainers to checkpoint before SIGKILL. */
const SHUTDOWN_GRACE_MS = 3000;

let ctx: Ctx | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  ctx = new Ctx(context);
  context.subscriptions.push(ctx);
  const tree = ctx.register(new RunsTreeProvider(ctx));
  ctx.revealRun = (session) => tree.reveal(session);
  ctx.register(registerTraceHover(ctx.traces, ctx.stepValues));
  ctx.register(new StepTruthDecorations(ctx.traces, ctx.stepValues));
  ctx.register(new TraceDecorations(ctx.traces));
  ctx.register(new TraceCodeLensProvider(ctx.traces));
  for (const [id, factory] of Object.entries(COMMANDS)) ctx.registerCommand(id, factory);
  ctx.setSampleFilter(undefined);
  ctx.updateLiveContextKeys();
  await ctx.runs.discover();
  // Imports of other trainers' runs still in the view follow their source again (issue 11).
  void importedRunsOf(ctx).resumeAfterReload();
}

export async function deactivate(): Promise<void> {
  const current = ctx;
  ctx = undefined;
  if (!current) return;
  // SIGTERM makes the trainer checkpoint the last completed step and exit; give it a moment.
  await Promise.all(current.runs.live().map((session) => session.trainer?.terminate(SHUTDOWN_GRACE_MS)));
  current.dispose();
}
