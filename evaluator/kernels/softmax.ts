/**
 * Row-wise softmax helpers on typed arrays. Max-shifted so large logits cannot overflow.
 */

/** In place: each row of the n × k matrix z becomes its softmax. Returns z. */
export function softmaxRows<T extends Float32Array | Float64Array>(z: T, n: number, k: number): T {
  for (let i = 0; i < n; i++) {
    const o = i * k;
    let m = -Infinity;
    for (let c = 0; c < k; c++) if (z[o + c] > m) m = z[o + c];
    let s = 0;
    for (let c = 0; c < k; c++) { const e = Math.exp(z[o + c] - m); z[o + c] = e; s += e; }
    const inv = 1 / s;
    for (let c = 0; c < k; c++) z[o + c] *= inv;
  }
  return z;
}

/**
 * For one row of logits z[o..o+k): overwrites them with softmax probabilities minus the
 * one-hot target (the cross-entropy gradient w.r.t. the logits) and returns the row's loss
 * −log p_y = logsumexp(z) − z_y.
 */
export function softmaxXentRow(z: Float64Array, o: number, k: number, y: number): number {
  let m = -Infinity;
  for (let c = 0; c < k; c++) if (z[o + c] > m) m = z[o + c];
  const zy = z[o + y];
  let s = 0;
  for (let c = 0; c < k; c++) { const e = Math.exp(z[o + c] - m); z[o + c] = e; s += e; }
  const inv = 1 / s;
  const loss = Math.log(s) - (zy - m);
  for (let c = 0; c < k; c++) z[o + c] *= inv;
  z[o + y] -= 1;
  return loss;
}
