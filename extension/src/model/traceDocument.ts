// Renders one rollout record as the text of a read-only `reasoning-trace` document: a header,
// the prompt, the completion laid out one reasoning step per block, the answer and the ground
// truth. Also returns where each step landed, for hovers and decorations.
//
// Layout (the grammar in syntaxes/ colours these):
//   key: value header lines
//   "## prompt", "## completion", "## answer" section lines; a layer-2 record whose parent is given
//   shows its prompt as "## prompt" (the question, as layer 1 saw it), "## first answer (layer 1)"
//   and "## guiding phrase", so the corrected answer is not mistaken for part of the question
//   "### step N" before each step's text; a blank line between blocks
//   TRUNCATION_MARKER_PREFIX lines where a long text was cut

import type { RolloutRecord, Span } from '../format/types';
import { correctnessText, notRecorded, recordSourceKind } from './absence';
import { describeOutcome } from './filters';
import { stepSpans } from './segmentation';
import { formatNumber, formatSigned } from './text';

export interface TextRange {
  startLine: number;
  startCharacter: number;
  endLine: number;
  endCharacter: number;
}

export interface RenderedStep {
  /** Index into the record's steps (segmentation.traceSteps). */
  index: number;
  /** The step's text in the document. */
  range: TextRange;
  /** The "### step N" line above it. */
  headerLine: number;
}

export interface RenderedTrace {
  text: string;
  steps: RenderedStep[];
  truncated: boolean;
  /** Line of the answer (the completion's answer line, else the parsed answer). */
  answerLine?: number;
}

export interface RenderOptions {
  /** Longest prompt or completion shown whole; longer ones are cut with a marker line. */
  maxCharacters: number;
  runName?: string;
  /** Layer 2: the layer-1 record it corrects, to lay its prompt out as question, first answer and phrase. */
  parent?: RolloutRecord;
  /** Layer 2 on the right of a diff with its parent: the first answer is on the left, so name it only. */
  parentShownBeside?: boolean;
}

/** A layer-2 prompt split into what the model was shown: the layer-1 prompt, that answer, the phrase. */
export interface Layer2PromptParts {
  question: string;
  firstAnswer: string;
  guidingPhrase: string;
}

/**
 * Splits a layer-2 prompt built as layer-1 prompt + layer-1 completion + guiding phrase (+ newline),
 * the trainer's default template. Returns undefined for any other shape (a custom template), which
 * then shows as one prompt block.
 */
export function splitLayer2Prompt(record: RolloutRecord, parent: RolloutRecord): Layer2PromptParts | undefined {
  const phrase = record.guiding_phrase;
  if (record.layer !== 2 || !phrase || record.prompt === null || parent.prompt === null || !record.prompt.startsWith(parent.prompt)) return undefined;
  const rest = record.prompt.slice(parent.prompt.length);
  const phraseAt = rest.lastIndexOf(phrase);
  if (phraseAt < 0 || rest.slice(phraseAt + phrase.length).trim() !== '') return undefined;
  const firstAnswer = rest.slice(0, phraseAt);
  if (firstAnswer.trimEnd() !== parent.completion.trimEnd()) return undefined;
  return { question: parent.prompt, firstAnswer, guidingPhrase: phrase };
}

export const TRUNCATION_MARKER_PREFIX = '… truncated:';
export const SHOW_FULL_COMPLETION_COMMAND_TITLE = 'MGRPO: Show Full Completion';

export function truncationMarker(hiddenCharacters: number, what = ''): string {
  return `${TRUNCATION_MARKER_PREFIX} ${hiddenCharacters} more characters${what} — run '${SHOW_FULL_COMPLETION_COMMAND_TITLE}'`;
}

/** Collects document text and keeps count of lines as it goes (O(length) in all). */
class DocumentBuilder {
  private readonly parts: string[] = [];
  /** 0-based line the next appended text starts on. */
  line = 0;
  /** Characters already on the current line. */
  column = 0;

  append(text: string): void {
    if (text.length === 0) return;
    this.parts.push(text);
    let newline = text.indexOf('\n');
    if (newline === -1) {
      this.column += text.length;
      return;
    }
    let last = newline;
    while (newline !== -1) {
      this.line += 1;
      last = newline;
      newline = text.indexOf('\n', newline + 1);
    }
    this.column = text.length - last - 1;
  }

