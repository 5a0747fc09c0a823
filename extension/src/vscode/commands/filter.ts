import * as vscode from 'vscode';
import { describeFilter, FILTER_PRESETS, isEmptyFilter, type SampleFilter } from '../../model/filters';
import { parseRewardRange } from '../../model/rewardRange';
import { STEP_TRUTH_FILTERS } from '../../model/stepTruth';
import type { CommandFactory } from '../ctx';

/** Filter Samples: a preset ("Layer 2 broke a right answer", ...) or a custom reward range. */
export const filterSamples: CommandFactory = (ctx) => async () => {
  type Item = vscode.QuickPickItem & { filter?: SampleFilter; custom?: 'reward' | 'clear' };
  const current = ctx.sampleFilter;
  const items: Item[] = FILTER_PRESETS.map((preset) => ({
    label: preset.label,
    detail: preset.detail,
    filter: preset.filter,
    picked: false,
  }));
  // Step truth (runs whose records carry step labels): flawed chains and where layer 2 departed.
  items.push({ label: vscode.l10n.t('step truth'), kind: vscode.QuickPickItemKind.Separator });
  for (const truth of STEP_TRUTH_FILTERS) items.push({ label: truth.label, detail: truth.detail, filter: { stepTruth: truth.id } });
  items.push({ label: '', kind: vscode.QuickPickItemKind.Separator });
  items.push({ label: `$(symbol-number) ${vscode.l10n.t('Reward range...')}`, detail: vscode.l10n.t('samples whose reward is in min..max (either end may be open)'), custom: 'reward' });
  if (!isEmptyFilter(current)) items.push({ label: `$(clear-all) ${vscode.l10n.t('Clear filter')}`, detail: vscode.l10n.t('now: {0}', describeFilter(current)), custom: 'clear' });
  const picked = await vscode.window.showQuickPick(items, {
    title: vscode.l10n.t('MGRPO: Filter Samples'),
    placeHolder: isEmptyFilter(current) ? vscode.l10n.t('Show only samples that...') : vscode.l10n.t('Active: {0}', describeFilter(current)),
    matchOnDetail: true,
  });
  if (!picked) return;
  if (picked.custom === 'clear') {
    ctx.setSampleFilter(undefined);
    return;
  }
  if (picked.custom === 'reward') {
    const text = await vscode.window.showInputBox({
      title: vscode.l10n.t('MGRPO: Filter Samples by Reward'),
      prompt: vscode.l10n.t('Reward range min..max (inclusive): 0.5..1, ..0, 1.., or one number'),
      value: current?.minReward !== undefined || current?.maxReward !== undefined ? `${current?.minReward ?? ''}..${current?.maxReward ?? ''}` : '',
      validateInput: (value) => {
        const parsed = parseRewardRange(value);
        return 'error' in parsed ? parsed.error : undefined;
      },
    });
    if (text === undefined) return;
    const range = parseRewardRange(text);
    if ('error' in range) return;
    ctx.setSampleFilter(range);
  } else if (picked.filter) {
    ctx.setSampleFilter(picked.filter);
  }
  await vscode.commands.executeCommand('mgrpo.runs.focus');
};

export const clearFilter: CommandFactory = (ctx) => () => {
  ctx.setSampleFilter(undefined);
};
