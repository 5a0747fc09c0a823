// Judging with the run's own verifier through the trainer's Python (`python -m mgrpo verify`), for tasks whose
// verifier the extension does not carry: a JSON-lines task is judged by math-verify, which knows that 0.5 and
// \frac{1}{2} are equal where the ported exact verifier does not. Used by What If; the ported verifier stays the
// answer when Python may not run (an untrusted workspace) or fails, and the caller says which judged.
import * as vscode from 'vscode';
import { parseTrainerVerdict, type AnswerVerdict } from '../model/answerVerifier';
import type { Ctx } from './ctx';
import { runLogged } from './loggedProcess';
import { resolveTrainerPython } from './python';
import { trainerEnvironment } from './trainerProcess';

export type TrainerJudgement = { verdicts: AnswerVerdict[]; judge: string } | { verdicts?: undefined; judge: string };

/** Verdicts of `texts` against `groundTruth` by math-verify, or none with the reason the ported verifier judges instead. */
export async function judgeWithMathVerify(ctx: Ctx, texts: readonly string[], groundTruth: string, signal?: AbortSignal): Promise<TrainerJudgement> {
  const fallback = (why: string): TrainerJudgement => ({ judge: `exact match (${why})` });
  if (!vscode.workspace.isTrusted) return fallback("the run's math-verify needs Python, which an untrusted workspace does not run");
  const python = await resolveTrainerPython(ctx.python, ctx.extensionRoot);
  if (!python) return fallback('no Python with the trainer was found for math-verify');
  const stdin = texts.map((completion) => `${JSON.stringify({ completion, ground_truth: groundTruth })}\n`).join('');
  const answers: string[] = [];
  const exit = await runLogged({
    command: python.python, args: ['-m', 'mgrpo', 'verify', '--verifier', 'math'], env: trainerEnvironment(ctx.extensionRoot), signal, stdin,
    onLine: (line) => ctx.log.info(`[verify] ${line}`), onStdoutLine: (line) => answers.push(line),
  });
  if (exit.code !== 0) return fallback(`math-verify failed: ${exit.spawnError ?? exit.signal ?? `exit code ${exit.code}`}; see the log`);
  const verdicts = answers.map(parseTrainerVerdict);
  const bad = verdicts.find((v): v is Error => v instanceof Error);
  if (bad || verdicts.length !== texts.length) return fallback(`math-verify answered ${bad ? bad.message : `${verdicts.length} of ${texts.length} lines`}`);
  return { verdicts: verdicts as AnswerVerdict[], judge: 'math-verify (the run\'s verifier, through the trainer\'s Python)' };
}
