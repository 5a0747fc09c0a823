// The messages between the extension host and its two webviews (dashboard, inspector), defined
// once and imported by both sides (the host's panels in extension/src/vscode/panels/ and webview/src/*). Pure types and
// pure checks only: no `vscode`, no Node, no DOM, so the webview bundle can import it.
//
// The exchange (GitLens-style typed messages, vscode-pull-request-github's handshake):
// - The webview posts `{ kind: 'ready' }` once its script runs; the host posts nothing before it.
//   A webview that is rebuilt says `ready` again and gets the whole state again.
// - Host -> webview: notifications `{ kind: 'notify', method, params }`.
// - Webview -> host: requests `{ kind: 'request', id, method, params }`, each answered by exactly
//   one `{ kind: 'reply', id, result }` or `{ kind: 'error', id, message }`.

import type { CorrectionOutcome, RunStatus, StepLabelValue } from '../format/types';

// ---- the dashboard ---------------------------------------------------------------------------

/** One training step as the dashboard charts it: metrics.jsonl projected to what is drawn. */
export interface DashboardPoint {
  step: number;
  accT1: number | null;
  accT2: number | null;
  deltaI2C: number | null;
  deltaC2I: number | null;
  cl: number | null;
  cs: number | null;
  rss: number | null;
  rewardLayer1: number | null;
  rewardLayer2: number | null;
  loss: number | null;
  kl: number | null;
  clipFraction: number | null;
  tokensPerSecond: number | null;
}

/** A charted metric: every DashboardPoint field but the step. */
export type DashboardMetricKey = Exclude<keyof DashboardPoint, 'step'>;

export const DASHBOARD_METRIC_KEYS: readonly DashboardMetricKey[] = [
  'accT1', 'accT2', 'deltaI2C', 'deltaC2I', 'cl', 'cs', 'rss',
  'rewardLayer1', 'rewardLayer2', 'loss', 'kl', 'clipFraction', 'tokensPerSecond',
];

/**
 * The metrics an imported run's source does not record (null at every step so far), each with the
 * text to show instead of an empty chart: "not recorded by verl" (model/absence.ts's wording).
 * Empty for the trainer's own runs.
 */
export type UnrecordedMetrics = Partial<Record<DashboardMetricKey, string>>;

/** One evaluation (eval/step-N.json) as a table row; undefined metrics are null, shown as "—". */
export interface EvalRow {
  step: number;
  split: string;
  n: number;
  accT1: number | null;
  accT2: number | null;
  delta: number | null;
  deltaI2C: number | null;
  deltaC2I: number | null;
  cl: number | null;
  cs: number | null;
  rss: number | null;
}

export interface RunHeader {
  runDir: string;
  name: string;
  algorithm: string;
  model: string;
  /** run.json's status, or the live trainer's state when this window runs it. */
  status: RunStatus | 'starting' | 'stopping' | 'unreadable';
  step: number;
  totalSteps: number;
  /** Seconds left at the recent pace; null when unknown or the run is not running. */
  etaSeconds: number | null;
  /** Mean seconds per step over the recent steps; null before the first step. */
  secondsPerStep: number | null;
  /** Why the run could not be read, when it could not. */
  error: string | null;
}

export interface DashboardState {
  header: RunHeader;
  points: DashboardPoint[];
  /** Every evaluation of the run, oldest first (the table shows the newest first). */
  evals: EvalRow[];
  unrecorded: UnrecordedMetrics;
}

// ---- the dashboard's step-truth section (issue 9) ------------------------------------------

/** One training step: its correction outcomes (counts) and flawed-chain rates. */
export interface StepTruthPoint {
  step: number;
  /** Corrections by outcome; null for a GRPO step (no corrections). */
  outcomes: Record<CorrectionOutcome, number> | null;
  /** Right first answers (t1) / corrections (t2) with a wrong step, over right ones; null without labels. */
  flawedT1: number | null;
  flawedT2: number | null;
}

/** Corrections by where layer 2 first departs against layer 1's first wrong step, summed over steps. */
export interface DepartureTotals {
  n: number;
  exact: number;
  before: number;
  after: number;
  noDeparture: number;
  noError: number;
}

export interface StepTruthSummary {
  points: StepTruthPoint[];
  /** Whether any step carries step-truth metrics (a step checker ran). */
  hasLabels: boolean;
  /** Entry i: samples whose first wrong step is step i + 1, over all steps (first answers, corrections). */
  firstErrorT1: number[];
  firstErrorT2: number[];
  departures: { i2c: DepartureTotals; all: DepartureTotals };
  /**
   * Layer 2's first departure minus layer 1's first error, over layer 1's chain length, binned
   * (model/departureOffsets.ts), counted from the rollout files; null while they are being read
   * or when the run has no step labels.
   */
  departureOffsets: DepartureOffsetHistogram | null;
}

