/**
 * cluster-stratified: k-means clusters of the features as strata, each sampled in proportion.
 *
 * What: the features become one matrix (ctx.helpers.featureRows, at most 32 dimensions),
 * k-means (√budget clusters, 10 Lloyd iterations from random rows) groups it, and the budget
 * is drawn at random within clusters, each cluster getting its share of the pool
 * (stratifiedSample, proportional allocation). The sample then covers every region of the
 * feature space as the pool does, with less variance than a plain random draw; it does
 * nothing about wrong labels. When it helps: small budgets on pools with many distinct modes.
 * Tasks: selection.
 */
import type { StrategyContext } from '../src/strategy/context.ts';

export function select(ctx: StrategyContext): Int32Array {
  const { rows, dim } = ctx.helpers.featureRows(ctx.columns, ctx.n, { maxDim: 32, seed: ctx.seed });
  const k = Math.max(2, Math.min(ctx.n, Math.round(Math.sqrt(ctx.budget))));
  const cluster = kMeans(rows, dim, ctx.n, k, ctx.random.permutation(ctx.n).slice(0, k), 10);
  return ctx.helpers.stratifiedSample(cluster, ctx.budget, ctx.random, { allocation: 'proportional' });
}

/** Lloyd's k-means from the given starting rows; returns each row's cluster. */
function kMeans(rows: Float32Array, dim: number, n: number, k: number, start: ArrayLike<number>, iterations: number): Int32Array {
  const centres = new Float64Array(k * dim);
  for (let j = 0; j < k; j++) for (let t = 0; t < dim; t++) centres[j * dim + t] = rows[start[j] * dim + t];
  const cluster = new Int32Array(n);
  for (let it = 0; it < iterations; it++) {
    for (let i = 0; i < n; i++) {
      let best = 0, bestDist = Infinity;
      for (let j = 0; j < k; j++) {
        let s = 0;
        for (let t = 0; t < dim; t++) { const d = rows[i * dim + t] - centres[j * dim + t]; s += d * d; }
        if (s < bestDist) { bestDist = s; best = j; }
      }
      cluster[i] = best;
    }
    const sums = new Float64Array(k * dim), sizes = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      sizes[cluster[i]]++;
      for (let t = 0; t < dim; t++) sums[cluster[i] * dim + t] += rows[i * dim + t];
    }
    // An empty cluster keeps its centre.
    for (let j = 0; j < k; j++) if (sizes[j]) for (let t = 0; t < dim; t++) centres[j * dim + t] = sums[j * dim + t] / sizes[j];
  }
  return cluster;
}
