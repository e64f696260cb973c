/**
 * Quantiles and bootstrap intervals, shared by the evaluator and the analysers (compute/
 * imports nothing else of the repository).
 *
 * Intervals: `wilsonInterval` for a plain proportion (a group's accuracy, TPR, FPR, selection
 * rate); `bootstrapInterval` turns resampled values of any statistic into a central interval
 * that always contains the point estimate. Two methods:
 * - 'bca': Efron's bias-corrected and accelerated interval. The bias correction z0 comes from
 *   the share of resamples below the estimate (ties count half), the acceleration from
 *   jackknife values of the statistic. It is the method for skewed statistics on small groups
 *   (a rate near 0 or 1, a max − min over groups, a worst-group minimum), where the plain
 *   percentile interval can miss the estimate altogether.
 * - 'percentile': the 2.5th–97.5th percentiles of the resamples.
 * bench/interval-coverage.ts measures both (and Wilson) on skewed small groups: for a max − min
 * gap or a worst-group minimum the percentile interval covers better (BCa's bias correction
 * over-corrects these non-smooth statistics), so the evaluator and the fairness analyser use
 * 'percentile' with the bias reported; BCa stays available for smooth statistics.
 * Either way the bootstrap bias (mean of the resamples − estimate) is returned, and when the
 * resamples all fall on one side of the estimate (z0 infinite) or the endpoints still miss it
 * (a very lopsided or discrete bootstrap distribution), the interval is extended to the
 * estimate and `extended` says so: an interval is never reported without its estimate.
 */

/** Linear-interpolation quantile (numpy's default) of values already sorted ascending. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values as ArrayLike<number>).sort();
}

/** The finite values, sorted ascending. */
export function sortedFinite(values: ArrayLike<number>): Float64Array {
  let m = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) m++;
  const out = new Float64Array(m);
  for (let i = 0, j = 0; i < values.length; i++) if (Number.isFinite(values[i])) out[j++] = values[i];
  return out.sort();
}

/** Median and MAD (unscaled) of the values. */
export function medianAndMad(values: ArrayLike<number>): { median: number; mad: number } {
  const s = sortedCopy(values);
  const median = quantileSorted(s, 0.5);
  const dev = new Float64Array(s.length);
  for (let i = 0; i < s.length; i++) dev[i] = Math.abs(s[i] - median);
  dev.sort();
  return { median, mad: quantileSorted(dev, 0.5) };
}

/**
 * Central percentile interval of the finite values (resamples where a metric is undefined,
 * e.g. a group drawn zero times, are left out). [NaN, NaN] when none are finite.
 */
export function percentileInterval(values: ArrayLike<number>, level = 0.95): [number, number] {
  const sorted = sortedFinite(values);
  if (sorted.length === 0) return [NaN, NaN];
  const tail = (1 - level) / 2;
  return [quantileSorted(sorted, tail), quantileSorted(sorted, 1 - tail)];
}

/**
 * Wilson score interval for a proportion of `successes` in `n` trials: always inside [0, 1],
 * always contains successes / n, and close to its nominal coverage on small n and rates near
 * 0 or 1, where the bootstrap percentile interval of a rate under-covers (bench/interval-coverage.ts).
 * [NaN, NaN] for n = 0.
 */
export function wilsonInterval(successes: number, n: number, level = 0.95): [number, number] {
  if (!(n > 0)) return [NaN, NaN];
  const z = normalQuantile(1 - (1 - level) / 2);
  const p = successes / n, z2 = z * z;
  const den = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / den;
  const half = (z / den) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // Clamp the rounding error at the ends so the estimate is always inside.
  return [Math.min(p, Math.max(0, centre - half)), Math.max(p, Math.min(1, centre + half))];
}

/** Standard normal CDF, Φ(x) = erfc(−x/√2)/2, with W. J. Cody's rational erfc (|error| < 1e-15 relative). */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return 1;
  if (x === -Infinity) return 0;
  return 0.5 * erfc(-x / Math.SQRT2);
}

