/**
 * Confident learning (Northcutt, Jiang & Chuang, JAIR 2021) on typed arrays, following the
 * semantics of cleanlab's `count.compute_confident_joint` and `filter.find_label_issues`:
 *
 * - per-class threshold t_j = mean of p_j over the rows whose given label is j;
 * - a row is "confidently" of class j when p_j ≥ t_j − 1e-6; with several such classes the
 *   argmax of p wins; rows confident of no class are not counted;
 * - the confident joint C[given][guess] counts those rows (diagonal clipped to ≥ 1), then is
 *   calibrated so each row sums to the given-label count and the whole to n, rounded while
 *   preserving row totals;
 * - pruning: `prune_by_noise_rate` (for each off-diagonal cell (i, j) of C, flag the C[i][j]
 *   rows labelled i with the largest margin p_j − p_i), `prune_by_class` (flag the
 *   n_i − C[i][i] rows labelled i with the smallest p_i), `both` (intersection),
 *   `confident_learning` (the off-diagonal rows of the confident joint), `predicted_neq_given`
 *   (argmax ≠ given label); then no row whose argmax equals its given label (within 1e-6, as
 *   cleanlab's _reduce_issues) is flagged;
 * - `low_normalized_margin` / `low_self_confidence`: the rows with the lowest normalized margin
 *   / self-confidence, as many as the off-diagonal rows of the uncalibrated confident joint
 *   whose argmax is not their given label (cleanlab's `num_label_issues` default), without the
 *   argmax rule.
 *
 * Ties are broken by row index (numpy's argsort is not stable, so cleanlab may pick
 * differently between rows with exactly equal scores; nothing else differs).
 */

export type FilterBy =
  | 'prune_by_noise_rate' | 'prune_by_class' | 'both' | 'confident_learning' | 'predicted_neq_given'
  | 'low_normalized_margin' | 'low_self_confidence';
export const FILTERS: readonly FilterBy[] = [
  'prune_by_noise_rate', 'prune_by_class', 'both', 'confident_learning', 'predicted_neq_given', 'low_normalized_margin', 'low_self_confidence',
];

/** Row-major n × k class probabilities with their given labels. */
export interface LabelledProba {
  labels: Int32Array;
  proba: Float32Array;
  n: number;
  k: number;
}

/** Index of the largest entry of row i (first one on ties, like numpy.argmax). */
export function argmaxRow(proba: Float32Array, i: number, k: number): number {
  const o = i * k;
  let best = 0;
  let bv = proba[o];
  for (let j = 1; j < k; j++) if (proba[o + j] > bv) { bv = proba[o + j]; best = j; }
  return best;
}

/** The class of row i's largest probability among the classes that can be a guess (cut not Infinity; the first on ties, as numpy's argmax): argmaxRow when every class can. */
function argmaxAmong(proba: Float32Array, i: number, k: number, cut: Float64Array): number {
  let best = -1;
  for (let j = 0; j < k; j++) if (cut[j] !== Infinity && (best < 0 || proba[i * k + j] > proba[i * k + best])) best = j;
  return best < 0 ? argmaxRow(proba, i, k) : best;
}

export function labelCounts(labels: Int32Array, k: number): Int32Array {
  const c = new Int32Array(k);
  for (let i = 0; i < labels.length; i++) c[labels[i]]++;
  return c;
}

/** t_j = mean p_j over rows labelled j; classes with no rows get 2 (never confident), as cleanlab. */
export function confidentThresholds({ labels, proba, n, k }: LabelledProba): Float64Array {
  const sum = new Float64Array(k);
  const cnt = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    sum[y] += proba[i * k + y];
    cnt[y]++;
  }
  const t = new Float64Array(k);
  for (let j = 0; j < k; j++) t[j] = cnt[j] > 0 ? Math.max(sum[j] / cnt[j], 1e-6) : 2;
  return t;
}

/**
 * Rounds floats to integers keeping their (rounded) sum: round half to even first, then move
 * the largest residuals up (or the smallest down) until the sum matches — cleanlab's
 * round_preserving_sum, equal residuals in numpy's order (the later index first going up, the
 * earlier going down).
 */
