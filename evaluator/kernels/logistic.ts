/**
 * The hot loops of multinomial logistic regression in plain TypeScript, the scalar statements
 * of the WebAssembly kernels' arithmetic (tests check the kernels bit for bit against them):
 * summed cross-entropy over a range of rows and its gradient, in float64 (logistic-wasm.ts)
 * and in float32 (logistic-tiles.ts). Parameters are one Float64Array θ = [W (d × k,
 * row-major), b (k)].
 */
import { softmaxXentRow } from './softmax.ts';
import { BLOCK_ROWS } from './logistic-tiles.ts';

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
export function logisticLossGrad64(
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

const f32 = Math.fround;

/**
 * Returns Σ_i −log p(y_i | x_i) and WRITES its gradient w.r.t. θ into `grad` (same layout as
 * θ), as the kernels compute them: θ rounded to float32; logits z_i = (Σ_j x_ij·w_j) + 1·b in
 * float32, inputs in increasing order; softmax and loss in float64 from the promoted logits;
 * residuals rounded to float32; gradient sums in float32 over blocks of BLOCK_ROWS rows, each
 * block's sum added to a float64 total in block order; losses added in row order.
 */
export function logisticLossGrad32(data: LabelledMatrix, theta: Float64Array, grad: Float64Array): number {
  const { X, n, d, y, k } = data;
  const P = (d + 1) * k;
  const w = new Float32Array(P);
  for (let q = 0; q < P; q++) w[q] = theta[q];
  const R = new Float32Array(n * k), z = new Float64Array(k);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const off = i * d;
    for (let c = 0; c < k; c++) {
      let acc = 0;
      for (let j = 0; j < d; j++) acc = f32(acc + f32(X[off + j] * w[j * k + c]));
      z[c] = f32(acc + w[d * k + c]);
    }
    loss += softmaxXentRow(z, 0, k, y[i]);
    for (let c = 0; c < k; c++) R[i * k + c] = z[c];
  }
  grad.fill(0);
  for (let r0 = 0; r0 < n; r0 += BLOCK_ROWS) {
    const r1 = Math.min(n, r0 + BLOCK_ROWS);
    for (let j = 0; j <= d; j++) {
      for (let c = 0; c < k; c++) {
        let acc = 0;
        for (let i = r0; i < r1; i++) acc = f32(acc + f32((j < d ? X[i * d + j] : 1) * R[i * k + c]));
        grad[j * k + c] += acc;
      }
    }
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
