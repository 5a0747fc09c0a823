// The Runs view as data: run -> step -> question group -> layer-1 sample -> layer-2 corrections.
// The VS Code TreeDataProvider (src/vscode) only maps these nodes to TreeItems.
//
// Under a filter a node is shown when it or something below it matches: a layer-1 sample is
// shown when it matches or one of its corrections does, and lists only the matching corrections
// (all of them when the filter is about layer 1, since then they are context). Steps and groups
// without a match are hidden; which steps have matches is found by one pre-checked scan of the
// run, cached per filter for steps that are complete.

import { AbortError, type Layer1Sample, type QuestionGroup, type RunReader, type ScanOptions } from '../format/runReader';
import type { CorrectionOutcome, MetricsLine, RolloutRecord, RunManifest } from '../format/types';
import { correctnessText, notRecorded, orNotRecorded, recordSourceKind, runSourceKind } from './absence';
import { describeOutcome, filterKey, isEmptyFilter, matchesFilter, rawLineNeedles, type SampleFilter } from './filters';
import { isFlawedChain } from './stepTruth';
import { clip, codeSpan, escapeMarkdown, formatNumber, formatSigned } from './text';

interface NodeBase {
  /** Unique across runs: stable while the run exists, so a tree keeps its expansion state. */
  id: string;
  runDir: string;
}

export interface RunNode extends NodeBase {
  kind: 'run';
  manifest: RunManifest;
  lastMetrics?: MetricsLine;
  malformedLines: number;
}
export interface StepNode extends NodeBase {
  kind: 'step';
  step: number;
  metrics?: MetricsLine;
  /** Matching samples in this step under the current filter. */
  matches?: number;
}
export interface GroupNode extends NodeBase {
  kind: 'group';
  step: number;
  group: QuestionGroup;
  filter?: SampleFilter;
}
export interface Layer1Node extends NodeBase {
  kind: 'layer1';
  step: number;
  sample: Layer1Sample;
  /** The corrections shown under it. */
  corrections: RolloutRecord[];
}
export interface Layer2Node extends NodeBase {
  kind: 'layer2';
  step: number;
  record: RolloutRecord;
  parent: RolloutRecord;
}
export type RunTreeNode = RunNode | StepNode | GroupNode | Layer1Node | Layer2Node;

export interface NodePresentation {
  label: string;
  description: string;
  /** Markdown; model text in it is escaped. */
  tooltip: string;
  /** Codicon id, e.g. "pass". */
  icon: string;
  /** Theme colour id for the icon, e.g. "testing.iconPassed". */
  color: string | undefined;
  contextValue: string;
  collapsible: boolean;
}

/** contextValue of each node kind, for `when` clauses of the view's menus. */
export const CONTEXT_VALUES = {
  run: 'mgrpoRun',
  step: 'mgrpoStep',
  group: 'mgrpoGroup',
  layer1: 'mgrpoLayer1Sample',
  layer2: 'mgrpoLayer2Sample',
} as const;

export function runNode(reader: RunReader): RunNode {
  return {
    kind: 'run',
    id: reader.runDir,
    runDir: reader.runDir,
    manifest: reader.manifest,
    lastMetrics: reader.metrics[reader.metrics.length - 1],
    malformedLines: reader.malformed.length,
  };
}

/** The rollout record a node stands for (samples only). */
export function recordOf(node: RunTreeNode): RolloutRecord | undefined {
  if (node.kind === 'layer1') return node.sample.record;
  if (node.kind === 'layer2') return node.record;
  return undefined;
}

function stepNode(reader: RunReader, step: number, matches?: number): StepNode {
  return { kind: 'step', id: `${reader.runDir}::step:${step}`, runDir: reader.runDir, step, metrics: reader.metricsFor(step), matches };
}

export function visibleCorrections(sample: Layer1Sample, filter: SampleFilter | undefined): RolloutRecord[] {
  if (isEmptyFilter(filter) || filter?.layer === 1) return sample.corrections;
  return sample.corrections.filter((c) => matchesFilter(c, filter, sample.record));
}

export function isLayer1Visible(sample: Layer1Sample, filter: SampleFilter | undefined): boolean {
  if (isEmptyFilter(filter) || matchesFilter(sample.record, filter)) return true;
  return filter?.layer !== 1 && sample.corrections.some((c) => matchesFilter(c, filter, sample.record));
}

