import { describe, expect, it } from 'vitest';
import {
  allRows, computeMetrics, encodeGroupColumn, groupMetricNotes, evaluateMetrics, metricFamily, metricLayout, rowScores, MISSING_GROUP,
} from '../evaluator/metrics.ts';
import { forEachResample } from '../evaluator/bootstrap.ts';
import { percentileInterval, quantileSorted } from '../compute/stats.ts';
import { classificationScorer, meanAndStd, summariseSeeds } from '../evaluator/aggregate.ts';
import { createRng } from '../compute/rng.ts';

/**
 * Six rows, three classes. Predictions (arg-max) and max probabilities:
 *   row  y  proba               pred  conf  correct  ECE bin (ceil(15·conf) − 1)
 *   r0   0  .70 .20 .10         0     .70   yes      10
 *   r1   0  .30 .62 .08         1     .62   no        9
 *   r2   1  .10 .72 .18         1     .72   yes      10
 *   r3   1  .20 .52 .28         1     .52   yes       7
 *   r4   2  .05 .10 .85         2     .85   yes      12
 *   r5   2  .52 .10 .38         0     .52   no        7
 */
const y3 = Int32Array.from([0, 0, 1, 1, 2, 2]);
const p3 = Float32Array.from([
  0.7, 0.2, 0.1,
  0.3, 0.62, 0.08,
  0.1, 0.72, 0.18,
  0.2, 0.52, 0.28,
  0.05, 0.1, 0.85,
  0.52, 0.1, 0.38,
]);
const f32 = (x: number) => Math.fround(x);

