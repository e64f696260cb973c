import { afterAll, describe, expect, it } from 'vitest';
import { createRng } from '../compute/rng.ts';
import { nearestCross, nearestCrossSync, nearestSelf, knnCross } from '../compute/neighbours.ts';
import { shutdownPool } from '../compute/pool.ts';

afterAll(async () => { await shutdownPool(); });

const f = Math.fround;

/** The tile kernel's dot product, emulated: four float32 lanes (t ≡ l mod 4, in order), reduced (l0 + l1) + (l2 + l3). */
function kernelDot(A: Float32Array, a: number, B: Float32Array, b: number, d: number): number {
  const lane = [0, 0, 0, 0];
  for (let t = 0; t < d; t++) lane[t % 4] = f(lane[t % 4] + f(A[a * d + t] * B[b * d + t]));
  return f(f(lane[0] + lane[1]) + f(lane[2] + lane[3]));
}

const sqNorm = (A: Float32Array, a: number, d: number) => {
  let s = 0;
  for (let t = 0; t < d; t++) s += A[a * d + t] * A[a * d + t];
  return s;
};

function unit(A: Float32Array, n: number, d: number): Float32Array {
  const U = A.slice();
  for (let i = 0; i < n; i++) {
    const s = Math.sqrt(sqNorm(A, i, d));
    if (s > 0) for (let t = 0; t < d; t++) U[i * d + t] = A[i * d + t] * (1 / s);
  }
  return U;
}

/**
 * Brute force over every pair, with the kernel's float32 dot and the documented float64
 * distance: euclidean √max(0, ‖q‖² + ‖x‖² − 2 q·x), cosine 1 − q̂·x̂; ties to the smaller row.
 */
function brute(Q: Float32Array, nq: number, X: Float32Array, nx: number, d: number, k: number, metric: 'euclidean' | 'cosine', self = false) {
  const [q, x] = metric === 'cosine' ? [unit(Q, nq, d), unit(X, nx, d)] : [Q, X];
  const index: number[] = [], distance: number[] = [];
  for (let i = 0; i < nq; i++) {
    const cand: { j: number; key: number; dist: number }[] = [];
    for (let j = 0; j < nx; j++) {
      if (self && j === i) continue;
      const dot = kernelDot(q, i, x, j, d);
      if (metric === 'euclidean') {
        const d2 = Math.max(0, sqNorm(Q, i, d) + sqNorm(X, j, d) - 2 * dot);
        cand.push({ j, key: d2, dist: Math.sqrt(d2) });
      } else {
        cand.push({ j, key: -dot, dist: 1 - dot });
      }
    }
    cand.sort((a, b) => a.key - b.key || a.j - b.j);
    for (const c of cand.slice(0, k)) { index.push(c.j); distance.push(c.dist); }
  }
  return { index, distance };
}

/** Exact float64 distances (no float32 anywhere) for the tolerance check. */
function exactDistance(Q: Float32Array, i: number, X: Float32Array, j: number, d: number, metric: 'euclidean' | 'cosine'): number {
  let dot = 0, qq = 0, xx = 0, dd = 0;
  for (let t = 0; t < d; t++) {
    const a = Q[i * d + t], b = X[j * d + t];
    dot += a * b; qq += a * a; xx += b * b; dd += (a - b) * (a - b);
  }
  return metric === 'euclidean' ? Math.sqrt(dd) : 1 - (qq > 0 && xx > 0 ? dot / Math.sqrt(qq * xx) : 0);
}

/** Random rows: Gaussian, or small integers (a lattice full of exact ties) with duplicated rows. */
function rows(n: number, d: number, seed: number, kind: 'gauss' | 'lattice'): Float32Array {
  const r = createRng(seed);
  const A = new Float32Array(n * d);
  for (let i = 0; i < A.length; i++) A[i] = kind === 'gauss' ? r.normal() : Math.round(r.normal() * 1.5);
  if (kind === 'lattice') for (let i = 3; i < n; i += 7) A.copyWithin(i * d, (i - 3) * d, (i - 2) * d);
  return A;
}

