import { describe, it, expect } from 'vitest';
import {
  computeConfidentJoint, findLabelIssues, normalizedMargin, selfConfidence, roundPreservingSum,
  calibrateConfidentJoint, pruneCountMatrix, rankByQuality, numLabelIssues, numpySum, predictedAsGiven, FILTERS, type LabelledProba,
} from '../src/analysers/confident-learning.ts';

const lp = (labels: number[], rows: number[][]): LabelledProba => ({
  labels: Int32Array.from(labels), proba: Float32Array.from(rows.flat()), n: labels.length, k: rows[0].length,
});
const maskRows = (m: Uint8Array) => Array.from(m).flatMap((v, i) => (v ? [i] : []));

// Worked by hand in the comments: thresholds, confident joint, calibration, pruning.
describe('confident learning, hand-checked', () => {
  // t0 = mean(.9,.8,.2) = .633, t1 = mean(.9,.7,.3) = .633; guesses 0,0,1,1,1,0;
  // C = [[2,1],[1,2]]; each off-diagonal cell prunes the row with the largest margin.
  const a = lp([0, 0, 0, 1, 1, 1], [[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9], [0.3, 0.7], [0.7, 0.3]]);

  it('thresholds and the confident joint', () => {
    const cj = computeConfidentJoint(a);
    expect(Array.from(cj.thresholds)).toEqual([expect.closeTo(0.6333333, 6), expect.closeTo(0.6333333, 6)]);
    expect(Array.from(cj.guess)).toEqual([0, 0, 1, 1, 1, 0]);
    expect(Array.from(cj.joint)).toEqual([2, 1, 1, 2]);
    expect(Array.from(cj.offDiagonal)).toEqual([2, 5]);
  });

  it('every filter flags the two swapped rows', () => {
    for (const filterBy of FILTERS) {
      expect(maskRows(findLabelIssues(a, { filterBy })), filterBy).toEqual([2, 5]);
    }
  });

  it('num_label_issues: off-diagonal rows of the uncalibrated joint whose argmax is not the label', () => {
    expect(numLabelIssues(a)).toBe(2);
    // Row 3 is off the diagonal; rows 2 and 5 are confident of no class and so not counted.
    expect(numLabelIssues(b)).toBe(1);
  });

  it('quality scores', () => {
    expect(Array.from(selfConfidence(a))).toEqual([0.9, 0.8, 0.2, 0.9, 0.7, 0.3].map((x) => expect.closeTo(x, 6)));
    // (p_given − max other + 1) / 2
    expect(Array.from(normalizedMargin(a))).toEqual([0.9, 0.8, 0.2, 0.9, 0.7, 0.3].map((x) => expect.closeTo(x, 6)));
    expect(Array.from(rankByQuality(normalizedMargin(a)))).toEqual([2, 5, 4, 1, 0, 3]);
  });

  // t0 = mean(.9,.8,.6,.3) = .65, t1 = mean(.8,.6) = .7. Rows 2 and 5 are confident of no class.
  // Raw C = [[2,1],[0,1]]; calibrated to row totals 4 and 2: [[2.67,1.33],[0,2]] → [[3,1],[0,2]].
  // Pruning by noise rate: cell (given 0, true 1) = 1 → row 3 (largest p1 − p0 among label 0).
  const b = lp([0, 0, 0, 0, 1, 1], [[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8], [0.4, 0.6]]);

  it('calibration to the given-label counts', () => {
    const raw = computeConfidentJoint(b, { calibrate: false });
    expect(Array.from(raw.joint)).toEqual([2, 1, 0, 1]);
    expect(Array.from(raw.guess)).toEqual([0, 0, -1, 1, 1, -1]);
    const cal = computeConfidentJoint(b);
    expect(Array.from(cal.joint)).toEqual([3, 1, 0, 2]);
    expect(Array.from(pruneCountMatrix(cal.joint, 2, 1, 1))).toEqual([3, 0, 1, 2]);
    for (const filterBy of FILTERS) {
      expect(maskRows(findLabelIssues(b, { filterBy })), filterBy).toEqual([3]);
    }
  });

  it('round_preserving_sum: half to even, then largest residuals up (equal residuals in numpy order, as cleanlab 2.9.0 returns)', () => {
    expect(Array.from(roundPreservingSum(Float64Array.from([0.5, 1.5, 2.5])))).toEqual([0, 2, 2]);
    // cleanlab: argsort(residuals)[::-1] picks the later of equal residuals first going up.
    expect(Array.from(roundPreservingSum(Float64Array.from([0.4, 0.4, 0.4, 0.4, 0.4])))).toEqual([0, 0, 0, 1, 1]);
    expect(Array.from(roundPreservingSum(Float64Array.from([0.6, 0.6, 0.6, 0.6, 0.6])))).toEqual([0, 0, 1, 1, 1]);
  });

  it('a given label within 1e-6 of the top probability counts as predicted (cleanlab _reduce_issues)', () => {
    const lp = { labels: Int32Array.from([1, 1, 0]), proba: Float32Array.from([0.5000004, 0.4999996, 0.6, 0.4, 0.4, 0.6]), n: 3, k: 2 };
    expect(predictedAsGiven(lp, 0)).toBe(true);
    expect(predictedAsGiven(lp, 1)).toBe(false);
    expect(predictedAsGiven(lp, 2)).toBe(false);
  });

  it('numpySum: numpy\'s pairwise order (8 running sums), not left to right', () => {
    // numpy 1.24: np.sum of these is 7.0 and 17.0; Python's left-to-right sum gives 1.0 and 10.0.
    const a = Float64Array.from([1e16, 1, 1, 1, 1, 1, 1, 1, -1e16, 1]);
    const b = Float64Array.from([1e16, 1, 1, 1, 1, 1, 1, 1, -1e16, 1, 1, 1, 1, 1, 1, 1, 3]);
    expect(numpySum(a)).toBe(7);
    expect(numpySum(b)).toBe(17);
    let seq = 0;
    for (const v of a) seq += v;
    expect(seq).toBe(1);
  });

  it('calibration keeps row totals equal to label counts', () => {
    const C = Int32Array.from([5, 1, 0, 2, 7, 1, 0, 3, 9]);
    const counts = Int32Array.from([10, 20, 30]);
    const cal = calibrateConfidentJoint(C, counts, 3);
    for (let i = 0; i < 3; i++) expect(cal[i * 3] + cal[i * 3 + 1] + cal[i * 3 + 2]).toBe(counts[i]);
    expect(Array.from(cal)).toEqual([8, 2, 0, 4, 14, 2, 0, 8, 22]);
  });

  it('frac_noise scales the pruned counts down', () => {
    // 20 clean rows of class 0, then 10 rows labelled 0 that look like class 1 with shrinking
    // margins, then 20 clean rows of class 1. t1 = 0.9, so six of the ten are confident of 1;
    // calibrated to 30 rows the off-diagonal cell becomes 7; frac_noise 0.5 keeps trunc(3.5) = 3.
    const labels = [...Array(30).fill(0), ...Array(20).fill(1)];
    const rows = [
      ...Array.from({ length: 20 }, () => [0.9, 0.1]),
      ...Array.from({ length: 10 }, (_, i) => [0.05 + 0.01 * i, 0.95 - 0.01 * i]),
      ...Array.from({ length: 20 }, () => [0.1, 0.9]),
    ];
    const c = lp(labels, rows);
    const all = maskRows(findLabelIssues(c));
    const half = maskRows(findLabelIssues(c, { fracNoise: 0.5 }));
    expect(all).toEqual([20, 21, 22, 23, 24, 25, 26]);
    expect(half).toEqual([20, 21, 22]);
  });
});
