/**
 * The exact Hessian of the logistic regression objective and its Cholesky factor, used to
 * precondition warm-started refits.
 *
 * With x̃ = [x, 1] and θ index (a, c) = a·k + c (a = d is the intercept), the Hessian is
 *   H[(a,c),(b,c')] = Σ_i x̃_ia x̃_ib (p_ic δ_cc' − p_ic p_ic') + l2·δ_ab·δ_cc'·[a < d]
 *                   = D − VᵀV,   D = blockdiag_c Σ_i p_ic x̃_i x̃_iᵀ,  V_i = p_i ⊗ x̃_i.
 * It does not depend on the labels, so after a few labels change, the Hessian at the old
 * optimum is still an excellent model of the new problem: L-BFGS started from the old
 * optimum with H⁻¹ as its initial matrix converges in a handful of steps instead of
 * dozens. Shifting every intercept by the same amount changes nothing (H has that null
 * direction); a tiny ridge on the intercept block makes the factorisation definite.
 */
import { softmaxRows } from '../kernels/softmax.ts';
import { logisticLogitsWasm } from '../kernels/logistic-engine.ts';
import { gramMatrix } from '../../compute/dots.ts';
import { choleskyWasm } from '../../compute/linalg-wasm.ts';

/** Largest parameter count (d + 1)·k for which a dense Hessian is worth factoring. */
export const MAX_NEWTON_PARAMS = 2048;

/**
 * Dense symmetric Hessian (P × P, P = (d + 1)·k) of the penalised objective at θ. The Gram
 * matrices VᵀV and the per-class blocks of D run in the SIMD dot-product kernel (float32
 * sums: relative error ~1e-6, plenty for a preconditioner, which only shapes the search
 * direction; the objective and gradient stay exact).
 */
export function logRegHessian(X: Float32Array, n: number, d: number, k: number, theta: Float64Array, l2: number): Float64Array {
  const P = (d + 1) * k;
  const D1 = d + 1;
  const p = softmaxRows(logisticLogitsWasm(X, n, d, k, theta), n, k);
  // A = Vᵀ: row (a, c) holds x̃_ia·p_ic over the rows i.
  const A = new Float32Array(P * n);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < D1; a++) {
      const x = a < d ? X[i * d + a] : 1;
      if (x === 0) continue;
      for (let c = 0; c < k; c++) A[(a * k + c) * n + i] = x * p[i * k + c];
    }
  }
  const G = gramMatrix(A, P, n);
  const H = new Float64Array(P * P);
  for (let r = 0; r < P * P; r++) H[r] = -G[r];
  // + D: block (c, c) = Σ_i p_ic x̃_i x̃_iᵀ, the Gram matrix of rows x̃_a·√p_c.
  const B = new Float32Array(D1 * n);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < n; i++) {
      const sp = Math.sqrt(p[i * k + c]);
      for (let a = 0; a < d; a++) B[a * n + i] = X[i * d + a] * sp;
      B[d * n + i] = sp;
    }
    const Dc = gramMatrix(B, D1, n);
    for (let a = 0; a < D1; a++) for (let b = 0; b < D1; b++) H[(a * k + c) * P + b * k + c] += Dc[a * D1 + b];
  }
  for (let a = 0; a < d; a++) for (let c = 0; c < k; c++) H[(a * k + c) * (P + 1)] += l2;
  return H;
}

/**
 * Cholesky factor of H + small ridges (float32, row-major): L in the lower triangle and
 * diagonal, Lᵀ mirrored into the upper triangle. Returns null if H is not numerically
 * positive definite.
 */
export function choleskyForNewton(H: Float64Array, P: number, d: number, k: number): Float32Array | null {
  const A = Float64Array.from(H);
  let maxDiag = 0;
  for (let r = 0; r < P; r++) maxDiag = Math.max(maxDiag, H[r * P + r]);
  // The intercept block is singular (a common shift of all intercepts changes nothing) and
  // the float32 Gram sums carry ~1e-6 relative error: ridges above that noise keep the
  // factorisation definite without changing the search direction noticeably.
  const scale = Math.max(maxDiag, 1);
  for (let r = 0; r < P; r++) A[r * (P + 1)] += (r >= d * k ? 1e-4 : 1e-6) * scale;
  return choleskyWasm(A, P);
}

/**
 * out = (L Lᵀ)⁻¹ q by forward and back substitution in plain TypeScript (the reference for
 * compute/linalg-wasm.ts's CholeskySolver, which fits use).
 */
export function choleskySolve(L: Float32Array | Float64Array, P: number, q: Float64Array, out: Float64Array): void {
  for (let r = 0; r < P; r++) {
    const rr = r * P;
    let s0 = q[r], s1 = 0, s2 = 0, s3 = 0;
    let m = 0;
    for (; m + 3 < r; m += 4) {
      s0 -= L[rr + m] * out[m]; s1 -= L[rr + m + 1] * out[m + 1];
      s2 -= L[rr + m + 2] * out[m + 2]; s3 -= L[rr + m + 3] * out[m + 3];
    }
    for (; m < r; m++) s0 -= L[rr + m] * out[m];
    out[r] = (s0 + s1 + s2 + s3) / L[rr + r];
  }
  for (let r = P - 1; r >= 0; r--) {
    const rr = r * P;
    let s0 = out[r], s1 = 0, s2 = 0, s3 = 0;
    let m = r + 1;
    for (; m + 3 < P; m += 4) {
      s0 -= L[rr + m] * out[m]; s1 -= L[rr + m + 1] * out[m + 1];
      s2 -= L[rr + m + 2] * out[m + 2]; s3 -= L[rr + m + 3] * out[m + 3];
    }
    for (; m < P; m++) s0 -= L[rr + m] * out[m];
    out[r] = (s0 + s1 + s2 + s3) / L[rr + r];
  }
}
