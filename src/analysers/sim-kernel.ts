/**
 * The one hot loop behind every neighbour search: a tile of dot products between rows of A
 * and rows of B (both row-major with row length d), 4 × 4 register-blocked.
 *
 * Every dot product is accumulated in float64 in the same order (t = 0 … d−1) whether it falls
 * in a full 4 × 4 block or in a remainder, and a·b is computed exactly like b·a, so a value does
 * not depend on where in a tile (or in which thread) it was computed: results are bit-identical
 * across tilings and thread counts.
 */

/**
 * out[i * outStride + j] = A[aRow + i] · B[bRow + j] for i < aCount, j < bCount.
 */
export function simTile(
  A: Float32Array, aRow: number, aCount: number,
  B: Float32Array, bRow: number, bCount: number,
  d: number, out: Float32Array, outStride: number,
): void {
  const a4 = aCount - (aCount % 4);
  const b4 = bCount - (bCount % 4);
  for (let i = 0; i < a4; i += 4) {
    const q0 = (aRow + i) * d, q1 = q0 + d, q2 = q1 + d, q3 = q2 + d;
    const o0 = i * outStride, o1 = o0 + outStride, o2 = o1 + outStride, o3 = o2 + outStride;
    for (let j = 0; j < b4; j += 4) {
      const x0 = (bRow + j) * d, x1 = x0 + d, x2 = x1 + d, x3 = x2 + d;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let t = 0; t < d; t++) {
        const a0 = A[q0 + t], a1 = A[q1 + t], a2 = A[q2 + t], a3 = A[q3 + t];
        const b0 = B[x0 + t], b1 = B[x1 + t], b2 = B[x2 + t], b3 = B[x3 + t];
        s00 += a0 * b0; s01 += a0 * b1; s02 += a0 * b2; s03 += a0 * b3;
        s10 += a1 * b0; s11 += a1 * b1; s12 += a1 * b2; s13 += a1 * b3;
        s20 += a2 * b0; s21 += a2 * b1; s22 += a2 * b2; s23 += a2 * b3;
        s30 += a3 * b0; s31 += a3 * b1; s32 += a3 * b2; s33 += a3 * b3;
      }
      out[o0 + j] = s00; out[o0 + j + 1] = s01; out[o0 + j + 2] = s02; out[o0 + j + 3] = s03;
      out[o1 + j] = s10; out[o1 + j + 1] = s11; out[o1 + j + 2] = s12; out[o1 + j + 3] = s13;
      out[o2 + j] = s20; out[o2 + j + 1] = s21; out[o2 + j + 2] = s22; out[o2 + j + 3] = s23;
      out[o3 + j] = s30; out[o3 + j + 1] = s31; out[o3 + j + 2] = s32; out[o3 + j + 3] = s33;
    }
    for (let j = b4; j < bCount; j++) {
      const x0 = (bRow + j) * d;
      out[o0 + j] = dot(A, q0, B, x0, d);
      out[o1 + j] = dot(A, q1, B, x0, d);
      out[o2 + j] = dot(A, q2, B, x0, d);
      out[o3 + j] = dot(A, q3, B, x0, d);
    }
  }
  for (let i = a4; i < aCount; i++) {
    const q = (aRow + i) * d;
    const o = i * outStride;
    for (let j = 0; j < bCount; j++) out[o + j] = dot(A, q, B, (bRow + j) * d, d);
  }
}

/** A single dot product with the same accumulation order as simTile. */
export function dot(A: Float32Array, aOff: number, B: Float32Array, bOff: number, d: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) s += A[aOff + t] * B[bOff + t];
  return Math.fround(s);
}
