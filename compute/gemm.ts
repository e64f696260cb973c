/**
 * A WebAssembly SIMD matrix-product kernel (float32), assembled with wasm.ts like the dot
 * tile kernel, for dense layers whose operands are used both ways round (a network's forward
 * X·W and backward Xᵀ·G products):
 *
 *   gemm(a, sai, sat, b, ldb, out, ldc, m, n, K)
 *     out[i, j] = Σ_{t<K} A(i, t) · B[t, j]        for i < m (a multiple of 4), j < n (of 8)
 *
 * A(i, t) is the float32 at byte address a + i·sai + t·sat, so one kernel reads A as stored
 * (sai = row bytes, sat = 4) or transposed (sai = 4, sat = row bytes) without a copy; B and
 * out are row-major with ldb / ldc bytes per row. Register blocking: 4 rows × 8 columns of
 * `out` in eight f32x4 accumulators; for each t, two vectors of B's row t and four broadcast
 * A(i + r, t) (outer-product form, no horizontal sums).
 *
 * Order of operations: every out[i, j] is acc = 0; for t = 0, 1, …, K − 1: acc = acc +
 * A(i, t)·B[t, j] (one f32 multiply, one f32 add: wasm has no fused multiply-add, and
 * non-relaxed SIMD is IEEE-exact). That is the same for every element wherever it sits in a
 * block, so results do not depend on how `matmul` cuts the rows into tasks (thread count) or
 * on the machine. Rows ≥ m's true count and columns past the true width are computed from
 * whatever the padding holds and must simply be ignored by callers; K is never padded.
 */
import { Code, ModuleBuilder, I32, V128, Op, Simd } from './wasm.ts';
import { kernelFor, kernelThreads, type SharedKernel } from './pool.ts';

/** Rows of `out` per register block. */
export const GEMM_ROWS = 4;
/** Columns of `out` per register block. */
export const GEMM_COLS = 8;

/** A is read as stored (row-major, `sat` = 4) or transposed (column-major, `sai` = 4). */
type Form = 'nn' | 'tn';
/** Inner-loop steps of t per turn (the remainder runs one at a time). */
const UNROLL = 4;

function emitGemm(mb: ModuleBuilder, form: Form): void {
  const A = 0, SAI = 1, SAT = 2, B = 3, LDB = 4, OUT = 5, LDC = 6, M = 7, N = 8, K = 9;
  // i32 locals: I, J, T, PA..PA+3 (the block's four A rows in 'nn'; PA alone in 'tn'), PB..PB+3 (B rows t..t+3), PO, K4
  const I = 10, J = 11, T = 12, PA = 13, PB = 17, PO = 21, K4 = 22;
  const ACC = 23, B0 = 31, B1 = 32, AV = 33; // acc[r][c] = ACC + 2r + c
  const c = new Code();
  const loop = (i: number, from: number | null, n: number, step: number, body: () => void, stopAt?: () => void) => {
    if (from !== null) c.i32(from).set(i);
    c.block(() => c.loop(() => {
      if (stopAt) stopAt(); else c.get(i).get(n).op(Op.i32_ge_u);
      c.brIf(1);
      body();
      c.get(i).i32(step).op(Op.i32_add).set(i);
      c.br(0);
    }));
  };
  /** acc[r] += A(i + r, t + u) · B[t + u, j..j + 8) for r < 4, B's row at local pb. */
  const step = (u: number, pb: number) => {
    c.get(pb).simdMem(Simd.v128_load, 0).set(B0);
    c.get(pb).simdMem(Simd.v128_load, 16).set(B1);
    for (let r = 0; r < 4; r++) {
      if (form === 'nn') c.get(PA + r).simdMem(Simd.v128_load32_splat, 4 * u, 2);
      else c.get(PA).simdMem(Simd.v128_load32_splat, 4 * r, 2);
      c.set(AV);
      c.get(ACC + 2 * r).get(AV).get(B0).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(ACC + 2 * r);
      c.get(ACC + 2 * r + 1).get(AV).get(B1).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(ACC + 2 * r + 1);
    }
    if (form === 'tn') c.get(PA).get(SAT).op(Op.i32_add).set(PA);
  };
  // K4 = K rounded down to UNROLL
  c.get(K).i32(-UNROLL).op(Op.i32_and).set(K4);
  // Columns outer: one 8-column strip of B (K × 32 bytes) stays in L1 while the rows pass.
  loop(J, 0, N, GEMM_COLS, () => {
    loop(I, 0, M, GEMM_ROWS, () => {
      c.get(A).get(I).get(SAI).op(Op.i32_mul, Op.i32_add).set(PA);
      if (form === 'nn') for (let r = 1; r < 4; r++) c.get(PA + r - 1).get(SAI).op(Op.i32_add).set(PA + r);
      c.get(B).get(J).i32(2).op(Op.i32_shl, Op.i32_add).set(PB);
      for (let k = 0; k < 8; k++) { c.simd(Simd.v128_const).op(...new Array(16).fill(0)); c.set(ACC + k); }
      loop(T, 0, K4, UNROLL, () => {
        for (let u = 1; u < UNROLL; u++) c.get(PB + u - 1).get(LDB).op(Op.i32_add).set(PB + u);
        for (let u = 0; u < UNROLL; u++) step(u, PB + u);
        c.get(PB + UNROLL - 1).get(LDB).op(Op.i32_add).set(PB);
        if (form === 'nn') for (let r = 0; r < 4; r++) c.get(PA + r).i32(4 * UNROLL).op(Op.i32_add).set(PA + r);
      });
      loop(T, null, K, 1, () => {
        step(0, PB);
        c.get(PB).get(LDB).op(Op.i32_add).set(PB);
        if (form === 'nn') for (let r = 0; r < 4; r++) c.get(PA + r).i32(4).op(Op.i32_add).set(PA + r);
      });
      c.get(OUT).get(I).get(LDC).op(Op.i32_mul, Op.i32_add).get(J).i32(2).op(Op.i32_shl, Op.i32_add).set(PO);
      for (let r = 0; r < 4; r++) {
        c.get(PO).get(ACC + 2 * r).simdMem(Simd.v128_store, 0);
        c.get(PO).get(ACC + 2 * r + 1).simdMem(Simd.v128_store, 16);
        if (r < 3) c.get(PO).get(LDC).op(Op.i32_add).set(PO);
      }
    });
  });
  mb.addFunc(`gemm_${form}`, new Array(10).fill(I32), [], [...new Array(13).fill(I32), ...new Array(11).fill(V128)], c);
}

