/**
 * Shapes the evaluator works on. The evaluator knows nothing about files, pools, the CLI or
 * the server: callers hand it typed arrays and get typed arrays and plain records back.
 */

/** A labelled design matrix: X is row-major n × d, y holds class indices in [0, k). */
export interface Dataset {
  X: Float32Array;
  n: number;
  d: number;
  y: Int32Array;
  k: number;
}

export type ModelKind = 'logistic-regression' | 'knn' | 'mlp';

/** Preprocessing is part of the fixed model: fitted once on the whole pool, then frozen. */
export interface PreprocessSpec {
  /** Divide every input by this first (e.g. 255 for raw pixels); default 1. */
  scale?: number;
  /** Reduce to this many principal components (fitted on the pool, deterministic). */
  pca?: number;
  /** Zero mean, unit variance per dimension (after PCA when both are set). */
  standardize?: boolean;
}

export interface ModelSpec {
  kind: ModelKind;
  /**
   * logistic-regression: { l2 (=1/C, penalty ½·l2·‖W‖² on the summed log loss), max_iter, tol }
   * knn: { k, metric: 'cosine' | 'euclidean' }
   * mlp: { hidden, epochs, lr, batch_size, l2 }
   */
  params: Record<string, number | string | boolean>;
  preprocess?: PreprocessSpec;
  seeds: number[];
}

/** Opaque, structured-clone-able model parameters (for warm starts and worker transfer). */
export type ModelState = { kind: ModelKind; [key: string]: unknown };

export interface FitOptions {
  seed: number;
  /** Start from these parameters (same kind and shape) instead of from scratch. */
  warmStart?: ModelState;
}

export interface FittedModel {
  readonly kind: ModelKind;
  /** Class probabilities, row-major n × k. */
  predictProba(X: Float32Array, n: number): Float32Array;
  state(): ModelState;
  /** Iterations or epochs actually run (for reporting and tests). */
  readonly iterations: number;
}

export interface Model {
  kind: ModelKind;
  /**
   * True when `fit` ignores the seed (same data, same model for every seed): the protocols then
   * fit once and report that fit for every seed instead of repeating identical work.
   */
  seedless: boolean;
  fit(data: Dataset, params: ModelSpec['params'], opts: FitOptions): FittedModel;
  /** Rebuilds a fitted model from `state()` (e.g. in another thread). */
  restore(state: ModelState, k: number, d: number): FittedModel;
}

/** A fitted preprocessing step: maps raw n × dIn rows to n × dOut model inputs. */
export interface Preprocessor {
  dIn: number;
  dOut: number;
  transform(X: Float32Array, n: number): Float32Array;
  /** Structured-clone-able form, to ship to workers and to hash into results. */
  toJSON(): unknown;
}
