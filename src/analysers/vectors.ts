/**
 * Row-vector preparation shared by the neighbour-based analysers (kNN label agreement,
 * outliers, near duplicates, leakage): per-column standardisation, L2 normalisation, and an
 * orthonormal principal-component basis (compute/pca.ts) for cheap candidate search.
 */
import { createRng } from '../../evaluator/rng.ts';
import { fitPca } from '../../compute/pca.ts';
import { crossProduct } from '../../compute/neighbours.ts';

export interface ColumnScaling {
  mean: Float64Array;
  /** Standard deviation per column; zero-variance columns get 1 so they map to 0. */
  std: Float64Array;
}

/** Mean and standard deviation of each column of a row-major n × d matrix (float64 sums). */
export function columnScaling(X: Float32Array, n: number, d: number): ColumnScaling {
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) mean[j] += X[o + j];
  }
  for (let j = 0; j < d; j++) mean[j] /= Math.max(n, 1);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) {
      const c = X[o + j] - mean[j];
      m2[j] += c * c;
    }
  }
  const std = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(m2[j] / Math.max(n, 1));
    // Constant columns carry no information; dividing by 1 keeps them at 0 after centring.
    std[j] = s > 1e-12 ? s : 1;
  }
  return { mean, std };
}

/** (X − mean) / std into a new Float32Array. */
export function applyScaling(X: Float32Array, n: number, d: number, s: ColumnScaling): Float32Array {
  const Z = new Float32Array(n * d);
  const inv = new Float64Array(d);
  for (let j = 0; j < d; j++) inv[j] = 1 / s.std[j];
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) Z[o + j] = (X[o + j] - s.mean[j]) * inv[j];
  }
  return Z;
}

/** Scales every row to unit L2 norm in place; all-zero rows stay zero. Returns the norms. */
export function normalizeRowsInPlace(X: Float32Array, n: number, d: number): Float64Array {
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += X[o + j] * X[o + j];
    const norm = Math.sqrt(s);
    norms[i] = norm;
    if (norm > 0) {
      const inv = 1 / norm;
      for (let j = 0; j < d; j++) X[o + j] *= inv;
    }
  }
  return norms;
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
