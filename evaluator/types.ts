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

import type { ModelKind } from './models/kinds.ts';

export type { ModelKind };

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
  /** The model's parameters (its file declares them: `getModel(kind).params`; docs/evaluator.md). */
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

/** One model parameter as a model declares it: its type, default, allowed values and meaning. */
export type ParamSpec =
  | { type: 'number'; default: number; min?: number; max?: number; exclusiveMin?: boolean; integer?: boolean; doc: string }
  | { type: 'choice'; default: string; values: readonly string[]; doc: string }
  | { type: 'boolean'; default: boolean; doc: string };

/** A model's parameters by name, in the order docs list them. */
export type ParamSchema = Readonly<Record<string, ParamSpec>>;

/** Parameter values as parsed: every declared parameter present (defaults filled in). */
export type ParamValues = Record<string, number | string | boolean>;

/**
 * A fixed model, declared in one file (evaluator/models/NAME.ts) and listed in registry.ts.
 * Everything else derives from this declaration: the challenge schema's kinds and the load-time
 * parameter check (src/challenge/), the audit's `--model` choices and defaults
 * (src/analysers/oos.ts), the ranking curve's warm starts, the convergence note of
 * `sieve evaluate`, and the parameter tables of docs/evaluator.md (test/models-registry.test.ts).
 */
export interface Model {
  kind: ModelKind;
  /** The model in words, e.g. "logistic regression". */
  title: string;
  /** Every parameter the model accepts; anything else is refused (a typo never falls back to a default). */
  params: ParamSchema;
  /**
   * True when `fit` ignores the seed (same data, same model for every seed): the protocols then
   * fit once and report that fit for every seed instead of repeating identical work.
   */
  seedless: boolean;
  /**
   * True when a refit warm-started from an earlier fit gives the cold fit's model (a convex
   * objective with a unique optimum, up to the solver's tolerance): the ranking curve then
   * warm-starts its refits. An MLP continued from earlier weights lands elsewhere than a fresh
   * one, and kNN has nothing to warm-start, so their curves refit cold.
   */
  warmStarts: boolean;
  /**
   * The parameter that caps a fit's iterations when the model otherwise stops on convergence
   * (`max_iter`): a fit that ran that many iterations stopped at the limit, not at
   * convergence (the convergence note of `sieve evaluate`). Absent when the model has no such
   * limit (kNN; the MLP always runs exactly its `epochs`).
   */
  iterationLimit?: string;
  /**
   * Parameters of the audit's out-of-sample model (src/analysers/oos.ts) when no challenge
   * fixes one: `tabular` on the pool's standardised columns, `vectors` on the neighbour space
   * of pixels and embeddings (≤ 64 components, rows L2-normalised).
   */
  auditDefaults: { tabular: ModelSpec['params']; vectors: ModelSpec['params'] };
  /** The model and its main parameters in words (parsed parameters), for headers and notes. */
  describe(params: ParamValues): string;
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