export function roundPreservingSum(floats: Float64Array): Float64Array {
  const m = floats.length;
  const ints = new Float64Array(m);
  let isum = 0;
  for (let i = 0; i < m; i++) {
    ints[i] = roundHalfEven(floats[i]);
    isum += ints[i];
  }
  const target = roundHalfEven(numpySum(floats));
  while (Math.abs(isum - target) > 1e-6) {
    const diff = Math.round(target - isum);
    const inc = diff < 0 ? -1 : 1;
    const changes = Math.min(Math.abs(diff), m);
    const order = Array.from({ length: m }, (_, i) => i);
    const res = (i: number) => floats[i] - ints[i];
    // inc = +1: largest residual first; inc = −1: smallest residual first. numpy's
    // argsort(residuals)[::-inc] (stable on these short rows): ascending with ties by index,
    // reversed for inc = +1, so equal residuals go to the later index first there.
    order.sort((a, b) => (inc > 0 ? res(b) - res(a) || b - a : res(a) - res(b) || a - b));
    for (let c = 0; c < changes; c++) ints[order[c]] += inc;
    isum = 0;
    for (let i = 0; i < m; i++) isum += ints[i];
  }
  return ints;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; numpy rounds .5 to the even neighbour.
  if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

function roundRows(M: Float64Array, k: number): Int32Array {
  const out = new Int32Array(k * k);
  for (let i = 0; i < k; i++) {
    const row = roundPreservingSum(M.subarray(i * k, i * k + k));
    for (let j = 0; j < k; j++) out[i * k + j] = row[j];
  }
  return out;
}

/**
 * numpy's sum of a contiguous float64 array (pairwise: 8 running sums per block of up to 128,
 * halves above), so that rounding decisions taken on a sum match cleanlab's to the last bit.
 */
export function numpySum(a: Float64Array, start = 0, n = a.length - start): number {
  if (n < 8) {
    let r = 0;
    for (let i = 0; i < n; i++) r += a[start + i];
    return r;
  }
  if (n <= 128) {
    const r = [a[start], a[start + 1], a[start + 2], a[start + 3], a[start + 4], a[start + 5], a[start + 6], a[start + 7]];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return numpySum(a, start, n2) + numpySum(a, start + n2, n - n2);
}

/**
 * Scales C so row i sums to the count of label i and the total is n, then rounds per row.
 * The operations follow cleanlab's calibrate_confident_joint in order (C / row sum × count,
 * then / total × n), so that a tie in the rounding falls the same way.
 */
export function calibrateConfidentJoint(C: Int32Array, counts: Int32Array, k: number): Int32Array {
  const M = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    let rs = 0;
    for (let j = 0; j < k; j++) rs += C[i * k + j];
    const div = Math.max(rs, 1e-100);
    for (let j = 0; j < k; j++) M[i * k + j] = (C[i * k + j] / div) * counts[i];
  }
  let n = 0;
  for (let i = 0; i < k; i++) n += counts[i];
  // cleanlab sums the transposed product (a column-major view of M), in memory order.
  const Mt = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) Mt[j * k + i] = M[i * k + j];
  const total = Math.max(numpySum(Mt), 1e-100);
  for (let x = 0; x < k * k; x++) M[x] = (M[x] / total) * n;
  return roundRows(M, k);
}

export interface ConfidentJoint {
  /** k × k, row = given label, column = confident guess of the true label (calibrated if asked). */
  joint: Int32Array;
  thresholds: Float64Array;
  /** Rows counted off the diagonal (confident of a class other than their label), ascending. */
  offDiagonal: Int32Array;
  /** Per row: the confident guess, or −1 when the row is confident of no class. */
  guess: Int32Array;
}

/**
 * `minClassRows` (default 0: cleanlab's rule): a class with fewer given labels is no row's
 * confident guess. Its threshold is the mean probability on a handful of rows, near 0 where
 * the model barely learns the class, and every uncertain row of another class would clear it.
 */
