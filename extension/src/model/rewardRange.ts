// Parses the custom reward range of "Filter Samples" ("0.5..1", "..0", "1..", "0.5"), kept free
// of vscode so it is unit-tested (test/unit/rewardRange.test.ts).

export interface RewardRange {
  minReward?: number;
  maxReward?: number;
}

/** The range, or an Error message naming what is wrong (for the input box's validation). */
export function parseRewardRange(text: string): RewardRange | { error: string } {
  const trimmed = text.trim();
  if (!trimmed) return { error: 'Type a range like 0.5..1, ..0 or 1..' };
  const parts = trimmed.includes('..') ? trimmed.split('..') : [trimmed, trimmed];
  if (parts.length !== 2) return { error: `"${trimmed}" has more than one "..": use min..max` };
  const [minText, maxText] = parts.map((p) => p.trim());
  const range: RewardRange = {};
  if (minText) {
    const min = Number(minText);
    if (!Number.isFinite(min)) return { error: `minimum "${minText}" is not a number` };
    range.minReward = min;
  }
  if (maxText) {
    const max = Number(maxText);
    if (!Number.isFinite(max)) return { error: `maximum "${maxText}" is not a number` };
    range.maxReward = max;
  }
  if (range.minReward === undefined && range.maxReward === undefined) return { error: 'give a minimum, a maximum or both' };
  if (range.minReward !== undefined && range.maxReward !== undefined && range.minReward > range.maxReward) {
    return { error: `minimum ${range.minReward} is above maximum ${range.maxReward}` };
  }
  return range;
}
