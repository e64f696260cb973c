import { describe, expect, it } from 'vitest';
import {
  evaluateRanking, evaluateRelabel, evaluateSelection, encodeGroupColumn, EvaluatorInputError,
  type ModelSpec, type PoolInput, type TestInput,
} from '../evaluator/index.ts';
import { createRng } from '../compute/rng.ts';
import { assignJobs } from '../evaluator/protocols/jobs.ts';
import { planCurve, splitFits, PointAction, type SegmentJob } from '../evaluator/protocols/curve.ts';

/** Gaussian blobs: class c centred at `sep`·e_c in d dimensions, unit noise. */
function blobs(n: number, d: number, k: number, sep: number, seed: number): { X: Float32Array; y: Int32Array } {
  const rng = createRng(seed);
  const X = new Float32Array(n * d), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % k;
    y[i] = c;
    for (let j = 0; j < d; j++) X[i * d + j] = rng.normal() + (j === c ? sep : 0);
  }
  return { X, y };
}

const spec: ModelSpec = { kind: 'logistic-regression', params: { l2: 1, max_iter: 200, tol: 1e-6 }, seeds: [0, 1] };
const boot = { samples: 200, seed: 5 };

describe('selection protocol', () => {
  it('a perfectly separable subset scores 1.0 on separable test data', async () => {
    const pool = blobs(300, 4, 3, 12, 1), test = blobs(600, 4, 3, 12, 2);
    const out = await evaluateSelection({
      spec, pool: { ...pool, n: 300, d: 4, k: 3 }, subset: Int32Array.from({ length: 30 }, (_, i) => i * 7),
      test: { X: test.X, n: 600, y: test.y }, bootstrap: boot,
    });
    expect(out.metrics.accuracy.per_seed).toEqual([1, 1]);
    expect(out.metrics.accuracy.ci95).toEqual([1, 1]);
    expect(out.metrics.macro_f1.mean).toBe(1);
    expect(out.train.rows).toBe(30);
    expect(out.train.class_counts.reduce((a, b) => a + b, 0)).toBe(30);
    expect(out.seeds).toEqual([0, 1]);
  });

  it('scores the same set the same regardless of order, bit for bit, and per part', async () => {
    const pool = blobs(400, 6, 4, 2, 3), test = blobs(500, 6, 4, 2, 4);
    const sex = encodeGroupColumn(Array.from({ length: 500 }, (_, i) => (i % 3 === 0 ? 'f' : i % 3 === 1 ? 'm' : null)));
    const parts = { public: Int32Array.from({ length: 250 }, (_, i) => 2 * i), private: Int32Array.from({ length: 250 }, (_, i) => 2 * i + 1) };
    const subset = Int32Array.from({ length: 200 }, (_, i) => (i * 37) % 400);
    const input = {
      spec, pool: { ...pool, n: 400, d: 6, k: 4 }, test: { X: test.X, n: 500, y: test.y, groups: { sex } } as TestInput,
      bootstrap: boot, parts, positiveClass: 1,
    };
    const a = await evaluateSelection({ ...input, subset });
    const b = await evaluateSelection({ ...input, subset: subset.slice().reverse() });
    expect(b.metrics).toEqual(a.metrics);
    expect(b.parts).toEqual(a.parts);
    // A moderately hard problem: accuracy strictly between chance and 1.
    expect(a.metrics.accuracy.mean).toBeGreaterThan(0.5);
    expect(a.metrics.accuracy.mean).toBeLessThan(1);
    expect(a.metrics['worst_group_accuracy[sex]']).toBeDefined();
    expect(a.metrics['demographic_parity_gap[sex]']).toBeDefined();
    // The whole-test accuracy is the row-weighted mean of the two halves.
    const whole = a.metrics.accuracy.per_seed[0];
    expect((a.parts.public.accuracy.per_seed[0] + a.parts.private.accuracy.per_seed[0]) / 2).toBeCloseTo(whole, 12);
    expect(a.parts.public.accuracy.ci95[0]).toBeLessThanOrEqual(a.parts.public.accuracy.mean);
  });

  it('rejects duplicate and out-of-range rows with the first offenders', async () => {
    const pool = blobs(50, 2, 2, 3, 1), test = blobs(20, 2, 2, 3, 2);
    const base = { spec, pool: { ...pool, n: 50, d: 2, k: 2 }, test: { X: test.X, n: 20, y: test.y } };
    await expect(evaluateSelection({ ...base, subset: Int32Array.from([1, 2, 2]) })).rejects.toThrow(/distinct/);
    await expect(evaluateSelection({ ...base, subset: Int32Array.from([1, 50]) })).rejects.toThrow(EvaluatorInputError);
    await expect(evaluateSelection({ ...base, subset: new Int32Array(0) })).rejects.toThrow(/no rows/);
    try {
      await evaluateSelection({ ...base, subset: Int32Array.from([3, 3, 4, 4]) });
    } catch (e) {
      expect((e as EvaluatorInputError).examples).toEqual(['position 1: row 3', 'position 3: row 4']);
      expect((e as EvaluatorInputError).count).toBe(2);
    }
  });
});

