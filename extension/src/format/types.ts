// TypeScript view of trainer/mgrpo/schemas/run-format.schema.json (format_version 2; 1 reads the same
// without the optional step-truth fields).
// The schema is the definition; test/unit/schema.test.ts checks the example fixture against both.

export type RunStatus = 'running' | 'paused' | 'finished' | 'stopped' | 'failed';
export type Algorithm = 'mgrpo' | 'grpo';
export type CorrectionOutcome = 'i->c' | 'c->i' | 'c->c' | 'i->i';
export type Layer = 1 | 2;

export interface RunManifest {
  format_version: 1 | 2;
  run_id: string;
  name?: string;
  created: string;
  updated: string;
  status: RunStatus;
  algorithm: Algorithm;
  config: Record<string, unknown>;
  /** name_or_path null: an imported run whose source does not name its model. */
  model: { name_or_path: string | null; parameters?: number; dtype?: string };
  device?: string;
  world_size?: number;
  total_steps: number;
  completed_steps: number;
  last_checkpoint?: string | null;
  pid?: number | null;
  error?: string | null;
  /** Present only in runs imported from another trainer. */
  source?: ImportSource;
}

/** run.json `source` of an imported run ($defs/importSource): null fields it lists were not recorded by `kind`. */
export interface ImportSource {
  kind: string;
  path?: string;
  format_followed?: string;
  /** Record fields by name, metrics-line fields by name, `layer1.<name>`, `model.name_or_path`. */
  absent_fields?: string[];
  derived_fields?: Record<string, string>;
  rows_imported?: number;
  rows_unreadable?: number;
  rows_non_utf8?: number;
  rewards_not_finite?: number;
  skipped_files?: Record<string, string>;
  problems?: string[];
  trl_version?: string;
  logprob_sources?: string[];
  last_step_recorded?: number;
}

export interface LayerStats {
  samples: number;
  groups?: number;
  reward_mean: number | null;
  reward_std: number | null;
  accuracy: number | null;
  completion_length_mean: number | null;
  completion_length_max?: number | null;
  truncated_fraction?: number | null;
  frac_reward_zero_std: number | null;
  /** Null: not recorded by an imported run's source. */
  generation_seconds: number | null;
}

export interface CorrectionMetrics {
  n: number;
  acc_t1: number | null;
  acc_t2: number | null;
  delta: number | null;
  delta_i2c: number | null;
  delta_c2i: number | null;
  cl: number | null;
  cs: number | null;
  rss: number | null;
}

/** Format 2: step truth over one layer (a training step) or one evaluation pass. */
export interface StepTruthLayer {
  samples: number;
  right_answers: number;
  flawed_right_answers: number;
  flawed_chain_rate: number | null;
  steps_checked: number;
  steps_right: number;
  step_accuracy: number | null;
  with_error: number;
  first_error_mean: number | null;
  /** Entry i: samples whose first wrong step is i. */
  first_error_counts: number[];
}

/** Format 2: corrections by where layer 2 first departs against the parent's first wrong step. */
export interface DepartureCounts {
  n: number;
  exact: number;
  before: number;
  after: number;
  no_departure: number;
  no_error: number;
  exact_rate: number | null;
}

export interface StepTruth {
  t1: StepTruthLayer;
  t2: StepTruthLayer;
  implicit: { i2c: DepartureCounts; all: DepartureCounts };
  checker_errors: number;
}

export interface MetricsLine {
  step: number;
  time: string;
  layer1: LayerStats;
  layer2?: LayerStats | null;
  correction: CorrectionMetrics | null;
  /** Null here and in the timings: not recorded by an imported run's source. */
  loss: number | null;
  kl: number | null;
  clip_fraction: number | null;
  entropy?: number | null;
  grad_norm?: number | null;
  learning_rate?: number;
  train_seconds: number | null;
  step_seconds: number | null;
  tokens_per_second: number | null;
  step_truth?: StepTruth | null;
  /** Imported runs: the scalars the source logged for this step, under its own names. */
  source_metrics?: Record<string, unknown>;
  /** TRL live: this step trained on the rollouts generated at that earlier step (its own rollout file is empty). */
  rollouts_from_step?: number | null;
}

export interface Span {
  start: number;
  end: number;
}

export type StepLabelValue = 'right' | 'wrong' | 'unchecked';
export type StepLabelSource = 'checker' | 'value' | 'implicit';

/** Format 2: one reasoning step's label and who gave it. */
export interface StepLabel {
  label: StepLabelValue;
  source: StepLabelSource;
  value?: number | null;
}

