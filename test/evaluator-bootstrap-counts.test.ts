/**
 * The bootstrap's fast path (resamples as per-position counts, scored from gathered rows) must
 * give the figures of the path by weights bit for bit: same resamples, same sums in the same
 * order. Compared with Object.is on every number, over groups, a positive class, distinct and
 * shared seeds, parts of the test rows, and probabilities that are NaN or exactly 0 or 1.
 */
import { describe, expect, it } from 'vitest';
import { forEachResample as resampleByWeights, forEachResampleCounts as resampleByCounts } from '../compute/bootstrap.ts';
import { createRng } from '../compute/rng.ts';
import { classificationScorer, summariseSeeds, type MetricSummary } from '../evaluator/aggregate.ts';
import { forEachResample, forEachResampleCounts } from '../evaluator/bootstrap.ts';
import { encodeGroupColumn, metricLayout, rowScores, type MetricOptions } from '../evaluator/metrics.ts';
import { acquire } from '../compute/arena.ts';

function sameBits(a: Record<string, MetricSummary>, b: Record<string, MetricSummary>): string[] {
  const diff: string[] = [];
  expect(Object.keys(a)).toEqual(Object.keys(b));
  for (const name of Object.keys(a)) {
    const x = a[name], y = b[name];
    const pairs: [string, number, number][] = [
      ['mean', x.mean, y.mean], ['std', x.std, y.std], ['bias', x.bias, y.bias], ['lo', x.ci95[0], y.ci95[0]], ['hi', x.ci95[1], y.ci95[1]],
      ...x.per_seed.map((v, i) => [`seed ${i}`, v, y.per_seed[i]] as [string, number, number]),
    ];
    for (const [what, u, v] of pairs) if (!Object.is(u, v)) diff.push(`${name} ${what}: ${u} vs ${v}`);
    if (x.ci_extended !== y.ci_extended || x.note !== y.note) diff.push(`${name}: flags differ`);
  }
  return diff;
}

function probabilities(n: number, k: number, seed: number, opts: { nan?: number[]; onehot?: number[] } = {}): Float32Array {
  const rng = createRng(seed);
  const p = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < k; c++) { p[i * k + c] = rng.uniform() ** 3; sum += p[i * k + c]; }
    for (let c = 0; c < k; c++) p[i * k + c] /= sum;
  }
  for (const i of opts.onehot ?? []) for (let c = 0; c < k; c++) p[i * k + c] = c === i % k ? 1 : 0;
  for (const i of opts.nan ?? []) p[i * k] = NaN;
  return p;
}

describe('bootstrap by counts', () => {
  it('draws the same resamples as the weights path, and countInts the same stream as fillInts', () => {
    const rows = Int32Array.from([3, 4, 8, 11, 12, 20]);
    const byWeights: number[][] = [], byCounts: number[][] = [];
    forEachResample(rows, 25, { samples: 40, seed: 9 }, (_b, w) => byWeights.push(Array.from(rows, (r) => w[r])));
    forEachResampleCounts(rows.length, { samples: 40, seed: 9 }, (_b, c) => byCounts.push(Array.from(c)));
    expect(byCounts).toEqual(byWeights);
    expect(byCounts.every((c) => c.reduce((a, b) => a + b, 0) === rows.length)).toBe(true);

    // countInts against fillInts, for a small and an odd n, and where they leave the stream.
    for (const n of [1, 7, 1000, 2 ** 31 - 1]) {
      const a = createRng(5), b = createRng(5);
      const draws = new Int32Array(Math.min(n, 500) + 3);
      a.fillInts(n, draws);
      const size = Math.min(n, 1 << 20);
      const expected = new Map<number, number>();
      for (const d of draws) expected.set(d, (expected.get(d) ?? 0) + 1);
      if (n > size) continue; // counts must hold every value below n
      const counts = new Int32Array(size);
      b.countInts(n, draws.length, counts);
      for (const [v, c] of expected) expect(counts[v]).toBe(c);
      expect(counts.reduce((s, c) => s + c, 0)).toBe(draws.length);
      expect(b.nextU32()).toBe(a.nextU32());
    }
    expect(() => createRng(1).countInts(10, 5, new Int32Array(9))).toThrow(RangeError);

    // countMapped: the same draws as fillInts, tallied by a class of the drawn index, and the
    // same stream position after.
    for (const n of [1, 7, 1000, 100_003]) {
      const a = createRng(8), b = createRng(8);
      const draws = new Int32Array(3 * n + 5);
      a.fillInts(n, draws);
      const map = Uint16Array.from({ length: n }, (_, i) => (i * 7919) % 13);
      const want = new Int32Array(13);
      for (const d of draws) want[map[d]]++;
      const got = new Int32Array(13);
      b.countMapped(n, draws.length, map, got);
      expect(Array.from(got)).toEqual(Array.from(want));
      expect(b.nextU32()).toBe(a.nextU32());
    }
    expect(() => createRng(1).countMapped(10, 5, new Uint8Array(9), new Int32Array(4))).toThrow(RangeError);

    // The compute/ resamplers with a source that has neither fast path (int only) agree too.
    const slowSource = (seed: number) => { const r = createRng(seed); return { int: (n: number) => r.int(n) }; };
    const w2: number[][] = [], c2: number[][] = [];
    resampleByWeights(rows, 25, 30, slowSource(2), (_b, w) => w2.push(Array.from(rows, (r) => w[r])));
    resampleByCounts(rows.length, 30, slowSource(2), (_b, c) => c2.push(Array.from(c)));
    expect(c2).toEqual(w2);
    const fast: number[][] = [];
    resampleByCounts(rows.length, 30, createRng(2), (_b, c) => fast.push(Array.from(c)));
    expect(fast).toEqual(c2);
  });

  const n = 600, k = 4;
  const rng = createRng(21);
  const y = Int32Array.from({ length: n }, () => rng.int(k));
  const sex = encodeGroupColumn(Array.from({ length: n }, () => (rng.uniform() < 0.05 ? null : rng.uniform() < 0.7 ? 'f' : 'm')));
  const site = encodeGroupColumn(Array.from({ length: n }, () => ['a', 'b', 'c', 'd', 'e'][rng.int(5)]));
  const every = Int32Array.from({ length: n }, (_, i) => i);
  const part = every.filter((i) => i % 3 !== 0);
  const cases: { name: string; opts: MetricOptions; probas: Float32Array[] }[] = [
    { name: 'one seed, no groups', opts: {}, probas: [probabilities(n, k, 1)] },
    { name: 'groups and a positive class, distinct and shared seeds', opts: { groups: { sex, site }, positiveClass: 1, minGroupSize: 20 }, probas: [probabilities(n, k, 2), probabilities(n, k, 3), probabilities(n, k, 2)] },
    { name: 'confident rows (probability exactly 1 and 0)', opts: { groups: { sex } }, probas: [probabilities(n, k, 4, { onehot: [0, 5, 17, 100, 101, 599] })] },
    { name: 'NaN probabilities (the weights path scores that seed)', opts: { groups: { site }, positiveClass: 0 }, probas: [probabilities(n, k, 5, { nan: [7, 300] }), probabilities(n, k, 6)] },
  ];
  for (const { name, opts, probas } of cases) {
    it(`gives the weights path's figures bit for bit: ${name}`, () => {
      const layout = metricLayout(k, opts);
      const scores = probas.map((p) => rowScores(y, p, n, k));
      const fast = classificationScorer(layout, scores);
      const byWeights = { ...classificationScorer(layout, scores), resampler: undefined };
      for (const rows of [every, part]) {
        for (const bootstrap of [{ samples: 300, seed: 0 }, { samples: 7, seed: 123 }]) {
          const a = summariseSeeds(fast, rows, n, bootstrap), b = summariseSeeds(byWeights, rows, n, bootstrap);
          expect(sameBits(a, b)).toEqual([]);
          expect(Number.isFinite(a.accuracy.ci95[0])).toBe(true);
        }
      }
    });
  }

  it('falls back to weights where a row repeats, and agrees with it', () => {
    const layout = metricLayout(k);
    const scorer = classificationScorer(layout, [rowScores(y, probabilities(n, k, 8), n, k)]);
    const repeated = Int32Array.from([1, 2, 2, 3, 5, 5, 5, 9]);
    expect(scorer.resampler!(repeated)).toBeNull();
    expect(scorer.resampler!(Int32Array.from([1, 2, 3]))).not.toBeNull();
    const byWeights = { ...scorer, resampler: undefined };
    expect(sameBits(summariseSeeds(scorer, repeated, n, { samples: 50, seed: 1 }), summariseSeeds(byWeights, repeated, n, { samples: 50, seed: 1 }))).toEqual([]);
  });
});

