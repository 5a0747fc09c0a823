import { strict as assert } from 'node:assert';
import { parseRewardRange } from '../../extension/src/model/rewardRange';

describe('parseRewardRange (Filter Samples: custom reward range)', () => {
  it('reads closed and open ranges', () => {
    assert.deepEqual(parseRewardRange('0.5..1'), { minReward: 0.5, maxReward: 1 });
    assert.deepEqual(parseRewardRange(' ..0 '), { maxReward: 0 });
    assert.deepEqual(parseRewardRange('1..'), { minReward: 1 });
    assert.deepEqual(parseRewardRange('-0.25 .. 0.75'), { minReward: -0.25, maxReward: 0.75 });
  });

  it('reads a single number as an exact reward', () => {
    assert.deepEqual(parseRewardRange('1'), { minReward: 1, maxReward: 1 });
  });

  it('names what is wrong', () => {
    assert.match((parseRewardRange('') as { error: string }).error, /like 0\.5\.\.1/);
    assert.match((parseRewardRange('a..1') as { error: string }).error, /minimum "a" is not a number/);
    assert.match((parseRewardRange('0..x') as { error: string }).error, /maximum "x" is not a number/);
    assert.match((parseRewardRange('2..1') as { error: string }).error, /minimum 2 is above maximum 1/);
    assert.match((parseRewardRange('..') as { error: string }).error, /minimum, a maximum or both/);
    assert.match((parseRewardRange('0..1..2') as { error: string }).error, /more than one/);
  });
});
