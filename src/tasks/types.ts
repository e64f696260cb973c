/**
 * A task says what a submission is and how it is scored: the columns a submission holds, the
 * budget that bounds it, the evaluator protocol that scores it, the evaluator-only files that
 * protocol reads, the metrics and baselines a challenge of the task may name, and what the
 * result record shows. One file per task (selection.ts, relabel.ts, ranking.ts), listed in
 * index.ts; everything else looks tasks up there instead of testing `task === '...'`.
 *
 * This module and the task files import nothing at load time but types: challenge.yaml's
 * schema reads the registry, and `sieve challenge list` must not load the evaluator.
 */
import type { ModelSpec } from '../../evaluator/types.ts';
import type { PoolInput, ScoringOptions, TestInput } from '../../evaluator/protocols/common.ts';
import type { Replay } from '../../evaluator/replay.ts';
import type { FitSummary, MetricCounts, Metrics, RankingCurve, RankingSummary } from '../evaluate/record.ts';

export const TASK_NAMES = ['selection', 'relabel', 'ranking'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

/** The challenge.yaml `budget` block. */
export interface BudgetSpec {
  rows?: number;
  corrections?: number;
  max_length?: number;
}

/** A submission column. */
export type SubmissionColumn = 'id' | 'label';

/** A validated submission as a protocol takes it: train-row indices (and new labels for relabel). */
export interface TaskSubmission {
  indices: Int32Array;
  labels?: Int32Array;
}

/** Everything a protocol run needs (the evaluation context supplies it). */
export interface TaskScoringInput {
  spec: ModelSpec;
  pool: PoolInput;
  test: TestInput;
  /** Ranking: the clean label of every train row (from the pool's evaluator-only truth). */
  cleanLabels?: Int32Array;
  /** challenge.yaml `ranking` block (step, segments). */
  ranking?: { step?: number; segments?: number };
  scoring: ScoringOptions;
}

/** What a protocol run gives back, whatever the task. */
export interface TaskScore {
  /** Public part. */
  metrics: Metrics;
  privateMetrics: Metrics;
  allMetrics: Metrics;
  /** Ranking: the curve and its summary. */
  curve?: RankingCurve;
  ranking?: RankingSummary;
  /** Selection / relabel: the counts every metric comes from. */
  counts?: MetricCounts;
  /** Per test row, what the bootstrap resamples (evaluator/replay.ts); the record stores it per part. */
  replay: Replay;
  fits: FitSummary;
  /** Seconds in the protocol's fits. */
  fitSeconds: number;
  /** Relabel: corrections that changed a label. */
  changed?: number;
}

/** What every protocol's output gives a TaskScore: the parts' metrics, the replay, the fits. */
export function protocolScore(out: {
  parts: Record<string, Metrics>;
  metrics: Metrics;
  replay: Replay;
  fits: FitSummary;
  fit_seconds: number;
}): Pick<TaskScore, 'metrics' | 'privateMetrics' | 'allMetrics' | 'replay' | 'fits' | 'fitSeconds'> {
  return {
    metrics: out.parts.public,
    privateMetrics: out.parts.private ?? {},
    allMetrics: out.metrics,
    replay: out.replay,
    fits: out.fits,
    fitSeconds: out.fit_seconds,
  };
}

export interface TaskDefinition {
  name: TaskName;
  /** What a submission is, in one line (help texts, docs). */
  summary: string;
  /** The columns a submission holds, in order. */
  columns: readonly SubmissionColumn[];
  /** The challenge.yaml budget key this task uses (any other budget key is refused). */
  budgetKey: keyof BudgetSpec;
  /** True when a challenge of this task must set its budget key. */
  budgetRequired: boolean;
  /** Most entries a submission may hold and the name to quote in messages. */
  budget(b: BudgetSpec, poolRows: number): { limit: number | undefined; name: string };
  /** The budget in words (`1000 rows`, `every train row`). */
  budgetText(b: BudgetSpec): string;
  /** What one entry is called in messages: "rows", "corrections", "ranked ids". */
  entries: string;
  /** Evaluator-only pool files the protocol reads besides the test split. */
  hiddenFiles: readonly 'truth'[];
  /** Which metric families a challenge may name: classification metrics, or the ranking curve's. */
  metrics: 'classification' | 'ranking';
  /** Built-in baselines (src/evaluate/baselines.ts implements them). */
  baselines: readonly string[];
  /** May the challenge score a two-class view of the pool (one_vs_rest)? */
  oneVsRest: boolean;
  /** What the result record carries besides the metric tables: the counts, or the curve. */
  result: 'counts' | 'curve';
  /** Runs the evaluator's protocol for this task. */
  score(input: TaskScoringInput, sub: TaskSubmission): Promise<TaskScore>;
  /** The class an entry counts under in the subset summary (selection: the pool label; relabel: the new one). */
  entryClass(sub: TaskSubmission, j: number, poolLabels: Int32Array): number;
}