describe('classification metrics, hand-checked', () => {
  const m = evaluateMetrics(y3, p3, 6, 3, { classNames: ['a', 'b', 'c'] });

  it('accuracy, per-class precision / recall / F1, balanced accuracy, macro-F1', () => {
    // Confusion (rows true, cols pred): a: [1,1,0]  b: [0,2,0]  c: [1,0,1]
    expect(m.accuracy).toBeCloseTo(4 / 6, 12);
    // a: TP 1, predicted 2 (r0, r5), support 2 → P .5, R .5, F1 2/(2+2) = .5
    expect(m['precision[a]']).toBeCloseTo(0.5, 12);
    expect(m['recall[a]']).toBeCloseTo(0.5, 12);
    expect(m['f1[a]']).toBeCloseTo(0.5, 12);
    // b: TP 2, predicted 3, support 2 → P 2/3, R 1, F1 4/(2+3) = .8
    expect(m['precision[b]']).toBeCloseTo(2 / 3, 12);
    expect(m['recall[b]']).toBeCloseTo(1, 12);
    expect(m['f1[b]']).toBeCloseTo(0.8, 12);
    // c: TP 1, predicted 1, support 2 → P 1, R .5, F1 2/(2+1) = 2/3
    expect(m['precision[c]']).toBeCloseTo(1, 12);
    expect(m['recall[c]']).toBeCloseTo(0.5, 12);
    expect(m['f1[c]']).toBeCloseTo(2 / 3, 12);
    // balanced accuracy = (.5 + 1 + .5) / 3; macro-F1 = (.5 + .8 + 2/3) / 3 ≈ .655556
    expect(m.balanced_accuracy).toBeCloseTo(2 / 3, 12);
    expect(m.macro_f1).toBeCloseTo((0.5 + 0.8 + 2 / 3) / 3, 12);
  });

  it('log loss is the mean negative log of the true-class probability, each row renormalised (scikit-learn ≥ 1.2)', () => {
    // −(ln .7 + ln .3 + ln .72 + ln .52 + ln .85 + ln .38) / 6 ≈ 0.612197, each p divided by its
    // float32 row's sum (1 up to float32 rounding); the reference-vector tests pin it to scikit-learn.
    const trueP = [0, 1, 2, 3, 4, 5].map((i) => {
      const row = Array.from(p3.subarray(i * 3, i * 3 + 3));
      return row[y3[i]] / row.reduce((a, b) => a + b, 0);
    });
    const expected = -trueP.reduce((s, p) => s + Math.log(p), 0) / 6;
    expect(m.log_loss).toBeCloseTo(expected, 12);
    expect(m.log_loss).toBeCloseTo(0.612197, 5);
  });

  it('ECE over 15 right-closed bins of the max probability', () => {
    // bin 10: r0, r2 → |2 − (.70 + .72)| = .58;  bin 9: r1 → |0 − .62| = .62
    // bin 7: r3, r5 → |1 − (.52 + .52)| = .04;   bin 12: r4 → |1 − .85| = .15
    // ECE = (.58 + .62 + .04 + .15) / 6 = 1.39 / 6 ≈ .231667
    const expected = (Math.abs(2 - f32(0.7) - f32(0.72)) + f32(0.62) + Math.abs(1 - 2 * f32(0.52)) + (1 - f32(0.85))) / 6;
    expect(m.ece).toBeCloseTo(expected, 12);
    expect(m.ece).toBeCloseTo(1.39 / 6, 6);
    // Perfectly confident and always right → ECE 0; always wrong at confidence 1 → ECE 1.
    const sure = evaluateMetrics(Int32Array.from([0, 1]), Float32Array.from([1, 0, 0, 1]), 2, 2);
    expect(sure.ece).toBe(0);
    const wrong = evaluateMetrics(Int32Array.from([1, 0]), Float32Array.from([1, 0, 0, 1]), 2, 2);
    expect(wrong.ece).toBe(1);
    // Log loss clips p = 0 at float64's eps (scikit-learn ≥ 1.2): −ln(2^-52) ≈ 36.0437.
    expect(wrong.log_loss).toBe(-Math.log(2 ** -52));
  });

  it('per-group and worst-group accuracy; a missing value is its own group', () => {
    const sex = encodeGroupColumn(['f', 'f', 'm', 'm', null, 'f']);
    expect(sex.names).toEqual(['f', 'm', MISSING_GROUP]);
    // minGroupSize 1: every present group is judged (the default of 30 would judge none here).
    const g = evaluateMetrics(y3, p3, 6, 3, { groups: { sex }, minGroupSize: 1 });
    // f: r0 ✓ r1 ✗ r5 ✗ → 1/3;  m: r2 ✓ r3 ✓ → 1;  missing: r4 ✓ → 1
    expect(g['group_accuracy[sex=f]']).toBeCloseTo(1 / 3, 12);
    expect(g['group_accuracy[sex=m]']).toBe(1);
    expect(g[`group_accuracy[sex=${MISSING_GROUP}]`]).toBe(1);
    expect(g['worst_group_accuracy[sex]']).toBeCloseTo(1 / 3, 12);
    // No positive class given → no demographic parity / equalized odds.
    expect('demographic_parity_gap[sex]' in g).toBe(false);
    // Positive class b (one-vs-rest): predicted-b rate f 1/3 (r1), m 1 (r2, r3), missing 0 (r4)
    // → DP gap 1. TPR: only m has true b rows, so no TPR range can be formed and the
    // equalized-odds difference is not judged (NaN), though FPR f 1/3, missing 0 gives 1/3.
    const h = evaluateMetrics(y3, p3, 6, 3, { groups: { sex }, positiveClass: 1, minGroupSize: 1 });
    expect(h['demographic_parity_gap[sex]']).toBeCloseTo(1, 12);
    expect(h['equalized_odds_difference[sex]']).toBeNaN();
  });

  it('demographic parity and equalized odds on a binary task', () => {
    // group A rows 0-3, B rows 4-7
    const y = Int32Array.from([1, 1, 0, 0, 1, 0, 0, 0]);
    const pred = [1, 0, 1, 0, 1, 0, 0, 0];
    const proba = Float32Array.from(pred.flatMap((p) => (p === 1 ? [0.2, 0.8] : [0.9, 0.1])));
    const grp = encodeGroupColumn(['A', 'A', 'A', 'A', 'B', 'B', 'B', 'B']);
    const m2 = evaluateMetrics(y, proba, 8, 2, { groups: { grp }, positiveClass: 1, minGroupSize: 1 });
    // positive rate A 2/4, B 1/4 → DP .25
    expect(m2['demographic_parity_gap[grp]']).toBeCloseTo(0.25, 12);
    // TPR A 1/2, B 1/1 → .5; FPR A 1/2, B 0/3 → .5; EO .5
    expect(m2['equalized_odds_difference[grp]']).toBeCloseTo(0.5, 12);
    // accuracy A: r0 ✓ r1 ✗ r2 ✗ r3 ✓ = .5; B all ✓
    expect(m2['group_accuracy[grp=A]']).toBe(0.5);
    expect(m2['worst_group_accuracy[grp]']).toBe(0.5);
    // With class 0 as positive: predicted-0 rate A 2/4, B 3/4 → .25; TPR(0) A 1/2 (r3 of r2,r3),
    // B 1 (r5..r7) → .5; FPR(0) A 1/2 (r1), B 0 → .5.
    const m0 = evaluateMetrics(y, proba, 8, 2, { groups: { grp }, positiveClass: 0, minGroupSize: 1 });
    expect(m0['demographic_parity_gap[grp]']).toBeCloseTo(0.25, 12);
    expect(m0['equalized_odds_difference[grp]']).toBeCloseTo(0.5, 12);
  });

  it('judges a rate only where its denominator reaches minGroupSize, and says why', () => {
    // Binary, positive class 1. Group A: 40 rows, 10 positives (TPR 0.5), 30 negatives (FPR 0.2);
    // B: 35 rows, 31 positives (TPR 0.8), 4 negatives (FPR 0.75); C: 5 rows, all negative.
    const y: number[] = [], pred: number[] = [], grp: string[] = [];
    const add = (g: string, label: number, predicted: number, times: number) => {
      for (let i = 0; i < times; i++) { y.push(label); pred.push(predicted); grp.push(g); }
    };
    add('A', 1, 1, 5); add('A', 1, 0, 5); add('A', 0, 1, 6); add('A', 0, 0, 24);
    add('B', 1, 1, 25); add('B', 1, 0, 6); add('B', 0, 1, 3); add('B', 0, 0, 1);
    add('C', 0, 1, 5);
    const n = y.length;
    const proba = Float32Array.from(pred.flatMap((p) => (p === 1 ? [0.2, 0.8] : [0.9, 0.1])));
    const groups = { grp: encodeGroupColumn(grp) };
    const opts = { groups, positiveClass: 1, minGroupSize: 30 };
    const m = evaluateMetrics(Int32Array.from(y), proba, n, 2, opts);
    // Selection rate A 11/40, B 28/35 (C: 5 rows, too small) → DP .8 − .275.
    expect(m['demographic_parity_gap[grp]']).toBeCloseTo(28 / 35 - 11 / 40, 12);
    // Accuracy A 29/40, B 26/35; C (0/5) is too small to be the worst group.
    expect(m['worst_group_accuracy[grp]']).toBeCloseTo(29 / 40, 12);
    expect(m['group_accuracy[grp=C]']).toBe(0);
    // TPR: only B has ≥ 30 positives → no TPR range → equalized odds not judged.
    expect(m['equalized_odds_difference[grp]']).toBeNaN();
    // With 10: TPR A .5, B 25/31 (C has no positives); FPR only A (30 negatives) → still NaN;
    // with 4: FPR A .2, B .75, C 1 → EO = max(25/31 − .5, 1 − .2).
    expect(evaluateMetrics(Int32Array.from(y), proba, n, 2, { ...opts, minGroupSize: 10 })['equalized_odds_difference[grp]']).toBeNaN();
    expect(evaluateMetrics(Int32Array.from(y), proba, n, 2, { ...opts, minGroupSize: 4 })['equalized_odds_difference[grp]']).toBeCloseTo(0.8, 12);
    const notes = groupMetricNotes(rowScores(Int32Array.from(y), proba, n, 2), metricLayout(2, opts), allRows(n));
    expect(notes['group_accuracy[grp=C]']).toBe('too small to judge: 5 rows (< 30)');
    expect(notes['group_accuracy[grp=A]']).toBeUndefined();
    expect(notes['equalized_odds_difference[grp]']).toMatch(/^positive class 1; not judged: fewer than 2 grp groups with ≥ 30 positives/);
    expect(notes['demographic_parity_gap[grp]']).toBe('positive class 1; over the 2 groups with ≥ 30 rows; too small: C (5 rows)');
    // Intervals: the judged set is fixed on the unweighted rows, and every interval holds its mean.
    const layout = metricLayout(2, opts);
    const res = summariseSeeds(classificationScorer(layout, [rowScores(Int32Array.from(y), proba, n, 2)]), allRows(n), n, { samples: 300, seed: 2 });
    for (const [name, r] of Object.entries(res)) {
      if (!Number.isFinite(r.mean)) { expect(r.ci95[0], name).toBeNaN(); continue; }
      expect(r.ci95[0], name).toBeLessThanOrEqual(r.mean);
      expect(r.ci95[1], name).toBeGreaterThanOrEqual(r.mean);
    }
    expect(res['group_accuracy[grp=C]'].note).toBe('too small to judge: 5 rows (< 30)');
  });

  it('follows scikit-learn for classes that never occur (zero_division = 0)', () => {
    // k = 3, class 2 neither true nor predicted: its P/R/F1 are 0 and it is left out of
    // balanced accuracy and macro-F1. Rows: y 0,1,1 pred 0,0,1.
    const y = Int32Array.from([0, 1, 1]);
    const proba = Float32Array.from([0.9, 0.05, 0.05, 0.6, 0.3, 0.1, 0.2, 0.7, 0.1]);
    const m0 = evaluateMetrics(y, proba, 3, 3);
    expect(m0['f1[2]']).toBe(0);
    expect(m0['precision[2]']).toBe(0);
    // class 0: P 1/2, R 1 → F1 2/3; class 1: P 1, R 1/2 → F1 2/3
    expect(m0.macro_f1).toBeCloseTo(2 / 3, 12);
    expect(m0.balanced_accuracy).toBeCloseTo(0.75, 12);
  });

  it('ties go to the lowest class index; names have families', () => {
    const m1 = evaluateMetrics(Int32Array.from([0]), Float32Array.from([0.5, 0.5]), 1, 2);
    expect(m1.accuracy).toBe(1);
    expect(metricFamily('f1[Coat]')).toBe('f1');
    expect(metricFamily('worst_group_accuracy[sex]')).toBe('worst_group_accuracy');
    expect(metricFamily('accuracy')).toBe('accuracy');
  });

  it('weights count rows that many times; absent groups give NaN', () => {
    const sex = encodeGroupColumn(['f', 'f', 'm', 'm', null, 'f']);
    const layout = metricLayout(3, { groups: { sex }, minGroupSize: 1 });
    const s = rowScores(y3, p3, 6, 3);
    const out = new Float64Array(layout.names.length);
    // r0 ×3, r1 ×1 (both class a, only f): accuracy 3/4, f acc 3/4, m absent → NaN
    const w = Int32Array.from([3, 1, 0, 0, 0, 0]);
    computeMetrics(s, layout, allRows(6), w, out);
    const at = (name: string) => out[layout.names.indexOf(name)];
    expect(at('accuracy')).toBe(0.75);
    expect(at('group_accuracy[sex=f]')).toBe(0.75);
    expect(at('group_accuracy[sex=m]')).toBeNaN();
    expect(at('worst_group_accuracy[sex]')).toBe(0.75);
    // Same as duplicating rows explicitly.
    const dup = evaluateMetrics(Int32Array.from([0, 0, 0, 0]), Float32Array.from([...p3.slice(0, 3), ...p3.slice(0, 3), ...p3.slice(0, 3), ...p3.slice(3, 6)]), 4, 3);
    expect(at('log_loss')).toBeCloseTo(dup.log_loss, 12);
    expect(at('ece')).toBeCloseTo(dup.ece, 12);
  });

  it('rejects shapes and codes that do not fit', () => {
    expect(() => rowScores(Int32Array.from([0, 3]), new Float32Array(6), 2, 3)).toThrow(/outside/);
    expect(() => rowScores(Int32Array.from([0]), new Float32Array(6), 2, 3)).toThrow(/rows/);
    expect(() => metricLayout(2, { positiveClass: 2 })).toThrow(/positive class/);
    expect(() => metricLayout(2, { groups: { g: { codes: Int32Array.from([0, 5]), names: ['x'] } } })).toThrow(/code 5/);
  });
});

