/**
 * The faster search paths give what the plain ones give: the kNN graph over several tiles (the
 * row-order scan of the columns whose maximum can still enter their lists), the duplicates'
 * exact bound through the radius search (and its all-pairs fallback when the rows bunch along
 * the first component), the radius window count, the temperature fit's closed form, and the
 * shared unit rows of the neighbour space.
 */
import { describe, it, expect } from 'vitest';
import { createRng } from '../compute/rng.ts';
import { knnSelf } from '../compute/neighbours.ts';
import { applyScaling, columnScaling, normalizeRowsInPlace } from '../compute/scaling.ts';
import { axisDirections, radiusWindowPairs } from '../compute/radius.ts';
import { nearPairsSelf, nearPairsCross } from '../src/analysers/duplicate-search.ts';
import { principalBasis } from '../src/analysers/vectors.ts';
import { spaceOf, unitRowsOf } from '../src/analysers/neighbour-space.ts';
import { fitTemperature, temperatureScale, blendLogLoss } from '../src/analysers/label-errors.ts';
import { makeSplit } from './analysers-helpers.ts';

function gaussian(n: number, d: number, seed: number, scales?: number[]): Float32Array {
  const r = createRng(seed);
  const X = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) X[i * d + j] = r.normal() * (scales ? scales[j % scales.length] : 1);
  return X;
}

describe('kNN graph over many tiles', () => {
  // d = 64: 512-row tiles, so 2,100 rows give five block rows (off-diagonal tiles, a partial
  // last block); every tenth row repeated gives exact ties, broken by the smaller index.
  const n = 2100, d = 64, k = 10;
  const X = gaussian(n, d, 3);
  for (let i = 10; i < n; i += 10) X.copyWithin(i * d, (i - 7) * d, (i - 6) * d);
  // Row 1 three times, in three different tiles: exact ties at the top of their lists.
  X.copyWithin(1001 * d, 1 * d, 2 * d);
  X.copyWithin(2001 * d, 1 * d, 2 * d);
  normalizeRowsInPlace(X, n, d);

  it('is the brute-force top k (ties by index) with one thread and with two', async () => {
    const one = await knnSelf(X, n, d, k, { threads: 1 });
    const two = await knnSelf(X, n, d, k, { threads: 2, minWorkForThreads: 0 });
    expect(Buffer.from(two.index.buffer).equals(Buffer.from(one.index.buffer))).toBe(true);
    expect(Buffer.from(two.sim.buffer).equals(Buffer.from(one.sim.buffer))).toBe(true);
    for (const i of [0, 3, 10, 511, 512, 1023, 1500, 2048, 2099]) {
      // The kernel's own products (a 1 × 1 search of the pair) rank the reference.
      const sims = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < d; t++) s += X[i * d + t] * X[j * d + t];
        sims[j] = s;
      }
      const ref = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).sort((a, b) => sims[b] - sims[a] || a - b).slice(0, k);
      for (let t = 0; t < k; t++) expect(one.sim[i * k + t]).toBeCloseTo(sims[ref[t]], 5);
      expect(new Set(Array.from(one.index.subarray(i * k, i * k + k))).size).toBe(k);
    }
    // Row 10 is a copy of row 3; rows 1, 1001 and 2001 are one row three times.
    expect(one.index[10 * k]).toBe(3);
    expect(Array.from(one.index.subarray(1 * k, 1 * k + 2))).toEqual([1001, 2001]);
    expect(Array.from(one.index.subarray(1001 * k, 1001 * k + 2))).toEqual([1, 2001]);
    expect(Array.from(one.index.subarray(2001 * k, 2001 * k + 2))).toEqual([1, 1001]);
    expect(one.sim[2001 * k]).toBe(one.sim[2001 * k + 1]);
  });
});