export function computeConfidentJoint(lp: LabelledProba, opts: { calibrate?: boolean; minClassRows?: number } = {}): ConfidentJoint {
  const { labels, proba, n, k } = lp;
  const thresholds = confidentThresholds(lp);
  const counts = labelCounts(labels, k);
  const cut = Float64Array.from(thresholds, (t, j) => (counts[j] < (opts.minClassRows ?? 0) ? Infinity : t));
  const C = new Int32Array(k * k);
  const guess = new Int32Array(n);
  const off: number[] = [];
  for (let i = 0; i < n; i++) {
    const o = i * k;
    let confident = 0;
    let first = -1;
    for (let j = 0; j < k; j++) {
      if (proba[o + j] >= cut[j] - 1e-6) { confident++; if (first < 0) first = j; }
    }
    if (confident === 0) { guess[i] = -1; continue; }
    const g = confident > 1 ? argmaxAmong(proba, i, k, cut) : first;
    guess[i] = g;
    C[labels[i] * k + g]++;
    if (g !== labels[i]) off.push(i);
  }
  for (let j = 0; j < k; j++) if (C[j * k + j] < 1) C[j * k + j] = 1;
  const joint = opts.calibrate === false ? C : calibrateConfidentJoint(C, counts, k);
  return { joint, thresholds, offDiagonal: Int32Array.from(off), guess };
}

/**
 * cleanlab's _keep_at_least_n_per_class on the prune-count matrix P = Cᵀ (row = true label,
 * column = given label): raise each diagonal entry to at least `minPerClass`, taking the
 * difference evenly from the column's non-zero noise entries; then scale noise entries by
 * fracNoise (moving the removed mass to the diagonal) and round preserving row totals.
 */
export function pruneCountMatrix(joint: Int32Array, k: number, minPerClass: number, fracNoise: number): Int32Array {
  const P = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) P[i * k + j] = joint[j * k + i];
  const M = new Float64Array(k * k);
  for (let col = 0; col < k; col++) {
    const diag = P[col * k + col];
    const newDiag = Math.max(diag, minPerClass);
    const diff = newDiag - diag;
    let nonzero = 0;
    for (let r = 0; r < k; r++) if (P[r * k + col] !== 0) nonzero++;
    const per = diff / Math.max(nonzero - 1, 1);
    for (let r = 0; r < k; r++) {
      const v = r === col ? newDiag : P[r * k + col] - per;
      M[r * k + col] = v < 0 ? 0 : v;
    }
  }
  // _reduce_prune_counts: noise × fracNoise, diagonal absorbs the removed mass; truncate to int.
  const R = new Float64Array(k * k);
  for (let col = 0; col < k; col++) {
    let removed = 0;
    for (let r = 0; r < k; r++) {
      if (r === col) continue;
      const v = M[r * k + col] * fracNoise;
      removed += M[r * k + col] - v;
      R[r * k + col] = Math.trunc(v);
    }
    R[col * k + col] = Math.trunc(M[col * k + col] + removed);
  }
  return roundRows(R, k);
}

export interface FindOptions {
  filterBy?: FilterBy;
  /** Classes with at most this many rows are not pruned (cleanlab default 1). */
  minExamplesPerClass?: number;
  /** Share of the estimated issues to flag (1 = all; cleanlab default). */
  fracNoise?: number;
  /** A precomputed confident joint (calibrated), to avoid recomputing it. */
  confident?: ConfidentJoint;
}