/** A pool whose noise hurts: 60% of class-0 rows labelled 1, so the noisy model calls class 0 "1". */
function noisyProblem() {
  const n = 300, d = 3, k = 3;
  const pool = blobs(n, d, k, 4, 11), test = blobs(900, d, k, 4, 12);
  const clean = pool.y;
  const noisy = Int32Array.from(clean);
  const rng = createRng(13);
  for (let i = 0; i < n; i++) if (clean[i] === 0 && rng.uniform() < 0.6) noisy[i] = 1;
  const noisyRows: number[] = [], cleanRows: number[] = [];
  for (let i = 0; i < n; i++) (noisy[i] !== clean[i] ? noisyRows : cleanRows).push(i);
  const poolInput: PoolInput = { X: pool.X, n, d, y: noisy, k };
  const testInput: TestInput = { X: test.X, n: 900, y: test.y };
  return { poolInput, testInput, clean, noisy, noisyRows, cleanRows };
}

describe('relabel protocol', () => {
  it('fixing all injected noise reaches the clean-pool accuracy exactly', async () => {
    const { poolInput, testInput, clean, noisyRows } = noisyProblem();
    const fixed = await evaluateRelabel({
      spec, pool: poolInput, test: testInput, bootstrap: boot,
      corrections: { rows: Int32Array.from(noisyRows), labels: Int32Array.from(noisyRows.map((r) => clean[r])) },
    });
    const cleanPool = await evaluateRelabel({
      spec, pool: { ...poolInput, y: clean }, test: testInput, bootstrap: boot, corrections: { rows: new Int32Array(0), labels: new Int32Array(0) },
    });
    const untouched = await evaluateRelabel({
      spec, pool: poolInput, test: testInput, bootstrap: boot, corrections: { rows: new Int32Array(0), labels: new Int32Array(0) },
    });
    expect(fixed.changed).toBe(noisyRows.length);
    expect(fixed.metrics).toEqual(cleanPool.metrics);
    expect(fixed.metrics.accuracy.mean).toBeGreaterThan(untouched.metrics.accuracy.mean + 0.1);
  });

  it('rejects corrections with a class outside the class set', async () => {
    const { poolInput, testInput } = noisyProblem();
    await expect(evaluateRelabel({
      spec, pool: poolInput, test: testInput, corrections: { rows: Int32Array.from([0, 1]), labels: Int32Array.from([1, 3]) },
    })).rejects.toThrow(/class indices in \[0, 3\)/);
  });
});