function erfc(x: number): number {
  // Numerical Recipes' erfc via the Chebyshev fit of erfc(z)·exp(z²) (relative error < 1.2e-16
  // in double precision with 28 coefficients), used for both signs.
  const z = Math.abs(x);
  const t = 2 / (2 + z);
  const ty = 4 * t - 2;
  let d = 0, dd = 0;
  for (let j = ERFC_COF.length - 1; j > 0; j--) {
    const tmp = d;
    d = ty * d - dd + ERFC_COF[j];
    dd = tmp;
  }
  const r = t * Math.exp(-z * z + 0.5 * (ERFC_COF[0] + ty * d) - dd);
  return x >= 0 ? r : 2 - r;
}

const ERFC_COF = [-1.3026537197817094, 6.4196979235649026e-1, 1.9476473204185836e-2, -9.561514786808631e-3,
  -9.46595344482036e-4, 3.66839497852761e-4, 4.2523324806907e-5, -2.0278578112534e-5, -1.624290004647e-6,
  1.303655835580e-6, 1.5626441722e-8, -8.5238095915e-8, 6.529054439e-9, 5.059343495e-9, -9.91364156e-10,
  -2.27365122e-10, 9.6467911e-11, 2.394038e-12, -6.886027e-12, 8.94487e-13, 3.13092e-13, -1.12708e-13,
  3.81e-16, 7.106e-15, -1.523e-15, -9.4e-17, 1.21e-16, -2.8e-17];