describe('duplicates: the exact bound through the radius search', () => {
  const threshold = 0.99;
  const opts = { threshold, exactMaxRows: 100_000, boundDims: 32, lshRecall: 0.995, recallSampleRows: 500, seed: 0 };

  /** n wide rows (d = 120) with a spread of component scales, 40 planted near pairs, as unit rows. */
  function wideRows(n: number, d: number, seed: number, scales: number[]): Float32Array {
    const X = gaussian(n, d, seed, scales);
    const r = createRng(seed + 1);
    for (let p = 0; p < 40; p++) {
      const a = r.int(n), b = r.int(n);
      if (a === b) continue;
      for (let j = 0; j < d; j++) X[b * d + j] = X[a * d + j] + 0.03 * r.normal();
    }
    normalizeRowsInPlace(X, n, d);
    return X;
  }

  function brutePairs(U: Float32Array, n: number, d: number): string[] {
    const out: string[] = [];
    for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += U[a * d + t] * U[b * d + t];
      if (s >= threshold) out.push(`${a},${b}`);
    }
    return out;
  }

  for (const [what, scales] of [
    ['spread along the leading components (radius windows)', Array.from({ length: 120 }, (_, j) => [8, 5, 3, 2][j] ?? 1)],
    ['rows bunched along every component (all-pairs fallback)', [1]],
  ] as const) {
    it(`finds exactly the pairs ≥ the threshold: ${what}`, async () => {
      const n = 1500, d = 120;
      const U = wideRows(n, d, 11, [...scales]);
      const basis = principalBasis(U, n, d, 32, { seed: 0 });
      const got = await nearPairsSelf(U, n, d, opts, basis);
      expect(got.method).toBe('exact-bound');
      const want = brutePairs(U, n, d);
      expect(want.length).toBeGreaterThan(20);
      expect(Array.from({ length: got.pairs.count }, (_, p) => `${got.pairs.a[p]},${got.pairs.b[p]}`)).toEqual(want);
      // Cross: the first 300 rows against all.
      const cross = await nearPairsCross(U.subarray(0, 300 * d), 300, U, n, d, opts, basis);
      const wantCross: string[] = [];
      for (let q = 0; q < 300; q++) for (let x = 0; x < n; x++) {
        let s = 0;
        for (let t = 0; t < d; t++) s += U[q * d + t] * U[x * d + t];
        if (s >= threshold) wantCross.push(`${q},${x}`);
      }
      expect(Array.from({ length: cross.pairs.count }, (_, p) => `${cross.pairs.a[p]},${cross.pairs.b[p]}`)).toEqual(wantCross);
    });
  }

  it('radiusWindowPairs counts the pairs within r on the first direction', () => {
    const n = 700, d = 5;
    const X = gaussian(n, d, 5);
    const r = 0.05;
    let want = 0;
    for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) if (Math.abs(X[a * d] - X[b * d]) <= r) want++;
    const got = radiusWindowPairs(X, n, d, r, { directions: axisDirections(d, 2) });
    // The window has a rounding slack of ~1e-9: at most a pair or two at the edge.
    expect(Math.abs(got - want)).toBeLessThanOrEqual(2);
    expect(want).toBeGreaterThan(100);
  });
});

describe('temperature fit in closed form', () => {
  it('lands where the direct golden-section search on scaled probabilities lands', () => {
    const r = createRng(9);
    const n = 3000, k = 6;
    const proba = new Float32Array(n * k);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = r.int(k);
      let s = 0;
      for (let j = 0; j < k; j++) { const v = Math.exp(3 * r.normal() + (j === labels[i] ? 2 : 0)); proba[i * k + j] = v; s += v; }
      for (let j = 0; j < k; j++) proba[i * k + j] /= s;
    }
    const lp = { labels, proba, n, k };
    // The former search: scale every probability, then the mean −log of the given label's.
    const ll = (logT: number) => blendLogLoss({ ...lp, proba: temperatureScale(proba, n, k, Math.exp(logT)) }, proba, [0])[0];
    let a = Math.log(0.25), b = Math.log(4);
    const g = (Math.sqrt(5) - 1) / 2;
    let c = b - g * (b - a), dd = a + g * (b - a), fc = ll(c), fd = ll(dd);
    for (let it = 0; it < 20; it++) {
      if (fc < fd) { b = dd; dd = c; fd = fc; c = b - g * (b - a); fc = ll(c); } else { a = c; c = dd; fc = fd; dd = a + g * (b - a); fd = ll(dd); }
    }
    const direct = Math.exp((a + b) / 2);
    const T = fitTemperature(lp);
    expect(T).toBeGreaterThan(1.2); // over-confident probabilities: a real temperature to find
    expect(Math.abs(Math.log(T / direct))).toBeLessThan(2e-3);
    expect(Math.abs(ll(Math.log(T)) - ll(Math.log(direct)))).toBeLessThan(1e-7);
  });
});

describe('shared unit rows', () => {
  it('the neighbour space hands the duplicates the same unit rows a fresh computation gives', async () => {
    const n = 900, d = 80;
    const X = gaussian(n, d, 21, [3, 1, 2]);
    const fresh = applyScaling(X, n, d, columnScaling(X, n, d));
    normalizeRowsInPlace(fresh, n, d);
    const wide = makeSplit({ features: X, n, d, labels: new Int32Array(n), classNames: ['a'] });
    await spaceOf(wide, { seed: 0 }); // reduced to 64 dims: the unit rows come from its standardised rows
    const shared = await unitRowsOf(wide);
    expect(Buffer.from(shared.U.buffer).equals(Buffer.from(fresh.buffer))).toBe(true);
    // Without a space built first, the same rows again.
    const other = makeSplit({ features: X.slice(), n, d, labels: new Int32Array(n), classNames: ['a'] });
    expect(Buffer.from((await unitRowsOf(other)).U.buffer).equals(Buffer.from(fresh.buffer))).toBe(true);
  });
});
