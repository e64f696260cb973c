/**
 * This machine's WebAssembly SIMD multiply-add peak: kernels that do nothing but independent
 * multiply-add chains in registers (no memory traffic), to measure the GFLOP/s that any
 * kernel built from f32x4 / f64x2 `mul` + `add` (wasm has no fused multiply-add outside
 * relaxed SIMD) can reach on one thread. bench/simd-peak prints it; bench/logreg-vs-sklearn
 * and bench/mlp-vs-torch report their fits as a fraction of it.
 *
 *   peak_f32(iters), peak_f64(iters): CHAINS accumulators, each updated iters times as
 *     acc = acc·m + c (one mul and one add per lane); returns a lane of their sum so the work
 *     cannot be optimised away.
 *
 * Flops per call: iters · CHAINS · lanes · 2 (4 lanes for f32x4, 2 for f64x2).
 */
import { Code, F32, F64, I32, ModuleBuilder, Op, Simd, V128 } from './wasm.ts';
import { kernelFor } from './pool.ts';

/** Independent chains: enough to cover mul + add latency on two pipes (x64 has 16 vector registers). */
export const CHAINS = 12;

function buildPeakModule(): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder();
  for (const kind of ['f32', 'f64'] as const) {
    const ITERS = 0, I = 1, M = 2, C = 3, ACC = 4;
    const c = new Code();
    const splat = kind === 'f32' ? Simd.f32x4_splat : Simd.f64x2_splat;
    const mul = kind === 'f32' ? Simd.f32x4_mul : Simd.f64x2_mul;
    const add = kind === 'f32' ? Simd.f32x4_add : Simd.f64x2_add;
    const konst = (v: number) => { if (kind === 'f32') c.op(0x43, ...new Uint8Array(new Float32Array([v]).buffer)); else c.f64(v); };
    // m slightly below 1 and c small: the chains settle at c / (1 − m), never overflow or go subnormal.
    konst(0.999); c.simd(splat).set(M);
    konst(1e-3); c.simd(splat).set(C);
    for (let k = 0; k < CHAINS; k++) { konst(k + 1); c.simd(splat).set(ACC + k); }
    c.i32(0).set(I);
    c.block(() => c.loop(() => {
      c.get(I).get(ITERS).op(Op.i32_ge_u).brIf(1);
      for (let k = 0; k < CHAINS; k++) c.get(ACC + k).get(M).simd(mul).get(C).simd(add).set(ACC + k);
      c.get(I).i32(1).op(Op.i32_add).set(I);
      c.br(0);
    }));
    c.get(ACC);
    for (let k = 1; k < CHAINS; k++) c.get(ACC + k).simd(add);
    if (kind === 'f32') c.lane(Simd.f32x4_extract_lane, 0);
    else c.lane(Simd.f64x2_extract_lane, 0);
    mb.addFunc(`peak_${kind}`, [I32], [kind === 'f32' ? F32 : F64], [I32, V128, V128, ...new Array(CHAINS).fill(V128)], c);
  }
  return mb.build();
}

export interface PeakExports { peak_f32(iters: number): number; peak_f64(iters: number): number }

let compiled: WebAssembly.Module | null = null;
function peakModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(buildPeakModule());
  return compiled;
}

/** The peak kernels on this thread. */
export function peakKernels(): PeakExports {
  return kernelFor<PeakExports>(peakModule()).exports;
}

/** Lanes per vector. */
export const LANES = { f32: 4, f64: 2 } as const;

/**
 * Measures the peak in GFLOP/s for `kind` on `threads` kernel threads at once (each running
 * the same chains, `iters` per thread in 16 tasks): the best of `repeats` timed rounds of
 * `iters` iterations per thread, after a warm-up round so the optimising compiler has run. Short rounds and the best of many make
 * the figure robust to a shared machine's load (a round rarely loses its core).
 */
export function measurePeak(kind: 'f32' | 'f64', threads = 1, iters = 400_000, repeats = 25): number {
  const kernel = kernelFor<PeakExports>(peakModule());
  const fn = kind === 'f32' ? 'peak_f32' : 'peak_f64';
  const round = () => {
    if (threads === 1) kernel.exports[fn](iters);
    // Many small tasks, not one per thread: a helper that wakes late still takes its share
    // (the calling thread would otherwise run every task itself).
    else kernel.run(fn, Array.from({ length: 16 * threads }, () => [iters / 16]), true);
  };
  round();
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    round();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return (threads * iters * CHAINS * LANES[kind] * 2) / best / 1e9;
}
