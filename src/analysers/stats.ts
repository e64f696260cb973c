/**
 * The chi-squared distribution's upper tail, for the class-imbalance analyser's train/test
 * label-shift test. Quantiles and bootstrap intervals live in compute/stats.ts.
 */

/** ln Γ(x) by the Lanczos approximation (g = 7, 9 terms), accurate to ~1e-15 for x > 0. */
export function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61503916999185, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularised upper incomplete gamma Q(s, x) (series below s + 1, continued fraction above). */
export function gammaQ(s: number, x: number): number {
  if (x <= 0) return 1;
  if (x < s + 1) {
    let sum = 1 / s, term = sum;
    for (let n = 1; n < 1000; n++) {
      term *= x / (s + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return Math.max(0, 1 - sum * Math.exp(-x + s * Math.log(x) - logGamma(s)));
  }
  // Lentz's continued fraction.
  let b = x + 1 - s, c = 1 / 1e-300, d = 1 / b, h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - s);
    b += 2;
    d = an * d + b; if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c; if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.min(1, Math.exp(-x + s * Math.log(x) - logGamma(s)) * h);
}

/** P(χ²_df ≥ x). */
export function chiSquaredSurvival(x: number, df: number): number {
  if (df <= 0) return NaN;
  return gammaQ(df / 2, x / 2);
}

/**
 * Pearson's chi-squared test of homogeneity on a 2 × k table of counts (columns with zero
 * total are dropped). Returns the statistic, degrees of freedom and p-value.
 */
export function chiSquaredHomogeneity(a: ArrayLike<number>, b: ArrayLike<number>): { statistic: number; df: number; pValue: number } {
  let na = 0, nb = 0;
  for (let j = 0; j < a.length; j++) { na += a[j]; nb += b[j]; }
  const n = na + nb;
  let stat = 0;
  let cols = 0;
  for (let j = 0; j < a.length; j++) {
    const col = a[j] + b[j];
    if (col === 0) continue;
    cols++;
    const ea = (na * col) / n, eb = (nb * col) / n;
    stat += (a[j] - ea) ** 2 / ea + (b[j] - eb) ** 2 / eb;
  }
  const df = cols - 1;
  return { statistic: stat, df, pValue: df > 0 && na > 0 && nb > 0 ? chiSquaredSurvival(stat, df) : NaN };
}