/**
 * Corrections by signed offset bin. Entry `perSide + b` counts bin b, b in −perSide..perSide: b = 0
 * departs exactly at the first error; b = ±j departs (j − 1)/perSide..j/perSide of the chain before
 * (−) or after (+) it. Only corrections whose parent has a first error and that change a step.
 */
export interface DepartureOffsetHistogram {
  perSide: number;
  /** Corrections that turned a wrong answer right. */
  i2c: number[];
  all: number[];
}

/** The step-truth filters a dashboard bar may open (ids of model/stepTruth's STEP_TRUTH_FILTERS). */
export const DASHBOARD_STEP_TRUTH_FILTERS = ['flawed-chain', 'fixed-first-error', 'departed-before-error', 'departed-after-error'] as const;
export type DashboardStepTruthFilter = (typeof DASHBOARD_STEP_TRUTH_FILTERS)[number];

/**
 * What a clicked bar stands for: one outcome at one step; one step-truth filter over the run; the
 * samples of one layer first wrong at step index `firstError` (0-based); or the corrections
 * (`i2c` or `all`) in one signed bin of DepartureOffsetHistogram.
 */
export type OpenSamplesParams =
  | { step: number; outcome: CorrectionOutcome }
  | { stepTruth: DashboardStepTruthFilter }
  | { firstError: number; layer: 1 | 2 }
  | { departureOffset: number; corrections: 'i2c' | 'all' };

/** The widest offset bin a request may name (the host checks it against the bins it draws). */
const MAX_OFFSET_BIN = 64;

const CORRECTION_OUTCOMES: readonly CorrectionOutcome[] = ['i->c', 'c->i', 'c->c', 'i->i'];

/** Checks the params of `dashboard/openSamples` from a webview; an Error says what is wrong. */
export function parseOpenSamplesParams(params: Record<string, unknown>): OpenSamplesParams | Error {
  if ('stepTruth' in params) {
    return (DASHBOARD_STEP_TRUTH_FILTERS as readonly unknown[]).includes(params.stepTruth)
      ? { stepTruth: params.stepTruth as DashboardStepTruthFilter }
      : new Error(`params.stepTruth must be one of ${DASHBOARD_STEP_TRUTH_FILTERS.join(', ')}, got ${JSON.stringify(params.stepTruth)}`);
  }
  if ('firstError' in params) {
    if (typeof params.firstError !== 'number' || !Number.isSafeInteger(params.firstError) || params.firstError < 0) {
      return new Error(`params.firstError must be a non-negative integer, got ${JSON.stringify(params.firstError)}`);
    }
    if (params.layer !== 1 && params.layer !== 2) return new Error(`params.layer must be 1 or 2, got ${JSON.stringify(params.layer)}`);
    return { firstError: params.firstError, layer: params.layer };
  }
  if ('departureOffset' in params) {
    const bin = params.departureOffset;
    if (typeof bin !== 'number' || !Number.isSafeInteger(bin) || Math.abs(bin) > MAX_OFFSET_BIN) {
      return new Error(`params.departureOffset must be an integer in -${MAX_OFFSET_BIN}..${MAX_OFFSET_BIN}, got ${JSON.stringify(bin)}`);
    }
    if (params.corrections !== 'i2c' && params.corrections !== 'all') return new Error(`params.corrections must be i2c or all, got ${JSON.stringify(params.corrections)}`);
    // -0 and 0 name one bin: one filter id, one cache entry.
    return { departureOffset: bin === 0 ? 0 : bin, corrections: params.corrections };
  }
  if (typeof params.step !== 'number' || !Number.isSafeInteger(params.step) || params.step < 0) {
    return new Error(`params.step must be a non-negative integer, got ${JSON.stringify(params.step)}`);
  }
  if (!(CORRECTION_OUTCOMES as readonly unknown[]).includes(params.outcome)) {
    return new Error(`params.outcome must be one of ${CORRECTION_OUTCOMES.join(', ')}, got ${JSON.stringify(params.outcome)}`);
  }
  return { step: params.step, outcome: params.outcome as CorrectionOutcome };
}

// ---- the inspector -----------------------------------------------------------------------------