describe('bootstrap and aggregation', () => {
  it('quantiles interpolate linearly like numpy', () => {
    const v = Float64Array.from([1, 2, 3, 4]);
    expect(quantileSorted(v, 0.25)).toBe(1.75);
    expect(quantileSorted(v, 0.975)).toBeCloseTo(3.925, 12);
    const [lo, hi] = percentileInterval(Float64Array.from([NaN, 4, 1, 3, 2, NaN]));
    expect(lo).toBeCloseTo(1.075, 12);
    expect(hi).toBeCloseTo(3.925, 12);
  });

  it('resamples draw the scored rows with replacement, deterministically', () => {
    const rows = Int32Array.from([2, 5, 7, 9]);
    const seen: number[][] = [];
    forEachResample(rows, 12, { samples: 50, seed: 3 }, (_b, w) => {
      let sum = 0;
      for (let i = 0; i < 12; i++) { sum += w[i]; if (!rows.includes(i)) expect(w[i]).toBe(0); }
      expect(sum).toBe(4);
      seen.push(Array.from(w));
    });
    const again: number[][] = [];
    forEachResample(rows, 12, { samples: 50, seed: 3 }, (_b, w) => again.push(Array.from(w)));
    expect(again).toEqual(seen);
    const other: number[][] = [];
    forEachResample(rows, 12, { samples: 50, seed: 4 }, (_b, w) => other.push(Array.from(w)));
    expect(other).not.toEqual(seen);
  });

  it('sample std over seeds (ddof 1), 0 for one seed', () => {
    expect(meanAndStd([0.8, 0.9]).std).toBeCloseTo(Math.sqrt(0.005), 12);
    expect(meanAndStd([0.8])).toEqual({ mean: 0.8, std: 0 });
  });

  it('the accuracy interval has the binomial width and covers the mean', () => {
    // 2,000 rows, each right with probability .8 → CI half-width ≈ 1.96·√(.16/2000) ≈ .0175
    const n = 2000, rng = createRng(11);
    const y = new Int32Array(n);
    const proba = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      y[i] = rng.int(2);
      const right = rng.uniform() < 0.8;
      const p = right ? y[i] : 1 - y[i];
      proba[i * 2 + p] = 0.9; proba[i * 2 + 1 - p] = 0.1;
    }
    const layout = metricLayout(2);
    const scorer = classificationScorer(layout, [rowScores(y, proba, n, 2)]);
    const res = summariseSeeds(scorer, allRows(n), n, { samples: 1000, seed: 0 });
    const acc = res.accuracy;
    expect(acc.per_seed).toHaveLength(1);
    expect(acc.std).toBe(0);
    expect(acc.ci95[0]).toBeLessThan(acc.mean);
    expect(acc.ci95[1]).toBeGreaterThan(acc.mean);
    const half = (acc.ci95[1] - acc.ci95[0]) / 2;
    const expected = 1.96 * Math.sqrt((acc.mean * (1 - acc.mean)) / n);
    expect(Math.abs(half - expected) / expected).toBeLessThan(0.15);
    // Bit-identical on a second run.
    expect(summariseSeeds(scorer, allRows(n), n, { samples: 1000, seed: 0 })).toEqual(res);
  });

  it('averages seeds inside each resample', () => {
    // Seed 0 predicts everything right, seed 1 everything wrong: every resample's mean
    // accuracy is exactly .5, so the interval collapses to [.5, .5].
    const y = Int32Array.from([0, 1, 0, 1, 1]);
    const right = Float32Array.from(Array.from(y).flatMap((c) => (c === 0 ? [1, 0] : [0, 1])));
    const wrong = Float32Array.from(Array.from(y).flatMap((c) => (c === 0 ? [0, 1] : [1, 0])));
    const layout = metricLayout(2);
    const scorer = classificationScorer(layout, [rowScores(y, right, 5, 2), rowScores(y, wrong, 5, 2)]);
    const res = summariseSeeds(scorer, allRows(5), 5, { samples: 200, seed: 1 });
    expect(res.accuracy.per_seed).toEqual([1, 0]);
    expect(res.accuracy.mean).toBe(0.5);
    expect(res.accuracy.std).toBeCloseTo(Math.SQRT1_2, 12);
    expect(res.accuracy.ci95).toEqual([0.5, 0.5]);
  });

  it('seeds with identical predictions are computed once per resample, with bit-identical summaries', () => {
    const n = 300, k = 3;
    const rng = createRng(11);
    const y = new Int32Array(n);
    const probaOf = () => {
      const p = new Float32Array(n * k);
      for (let i = 0; i < n * k; i++) p[i] = 0.05 + rng.uniform();
      return p;
    };
    for (let i = 0; i < n; i++) y[i] = rng.int(k);
    const a = probaOf(), b = probaOf();
    // Seeds 0, 2, 3 share predictions (2 as a copy, 3 as the same object), seed 1 differs.
    const scores = [rowScores(y, a, n, k), rowScores(y, b, n, k), rowScores(y, Float32Array.from(a), n, k)];
    scores.push(scores[0]);
    const layout = metricLayout(k);
    const shared = classificationScorer(layout, scores);
    expect(shared.firstIdentical).toEqual([0, 1, 0, 0]);
    let calls = 0;
    // By weights (no resampler), so that every metric computation is a compute() call.
    const counted = { ...shared, resampler: undefined, compute: (...args: Parameters<typeof shared.compute>) => { calls++; shared.compute(...args); } };
    // The same scorer with every seed computed on its own: what summariseSeeds did before.
    const separate = { ...shared, firstIdentical: undefined };
    const bootstrap = { samples: 200, seed: 4 };
    const rows = Int32Array.from({ length: 200 }, (_, i) => i + 50);
    const res = summariseSeeds(counted, rows, n, bootstrap);
    expect(calls).toBe(2 * (1 + 200));
    expect(res).toEqual(summariseSeeds(separate, rows, n, bootstrap));
    for (const name of layout.names) {
      expect(Object.is(res[name].mean, summariseSeeds(separate, rows, n, bootstrap)[name].mean)).toBe(true);
    }
    expect(res.accuracy.per_seed[0]).toBe(res.accuracy.per_seed[2]);
    // A malformed firstIdentical is refused rather than silently mis-averaged.
    expect(() => summariseSeeds({ ...shared, firstIdentical: [0, 0, 1, 0] }, rows, n, bootstrap)).toThrow(/firstIdentical/);
  });
});