/** Matching records in a group: the count a filtered group would show. */
export function countMatches(group: QuestionGroup, filter: SampleFilter | undefined): number {
  let count = 0;
  for (const sample of group.layer1) {
    if (matchesFilter(sample.record, filter)) count += 1;
    for (const c of sample.corrections) if (matchesFilter(c, filter, sample.record)) count += 1;
  }
  return count;
}

interface StepMatchCache {
  counts: Map<number, number>;
  /** RunReader.generation the counts belong to. */
  generation: number;
}
const matchCaches = new WeakMap<RunReader, Map<string, StepMatchCache>>();

/**
 * Matching records per step, for steps that have at least one. Scans only steps not counted
 * before (complete steps are counted once per filter; a live step is counted every time).
 */
export async function matchingStepCounts(reader: RunReader, filter: SampleFilter, opts: Pick<ScanOptions, 'signal' | 'onProgress'> = {}): Promise<Map<number, number>> {
  let perFilter = matchCaches.get(reader);
  if (!perFilter) {
    perFilter = new Map();
    matchCaches.set(reader, perFilter);
  }
  const key = filterKey(filter);
  let cache = perFilter.get(key);
  if (!cache || cache.generation !== reader.generation) {
    cache = { counts: new Map(), generation: reader.generation };
    perFilter.set(key, cache);
  }
  const steps = reader.steps();
  const toScan = steps.filter((s) => !cache.counts.has(s));
  // From the steps' indexes: no record is parsed to count matches, except for step-truth
  // filters, which need each record's steps and its parent.
  const fresh = filter.stepTruth !== undefined
    ? await countInParsedSteps(reader, filter, { steps: toScan, signal: opts.signal, onProgress: opts.onProgress })
    : await countMatchingRows(reader, filter, toScan, opts);
  for (const [step, count] of fresh) if (reader.isStepComplete(step)) cache.counts.set(step, count);
  const result = new Map<number, number>();
  for (const step of steps) {
    const count = cache.counts.get(step) ?? fresh.get(step) ?? 0;
    if (count > 0) result.set(step, count);
  }
  return result;
}

/**
 * Matches per step. Indexed steps are counted from their indexes (no record parsed). Steps not
 * indexed yet are, when the filter has a raw pre-check, searched the old way (a native search of
 * the files, parsing only candidate lines: as fast as a first filter was before the indexes),
 * and indexed in the background for the next filter; without a pre-check they are indexed now,
 * which is still faster than parsing every record.
 */
async function countMatchingRows(reader: RunReader, filter: SampleFilter, steps: number[], opts: Pick<ScanOptions, 'signal' | 'onProgress'>): Promise<Map<number, number>> {
  const needles = rawLineNeedles(filter);
  const searched = needles ? steps.filter((s) => !reader.isIndexed(s)) : [];
  const indexed = needles ? steps.filter((s) => reader.isIndexed(s)) : steps;
  const counts = await reader.countRows((row) => matchesFilter(row, filter), { steps: indexed, signal: opts.signal, onProgress: searched.length === 0 ? opts.onProgress : undefined });
  if (searched.length > 0) {
    for (const step of searched) counts.set(step, 0);
    await reader.scan((record) => {
      if (matchesFilter(record, filter)) counts.set(record.step, (counts.get(record.step) ?? 0) + 1);
    }, { steps: searched, mustContain: needles, signal: opts.signal, onProgress: opts.onProgress });
    void reader.buildIndexes({ steps: searched, signal: opts.signal }).catch(() => undefined);
  }
  return counts;
}

async function countInParsedSteps(reader: RunReader, filter: SampleFilter, opts: Pick<ScanOptions, 'signal' | 'onProgress' | 'steps'>): Promise<Map<number, number>> {
  const steps = opts.steps ?? reader.steps();
  const counts = new Map<number, number>();
  for (let i = 0; i < steps.length; i++) {
    if (opts.signal?.aborted) throw new AbortError();
    let count = 0;
    try {
      for (const group of (await reader.loadStep(steps[i])).groups) count += countMatches(group, filter);
    } catch (error) {
      // A step file gone meanwhile (a resumed run) counts 0, as in countRows.
      if (!reader.steps().includes(steps[i])) count = 0;
      else throw error;
    }
    counts.set(steps[i], count);
    opts.onProgress?.(i + 1, steps.length);
  }
  return counts;
}