/** A reasoning step of one side, with what its decorations and hover show. */
export interface InspectorStep {
  index: number;
  /** Character span [start, end) in the side's text. */
  start: number;
  end: number;
  minProb: number | null;
  meanProb: number | null;
  /** Hover content: markdown in which every piece of model text is already escaped. */
  hover: string;
  /** Layer 2 changed it (left: the correction did not keep it; right: it differs from layer 1). */
  changed: boolean;
  /** The step checker's label (format 2); absent or null without one. */
  truth?: StepLabelValue | null;
  /** The sample's first wrong step. */
  firstError?: boolean;
  /** Estimated chance of a right answer after this step (step values); absent or null when none was estimated. */
  value?: number | null;
  /** The step whose value drops most: the likely error by value. */
  likelyError?: boolean;
}

export interface InspectorSide {
  recordId: string;
  layer: 1 | 2;
  sample: number;
  /** The completion: untrusted model text, for a Monaco model only. */
  text: string;
  /** Null (here and in reward, advantage, finishReason): not recorded by an imported run's source. */
  correct: boolean | null;
  parsedAnswer: string | null;
  reward: number | null;
  rewards: Record<string, number>;
  advantage: number | null;
  finishReason: 'stop' | 'length' | null;
  steps: InspectorStep[];
  /** Index of the step where the two sides part, or null when they do not. */
  divergentStep: number | null;
  /** Indexes of the least confident steps (lowest min token probability). */
  leastConfident: number[];
}

export interface CorrectionChoice {
  recordId: string;
  sample: number;
  outcome: CorrectionOutcome | null;
  reward: number | null;
  correct: boolean | null;
}

export interface InspectorState {
  runDir: string;
  runName: string;
  step: number;
  group: number;
  questionId: string;
  /** The layer-1 prompt (untrusted text). */
  question: string;
  groundTruth: string;
  guidingPhrase: string | null;
  outcome: CorrectionOutcome | null;
  layer1: InspectorSide;
  correction: InspectorSide;
  /** Every correction of the same layer-1 sample, the shown one included. */
  choices: CorrectionChoice[];
}

// ---- localisation -------------------------------------------------------------------------------

/**
 * The extension's l10n bundle for the display language (VS Code's `l10n.bundle`: English message ->
 * translation), which the host writes into each webview's HTML (html.ts) for @vscode/l10n's
 * `config({ contents })`. Absent for English, where every message is its own translation.
 */
export type L10nBundle = Record<string, string>;

/** The <meta name> under which the HTML shell carries the bundle, as JSON in its content attribute. */
export const L10N_META_NAME = 'mgrpo-l10n';

/**
 * Checks a bundle read back from the page (or about to be written into it): an object of string
 * translations. Entries that are not strings are dropped; undefined when nothing usable is left.
 */
export function parseL10nBundle(value: unknown): L10nBundle | undefined {
  if (!isRecord(value)) return undefined;
  const bundle: L10nBundle = {};
  for (const [message, translation] of Object.entries(value)) {
    // `__proto__` would set the object's prototype, not a translation.
    if (typeof translation === 'string' && message !== '__proto__') bundle[message] = translation;
  }
  return Object.keys(bundle).length > 0 ? bundle : undefined;
}

// ---- the messages -------------------------------------------------------------------------------

/** Host -> webview notifications, by method, with their params. */
export interface HostNotifications {
  /** The dashboard's whole state (after `ready`, after a resumed run truncated its files). */
  'dashboard/reset': DashboardState;
  /** Steps appended since the last message, and the header as of now. */
  'dashboard/append': { header: RunHeader; points: DashboardPoint[]; unrecorded: UnrecordedMetrics };
  'dashboard/evals': { evals: EvalRow[] };
  /** No run to show (none exists yet). */
  'dashboard/empty': { message: string };
  /** The step-truth section: correction outcomes, first errors against departures, flawed-chain rates. */
  'dashboard/stepTruth': StepTruthSummary;
  'inspector/show': InspectorState;
  'inspector/empty': { message: string };
  /**
   * What the panel shows, for VS Code to keep with the webview (setState) and hand back to the
   * host's WebviewPanelSerializer after a window reload.
   */
  'panel/restoreState': PanelRestoreState;
}

/** Enough to reopen a panel after a reload: its run and, for the inspector, the correction shown. */
export interface PanelRestoreState {
  runDir: string;
  recordId?: string;
}

/**
 * Checks the state VS Code hands back to a serializer (it was saved by a webview, whose page
 * renders model output: trust nothing). Undefined when there is nothing usable to restore.
 */
export function parseRestoreState(value: unknown): PanelRestoreState | undefined {
  if (!isRecord(value) || !nonEmptyString(value.runDir)) return undefined;
  return nonEmptyString(value.recordId) ? { runDir: value.runDir, recordId: value.recordId } : { runDir: value.runDir };
}

