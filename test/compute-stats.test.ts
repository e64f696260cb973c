/**
 * compute/stats.ts and compute/group-metrics.ts: quantiles, the normal distribution, Wilson and
 * bootstrap intervals (always holding their estimate, covering the truth on skewed small
 * groups), and the group figures against fairlearn's definitions, hand-computed.
 */
import { describe, expect, it } from 'vitest';
import { allRows, forEachResample } from '../compute/bootstrap.ts';
import { GroupTallies, groupGaps, groupRates, judgeGroups, tallyGroups, tooSmallReason } from '../compute/group-metrics.ts';
import { bootstrapInterval, normalCdf, normalQuantile, quantileSorted, wilsonInterval } from '../compute/stats.ts';
import { createRng } from '../compute/rng.ts';
import { fairness } from '../src/analysers/fairness.ts';
import { makeContext, makeSplit } from './analysers-helpers.ts';

describe('distributions and quantiles', () => {
  it('normal CDF and quantile match reference values', () => {
    expect(normalCdf(-1.96)).toBeCloseTo(0.024997895148220435, 14);
    expect(normalCdf(1.6448536269514722)).toBeCloseTo(0.95, 14);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 12);
    expect(normalQuantile(1e-10)).toBeCloseTo(-6.361340902404056, 10);
    expect(normalQuantile(0.5)).toBe(0);
    expect(quantileSorted(Float64Array.from([1, 2, 3, 4]), 0.25)).toBe(1.75);
  });
});

describe('intervals', () => {
  it('Wilson: the textbook 9 of 10, and the estimate is always inside', () => {
    const [lo, hi] = wilsonInterval(9, 10);
    expect(lo).toBeCloseTo(0.5958, 4);
    expect(hi).toBeCloseTo(0.9821, 4);
    for (let n = 1; n <= 60; n++) for (let k = 0; k <= n; k++) {
      const [a, b] = wilsonInterval(k, n);
      expect(a).toBeLessThanOrEqual(k / n);
      expect(b).toBeGreaterThanOrEqual(k / n);
    }
    expect(wilsonInterval(0, 0)).toEqual([NaN, NaN]);
  });

  it('Wilson covers a skewed small-group rate near 95% (exact binomial sum)', () => {
    // Coverage = Σ_k P(K = k) [p ∈ CI(k)], K ~ Binomial(n, p): no simulation needed.
    const coverage = (n: number, p: number) => {
      let c = 0, logC = 0;
      for (let k = 0; k <= n; k++) {
        if (k > 0) logC += Math.log((n - k + 1) / k);
        const pk = Math.exp(logC + k * Math.log(p) + (n - k) * Math.log(1 - p));
        const [lo, hi] = wilsonInterval(k, n);
        if (lo <= p && p <= hi) c += pk;
      }
      return c;
    };
    for (const [n, p] of [[30, 0.9], [40, 0.95], [30, 0.5], [100, 0.97]]) {
      expect(coverage(n, p), `n ${n}, p ${p}`).toBeGreaterThan(0.92);
    }
  });

  it('a bootstrap interval that misses its estimate is extended to it, and the bias is reported', () => {
    // All resamples above the estimate (a max − min gap on few rows is biased upwards).
    const boot = Float64Array.from({ length: 100 }, (_, i) => 0.3 + i / 1000);
    for (const method of ['percentile', 'bca'] as const) {
      const iv = bootstrapInterval(boot, 0.2, { method });
      expect(iv.low).toBe(0.2);
      expect(iv.extended).toBe(true);
      expect(iv.bias).toBeCloseTo(0.3495 - 0.2, 12);
      expect(iv.high).toBeGreaterThan(0.3);
    }
    const centred = bootstrapInterval(Float64Array.from({ length: 101 }, (_, i) => i / 100), 0.5, { method: 'percentile' });
    expect(centred.low).toBeCloseTo(0.025, 12);
    expect(centred.high).toBeCloseTo(0.975, 12);
    expect(centred.extended).toBe(false);
    expect(bootstrapInterval([NaN, NaN], 0.5).low).toBeNaN();
    expect(bootstrapInterval([1, 2], NaN).low).toBeNaN();
  });

  it('the percentile interval of a gap on a skewed 30-row group holds its estimate and covers the truth', () => {
    // Groups of 30 and 300 rows, true rates .7 and .8: true gap .1. 150 data sets × 200 resamples.
    const rng = createRng(5);
    let covered = 0, extended = 0;
    const reps = 150, B = 200;
    for (let r = 0; r < reps; r++) {
      const group = [...new Array(30).fill(0), ...new Array(300).fill(1)];
      const value = group.map((g) => (rng.uniform() < (g ? 0.8 : 0.7) ? 1 : 0));
      const gap = (w: ArrayLike<number> | null) => {
        const o = [0, 0], m = [0, 0];
        for (let i = 0; i < group.length; i++) { const x = w ? w[i] : 1; m[group[i]] += x; o[group[i]] += x * value[i]; }
        return Math.abs(o[0] / m[0] - o[1] / m[1]);
      };
      const est = gap(null);
      const boot: number[] = [];
      forEachResample(allRows(group.length), group.length, B, rng, (_b, w) => boot.push(gap(w)));
      const iv = bootstrapInterval(boot, est, { method: 'percentile' });
      expect(iv.low).toBeLessThanOrEqual(est);
      expect(iv.high).toBeGreaterThanOrEqual(est);
      if (iv.extended) extended++;
      if (iv.low <= 0.1 && 0.1 <= iv.high) covered++;
    }
    expect(covered / reps).toBeGreaterThan(0.9);
    expect(extended / reps).toBeLessThan(0.05);
  });
});