export async function childrenOf(node: RunTreeNode, reader: RunReader, filter?: SampleFilter, opts: Pick<ScanOptions, 'signal' | 'onProgress'> = {}): Promise<RunTreeNode[]> {
  const filtered = !isEmptyFilter(filter);
  switch (node.kind) {
    case 'run': {
      if (!filtered) return reader.steps().map((step) => stepNode(reader, step));
      const counts = await matchingStepCounts(reader, filter as SampleFilter, opts);
      return [...counts].map(([step, matches]) => stepNode(reader, step, matches));
    }
    case 'step': {
      const rollouts = await reader.loadStep(node.step);
      return rollouts.groups
        .filter((group) => !filtered || group.layer1.some((s) => isLayer1Visible(s, filter)))
        .map((group) => ({ kind: 'group', id: `${reader.runDir}::group:${node.step}:${group.group}`, runDir: reader.runDir, step: node.step, group, filter: filtered ? filter : undefined }));
    }
    case 'group':
      return node.group.layer1
        .filter((sample) => isLayer1Visible(sample, filter))
        .map((sample) => ({ kind: 'layer1', id: `${reader.runDir}::${sample.record.id}`, runDir: reader.runDir, step: node.step, sample, corrections: visibleCorrections(sample, filter) }));
    case 'layer1':
      return node.corrections.map((record) => ({ kind: 'layer2', id: `${reader.runDir}::${record.id}`, runDir: reader.runDir, step: node.step, record, parent: node.sample.record }));
    case 'layer2':
      return [];
  }
}

const OUTCOME_ICONS: Record<CorrectionOutcome, { icon: string; color: string }> = {
  'i->c': { icon: 'arrow-up', color: 'charts.green' },
  'c->i': { icon: 'arrow-down', color: 'charts.red' },
  'c->c': { icon: 'pass', color: 'testing.iconPassed' },
  'i->i': { icon: 'error', color: 'testing.iconFailed' },
};

const RUN_STATUS_ICONS: Record<RunManifest['status'], { icon: string; color: string | undefined }> = {
  running: { icon: 'sync~spin', color: 'charts.blue' },
  paused: { icon: 'debug-pause', color: 'charts.yellow' },
  finished: { icon: 'pass', color: 'testing.iconPassed' },
  stopped: { icon: 'debug-stop', color: undefined },
  failed: { icon: 'error', color: 'testing.iconFailed' },
};

/** A right answer reached through a wrong step (stepTruth.isFlawedChain): flagged, so luck is not read as skill. */
const FLAWED_CHAIN_ICON = { icon: 'warning', color: 'list.warningForeground' };

function flawedChainNote(record: RolloutRecord): string {
  return isFlawedChain(record) ? 'flawed chain · ' : '';
}

/** ✓ / ✗, and ? when an imported run's source did not say. */
function mark(correct: boolean | null): string {
  return correct === null ? '?' : correct ? '✓' : '✗';
}

function accuracyChange(metrics: MetricsLine | undefined): string {
  const c = metrics?.correction;
  if (!c) return metrics ? `acc ${formatNumber(metrics.layer1.accuracy)}` : '';
  return `Acc@t1 ${formatNumber(c.acc_t1)} → Acc@t2 ${formatNumber(c.acc_t2)}`;
}

/** A two-column Markdown table; every cell is plain text and is escaped here, numbers included. */
function table(rows: [string, string][]): string {
  return ['| | |', '|:--|:--|', ...rows.map(([k, v]) => `| ${escapeMarkdown(k)} | ${escapeMarkdown(v)} |`)].join('\n');
}

/** A bold heading line of plain text. */
function heading(text: string): string {
  return `**${escapeMarkdown(text)}**`;
}

function sampleTooltip(record: RolloutRecord, title: string): string {
  const kind = recordSourceKind(record);
  const rows: [string, string][] = [
    ['reward', orNotRecorded(record.reward, (value) => formatNumber(value), kind)],
    ['advantage', orNotRecorded(record.advantage, (value) => formatSigned(value), kind)],
    ['group reward', record.group_reward_mean === null ? notRecorded(kind) : `mean ${formatNumber(record.group_reward_mean, 3)} · std ${formatNumber(record.group_reward_std, 3)}`],
    ['answer', `${clip(record.parsed_answer ?? '—', 60)} (truth ${record.ground_truth === null ? notRecorded(kind) : clip(record.ground_truth, 60)})`],
    ['tokens', `${orNotRecorded(record.completion_tokens, String, kind)}${record.finish_reason === 'length' ? ' (hit the length limit)' : ''}`],
  ];
  if (kind !== undefined) rows.push(['source', `${kind}${record.source?.location ? ` · ${clip(record.source.location, 80)}` : ''}`]);
  return [
    `${heading(title)} ${codeSpan(record.id)}`,
    '',
    table(rows),
    '',
    escapeMarkdown(clip(record.completion, 300)),
  ].join('\n');
}

