import { describe, it, expect } from 'vitest';
import { createRng } from '../compute/rng.ts';
import { outliers, fenceFlags } from '../src/analysers/outliers.ts';
import { blobs, makeContext, makeSplit, prf } from './analysers-helpers.ts';

describe('outliers', () => {
  it('flags rows planted far from every cluster', async () => {
    // Three Gaussian clusters in 20 dims, plus 20 rows drawn with 6× the spread around the origin.
    const { X, y, n } = blobs(3, 400, 20, 8, 3);
    const extra = 20, d = 20;
    const all = new Float32Array((n + extra) * d);
    all.set(X);
    const r = createRng(9);
    for (let i = n * d; i < all.length; i++) all[i] = 6 * r.normal();
    const labels = new Int32Array(n + extra);
    labels.set(y);
    const truth = new Uint8Array(n + extra).fill(1, n);
    const split = makeSplit({ features: all, n: n + extra, d, labels, classNames: ['a', 'b', 'c'] });
    for (const metric of ['cosine', 'euclidean'] as const) {
      const res = await outliers.run(makeContext(split), { ...outliers.defaults, metric });
      const m = prf(res.findings.map((f) => f.flagged), truth);
      // measured: cosine precision 1.0, recall 0.90 (18/20); euclidean precision 1.0, recall 1.0
      expect(m.recall, metric).toBeGreaterThanOrEqual(metric === 'cosine' ? 0.85 : 0.95);
      expect(m.precision, metric).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('flags nothing in a single clean Gaussian cluster', async () => {
    const { X, y, n } = blobs(1, 2000, 16, 0, 4);
    const res = await outliers.run(makeContext(makeSplit({ features: X, n, d: 16, labels: y, classNames: ['a', 'b'] })), outliers.defaults);
    expect(res.summary.figures.flagged).toBeLessThanOrEqual(2); // measured 0
  });

  it('the fence is Q3 + 3 IQR', () => {
    const s = Float64Array.from({ length: 101 }, (_, i) => i); // with the two extras: Q1 25.5, Q3 76.5
    const f = fenceFlags(Float64Array.from([...s, 240, 220]), 3); // cut-off 229.5
    expect(f.q1).toBeCloseTo(25.5, 10);
    expect(f.q3).toBeCloseTo(76.5, 10);
    expect(f.cutoff).toBeCloseTo(76.5 + 3 * 51, 10);
    expect(Array.from(f.mask).slice(-2)).toEqual([1, 0]);
  });
});
