/**
 * The hot loop of multinomial logistic regression: summed cross-entropy over a range of rows
 * and its gradient. Parameters are one Float64Array θ = [W (d × k, row-major), b (k)], so a
 * row's logits are z = x·W + b with k independent accumulators per input (no dependency
 * chain across the d inputs), and zero inputs (half of all pixels) are skipped.
 */
import { softmaxXentRow } from './softmax.ts';

export interface LabelledMatrix {
  X: Float32Array;
  n: number;
  d: number;
  y: Int32Array;
  k: number;
}

/**
 * Returns Σ_{i∈[r0,r1)} −log p(y_i | x_i) and ADDS its gradient w.r.t. θ into `grad`
 * (same layout as θ). Rows are processed in order, so the result is deterministic.
 */
export function logisticLossGrad(
  data: LabelledMatrix, theta: Float64Array, grad: Float64Array, r0 = 0, r1 = data.n,
): number {
  const { X, d, y, k } = data;
  const bOff = d * k;
  const z = new Float64Array(k);
  let loss = 0;
  for (let i = r0; i < r1; i++) {
    const off = i * d;
    for (let c = 0; c < k; c++) z[c] = theta[bOff + c];
    for (let j = 0; j < d; j++) {
      const x = X[off + j];
      if (x === 0) continue;
      const wb = j * k;
      for (let c = 0; c < k; c++) z[c] += x * theta[wb + c];
    }
    loss += softmaxXentRow(z, 0, k, y[i]);
    for (let j = 0; j < d; j++) {
      const x = X[off + j];
      if (x === 0) continue;
      const wb = j * k;
      for (let c = 0; c < k; c++) grad[wb + c] += x * z[c];
    }
    for (let c = 0; c < k; c++) grad[bOff + c] += z[c];
  }
  return loss;
}

/** Logits X·W + b for n rows into out (n × k, Float64). */
export function logisticLogits(X: Float32Array, n: number, d: number, k: number, theta: Float64Array, out: Float64Array): Float64Array {
  const bOff = d * k;
  for (let i = 0; i < n; i++) {
    const off = i * d, o = i * k;
    for (let c = 0; c < k; c++) out[o + c] = theta[bOff + c];
    for (let j = 0; j < d; j++) {
      const x = X[off + j];
      if (x === 0) continue;
      const wb = j * k;
      for (let c = 0; c < k; c++) out[o + c] += x * theta[wb + c];
    }
  }
  return out;
}
