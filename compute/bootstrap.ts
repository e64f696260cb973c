/**
 * Row resampling for the bootstrap, shared by the evaluator and the analysers.
 *
 * A resample draws `rows.length` rows uniformly with replacement from the given rows and is
 * handed to the caller as multiplicities (`weights[row]` = times drawn), so every statistic
 * is a weighted sum over the same rows and one resample serves every statistic at once.
 * The random source is passed in (compute/ imports nothing else of the repository): the
 * caller's seeded generator, so the same seed and rows give the same resamples everywhere.
 */

/** What the resampler needs of a random generator: a uniform integer in [0, n). */
export interface IntSource {
  int(n: number): number;
  /** `out.length` calls of int(n) at once (compute/rng.ts), when the source has it. */
  fillInts?(n: number, out: Int32Array): void;
}

/**
 * Calls `visit(b, weights)` for b = 0..samples-1. `weights` has length `nTotal`, is zero
 * outside `rows`, and is reused between calls: copy it to keep it. Resample b is the b-th
 * block of `rows.length` draws from `rng`.
 */
export function forEachResample(
  rows: Int32Array,
  nTotal: number,
  samples: number,
  rng: IntSource,
  visit: (b: number, weights: Int32Array) => void,
): void {
  const m = rows.length;
  if (m === 0) return;
  const weights = new Int32Array(nTotal);
  const draws = rng.fillInts ? new Int32Array(m) : null;
  for (let b = 0; b < samples; b++) {
    if (draws) {
      rng.fillInts!(m, draws);
      for (let j = 0; j < m; j++) weights[rows[draws[j]]]++;
    } else {
      for (let j = 0; j < m; j++) weights[rows[rng.int(m)]]++;
    }
    visit(b, weights);
    for (let j = 0; j < m; j++) weights[rows[j]] = 0;
  }
}

/** All rows 0..n-1. */
export function allRows(n: number): Int32Array {
  const rows = new Int32Array(n);
  for (let i = 0; i < n; i++) rows[i] = i;
  return rows;
}
