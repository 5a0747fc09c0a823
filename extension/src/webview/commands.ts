// "MGRPO: Show Dashboard" and "MGRPO: Show Inspector". Each command factory is called once, when
// main.ts registers it; the panels it opens are owned by the context and disposed with it.
import type * as vscode from 'vscode';
import type { CommandFactory, Ctx } from '../vscode/ctx';
import { pickSample } from '../vscode/commands/pickSample';
import { activeTraceUri, asRunRef, asSampleRef, pickRun } from '../vscode/commands/targets';
import { DashboardPanels } from './dashboardPanel';
import { InspectorPanel } from './inspectorPanel';

/** One `create(ctx)` per context, made on first use and disposed with the context. */
function perContext<T extends vscode.Disposable>(create: (ctx: Ctx) => T): (ctx: Ctx) => T {
  const made = new WeakMap<Ctx, T>();
  return (ctx) => {
    let value = made.get(ctx);
    if (!value) {
      value = ctx.register(create(ctx));
      made.set(ctx, value);
    }
    return value;
  };
}

const dashboardsOf = perContext((ctx) => new DashboardPanels(ctx));
const inspectorOf = perContext((ctx) => new InspectorPanel(ctx));

/**
 * Show Dashboard: the run it is given (Runs view, status bar item), else the live run, else the
 * user's pick. With no run at all it opens a page that says how to get one.
 */
export const showDashboard: CommandFactory = (ctx) => async (arg?: unknown) => {
  const ref = asRunRef(arg);
  const all = ctx.runs.all();
  if (!ref && all.length === 0) {
    dashboardsOf(ctx).show(undefined);
    return;
  }
  const live = ctx.runs.live();
  const session = ref ? ctx.runs.get(ref.runDir) : await pickRun(ctx, undefined, live.length ? live : all, 'Show Dashboard');
  if (!session) {
    if (ref) throw new Error(`${ref.runDir} is not in the Runs view`);
    return;
  }
  dashboardsOf(ctx).show(session);
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
      inspectorOf(ctx).showEmpty('No run has rollouts yet. Start a run (or open a run folder), then choose a layer-2 correction in the Runs view.');
      return;
    }
    ref = await pickSample(ctx, { title: 'Show Inspector', layer: 2 });
    if (!ref) return;
  }
  await inspectorOf(ctx).show(ref);
};
