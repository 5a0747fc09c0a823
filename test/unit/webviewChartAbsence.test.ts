import { strict as assert } from 'node:assert';
import { chartAbsence, chartSpecs } from '../../webview/src/dashboard/chartSpecs';

describe('dashboard charts: series an imported run does not record', () => {
  const chart = (id: string) => chartSpecs().find((spec) => spec.id === id)!;

  it('a chart none of whose series is recorded is replaced by the text', () => {
    const absence = chartAbsence(chart('optimization'), { loss: 'not recorded by verl', kl: 'not recorded by verl', clipFraction: 'not recorded by verl' });
    assert.deepEqual(absence, { whole: 'not recorded by verl', series: [] });
    assert.deepEqual(chartAbsence(chart('throughput'), { tokensPerSecond: 'not recorded by prime-rl' }), { whole: 'not recorded by prime-rl', series: [] });
  });

  it('a chart with some series recorded keeps its plot and names the missing ones', () => {
    const absence = chartAbsence(chart('optimization'), { kl: 'not recorded by trl', clipFraction: 'not recorded by trl', tokensPerSecond: 'not recorded by trl' });
    assert.deepEqual(absence, { whole: null, series: ['KL: not recorded by trl', 'clip fraction: not recorded by trl'] });
  });

  it('says nothing when everything is recorded', () => {
    for (const spec of chartSpecs()) assert.deepEqual(chartAbsence(spec, {}), { whole: null, series: [] });
  });
});