export function buildGemmModule(): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder();
  mb.importMemory('env', 'memory', 1, 65536, true);
  emitGemm(mb, 'nn');
  emitGemm(mb, 'tn');
  return mb.build();
}

let compiled: WebAssembly.Module | null = null;
export function gemmModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(buildGemmModule());
  return compiled;
}

type GemmFn = (a: number, sai: number, sat: number, b: number, ldb: number, out: number, ldc: number, m: number, n: number, K: number) => void;
export interface GemmExports { gemm_nn: GemmFn; gemm_tn: GemmFn }

/** The kernel instantiated on this thread's kernel memory (compute/arena.ts). */
export function gemmKernel(): SharedKernel<GemmExports> {
  return kernelFor<GemmExports>(gemmModule());
}

/** Products below this many multiply-adds run on the calling thread alone (waking helpers costs more). */
const PARALLEL_MIN_MADDS = 1 << 20;

/** Operands of one product (byte addresses and strides in kernel memory; see the module comment). */
export interface GemmArgs {
  a: number; sai: number; sat: number;
  b: number; ldb: number;
  out: number; ldc: number;
  /** Rows of out (rounded up to 4 here), columns (rounded up to 8), inner length (exact). */
  m: number; n: number; K: number;
}

/**
 * out = A·B through the kernel, rows of `out` cut into one task per kernel thread when the
 * product is big enough. Every element is computed by the same operations whoever runs it.
 */
export function matmul(kernel: SharedKernel<GemmExports>, g: GemmArgs): void {
  const m = Math.ceil(g.m / GEMM_ROWS) * GEMM_ROWS, n = Math.ceil(g.n / GEMM_COLS) * GEMM_COLS;
  if (m === 0 || n === 0) return;
  const threads = kernelThreads();
  const blocks = m / GEMM_ROWS;
  const parts = g.m * g.n * g.K >= PARALLEL_MIN_MADDS ? Math.min(threads, blocks) : 1;
  const fn = g.sat === 4 ? 'gemm_nn' : g.sai === 4 ? 'gemm_tn' : null;
  if (!fn) throw new Error(`matmul: A must be row-major (sat = 4) or column-major (sai = 4), got sai=${g.sai}, sat=${g.sat}`);
  if (parts <= 1) {
    kernel.exports[fn](g.a, g.sai, g.sat, g.b, g.ldb, g.out, g.ldc, m, n, g.K);
    return;
  }
  const tasks: number[][] = [];
  for (let p = 0; p < parts; p++) {
    const r0 = Math.floor((blocks * p) / parts) * GEMM_ROWS, r1 = Math.floor((blocks * (p + 1)) / parts) * GEMM_ROWS;
    if (r1 > r0) tasks.push([g.a + r0 * g.sai, g.sai, g.sat, g.b, g.ldb, g.out + r0 * g.ldc, g.ldc, r1 - r0, n, g.K]);
  }
  kernel.run(fn, tasks, true);
}
