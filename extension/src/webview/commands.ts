// "MGRPO: Show Dashboard" and "MGRPO: Show Inspector". Each command factory is called once, when
// main.ts registers it; the panels it opens are owned by the context and disposed with it.
import type { CommandFactory, Ctx } from '../vscode/ctx';
import { pickSample } from '../vscode/commands/pickSample';
import { activeTraceUri, asRunRef, asSampleRef, pickRun } from '../vscode/commands/targets';
import { DashboardPanels } from './dashboardPanel';
import { InspectorPanel } from './inspectorPanel';

const dashboards = new WeakMap<Ctx, DashboardPanels>();
const inspectors = new WeakMap<Ctx, InspectorPanel>();

function dashboardsOf(ctx: Ctx): DashboardPanels {
  let panels = dashboards.get(ctx);
  if (!panels) {
    panels = ctx.register(new DashboardPanels(ctx));
    dashboards.set(ctx, panels);
  }
  return panels;
}

function inspectorOf(ctx: Ctx): InspectorPanel {
  let panel = inspectors.get(ctx);
  if (!panel) {
    panel = ctx.register(new InspectorPanel(ctx));
    inspectors.set(ctx, panel);
  }
  return panel;
}

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
