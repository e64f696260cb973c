import { describe, expect, it } from 'vitest';
import { createRng } from '../compute/rng.ts';
import { fitPreprocessor, restorePreprocessor, type PreprocessJSON } from '../evaluator/preprocess.ts';
import { symmetricEigen } from '../compute/symeig.ts';

/**
 * Rows x = Σ_c s_c·z_c·u_c + offset with orthonormal axes u_c (a random rotation) and
 * decreasing standard deviations s_c: the principal components are the u_c, in order.
 */
function rotatedGaussian(seed: number, n: number, d: number, sds: number[]) {
  const r = createRng(seed);
  // Gram-Schmidt on random vectors gives orthonormal axes.
  const axes: number[][] = [];
  while (axes.length < d) {
    const v = Array.from({ length: d }, () => r.normal());
    for (const a of axes) {
      const p = a.reduce((s, ai, i) => s + ai * v[i], 0);
      for (let i = 0; i < d; i++) v[i] -= p * a[i];
    }
    const norm = Math.hypot(...v);
    axes.push(v.map((x) => x / norm));
  }
  const offset = Array.from({ length: d }, () => 3 * r.normal());
  const X = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) X[i * d + j] = offset[j];
    for (let c = 0; c < d; c++) {
      const z = sds[c] * r.normal();
      for (let j = 0; j < d; j++) X[i * d + j] += z * axes[c][j];
    }
  }
  return { X, axes, offset };
}

describe('symmetric eigendecomposition', () => {
  it('satisfies A v = λ v with orthonormal vectors', () => {
    const n = 30, r = createRng(2);
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) { const v = r.normal(); A[i * n + j] = v; A[j * n + i] = v; }
    const { values, vectors } = symmetricEigen(A, n);
    for (let j = 1; j < n; j++) expect(values[j]).toBeGreaterThanOrEqual(values[j - 1]);
    for (let a = 0; a < n; a++) {
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += A[i * n + k] * vectors[a * n + k];
        expect(s).toBeCloseTo(values[a] * vectors[a * n + i], 10);
      }
      for (let b = 0; b < n; b++) {
        let dot = 0;
        for (let k = 0; k < n; k++) dot += vectors[a * n + k] * vectors[b * n + k];
        expect(dot).toBeCloseTo(a === b ? 1 : 0, 10);
      }
    }
  });
});