export function presentation(node: RunTreeNode): NodePresentation {
  switch (node.kind) {
    case 'run':
      return runPresentation(node);
    case 'step':
      return stepPresentation(node);
    case 'group':
      return groupPresentation(node);
    case 'layer1':
      return layer1Presentation(node);
    case 'layer2':
      return layer2Presentation(node);
  }
}

function runPresentation(node: RunNode): NodePresentation {
  const m = node.manifest;
  // run.json is rewritten at checkpoints; metrics.jsonl grows every step, so a live run's progress is the larger.
  const stepsDone = Math.max(m.completed_steps, node.lastMetrics?.step ?? 0);
  const status = RUN_STATUS_ICONS[m.status] ?? { icon: 'circle-outline', color: undefined };
  const rows: [string, string][] = [
    ['run', m.run_id],
    ['status', m.status + (m.error ? `: ${clip(m.error, 200)}` : '')],
    ['algorithm', m.algorithm],
    ['model', m.model.name_or_path ?? notRecorded(runSourceKind(m))],
    ['steps', `${stepsDone} / ${m.total_steps}`],
    ['folder', node.runDir],
  ];
  if (node.lastMetrics) rows.push(['last step', accuracyChange(node.lastMetrics)]);
  if (node.malformedLines > 0) rows.push(['malformed lines', `${node.malformedLines} skipped`]);
  if (m.source) {
    rows.push(['imported from', `${m.source.kind}${m.source.path ? ` · ${clip(m.source.path, 200)}` : ''}`]);
    if (m.source.absent_fields?.length) rows.push(['not recorded', m.source.absent_fields.join(', ')]);
    if (m.source.rows_unreadable) rows.push(['unreadable rows', `${m.source.rows_unreadable} skipped`]);
  }
  return {
    label: m.name ?? m.run_id,
    description: [`${m.status} · ${stepsDone}/${m.total_steps}`, accuracyChange(node.lastMetrics), node.malformedLines > 0 ? `⚠ ${node.malformedLines} malformed` : '']
      .filter(Boolean)
      .join(' · '),
    tooltip: `${heading(m.name ?? m.run_id)}\n\n${table(rows)}`,
    icon: status.icon,
    color: status.color,
    contextValue: CONTEXT_VALUES.run,
    collapsible: true,
  };
}

function stepRows(m: MetricsLine): [string, string][] {
  const rows: [string, string][] = [];
  rows.push(['layer 1 reward', `mean ${formatNumber(m.layer1.reward_mean, 3)} · std ${formatNumber(m.layer1.reward_std, 3)}`]);
  if (m.layer2) rows.push(['layer 2 reward', `mean ${formatNumber(m.layer2.reward_mean, 3)} · std ${formatNumber(m.layer2.reward_std, 3)}`]);
  if (m.correction) {
    const c = m.correction;
    rows.push(['Acc@t1 → Acc@t2', `${formatNumber(c.acc_t1, 3)} → ${formatNumber(c.acc_t2, 3)}`]);
    rows.push(['Δ (i→c, c→i)', `${formatSigned(c.delta)} (${formatNumber(c.delta_i2c, 3)}, ${formatNumber(c.delta_c2i, 3)})`]);
    rows.push(['CL · CS · RSS', `${formatNumber(c.cl, 3)} · ${formatNumber(c.cs, 3)} · ${formatNumber(c.rss, 3)}`]);
  }
  rows.push(['loss · KL', `${formatNumber(m.loss, 4)} · ${formatNumber(m.kl, 4)}`]);
  return rows;
}