describe('the one exact neighbour search (compute/neighbours.ts)', () => {
  const cases: { d: number; kind: 'gauss' | 'lattice' }[] = [
    { d: 1, kind: 'lattice' }, { d: 3, kind: 'gauss' }, { d: 3, kind: 'lattice' }, { d: 8, kind: 'lattice' },
    { d: 37, kind: 'gauss' }, { d: 130, kind: 'gauss' },
  ];
  const n = 260, nq = 45, k = 6;

  for (const { d, kind } of cases) {
    for (const metric of ['euclidean', 'cosine'] as const) {
      it(`${metric}, d = ${d}, ${kind}: neighbours and distances bit-identical to brute force, on every driver and thread count`, async () => {
        const X = rows(n, d, 10 + d, kind), Q = rows(nq, d, 20 + d, kind);
        // A few queries that are training rows themselves: distance exactly 0 (ties with duplicates).
        Q.set(X.subarray(0, d), 0);
        Q.set(X.subarray(5 * d, 6 * d), d);
        const ref = brute(Q, nq, X, n, d, k, metric);
        const sync = nearestCrossSync(Q, nq, X, n, d, k, metric);
        expect(Array.from(sync.index)).toEqual(ref.index);
        expect(Array.from(sync.distance)).toEqual(ref.distance);
        for (const threads of [1, 2, 3]) {
          const got = await nearestCross(Q, nq, X, n, d, k, metric, { threads, minWorkForThreads: 0 });
          expect(Buffer.from(got.index.buffer).equals(Buffer.from(sync.index.buffer))).toBe(true);
          expect(Buffer.from(got.distance.buffer).equals(Buffer.from(sync.distance.buffer))).toBe(true);
        }
        // The float32 products stay within float32 rounding of the exact distances.
        for (let i = 0; i < nq; i++) for (let t = 0; t < k; t++) {
          const want = exactDistance(Q, i, X, sync.index[i * k + t], d, metric);
          expect(Math.abs(sync.distance[i * k + t] - want)).toBeLessThanOrEqual(1e-5 * (1 + want) + (metric === 'euclidean' ? 2e-3 * Math.sqrt(sqNorm(Q, i, d)) : 0));
        }
        // Self search: every row's nearest other rows, by either share split.
        const self = brute(X, n, X, n, d, k, metric, true);
        for (const threads of [1, 2]) {
          const got = await nearestSelf(X, n, d, k, metric, { threads, minWorkForThreads: 0 });
          expect(Array.from(got.index)).toEqual(self.index);
          expect(Array.from(got.distance)).toEqual(self.distance);
        }
      });
    }
  }

  // Enough rows for several tiles (512 rows a side at small d), so the tile-maxima skips of the
  // off-diagonal tiles and the cross search's later reference blocks are exercised.
  for (const { d, kind } of [{ d: 5, kind: 'lattice' as const }, { d: 24, kind: 'gauss' as const }]) {
    it(`self and cross searches over several tiles (1,100 rows, d = ${d}, ${kind}) match brute force`, async () => {
      const N = 1100, X = rows(N, d, 70 + d, kind);
      for (const metric of ['cosine', 'euclidean'] as const) {
        const self = brute(X, N, X, N, d, 4, metric, true);
        for (const threads of [1, 2]) {
          const got = await nearestSelf(X, N, d, 4, metric, { threads, minWorkForThreads: 0 });
          expect(Array.from(got.index)).toEqual(self.index);
          expect(Array.from(got.distance)).toEqual(self.distance);
        }
        const Q = rows(30, d, 90 + d, kind);
        const cross = brute(Q, 30, X, N, d, 4, metric);
        const got = nearestCrossSync(Q, 30, X, N, d, 4, metric);
        expect(Array.from(got.index)).toEqual(cross.index);
        expect(Array.from(got.distance)).toEqual(cross.distance);
      }
    });
  }

  it('ties go to the smaller row index: a toy line with duplicated points', () => {
    // 1-D points 0, 1, 3, 3, 10 (second input always 0); queries at 2 and 9.
    const X = new Float32Array([0, 0, 1, 0, 3, 0, 3, 0, 10, 0]);
    const Q = new Float32Array([2, 0, 9, 0]);
    const nb = nearestCrossSync(Q, 2, X, 5, 2, 3, 'euclidean');
    expect(Array.from(nb.index)).toEqual([1, 2, 3, 4, 2, 3]);
    expect(Array.from(nb.distance)).toEqual([1, 1, 1, 1, 6, 6]);
  });

  it('cosine: an all-zero row has cosine 0 with every row; k beyond the rows is capped', () => {
    const X = new Float32Array([1, 0, 0, 1, 0, 0]);
    const Q = new Float32Array([0, 0, 2, 0]);
    const nb = nearestCrossSync(Q, 2, X, 3, 2, 5, 'cosine');
    expect(nb.k).toBe(3);
    expect(Array.from(nb.index)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(Array.from(nb.distance)).toEqual([1, 1, 1, 0, 1, 1]);
  });

  it('cosine distances are 1 − the similarity search on unit rows', async () => {
    const d = 12, X = rows(120, d, 1, 'gauss'), Q = rows(30, d, 2, 'gauss');
    const sims = await knnCross(unit(Q, 30, d), 30, unit(X, 120, d), 120, d, 4);
    const nb = nearestCrossSync(Q, 30, X, 120, d, 4, 'cosine');
    expect(Array.from(nb.index)).toEqual(Array.from(sims.index));
    expect(Array.from(nb.distance)).toEqual(Array.from(sims.sim, (s) => 1 - s));
  });

  it('rejects rows of the wrong length', () => {
    expect(() => nearestCrossSync(new Float32Array(5), 2, new Float32Array(6), 3, 2, 1, 'euclidean')).toThrow(/queries have 5 values, expected 2×2/);
  });
});
