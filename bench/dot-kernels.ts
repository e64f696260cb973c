/**
 * The one SIMD dot-product kernel (compute/tile-kernel.ts: 4 × 2 register tiles, four float32
 * lanes per product) through its two drivers, against a scalar JavaScript loop (float64 sums)
 * on the same products Q · Tᵀ, measured in the same run (ABAB, 3 rounds, median ratio):
 *   - compute/dots.ts forEachDotBlock: query blocks of 64 against slabs of 256 reference rows on
 *     the kernel threads (the evaluator's kNN, PCA covariance, Hessian Gram matrices);
 *   - compute/neighbours.ts crossProduct: square tiles shared over the pool's threads, copied
 *     into a dense output (the analysers' projections).
 * Also the largest relative error against the float64 sums, on Fashion-MNIST-like sparse
 * pixels (784 inputs, ~50% zeros), dense 784 and dense 64 (the neighbour space).
 *
 * The kernel was chosen by this measurement against the former sparse-query kernel
 * (dots-wasm.ts, 32-row transposed blocks, float32 sums in input order), through the same
 * driver, on 2026-12-01 at load 10–16: time ratio tile / sparse 0.91 (pixels 1,000 × 10,000 ×
 * 784), 0.69 (dense 64, 10,000 × 10,000), 0.94 (784 × 784 Gram of 512-long rows); relative
 * error 2.9e-7 / 2.2e-7 / 3.0e-7 against 1.2e-6 / 5.3e-7 / 8.9e-7.
 *
 *   node --import tsx bench/dot-kernels.ts
 */
import { forEachDotBlock } from '../compute/dots.ts';
import { crossProduct } from '../compute/neighbours.ts';
import { createRng } from '../compute/rng.ts';

function rows(n: number, d: number, zeroShare: number, seed: number): Float32Array {
  const r = createRng(seed);
  const X = new Float32Array(n * d);
  for (let i = 0; i < X.length; i++) X[i] = r.uniform() < zeroShare ? 0 : r.uniform();
  return X;
}

function blockDots(T: Float32Array, n: number, Q: Float32Array, nq: number, d: number): Float32Array {
  const out = new Float32Array(nq * n);
  forEachDotBlock(T, n, Q, nq, d, (q0, q1, dots, stride) => {
    for (let i = q0; i < q1; i++) out.set(dots.subarray((i - q0) * stride, (i - q0) * stride + n), i * n);
  });
  return out;
}

function scalarDots(T: Float32Array, n: number, Q: Float32Array, nq: number, d: number): Float64Array {
  const out = new Float64Array(nq * n);
  for (let i = 0; i < nq; i++) {
    for (let t = 0; t < n; t++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += Q[i * d + j] * T[t * d + j];
      out[i * n + t] = s;
    }
  }
  return out;
}

function maxError(P: ArrayLike<number>, ref: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(P[i] - ref[i]) / Math.max(1e-30, Math.abs(ref[i])));
  return worst;
}

const median = (a: number[]) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log('dot-kernels: all products Q · Tᵀ with the tile kernel (block driver, cross-product driver) vs a scalar float64 loop; ABAB × 3, median ratios');
for (const [name, n, nq, d, zero] of [
  ['pixels 784, 50% zeros', 10000, 200, 784, 0.5],
  ['dense 784', 10000, 200, 784, 0],
  ['dense 64', 10000, 2000, 64, 0],
] as [string, number, number, number, number][]) {
  const T = rows(n, d, zero, 1), Q = rows(nq, d, zero, 2);
  const tBlock: number[] = [], tCross: number[] = [], tScalar: number[] = [];
  let A: Float32Array<ArrayBufferLike> = new Float32Array(0), B: Float32Array<ArrayBufferLike> = new Float32Array(0), R: Float64Array<ArrayBufferLike> = new Float64Array(0);
  for (let round = 0; round < 3; round++) {
    let t0 = performance.now(); R = scalarDots(T, n, Q, nq, d); tScalar.push(performance.now() - t0);
    t0 = performance.now(); A = blockDots(T, n, Q, nq, d); tBlock.push(performance.now() - t0);
    t0 = performance.now(); B = await crossProduct(Q, nq, T, n, d); tCross.push(performance.now() - t0);
  }
  const ratio = (t: number[]) => median(t.map((x, i) => tScalar[i] / x)).toFixed(1);
  console.log(
    `${name.padEnd(22)} ${nq} × ${n} × ${d}: scalar ${median(tScalar).toFixed(0)} ms; block driver ${median(tBlock).toFixed(0)} ms (${ratio(tBlock)}× faster), ` +
      `cross-product driver ${median(tCross).toFixed(0)} ms (${ratio(tCross)}× faster); max relative error vs float64: ${maxError(A, R).toExponential(1)}, ${maxError(B, R).toExponential(1)}`,
  );
}
process.exit(0);
