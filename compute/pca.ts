/**
 * Principal component analysis: the one implementation, for the evaluator's fixed-model
 * preprocessing (`pca: k`) and the analysers' neighbour space and duplicate search.
 *
 * Covariance: rows centred on their float64 mean, stored float32, and C = ZᵀZ / (rows − 1)
 * from the SIMD dot-product kernel (dots.ts) over slabs of at most 512 rows, each slab's float32
 * sums added into float64. This is what makes PCA on dense data fast (20,000 × 784 pixels: the
 * former sparse float64 XᵀX loop took about 43 s); slabs bound the float32 rounding to a few
 * units of 1e-7 relative (docs/evaluator.md, "PCA", for the measured agreement).
 *
 * Two variants, one code path:
 * - `exact`: every row; all eigenpairs by Householder + QL (symeig.ts);
 * - `sampled`: at most `maxRows` rows drawn with a seeded RNG; exact eigenpairs up to 128
 *   dimensions, beyond that the top k by subspace iteration (k + 16 vectors, `iterations`
 *   rounds, Rayleigh–Ritz in float64). For reductions where approximately the top directions
 *   are enough (search spaces).
 *
 * Components are ordered by decreasing variance (ties by index) and signed so that each one's
 * largest-magnitude entry (the first on ties) is positive: the same rows always give the same
 * components, bit for bit, whatever the thread count (the kernel's tasks write disjoint slabs
 * and are summed in a fixed order).
 */
import { forEachDotBlock } from './dots.ts';
import { symmetricEigen } from './symeig.ts';

export interface PcaOptions {
  /** 'exact' (default): all rows, full eigendecomposition. 'sampled': see the module comment. */
  variant?: 'exact' | 'sampled';
  /** sampled: rows used for the covariance (default 4,000). */
  maxRows?: number;
  /**
   * sampled: seeded randomness for the row sample and the subspace start, one fresh source
   * per stream (e.g. `() => createRng(seed)` from compute/rng.ts), so callers choose the stream.
   */
  random?: (stream: 'rows' | 'start') => PcaRandom;
  /** sampled, above 128 dimensions: subspace iterations (default 12). */
  iterations?: number;
  /** Divide every input by this first (the evaluator's `scale`); default 1. */
  scale?: number;
}

/** What the sampled variant draws: a permutation of row indices, standard normal values. */
export interface PcaRandom {
  permutation(n: number): Int32Array;
  normal(): number;
}

export interface PcaFit {
  /** Mean of the (scaled) rows used, d values. */
  mean: Float64Array;
  /** k unit components of length d, row c = component c. */
  components: Float64Array;
  /** Variance along each component (rows − 1 denominator); eigenvalues of the covariance. */
  variance: Float64Array;
  /** Trace of the covariance (total variance). */
  totalVariance: number;
  /** Rows the covariance was computed from. */
  rows: number;
}

/** Rows per float32 slab of the covariance; each slab's sums are added in float64. */
const SLAB_ROWS = 512;
/** Up to this dimension the sampled variant decomposes exactly too. */
const EXACT_EIGEN_MAX_DIMS = 128;

/** Fits the top `k` principal components of the rows of X (n × d, row-major). */
export function fitPca(X: Float32Array, n: number, d: number, k: number, opts: PcaOptions = {}): PcaFit {
  if (X.length !== n * d) throw new Error(`pca: ${X.length} values, expected n×d = ${n}×${d}`);
  if (!(Number.isInteger(k) && k >= 1 && k <= d)) throw new Error(`pca: k must be an integer in [1, ${d}], got ${k}`);
  if (n < 2) throw new Error(`pca: needs at least 2 rows, got ${n}`);
  const sampled = opts.variant === 'sampled';
  const maxRows = opts.maxRows ?? 4000;
  const random = (stream: 'rows' | 'start'): PcaRandom => {
    if (!opts.random) throw new Error('pca: the sampled variant needs a seeded random source');
    return opts.random(stream);
  };
  const rows = sampled && n > maxRows ? random('rows').permutation(n).subarray(0, maxRows).sort() : null;
  const { C, mean, count } = covariance(X, n, d, rows, opts.scale ?? 1);
  let totalVariance = 0;
  for (let j = 0; j < d; j++) totalVariance += C[j * d + j];
  const { vectors, values } = sampled && d > EXACT_EIGEN_MAX_DIMS
    ? topEigenpairs(C, d, k, opts.iterations ?? 12, random('start'))
    : allEigenpairs(C, d, k);
  for (let c = 0; c < k; c++) fixSign(vectors, c, d);
  return { mean, components: vectors, variance: values, totalVariance, rows: count };
}