function stepPresentation(node: StepNode): NodePresentation {
  const m = node.metrics;
  const matches = node.matches !== undefined ? `${node.matches} matching` : '';
  return {
    label: `step ${node.step}`,
    description: [matches, accuracyChange(m) || 'in progress'].filter(Boolean).join(' · '),
    tooltip: `${heading(`step ${node.step}`)}\n\n${m ? table(stepRows(m)) : 'no metrics line yet (step in progress)'}`,
    icon: 'layers',
    color: undefined,
    contextValue: CONTEXT_VALUES.step,
    collapsible: true,
  };
}

function groupPresentation(node: GroupNode): NodePresentation {
  const g = node.group;
  let right1 = 0;
  let right2 = 0;
  let total2 = 0;
  for (const s of g.layer1) {
    if (s.record.correct) right1 += 1;
    for (const c of s.corrections) {
      total2 += 1;
      if (c.correct) right2 += 1;
    }
  }
  const counts = `layer 1 ${right1}/${g.layer1.length} right${total2 > 0 ? ` · layer 2 ${right2}/${total2} right` : ''}`;
  const matches = node.filter ? `${countMatches(g, node.filter)} matching · ` : '';
  return {
    label: `q ${g.group} · ${clip(g.question ?? `(prompt ${notRecorded(groupSourceKind(g))})`, 60)}`,
    description: matches + counts,
    tooltip: `${heading(`question ${g.group}`)} ${codeSpan(g.questionId)} · ${escapeMarkdown(counts)}\n\n${escapeMarkdown(clip(g.question ?? `(prompt ${notRecorded(groupSourceKind(g))})`, 500))}`,
    icon: 'question',
    color: undefined,
    contextValue: CONTEXT_VALUES.group,
    collapsible: g.layer1.length > 0,
  };
}

/** The source kind of an imported group (its records'), for "not recorded by <kind>". */
function groupSourceKind(g: QuestionGroup): string | undefined {
  const first = g.layer1[0];
  return first ? recordSourceKind(first.record) : undefined;
}

/** "adv +0.500", or "adv not recorded by verl" for an imported run without advantages. */
function advantageNote(r: RolloutRecord): string {
  return `adv ${orNotRecorded(r.advantage, (value) => formatSigned(value), recordSourceKind(r))}`;
}

function tokenNote(r: RolloutRecord): string {
  return r.completion_tokens === null ? `tokens ${notRecorded(recordSourceKind(r))}` : `${r.completion_tokens} tok`;
}

function layer1Presentation(node: Layer1Node): NodePresentation {
  const r = node.sample.record;
  const corrections = node.sample.corrections.length;
  return {
    label: `${mark(r.correct)} sample ${r.sample}  r=${formatNumber(r.reward)}`,
    description: `${flawedChainNote(r)}${advantageNote(r)} · ${tokenNote(r)}${corrections > 0 ? ` · ${corrections} correction${corrections === 1 ? '' : 's'}` : ''}`,
    tooltip: sampleTooltip(r, `layer-1 sample ${r.sample} · ${correctnessText(r.correct, recordSourceKind(r))}${isFlawedChain(r) ? ', flawed chain' : ''}`),
    icon: isFlawedChain(r) ? 'warning' : r.correct === null ? 'circle-outline' : r.correct ? 'pass' : 'error',
    color: isFlawedChain(r) ? 'list.warningForeground' : r.correct === null ? undefined : r.correct ? 'testing.iconPassed' : 'testing.iconFailed',
    contextValue: CONTEXT_VALUES.layer1,
    collapsible: node.corrections.length > 0,
  };
}

function layer2Presentation(node: Layer2Node): NodePresentation {
  const r = node.record;
  const look = isFlawedChain(r) ? FLAWED_CHAIN_ICON : r.outcome ? OUTCOME_ICONS[r.outcome] : { icon: r.correct ? 'pass' : 'error', color: undefined };
  return {
    label: `${mark(r.correct)} ${r.outcome ?? '?'}  r=${formatNumber(r.reward)}`,
    description: `${flawedChainNote(r)}${advantageNote(r)} · ${tokenNote(r)}${r.guiding_phrase ? ` · “${clip(r.guiding_phrase, 40)}”` : ''}`,
    tooltip: sampleTooltip(r, `correction ${r.sample}${r.outcome ? ` · ${describeOutcome(r.outcome)}` : ''}${isFlawedChain(r) ? ', flawed chain' : ''}`),
    icon: look.icon,
    color: look.color,
    contextValue: CONTEXT_VALUES.layer2,
    collapsible: false,
  };
}
