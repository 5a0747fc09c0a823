// The hover on a reasoning step of a trace document: what the step earned and how sure the
// policy was writing it. Markdown; every piece of model text goes through escapeMarkdown.

import type { RolloutRecord } from '../format/types';
import { correctnessText, notRecorded, recordSourceKind, sourceFieldEntries } from './absence';
import { describeOutcome } from './filters';
import type { TraceStep } from './segmentation';
import type { StepVerdict } from './stepTruth';
import { clip, codeSpan, escapeMarkdown, formatNumber, formatPercent, formatSigned } from './text';

export interface StepHoverContext {
  /** The layer-1 sample a layer-2 record corrects. */
  parent?: RolloutRecord;
  /** Whether layer 2 changed this step (layer-2 record: vs its parent; layer-1 record: in the correction shown beside it). */
  changedByLayer2?: boolean;
  /** This step's share of the sample's reward; default: its share of the completion's tokens. */
  rewardShare?: number;
  /** Step truth (stepTruth.stepVerdict): label, value and drop, shown when known. */
  truth?: StepVerdict;
}

/**
 * GRPO gives every token of a completion the sample's advantage, so a step's share of the
 * sample's reward signal is its share of the completion's tokens. Null without token data.
 */
export function stepTokenShare(record: RolloutRecord, step: TraceStep): number | null {
  if (!record.token_logprobs) return null;
  const total = record.token_logprobs.length;
  const [from, to] = step.tokenRange;
  return total > 0 ? (to - from) / total : null;
}

function tokenText(record: RolloutRecord, token: number): string {
  const offsets = record.token_offsets ?? [];
  const start = offsets[token] ?? 0;
  const end = offsets[token + 1] ?? record.completion.length;
  return record.completion.slice(start, Math.min(end, start + 40));
}

export function stepHoverMarkdown(record: RolloutRecord, step: TraceStep, ctx: StepHoverContext = {}): string {
  const lines: string[] = [];
  const kind = recordSourceKind(record);
  const layer = record.layer === 2 ? `layer 2${record.outcome ? ` · ${describeOutcome(record.outcome)}` : ''}` : 'layer 1';
  const answer = record.correct === null ? `answer correctness ${notRecorded(kind)}` : `${record.correct ? 'right' : 'wrong'} answer`;
  lines.push(`**Step ${step.index + 1}** · ${layer} · ${escapeMarkdown(answer)}`);
  lines.push('');
  lines.push(escapeMarkdown(clip(step.text, 160)));
  lines.push('');
  lines.push('| | |');
  lines.push('|:--|:--|');

  const components = Object.entries(record.rewards ?? {});
  const breakdown = components.length > 1 || (components.length === 1 && components[0][1] !== record.reward)
    ? ` (${components.map(([name, value]) => `${escapeMarkdown(name)} ${formatNumber(value)}`).join(', ')})`
    : '';
  lines.push(`| reward | ${record.reward === null ? escapeMarkdown(notRecorded(kind)) : formatNumber(record.reward)}${breakdown} |`);

  const [from, to] = step.tokenRange;
  if (ctx.rewardShare !== undefined) {
    lines.push(`| reward share | ${formatPercent(ctx.rewardShare)} |`);
  } else if (record.token_logprobs) {
    const share = stepTokenShare(record, step);
    lines.push(`| reward share | ${formatPercent(share)} (${to - from} of ${record.token_logprobs.length} tokens) |`);
  } else {
    lines.push(`| reward share | — (tokens ${escapeMarkdown(notRecorded(kind))}) |`);
  }
  lines.push(`| advantage | ${record.advantage === null ? escapeMarkdown(notRecorded(kind)) : formatSigned(record.advantage)} |`);
  lines.push(record.group_reward_mean === null && record.group_reward_std === null
    ? `| group reward | ${escapeMarkdown(notRecorded(kind))} (no group) |`
    : `| group reward | mean ${formatNumber(record.group_reward_mean, 3)} · std ${formatNumber(record.group_reward_std, 3)}${record.derived?.includes('group_reward_mean') ? ' (derived)' : ''} |`);
  if (!record.token_logprobs) {
    lines.push(`| token probability | ${escapeMarkdown(notRecorded(kind))} |`);
  } else if (step.meanProb !== null && step.minProb !== null) {
    const weakest = step.minProbToken !== null ? ` at “${escapeMarkdown(tokenText(record, step.minProbToken))}”` : '';
    lines.push(`| token probability | mean ${formatNumber(step.meanProb, 3)} · min ${formatNumber(step.minProb, 3)}${weakest} |`);
  } else {
    lines.push('| token probability | — (no tokens in this step) |');
  }
  lines.push(...stepTruthRows(ctx.truth));
  if (ctx.changedByLayer2 !== undefined) {
    const what = record.layer === 2 ? (ctx.changedByLayer2 ? 'changed from layer 1' : 'same as layer 1') : ctx.changedByLayer2 ? 'changed by layer 2' : 'kept by layer 2';
    lines.push(`| layer 2 | ${what} |`);
  }
  if (ctx.parent) {
    lines.push(`| corrects | ${codeSpan(ctx.parent.id)} (${escapeMarkdown(correctnessText(ctx.parent.correct, recordSourceKind(ctx.parent)))}, reward ${formatNumber(ctx.parent.reward)}) |`);
  }
  if (kind !== undefined) {
    // An imported record: where it came from and the source's other columns (model/source text: escaped).
    lines.push(`| source | ${escapeMarkdown(kind)}${record.source?.location ? ` · ${escapeMarkdown(clip(record.source.location, 80))}` : ''} |`);
    for (const [name, value] of sourceFieldEntries(record)) lines.push(`| ${escapeMarkdown(clip(name, 40))} | ${escapeMarkdown(value)} |`);
  }
  return lines.join('\n');
}

/** Table rows for a step's label and Monte-Carlo value; none when neither is known. */
export function stepTruthRows(truth: StepVerdict | undefined): string[] {
  if (!truth) return [];
  const rows: string[] = [];
  if (truth.label !== null) {
    const first = truth.isFirstError ? ' · first wrong step' : '';
    rows.push(`| step check | ${escapeMarkdown(truth.label)}${truth.source ? ` (${escapeMarkdown(truth.source)})` : ''}${first} |`);
  }
  if (truth.value !== null) {
    const drop = truth.drop !== null ? ` · drop ${formatSigned(truth.drop, 2)}` : '';
    rows.push(`| step value | ${formatNumber(truth.value, 2)}${drop}${truth.isLikelyError ? ' · likely error' : ''} |`);
  }
  return rows;
}
