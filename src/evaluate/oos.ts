/**
 * Out-of-sample class probabilities for every pool row by seeded, stratified K-fold
 * cross-validation with a challenge's fixed model: each row is predicted by a model that never
 * saw it. The self-confidence baseline ranks rows by the probability of their given label.
 */
import { createRng, deriveSeed } from '../../evaluator/rng.ts';
import { fitOne, gatherLabels, gatherRows } from '../../evaluator/protocols/common.ts';
import type { ModelSpec } from '../../evaluator/types.ts';

/** Fold of each row: per class, a seeded shuffle dealt round-robin over the folds. */
export function stratifiedFolds(y: Int32Array, k: number, folds: number, seed: number): Int32Array {
  const fold = new Int32Array(y.length);
  const byClass: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < y.length; i++) byClass[y[i]].push(i);
  let offset = 0;
  for (let c = 0; c < k; c++) {
    const rows = Int32Array.from(byClass[c]);
    createRng(deriveSeed(seed, 'oos-folds', c)).shuffle(rows);
    // Continue the deal where the previous class stopped, so small classes don't all start at fold 0.
    for (let j = 0; j < rows.length; j++) fold[rows[j]] = (offset + j) % folds;
    offset = (offset + rows.length) % folds;
  }
  return fold;
}

/**
 * n × k out-of-sample probabilities. `X` is already preprocessed (the evaluator fits the
 * preprocessing on the whole pool, labels unseen, so doing the same here leaks nothing).
 */
export function outOfSampleProba(
  spec: ModelSpec,
  X: Float32Array,
  n: number,
  d: number,
  y: Int32Array,
  k: number,
  opts: { folds?: number; seed?: number; onFold?: () => void } = {},
): Float32Array {
  const folds = opts.folds ?? 5;
  const seed = opts.seed ?? spec.seeds[0];
  const fold = stratifiedFolds(y, k, folds, seed);
  const proba = new Float32Array(n * k);
  for (let f = 0; f < folds; f++) {
    const trainRows: number[] = [], heldRows: number[] = [];
    for (let i = 0; i < n; i++) (fold[i] === f ? heldRows : trainRows).push(i);
    if (!heldRows.length) continue;
    const tr = Int32Array.from(trainRows), held = Int32Array.from(heldRows);
    const train = { X: gatherRows(X, d, tr), n: tr.length, d, y: gatherLabels(y, tr), k };
    const { proba: p } = fitOne(spec, train, gatherRows(X, d, held), held.length, deriveSeed(seed, 'oos-fit', f));
    for (let j = 0; j < held.length; j++) proba.set(p.subarray(j * k, (j + 1) * k), held[j] * k);
    opts.onFold?.();
  }
  return proba;
}

/** Rows in ascending probability of their given label (most suspicious first); ties by row. */
export function selfConfidenceOrder(proba: Float32Array, y: Int32Array, k: number): Int32Array {
  const n = y.length;
  const conf = new Float64Array(n);
  for (let i = 0; i < n; i++) conf[i] = proba[i * k + y[i]];
  const order = Int32Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => conf[a] - conf[b] || a - b);
  return order;
}
