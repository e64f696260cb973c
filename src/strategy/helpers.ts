/**
 * The helper library code strategies get as `ctx.helpers`: small, exact, deterministic
 * building blocks (ties always broken by the lower row index, randomness only from the Rng
 * passed in). Bundled into the sandbox's child script, so it imports nothing but the seeded
 * RNG; docs/strategies.md lists every function.
 */
import { createRng, type Rng } from '../../compute/rng.ts';
import { fitIdf, hashTexts, TEXT_DIMS, writeTfidf } from '../../compute/text-features.ts';
import type { FeatureColumn } from './context.ts';

type Scores = ArrayLike<number>;
type Rows = Float32Array | Float64Array | Uint8Array;

/** Row indices ordered by score (ascending unless `descending`), ties by index; NaN last. */
export function argsort(scores: Scores, opts: { descending?: boolean } = {}): Int32Array {
  const n = scores.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const sign = opts.descending ? -1 : 1;
  order.sort((a, b) => {
    const x = scores[a];
    const y = scores[b];
    const xn = Number.isNaN(x);
    const yn = Number.isNaN(y);
    if (xn || yn) return xn === yn ? a - b : xn ? 1 : -1;
    return x === y ? a - b : x < y ? -sign : sign;
  });
  return order;
}

/** The k rows of highest score (lowest with `smallest`), best first, ties by index. */
export function topK(scores: Scores, k: number, opts: { smallest?: boolean } = {}): Int32Array {
  return argsort(scores, { descending: !opts.smallest }).slice(0, Math.max(0, Math.min(k, scores.length)));
}

/** Rows per class. */
export function classCounts(labels: Int32Array, classCount: number): Int32Array {
  const counts = new Int32Array(classCount);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  return counts;
}

/**
 * How many rows to take from each class for a budget: as equal as possible, no class given
 * more than it has, what a small class cannot use shared among the others; the remainder of
 * an uneven split goes to the lowest class indices. Sums to min(budget, rows).
 */
export function perClassQuotas(labels: Int32Array, classCount: number, budget: number): Int32Array {
  return balancedQuotas(classCounts(labels, classCount), budget);
}

/** perClassQuotas for arbitrary strata sizes (water-filling: the highest equal level that fits). */
export function balancedQuotas(sizes: Int32Array, budget: number): Int32Array {
  const k = sizes.length;
  let total = 0;
  let most = 0;
  for (let c = 0; c < k; c++) {
    total += sizes[c];
    if (sizes[c] > most) most = sizes[c];
  }
  const want = Math.min(Math.max(0, Math.floor(budget)), total);
  const filled = (level: number) => {
    let s = 0;
    for (let c = 0; c < k; c++) s += Math.min(sizes[c], level);
    return s;
  };
  // The highest level L with sum(min(size, L)) <= want; the rest goes one each to the lowest
  // classes that have more than L rows.
  let lo = 0;
  let hi = most;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (filled(mid) <= want) lo = mid;
    else hi = mid - 1;
  }
  const quota = new Int32Array(k);
  let rest = want - filled(lo);
  for (let c = 0; c < k; c++) {
    quota[c] = Math.min(sizes[c], lo);
    if (rest > 0 && sizes[c] > lo) {
      quota[c]++;
      rest--;
    }
  }
  return quota;
}

/**
 * Walks `order` (row indices, best first) and keeps each row whose stratum (`strata[row]`,
 * e.g. ctx.labels) still has quota left; returns the kept rows in walk order.
 */
export function takeByQuota(order: ArrayLike<number>, strata: Int32Array, quotas: Int32Array): Int32Array {
  const left = Int32Array.from(quotas);
  let total = 0;
  for (let c = 0; c < left.length; c++) total += left[c];
  const out: number[] = [];
  for (let i = 0; i < order.length && out.length < total; i++) {
    const row = order[i];
    const s = strata[row];
    if (s >= 0 && left[s] > 0) {
      left[s]--;
      out.push(row);
    }
  }
  return Int32Array.from(out);
}

/**
 * A random sample of `budget` rows drawn within strata (codes >= 0; rows coded -1 are never
 * drawn): equal shares per stratum (`allocation: 'equal'`, the default) or shares in
 * proportion to the strata sizes (largest remainders, ties to the lower code). Ascending row order.
 */
