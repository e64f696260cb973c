/**
 * Driver for the SIMD dot-product kernel (dots-wasm.ts): all dot products between query
 * rows Q (nq × d) and reference rows T (n × d), delivered one block of up to 64 queries at
 * a time. The reference rows are laid out once in transposed blocks; for each query block
 * the reference is cut into slabs of 256 rows (about d KiB, cache-resident) that threads
 * process independently, so the result does not depend on the thread count.
 */
import { DOT_BLOCK, dotsWasmModule, type DotsExports } from './dots-wasm.ts';
import { Layout } from './wasm.ts';
import { kernelFor } from './pool.ts';
import { acquire } from './arena.ts';

/** Query rows per block: their non-zeros and dot products stay in cache together. */
export const QUERY_BLOCK = 64;
/** Reference blocks (of DOT_BLOCK rows) per task: 256 rows × d floats fit in L2. */
const SLAB_BLOCKS = 256 / DOT_BLOCK;

/**
 * Calls `onBlock(q0, q1, dots, stride)` for consecutive query blocks, where
 * dots[(i − q0)·stride + t] = Σ_j qScale[i]·Q[i, j] · tScale[t]·T[t, j] (f32 sums over the
 * query's non-zeros, in input order). `dots` is only valid during the call.
 * Optional per-row scales (e.g. 1/‖row‖ for cosine) are applied to the stored copies.
 */
export function forEachDotBlock(
  T: Float32Array, n: number, Q: Float32Array, nq: number, d: number,
  onBlock: (q0: number, q1: number, dots: Float32Array, stride: number) => void,
  scales: { T?: Float64Array; Q?: Float64Array } = {},
  /** Only reference rows t ≥ q0 of each block are needed (symmetric products): skips the rest. */
  upperOnly = false,
): void {
  if (T.length !== n * d) throw new Error(`dot products: reference has ${T.length} values, expected ${n}×${d}`);
  if (Q.length !== nq * d) throw new Error(`dot products: queries have ${Q.length} values, expected ${nq}×${d}`);
  const nb = Math.ceil(n / DOT_BLOCK);
  let qNnz = 0;
  for (let i = 0; i < Q.length; i++) if (Q[i] !== 0) qNnz++;
  const L = new Layout();
  const rel = {
    T: L.alloc(nb * d * DOT_BLOCK * 4),
    qrows: L.alloc(4 * (nq + 1)),
    qpairs: L.alloc(8 * qNnz),
    out: L.alloc(QUERY_BLOCK * nb * DOT_BLOCK * 4),
  };
  const region = acquire(L.bytes);
  try {
    const at = region.base;
    const lay = { T: at + rel.T, qrows: at + rel.qrows, qpairs: at + rel.qpairs, out: at + rel.out };
    const buf = region.buffer();
    // Transposed blocks: Tt[b][j][r] = row (DOT_BLOCK·b + r), input j. Padding rows are
    // never read back, so they need no clearing.
    const Tt = new Float32Array(buf, lay.T, nb * d * DOT_BLOCK);
    for (let i = 0; i < n; i++) {
      const b = Math.floor(i / DOT_BLOCK), r = i % DOT_BLOCK;
      const s = scales.T ? scales.T[i] : 1;
      const base = b * d * DOT_BLOCK + r;
      for (let j = 0; j < d; j++) Tt[base + j * DOT_BLOCK] = T[i * d + j] * s;
    }
    const qrows = new Int32Array(buf, lay.qrows, nq + 1);
    const qoff = new Int32Array(buf, lay.qpairs, 2 * qNnz), qval = new Float32Array(buf, lay.qpairs, 2 * qNnz);
    let p = 0;
    for (let i = 0; i < nq; i++) {
      qrows[i] = lay.qpairs + 8 * p;
      const s = scales.Q ? scales.Q[i] : 1;
      for (let j = 0; j < d; j++) {
        const x = Q[i * d + j];
        if (x !== 0) { qoff[2 * p] = j * DOT_BLOCK * 4; qval[2 * p + 1] = x * s; p++; }
      }
    }
    qrows[nq] = lay.qpairs + 8 * p;

    const kernel = kernelFor<DotsExports>(dotsWasmModule());
    const stride = nb * DOT_BLOCK;
    const dots = new Float32Array(buf, lay.out, QUERY_BLOCK * stride);
    for (let q0 = 0; q0 < nq; q0 += QUERY_BLOCK) {
      const q1 = Math.min(nq, q0 + QUERY_BLOCK);
      const tasks: number[][] = [];
      const first = upperOnly ? Math.floor(q0 / (DOT_BLOCK * SLAB_BLOCKS)) * SLAB_BLOCKS : 0;
      for (let b0 = first; b0 < nb; b0 += SLAB_BLOCKS) {
        tasks.push([lay.qrows, q0, q1, lay.T, b0, Math.min(nb, b0 + SLAB_BLOCKS), d * DOT_BLOCK * 4, lay.out, 4 * stride]);
      }
      kernel.run('dots', tasks, nb > SLAB_BLOCKS);
      onBlock(q0, q1, dots, stride);
    }
  } finally {
    region.release();
  }
}

/**
 * Gram matrix A·Aᵀ (m × m, Float64 copy of f32 sums) of the rows of A (m × len). Only the
 * upper triangle is computed; the lower one is its mirror, so the result is exactly symmetric.
 */
export function gramMatrix(A: Float32Array, m: number, len: number): Float64Array {
  const G = new Float64Array(m * m);
  forEachDotBlock(A, m, A, m, len, (q0, q1, dots, stride) => {
    for (let i = q0; i < q1; i++) {
      const o = (i - q0) * stride;
      for (let t = i; t < m; t++) { const v = dots[o + t]; G[i * m + t] = v; G[t * m + i] = v; }
    }
  }, {}, true);
  return G;
}
