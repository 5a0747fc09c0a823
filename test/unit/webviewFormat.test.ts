import { strict as assert } from 'node:assert';
import { cssColorToHex, monacoBase } from '../../webview/src/shared/color';
import { compact, duration, fixed, MISSING, percent, percentPoints, signed } from '../../webview/src/shared/format';

describe('webview formatting', () => {
  it('shows undefined metrics as a dash', () => {
    for (const value of [null, undefined, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.equal(percent(value), MISSING);
      assert.equal(percentPoints(value), MISSING);
      assert.equal(fixed(value), MISSING);
      assert.equal(signed(value), MISSING);
      assert.equal(compact(value), MISSING);
      assert.equal(duration(value), MISSING);
    }
    assert.equal(MISSING, '—');
  });

  it('formats percentages, differences in points, signs and durations', () => {
    assert.equal(percent(0.875), '87.5%');
    assert.equal(percent(0), '0.0%');
    assert.equal(percentPoints(0.125), '+12.5 pp');
    assert.equal(percentPoints(-0.112), '−11.2 pp');
    assert.equal(percentPoints(0), '0.0 pp');
    assert.equal(fixed(-0.0001, 2), '0.00');
    assert.equal(fixed(0.8333333, 3), '0.833');
    assert.equal(signed(1), '+1.000');
    assert.equal(signed(-0.5), '-0.500');
    assert.equal(duration(45), '45s');
    assert.equal(duration(200), '3m 20s');
    assert.equal(duration(3900), '1h 05m');
    assert.equal(compact(950), '950');
    assert.equal(compact(12345), '12.3k');
    assert.equal(compact(0.0246), '0.0246');
    assert.equal(compact(0.0008), '8e-4');
  });
});

describe('webview theme colours', () => {
  it('turns VS Code colour values into the hex Monaco accepts', () => {
    assert.equal(cssColorToHex('#1E1E1E'), '#1e1e1e');
    assert.equal(cssColorToHex('#abc'), '#aabbcc');
    assert.equal(cssColorToHex('#3794ff80'), '#3794ff80');
    assert.equal(cssColorToHex('rgb(255, 0, 16)'), '#ff0010');
    // 0.5 * 255 = 127.5 -> 128 = 0x80
    assert.equal(cssColorToHex('rgba(55, 148, 255, 0.5)'), '#3794ff80');
    assert.equal(cssColorToHex('rgba(0 0 0 / 25%)'), '#00000040');
    assert.equal(cssColorToHex('rgba(1, 2, 3, 1)'), '#010203');
    assert.equal(cssColorToHex('var(--x)'), undefined);
    assert.equal(cssColorToHex('rgb(300, 0, 0)'), undefined);
    assert.equal(cssColorToHex(''), undefined);
  });

  it("picks Monaco's base theme from VS Code's body classes", () => {
    assert.equal(monacoBase(['vscode-light']), 'vs');
    assert.equal(monacoBase(['vscode-dark']), 'vs-dark');
    assert.equal(monacoBase(['vscode-high-contrast']), 'hc-black');
    assert.equal(monacoBase(['vscode-high-contrast', 'vscode-high-contrast-light']), 'hc-light');
    assert.equal(monacoBase([]), 'vs-dark');
  });
});