export function stratifiedSample(
  strata: Int32Array,
  budget: number,
  random: Rng,
  opts: { allocation?: 'equal' | 'proportional' } = {},
): Int32Array {
  let k = 0;
  for (let i = 0; i < strata.length; i++) if (strata[i] + 1 > k) k = strata[i] + 1;
  const sizes = new Int32Array(k);
  for (let i = 0; i < strata.length; i++) if (strata[i] >= 0) sizes[strata[i]]++;
  let quotas: Int32Array;
  if (opts.allocation === 'proportional') {
    let total = 0;
    for (let c = 0; c < k; c++) total += sizes[c];
    const want = Math.min(Math.max(0, Math.floor(budget)), total);
    quotas = new Int32Array(k);
    const rest: { c: number; r: number }[] = [];
    let given = 0;
    for (let c = 0; c < k; c++) {
      const exact = total ? (want * sizes[c]) / total : 0;
      quotas[c] = Math.floor(exact);
      given += quotas[c];
      rest.push({ c, r: exact - quotas[c] });
    }
    rest.sort((a, b) => b.r - a.r || a.c - b.c);
    for (let j = 0; given < want && j < rest.length; j++, given++) quotas[rest[j].c]++;
  } else {
    quotas = balancedQuotas(sizes, budget);
  }
  const order = random.permutation(strata.length);
  return takeByQuota(order, strata, quotas).sort();
}

/**
 * Greedy k-center coverage (Sener & Savarese's core-set selection): repeatedly takes the row
 * farthest (squared Euclidean) from everything taken so far. Starts from `initial` rows when
 * given, else from `first` (default: row 0). `candidates` restricts which rows may be taken.
 * O(n · k · dim): project wide rows first (randomProjection) on large pools.
 */
export function kCenterGreedy(
  rows: Rows,
  dim: number,
  k: number,
  opts: { first?: number; initial?: ArrayLike<number>; candidates?: ArrayLike<number> } = {},
): Int32Array {
  const n = Math.floor(rows.length / dim);
  if (!(dim > 0) || n * dim !== rows.length) throw new RangeError(`kCenterGreedy: ${rows.length} values are not rows of dim ${dim}`);
  const cand = opts.candidates ? Int32Array.from(opts.candidates) : null;
  const m = cand ? cand.length : n;
  const want = Math.max(0, Math.min(k, m));
  const dist = new Float64Array(m).fill(Infinity);
  const taken = new Uint8Array(m);
  const out: number[] = [];
  const rowOf = (j: number) => (cand ? cand[j] : j);
  const update = (center: number) => {
    const c0 = center * dim;
    for (let j = 0; j < m; j++) {
      if (taken[j]) continue;
      const r0 = rowOf(j) * dim;
      let s = 0;
      for (let t = 0; t < dim; t++) {
        const diff = rows[r0 + t] - rows[c0 + t];
        s += diff * diff;
      }
      if (s < dist[j]) dist[j] = s;
    }
  };
  const position = new Map<number, number>();
  if (cand) for (let j = 0; j < m; j++) position.set(cand[j], j);
  const take = (row: number) => {
    const j = cand ? position.get(row) : row;
    if (j !== undefined && !taken[j]) {
      taken[j] = 1;
      out.push(row);
    }
    update(row);
  };
  const initial = opts.initial ? Array.from(opts.initial) : [];
  for (const row of initial) update(row);
  if (!initial.length && want > 0) take(cand ? cand[Math.min(opts.first ?? 0, m - 1)] : Math.min(opts.first ?? 0, n - 1));
  while (out.length < want) {
    let best = -1;
    let bestDist = -1;
    for (let j = 0; j < m; j++) if (!taken[j] && dist[j] > bestDist) { bestDist = dist[j]; best = j; }
    if (best < 0) break;
    take(rowOf(best));
  }
  return Int32Array.from(out);
}

/**
 * Rows projected onto `outDim` seeded Gaussian directions (scaled by 1/sqrt(outDim)), which
 * keeps Euclidean distances roughly (Johnson–Lindenstrauss). Returns n × outDim.
 */
export function randomProjection(rows: Rows, dim: number, outDim: number, seed: number): Float32Array {
  const n = Math.floor(rows.length / dim);
  const rng = createRng(seed);
  const proj = new Float64Array(dim * outDim);
  const scale = 1 / Math.sqrt(outDim);
  for (let i = 0; i < proj.length; i++) proj[i] = rng.normal() * scale;
  const out = new Float32Array(n * outDim);
  for (let i = 0; i < n; i++) {
    const r0 = i * dim;
    for (let o = 0; o < outDim; o++) {
      let s = 0;
      for (let t = 0; t < dim; t++) s += rows[r0 + t] * proj[t * outDim + o];
      out[i * outDim + o] = s;
    }
  }
  return out;
}

