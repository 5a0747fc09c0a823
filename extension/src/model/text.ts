// Formatting shared by labels, tooltips, hovers and documents. Model output is untrusted text:
// everything that goes into markdown passes through escapeMarkdown.

/** A fixed-decimals number; "—" for null, undefined, NaN and infinities. */
export function formatNumber(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const text = value.toFixed(digits);
  // -0.00 reads like a sign that means something; it does not.
  return /^-0\.?0*$/.test(text) ? text.slice(1) : text;
}

/** Like formatNumber with an explicit sign: advantages read as "+1.000" / "-0.500". */
export function formatSigned(value: number | null | undefined, digits = 3): string {
  const text = formatNumber(value, digits);
  if (text === '—' || text.startsWith('-')) return text;
  return Number(text) === 0 ? text : `+${text}`;
}

/** A probability as a percentage: 0.8734 -> "87.3%". */
export function formatPercent(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `${(value * 100).toFixed(digits)}%`;
}

/**
 * A duration for people: "45s", "3m 05s", "1h 05m"; `coarse` drops the seconds of minutes
 * ("3m": a status bar's ETA is not a stopwatch). "—" when unknown or negative.
 */
export function formatDuration(seconds: number | null | undefined, precision: 'fine' | 'coarse' = 'fine'): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600 && precision === 'fine') return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes}m`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

const MARKDOWN_SPECIAL = /[\\`*_{}[\]()#+\-.!|~>]/g;

/**
 * Makes untrusted text inert in markdown: HTML is entity-escaped (no tags, no entities of its
 * own), markdown punctuation is backslash-escaped, line breaks become visible "⏎" marks so a
 * model cannot start a new block (a heading, a table, a fenced code block).
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(MARKDOWN_SPECIAL, (c) => `\\${c}`)
    .replace(/\r\n|\r|\n/g, ' ⏎ ');
}

/** The first `max` characters of a text on one line, with an ellipsis when cut. */
export function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, Math.max(0, max - 1))}…` : flat;
}

/** Untrusted text as an inline code span: rendered literally, so only backticks and line breaks need care. */
export function codeSpan(text: string): string {
  return `\`${text.replace(/`/g, "'").replace(/[\r\n]+/g, ' ')}\``;
}