describe('ranking protocol', () => {
  const rankSpec: ModelSpec = { kind: 'logistic-regression', params: { l2: 1, max_iter: 200, tol: 1e-6 }, seeds: [0] };

  it('the perfect order beats the reverse order; endpoints equal the noisy and clean pools exactly', async () => {
    const { poolInput, testInput, clean, noisyRows, cleanRows } = noisyProblem();
    const perfect = Int32Array.from([...noisyRows, ...cleanRows]);
    const reverse = Int32Array.from([...cleanRows, ...noisyRows]);
    const base = { spec: rankSpec, pool: poolInput, cleanLabels: clean, test: testInput, bootstrap: boot };
    const good = await evaluateRanking({ ...base, order: perfect });
    const bad = await evaluateRanking({ ...base, order: reverse });

    const noisyScore = await evaluateSelection({ spec: rankSpec, pool: poolInput, subset: Int32Array.from({ length: 300 }, (_, i) => i), test: testInput, bootstrap: boot });
    const cleanScore = await evaluateSelection({ spec: rankSpec, pool: { ...poolInput, y: clean }, subset: Int32Array.from({ length: 300 }, (_, i) => i), test: testInput, bootstrap: boot });
    for (const r of [good, bad]) {
      expect(r.curve.k[0]).toBe(0);
      expect(r.curve.k.at(-1)).toBe(300);
      expect(r.curve.k).toHaveLength(301);
      expect(r.curve.accuracy[0]).toBe(noisyScore.metrics.accuracy.mean);
      expect(r.curve.accuracy.at(-1)).toBe(cleanScore.metrics.accuracy.mean);
      expect(r.metrics.noisy_accuracy.mean).toBe(noisyScore.metrics.accuracy.mean);
      expect(r.metrics.clean_accuracy.mean).toBe(cleanScore.metrics.accuracy.mean);
      expect(r.ranking.noisy_rows).toBe(noisyRows.length);
      expect(r.ranking.noisy_fixed).toBe(noisyRows.length);
    }
    // The noise really hurts, so the 95% mark is not reached at k = 0.
    expect(noisyScore.metrics.accuracy.mean).toBeLessThan(0.95 * cleanScore.metrics.accuracy.mean);
    expect(good.metrics.fraction_to_95.mean).toBeLessThan(bad.metrics.fraction_to_95.mean);
    expect(good.metrics.fraction_to_95.mean).toBeLessThanOrEqual(noisyRows.length / 300);
    expect(bad.metrics.fraction_to_95.mean).toBeGreaterThan(cleanRows.length / 300);
    expect(good.metrics.auc.mean).toBeGreaterThan(bad.metrics.auc.mean);
    // The reverse order fixes only clean rows first: no refits until the noisy rows start.
    const firstNoisyPoint = cleanRows.length;
    expect(new Set(bad.curve.accuracy.slice(0, firstNoisyPoint + 1)).size).toBe(1);
    // Only label-changing steps are refitted: one cold start per segment plus the clean pool.
    expect(good.fits.cold + good.fits.warm).toBeLessThanOrEqual(noisyRows.length + 2);
    // fraction_to_95 is a grid fraction; auc is in (0, ~1].
    expect(good.curve.fraction).toContain(good.metrics.fraction_to_95.mean);
    expect(good.metrics.auc.ci95[0]).toBeLessThanOrEqual(good.metrics.auc.mean);
    expect(good.metrics.auc.ci95[1]).toBeGreaterThanOrEqual(good.metrics.auc.mean);
  });

  it('the area and the 95% fraction follow their definitions on the reported curve', async () => {
    const { poolInput, testInput, clean } = noisyProblem();
    const order = createRng(21).permutation(300);
    const r = await evaluateRanking({ spec: rankSpec, pool: poolInput, cleanLabels: clean, order, test: testInput, bootstrap: boot, step: 10 });
    const { fraction, accuracy } = r.curve;
    expect(r.curve.k).toEqual(Array.from({ length: 31 }, (_, i) => i * 10));
    const cleanAcc = r.metrics.clean_accuracy.mean;
    let area = 0;
    for (let p = 1; p < fraction.length; p++) area += (fraction[p] - fraction[p - 1]) * (accuracy[p] + accuracy[p - 1]) / 2;
    expect(r.metrics.auc.mean).toBeCloseTo(area / cleanAcc, 12);
    const first = fraction[accuracy.findIndex((a) => a >= 0.95 * cleanAcc)];
    expect(r.metrics.fraction_to_95.mean).toBe(first);
  });

  it('a prefix ranking stays flat after its last row and leaves the rest noisy', async () => {
    const { poolInput, testInput, clean, noisyRows } = noisyProblem();
    const prefix = Int32Array.from(noisyRows.slice(0, 10));
    const r = await evaluateRanking({ spec: rankSpec, pool: poolInput, cleanLabels: clean, order: prefix, test: testInput, bootstrap: boot });
    expect(r.curve.k.at(-1)).toBe(10);
    expect(r.ranking.noisy_fixed).toBe(10);
    const last = r.curve.accuracy.at(-1)!, x = r.curve.fraction.at(-1)!;
    let area = 0;
    for (let p = 1; p < r.curve.k.length; p++) area += (r.curve.fraction[p] - r.curve.fraction[p - 1]) * (r.curve.accuracy[p] + r.curve.accuracy[p - 1]) / 2;
    area += (1 - x) * last;
    expect(r.metrics.auc.mean).toBeCloseTo(area / r.metrics.clean_accuracy.mean, 12);
    expect(r.metrics.final_accuracy.mean).toBe(last);
  });

  it('warm starts match cold refits closely and repeat bit for bit', async () => {
    const { poolInput, testInput, clean } = noisyProblem();
    const order = createRng(8).permutation(300);
    const base = { spec: rankSpec, pool: poolInput, cleanLabels: clean, order, test: testInput, bootstrap: boot };
    const warm = await evaluateRanking(base);
    const again = await evaluateRanking(base);
    const cold = await evaluateRanking({ ...base, cold: true });
    expect(again.curve).toEqual(warm.curve);
    expect(again.metrics).toEqual(warm.metrics);
    expect(warm.fits.warm).toBeGreaterThan(0);
    expect(cold.fits.warm).toBe(0);
    let maxDiff = 0;
    for (let p = 0; p < warm.curve.accuracy.length; p++) maxDiff = Math.max(maxDiff, Math.abs(warm.curve.accuracy[p] - cold.curve.accuracy[p]));
    // 900 test rows: at most a couple of borderline rows may land differently.
    expect(maxDiff).toBeLessThanOrEqual(3 / 900);
    // One segment or two: same definition up to solver tolerance.
    const one = await evaluateRanking({ ...base, segments: 1 });
    expect(one.ranking.segments).toBe(1);
    expect(Math.abs(one.metrics.auc.mean - warm.metrics.auc.mean)).toBeLessThan(2e-3);
  });

  it('refits models without a unique optimum (MLP) cold at every point', async () => {
    const { poolInput, testInput, clean, noisyRows } = noisyProblem();
    const mlp: ModelSpec = { kind: 'mlp', params: { hidden: 8, epochs: 5 }, seeds: [3] };
    const order = Int32Array.from(noisyRows.slice(0, 6));
    const r = await evaluateRanking({ spec: mlp, pool: poolInput, cleanLabels: clean, order, test: testInput, bootstrap: boot });
    expect(r.fits.warm).toBe(0);
    // Each point is exactly the cold fit on its labels: check the last one.
    const fixed = Int32Array.from(poolInput.y);
    for (const row of order) fixed[row] = clean[row];
    const cold = await evaluateSelection({ spec: mlp, pool: { ...poolInput, y: fixed }, subset: Int32Array.from({ length: 300 }, (_, i) => i), test: testInput, bootstrap: boot });
    expect(r.curve.accuracy.at(-1)).toBe(cold.metrics.accuracy.mean);
  });

  it('worker threads give bit-identical results to this thread', async () => {
    const { poolInput, testInput, clean } = noisyProblem();
    const order = createRng(9).permutation(300);
    const base = { spec: rankSpec, pool: poolInput, cleanLabels: clean, order, test: testInput, bootstrap: boot };
    const counter = () => {
      const c = { total: 0, ticks: 0, start(t: number) { c.total = t; }, tick(u = 1) { c.ticks += u; }, stop() {} };
      return c;
    };
    const p1 = counter(), p2 = counter();
    const inline = await evaluateRanking({ ...base, threads: 1, progress: p1 });
    const threaded = await evaluateRanking({ ...base, threads: 2, progress: p2 });
    expect(threaded.curve).toEqual(inline.curve);
    expect(threaded.metrics).toEqual(inline.metrics);
    // Progress counts every fit, from workers too.
    for (const p of [p1, p2]) {
      expect(p.ticks).toBe(inline.fits.cold + inline.fits.warm);
      expect(p.total).toBe(p.ticks);
    }
    const sel = { spec, pool: poolInput, subset: Int32Array.from({ length: 150 }, (_, i) => 2 * i), test: testInput, bootstrap: boot };
    const a = await evaluateSelection({ ...sel, threads: 1 });
    const b = await evaluateSelection({ ...sel, threads: 2 });
    expect(b.metrics).toEqual(a.metrics);
  });

  it('rejects bad rankings; no resamples means no interval', async () => {
    const { poolInput, testInput, clean } = noisyProblem();
    await expect(evaluateRanking({ spec: rankSpec, pool: poolInput, cleanLabels: clean, order: Int32Array.from([1, 1]), test: testInput }))
      .rejects.toThrow(/distinct/);
    await expect(evaluateRanking({ spec: rankSpec, pool: poolInput, cleanLabels: clean, order: Int32Array.from([1]), test: testInput, step: 0 }))
      .rejects.toThrow(/step/);
    await expect(evaluateRanking({ spec: rankSpec, pool: poolInput, cleanLabels: clean.subarray(1), order: Int32Array.from([1]), test: testInput }))
      .rejects.toThrow(/labels/);
    const r = await evaluateRanking({ spec: rankSpec, pool: poolInput, cleanLabels: clean, order: Int32Array.from([0, 1]), test: testInput, bootstrap: { samples: 0, seed: 0 } });
    expect(r.metrics.auc.ci95.every(Number.isNaN)).toBe(true);
    expect(Number.isFinite(r.metrics.auc.mean)).toBe(true);
  });
});

