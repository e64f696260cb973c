/**
 * Row-vector preparation shared by the neighbour-based analysers (kNN label agreement,
 * outliers, near duplicates, leakage): an orthonormal principal-component basis
 * (compute/pca.ts) for cheap candidate search and projections on it. Standardisation and
 * row normalisation are compute/scaling.ts's.
 */
import { createRng } from '../../compute/rng.ts';
import { fitPca } from '../../compute/pca.ts';
import { crossProduct } from '../../compute/neighbours.ts';
import type { PoolSplit } from '../pool/types.ts';

/**
 * Whether every feature dimension of a split is hashed TF-IDF of its text columns: rows that
 * are already L2-normalised term weights, compared by cosine as they are (standardising the
 * columns would blow up the rare buckets and drown the common words).
 */
export function textOnly(split: Pick<PoolSplit, 'd' | 'textFeatures'>): boolean {
  const dims = split.textFeatures?.blocks.reduce((s, b) => s + b.dims, 0) ?? 0;
  return split.d > 0 && dims === split.d;
}

export type FeatureMetric = 'cosine' | 'euclidean';

/** Vector dimensions (embedding or pixel columns, named `col[j]` by the reader) from which on cosine is used. */
export const COSINE_MIN_DIMS = 16;

/**
 * The distance that means something for a split's kind of features, shared by the duplicates
 * and outliers analysers: cosine for pixels, for hashed TF-IDF text rows and for embeddings of
 * at least COSINE_MIN_DIMS dimensions (where angles between standardised rows are informative
 * and random rows are never within a few degrees of each other); standardised Euclidean
 * distance for tabular columns (numeric, one-hot categorical, or a mix with embeddings or
 * text) and for any rows of fewer dimensions, where angles say little and a row scaled 12×
 * points the same way as the row it was scaled from.
 */
export function metricFor(split: Pick<PoolSplit, 'd' | 'pixels' | 'textFeatures' | 'featureNames'>): FeatureMetric {
  if (split.pixels || textOnly(split)) return 'cosine';
  const vectorDims = split.featureNames.filter((f) => /\[\d+\]$/.test(f)).length;
  return vectorDims === split.d && split.d >= COSINE_MIN_DIMS ? 'cosine' : 'euclidean';
}

/**
 * Orthonormal basis (m rows of length d, float32) of approximately the top-m principal
 * directions of X's rows: compute/pca.ts's sampled variant (covariance of at most `maxRows`
 * rows drawn with a seeded sample, subspace iteration above 128 dimensions). Callers use it
 * either as a documented dimensionality reduction or inside an exact bound (projection +
 * residual norm), where any orthonormal basis is valid and a better one only means fewer
 * candidates. Deterministic for a seed.
 */
export function principalBasis(
  X: Float32Array, n: number, d: number, m: number,
  opts: { maxRows?: number; seed?: number; iterations?: number } = {},
): Float32Array {
  const seed = opts.seed ?? 0;
  const fit = fitPca(X, n, d, Math.min(m, d), {
    variant: 'sampled', maxRows: opts.maxRows ?? 4000, iterations: opts.iterations, random: () => createRng(seed),
  });
  return Float32Array.from(fit.components);
}

/** Projects rows of X (n × d) onto the m basis vectors: n × m (SIMD kernel). */
export function project(X: Float32Array, n: number, d: number, basis: Float32Array, m: number): Promise<Float32Array> {
  return crossProduct(X, n, basis, m, d);
}
