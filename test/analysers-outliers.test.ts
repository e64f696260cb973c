import { describe, it, expect } from 'vitest';
import { createRng } from '../compute/rng.ts';
import { outliers, fenceFlags, outlierMetric } from '../src/analysers/outliers.ts';
import { analyseDuplicates, duplicates } from '../src/analysers/duplicates.ts';
import { metricFor } from '../src/analysers/vectors.ts';
import { blobs, makeContext, makeSplit, prf } from './analysers-helpers.ts';

/**
 * Finding F15's pool: 1,000 N(0, I5) rows, then 5 of them scaled ×12 and 5 copies with one
 * coordinate set to 15 (rows 1000–1009). Tabular column names unless `names` says otherwise.
 */
function f15Split(seed: number, names?: string[]) {
  const r = createRng(seed);
  const n0 = 1000, n = n0 + 10, d = 5;
  const X = new Float32Array(n * d);
  for (let i = 0; i < n0 * d; i++) X[i] = r.normal();
  for (let t = 0; t < 5; t++) for (let j = 0; j < d; j++) X[(n0 + t) * d + j] = 12 * X[t * 97 * d + j];
  for (let t = 0; t < 5; t++) {
    for (let j = 0; j < d; j++) X[(n0 + 5 + t) * d + j] = X[(500 + t * 61) * d + j];
    X[(n0 + 5 + t) * d + t] = 15;
  }
  return makeSplit({ features: X, n, d, labels: Int32Array.from({ length: n }, (_, i) => i % 2), classNames: ['a', 'b'], featureNames: names });
}

