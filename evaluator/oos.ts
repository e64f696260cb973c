/**
 * Out-of-sample class probabilities by seeded, stratified K-fold cross-validation: each row is
 * predicted by a model fitted on the other folds, never on the row itself. The one K-fold
 * implementation, shared by the self-confidence baseline (src/evaluate/baselines.ts) and the
 * audits' out-of-sample predictions (src/analysers/oos.ts). `data.X` is already preprocessed.
 */
import { deriveSeed, createRng } from '../compute/rng.ts';
import { runFits, type FitJob } from './parallel.ts';
import { gatherRows } from '../compute/rows.ts';
import type { Dataset, ModelKind, ModelSpec } from './types.ts';

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

export interface KFoldOptions {
  folds: number;
  /** Seeds the fold assignment and (derived per fold) each fold's fit. */
  seed: number;
  /**
   * Independent fold assignments whose out-of-sample probabilities are averaged (repeated
   * K-fold; default 1). The first repeat uses `seed` itself, so 1 repeat is plain K-fold.
   */
  repeats?: number;
  /** Worker threads for the folds (evaluator/parallel.ts runFits; default all cores, 1 = the calling thread). */
  threads?: number;
  /** Called once with the number of fits, before the first starts. */
  onStart?: (fits: number) => void;
  /** Called after each fold's fit. */
  onFold?: () => void;
}

/**
 * n × k out-of-sample probabilities for the rows of `data` (row-major). Results are
 * bit-identical whatever `threads` is.
 */
export async function kFoldProba(
  data: Dataset,
  model: { kind: ModelKind; params: ModelSpec['params'] },
  opts: KFoldOptions,
): Promise<Float32Array> {
  const { X, n, d, y, k } = data;
  const { folds } = opts;
  const repeats = opts.repeats ?? 1;
  if (!(Number.isInteger(repeats) && repeats >= 1)) throw new Error(`repeats must be an integer ≥ 1, got ${repeats}`);
  const jobs: FitJob[] = [];
  const heldOut: Int32Array[] = [];
  for (let r = 0; r < repeats; r++) {
    const seed = r === 0 ? opts.seed : deriveSeed(opts.seed, 'oos-repeat', r);
    const fold = stratifiedFolds(y, k, folds, seed);
    for (let f = 0; f < folds; f++) {
      const trainRows: number[] = [], heldRows: number[] = [];
      for (let i = 0; i < n; i++) (fold[i] === f ? heldRows : trainRows).push(i);
      if (!heldRows.length) continue;
      const tr = Int32Array.from(trainRows), held = Int32Array.from(heldRows);
      const train: Dataset = { X: gatherRows(X, d, tr), n: tr.length, d, y: gatherRows(y, 1, tr), k };
      jobs.push({ kind: model.kind, params: model.params, train, evals: [{ X: gatherRows(X, d, held), n: held.length }], seed: deriveSeed(seed, 'oos-fit', f) });
      heldOut.push(held);
    }
  }
  opts.onStart?.(jobs.length);
  const results = await runFits(jobs, { threads: opts.threads, onDone: () => opts.onFold?.() });
  if (repeats === 1) {
    const proba = new Float32Array(n * k);
    results.forEach((r, j) => {
      const held = heldOut[j], p = r.proba[0];
      for (let t = 0; t < held.length; t++) proba.set(p.subarray(t * k, (t + 1) * k), held[t] * k);
    });
    return proba;
  }
  // Every row is held out once per repeat: sum in job order (fixed), then divide.
  const sum = new Float64Array(n * k);
  results.forEach((r, j) => {
    const held = heldOut[j], p = r.proba[0];
    for (let t = 0; t < held.length; t++) for (let c = 0; c < k; c++) sum[held[t] * k + c] += p[t * k + c];
  });
  return Float32Array.from(sum, (v) => v / repeats);
}