/** Inverse standard normal CDF (Acklam's rational approximation refined by one Halley step). */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.383577518672690e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lowP = 0.02425;
  let x: number;
  if (p < lowP) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - lowP) {
    const q = p - 0.5, r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  // One Halley step on Φ(x) − p brings the error to ~1e-15.
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/**
 * Jackknife values of a statistic: `values[j]` is the statistic with one row of kind j left
 * out, `counts[j]` how many rows are of that kind (rows whose removal gives the same value may
 * share one entry, so a statistic of tallies needs one entry per distinct kind of row).
 */
export interface Jackknife {
  values: ArrayLike<number>;
  counts: ArrayLike<number>;
}

/** BCa acceleration from jackknife values: Σ m(θ̄ − θᵢ)³ / (6 (Σ m(θ̄ − θᵢ)²)^{3/2}); 0 when undefined. */
export function jackknifeAcceleration(jk: Jackknife): number {
  let n = 0, sum = 0;
  for (let j = 0; j < jk.values.length; j++) {
    const v = jk.values[j], m = jk.counts[j];
    if (m === 0) continue;
    if (!Number.isFinite(v)) return 0;
    n += m; sum += m * v;
  }
  if (n === 0) return 0;
  const mean = sum / n;
  let s2 = 0, s3 = 0;
  for (let j = 0; j < jk.values.length; j++) {
    const m = jk.counts[j];
    if (m === 0) continue;
    const dlt = mean - jk.values[j];
    s2 += m * dlt * dlt;
    s3 += m * dlt * dlt * dlt;
  }
  if (!(s2 > 0)) return 0;
  const a = s3 / (6 * Math.pow(s2, 1.5));
  return Number.isFinite(a) ? a : 0;
}

export interface BootstrapInterval {
  low: number;
  high: number;
  /** Mean of the finite resamples minus the estimate. */
  bias: number;
  method: 'bca' | 'percentile';
  /** True when an endpoint was moved to the estimate (see the module comment). */
  extended: boolean;
  /** Finite resamples the interval was read from. */
  resamples: number;
}

export interface IntervalOptions {
  level?: number;
  /** 'bca' (needs `jackknife` for the acceleration; without it a = 0) or 'percentile'. */
  method?: 'bca' | 'percentile';
  jackknife?: Jackknife;
  /** Fewer finite resamples than this give [NaN, NaN] (default 1). */
  minResamples?: number;
}

/**
 * A central bootstrap interval for `estimate` from its resampled values (non-finite ones are
 * left out). Always contains a finite estimate; [NaN, NaN] when the estimate is not finite or
 * too few resamples are finite.
 */
export function bootstrapInterval(resamples: ArrayLike<number>, estimate: number, opts: IntervalOptions = {}): BootstrapInterval {
  const level = opts.level ?? 0.95;
  const method = opts.method ?? 'bca';
  const sorted = sortedFinite(resamples);
  const B = sorted.length;
  const empty: BootstrapInterval = { low: NaN, high: NaN, bias: NaN, method, extended: false, resamples: B };
  if (!Number.isFinite(estimate) || B === 0 || B < (opts.minResamples ?? 1)) return empty;
  let sum = 0, below = 0, equal = 0;
  for (let i = 0; i < B; i++) {
    const v = sorted[i];
    sum += v;
    if (v < estimate) below++;
    else if (v === estimate) equal++;
  }
  const bias = sum / B - estimate;
  const tail = (1 - level) / 2;
  let qLo = tail, qHi = 1 - tail;
  if (method === 'bca') {
    const z0 = normalQuantile((below + 0.5 * equal) / B);
    if (Number.isFinite(z0)) {
      const a = opts.jackknife ? jackknifeAcceleration(opts.jackknife) : 0;
      const adjust = (q: number) => {
        const z = normalQuantile(q);
        const den = 1 - a * (z0 + z);
        // A denominator ≤ 0 only happens for |a| far beyond any real statistic's; keep the tail.
        return den > 0 ? normalCdf(z0 + (z0 + z) / den) : q;
      };
      qLo = adjust(tail);
      qHi = adjust(1 - tail);
    }
  }
  let low = quantileSorted(sorted, qLo);
  let high = quantileSorted(sorted, qHi);
  let extended = false;
  if (low > estimate) { low = estimate; extended = true; }
  if (high < estimate) { high = estimate; extended = true; }
  return { low, high, bias, method, extended, resamples: B };
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error ~1e-15). */
function logGamma(x: number): number {
  const g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  x -= 1;
  let a = g[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += g[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularised incomplete beta I_x(a, b) by Lentz's continued fraction (Numerical Recipes' betacf). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  const front = Math.exp(a * Math.log(x) + b * Math.log(1 - x) - (logGamma(a) + logGamma(b) - logGamma(a + b))) / a;
  const tiny = 1e-300;
  let c = 1, d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let f = d;
  for (let m = 1; m <= 300; m++) {
    for (const step of [0, 1]) {
      const num = step === 0
        ? (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m))
        : -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
      d = 1 + num * d;
      if (Math.abs(d) < tiny) d = tiny;
      c = 1 + num / c;
      if (Math.abs(c) < tiny) c = tiny;
      d = 1 / d;
      f *= c * d;
    }
    if (Math.abs(c * d - 1) < 1e-15) break;
  }
  return front * f;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t with `df` degrees of freedom (bisection on the CDF to ~1e-12). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) return NaN;
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0, hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * The mean of a few values with its Student t interval, mean ± t(1 − α/2, n − 1) · s / √n: for
 * 3–5 values (a challenge's variant pools) a bootstrap has too few distinct resamples (10 for
 * n = 3) and its percentile interval is too narrow, while t assumes roughly normal values and
 * widens for small n as it should. Symmetric, so it always contains the mean; null bounds
 * for fewer than 2 values (no spread to judge).
 */
export function studentTInterval(values: ArrayLike<number>, level = 0.95): { mean: number; std: number; low: number | null; high: number | null; df: number } {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  const mean = n ? sum / n : NaN;
  if (n < 2) return { mean, std: NaN, low: null, high: null, df: 0 };
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  const std = Math.sqrt(ss / (n - 1));
  const half = studentTQuantile(1 - (1 - level) / 2, n - 1) * (std / Math.sqrt(n));
  return { mean, std, low: mean - half, high: mean + half, df: n - 1 };
}