  /** Appends a line and its line break. */
  appendLine(text = ''): void {
    this.append(text);
    this.append('\n');
  }

  toString(): string {
    return this.parts.join('');
  }
}

/** VS Code treats \r\n, \r and \n alike; one kind keeps line numbers exact. */
function normalizeLineBreaks(text: string): string {
  return text.indexOf('\r') === -1 ? text : text.replace(/\r\n?/g, '\n');
}

/** Model text as document lines: line breaks normalized, no leading/trailing blank lines. */
function asBlock(text: string): string {
  const normalized = normalizeLineBreaks(text);
  let start = 0;
  let end = normalized.length;
  while (start < end && normalized.charCodeAt(start) === 0x0a) start += 1;
  while (end > start && normalized.charCodeAt(end - 1) === 0x0a) end -= 1;
  return start === 0 && end === normalized.length ? normalized : normalized.slice(start, end);
}

interface Piece {
  span: Span;
  /** Step index, or undefined for text between steps. */
  step?: number;
}

function hasVisibleText(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return true;
  }
  return false;
}

/** Steps and the non-blank text around them, in completion order, without the answer span, up to `until`. */
function completionPieces(record: RolloutRecord, until: number): Piece[] {
  const completion = record.completion;
  const answer = record.answer_span && record.answer_span.end > record.answer_span.start ? record.answer_span : null;
  const pieces: Piece[] = [];
  const addGap = (start: number, end: number): void => {
    if (end <= start) return;
    if (answer && answer.start < end && answer.end > start) {
      addGap(start, Math.min(end, answer.start));
      addGap(Math.max(start, answer.end), end);
      return;
    }
    if (hasVisibleText(completion, start, end)) pieces.push({ span: { start, end } });
  };
  let at = 0;
  const spans = stepSpans(record);
  for (let index = 0; index < spans.length && at < until; index++) {
    const span = spans[index];
    addGap(at, span.start);
    pieces.push({ span, step: index });
    at = Math.max(at, span.end);
  }
  if (at < until) addGap(at, completion.length);
  return pieces;
}

function headerLines(record: RolloutRecord, runName: string | undefined): string[] {
  const rewards = Object.entries(record.rewards ?? {});
  const rewardDetail = rewards.length > 0 ? ` · ${rewards.map(([name, value]) => `${name} ${formatNumber(value)}`).join(' · ')}` : '';
  // An imported run's source may not have recorded these: say so rather than show a bare dash.
  const absent = `— (${notRecorded(recordSourceKind(record))})`;
  const group = record.group_reward_mean === null ? '' : ` · group mean ${formatNumber(record.group_reward_mean, 3)} · std ${formatNumber(record.group_reward_std, 3)}`;
  return [
    `run: ${runName ? `${runName} (${record.run_id})` : record.run_id}`,
    `id: ${record.id}`,
    `step: ${record.step}`,
    `group: ${record.group} · question ${record.question_id}`,
    `sample: ${record.sample}`,
    `layer: ${record.layer}${record.layer === 2 && record.parent_id ? ` · corrects ${record.parent_id}` : ''}`,
    `reward: ${record.reward === null ? absent : formatNumber(record.reward)}${rewardDetail}`,
    `advantage: ${record.advantage === null ? absent : formatSigned(record.advantage)}${group}`,
    `outcome: ${record.outcome ? describeOutcome(record.outcome) : '— (layer 1)'}`,
    `guiding phrase: ${record.guiding_phrase ? normalizeLineBreaks(record.guiding_phrase).replace(/\n/g, ' ') : '—'}`,
  ];
}

export function renderTrace(record: RolloutRecord, opts: RenderOptions): RenderedTrace {
  const limit = Math.max(0, Math.floor(opts.maxCharacters));
  const doc = new DocumentBuilder();
  for (const line of headerLines(record, opts.runName)) doc.appendLine(line);
  doc.appendLine();
  const promptCut = renderPrompt(doc, record, opts, limit);
  const completion = renderCompletion(doc, record, limit);
  const answerLine = renderAnswer(doc, record);
  return { text: doc.toString(), steps: completion.steps, truncated: promptCut || completion.truncated, answerLine };
}