describe('group figures against fairlearn, by hand', () => {
  // Binary, positive class 1. fairlearn: MetricFrame(metrics={selection_rate, tpr, fpr},
  // y_true, y_pred, sensitive_features=g).by_group, demographic_parity_difference = max − min
  // selection rate, demographic_parity_ratio = min / max, equalized_odds_difference =
  // max(TPR max − min, FPR max − min) (method "between_groups", agg "worst_case").
  //   group a: y 1 1 1 0 0 0 0 0   pred 1 1 0 1 0 0 0 0  → sel 3/8, TPR 2/3, FPR 1/5, acc 6/8
  //   group b: y 1 1 0 0           pred 1 0 1 1          → sel 3/4, TPR 1/2, FPR 2/2, acc 1/4
  //   group c: y 1 0 0 0 0 0       pred 1 0 0 0 0 1      → sel 2/6, TPR 1/1, FPR 1/5, acc 5/6
  // → DP difference 3/4 − 1/3 = 5/12, ratio (1/3)/(3/4) = 4/9; TPR range 1 − 1/2 = 1/2, FPR
  //   range 1 − 1/5 = 4/5 → EO 4/5; worst-group accuracy 1/4 (b).
  const y = Int32Array.from([1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0]);
  const pred = Int32Array.from([1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1]);
  const codes = Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
  const t = tallyGroups(new GroupTallies(3, 2), codes, y, pred, null, null);

  it('per-group rates and the gaps, every group judged (min size 1)', () => {
    const a = groupRates(t, 0, 1), b = groupRates(t, 1, 1), c = groupRates(t, 2, 1);
    expect([a.selectionRate, a.tpr, a.fpr, a.accuracy]).toEqual([3 / 8, 2 / 3, 1 / 5, 6 / 8]);
    expect([b.selectionRate, b.tpr, b.fpr, b.accuracy]).toEqual([3 / 4, 1 / 2, 1, 1 / 4]);
    expect([c.selectionRate, c.tpr, c.fpr, c.accuracy]).toEqual([2 / 6, 1, 1 / 5, 5 / 6]);
    const gaps = groupGaps(t, 1, judgeGroups(t, 1, 1));
    expect(gaps.dpDifference).toBeCloseTo(5 / 12, 15);
    expect(gaps.dpRatio).toBeCloseTo(4 / 9, 15);
    expect(gaps.tprGap).toBeCloseTo(1 / 2, 15);
    expect(gaps.fprGap).toBeCloseTo(4 / 5, 15);
    expect(gaps.eoDifference).toBeCloseTo(4 / 5, 15);
    expect(gaps.worstAccuracy).toBe(1 / 4);
    expect(gaps.worstGroup).toBe(1);
  });

  it('min size 3: b (2 negatives) and c (1 positive) leave the ranges they cannot support', () => {
    const j = judgeGroups(t, 1, 3);
    expect(Array.from(j.rows)).toEqual([1, 1, 1]);
    expect(Array.from(j.tpr)).toEqual([1, 0, 0]); // positives 3, 2, 1
    expect(Array.from(j.fpr)).toEqual([1, 0, 1]); // negatives 5, 2, 5
    const gaps = groupGaps(t, 1, j);
    expect(gaps.dpDifference).toBeCloseTo(5 / 12, 15);
    expect(gaps.tprGap).toBeNaN(); // one group with ≥ 3 positives: no range
    expect(gaps.fprGap).toBeCloseTo(0, 15); // a 1/5, c 1/5
    expect(gaps.eoDifference).toBeNaN();
    // min size 7: only a has 7 rows → no parity difference; worst group is a.
    const g5 = groupGaps(t, 1, judgeGroups(t, 1, 7));
    expect(g5.dpDifference).toBeNaN();
    expect(g5.worstAccuracy).toBe(6 / 8);
  });

  it('too-small reasons count in the singular for one', () => {
    const one = tallyGroups(new GroupTallies(1, 2), Int32Array.of(0), Int32Array.of(1), Int32Array.of(1), null, null);
    expect(tooSmallReason(one, 0, 1, judgeGroups(one, 1, 30))).toBe('1 row, 1 positive, 0 negatives (< 30)');
    expect(tooSmallReason(t, 1, 1, judgeGroups(t, 1, 3))).toBe('2 positives, 2 negatives (< 3)');
    expect(tooSmallReason(t, 0, 1, judgeGroups(t, 1, 3))).toBeNull();
  });
});