describe('curve planning and job assignment', () => {
  it('refits only where a label changed, and uses the clean fit once every noisy row is fixed', () => {
    // Rows 1 and 3 are noisy. Order fixes 0 (clean), 1 (noisy), 2 (clean), 3 (noisy), 4.
    const noisy = Int32Array.from([0, 1, 1, 0, 1]);
    const clean = Int32Array.from([0, 0, 1, 1, 1]);
    const plan = planCurve(noisy, clean, Int32Array.from([0, 1, 2, 3, 4]), 1);
    expect(Array.from(plan.gridK)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(plan.action)).toEqual([PointAction.Start, PointAction.Same, PointAction.Fit, PointAction.Same, PointAction.Clean, PointAction.Clean]);
    expect(Array.from(plan.fitPoints)).toEqual([2]);
    expect([plan.noisyRows, plan.noisyFixed]).toEqual([2, 2]);
    // Step 2: points k = 0, 2, 4, 5.
    const coarse = planCurve(noisy, clean, Int32Array.from([0, 1, 2, 3, 4]), 2);
    expect(Array.from(coarse.gridK)).toEqual([0, 2, 4, 5]);
    expect(Array.from(coarse.action)).toEqual([PointAction.Start, PointAction.Fit, PointAction.Clean, PointAction.Clean]);
    // Chains: point 0 plus the fit points, split as evenly as possible.
    const many = planCurve(Int32Array.from([1, 1, 1, 1, 1, 0]), new Int32Array(6), Int32Array.from([0, 1, 2, 3, 4, 5]), 1);
    expect(splitFits(many, 2).map((c) => Array.from(c))).toEqual([[0, 1], [2, 3, 4]]);
  });

  it('gives this thread the longest job and balances the rest, workers paying a start-up cost', () => {
    const job = (fits: number, cold = false) => ({ fixOffsets: new Int32Array(fits), cold }) as unknown as SegmentJob;
    // costs: 5 + (fits − 1) warm; cold: 5 per fit
    // 104, 104, 5: this thread 104, the worker 30 + 104 = 134, the small job here (109).
    const jobs = [job(100), job(100), job(1)];
    expect(assignJobs(jobs, 2)).toEqual([0, 1, 0]);
    // Two short jobs do not repay starting a worker (5 + 5 < 30 + 5).
    expect(assignJobs([job(2), job(2)], 2)).toEqual([0, 0]);
    // Three cold chains of 200 units each: one per thread.
    expect(assignJobs([job(40, true), job(40, true), job(40, true)], 3)).toEqual([0, 1, 2]);
  });
});
