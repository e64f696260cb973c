/**
 * Row-vector preparation shared by the neighbour-based analysers (kNN label agreement,
 * outliers, near duplicates, leakage): per-column standardisation, L2 normalisation, and an
 * orthonormal principal-component basis for cheap candidate search. Typed arrays only.
 */
import { createRng } from '../../evaluator/rng.ts';
import { symmetricEigen } from '../../evaluator/kernels/symeig.ts';
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
 * Orthonormal basis (m rows of length d) of approximately the top-m principal directions of
 * X's rows, estimated on at most `maxRows` rows chosen with a seeded sample: covariance with
 * the SIMD kernel, then subspace iteration with 16 extra vectors and a Rayleigh–Ritz step
 * (exact eigenvectors when d ≤ 128). Callers use it either as a documented dimensionality
 * reduction or inside an exact bound (projection + residual norm), where any orthonormal basis
 * is valid and a better one only means fewer candidates. Deterministic for a seed.
 */
export async function principalBasis(
  X: Float32Array, n: number, d: number, m: number,
  opts: { maxRows?: number; seed?: number; iterations?: number } = {},
): Promise<Float32Array> {
  const maxRows = opts.maxRows ?? 4000;
  const rows = n <= maxRows ? null : createRng(opts.seed ?? 0).permutation(n).subarray(0, maxRows).sort();
  const count = rows ? rows.length : n;
  const mean = new Float64Array(d);
  for (let r = 0; r < count; r++) {
    const o = (rows ? rows[r] : r) * d;
    for (let j = 0; j < d; j++) mean[j] += X[o + j];
  }
  for (let j = 0; j < d; j++) mean[j] /= Math.max(count, 1);
  // Centred sample, transposed (d rows of length count), so C = T Tᵀ is one kernel call.
  const T = new Float32Array(d * count);
  for (let r = 0; r < count; r++) {
    const o = (rows ? rows[r] : r) * d;
    for (let j = 0; j < d; j++) T[j * count + r] = X[o + j] - mean[j];
  }
  const C32 = await crossProduct(T, d, T, d, count);
  const C = new Float64Array(d * d);
  const inv = 1 / Math.max(count - 1, 1);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
    // Symmetrise: the kernel computes (i, j) and (j, i) identically, this only guards the invariant.
    C[i * d + j] = 0.5 * (C32[i * d + j] + C32[j * d + i]) * inv;
  }
  const k = Math.min(m, d);
  let vectors: Float64Array; // k rows of length d, descending eigenvalue
  if (d <= 128) {
    const e = symmetricEigen(C, d);
    vectors = new Float64Array(k * d);
    for (let t = 0; t < k; t++) vectors.set(e.vectors.subarray((d - 1 - t) * d, (d - t) * d), t * d);
  } else {
    vectors = await topEigenvectors(C, d, k, opts.iterations ?? 12, opts.seed ?? 0);
  }
  const basis = new Float32Array(k * d);
  for (let t = 0; t < k; t++) {
    // Deterministic sign: the largest-magnitude component is positive.
    let big = 0;
    for (let j = 0; j < d; j++) if (Math.abs(vectors[t * d + j]) > Math.abs(big)) big = vectors[t * d + j];
    const sign = big < 0 ? -1 : 1;
    for (let j = 0; j < d; j++) basis[t * d + j] = sign * vectors[t * d + j];
  }
  return basis;
}

/** Modified Gram–Schmidt on l rows of length d, in place. */
function orthonormalizeRows(Q: Float64Array, l: number, d: number): void {
  for (let a = 0; a < l; a++) {
    const oa = a * d;
    for (let b = 0; b < a; b++) {
      const ob = b * d;
      let s = 0;
      for (let j = 0; j < d; j++) s += Q[oa + j] * Q[ob + j];
      for (let j = 0; j < d; j++) Q[oa + j] -= s * Q[ob + j];
    }
    let norm = 0;
    for (let j = 0; j < d; j++) norm += Q[oa + j] * Q[oa + j];
    norm = Math.sqrt(norm);
    // A degenerate direction (rank-deficient C) is replaced by a fixed unit vector and re-orthogonalised next round.
    if (norm < 1e-300) { Q.fill(0, oa, oa + d); Q[oa + (a % d)] = 1; continue; }
    for (let j = 0; j < d; j++) Q[oa + j] /= norm;
  }
}

/** W rows = C · Q rows (C symmetric d × d, given as Float32): one SIMD kernel call, Q · C. */
async function multiplyRows(C32: Float32Array, Q: Float64Array, l: number, d: number, W: Float64Array): Promise<void> {
  const W32 = await crossProduct(Float32Array.from(Q), l, C32, d, d);
  for (let i = 0; i < W.length; i++) W[i] = W32[i];
}

/** Top-k eigenvectors of a symmetric d × d matrix by subspace iteration + Rayleigh–Ritz. */
export async function topEigenvectors(C: Float64Array, d: number, k: number, iterations: number, seed: number): Promise<Float64Array> {
  const C32 = Float32Array.from(C);
  const l = Math.min(d, k + 16);
  const rng = createRng(seed);
  let Q = new Float64Array(l * d);
  for (let i = 0; i < Q.length; i++) Q[i] = rng.normal();
  orthonormalizeRows(Q, l, d);
  let W = new Float64Array(l * d);
  for (let it = 0; it < iterations; it++) {
    await multiplyRows(C32, Q, l, d, W);
    const tmp = Q; Q = W; W = tmp;
    orthonormalizeRows(Q, l, d);
  }
  // Rayleigh–Ritz in float64: S = Qᵀ C Q.
  for (let t = 0; t < l; t++) {
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += C[i * d + j] * Q[t * d + j];
      W[t * d + i] = s;
    }
  }
  const S = new Float64Array(l * l);
  for (let a = 0; a < l; a++) for (let b = a; b < l; b++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += Q[a * d + j] * W[b * d + j];
    S[a * l + b] = s;
    S[b * l + a] = s;
  }
  const e = symmetricEigen(S, l);
  const out = new Float64Array(k * d);
  for (let t = 0; t < k; t++) {
    const u = e.vectors.subarray((l - 1 - t) * l, (l - t) * l); // descending eigenvalues
    for (let s = 0; s < l; s++) {
      const c = u[s];
      for (let j = 0; j < d; j++) out[t * d + j] += c * Q[s * d + j];
    }
  }
  return out;
}

/** Projects rows of X (n × d) onto the m basis vectors: n × m (SIMD kernel). */
export function project(X: Float32Array, n: number, d: number, basis: Float32Array, m: number): Promise<Float32Array> {
  return crossProduct(X, n, basis, m, d);
}
