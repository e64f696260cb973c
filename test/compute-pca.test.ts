import { describe, expect, it } from 'vitest';
import { createRng } from '../compute/rng.ts';
import { covariance, fitPca } from '../compute/pca.ts';
import { symmetricEigen } from '../compute/symeig.ts';
import { setKernelThreads, shutdownKernelThreads } from '../compute/pool.ts';

/** Rows with a decaying spectrum in a random rotation, plus an offset (so centring matters). */
function spectrumRows(seed: number, n: number, d: number, decay: number): Float32Array {
  const r = createRng(seed);
  const B = Float64Array.from({ length: d * d }, () => r.normal());
  const X = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) {
      const z = r.normal() * Math.pow(decay, c);
      for (let j = 0; j < d; j++) X[i * d + j] += z * B[c * d + j];
    }
    for (let j = 0; j < d; j++) X[i * d + j] += 0.5 + j / d;
  }
  return X;
}

/** Covariance in plain float64 (two passes), the reference the kernel's one is held to. */
function referenceCovariance(X: Float32Array, n: number, d: number): Float64Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += X[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const C = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      const xa = X[i * d + a] - mean[a];
      for (let b = 0; b < d; b++) C[a * d + b] += xa * (X[i * d + b] - mean[b]);
    }
  }
  for (let t = 0; t < C.length; t++) C[t] /= n - 1;
  return C;
}

const dot = (A: Float64Array, a: number, B: Float64Array, b: number, d: number) => {
  let s = 0;
  for (let j = 0; j < d; j++) s += A[a * d + j] * B[b * d + j];
  return s;
};

describe('compute/pca', () => {
  it('exact: the covariance agrees with float64 to 1e-6 and the components with its eigenvectors', () => {
    const n = 1500, d = 40, k = 8;
    const X = spectrumRows(1, n, d, 0.8);
    const ref = referenceCovariance(X, n, d);
    const { C } = covariance(X, n, d, null);
    let scale = 0, worst = 0;
    for (let t = 0; t < C.length; t++) scale = Math.max(scale, Math.abs(ref[t]));
    for (let t = 0; t < C.length; t++) worst = Math.max(worst, Math.abs(C[t] - ref[t]));
    expect(worst / scale).toBeLessThan(1e-6);
    const e = symmetricEigen(ref, d);
    const fit = fitPca(X, n, d, k);
    for (let c = 0; c < k; c++) {
      const j = d - 1 - c; // reference eigenvalues ascend
      expect(Math.abs(dot(fit.components, c, e.vectors, j, d))).toBeGreaterThan(1 - 1e-8);
      expect(fit.variance[c] / e.values[j]).toBeCloseTo(1, 6);
      // Sign rule: the largest-magnitude entry is positive.
      let big = 0;
      for (let t = 1; t < d; t++) if (Math.abs(fit.components[c * d + t]) > Math.abs(fit.components[c * d + big])) big = t;
      expect(fit.components[c * d + big]).toBeGreaterThan(0);
    }
    for (let c = 1; c < k; c++) expect(fit.variance[c]).toBeLessThanOrEqual(fit.variance[c - 1]);
  });

  it('gives bit-identical components whatever the thread count', () => {
    const n = 1200, d = 300, k = 12; // d > 256: the dot kernel splits its work across threads
    const X = spectrumRows(2, n, d, 0.9);
    const run = (threads: number, variant: 'exact' | 'sampled') => {
      setKernelThreads(threads);
      try { return fitPca(X, n, d, k, { variant, maxRows: 1000, random: () => createRng(7) }).components; } finally { setKernelThreads(1); }
    };
    for (const variant of ['exact', 'sampled'] as const) {
      expect(Buffer.from(run(2, variant).buffer).equals(Buffer.from(run(1, variant).buffer)), variant).toBe(true);
    }
  });

  it('sampled: above 128 dimensions subspace iteration finds the top subspace of the exact fit', async () => {
    const n = 3000, d = 160, k = 10;
    const X = spectrumRows(3, n, d, 0.7);
    const exact = fitPca(X, n, d, k);
    const sampled = fitPca(X, n, d, k, { variant: 'sampled', maxRows: 2000, random: () => createRng(0) });
    expect(sampled.rows).toBe(2000);
    let overlap = 0;
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) overlap += dot(exact.components, a, sampled.components, b, d) ** 2;
    expect(overlap / k).toBeGreaterThan(0.99);
    expect(() => fitPca(X, n, d, k, { variant: 'sampled', maxRows: 100 })).toThrow(/seeded random source/);
    await shutdownKernelThreads();
  });
});
