// What If's data shaping, free of VS Code: the layer-2 prompt (from a correction the trainer recorded, with the
// first answer swapped for the edit; or built as the trainer builds it, trainer/mgrpo/prompts.py
// build_layer2_prompt, Python str.format semantics), the verdicts and outcomes of the corrections, and a line
// diff of each against the edited first answer.

import { verifyAnswer, type AnswerVerdict } from '../model/answerVerifier';

export const DEFAULT_LAYER2_TEMPLATE = '{layer1_prompt}{layer1_completion}{guiding_phrase}\n';
export const DEFAULT_GUIDING_PHRASES = [
  'Wait, let me double-check that.',
  'Where might I have gone wrong? Let me check carefully.',
  'Let me verify each step again.',
];

/** Python's str.format for named placeholders only ({{ and }} are braces); anything else is an error naming it. */
export function formatTemplate(template: string, values: Record<string, string>): string {
  let out = '';
  for (let index = 0; index < template.length; index++) {
    const character = template[index];
    if (character === '{' && template[index + 1] === '{') {
      out += '{';
      index++;
    } else if (character === '}' && template[index + 1] === '}') {
      out += '}';
      index++;
    } else if (character === '{') {
      const close = template.indexOf('}', index);
      const name = close === -1 ? '' : template.slice(index + 1, close);
      if (!(name in values)) throw new Error(`template placeholder {${name}} is not one of ${Object.keys(values).map((k) => `{${k}}`).join(', ')}`);
      out += values[name];
      index = close;
    } else if (character === '}') {
      throw new Error(`single '}' in template ${JSON.stringify(template)}`);
    } else out += character;
  }
  return out;
}

/** The correction prompt for an edited first answer, exactly as the trainer would build it. */
export function buildLayer2Prompt(layer1Prompt: string, layer1Completion: string, guidingPhrase: string, template = DEFAULT_LAYER2_TEMPLATE): string {
  if (template.includes('{question}')) throw new Error('this run\'s layer2_template uses {question}, which What If cannot fill from a record; use a template without it');
  const completion = layer1Completion && !layer1Completion.endsWith('\n') ? `${layer1Completion}\n` : layer1Completion;
  const values: Record<string, string> = { layer1_prompt: layer1Prompt, layer1_completion: completion, guiding_phrase: guidingPhrase };
  for (const name of ['layer1_completion', 'guiding_phrase']) if (!template.includes(`{${name}}`)) throw new Error(`layer2_template is missing the placeholder {${name}}`);
  return formatTemplate(template, values);
}

/**
 * The correction prompt for an edited first answer, from a correction the trainer recorded for the same first
 * answer: that correction's prompt with the original first answer replaced by the edit. Exact for any
 * layer2_template, `{question}` and chat templates included, since the trainer built it. The edit keeps the
 * original's ending (the trainer adds a line break after an answer without one). Null when the recorded prompt
 * does not hold the first answer verbatim (cut in the middle to fit max_prompt_length, or an empty answer).
 */
export function promptFromRecordedCorrection(correctionPrompt: string, original: string, edited: string): string | null {
  const at = original ? correctionPrompt.lastIndexOf(original) : -1;
  if (at === -1) return null;
  let replacement = edited;
  if (original.endsWith('\n') && !replacement.endsWith('\n')) replacement += '\n';
  if (!original.endsWith('\n')) replacement = replacement.replace(/\n$/, '');
  return correctionPrompt.slice(0, at) + replacement + correctionPrompt.slice(at + original.length);
}

export type DiffLine = { kind: ' ' | '-' | '+'; text: string };

/** Line diff (longest common subsequence of lines): what a correction kept, dropped and added. */
export function lineDiff(before: string, after: string): DiffLine[] {
  const a = before.split('\n');
  const b = after.split('\n');
  const lengths: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lengths[i][j] = a[i] === b[j] ? lengths[i + 1][j + 1] + 1 : Math.max(lengths[i + 1][j], lengths[i][j + 1]);
  }
  const diff: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      diff.push({ kind: ' ', text: a[i] });
      i++;
      j++;
    } else if (lengths[i + 1][j] >= lengths[i][j + 1]) diff.push({ kind: '-', text: a[i++] });
    else diff.push({ kind: '+', text: b[j++] });
  }
  while (i < a.length) diff.push({ kind: '-', text: a[i++] });
  while (j < b.length) diff.push({ kind: '+', text: b[j++] });
  return diff;
}

export interface JudgedCorrection {
  text: string;
  verdict: AnswerVerdict | null;
  /** "i->c" etc.: the edited input's correctness, then the correction's; null without a ground truth. */
  outcome: string | null;
  meanLogprob: number;
  stopped: boolean;
}

/**
 * Verdicts and outcomes. `verdicts`: the edited input's then each completion's, from another judge (the run's own
 * verifier through the trainer's Python, for a task this port does not cover); by default the ported verifier.
 */
export function judgeCorrections(
  edited: string,
  groundTruth: string | null,
  completions: Array<{ text: string; logprobs: number[]; stopped: boolean }>,
  verdicts?: readonly AnswerVerdict[],
): { input: AnswerVerdict | null; corrections: JudgedCorrection[] } {
  const judge = (index: number, text: string): AnswerVerdict | null => (groundTruth ? (verdicts?.[index] ?? verifyAnswer(text, groundTruth)) : null);
  const input = judge(0, edited);
  const corrections = completions.map((completion, index) => {
    const verdict = judge(index + 1, completion.text);
    const outcome = input && verdict ? `${input.correct ? 'c' : 'i'}->${verdict.correct ? 'c' : 'i'}` : null;
    const meanLogprob = completion.logprobs.reduce((s, v) => s + v, 0) / Math.max(1, completion.logprobs.length);
    return { text: completion.text, verdict, outcome, meanLogprob, stopped: completion.stopped };
  });
  return { input, corrections };
}

/** A fence that no run of backticks in `text` can close (model output is untrusted). */
function fenceFor(text: string): string {
  const longest = Math.max(2, ...Array.from(text.matchAll(/`+/g), (m) => m[0].length));
  return '`'.repeat(longest + 1);
}

/** The report document: the input's verdict, then each correction with reward, outcome and diff. */
export function whatIfReport(title: string, edited: string, judged: ReturnType<typeof judgeCorrections>, settings: string): string {
  const lines = [`# ${title}`, '', settings, ''];
  lines.push(judged.input ? `Edited first answer: ${judged.input.correct ? 'correct' : 'wrong'} (answer ${judged.input.parsedAnswer ?? 'none'})` : 'No ground truth: corrections are not verified.', '');
  const rewards = judged.corrections.map((c) => c.verdict?.reward ?? 0);
  if (judged.input) lines.push(`Corrections right: ${rewards.filter((r) => r > 0).length} of ${rewards.length}`, '');
  judged.corrections.forEach((correction, index) => {
    const verdict = correction.verdict ? `reward ${correction.verdict.reward}, answer ${correction.verdict.parsedAnswer ?? 'none'}, ${correction.outcome}` : 'not verified';
    lines.push(`## correction ${index + 1}: ${verdict}`, '', `mean log p ${correction.meanLogprob.toFixed(3)}${correction.stopped ? '' : ', cut at the length limit'}`, '');
    const body = lineDiff(edited.replace(/\n$/, ''), correction.text.replace(/\n$/, '')).map((line) => `${line.kind} ${line.text}`).join('\n');
    const fence = fenceFor(body);
    lines.push(`${fence}diff`, body, fence, '');
  });
  return lines.join('\n');
}