/** Covariance (d × d, float64, exactly symmetric) of the chosen rows of X / scale. */
export function covariance(
  X: Float32Array, n: number, d: number, rows: Int32Array | null, scale = 1,
): { C: Float64Array; mean: Float64Array; count: number } {
  const count = rows ? rows.length : n;
  const row = (r: number) => (rows ? rows[r] : r) * d;
  const mean = new Float64Array(d);
  for (let r = 0; r < count; r++) {
    const o = row(r);
    for (let j = 0; j < d; j++) mean[j] += X[o + j] / scale;
  }
  for (let j = 0; j < d; j++) mean[j] /= count;
  const C = new Float64Array(d * d);
  // Centred slab, transposed (d rows of `len` values), so ZᵀZ is a Gram matrix of its rows.
  const slab = Math.min(SLAB_ROWS, count);
  const T = new Float32Array(d * slab);
  for (let r0 = 0; r0 < count; r0 += slab) {
    const len = Math.min(slab, count - r0);
    const Ts = len === slab ? T : new Float32Array(d * len);
    for (let r = 0; r < len; r++) {
      const o = row(r0 + r);
      for (let j = 0; j < d; j++) Ts[j * len + r] = X[o + j] / scale - mean[j];
    }
    forEachDotBlock(Ts, d, Ts, d, len, (q0, q1, dots, stride) => {
      for (let i = q0; i < q1; i++) {
        const o = (i - q0) * stride;
        for (let t = i; t < d; t++) C[i * d + t] += dots[o + t];
      }
    }, {}, true);
  }
  const inv = 1 / (count - 1);
  for (let i = 0; i < d; i++) {
    for (let t = i; t < d; t++) {
      const v = C[i * d + t] * inv;
      C[i * d + t] = v;
      C[t * d + i] = v;
    }
  }
  return { C, mean, count };
}

/** The top k eigenpairs of all of them: descending eigenvalue, ties by index. */
function allEigenpairs(C: Float64Array, d: number, k: number): { vectors: Float64Array; values: Float64Array } {
  const e = symmetricEigen(C, d);
  const order = Array.from({ length: d }, (_, i) => i).sort((p, q) => e.values[q] - e.values[p] || p - q);
  const vectors = new Float64Array(k * d);
  const values = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    vectors.set(e.vectors.subarray(order[c] * d, order[c] * d + d), c * d);
    values[c] = Math.max(0, e.values[order[c]]);
  }
  return { vectors, values };
}

/** Makes component c's largest-magnitude entry (first on ties) positive; −0 becomes 0. */
function fixSign(V: Float64Array, c: number, d: number): void {
  const o = c * d;
  let big = 0;
  for (let j = 1; j < d; j++) if (Math.abs(V[o + j]) > Math.abs(V[o + big])) big = j;
  if (V[o + big] < 0) for (let j = 0; j < d; j++) V[o + j] = -V[o + j] || 0;
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

/** Top-k eigenpairs of a symmetric d × d matrix by subspace iteration + Rayleigh–Ritz. */
function topEigenpairs(C: Float64Array, d: number, k: number, iterations: number, rng: PcaRandom): { vectors: Float64Array; values: Float64Array } {
  const C32 = Float32Array.from(C);
  const l = Math.min(d, k + 16);
  let Q = new Float64Array(l * d);
  for (let i = 0; i < Q.length; i++) Q[i] = rng.normal();
  orthonormalizeRows(Q, l, d);
  let W = new Float64Array(l * d);
  const Q32 = new Float32Array(l * d);
  for (let it = 0; it < iterations; it++) {
    // W rows = C · Q rows (C symmetric): one kernel call, dots of Q's rows with C's rows.
    for (let i = 0; i < Q.length; i++) Q32[i] = Q[i];
    forEachDotBlock(C32, d, Q32, l, d, (q0, q1, dots, stride) => {
      for (let i = q0; i < q1; i++) for (let j = 0; j < d; j++) W[i * d + j] = dots[(i - q0) * stride + j];
    });
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
  const order = Array.from({ length: l }, (_, i) => i).sort((p, q) => e.values[q] - e.values[p] || p - q);
  const vectors = new Float64Array(k * d);
  const values = new Float64Array(k);
  for (let t = 0; t < k; t++) {
    const u = e.vectors.subarray(order[t] * l, order[t] * l + l);
    values[t] = Math.max(0, e.values[order[t]]);
    for (let s = 0; s < l; s++) {
      const c = u[s];
      for (let j = 0; j < d; j++) vectors[t * d + j] += c * Q[s * d + j];
    }
  }
  return { vectors, values };
}
