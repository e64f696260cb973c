import { describe, it, expect } from 'vitest';
import { classImbalance, classBalance, totalVariation } from '../src/analysers/class-imbalance.ts';
import { chiSquaredHomogeneity, chiSquaredSurvival } from '../src/analysers/stats.ts';
import { makeContext, makeSplit } from './analysers-helpers.ts';

const labelsOf = (counts: number[]) => Int32Array.from(counts.flatMap((c, j) => Array(c).fill(j)));

describe('class imbalance', () => {
  it('counts, ratio, entropy, rare classes by hand', () => {
    const b = classBalance(labelsOf([60, 30, 10]), 3, 0.5);
    expect(Array.from(b.counts)).toEqual([60, 30, 10]);
    expect(b.imbalanceRatio).toBe(6);
    const h = -(0.6 * Math.log(0.6) + 0.3 * Math.log(0.3) + 0.1 * Math.log(0.1)) / Math.log(3);
    expect(b.normalizedEntropy).toBeCloseTo(h, 12);
    expect(Array.from(b.rare)).toEqual([0, 0, 1]); // 10% < 0.5 × 1/3
    expect(totalVariation([0.6, 0.3, 0.1], [0.4, 0.4, 0.2])).toBeCloseTo(0.2, 12);
  });

  it('chi-squared test of homogeneity by hand', () => {
    // 2 × 2 table [[30, 70], [50, 50]]: expected [[40, 60], [40, 60]], χ² = 2.5+1.667+2.5+1.667 = 8.333.
    const r = chiSquaredHomogeneity([30, 70], [50, 50]);
    expect(r.statistic).toBeCloseTo(8.3333333, 6);
    expect(r.df).toBe(1);
    expect(r.pValue).toBeCloseTo(0.0038924, 6);
    expect(chiSquaredSurvival(3.841458820694124, 1)).toBeCloseTo(0.05, 8);
    expect(chiSquaredSurvival(11.070497693516351, 5)).toBeCloseTo(0.05, 8);
  });

  it('the analyser reports train/test shift and flags rows of rare classes', async () => {
    const names = ['a', 'b', 'c'];
    const train = makeSplit({ features: new Float32Array(100), n: 100, d: 1, labels: labelsOf([60, 30, 10]), classNames: names });
    const test = makeSplit({ features: new Float32Array(100), n: 100, d: 1, labels: labelsOf([40, 40, 20]), classNames: names, split: 'test' });
    const r = await classImbalance.run(makeContext(train, { test }), classImbalance.defaults);
    expect(r.summary.figures.imbalance_ratio).toBe(6);
    expect(r.summary.figures.train_test_tvd).toBeCloseTo(0.2, 12);
    expect(r.summary.figures.rare_classes).toBe(1);
    expect(r.findings).toHaveLength(10);
    expect(r.findings.every((f) => f.detail.label === 'c')).toBe(true);
    expect(r.summary.severity).toBe('warning');
    const rows = r.tables[0].rows;
    expect(rows).toContainEqual({ class: 'c', split: 'test', count: 20, share: 0.2, rare: false });
  });

  it('a shift as large but within sampling noise (small test split) is said so and does not warn', async () => {
    const names = ['a', 'b'];
    // 60 / 40 in train, 5 / 5 in a 10-row test split: total variation 10%, chi-squared p ≈ 0.5.
    const train = makeSplit({ features: new Float32Array(1000), n: 1000, d: 1, labels: labelsOf([600, 400]), classNames: names });
    const test = makeSplit({ features: new Float32Array(10), n: 10, d: 1, labels: labelsOf([5, 5]), classNames: names, split: 'test' });
    const r = await classImbalance.run(makeContext(train, { test }), classImbalance.defaults);
    expect(r.summary.figures.train_test_tvd).toBeCloseTo(0.1, 12);
    expect(r.summary.verdict).toMatch(/differ by total variation 10\.0%, no more than sampling gives at these sizes \(chi-squared p = 0\.\d+\)/);
    expect(r.summary.severity).not.toBe('warning');
    // Without a test split the verdict says it was not read, not that there is none.
    const alone = await classImbalance.run(makeContext(train), classImbalance.defaults);
    expect(alone.summary.verdict).toContain('No test split was read');
  });

  it('an empty class is a problem, not an infinite ratio', async () => {
    const train = makeSplit({ features: new Float32Array(10), n: 10, d: 1, labels: labelsOf([5, 5, 0]), classNames: ['a', 'b', 'c'] });
    const r = await classImbalance.run(makeContext(train), classImbalance.defaults);
    expect(r.summary.figures.imbalance_ratio).toBeNull();
    expect(r.summary.severity).toBe('problem');
    expect(r.summary.verdict).toMatch(/no train rows \(c\)/);
  });
});
