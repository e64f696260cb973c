/** The helper library code strategies get as ctx.helpers: exact, deterministic, ties by index. */
import { fitIdf, hashTexts, TEXT_DIMS, writeTfidf } from '../compute/text-features.ts';
import { describe, expect, it } from 'vitest';
import { createRng } from '../compute/rng.ts';
import {
  argmaxRows, argsort, balancedQuotas, featureRows, kCenterGreedy, margins, perClassQuotas, randomProjection, stratifiedSample, takeByQuota, topK,
} from '../src/strategy/helpers.ts';

describe('strategy helpers', () => {
  it('argsort and topK: ties by index, NaN last', () => {
    const s = [3, 1, NaN, 3, 2];
    expect([...argsort(s)]).toEqual([1, 4, 0, 3, 2]);
    expect([...argsort(s, { descending: true })]).toEqual([0, 3, 4, 1, 2]);
    expect([...topK(s, 2)]).toEqual([0, 3]);
    expect([...topK(s, 2, { smallest: true })]).toEqual([1, 4]);
    expect([...topK(s, 99)]).toHaveLength(5);
  });

  it('per-class quotas: as equal as possible, capped by what a class has, leftovers shared', () => {
    const labels = Int32Array.from([0, 0, 0, 0, 0, 0, 1, 2, 2, 2]); // sizes 6, 1, 3
    expect([...perClassQuotas(labels, 3, 7)]).toEqual([3, 1, 3]);
    expect([...perClassQuotas(labels, 3, 5)]).toEqual([2, 1, 2]);
    expect([...perClassQuotas(labels, 3, 100)]).toEqual([6, 1, 3]);
    expect([...balancedQuotas(Int32Array.from([0, 5, 5]), 3)]).toEqual([0, 2, 1]);
  });

  it('takeByQuota walks an order and keeps rows while their stratum has room', () => {
    const strata = Int32Array.from([0, 1, 0, 1, 0, -1]);
    expect([...takeByQuota([5, 4, 3, 2, 1, 0], strata, Int32Array.from([2, 1]))]).toEqual([4, 3, 2]);
  });

  it('stratified sampling: equal or proportional shares, seeded, never a row coded -1', () => {
    const strata = new Int32Array(100);
    for (let i = 0; i < 100; i++) strata[i] = i < 80 ? 0 : i < 95 ? 1 : i < 99 ? 2 : -1;
    const eq = stratifiedSample(strata, 12, createRng(1));
    const count = (rows: Int32Array, s: number) => [...rows].filter((r) => strata[r] === s).length;
    expect([count(eq, 0), count(eq, 1), count(eq, 2)]).toEqual([4, 4, 4]);
    const prop = stratifiedSample(strata, 20, createRng(1), { allocation: 'proportional' });
    expect([count(prop, 0), count(prop, 1), count(prop, 2)]).toEqual([16, 3, 1]);
    expect([...prop].every((r) => strata[r] >= 0)).toBe(true);
    expect([...stratifiedSample(strata, 12, createRng(1))]).toEqual([...eq]);
    expect([...stratifiedSample(strata, 12, createRng(2))]).not.toEqual([...eq]);
  });

  it('k-center greedy takes the farthest row each time, within candidates when given', () => {
    // Points on a line: 0, 1, 2, 10, 11, 20.
    const rows = Float64Array.from([0, 1, 2, 10, 11, 20]);
    expect([...kCenterGreedy(rows, 1, 3)]).toEqual([0, 5, 3]);
    expect([...kCenterGreedy(rows, 1, 2, { initial: [5] })]).toEqual([0, 3]);
    expect([...kCenterGreedy(rows, 1, 2, { candidates: [1, 2, 4] })]).toEqual([1, 4]);
    // Coverage: the k-center radius is never worse than half of a random pick's on clustered data.
    const rng = createRng(3);
    const pts = new Float32Array(2000 * 2);
    for (let i = 0; i < 2000; i++) {
      const c = i % 5;
      pts[2 * i] = c * 10 + rng.normal() * 0.3;
      pts[2 * i + 1] = rng.normal() * 0.3;
    }
    const picked = kCenterGreedy(pts, 2, 5);
    expect(new Set([...picked].map((i) => i % 5)).size).toBe(5);
  });

  it('projection keeps shapes and is seeded; margins and argmax of probability rows', () => {
    const rows = new Float32Array(4 * 6).map((_, i) => i % 7);
    const a = randomProjection(rows, 6, 3, 9);
    expect(a).toHaveLength(12);
    expect([...randomProjection(rows, 6, 3, 9)]).toEqual([...a]);
    const p = Float32Array.from([0.7, 0.2, 0.1, 0.4, 0.4, 0.2]);
    const m = margins(p, 3);
    expect(m[0]).toBeCloseTo(0.5, 6);
    expect(m[1]).toBeCloseTo(0, 6);
    expect([...argmaxRows(p, 3)]).toEqual([0, 0]);
  });

  it('featureRows: numbers standardised, categories one-hot, pixels scaled, text as hashed TF-IDF; wide rows projected', () => {
    const columns = {
      age: { kind: 'numeric' as const, values: Float64Array.from([1, 3, NaN]) },
      colour: { kind: 'categorical' as const, categories: ['red', 'blue'], codes: Int32Array.from([1, -1, 0]) },
      img: { kind: 'pixels' as const, dim: 2, width: 2, height: 1, channels: 1, values: Uint8Array.from([0, 255, 51, 102, 255, 0]) },
    };
    const { rows, dim } = featureRows(columns, 3, { maxDim: 64 });
    expect(dim).toBe(5); // age, colour × 2, img × 2 (sorted by name)
    expect([...rows.slice(0, 5)]).toEqual([-1, 0, 1, 0, 1]);
    expect([...rows.slice(5, 10)].map((v) => Math.round(v * 10) / 10)).toEqual([1, 0, 0, 0.2, 0.4]);
    expect([...rows.slice(10, 15)]).toEqual([0, 1, 0, 1, 0]); // missing age → the mean (0)
    const wide = featureRows(columns, 3, { maxDim: 3, seed: 5 });
    expect(wide.dim).toBe(3);
    expect(wide.rows).toEqual(randomProjection(rows, 5, 3, 5));
    // Text: the reader's TF-IDF of the column (IDF fitted on these rows), after the other columns (sorted by name).
    const note = { kind: 'text' as const, values: ['cheap pills now', 'meeting at noon', ''] };
    const t = featureRows({ ...columns, note }, 3, { maxDim: 10_000 });
    expect(t.dim).toBe(5 + TEXT_DIMS);
    const h = hashTexts(note.values);
    const want = new Float32Array(3 * TEXT_DIMS);
    writeTfidf(h, fitIdf(h), want, TEXT_DIMS, 0);
    for (let i = 0; i < 3; i++) {
      expect([...t.rows.slice(i * t.dim, i * t.dim + 5)]).toEqual([...rows.slice(i * 5, i * 5 + 5)]);
      expect([...t.rows.slice(i * t.dim + 5, (i + 1) * t.dim)]).toEqual([...want.slice(i * TEXT_DIMS, (i + 1) * TEXT_DIMS)]);
    }
    expect(featureRows({ note }, 3).dim).toBe(32);
    expect(() => featureRows({}, 3)).toThrow(/no numeric, categorical, embedding, pixels or text column/);
  });
});
