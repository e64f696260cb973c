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
  /** Adds one to counts[x] for each of `draws` calls of int(n) (compute/rng.ts), when the source has it. */
  countInts?(n: number, draws: number, counts: Int32Array): void;
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
  forEachResampleCounts(m, samples, rng, (b, counts) => {
    for (let j = 0; j < m; j++) weights[rows[j]] += counts[j];
    visit(b, weights);
    for (let j = 0; j < m; j++) weights[rows[j]] = 0;
  });
}

/**
 * The same resamples as forEachResample over `m` rows, by position: `counts[j]` = times the
 * j-th of the rows was drawn (for distinct rows, weights[rows[j]] = counts[j]). A statistic
 * that has gathered its per-row values in the rows' order then reads one short array front to
 * back per resample instead of scattering into the full test size. `counts` is reused
 * between calls: copy it to keep it.
 */
export function forEachResampleCounts(
  m: number,
  samples: number,
  rng: IntSource,
  visit: (b: number, counts: Int32Array) => void,
): void {
  if (m === 0) return;
  const counts = new Int32Array(m);
  const draws = !rng.countInts && rng.fillInts ? new Int32Array(m) : null;
  for (let b = 0; b < samples; b++) {
    if (rng.countInts) {
      rng.countInts(m, m, counts);
    } else if (draws) {
      rng.fillInts!(m, draws);
      for (let j = 0; j < m; j++) counts[draws[j]]++;
    } else {
      for (let j = 0; j < m; j++) counts[rng.int(m)]++;
    }
    visit(b, counts);
    counts.fill(0);
  }
}

/** All rows 0..n-1. */
export function allRows(n: number): Int32Array {
  const rows = new Int32Array(n);
  for (let i = 0; i < n; i++) rows[i] = i;
  return rows;
}
