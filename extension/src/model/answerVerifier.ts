// The trainer's answer verifier (trainer/mgrpo/task.py: find_final_answer, normalize_answer, verify), ported
// so What If can judge corrections without Python. The chain task uses exactly this verifier. Checked against
// the Python one on the same cases (test/fixtures/verifier-cases.json, written and re-checked by
// trainer/tests/test_export_onnx.py). Known gap: Python's \d and Decimal accept every Unicode decimal digit;
// here numbers are ASCII digits (other digits stay text, so "٣" does not equal "3" here as it does in Python).

export interface AnswerVerdict {
  reward: number;
  /** The normalised answer the completion gave, or null when it gave none. */
  parsedAnswer: string | null;
  correct: boolean;
}

// "A: x", "Answer: x", "Final answer: x" or "#### x" on its own line; "the (final) answer is x". Lines end at
// "\n" only, as Python's re.MULTILINE has it; the \b of Python's Unicode patterns is a lookbehind here.
const ANSWER_LINE = /(?<![^\n])[ \t]*(?:(?:A|Answer|Final answer)[ \t]*:|####)[ \t]*(?<value>[^\n]*)(?![^\n])/dgiu;
const ANSWER_IS = /(?<![\p{L}\p{N}\p{M}_])the (?:final )?answer is[ \t]*:?[ \t]*(?<value>[^\n]*)(?![^\n])/dgiu;
const BOXED = /\\boxed\{/g;
const THOUSANDS = /^[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$/;
const NUMBER = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;

/** Python's str.isspace for one character (JavaScript's \s lacks U+001C..U+001F and U+0085). */
function isSpace(character: string): boolean {
  return /\s/u.test(character) || /[\u001c-\u001f\u0085]/u.test(character);
}

function splitWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  for (const character of text) {
    if (isSpace(character)) {
      if (current) words.push(current);
      current = '';
    } else current += character;
  }
  if (current) words.push(current);
  return words;
}

function stripSpan(text: string, start: number, end: number): [number, number] {
  while (start < end && isSpace(text[start])) start++;
  while (end > start && isSpace(text[end - 1])) end--;
  return [start, end];
}

function boxedSpans(text: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (const match of text.matchAll(BOXED)) {
    const open = match.index + match[0].length;
    let depth = 1;
    let position = open;
    while (position < text.length && depth) {
      if (text[position] === '{') depth++;
      else if (text[position] === '}') depth--;
      position++;
    }
    if (depth === 0) spans.push([open, position - 1]);
  }
  return spans;
}

/** The last final answer in the completion (by position), or null when there is none or it is empty. */
export function extractAnswer(completion: string): string | null {
  const candidates: Array<[number, number]> = [];
  for (const pattern of [ANSWER_LINE, ANSWER_IS]) {
    for (const match of completion.matchAll(pattern)) {
      const span = match.indices?.groups?.value;
      if (span) candidates.push([span[0], span[1]]);
    }
  }
  candidates.push(...boxedSpans(completion));
  if (candidates.length === 0) return null;
  const [start, end] = candidates.reduce((best, span) => (span[0] > best[0] || (span[0] === best[0] && span[1] > best[1]) ? span : best));
  const [from, to] = stripSpan(completion, start, end);
  return from === to ? null : completion.slice(from, to);
}

/** A decimal in canonical form, as Python's Decimal gives it: integral values as integers, no trailing zeros. */
function canonicalNumber(text: string): string {
  const negative = text.startsWith('-');
  const unsigned = text.replace(/^[+-]/, '');
  const [integerPart, fractionPart = ''] = unsigned.split('.');
  const integer = integerPart.replace(/^0+/, '') || '0';
  const fraction = fractionPart.replace(/0+$/, '');
  const isZero = integer === '0' && fraction === '';
  const body = fraction ? `${integer}.${fraction}` : integer;
  return negative && !isZero ? `-${body}` : body;
}

/** The trainer's normalize_answer: trimmed, a trailing full stop and a leading "$" on a number dropped, numbers canonical. */
export function normalizeAnswer(answer: string): string {
  let text = splitWords(answer).join(' ');
  text = text.replace(/\.+$/, '');
  const [start, end] = stripSpan(text, 0, text.length);
  text = text.slice(start, end);
  if (text.startsWith('$') && NUMBER.test(text.slice(1).replace(/,/g, ''))) text = text.slice(1);
  if (THOUSANDS.test(text)) text = text.replace(/,/g, '');
  if (NUMBER.test(text)) return canonicalNumber(text);
  return text;
}

/** Reward 1 when the completion's normalised final answer equals the normalised ground truth, else 0. */
export function verifyAnswer(completion: string, groundTruth: string): AnswerVerdict {
  const expected = normalizeAnswer(groundTruth);
  if (!expected) throw new Error(`ground truth is empty after normalisation: ${JSON.stringify(groundTruth)}`);
  const raw = extractAnswer(completion);
  const parsed = raw === null ? null : normalizeAnswer(raw);
  const correct = parsed !== null && parsed === expected;
  return { reward: correct ? 1 : 0, parsedAnswer: parsed || null, correct };
}

/**
 * One line of `python -m mgrpo verify` (the run's own verifier, math-verify for a JSON-lines task): its verdict,
 * or an Error saying what is wrong with the line.
 */
export function parseTrainerVerdict(line: string): AnswerVerdict | Error {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return new Error(`not JSON: ${line.slice(0, 200)}`);
  }
  if (typeof value !== 'object' || value === null) return new Error(`not a verdict: ${line.slice(0, 200)}`);
  const v = value as Record<string, unknown>;
  if (typeof v.error === 'string') return new Error(v.error);
  if (typeof v.reward !== 'number' || typeof v.correct !== 'boolean' || !(v.parsed_answer === null || typeof v.parsed_answer === 'string')) {
    return new Error(`not a verdict: ${line.slice(0, 200)}`);
  }
  return { reward: v.reward, correct: v.correct, parsedAnswer: v.parsed_answer };
}
