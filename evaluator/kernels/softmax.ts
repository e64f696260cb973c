/**
 * Row-wise softmax helpers on typed arrays. Max-shifted so large logits cannot overflow.
 */

/**
 * exp(x) for x ≤ 0, as computed inside the WebAssembly kernels (logistic-wasm.ts emits the
 * same operations in the same order, so both give identical bits): x = n·ln2 + r with
 * n = ⌊x/ln2 + ½⌋, |r| ≤ ½·ln2 (Cody–Waite split of ln2), exp(r) by its degree-13 Taylor
 * polynomial (truncation < 1e-17) evaluated in Estrin's scheme (short dependency chains:
 * this runs ten times per row in the hottest loop), times 2ⁿ built from the exponent bits.
 * Results below e^−708 (subnormal) are flushed to 0. Accurate to about 2 ulp.
 */
export const EXP_COEFFS: readonly number[] = (() => {
  const c = [1];
  for (let i = 1; i <= 13; i++) c.push(c[i - 1] / i);
  return c;
})();
export const INV_LN2 = 1.4426950408889634;
export const LN2_HI = 6.93147180369123816490e-01;
export const LN2_LO = 1.90821492927058770002e-10;
const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);

export function expNonPositive(x: number): number {
  if (x < -708) return 0;
  const n = Math.floor(x * INV_LN2 + 0.5);
  const r = (x - n * LN2_HI) - n * LN2_LO;
  const c = EXP_COEFFS;
  const r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  const q0 = c[0] + c[1] * r, q1 = c[2] + c[3] * r, q2 = c[4] + c[5] * r, q3 = c[6] + c[7] * r;
  const q4 = c[8] + c[9] * r, q5 = c[10] + c[11] * r, q6 = c[12] + c[13] * r;
  const s0 = q0 + q1 * r2, s1 = q2 + q3 * r2, s2 = q4 + q5 * r2;
  const t0 = s0 + s1 * r4, t1 = s2 + q6 * r4;
  const p = t0 + t1 * r8;
  words[0] = 0;
  words[1] = (n + 1023) << 20;
  return p * bits[0];
}

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
  for (let c = 0; c < k; c++) { const e = expNonPositive(z[o + c] - m); z[o + c] = e; s += e; }
  const inv = 1 / s;
  const loss = Math.log(s) - (zy - m);
  for (let c = 0; c < k; c++) z[o + c] *= inv;
  z[o + y] -= 1;
  return loss;
}