/** Boolean mask (1 = likely label error) over the n rows. */
export function findLabelIssues(lp: LabelledProba, opts: FindOptions = {}): Uint8Array {
  const { labels, proba, n, k } = lp;
  const filterBy = opts.filterBy ?? 'prune_by_noise_rate';
  const minPer = opts.minExamplesPerClass ?? 1;
  const frac = opts.fracNoise ?? 1;
  const cj = opts.confident ?? computeConfidentJoint(lp);
  const mask = new Uint8Array(n);

  if (filterBy === 'low_normalized_margin' || filterBy === 'low_self_confidence') {
    const quality = filterBy === 'low_normalized_margin' ? normalizedMargin(lp) : selfConfidence(lp);
    const order = rankByQuality(quality);
    const num = numLabelIssues(lp, cj);
    for (let t = 0; t < num; t++) mask[order[t]] = 1;
    return mask;
  }
  if (filterBy === 'confident_learning') {
    for (const i of cj.offDiagonal) mask[i] = 1;
  } else if (filterBy === 'predicted_neq_given') {
    for (let i = 0; i < n; i++) if (argmaxRow(proba, i, k) !== labels[i]) mask[i] = 1;
  } else {
    const P = pruneCountMatrix(cj.joint, k, minPer, frac);
    const rowsOf: number[][] = Array.from({ length: k }, () => []);
    for (let i = 0; i < n; i++) rowsOf[labels[i]].push(i);
    const byClass = new Uint8Array(n);
    const byNoise = new Uint8Array(n);
    for (let given = 0; given < k; given++) {
      const rows = rowsOf[given];
      if (rows.length <= minPer) continue;
      if (filterBy === 'prune_by_class' || filterBy === 'both') {
        const num = rows.length - P[given * k + given];
        if (num >= 1) {
          const sorted = rows.slice().sort((a, b) => proba[a * k + given] - proba[b * k + given] || a - b);
          for (let t = 0; t < Math.min(num, sorted.length); t++) byClass[sorted[t]] = 1;
        }
      }
      if (filterBy === 'prune_by_noise_rate' || filterBy === 'both') {
        for (let truth = 0; truth < k; truth++) {
          const num = P[truth * k + given];
          if (truth === given || num <= 0) continue;
          const margin = (i: number) => proba[i * k + truth] - proba[i * k + given];
          const sorted = rows.slice().sort((a, b) => margin(b) - margin(a) || a - b);
          for (let t = 0; t < Math.min(num, sorted.length); t++) byNoise[sorted[t]] = 1;
        }
      }
    }
    for (let i = 0; i < n; i++) {
      mask[i] = filterBy === 'prune_by_class' ? byClass[i]
        : filterBy === 'prune_by_noise_rate' ? byNoise[i]
          : byClass[i] & byNoise[i];
    }
  }
  // A row the model predicts as its given label is never flagged.
  for (let i = 0; i < n; i++) if (mask[i] && predictedAsGiven(lp, i)) mask[i] = 0;
  return mask;
}

/**
 * Whether row i's argmax is its given label once p_given is raised by 1e-6 (cleanlab's
 * count._reduce_issues, FLOATING_POINT_COMPARISON): a row whose given label is within 1e-6 of
 * the top probability counts as predicted as given. numpy's argmax takes the first maximum,
 * so an equal probability of an earlier class still wins.
 */
export function predictedAsGiven({ labels, proba, k }: LabelledProba, i: number): boolean {
  const o = i * k, y = labels[i];
  const py = proba[o + y] + 1e-6;
  for (let j = 0; j < k; j++) {
    if (j === y) continue;
    if (j < y ? proba[o + j] >= py : proba[o + j] > py) return false;
  }
  return true;
}

/**
 * cleanlab's `num_label_issues` (estimation 'off_diagonal'): rows off the diagonal of the
 * uncalibrated confident joint whose argmax is not their given label.
 */
export function numLabelIssues(lp: LabelledProba, cj: ConfidentJoint = computeConfidentJoint(lp)): number {
  let num = 0;
  for (const i of cj.offDiagonal) if (!predictedAsGiven(lp, i)) num++;
  return num;
}

/** p[given label] per row. */
export function selfConfidence({ labels, proba, n, k }: LabelledProba): Float64Array {
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = proba[i * k + labels[i]];
  return s;
}

/** (p[given] − max_{j ≠ given} p_j + 1) / 2 per row, in [0, 1]. */
export function normalizedMargin({ labels, proba, n, k }: LabelledProba): Float64Array {
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * k;
    const y = labels[i];
    let other = -Infinity;
    for (let j = 0; j < k; j++) if (j !== y && proba[o + j] > other) other = proba[o + j];
    if (k === 1) other = 0;
    s[i] = (proba[o + y] - other + 1) / 2;
  }
  return s;
}

/** Row indices ordered from the lowest quality score up (index order on ties). */
export function rankByQuality(quality: Float64Array, rows?: ArrayLike<number>): Int32Array {
  const idx = rows ? Int32Array.from(rows) : Int32Array.from({ length: quality.length }, (_, i) => i);
  return idx.sort((a, b) => quality[a] - quality[b] || a - b);
}