/** Webview -> host requests, by method, with their params and result. */
export interface WebviewRequests {
  /** Show another correction of the same layer-1 sample. */
  'inspector/selectCorrection': { params: { recordId: string }; result: InspectorState };
  /** Open a rollout record as a trace document in an editor. */
  'inspector/openTrace': { params: { recordId: string }; result: null };
  /** Run one of the commands a webview offers (starting a run from the empty dashboard). */
  'runCommand': { params: { command: AllowedCommand }; result: null };
  /** A clicked step-truth bar: filter the Runs view to those samples and offer to open one. */
  'dashboard/openSamples': { params: OpenSamplesParams; result: null };
}

/** The only commands a webview may ask the host to run. */
export const ALLOWED_COMMANDS = ['mgrpo.startRun', 'mgrpo.openRunFolder', 'mgrpo.showInspector'] as const;
export type AllowedCommand = (typeof ALLOWED_COMMANDS)[number];

export type HostNotificationMethod = keyof HostNotifications;
export type WebviewRequestMethod = keyof WebviewRequests;

export type HostMessage =
  | { [M in HostNotificationMethod]: { kind: 'notify'; method: M; params: HostNotifications[M] } }[HostNotificationMethod]
  | { kind: 'reply'; id: number; result: unknown }
  | { kind: 'error'; id: number; message: string };

export type RequestMessage<M extends WebviewRequestMethod = WebviewRequestMethod> = {
  [K in M]: { kind: 'request'; id: number; method: K; params: WebviewRequests[K]['params'] };
}[M];

export type WebviewMessage = { kind: 'ready' } | RequestMessage;

const HOST_METHODS: readonly HostNotificationMethod[] = [
  'dashboard/reset', 'dashboard/append', 'dashboard/evals', 'dashboard/empty', 'dashboard/stepTruth', 'inspector/show', 'inspector/empty',
  'panel/restoreState',
];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isRequestId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/**
 * Checks a message a webview posted (the host trusts nothing from a webview: its page renders
 * model output). Returns the typed message or an Error saying what is wrong with it.
 */
export function parseWebviewMessage(value: unknown): WebviewMessage | Error {
  if (!isRecord(value)) return new Error('webview message is not an object');
  if (value.kind === 'ready') return { kind: 'ready' };
  if (value.kind !== 'request') return new Error(`webview message has unknown kind ${JSON.stringify(value.kind)}`);
  if (!isRequestId(value.id)) return new Error(`webview request has no valid id (got ${JSON.stringify(value.id)})`);
  const { id, method, params } = value;
  if (!isRecord(params)) return new Error(`webview request ${id} (${String(method)}): params is not an object`);
  switch (method) {
    case 'inspector/selectCorrection':
    case 'inspector/openTrace':
      if (!nonEmptyString(params.recordId)) return new Error(`webview request ${id} (${method}): params.recordId must be a non-empty string`);
      return { kind: 'request', id, method, params: { recordId: params.recordId } };
    case 'runCommand':
      if (!(ALLOWED_COMMANDS as readonly unknown[]).includes(params.command)) {
        return new Error(`webview request ${id} (runCommand): ${JSON.stringify(params.command)} is not a command a webview may run`);
      }
      return { kind: 'request', id, method, params: { command: params.command as AllowedCommand } };
    case 'dashboard/openSamples': {
      const parsed = parseOpenSamplesParams(params);
      if (parsed instanceof Error) return new Error(`webview request ${id} (dashboard/openSamples): ${parsed.message}`);
      return { kind: 'request', id, method, params: parsed };
    }
    default:
      return new Error(`webview request ${id} has unknown method ${JSON.stringify(method)}`);
  }
}

/**
 * Checks a message the host posted, on the webview side. The host is trusted; this guards against
 * version skew and stray messages (VS Code itself posts some into the frame).
 */
export function parseHostMessage(value: unknown): HostMessage | Error {
  if (!isRecord(value)) return new Error('host message is not an object');
  if (value.kind === 'reply') {
    return isRequestId(value.id) ? { kind: 'reply', id: value.id, result: value.result } : new Error('reply without a valid id');
  }
  if (value.kind === 'error') {
    if (!isRequestId(value.id)) return new Error('error reply without a valid id');
    return { kind: 'error', id: value.id, message: typeof value.message === 'string' ? value.message : 'unknown error' };
  }
  if (value.kind === 'notify') {
    if (!(HOST_METHODS as readonly unknown[]).includes(value.method)) return new Error(`unknown notification ${JSON.stringify(value.method)}`);
    if (!isRecord(value.params)) return new Error(`notification ${String(value.method)} has no params object`);
    return value as unknown as HostMessage;
  }
  return new Error(`host message has unknown kind ${JSON.stringify(value.kind)}`);
}
