/**
 * The figures of a ranking curve under the two scoring rules, as pure functions of the curve's
 * correct-row counts, so that the evaluator (every bootstrap resample included) and
 * `sieve verify --rescore` (from a record's stored counts) compute them with the same code.
 *
 * Rule `sieve` (docs/evaluator.md "Protocols"):
 * - clean_accuracy: the model trained on the fully clean pool;
 * - fraction_to_95: the smallest k / n on the grid whose (unrounded) accuracy reaches
 *   0.95 · clean_accuracy; 0 when the noisy pool already does, 1 when the ranking never does;
 * - auc: area under accuracy / clean_accuracy over the fraction fixed, flat after the last
 *   ranked row (unranked rows stay noisy).
 *
 * Rule `dataperf` (DataPerf's vision-debugging scorer, reproduced exactly): the official
 * scorer refits after every fix i = 1..n (n = pool rows; fixes past the end of a ranking
 * change nothing), rounds each test accuracy to 2 decimals as numpy does (round half to even
 * of accuracy · 100, divided by 100), takes as target 0.95 times the accuracy of its last
 * point, and scores the first 0-based index i − 1 whose accuracy is ≥ the target, divided by
 * n. Lower is better. The target moves with the ranking's own final accuracy, so a short
 * prefix that stops early scores well (the loophole the sieve rule closes by aiming at the
 * clean pool).
 */

/** Metric names, in the order rankingFigures writes them. */
export const RANKING_METRICS = [
  'auc', 'fraction_to_95', 'noisy_accuracy', 'final_accuracy', 'clean_accuracy', 'dataperf_fraction_fixes',
] as const;

/** numpy's rint: round half to even. */
function rint(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `numpy.round(x, 2)` (what Python's round does to a numpy float64): rint(x · 100) / 100. */
export function roundAccuracy(x: number): number {
  return rint(x * 100) / 100;
}

/**
 * DataPerf's debugging score of an official curve: `accuracy[j]` is the (unrounded) test
 * accuracy after j + 1 fixes, j = 0..n − 1. NaN when no point reaches the target (only when
 * the accuracies are NaN: the last point always reaches 95% of itself).
 */
export function dataperfFractionFixes(accuracy: ArrayLike<number>): number {
  const n = accuracy.length;
  if (n === 0) return NaN;
  const target = 0.95 * roundAccuracy(accuracy[n - 1]);
  for (let i = 0; i < n; i++) if (roundAccuracy(accuracy[i]) >= target) return i / n;
  return NaN;
}

/**
 * Every ranking figure of one curve. `correct[p]` = test rows (weighted) predicted right
 * after gridK[p] fixes (gridK[0] = 0, the last entry = the ranking's length), `total` = test
 * rows, `clean` = rows the clean-pool model gets right, `poolRows` = n. The DataPerf figure
 * needs a refit after every fix (`step` 1); on a coarser grid it is NaN.
 */
export function rankingFigures(
  correct: ArrayLike<number>,
  total: number,
  clean: number,
  gridK: ArrayLike<number>,
  poolRows: number,
  step: number,
  out: Float64Array,
): Float64Array {
  const nPoints = gridK.length;
  if (total === 0) { out.fill(NaN); return out; }
  // First grid point with accuracy ≥ 95% of clean (integer comparison: 20·right ≥ 19·clean).
  let f95 = 1;
  for (let p = 0; p < nPoints; p++) if (20 * correct[p] >= 19 * clean) { f95 = gridK[p] / poolRows; break; }
  let area = 0;
  for (let p = 1; p < nPoints; p++) area += (gridK[p] / poolRows - gridK[p - 1] / poolRows) * (correct[p] + correct[p - 1]) / 2;
  area += (1 - gridK[nPoints - 1] / poolRows) * correct[nPoints - 1];
  out[0] = clean > 0 ? area / clean : NaN;
  out[1] = f95;
  out[2] = correct[0] / total;
  out[3] = correct[nPoints - 1] / total;
  out[4] = clean / total;
  out[5] = step === 1 ? dataperfOfCounts(correct, total, poolRows) : NaN;
  return out;
}

/** dataperfFractionFixes of the official curve implied by an every-fix curve of counts. */
function dataperfOfCounts(correct: ArrayLike<number>, total: number, poolRows: number): number {
  const K = correct.length - 1; // ranking length; fixes i > K leave the data as after K
  const target = 0.95 * roundAccuracy(correct[Math.min(poolRows, K)] / total);
  for (let i = 1; i <= poolRows; i++) {
    if (roundAccuracy(correct[Math.min(i, K)] / total) >= target) return (i - 1) / poolRows;
  }
  return NaN;
}
