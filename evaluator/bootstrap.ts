/**
 * The evaluator's seeded bootstrap over test rows: the resampler and the intervals are
 * compute/'s (compute/bootstrap.ts, compute/stats.ts); this file fixes where the randomness
 * comes from. Resample b is the b-th block of draws from `createRng(deriveSeed(seed,
 * 'bootstrap'))`: the same seed and the same rows give the same resamples on every machine.
 */
import { forEachResample as resample, forEachResampleCounts as resampleCounts } from '../compute/bootstrap.ts';
import { createRng, deriveSeed } from '../compute/rng.ts';

export interface BootstrapSpec {
  /** Number of resamples (0 = no interval). */
  samples: number;
  seed: number;
}

export const DEFAULT_BOOTSTRAP: BootstrapSpec = { samples: 1000, seed: 0 };

export function checkBootstrapSpec(spec: BootstrapSpec): void {
  if (!(Number.isInteger(spec.samples) && spec.samples >= 0)) {
    throw new RangeError(`bootstrap.samples must be a non-negative integer, got ${spec.samples}`);
  }
  if (!(Number.isInteger(spec.seed) && spec.seed >= 0 && spec.seed <= 0xffffffff)) {
    throw new RangeError(`bootstrap.seed must be an integer in [0, 2^32), got ${spec.seed}`);
  }
}

/**
 * Calls `visit(b, weights)` for b = 0..samples-1. `weights` has length `nTotal` (the full
 * test size), is zero outside `rows`, and is reused between calls: copy it to keep it.
 */
export function forEachResample(
  rows: Int32Array,
  nTotal: number,
  spec: BootstrapSpec,
  visit: (b: number, weights: Int32Array) => void,
): void {
  checkBootstrapSpec(spec);
  resample(rows, nTotal, spec.samples, createRng(deriveSeed(spec.seed, 'bootstrap')), visit);
}

/**
 * The same resamples as forEachResample(rows, …), by position in `rows` (`m` = rows.length):
 * `counts[j]` = times rows[j] was drawn (compute/bootstrap.ts forEachResampleCounts).
 */
export function forEachResampleCounts(
  m: number,
  spec: BootstrapSpec,
  visit: (b: number, counts: Int32Array) => void,
): void {
  checkBootstrapSpec(spec);
  resampleCounts(m, spec.samples, createRng(deriveSeed(spec.seed, 'bootstrap')), visit);
}