export interface RolloutRecord {
  id: string;
  run_id: string;
  step: number;
  layer: Layer;
  group: number;
  sample: number;
  question_id: string;
  parent_id: string | null;
  guiding_phrase: string | null;
  // Null in the fields below marked "imported": the source of an imported run did not record it
  // (run.json source.absent_fields); the trainer always writes them.
  /** imported: may be null */
  prompt: string | null;
  completion: string;
  /** imported: may be null */
  ground_truth: string | null;
  parsed_answer: string | null;
  /** imported: may be null (the source does not say which answers are right) */
  correct: boolean | null;
  prompt_tokens: number | null;
  /** The prompt was cut to fit max_prompt_length (absent in older runs: false). */
  prompt_truncated?: boolean;
  completion_tokens: number | null;
  finish_reason: 'stop' | 'length' | null;
  /** imported: null without token data (then token_offsets is null too) */
  token_logprobs: number[] | null;
  token_entropies?: number[] | null;
  token_offsets: number[] | null;
  reward: number | null;
  rewards: Record<string, number>;
  advantage: number | null;
  group_reward_mean: number | null;
  group_reward_std: number | null;
  outcome: CorrectionOutcome | null;
  parent_correct?: boolean | null;
  steps: Span[];
  answer_span?: Span | null;
  /** Format 2: one per entry of `steps`; null or absent without a step checker. */
  step_labels?: StepLabel[] | null;
  /** Format 2: index into `steps`; equals steps.length when the error lies after the last step (a missing step). */
  first_wrong_step?: number | null;
  /** Imported runs: fields this project computed because the source lacked them. */
  derived?: string[];
  /** Imported runs: where the record came from; `fields` holds the row's other columns. */
  source?: { kind: string; location?: string; fields?: Record<string, unknown> };
  /** TRL live: sampling | trl-old-policy | recomputed; null without token_logprobs. */
  logprob_source?: string | null;
}

export interface EvalProblem {
  question_id: string;
  question: string;
  ground_truth: string;
  t1_completion: string;
  t1_correct: boolean;
  t2_completion: string;
  t2_correct: boolean;
  guiding_phrase?: string;
  t1_step_labels?: StepLabel[] | null;
  t1_first_wrong_step?: number | null;
  t2_step_labels?: StepLabel[] | null;
  t2_first_wrong_step?: number | null;
}

export interface EvalResult {
  step: number;
  time: string;
  split: string;
  n: number;
  metrics: CorrectionMetrics;
  sampled_accuracy?: number | null;
  step_truth?: StepTruth | null;
  problems: EvalProblem[];
}

export interface CheckpointState {
  step: number;
  time: string;
  metrics_lines: number;
  rollout_lines: number;
}

/** Format 2: one line of step-values/step-NNNNNN.jsonl (Monte-Carlo values of one record's steps). */
export interface StepValues {
  record_id: string;
  step: number;
  checkpoint: string;
  /** Which runtime drew the continuations; absent: pytorch (lines written before the field existed). */
  backend?: 'pytorch' | 'onnxruntime-node';
  k: number;
  seed: number;
  temperature: number;
  max_completion_length?: number;
  prefix_value: number;
  values: number[];
  drops: number[];
  likely_error: number | null;
  time: string;
}

export type TrainerEvent =
  | { event: 'started'; protocol: 1; run_id: string; run_dir: string; pid: number; total_steps: number; start_step: number; device?: string }
  | { event: 'step'; step: number; total_steps: number; metrics: MetricsLine }
  | { event: 'rollouts'; step: number; path: string; count: number }
  | { event: 'checkpoint'; step: number; path: string }
  | { event: 'eval'; step: number; path: string; metrics: CorrectionMetrics }
  | { event: 'log'; level: 'debug' | 'info'; message: string }
  | { event: 'warning'; message: string }
  | { event: 'error'; message: string; detail?: string }
  | { event: 'paused'; step: number }
  | { event: 'resumed'; step: number }
  | { event: 'finished'; status: 'finished' | 'stopped' | 'failed'; step: number };

export type TrainerCommand = { command: 'stop' | 'pause' | 'resume' | 'checkpoint' };

/** Relative paths inside a run directory, as RUN_FORMAT.md lays them out. */
export const RunPaths = {
  manifest: 'run.json',
  metrics: 'metrics.jsonl',
  rolloutsDir: 'rollouts',
  evalDir: 'eval',
  stepValuesDir: 'step-values',
  rolloutFile: (step: number): string => `rollouts/step-${String(step).padStart(6, '0')}.jsonl`,
  stepValuesFile: (step: number): string => `step-values/step-${String(step).padStart(6, '0')}.jsonl`,
} as const;
