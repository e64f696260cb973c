/**
 * The context API of code strategies: what `select(ctx)`, `relabel(ctx)` and `rank(ctx)` are
 * called with, inside the sandboxed child process (src/strategy/sandbox/child.ts builds it from
 * the files src/strategy/sandbox/context-files.ts writes). Types only: a strategy may
 * `import type { StrategyContext } from '.../src/strategy/context.ts'`, which the transpiler
 * erases, so the child still reads nothing but its own files. docs/strategies.md documents it.
 *
 * Everything here is participant data of the pool's train split, aligned by row index
 * 0..n-1 in the pool's file order: never test rows, truth labels or variant pools.
 */
import type { Rng } from '../../compute/rng.ts';
import type { StrategyHelpers } from './helpers.ts';
import type { PoolFindings } from './findings.ts';

export type StrategyTask = 'selection' | 'relabel' | 'ranking';

/** A numeric feature column at full precision (DOUBLE in the pool). */
export interface NumericColumn {
  kind: 'numeric';
  values: Float64Array;
}
/** An embedding: row-major n × dim. */
export interface EmbeddingColumn {
  kind: 'embedding';
  dim: number;
  values: Float32Array;
}
/** Raw image bytes: row-major n × dim, dim = width × height × channels. */
export interface PixelsColumn {
  kind: 'pixels';
  dim: number;
  width: number;
  height: number;
  channels: number;
  values: Uint8Array;
}
/** A categorical column: codes index `categories`; -1 is a missing value. */
export interface CategoricalColumn {
  kind: 'categorical';
  categories: string[];
  codes: Int32Array;
}
/** Free text, one string per row ('' where missing). */
export interface TextColumn {
  kind: 'text';
  values: string[];
}
export type FeatureColumn = NumericColumn | EmbeddingColumn | PixelsColumn | CategoricalColumn | TextColumn;

/** A group (sensitive attribute) column: codes index `levels`; -1 is a missing value. */
export interface GroupColumn {
  levels: string[];
  codes: Int32Array;
}

/**
 * The audit's per-row findings of the pool (src/strategy/findings.ts: the same numbers as
 * `sieve audit POOL`), aligned with the rows. Computed only for strategies that read
 * ctx.findings or ctx.oosProbabilities (the first read restarts the run with them).
 */
export type StrategyFindings = Omit<PoolFindings, 'poolHash' | 'n' | 'ids' | 'classNames' | 'labels' | 'oos' | 'seconds'>;

export interface StrategyContext {
  task: StrategyTask;
  /** Most entries the result may hold: rows for selection, corrections for relabel, ids for ranking. */
  budget: number;
  /** The run's seed; `random` is seeded from it (same seed, same stream). */
  seed: number;
  /** Number of train rows. */
  n: number;
  /** Row ids, in row order. */
  ids: string[];
  /** Given label of each row, as an index into classNames. */
  labels: Int32Array;
  classNames: string[];
  /** Feature columns by name, each in its own type. */
  columns: Record<string, FeatureColumn>;
  /** Group columns by name. */
  groups: Record<string, GroupColumn>;
  /** Seeded random source (xoshiro128**, compute/rng.ts). Math.random is seeded too. */
  random: Rng;
  /** The audit's per-row findings (computed on first read). */
  readonly findings: StrategyFindings;
  /** Out-of-sample class probabilities, row-major n × classNames.length (computed on first read, with the findings). */
  readonly oosProbabilities: Float32Array;
  helpers: StrategyHelpers;
  /** Writes a line to the strategy's log (stderr; shown to the user, capped). */
  log(...args: unknown[]): void;
}

/**
 * What a strategy may return.
 *   select / rank: ids (strings) or row indices (numbers, Int32Array ...), in order;
 *   relabel:       [{ id | index, label }] or { ids | indices, labels }, labels as class
 *                  names or class indices.
 * It may return a Promise of any of these.
 */
export type SelectResult = readonly string[] | readonly number[] | Int32Array | Uint32Array | Float64Array;
export type RelabelResult =
  | readonly ({ id: string; label: string | number } | { index: number; label: string | number })[]
  | { ids: readonly string[]; labels: readonly (string | number)[] | Int32Array }
  | { indices: readonly number[] | Int32Array; labels: readonly (string | number)[] | Int32Array };

export type SelectFn = (ctx: StrategyContext) => SelectResult | Promise<SelectResult>;
export type RelabelFn = (ctx: StrategyContext) => RelabelResult | Promise<RelabelResult>;

/** The export each task calls. */
export const TASK_EXPORT: Readonly<Record<StrategyTask, 'select' | 'relabel' | 'rank'>> = {
  selection: 'select',
  relabel: 'relabel',
  ranking: 'rank',
};
