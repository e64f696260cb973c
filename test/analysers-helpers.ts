/**
 * Shared by the analyser tests: in-memory splits from generated data with known ground truth,
 * and an AuditContext over them (OOS predictions either given or computed with the fixed model).
 */
import { createRng, deriveSeed } from '../compute/rng.ts';
import type { ModelSpec } from '../evaluator/types.ts';
import type { PoolSplit } from '../src/pool/types.ts';
import type { AuditContext, OosPredictions } from '../src/analysers/types.ts';
import type { Progress } from '../src/util/progress.ts';
import { computeOosPredictions, defaultOosModel } from '../src/analysers/oos.ts';
import type { TableData } from '../src/pool/duckdb.ts';

export const quiet: Progress = { start() {}, tick() {}, stop() {} };

export function makeSplit(opts: {
  features: Float32Array; n: number; d: number; labels: Int32Array; classNames: string[];
  groups?: Record<string, (string | null)[]>; ids?: string[]; split?: 'train' | 'test'; featureNames?: string[];
}): PoolSplit {
  return {
    split: opts.split ?? 'train',
    n: opts.n,
    d: opts.d,
    ids: opts.ids ?? Array.from({ length: opts.n }, (_, i) => `${opts.split ?? 'train'}-${i}`),
    labels: opts.labels,
    classNames: opts.classNames,
    features: opts.features,
    featureNames: opts.featureNames ?? Array.from({ length: opts.d }, (_, j) => `x${j}`),
    groups: opts.groups ?? {},
  };
}

/** A split from one of the synthetic generator's tables (train or test). */
export function splitFromTable(t: TableData, classNames: string[], split: 'train' | 'test'): PoolSplit {
  const col = (name: string) => t.columns.find((c) => c.name === name)!;
  const ids = (col('id') as { values: string[] }).values;
  const labelStrings = (col('label') as { values: string[] }).values;
  const emb = col('embedding') as { dim: number; values: Float32Array };
  const index = new Map(classNames.map((c, i) => [c, i]));
  return makeSplit({
    features: emb.values, n: t.n, d: emb.dim, split, ids,
    // As the pool reader names an embedding's dimensions.
    featureNames: Array.from({ length: emb.dim }, (_, j) => `embedding[${j}]`),
    labels: Int32Array.from(labelStrings, (l) => index.get(l)!),
    classNames,
    groups: { group: (col('group') as { values: (string | null)[] }).values },
  });
}

export function makeContext(train: PoolSplit, opts: { test?: PoolSplit; proba?: Float32Array; model?: ModelSpec; folds?: number; repeats?: number; seed?: number } = {}): AuditContext {
  const seed = opts.seed ?? 0;
  const model = opts.model ?? defaultOosModel('logistic-regression', 'embedding', seed);
  let cached: Promise<OosPredictions> | null = null;
  return {
    poolName: 'test-pool',
    train,
    test: opts.test,
    model,
    seed,
    progress: quiet,
    oos() {
      cached ??= opts.proba
        ? Promise.resolve({ proba: opts.proba, n: train.n, k: train.classNames.length, folds: 0, seed, model })
        : computeOosPredictions(train, { model, folds: opts.folds ?? 5, repeats: opts.repeats, seed });
      return cached;
    },
  };
}

/** Gaussian blobs: k classes, `perClass` rows each, centroids at distance `sep` (std 1). */
export function blobs(k: number, perClass: number, d: number, sep: number, seed: number): { X: Float32Array; y: Int32Array; n: number } {
  const rng = createRng(deriveSeed(seed, 'blobs'));
  const mu = new Float64Array(k * d);
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = 0; j < d; j++) { mu[c * d + j] = rng.normal(); s += mu[c * d + j] ** 2; }
    const f = sep / Math.sqrt(s);
    for (let j = 0; j < d; j++) mu[c * d + j] *= f;
  }
  const n = k * perClass;
  const X = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % k;
    y[i] = c;
    for (let j = 0; j < d; j++) X[i * d + j] = mu[c * d + j] + rng.normal();
  }
  return { X, y, n };
}

/** Precision, recall and F1 of flags against the truth (one implementation, in fixtures/label-noise.ts). */
export { prf } from './fixtures/label-noise.ts';
