/**
 * Column standardisation and row normalisation, the one implementation shared by the
 * evaluator's preprocessing (`standardize`) and the analysers' neighbour spaces.
 *
 * Standardisation is scikit-learn's StandardScaler: the mean and the population standard
 * deviation (ddof = 0) of every column in float64, then (x − mean) / std rounded once to
 * float32. The mean takes a second, correcting pass (Σ (x − mean) / n added back), so a constant
 * column gets its value exactly and maps to exactly 0; a column whose std is at most 1e-12
 * keeps std 1.
 */

export interface ColumnScaling {
  mean: Float64Array;
  /** Population standard deviation per column; 1 where a column is (numerically) constant. */
  std: Float64Array;
}

/** Mean and population std of each column of a row-major n × d matrix (float64 sums in row order). */
export function columnScaling(X: ArrayLike<number>, n: number, d: number): ColumnScaling {
  if (X.length !== n * d) throw new RangeError(`column scaling: ${X.length} values for ${n} × ${d}`);
  const mean = new Float64Array(d), m2 = new Float64Array(d), std = new Float64Array(d).fill(1);
  if (n === 0) return { mean, std };
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += X[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  // Second pass corrects the mean's rounding (a constant column then gets its exact value).
  const corr = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) corr[j] += X[i * d + j] - mean[j];
  for (let j = 0; j < d; j++) mean[j] += corr[j] / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) { const t = X[i * d + j] - mean[j]; m2[j] += t * t; }
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(m2[j] / n);
    std[j] = s > 1e-12 ? s : 1;
  }
  return { mean, std };
}

/** (X − mean) / std per column into a new Float32Array (n × d). */
export function applyScaling(
  X: ArrayLike<number>, n: number, d: number, s: { mean: ArrayLike<number>; std: ArrayLike<number> },
): Float32Array {
  if (X.length !== n * d) throw new RangeError(`column scaling: ${X.length} values for ${n} × ${d}`);
  if (s.mean.length !== d || s.std.length !== d) throw new RangeError(`column scaling: ${s.mean.length} means and ${s.std.length} stds for ${d} columns`);
  const out = new Float32Array(n * d);
  const { mean, std } = s;
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) out[o + j] = (X[o + j] - mean[j]) / std[j];
  }
  return out;
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