describe('kernel memory of the gathered scores', () => {
  it('is given back when the resamples are done, also when a seed\'s scores are not finite', () => {
    const n = 300, k = 4;
    const rng = createRng(9);
    const y = Int32Array.from({ length: n }, () => rng.int(k));
    const layout = metricLayout(k);
    const top = () => { const r = acquire(16); r.release(); return r.base; };
    const before = top();
    const scores = [rowScores(y, probabilities(n, k, 1), n, k), rowScores(y, probabilities(n, k, 2, { nan: [5] }), n, k)];
    summariseSeeds(classificationScorer(layout, scores), Int32Array.from({ length: n }, (_, i) => i), n, { samples: 20, seed: 0 });
    expect(top()).toBe(before);
  });
});

describe('the parts bootstrapped on the worker pool', () => {
  it('gives the same summaries on 1, 2 and 3 threads, bit for bit', async () => {
    const { summariseParts, assignParts } = await import('../evaluator/bootstrap-parts.ts');
    const n = 900, k = 3;
    const rng = createRng(5);
    const y = Int32Array.from({ length: n }, () => rng.int(k));
    const g = encodeGroupColumn(Array.from({ length: n }, () => ['u', 'v', null][rng.int(3)]));
    const layout = metricLayout(k, { groups: { g }, positiveClass: 2 });
    const a = rowScores(y, probabilities(n, k, 11), n, k), b = rowScores(y, probabilities(n, k, 12), n, k);
    const scores = [a, b, a];
    const parts = [Int32Array.from({ length: n }, (_, i) => i), Int32Array.from({ length: n / 2 }, (_, i) => 2 * i), Int32Array.from({ length: n / 2 }, (_, i) => 2 * i + 1)];
    const bootstrap = { samples: 200, seed: 3 };
    const one = await summariseParts(layout, scores, parts, n, bootstrap, { threads: 1 });
    for (const threads of [2, 3]) {
      const many = await summariseParts(layout, scores, parts, n, bootstrap, { threads });
      expect(many).toHaveLength(3);
      many.forEach((m, i) => expect(sameBits(m, one[i])).toEqual([]));
    }
    // And what summariseSeeds gives part by part.
    parts.forEach((rows, i) => expect(sameBits(summariseSeeds(classificationScorer(layout, scores), rows, n, bootstrap), one[i])).toEqual([]));
    // The biggest part stays on this thread; the two halves go to the worker.
    expect(assignParts([900, 450, 450], 2)).toEqual([0, 1, 1]);
    expect(assignParts([10, 10], 1)).toEqual([0, 0]);
  });
});
