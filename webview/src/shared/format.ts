// Number formatting for the webviews. Pure (no DOM): test/unit/webviewFormat.test.ts checks it.
// Undefined metrics (null: RSS when Acc@t1 is 0 or 1, a GRPO run's Acc@t2) show as "—".
// Unit words (pp, s, m, h) go through l10n; digits and signs stay as they are.
import * as l10n from '@vscode/l10n';

export const MISSING = '—';

export function isNumber(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** 0.4567 -> "45.7%". */
export function percent(value: number | null | undefined, digits = 1): string {
  return isNumber(value) ? `${(value * 100).toFixed(digits)}%` : MISSING;
}

/** A difference of fractions in percentage points: 0.125 -> "+12.5 pp", -0.03 -> "−3.0 pp". */
export function percentPoints(value: number | null | undefined, digits = 1): string {
  if (!isNumber(value)) return MISSING;
  const text = (Math.abs(value) * 100).toFixed(digits);
  if (Number(text) === 0) return l10n.t('{0} pp', text);
  return l10n.t('{0} pp', `${value > 0 ? '+' : '−'}${text}`);
}

export function fixed(value: number | null | undefined, digits = 2): string {
  if (!isNumber(value)) return MISSING;
  const text = value.toFixed(digits);
  return /^-0\.?0*$/.test(text) ? text.slice(1) : text;
}

export function signed(value: number | null | undefined, digits = 3): string {
  const text = fixed(value, digits);
  if (text === MISSING || text.startsWith('-') || Number(text) === 0) return text;
  return `+${text}`;
}

/** A compact number for an axis or a rate: 950 -> "950", 12345 -> "12.3k", 0.00042 -> "4.2e-4". */
export function compact(value: number | null | undefined): string {
  if (!isNumber(value)) return MISSING;
  const abs = Math.abs(value);
  if (abs === 0) return '0';
  if (abs >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 0.01) return Number(value.toPrecision(3)).toString();
  return value.toExponential(1).replace('e-', 'e-').replace(/\.0e/, 'e');
}

/** "45s", "3m 20s", "1h 05m". */
export function duration(seconds: number | null | undefined): string {
  if (!isNumber(seconds) || seconds < 0) return MISSING;
  const s = Math.round(seconds);
  if (s < 60) return l10n.t('{0}s', s);
  if (s < 3600) return l10n.t('{0}m {1}s', Math.floor(s / 60), String(s % 60).padStart(2, '0'));
  const minutes = Math.round(s / 60);
  return l10n.t('{0}h {1}m', Math.floor(minutes / 60), String(minutes % 60).padStart(2, '0'));
}