const topRows = (scores: number[], m: number) => scores.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, m).map(([, i]) => i);

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
      // measured: cosine precision 1.0, recall 0.90 (18/20); euclidean (fence on the log distances) precision 1.0, recall 1.0
      expect(m.recall, metric).toBeGreaterThanOrEqual(metric === 'cosine' ? 0.85 : 0.95);
      expect(m.precision, metric).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('flags nothing in a single clean Gaussian cluster', async () => {
    const { X, y, n } = blobs(1, 2000, 16, 0, 4);
    const res = await outliers.run(makeContext(makeSplit({ features: X, n, d: 16, labels: y, classNames: ['a', 'b'] })), outliers.defaults);
    expect(res.summary.figures.flagged).toBeLessThanOrEqual(2); // measured 0
  });

  it('tabular rows are scored by standardised Euclidean distance: F15\'s scaled rows and 15σ spikes are the 10 flagged', async () => {
    for (const seed of [1, 2, 3]) {
      const split = f15Split(seed);
      const res = await outliers.run(makeContext(split), outliers.defaults);
      expect(res.summary.figures.metric).toBe('euclidean');
      expect(res.summary.figures.metric_reason).toBe('kind');
      expect(res.summary.verdict).toMatch(/Euclidean distances on the standardised features, the metric for tabular features/);
      const planted = Array.from({ length: 10 }, (_, t) => 1000 + t);
      expect(topRows(res.findings.map((f) => f.score), 10).sort((a, b) => a - b), `seed ${seed}`).toEqual(planted);
      // measured: exactly the 10 planted rows flagged on seeds 1, 2, 3
      expect(res.findings.filter((f) => f.flagged).map((f) => Number(f.id.slice(6))), `seed ${seed}`).toEqual(planted);
      // Cosine (the metric before, cleanlab's rule for > 3 dimensions) does not see a row scaled ×12: measured 0–1 in its top 10.
      const cos = await outliers.run(makeContext(split), { ...outliers.defaults, metric: 'cosine' });
      expect(topRows(cos.findings.map((f) => f.score), 10).filter((i) => i >= 1000).length).toBeLessThanOrEqual(2);
      expect(cos.summary.verdict).toMatch(/cosine distances 1 − cos on the standardised features \(metric cosine, as requested\)/);
    }
  });

  it('flags that a nearly constant column makes are said as such, with the column named on each row', async () => {
    // Digits-like: 20 columns of 0–16, one border pixel non-zero in 8 of 1,440 rows.
    const r = createRng(11);
    const n = 1440, d = 20;
    const X = new Float32Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) X[i * d + j] = j === 0 ? (i % 180 === 7 ? 1 + Math.floor(8 * r.uniform()) : 0) : Math.floor(17 * r.uniform());
    const names = Array.from({ length: d }, (_, j) => `pixel_${j}`);
    const res = await outliers.run(makeContext(makeSplit({ features: X, n, d, labels: Int32Array.from({ length: n }, (_, i) => i % 10), classNames: [...'0123456789'], featureNames: names })), outliers.defaults);
    const flagged = res.findings.filter((f) => f.flagged);
    expect(flagged.length).toBeGreaterThanOrEqual(4);
    expect(flagged.every((f) => f.detail.main_column === 'pixel_0' && (f.detail.main_column_z as number) > 5)).toBe(true);
    expect(res.summary.figures.flagged_by_one_column).toBe(flagged.length);
    expect(res.summary.verdict).toMatch(/\d+ of the \d+ flagged rows stand out mainly in one column .*most often pixel_0 \(\d+\)\. Caution: pixel_0 has one value in 99\.\d% of the rows/);
    expect(res.findings.filter((f) => !f.flagged).every((f) => f.detail.main_column === null)).toBe(true);
  });

  it('random N(0, I) rows of 2–20 dimensions: (almost) nothing flagged', async () => {
    // measured over seeds 100–109, 1,000 rows: 0–9 flags at 2 dims (mean 3.6), 0–1 at 3, none at 5–20;
    // the fence on the raw distances flagged 31–50 at 2 dims, 9–30 at 3, 5–12 at 4.
    for (const d of [2, 3, 5, 8, 12, 20]) {
      for (const seed of [100, 101, 102, 103, 104]) {
        const r = createRng(seed);
        const n = 1000;
        const X = Float32Array.from({ length: n * d }, () => r.normal());
        const res = await outliers.run(makeContext(makeSplit({ features: X, n, d, labels: new Int32Array(n), classNames: ['a'] })), outliers.defaults);
        expect(res.summary.figures.metric).toBe('euclidean');
        expect(res.summary.figures.flagged, `d ${d} seed ${seed}`).toBeLessThanOrEqual(d === 2 ? 10 : 2);
        // A few flags (under 0.5%) are info, never a green ok beside them; none is ok.
        expect(res.summary.severity, `d ${d} seed ${seed}`).toBe((res.summary.figures.flagged as number) > 0 ? 'info' : 'ok');
      }
    }
  });

  it('picks the metric by the same rule as the duplicates analyser', async () => {
    const r = createRng(5);
    const n = 300;
    const emb = (d: number) => Array.from({ length: d }, (_, j) => `embedding[${j}]`);
    const cases = [
      { d: 5, names: undefined, metric: 'euclidean' },       // tabular
      { d: 40, names: undefined, metric: 'euclidean' },      // wide tabular (one-hot columns)
      { d: 80, names: undefined, metric: 'euclidean' },      // wider: projected onto 64 principal components
      { d: 8, names: emb(8), metric: 'euclidean' },          // a narrow embedding
      { d: 32, names: emb(32), metric: 'cosine' },           // an embedding
    ] as const;
    for (const c of cases) {
      const X = Float32Array.from({ length: n * c.d }, () => r.normal());
      const split = makeSplit({ features: X, n, d: c.d, labels: Int32Array.from({ length: n }, (_, i) => i % 2), classNames: ['a', 'b'], featureNames: c.names ? [...c.names] : undefined });
      expect(metricFor(split)).toBe(c.metric);
      expect(outlierMetric(split, 'auto').metric).toBe(c.metric);
      expect((await analyseDuplicates(split, undefined, duplicates.defaults, 0)).metric).toBe(c.metric);
      const res = await outliers.run(makeContext(split), outliers.defaults);
      expect(res.summary.figures.metric).toBe(c.metric);
      expect(res.summary.figures.dims).toBe(Math.min(c.d, 64));
      if (c.d > 64) expect(res.summary.verdict).toMatch(/Euclidean distances on the standardised features projected onto their 64 principal components/);
    }
    // Pixels are cosine whatever their number.
    expect(metricFor({ d: 4, featureNames: ['a', 'b', 'c', 'd'], pixels: { width: 2, height: 2, channels: 1, data: new Uint8Array(4) } })).toBe('cosine');
    // Tabular rows beyond the exact Euclidean search are scored by cosine, and the verdict's metric sentence says why.
    const big = makeSplit({ features: new Float32Array(100_001 * 2), n: 100_001, d: 2, labels: new Int32Array(100_001), classNames: ['a'] });
    expect(outlierMetric(big, 'auto')).toEqual({ metric: 'cosine', reason: 'rows' });
    expect(outlierMetric(big, 'euclidean')).toEqual({ metric: 'euclidean', reason: 'requested' });
  });

  it('the fence on the log scores: Q3 × (Q3 / Q1)^3, rows with score 0 left out and never flagged', () => {
    const s = Float64Array.from([0, 0, ...Array.from({ length: 101 }, (_, i) => Math.exp(i / 100)), Math.exp(4.3), Math.exp(4.2)]);
    // logs of the positive scores: 0 … 1 and 4.3, 4.2 → Q1 0.255, Q3 0.765 (103 values), cut-off 0.765 + 3 × 0.51 = 2.295
    const f = fenceFlags(s, 3, true);
    expect(Math.log(f.q1)).toBeCloseTo(0.255, 10);
    expect(Math.log(f.q3)).toBeCloseTo(0.765, 10);
    expect(Math.log(f.cutoff)).toBeCloseTo(2.295, 10);
    expect(Array.from(f.mask).reduce((a, v) => a + v, 0)).toBe(2);
    expect(Array.from(f.mask).slice(-2)).toEqual([1, 1]);
    expect(f.mask[0]).toBe(0);
    expect(f.fence[0]).toBe(0);
    expect(fenceFlags(new Float64Array(4), 3, true).mask.every((v) => v === 0)).toBe(true);
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
