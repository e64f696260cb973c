/**
 * The two SIMD dot-product kernels of compute/, side by side on the same products Q · Tᵀ:
 *   - compute/dots.ts (dots-wasm.ts): sparse query rows × transposed blocks of 32 reference rows,
 *     float32 sums in input order, slabs spread over the pool's kernel threads;
 *   - compute/neighbours.ts crossProduct (tile-kernel.ts): dense 4 × 2 register tiles, four
 *     float32 lanes per product, shares spread over the pool's threads.
 * Time (ABAB, 3 rounds, median ratio) and the largest error against float64 sums, on Fashion-
 * MNIST-like sparse pixels (784 inputs, ~50% zeros), dense 64-dimensional rows and dense 784.
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

function sparseDots(T: Float32Array, n: number, Q: Float32Array, nq: number, d: number): Float32Array {
  const out = new Float32Array(nq * n);
  forEachDotBlock(T, n, Q, nq, d, (q0, q1, dots, stride) => {
    for (let i = q0; i < q1; i++) out.set(dots.subarray((i - q0) * stride, (i - q0) * stride + n), i * n);
  });
  return out;
}

function maxError(P: Float32Array, T: Float32Array, n: number, Q: Float32Array, nq: number, d: number): number {
  let worst = 0;
  for (let i = 0; i < Math.min(nq, 50); i++) for (let t = 0; t < n; t++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += Q[i * d + j] * T[t * d + j];
    worst = Math.max(worst, Math.abs(P[i * n + t] - s) / Math.max(1e-30, Math.abs(s)));
  }
  return worst;
}

const median = (a: number[]) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log('dot-kernels: all products Q · Tᵀ, sparse-query kernel (dots) vs dense tile kernel (tile); time ratio tile / dots, ABAB × 3');
for (const [name, n, nq, d, zero] of [
  ['pixels 784, 50% zeros', 20000, 2000, 784, 0.5],
  ['dense 784', 20000, 2000, 784, 0],
  ['dense 64', 20000, 20000, 64, 0],
] as [string, number, number, number, number][]) {
  const T = rows(n, d, zero, 1), Q = rows(nq, d, zero, 2);
  const ta: number[] = [], tb: number[] = [];
  let A: Float32Array<ArrayBufferLike> = new Float32Array(0), B: Float32Array<ArrayBufferLike> = new Float32Array(0);
  for (let round = 0; round < 3; round++) {
    let t0 = performance.now(); A = sparseDots(T, n, Q, nq, d); ta.push(performance.now() - t0);
    t0 = performance.now(); B = await crossProduct(Q, nq, T, n, d); tb.push(performance.now() - t0);
  }
  const ratios = ta.map((a, i) => tb[i] / a);
  const gmacs = (ms: number) => ((n * nq * d) / ms / 1e6).toFixed(1);
  console.log(`${name.padEnd(24)} ${nq} × ${n} × ${d}: dots ${median(ta).toFixed(0)} ms (${gmacs(median(ta))} G mul-add/s), tile ${median(tb).toFixed(0)} ms (${gmacs(median(tb))}); ratio tile/dots ${median(ratios).toFixed(2)}; max relative error vs float64: dots ${maxError(A, T, n, Q, nq, d).toExponential(1)}, tile ${maxError(B, T, n, Q, nq, d).toExponential(1)}`);
}
process.exit(0);
