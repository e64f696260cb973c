import { afterAll, describe, expect, it } from 'vitest';
import { gemmKernel, matmul } from '../compute/gemm.ts';
import { acquire } from '../compute/arena.ts';
import { createRng } from '../compute/rng.ts';
import { setKernelThreads, shutdownKernelThreads } from '../compute/pool.ts';

afterAll(async () => { setKernelThreads(1); await shutdownKernelThreads(); });

/**
 * out = A·B (A m × K, or its transpose stored K × m) through the kernel, against the sum the
 * kernel promises: acc = fround(acc + fround(a·b)) over t in order, from 0.
 */
function check(m: number, n: number, K: number, transposed: boolean, threads: number): Float32Array {
  const m4 = Math.ceil(m / 4) * 4, n8 = Math.ceil(n / 8) * 8;
  const r = createRng(m * 1000 + n * 10 + K);
  const lda = transposed ? m4 : K; // A stored m × K (row-major) or K × m4 (its transpose)
  const aLen = transposed ? K * m4 : m4 * K;
  const region = acquire(4 * (aLen + K * n8 + m4 * n8));
  try {
    const buf = region.buffer();
    const aAt = region.base, bAt = aAt + 4 * aLen, oAt = bAt + 4 * K * n8;
    const A = new Float32Array(buf, aAt, aLen), B = new Float32Array(buf, bAt, K * n8);
    const out = new Float32Array(buf, oAt, m4 * n8);
    A.fill(0); B.fill(0); out.fill(NaN);
    const a = (i: number, t: number) => (transposed ? t * lda + i : i * lda + t);
    for (let i = 0; i < m; i++) for (let t = 0; t < K; t++) A[a(i, t)] = r.normal();
    for (let t = 0; t < K; t++) for (let j = 0; j < n; j++) B[t * n8 + j] = r.normal();
    setKernelThreads(threads);
    matmul(gemmKernel(), {
      a: aAt, sai: transposed ? 4 : 4 * lda, sat: transposed ? 4 * lda : 4,
      b: bAt, ldb: 4 * n8, out: oAt, ldc: 4 * n8, m, n, K,
    });
    const got = new Float32Array(m * n);
    const wrong: string[] = [];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < K; t++) s = Math.fround(s + Math.fround(A[a(i, t)] * B[t * n8 + j]));
        got[i * n + j] = out[i * n8 + j];
        if (!Object.is(out[i * n8 + j], s) && wrong.length < 5) wrong.push(`[${i}, ${j}]: ${out[i * n8 + j]} vs ${s}`);
      }
    }
    expect(wrong).toEqual([]);
    return got;
  } finally {
    region.release();
  }
}

describe('compute/gemm: float32 SIMD matrix products', () => {
  it('sums every product in input order, for odd shapes, A as stored or transposed', () => {
    for (const [m, n, K] of [[1, 1, 1], [5, 9, 3], [7, 17, 13], [12, 8, 0], [3, 30, 6]]) {
      check(m, n, K, false, 1);
      check(m, n, K, true, 1);
    }
  });

  it('gives the same bits on one thread and on two (a product big enough to be split)', () => {
    for (const transposed of [false, true]) {
      const one = check(130, 72, 120, transposed, 1);
      const two = check(130, 72, 120, transposed, 2);
      expect(Array.from(two)).toEqual(Array.from(one));
    }
  });

  it('rejects operands that are neither row- nor column-major', () => {
    expect(() => matmul(gemmKernel(), { a: 0, sai: 8, sat: 8, b: 0, ldb: 32, out: 0, ldc: 32, m: 4, n: 8, K: 2 })).toThrow(/row-major/);
  });
});
