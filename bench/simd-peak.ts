/**
 * bench/simd-peak: this machine's WebAssembly SIMD multiply-add peak (compute/simd-peak.ts:
 * twelve independent `acc = acc·m + c` chains in registers, f32x4 and f64x2; wasm has no fused
 * multiply-add), in GFLOP/s on one kernel thread and on all of them, and the MLP's matrix
 * kernel (compute/gemm.ts) on its own shapes as a fraction of the float32 peak, alternating
 * the kernel and the peak (ABAB, 3 rounds, median of the per-round fractions).
 *
 * The peak is the best of many short rounds (a round that keeps its core), so it approaches
 * the unloaded figure on a shared machine; the all-threads figure needs the other cores idle
 * and is printed as measured. bench/logreg-vs-sklearn and bench/mlp-vs-torch use the same
 * measurement to say what fraction of it their fits reach.
 *
 *   nice node --import tsx bench/simd-peak.ts [--rounds 3]
 */
import { measurePeak } from '../compute/simd-peak.ts';
import { gemmKernel, matmul, type GemmArgs } from '../compute/gemm.ts';
import { acquire } from '../compute/arena.ts';
import { kernelThreads, setKernelThreads, shutdownKernelThreads } from '../compute/pool.ts';
import { createRng } from '../compute/rng.ts';

const i = process.argv.indexOf('--rounds');
const ROUNDS = i > 0 ? Number(process.argv[i + 1]) : 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Shapes of one MLP step on 784 pixels, hidden 128, batch 128 (bench/mlp-vs-torch's "pixels"). */
const SHAPES = [
  { what: 'forward X·W1 (128 × 784 · 784 × 128)', m: 128, K: 784, n: 128, transposed: false },
  { what: 'backward Xᵀ·dH (784 × 128 · 128 × 128)', m: 784, K: 128, n: 128, transposed: true },
];

/** Best GFLOP/s of the gemm kernel on one thread for a shape (A as stored or transposed). */
function gemmRate(s: (typeof SHAPES)[number], repeats = 15): number {
  const m4 = Math.ceil(s.m / 4) * 4, n8 = Math.ceil(s.n / 8) * 8;
  const aLen = s.transposed ? s.K * m4 : m4 * s.K;
  const region = acquire(4 * (aLen + s.K * n8 + m4 * n8));
  try {
    const buf = region.buffer();
    const aAt = region.base, bAt = aAt + 4 * aLen, oAt = bAt + 4 * s.K * n8;
    const r = createRng(1);
    const A = new Float32Array(buf, aAt, aLen), B = new Float32Array(buf, bAt, s.K * n8);
    for (let j = 0; j < A.length; j++) A[j] = r.normal();
    for (let j = 0; j < B.length; j++) B[j] = r.normal();
    const g: GemmArgs = s.transposed
      ? { a: aAt, sai: 4, sat: 4 * m4, b: bAt, ldb: 4 * n8, out: oAt, ldc: 4 * n8, m: s.m, n: s.n, K: s.K }
      : { a: aAt, sai: 4 * s.K, sat: 4, b: bAt, ldb: 4 * n8, out: oAt, ldc: 4 * n8, m: s.m, n: s.n, K: s.K };
    const k = gemmKernel();
    matmul(k, g);
    let best = Infinity;
    for (let rep = 0; rep < repeats; rep++) {
      const t0 = performance.now();
      matmul(k, g);
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    return (2 * s.m * s.n * s.K) / best / 1e9;
  } finally {
    region.release();
  }
}

async function main(): Promise<void> {
  const all = kernelThreads();
  console.log(`bench/simd-peak: WebAssembly SIMD multiply-add peak (mul + add, no FMA), ${ROUNDS} rounds`);
  for (const kind of ['f32', 'f64'] as const) {
    const one = measurePeak(kind, 1);
    const many = all > 1 ? measurePeak(kind, all, 4_000_000, 10) : one;
    console.log(`  ${kind === 'f32' ? 'f32x4' : 'f64x2'}: ${one.toFixed(1)} GFLOP/s on one thread; ${many.toFixed(1)} GFLOP/s on ${all} threads at once (${(many / one).toFixed(2)}× one: below ${all}× when other work holds the other cores)`);
  }
  setKernelThreads(1);
  for (const s of SHAPES) {
    const fractions: number[] = [], rates: number[] = [], peaks: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const rate = gemmRate(s);
      const peak = measurePeak('f32', 1);
      rates.push(rate); peaks.push(peak); fractions.push(rate / peak);
    }
    console.log(`  compute/gemm.ts, ${s.what}, one thread: ${median(rates).toFixed(1)} GFLOP/s against a peak of ${median(peaks).toFixed(1)}: fraction ${median(fractions).toFixed(2)} (median of ${ROUNDS} ABAB rounds)`);
  }
  await shutdownKernelThreads();
}

await main();