describe('preprocessing', () => {
  it('PCA recovers the generating axes in variance order, orthonormal, signed deterministically', () => {
    const d = 6, n = 4000, sds = [5, 3, 2, 1, 0.5, 0.25];
    const { X, axes } = rotatedGaussian(1, n, d, sds);
    const pre = fitPreprocessor({ pca: 3 }, X, n, d);
    const json = pre.toJSON() as PreprocessJSON;
    const comps = json.pca!.components;
    expect(comps).toHaveLength(3);
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) {
        const dot = comps[a].reduce((s, v, i) => s + v * comps[b][i], 0);
        expect(dot).toBeCloseTo(a === b ? 1 : 0, 10);
      }
      // Same direction as the true axis (up to sign), within sampling error.
      const cos = Math.abs(comps[a].reduce((s, v, i) => s + v * axes[a][i], 0));
      expect(cos).toBeGreaterThan(0.99);
      // Sign convention: the largest-magnitude entry is positive.
      const big = comps[a].reduce((bi, v, i, arr) => (Math.abs(v) > Math.abs(arr[bi]) ? i : bi), 0);
      expect(comps[a][big]).toBeGreaterThan(0);
      // Sample variance of n = 4000 draws: relative sd √(2/n) ≈ 2.2%, allow ~3.5 sd.
      expect(Math.abs(json.pca!.explainedVariance[a] / sds[a] ** 2 - 1)).toBeLessThan(0.08);
    }
    const ev = json.pca!.explainedVariance;
    expect(ev[0]).toBeGreaterThan(ev[1]);
    expect(ev[1]).toBeGreaterThan(ev[2]);
    const total = sds.reduce((s, v) => s + v * v, 0);
    expect(json.pca!.explainedRatio[0]).toBeCloseTo(25 / total, 1);

    // Projected pool: zero mean, variances = explained variances, uncorrelated.
    const Z = pre.transform(X, n);
    for (let c = 0; c < 3; c++) {
      let m = 0, v = 0;
      for (let i = 0; i < n; i++) m += Z[i * 3 + c];
      m /= n;
      for (let i = 0; i < n; i++) v += (Z[i * 3 + c] - m) ** 2;
      expect(Math.abs(m)).toBeLessThan(1e-4);
      expect(v / (n - 1)).toBeCloseTo(ev[c], 2);
    }
  });

  it('standardize gives zero mean and unit variance on the pool; a constant column stays finite', () => {
    const n = 500, d = 3, r = createRng(4);
    const X = new Float32Array(n * d);
    for (let i = 0; i < n; i++) { X[i * 3] = 10 + 4 * r.normal(); X[i * 3 + 1] = 7; X[i * 3 + 2] = r.uniform() * 255; }
    const pre = fitPreprocessor({ scale: 255, standardize: true }, X, n, d);
    const Z = pre.transform(X, n);
    for (let j = 0; j < d; j++) {
      let m = 0, v = 0;
      for (let i = 0; i < n; i++) m += Z[i * d + j];
      m /= n;
      for (let i = 0; i < n; i++) v += (Z[i * d + j] - m) ** 2;
      expect(Math.abs(m)).toBeLessThan(1e-5);
      expect(v / n).toBeCloseTo(j === 1 ? 0 : 1, 4);
    }
    for (let i = 0; i < n; i++) expect(Z[i * d + 1]).toBe(0);
    const json = pre.toJSON() as PreprocessJSON;
    expect(json.standardize!.std[1]).toBe(1);
  });

  it('scale alone divides; an empty spec is the identity', () => {
    const X = new Float32Array([0, 255, 51, 102]);
    expect(Array.from(fitPreprocessor({ scale: 255 }, X, 2, 2).transform(X, 2))).toEqual([0, 1, 0.2, 0.4].map(Math.fround));
    expect(Array.from(fitPreprocessor({}, X, 2, 2).transform(X, 2))).toEqual(Array.from(X));
  });

  it('survives a JSON round trip bit for bit, and is deterministic', () => {
    const d = 8, n = 300;
    const { X } = rotatedGaussian(3, n, d, [4, 3, 2, 1, 1, 0.5, 0.5, 0.1]);
    const spec = { scale: 2, pca: 4, standardize: true };
    const a = fitPreprocessor(spec, X, n, d), b = fitPreprocessor(spec, X, n, d);
    expect(JSON.stringify(a.toJSON())).toBe(JSON.stringify(b.toJSON()));
    const restored = restorePreprocessor(JSON.parse(JSON.stringify(a.toJSON())));
    expect(restored.dOut).toBe(4);
    expect(Array.from(restored.transform(X, n))).toEqual(Array.from(a.transform(X, n)));
  });

  it('rejects bad specs and bad pools with precise messages', () => {
    const X = new Float32Array(12);
    expect(() => fitPreprocessor({ pca: 5 }, X, 4, 3)).toThrow(/'pca' must be an integer between 1 and the input dimension 3, got 5/);
    expect(() => fitPreprocessor({ scale: 0 }, X, 4, 3)).toThrow(/'scale' must be a positive number/);
    expect(() => fitPreprocessor({ whiten: true } as any, X, 4, 3)).toThrow(/unknown option\(s\) whiten/);
    const bad = X.slice(); bad[7] = NaN;
    expect(() => fitPreprocessor({}, bad, 4, 3)).toThrow(/non-finite value NaN at row 2, column 1/);
    expect(() => restorePreprocessor({ format: 'other' })).toThrow(/not a sieve-preprocess\/1/);
  });
});
