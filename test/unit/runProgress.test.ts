import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MetricsLine } from '../../extension/src/format/types';
import {
  advanceProgress, describeProgress, emptyProgress, ETA_WINDOW, etaSeconds, fractionDone,
} from '../../extension/src/model/runProgress';
import { formatDuration } from '../../extension/src/model/text';

const fixtureMetrics: MetricsLine[] = fs
  .readFileSync(path.join(__dirname, '../fixtures/example-run/metrics.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as MetricsLine);

describe('runProgress (status bar summary of a live run)', () => {
  it('reads Acc@t1 and Acc@t2 from the correction table of the example run', () => {
    const p = advanceProgress(emptyProgress(2), fixtureMetrics[0], 2);
    assert.equal(p.step, 1);
    assert.equal(p.accT1, 0.5);
    assert.equal(p.accT2, 0.75);
    // one step of 2.1 s done, one left -> 2.1 s
    assert.equal(etaSeconds(p), 2.1);
    assert.equal(describeProgress(p), 'step 1/2 · 50%→75% · ETA 2s');
  });

  it('drops the ETA once the last step is done', () => {
    let p = emptyProgress(2);
    for (const m of fixtureMetrics) p = advanceProgress(p, m, 2);
    assert.equal(p.step, 2);
    assert.equal(etaSeconds(p), 0);
    assert.match(describeProgress(p), /^step 2\/2 · 75%→88%$/); // 0.875 rounds to 88
    assert.equal(fractionDone(p), 1);
  });

  it('averages the ETA over the last ETA_WINDOW steps only', () => {
    let p = emptyProgress(100);
    const base = fixtureMetrics[0];
    // 5 slow steps (100 s) then ETA_WINDOW fast ones (2 s): only the fast ones count.
    const times = [...Array(5).fill(100), ...Array(ETA_WINDOW).fill(2)];
    times.forEach((seconds, i) => {
      p = advanceProgress(p, { ...base, step: i + 1, step_seconds: seconds }, 100);
    });
    assert.equal(p.step, 15);
    assert.equal(etaSeconds(p), 85 * 2);
    assert.equal(formatDuration(etaSeconds(p)!, 'coarse'), '3m');
  });

  it('falls back to layer-1 accuracy for GRPO runs without a correction table', () => {
    const grpo: MetricsLine = { ...fixtureMetrics[0], layer2: null, correction: null };
    const p = advanceProgress(emptyProgress(10), grpo, 10);
    assert.equal(p.accT2, null);
    assert.equal(describeProgress(p), 'step 1/10 · acc 50% · ETA 19s'); // 9 * 2.1 = 18.9
  });

  it('formats durations coarsely', () => {
    assert.equal(formatDuration(44.6), '45s');
    assert.equal(formatDuration(150, 'coarse'), '3m'); // 2.5 min rounds up
    assert.equal(formatDuration(150), '2m 30s');
    assert.equal(formatDuration(3900), '1h 05m');
    assert.equal(formatDuration(-1), '—');
    assert.equal(formatDuration(null), '—');
    assert.equal(formatDuration(3900), '1h 05m');
    assert.equal(etaSeconds(emptyProgress(10)), undefined);
  });
});
