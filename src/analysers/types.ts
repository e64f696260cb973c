import type { DuckDBConnection } from '@duckdb/node-api';
import type { PoolSplit } from '../pool/types.ts';
import type { ModelSpec } from '../../evaluator/types.ts';
import type { Progress } from '../util/progress.ts';

/** What an analyser may ask the audit to prepare before it runs. */
export type AnalyserNeed = 'features' | 'labels' | 'groups' | 'oos-probabilities' | 'test';

/**
 * The audit's default cross-validation for a pool of `n` rows. Up to SMALL_POOL_ROWS rows: 10
 * folds, repeated over 2 seeded fold assignments and averaged, so each row's probabilities are
 * the mean of two models fitted on 90% of the rows. Chosen on bench/label-errors-matrix.ts: on
 * german-credit, Adult-like (8,000) and embedding (6,000) rows it ranks label errors at least as
 * well as scikit-learn's 5-fold probabilities in 21 of 21 cells (one 5-fold run: 10), and in
 * 19 of 21 on a second noise draw with new rows (5-fold: 9). Above it: one 5-fold run — on
 * 10,000 Fashion-MNIST images the average moved AUROC and F1 by ≤ 0.003, at 4.5× the fits
 * (and a challenge's fixed model on 784 pixels already takes minutes).
 */
export const SMALL_POOL_ROWS = 10_000;

export function auditCv(n: number): { folds: number; repeats: number } {
  return n <= SMALL_POOL_ROWS ? { folds: 10, repeats: 2 } : { folds: 5, repeats: 1 };
}

/** Out-of-sample class probabilities for every train row, from seeded K-fold cross-validation. */
export interface OosPredictions {
  /** Row-major n × k probabilities, each row predicted by a model that never saw it. */
  proba: Float32Array;
  n: number;
  k: number;
  folds: number;
  /** Repeats of the K-fold (other fold assignments) averaged into `proba`; absent = 1. */
  repeats?: number;
  seed: number;
  model: ModelSpec;
  /**
   * Set when the probabilities were not computed by cross-validation but given by the user
   * (`sieve audit --pred-probs FILE`); then `folds` is 0 and `model` is not what produced them.
   */
  source?: PredictionsSource;
}

/** Where user-given out-of-sample probabilities came from, for the report header. */
export interface PredictionsSource {
  file: string;
  format: 'csv' | 'parquet' | 'arrow';
  sha256: string;
}

export interface AuditContext {
  poolName: string;
  /** The rows being audited (the whole pool, or a submission's subset of it). */
  train: PoolSplit;
  /** Test split when the caller is allowed to see it (auditor-owned pools, or --organiser). */
  test?: PoolSplit;
  /** Out-of-sample probabilities on `train`, computed once and shared between analysers. */
  oos(): Promise<OosPredictions>;
  /** Model used for out-of-sample predictions (not used when `predictionsSource` is set). */
  model: ModelSpec;
  /** Set when `oos()` returns probabilities the user gave (--pred-probs) instead of computing them. */
  predictionsSource?: PredictionsSource;
  seed: number;
  progress: Progress;
  /**
   * The per-analyser option overrides of the audit this context runs (runAudit sets them), so
   * that an analyser using another's results uses them as that analyser is configured (fairness
   * counts the rows label-errors flags under the audit's --label-filter).
   */
  options?: Record<string, Record<string, unknown>>;
}

/** One row of an analyser's findings; `detail` holds analyser-specific columns. */
export interface Finding {
  id: string;
  /** Issue score: higher means more likely a problem (each analyser documents its scale). */
  score: number;
  flagged: boolean;
  detail: Record<string, string | number | boolean | null>;
}

export type Severity = 'ok' | 'info' | 'warning' | 'problem';

export interface AnalyserSummary {
  /** A plain-language sentence or two, e.g. "About 6% of labels look wrong (1,204 rows)." */
  verdict: string;
  severity: Severity;
  /** Headline figures, flat: name → number or short string. */
  figures: Record<string, number | string | null>;
}

/** A plot as a Vega-Lite spec with its data inlined; the report renders it to SVG. */
export interface PlotSpec {
  title: string;
  vegaLite: Record<string, unknown>;
}

/** A column's kind, declared for tables that may have no rows or only NULLs in a column. */
export type ColumnKindName = 'text' | 'number' | 'boolean';

/** A further table an analyser wants kept (e.g. per-group metrics), as rows of plain values. */
export interface ExtraTable {
  name: string;
  rows: Record<string, string | number | boolean | null>[];
  /** Every column the rows can have: so a table without rows still has them to query. */
  columns?: Record<string, ColumnKindName>;
}

export interface AnalyserResult {
  name: string;
  summary: AnalyserSummary;
  /** Per-row findings; written to the DuckDB table `findings_<name with _>`. */
  findings: Finding[];
  /** The findings' detail columns, declared where there can be no findings (as ExtraTable.columns). */
  findingColumns?: Record<string, ColumnKindName>;
  tables: ExtraTable[];
  plots: PlotSpec[];
  seconds: number;
}

export interface Analyser<Options extends object = Record<string, unknown>> {
  /** Kebab-case name used by --only and in table names. */
  name: string;
  title: string;
  needs: AnalyserNeed[];
  defaults: Options;
  run(ctx: AuditContext, opts: Options): Promise<AnalyserResult>;
}

export type { DuckDBConnection };
