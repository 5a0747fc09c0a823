// "MGRPO: Show Dashboard" and "MGRPO: Show Inspector". The panels they open belong to ctx.panels
// (vscode/panels/panels.ts), made at activation so that a reload can restore them.
import * as vscode from 'vscode';
import type { CommandFactory } from '../ctx';
import { pickSample } from './pickSample';
import { activeTraceUri, asRunRef, asSampleRef, pickRun } from './targets';

/**
 * Show Dashboard: the run it is given (Runs view, status bar item), else the live run, else the
 * user's pick. With no run at all it opens a page that says how to get one.
 */
export const showDashboard: CommandFactory = (ctx) => async (arg?: unknown) => {
  const ref = asRunRef(arg);
  const all = ctx.runs.all();
  if (!ref && all.length === 0) {
    ctx.panels.dashboards.show(undefined);
    return;
  }
  const live = ctx.runs.live();
  const session = ref ? ctx.runs.get(ref.runDir) : await pickRun(ctx, undefined, live.length ? live : all, vscode.l10n.t('Show Dashboard'));
  if (!session) {
    if (ref) throw new Error(vscode.l10n.t('{0} is not in the Runs view', ref.runDir));
    return;
  }
  ctx.panels.dashboards.show(session);
};

/**
 * Show Inspector: the sample it is given (Runs view, CodeLens, trace editor title), else the
 * trace in the active editor, else a picked correction. With no rollouts anywhere it opens a
 * page that says how to get some.
 */
export const showInspector: CommandFactory = (ctx) => async (arg?: unknown) => {
  let ref = asSampleRef(arg) ?? asSampleRef(activeTraceUri());
  if (!ref) {
    const readable = ctx.runs.all().filter((s) => s.reader && s.reader.steps().length > 0);
    if (readable.length === 0) {
      ctx.panels.inspector.showEmpty(vscode.l10n.t('No run has rollouts yet. Start a run (or open a run folder), then choose a layer-2 correction in the Runs view.'));
      return;
    }
    ref = await pickSample(ctx, { title: vscode.l10n.t('Show Inspector'), layer: 2 });
    if (!ref) return;
  }
  await ctx.panels.inspector.show(ref);
};
