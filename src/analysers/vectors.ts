/**
 * Row-vector preparation shared by the neighbour-based analysers (kNN label agreement,
 * outliers, near duplicates, leakage): per-column standardisation, L2 normalisation, and an
 * orthonormal principal-component basis for cheap candidate search. Typed arrays only.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { createRng } from '../../evaluator/rng.ts';

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
 * Orthonormal basis (d × m, column-major as m rows of length d) of the top-m principal
 * directions of X's rows, estimated on at most `maxRows` rows chosen with a seeded sample.
 * The basis does not need to be the exact PCA: callers use it either as a documented
 * dimensionality reduction or inside an exact bound (projection + residual norm), where any
 * orthonormal basis is valid and a better one only means fewer candidates.
 */
export function principalBasis(
  X: Float32Array, n: number, d: number, m: number,
  opts: { maxRows?: number; seed?: number } = {},
): Float32Array {
  const maxRows = opts.maxRows ?? 4000;
  const rows = n <= maxRows ? null : createRng(opts.seed ?? 0).permutation(n).subarray(0, maxRows).sort();
  const count = rows ? rows.length : n;
  const mean = new Float64Array(d);
  for (let r = 0; r < count; r++) {
    const o = (rows ? rows[r] : r) * d;
    for (let j = 0; j < d; j++) mean[j] += X[o + j];
  }
  for (let j = 0; j < d; j++) mean[j] /= Math.max(count, 1);
  // Covariance (upper triangle, float64), one centred row at a time.
  const C = new Float64Array(d * d);
  const c = new Float64Array(d);
  for (let r = 0; r < count; r++) {
    const o = (rows ? rows[r] : r) * d;
    for (let j = 0; j < d; j++) c[j] = X[o + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ca = c[a];
      if (ca === 0) continue;
      const row = a * d;
      for (let b = a; b < d; b++) C[row + b] += ca * c[b];
    }
  }
  const M = new Matrix(d, d);
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = C[a * d + b] / Math.max(count - 1, 1);
      M.set(a, b, v);
      M.set(b, a, v);
    }
  }
  const evd = new EigenvalueDecomposition(M, { assumeSymmetric: true });
  const values = evd.realEigenvalues;
  const vectors = evd.eigenvectorMatrix;
  const order = Array.from(values.keys()).sort((p, q) => values[q] - values[p] || p - q);
  const k = Math.min(m, d);
  const basis = new Float32Array(k * d);
  for (let t = 0; t < k; t++) {
    const col = order[t];
    // Deterministic sign: the largest-magnitude component is positive.
    let big = 0;
    for (let j = 0; j < d; j++) if (Math.abs(vectors.get(j, col)) > Math.abs(big)) big = vectors.get(j, col);
    const sign = big < 0 ? -1 : 1;
    for (let j = 0; j < d; j++) basis[t * d + j] = sign * vectors.get(j, col);
  }
  return basis;
}

/** Projects rows of X (n × d) onto the m basis vectors: n × m. */
export function project(X: Float32Array, n: number, d: number, basis: Float32Array, m: number): Float32Array {
  const P = new Float32Array(n * m);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let t = 0; t < m; t++) {
      const b = t * d;
      let s = 0;
      for (let j = 0; j < d; j++) s += X[o + j] * basis[b + j];
      P[i * m + t] = s;
    }
  }
  return P;
}
