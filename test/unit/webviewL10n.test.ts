// The webviews' strings come from the extension's l10n bundle: configured from a small German
// bundle, the modules that make chart captions, table headers, tooltips and notes give the
// translations (with their placeholders filled); configured with none, they give English again.
import { strict as assert } from 'node:assert';
import type { EvalRow, InspectorSide } from '../../extension/src/webview/protocol';
import { chartAbsence, chartSpecs } from '../../webview/src/dashboard/chartSpecs';
import { evalColumns } from '../../webview/src/dashboard/evalColumns';
import { offsetBinWords } from '../../webview/src/dashboard/stepTruthLayout';
import { annotations } from '../../webview/src/inspector/annotations';
import { choiceLabel } from '../../webview/src/inspector/labels';
import { duration, percentPoints } from '../../webview/src/shared/format';
import { configureL10n, parseL10nMeta } from '../../webview/src/shared/l10n';
import { statusWords } from '../../webview/src/shared/words';

const GERMAN = {
  'Accuracy before and after correction': 'Genauigkeit vor und nach der Korrektur',
  'Loss, KL, clip fraction': 'Verlust, KL, Clip-Anteil',
  'clip fraction': 'Clip-Anteil',
  '{0}: {1}': '{0} – {1}',
  Step: 'Schritt',
  'Training step the model was evaluated after': 'Trainingsschritt, nach dem ausgewertet wurde',
  finished: 'beendet',
  '{0} pp': '{0} Pp',
  '{0}m {1}s': '{0} min {1} s',
  // The placeholders in another order than the English message's.
  "departing {0}–{1}% of layer 1's chain before its first wrong step": 'weicht {0}–{1} % der Kette von Schicht 1 vor deren erstem falschen Schritt ab',
  'L2 #{0} · {1} · r={2}': 'r={2} · {1} · L2 Nr. {0}',
  '{0} ({1})': '{0} ({1})',
  'wrong → right': 'falsch → richtig',
  '⚠ least confident: min p {0}, mean p {1}': '⚠ am unsichersten: min p {0}, Mittel p {1}',
};

const EVAL: EvalRow = { step: 3, split: 'test', n: 2, accT1: 0.5, accT2: 1, delta: 0.5, deltaI2C: 0.5, deltaC2I: 0, cl: 1, cs: 1, rss: 1.5 };

function side(): InspectorSide {
  return {
    recordId: 'r', layer: 2, sample: 0, text: 'a\nb', correct: true, parsedAnswer: '9', reward: 1, rewards: {}, advantage: 0.5, finishReason: 'stop',
    steps: [{ index: 0, start: 0, end: 1, minProb: 0.1, meanProb: 0.6, hover: '', changed: false }],
    divergentStep: null, leastConfident: [0],
  };
}

describe('webview strings through @vscode/l10n', () => {
  afterEach(() => configureL10n(undefined));

  it('gives the English strings without a bundle', () => {
    configureL10n(undefined);
    assert.equal(chartSpecs()[0].title, 'Accuracy before and after correction');
    assert.equal(evalColumns()[0].label, 'Step');
    assert.equal(percentPoints(0.125), '+12.5 pp');
    assert.equal(duration(200), '3m 20s');
  });

  it('translates a chart caption, a table header and its tooltip from the configured bundle', () => {
    configureL10n(GERMAN);
    const [accuracy] = chartSpecs();
    assert.equal(accuracy.title, 'Genauigkeit vor und nach der Korrektur');
    // Not in the bundle: English stays.
    assert.equal(accuracy.series[0].label, 'Acc@t1');
    const [step] = evalColumns();
    assert.equal(step.label, 'Schritt');
    assert.equal(step.title, 'Trainingsschritt, nach dem ausgewertet wurde');
    assert.equal(step.cell(EVAL), '3');
    assert.equal(statusWords('finished'), 'beendet');
  });

  it('fills placeholders in the translation, in its own order, with numbers formatted as before', () => {
    configureL10n(GERMAN);
    // (0.5 * 100).toFixed(1) = "50.0", signed: "+50.0".
    assert.equal(evalColumns()[4].cell(EVAL), '+50.0 Pp');
    // 200 s = 3 min 20 s.
    assert.equal(duration(200), '3 min 20 s');
    // Bin −2 of 4: 25–50 % of the chain before the first error.
    assert.equal(offsetBinWords(-2, 4), 'weicht 25–50 % der Kette von Schicht 1 vor deren erstem falschen Schritt ab');
    assert.equal(choiceLabel({ recordId: 'x', sample: 1, outcome: 'i->c', reward: 1, correct: true }), 'r=1.00 · i->c (falsch → richtig) · L2 Nr. 1');
    const optimization = chartSpecs().find((spec) => spec.id === 'optimization')!;
    assert.equal(optimization.title, 'Verlust, KL, Clip-Anteil');
    assert.deepEqual(chartAbsence(optimization, { clipFraction: 'von verl nicht aufgezeichnet' }).series, ['Clip-Anteil – von verl nicht aufgezeichnet']);
  });

  it('translates the inspector notes, keeping the two spaces that set them off from the text', () => {
    configureL10n(GERMAN);
    const weakest = annotations(side()).find((m) => m.kind === 'leastConfident')!;
    assert.equal(weakest.note, '  ⚠ am unsichersten: min p 0.10, Mittel p 0.60');
  });

  it('reads the bundle from the page <meta> content: JSON of strings, anything else is English', () => {
    assert.deepEqual(parseL10nMeta(JSON.stringify(GERMAN)), GERMAN);
    assert.deepEqual(parseL10nMeta('{"Step":"Schritt","bad":3,"nested":{"x":"y"}}'), { Step: 'Schritt' });
    assert.equal(parseL10nMeta(null), undefined);
    assert.equal(parseL10nMeta(''), undefined);
    assert.equal(parseL10nMeta('[1,2]'), undefined);
    assert.equal(parseL10nMeta('{}'), undefined);
    const warn = console.warn;
    console.warn = () => undefined;
    try {
      assert.equal(parseL10nMeta('{not json'), undefined);
    } finally {
      console.warn = warn;
    }
    // `__proto__` is not a translation (it would set the bundle's prototype).
    const hostile = parseL10nMeta('{"__proto__":"x","Step":"Schritt"}')!;
    assert.deepEqual(Object.keys(hostile), ['Step']);
    assert.equal(Object.getPrototypeOf(hostile), Object.prototype);
  });
});