/**
 * Every feature column as one numeric matrix, n × dim row-major, for distances: numeric
 * columns standardised (missing → 0, the mean), categorical ones one-hot (missing → all 0),
 * embeddings as they are, pixels scaled to [0, 1], text as the reader's hashed TF-IDF (IDF fitted on these rows). Wider than `maxDim`
 * (default 32), the matrix is randomProjection'ed to `maxDim` with `seed`. Throws when no
 * column can be used.
 */
export function featureRows(
  columns: Record<string, FeatureColumn>,
  n: number,
  opts: { maxDim?: number; seed?: number } = {},
): { rows: Float32Array; dim: number } {
  const blocks: { dim: number; put: (i: number, out: Float32Array, at: number) => void }[] = [];
  for (const name of Object.keys(columns).sort()) {
    const c = columns[name];
    if (c.kind === 'numeric') {
      let sum = 0, sq = 0, m = 0;
      for (const v of c.values) if (!Number.isNaN(v)) { sum += v; sq += v * v; m++; }
      const mean = m ? sum / m : 0;
      const sd = m ? Math.sqrt(Math.max(0, sq / m - mean * mean)) : 0;
      const scale = sd > 0 ? 1 / sd : 0;
      blocks.push({ dim: 1, put: (i, out, at) => { const v = c.values[i]; out[at] = Number.isNaN(v) ? 0 : (v - mean) * scale; } });
    } else if (c.kind === 'categorical') {
      blocks.push({ dim: c.categories.length, put: (i, out, at) => { if (c.codes[i] >= 0) out[at + c.codes[i]] = 1; } });
    } else if (c.kind === 'embedding' || c.kind === 'pixels') {
      const d = c.dim, scale = c.kind === 'pixels' ? 1 / 255 : 1;
      blocks.push({ dim: d, put: (i, out, at) => { for (let t = 0; t < d; t++) out[at + t] = c.values[i * d + t] * scale; } });
    } else if (c.kind === 'text') {
      // The pool reader's hashed TF-IDF (compute/text-features.ts), IDF fitted on these rows.
      const h = hashTexts(c.values);
      const X = new Float32Array(n * TEXT_DIMS);
      writeTfidf(h, fitIdf(h), X, TEXT_DIMS, 0);
      blocks.push({ dim: TEXT_DIMS, put: (i, out, at) => out.set(X.subarray(i * TEXT_DIMS, (i + 1) * TEXT_DIMS), at) });
    }
  }
  const dim = blocks.reduce((s, b) => s + b.dim, 0);
  if (!dim) throw new RangeError('featureRows: no numeric, categorical, embedding, pixels or text column');
  const rows = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let at = i * dim;
    for (const b of blocks) { b.put(i, rows, at); at += b.dim; }
  }
  const maxDim = opts.maxDim ?? 32;
  return dim > maxDim ? { rows: randomProjection(rows, dim, maxDim, opts.seed ?? 0), dim: maxDim } : { rows, dim };
}

/** Per-row margin of out-of-sample probabilities (n × k): best minus second best. Small = uncertain. */
export function margins(probabilities: Float32Array | Float64Array, classCount: number): Float64Array {
  const n = Math.floor(probabilities.length / classCount);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let a = -Infinity;
    let b = -Infinity;
    for (let c = 0; c < classCount; c++) {
      const p = probabilities[i * classCount + c];
      if (p > a) { b = a; a = p; } else if (p > b) b = p;
    }
    out[i] = a - (classCount > 1 ? b : 0);
  }
  return out;
}

/** Per-row argmax class of n × k probabilities (ties to the lower class). */
export function argmaxRows(probabilities: Float32Array | Float64Array, classCount: number): Int32Array {
  const n = Math.floor(probabilities.length / classCount);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classCount; c++) if (probabilities[i * classCount + c] > probabilities[i * classCount + best]) best = c;
    out[i] = best;
  }
  return out;
}

export const strategyHelpers = {
  argsort,
  topK,
  classCounts,
  perClassQuotas,
  balancedQuotas,
  takeByQuota,
  stratifiedSample,
  kCenterGreedy,
  randomProjection,
  featureRows,
  margins,
  argmaxRows,
  createRng,
};
export type StrategyHelpers = typeof strategyHelpers;