/** "## prompt" (for a correction: the question, the first answer, the guiding phrase). True when cut. */
function renderPrompt(doc: DocumentBuilder, record: RolloutRecord, opts: RenderOptions, limit: number): boolean {
  let truncated = false;
  const promptBlock = (text: string, what: string): void => {
    if (text.length > limit) {
      truncated = true;
      doc.appendLine(asBlock(text.slice(0, limit)));
      doc.appendLine(truncationMarker(text.length - limit, what));
    } else {
      doc.appendLine(asBlock(text));
    }
    doc.appendLine();
  };
  const parts = opts.parent ? splitLayer2Prompt(record, opts.parent) : undefined;
  doc.appendLine('## prompt');
  if (parts) {
    promptBlock(parts.question, ' of the prompt');
    if (opts.parentShownBeside) {
      doc.appendLine('## first answer (layer 1): on the left');
      doc.appendLine();
    } else {
      doc.appendLine('## first answer (layer 1)');
      promptBlock(parts.firstAnswer, ' of the first answer');
    }
    doc.appendLine('## guiding phrase');
    promptBlock(parts.guidingPhrase, ' of the guiding phrase');
  } else if (record.prompt === null) {
    doc.appendLine(`— (${notRecorded(recordSourceKind(record))})`);
    doc.appendLine();
  } else {
    promptBlock(record.prompt, ' of the prompt');
  }
  return truncated;
}

/** "## completion", one "### step N" block per reasoning step, cut at the limit. */
function renderCompletion(doc: DocumentBuilder, record: RolloutRecord, limit: number): { steps: RenderedStep[]; truncated: boolean } {
  doc.appendLine('## completion');
  const steps: RenderedStep[] = [];
  const completion = record.completion;
  let cut = Math.min(completion.length, limit);
  // Many tiny steps grow the text with their headers: bound the section at three times the limit too.
  let sectionBudget = 3 * limit;
  for (const piece of completionPieces(record, cut)) {
    if (piece.span.start >= cut) break;
    if (sectionBudget <= 0) {
      cut = piece.span.start;
      break;
    }
    sectionBudget -= piece.span.end - piece.span.start + 16;
    const body = asBlock(completion.slice(piece.span.start, Math.min(piece.span.end, cut)));
    if (piece.step !== undefined) {
      const headerLine = doc.line;
      doc.appendLine(`### step ${piece.step + 1}`);
      const startLine = doc.line;
      doc.append(body);
      steps.push({ index: piece.step, headerLine, range: { startLine, startCharacter: 0, endLine: doc.line, endCharacter: doc.column } });
      doc.appendLine();
    } else if (body.length > 0) {
      doc.appendLine(body);
    }
    doc.appendLine();
  }
  const truncated = completion.length > cut;
  if (truncated) {
    doc.appendLine(truncationMarker(completion.length - cut));
    doc.appendLine();
  }
  return { steps, truncated };
}

/** "## answer": the completion's answer line, the parsed answer and the verdict. Returns the answer's line. */
function renderAnswer(doc: DocumentBuilder, record: RolloutRecord): number {
  const completion = record.completion;
  doc.appendLine('## answer');
  let answerLine: number | undefined;
  const answer = record.answer_span;
  if (answer && answer.end > answer.start && answer.end <= completion.length) {
    answerLine = doc.line;
    const answerText = completion.slice(answer.start, Math.min(answer.end, answer.start + 1000));
    doc.appendLine(asBlock(answerText).replace(/\n/g, ' '));
  }
  const parsedLine = doc.line;
  const kind = recordSourceKind(record);
  // An imported record's answer was never parsed (the source's verifier did that, if anything): not "none found".
  const noParse = kind === undefined ? '— (none found)' : `— (${notRecorded(kind)})`;
  doc.appendLine(`parsed answer: ${record.parsed_answer === null ? noParse : asBlock(record.parsed_answer).replace(/\n/g, ' ')}`);
  const truth = record.ground_truth === null ? `— (${notRecorded(kind)})` : asBlock(record.ground_truth).replace(/\n/g, ' ');
  // "verdict" names what is missing: "ground truth: 72 · not recorded by prime-rl" read as if the 72 were not.
  const verdict = record.correct === null || record.correct === undefined ? `verdict ${notRecorded(kind)}` : correctnessText(record.correct, kind);
  doc.appendLine(`ground truth: ${truth} · ${verdict}`);
  return answerLine ?? parsedLine;
}
