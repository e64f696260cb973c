/**
 * Seeded percentile bootstrap over test rows.
 *
 * A resample draws `rows.length` rows uniformly with replacement from the scored rows and is
 * handed to the caller as multiplicities (`weights[row]` = times drawn), so every metric is
 * a weighted sum over the same rows and one resample serves all metrics and all seeds.
 * Resample b is the b-th block of draws from `createRng(deriveSeed(seed, 'bootstrap'))`:
 * the same seed and the same rows give the same resamples on every machine.
 */
import { createRng, deriveSeed } from './rng.ts';

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
  const m = rows.length;
  if (m === 0) return;
  const rng = createRng(deriveSeed(spec.seed, 'bootstrap'));
  const weights = new Int32Array(nTotal);
  for (let b = 0; b < spec.samples; b++) {
    for (let j = 0; j < m; j++) weights[rows[rng.int(m)]]++;
    visit(b, weights);
    for (let j = 0; j < m; j++) weights[rows[j]] = 0;
  }
}

/** The q-quantile (0 ≤ q ≤ 1) of ascending values, linear interpolation (numpy's default). */
export function quantileSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const frac = pos - lo;
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

/**
 * Central percentile interval of the finite values (resamples where a metric is undefined,
 * e.g. a group drawn zero times, are left out). [NaN, NaN] when none are finite.
 */
export function percentileInterval(values: Float64Array, level = 0.95): [number, number] {
  let finite = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) finite++;
  if (finite === 0) return [NaN, NaN];
  const sorted = new Float64Array(finite);
  for (let i = 0, j = 0; i < values.length; i++) if (Number.isFinite(values[i])) sorted[j++] = values[i];
  sorted.sort();
  const tail = (1 - level) / 2;
  return [quantileSorted(sorted, tail), quantileSorted(sorted, 1 - tail)];
}
