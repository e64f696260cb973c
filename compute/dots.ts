/**
 * Driver for the SIMD tile kernel (tile-kernel.ts) as a stream of dot-product blocks: all
 * dot products between query rows Q (nq × d) and reference rows T (n × d), delivered one
 * block of up to 64 queries at a time. Rows are copied once, zero-padded to a multiple of 4
 * inputs, into kernel memory; for each query block the reference is cut into slabs of 256
 * rows (cache-resident) that threads process independently. Every product is the tile
 * kernel's four-lane float32 sum reduced as (l0 + l1) + (l2 + l3), the same wherever it sits
 * in a tile, so the result does not depend on the thread count (or on how rows are blocked).
 */
import { simModule, type TileFn } from './tile-kernel.ts';
import { Layout } from './wasm.ts';
import { kernelFor } from './pool.ts';
import { acquire } from './arena.ts';

/** Query rows per block (a multiple of the kernel's 4): their products stay in cache together. */
export const QUERY_BLOCK = 64;
/** Reference rows per task (a multiple of the kernel's 2): 256 rows × d floats fit in L2. */
const SLAB_ROWS = 256;

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/**
 * Calls `onBlock(q0, q1, dots, stride)` for consecutive query blocks, where
 * dots[(i − q0)·stride + t] = Σ_j qScale[i]·Q[i, j] · tScale[t]·T[t, j] (float32, the tile
 * kernel's order). `dots` is only valid during the call.
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
  const d4 = roundUp(Math.max(d, 1), 4), rowBytes = d4 * 4;
  const nT = roundUp(n, 2), nQ = roundUp(nq, 4);
  const stride = nT;
  const L = new Layout();
  const rel = { T: L.alloc(nT * rowBytes), Q: L.alloc(nQ * rowBytes), out: L.alloc(QUERY_BLOCK * stride * 4) };
  const region = acquire(L.bytes);
  try {
    const at = region.base;
    const lay = { T: at + rel.T, Q: at + rel.Q, out: at + rel.out };
    const buf = region.buffer();
    // Zero-padded copies (padding inputs must be 0; padding rows give products nobody reads).
    const copy = (src: Float32Array, rows: number, padded: number, addr: number, scale?: Float64Array) => {
      const F = new Float32Array(buf, addr, padded * d4);
      F.fill(0);
      for (let i = 0; i < rows; i++) {
        const s = scale ? scale[i] : 1, o = i * d4, oi = i * d;
        if (scale) for (let j = 0; j < d; j++) F[o + j] = src[oi + j] * s;
        else F.set(src.subarray(oi, oi + d), o);
      }
    };
    copy(T, n, nT, lay.T, scales.T);
    copy(Q, nq, nQ, lay.Q, scales.Q);

    const kernel = kernelFor<{ tile: TileFn }>(simModule());
    const dots = new Float32Array(buf, lay.out, QUERY_BLOCK * stride);
    for (let q0 = 0; q0 < nq; q0 += QUERY_BLOCK) {
      const q1 = Math.min(nq, q0 + QUERY_BLOCK);
      const qCount = roundUp(q1 - q0, 4);
      const tasks: number[][] = [];
      const first = upperOnly ? Math.floor(q0 / SLAB_ROWS) * SLAB_ROWS : 0;
      for (let t0 = first; t0 < nT; t0 += SLAB_ROWS) {
        const t1 = Math.min(nT, t0 + SLAB_ROWS);
        tasks.push([lay.Q + q0 * rowBytes, qCount, lay.T + t0 * rowBytes, t1 - t0, d4, lay.out + t0 * 4, stride]);
      }
      kernel.run('tile', tasks, nT > SLAB_ROWS);
      onBlock(q0, q1, dots, stride);
    }
  } finally {
    region.release();
  }
}

/**
 * Gram matrix A·Aᵀ (m × m, Float64 copy of the kernel's float32 sums) of the rows of A (m × len). Only the
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
