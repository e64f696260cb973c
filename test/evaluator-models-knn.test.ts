import { afterAll, describe, expect, it } from 'vitest';
import { createRng } from '../compute/rng.ts';
import { knn } from '../evaluator/models/knn.ts';
import { nearestCrossSync } from '../compute/neighbours.ts';
import { getModel } from '../evaluator/models/registry.ts';
import { setKernelThreads, shutdownKernelThreads } from '../compute/pool.ts';
import type { Dataset } from '../evaluator/types.ts';

afterAll(async () => { await shutdownKernelThreads(); });

/** Exact brute force in double precision, ties by row index. */
function reference(T: Float32Array, n: number, Q: Float32Array, nq: number, d: number, k: number, metric: 'euclidean' | 'cosine') {
  const out: number[][] = [];
  for (let i = 0; i < nq; i++) {
    const cand: [number, number][] = [];
    for (let t = 0; t < n; t++) {
      let dot = 0, qq = 0, tt = 0;
      for (let j = 0; j < d; j++) { const a = Q[i * d + j], b = T[t * d + j]; dot += a * b; qq += a * a; tt += b * b; }
      const dist = metric === 'cosine' ? 1 - (qq > 0 && tt > 0 ? dot / Math.sqrt(qq * tt) : 0) : Math.sqrt(Math.max(0, qq + tt - 2 * dot));
      cand.push([dist, t]);
    }
    cand.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    out.push(cand.slice(0, k).map((c) => c[1]));
  }
  return out;
}

describe('k-nearest neighbours', () => {
  // The search itself is tested in compute-nearest.test.ts; this checks the model's use of it.
  it('agrees with an exact double-precision search on random sparse data, both metrics', () => {
    const r = createRng(11);
    const n = 300, nq = 70, d = 19;
    const T = new Float32Array(n * d).map(() => (r.uniform() < 0.5 ? 0 : Math.round(r.uniform() * 255) / 255));
    const Q = new Float32Array(nq * d).map(() => (r.uniform() < 0.5 ? 0 : Math.round(r.uniform() * 255) / 255));
    for (const metric of ['euclidean', 'cosine'] as const) {
      const nb = nearestCrossSync(Q, nq, T, n, d, 7, metric);
      const ref = reference(T, n, Q, nq, d, 7, metric);
      for (let i = 0; i < nq; i++) expect(Array.from(nb.index.subarray(i * 7, i * 7 + 7))).toEqual(ref[i]);
    }
  });

  it('predicts vote shares (uniform and distance-weighted) and caps k at the training size', () => {
    const data: Dataset = { X: new Float32Array([0, 1, 2, 10, 11]), n: 5, d: 1, y: new Int32Array([0, 0, 1, 1, 1]), k: 2 };
    const q = new Float32Array([0.4, 10.5]);
    const uni = knn.fit(data, { k: 3 }, { seed: 0 }).predictProba(q, 2);
    // 0.4 → rows 0, 1, 2 (labels 0, 0, 1); 10.5 → rows 3, 4, 2 (1, 1, 1).
    expect(Array.from(uni)).toEqual([2 / 3, 1 / 3, 0, 1].map(Math.fround));
    const dist = knn.fit(data, { k: 3, weights: 'distance' }, { seed: 0 }).predictProba(q, 2);
    const w = [1 / 0.4, 1 / 0.6, 1 / 1.6];
    expect(dist[0]).toBeCloseTo((w[0] + w[1]) / (w[0] + w[1] + w[2]), 5);
    // An exact match takes all the weight.
    const exact = knn.fit(data, { k: 3, weights: 'distance' }, { seed: 0 }).predictProba(new Float32Array([2]), 1);
    expect(Array.from(exact)).toEqual([0, 1]);
    const all = knn.fit(data, { k: 50 }, { seed: 0 }).predictProba(new Float32Array([0]), 1);
    expect(Array.from(all)).toEqual([0.4, 0.6].map(Math.fround));
  });

  it('is bit-identical across thread counts and after restore', () => {
    const r = createRng(3);
    const n = 2000, d = 12;
    const X = new Float32Array(n * d).map(() => r.normal());
    const y = new Int32Array(n).map(() => r.int(4));
    const data: Dataset = { X, n, d, y, k: 4 };
    const Q = new Float32Array(100 * d).map(() => r.normal());
    setKernelThreads(1);
    const a = knn.fit(data, { k: 9, metric: 'cosine' }, { seed: 0 }).predictProba(Q, 100);
    setKernelThreads(2);
    const fitted = knn.fit(data, { k: 9, metric: 'cosine' }, { seed: 0 });
    const b = fitted.predictProba(Q, 100);
    setKernelThreads(1);
    expect(Array.from(b)).toEqual(Array.from(a));
    const c = getModel('knn').restore(structuredClone(fitted.state()), 4, d).predictProba(Q, 100);
    expect(Array.from(c)).toEqual(Array.from(a));
  });

  it('rejects bad parameters', () => {
    const data: Dataset = { X: new Float32Array(4), n: 2, d: 2, y: new Int32Array([0, 1]), k: 2 };
    expect(() => knn.fit(data, { metric: 'manhattan' }, { seed: 0 })).toThrow(/'metric' must be one of euclidean, cosine, got "manhattan"/);
    expect(() => knn.fit(data, { k: 0 }, { seed: 0 })).toThrow(/'k' must be >= 1/);
    expect(() => knn.fit(data, { neighbours: 3 }, { seed: 0 })).toThrow(/unknown parameter/);
  });
});