describe('fairness analyser on skewed small groups', () => {
  it('lists the small groups as too small, judges only the others, and every interval holds its estimate', async () => {
    // Groups: tiny (6 rows, all right), small (25 rows, 1 wrong), mid (60), big (400, 80% right).
    const rng = createRng(9);
    const sizes: [string, number, number][] = [['tiny', 6, 1], ['small', 25, 0.96], ['mid', 60, 0.9], ['big', 400, 0.8]];
    const groups: string[] = [], labels: number[] = [], proba: number[] = [];
    for (const [g, m, acc] of sizes) {
      for (let i = 0; i < m; i++) {
        const yv = rng.uniform() < 0.3 ? 1 : 0;
        const right = rng.uniform() < acc;
        const p = right ? yv : 1 - yv;
        groups.push(g); labels.push(yv);
        proba.push(p === 0 ? 0.8 : 0.2, p === 0 ? 0.2 : 0.8);
      }
    }
    const n = groups.length;
    const features = Float32Array.from({ length: n * 3 }, () => rng.normal());
    const split = makeSplit({ features, n, d: 3, labels: Int32Array.from(labels), classNames: ['no', 'yes'], groups: { g: groups } });
    const r = await fairness.run(makeContext(split, { proba: Float32Array.from(proba) }), { ...fairness.defaults, positiveClass: 'yes', bootstrapSamples: 300 });
    const rows = r.tables.find((t) => t.name === 'fairness_groups')!.rows;
    const byGroup = Object.fromEntries(rows.map((x) => [x.group, x]));
    expect(byGroup.tiny.too_small).toBe(true);
    expect(byGroup.small.too_small).toBe(true);
    expect(byGroup.mid.too_small).toBe(false);
    expect(byGroup.tiny.accuracy).toBe(1);
    for (const x of rows) {
      for (const f of ['accuracy', 'selection_rate', 'tpr', 'fpr', 'label_error_rate']) {
        if (x[f] === null) continue;
        expect(x[`${f}_low`] as number, `${x.group} ${f}`).toBeLessThanOrEqual(x[f] as number);
        expect(x[`${f}_high`] as number, `${x.group} ${f}`).toBeGreaterThanOrEqual(x[f] as number);
      }
    }
    const a = r.tables.find((t) => t.name === 'fairness_attributes')!.rows[0];
    // Worst group among the judged (mid, big): big, never the too-small tiny/small groups.
    expect(a.worst_group).toBe('big');
    expect(a.judged_groups).toBe(2);
    for (const f of ['demographic_parity_difference', 'worst_group_accuracy']) {
      expect(a[`${f}_low`] as number).toBeLessThanOrEqual(a[f] as number);
      expect(a[`${f}_high`] as number).toBeGreaterThanOrEqual(a[f] as number);
    }
    expect(a.class).toBe('yes');
    expect(r.summary.verdict).toMatch(/2 groups have fewer than 30 rows/);
    expect(r.summary.verdict).not.toMatch(/tiny|small =/);
  });
});
