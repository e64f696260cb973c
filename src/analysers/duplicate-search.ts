/**
 * The searches behind the duplicates analyser:
 *
 * - exact duplicates: rows whose content is identical on the raw values (raw pixels when the
 *   pool has them, else every numeric and one-hot feature value, plus any text columns),
 *   grouped by a 64-bit hash and then compared byte for byte, so a hash collision can never
 *   merge different rows;
 * - near duplicates, with a metric that means something for the kind of features:
 *   - `cosine` for embeddings and pixels (16 or more vector dimensions): pairs with cosine
 *     similarity ≥ a threshold on standardised, L2-normalised rows. Exact all-pairs up to
 *     `exactMaxRows` rows; for wide rows (d > 64) through an exact bound: with u = P u + r
 *     (projection on principal directions + residual), u·v ≤ Pu·Pv + ‖r_u‖‖r_v‖, so searching
 *     [Pu, ‖r_u‖] for scores ≥ threshold finds every pair, then verified on the full rows.
 *     Beyond `exactMaxRows` an LSH index (compute/ann-index.ts) with measured recall;
 *   - `euclidean` for tabular rows (numeric and one-hot categorical columns) and any rows of
 *     fewer than 16 dimensions, where angles say little: standardised Euclidean distance
 *     relative to the median nearest-neighbour distance (as cleanlab's near_duplicate check),
 *     with a threshold that chance alone would reach for about `falseRows` rows of a pool
 *     without duplicates (see `euclideanScale`), found exactly by compute/radius.ts;
 * - clusters that cannot chain: greedy complete linkage over the near pairs (strongest first),
 *   so every two members of a reported cluster are themselves a near pair;
 * - leakage: the same rule for test rows against train rows.
 */
import type { PoolSplit } from '../pool/types.ts';
import type { Progress } from '../util/progress.ts';
import { applyScaling, normalizeRowsInPlace } from '../../compute/scaling.ts';
import { principalBasis, project, textOnly, type FeatureMetric } from './vectors.ts';
import type { UnitRows } from './neighbour-space.ts';
import { nearestCross, pairsAboveCross, pairsAboveSelf, type PairList } from '../../compute/neighbours.ts';
import { PairBuffer, mergePairs } from '../../compute/neighbours-core.ts';
import { lshPairsAbove, lshParamsFor, measureCrossRecall, measureRecall, type LshParams, type RecallEstimate } from '../../compute/ann-index.ts';
import { axisDirections, radiusPairsCross, radiusPairsSelf, radiusWindowPairs } from '../../compute/radius.ts';
import { createRng } from '../../compute/rng.ts';
import { gatherRows } from '../../compute/rows.ts';

/** Bytes identifying a row's content, and what they are. */
export interface RowContent {
  kind: 'pixels' | 'features' | 'text' | 'features+text';
  bytesPerRow: number;
  /** Returns row i's bytes (a view or a fresh array; do not keep). */
  row(i: number): Uint8Array;
}

const encoder = new TextEncoder();

/**
 * A row's raw content: its pixels when it has them (the features are those pixels scaled),
 * else its feature values as stored (float32; categoricals one-hot) followed by its text
 * columns. Labels, ids and group columns are not content: two rows equal in everything the
 * model sees are duplicates whatever they are labelled.
 */
export function rowContent(split: PoolSplit): RowContent {
  if (split.pixels) {
    const { width, height, channels, data } = split.pixels;
    const size = width * height * channels;
    return { kind: 'pixels', bytesPerRow: size, row: (i) => data.subarray(i * size, (i + 1) * size) };
  }
  const cols = Object.keys(split.text ?? {}).sort();
  const textOf = (i: number) => encoder.encode(cols.map((c) => split.text![c][i]).join('\u0000'));
  const size = split.d * 4;
  const bytes = new Uint8Array(split.features.buffer, split.features.byteOffset, split.n * size);
  if (split.d > 0 && cols.length === 0) {
    return { kind: 'features', bytesPerRow: size, row: (i) => bytes.subarray(i * size, (i + 1) * size) };
  }
  // Text-only pools: the features are the text's TF-IDF, so the text alone is the content.
  if (split.d === 0 || (cols.length > 0 && textOnly(split))) return { kind: 'text', bytesPerRow: 0, row: textOf };
  return {
    kind: 'features+text', bytesPerRow: 0,
    row: (i) => {
      const t = textOf(i);
      const out = new Uint8Array(size + t.length);
      out.set(bytes.subarray(i * size, (i + 1) * size), 0);
      out.set(t, size);
      return out;
    },
  };
}

/**
 * Two independent 32-bit multiplicative hashes of the bytes, combined into one 53-bit number:
 * a 32-bit word at a time when the bytes are whole aligned words (float32 features), else a
 * byte at a time. Only equal hashes are compared byte for byte, so the hash decides speed,
 * never which rows are equal.
 */
export function hashBytes(b: Uint8Array): number {
  let h1 = 0x811c9dc5, h2 = 0x01000193 ^ b.length;
  if ((b.byteOffset & 3) === 0 && (b.length & 3) === 0) {
    const w = new Int32Array(b.buffer, b.byteOffset, b.length >> 2);
    for (let i = 0; i < w.length; i++) {
      h1 = Math.imul(h1 ^ w[i], 0x01000193);
      h1 ^= h1 >>> 13;
      h2 = Math.imul(h2 ^ w[i], 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
  } else {
    for (let i = 0; i < b.length; i++) {
      h1 = Math.imul(h1 ^ b[i], 0x01000193);
      h2 = Math.imul(h2 ^ b[i], 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
  }
  return (h1 >>> 0) * 2097152 + ((h2 >>> 0) & 0x1fffff);
}

/** hashBytes of every row's content. */
export function rowHashes(content: RowContent, n: number): Float64Array {
  const h = new Float64Array(n);
  for (let i = 0; i < n; i++) h[i] = hashBytes(content.row(i));
  return h;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Exact duplicate groups: group[i] = index of the first row with the same content (i itself
 * for the first). Representatives are the rows with group[i] === i. `hashes`: rowHashes of
 * the content, when already computed.
 */
export function exactGroups(content: RowContent, n: number, hashes: Float64Array = rowHashes(content, n)): Int32Array {
  const group = new Int32Array(n);
  const byHash = new Map<number, number | number[]>();
  for (let i = 0; i < n; i++) {
    const h = hashes[i];
    const firsts = byHash.get(h);
    group[i] = i;
    if (firsts === undefined) { byHash.set(h, i); continue; }
    const bytes = content.row(i);
    const list = typeof firsts === 'number' ? [firsts] : firsts;
    const match = list.find((f) => sameBytes(content.row(f), bytes));
    if (match !== undefined) group[i] = match;
    else { list.push(i); if (typeof firsts === 'number') byHash.set(h, list); }
  }
  return group;
}

/**
 * For each row of `other`, the first row of `base` with identical content, or −1.
 * `baseHashes`: rowHashes of `base`, when already computed.
 */
export function exactMatches(
  base: RowContent, nBase: number, other: RowContent, nOther: number, baseHashes: Float64Array = rowHashes(base, nBase),
): Int32Array {
  const byHash = new Map<number, number | number[]>();
  for (let i = 0; i < nBase; i++) {
    const h = baseHashes[i];
    const l = byHash.get(h);
    if (l === undefined) byHash.set(h, i);
    else if (typeof l === 'number') byHash.set(h, [l, i]);
    else l.push(i);
  }
  const out = new Int32Array(nOther).fill(-1);
  for (let i = 0; i < nOther; i++) {
    const bytes = other.row(i);
    const l = byHash.get(hashBytes(bytes));
    if (l === undefined) continue;
    const m = (typeof l === 'number' ? [l] : l).find((r) => sameBytes(base.row(r), bytes));
    if (m !== undefined) out[i] = m;
  }
  return out;
}

/** Test rows mapped into the train split's unit space (neighbour-space.ts unitRowsOf): same scaling, unit rows. */
export function embedRows(space: UnitRows, features: Float32Array, n: number): Float32Array {
  const U = applyScaling(features, n, space.d, space.scaling);
  normalizeRowsInPlace(U, n, space.d);
  return U;
}

export type NearMethod = 'exact' | 'exact-bound' | 'lsh' | 'radius';

export interface NearSearchOptions {
  threshold: number;
  /** Above this many rows the LSH index is used. */
  exactMaxRows: number;
  /** Width of the projection used by the exact bound for wide rows. */
  boundDims: number;
  /** Target recall at the threshold for the LSH index. */
  lshRecall: number;
  /** Rows in the exact-search sample that measures the LSH index's recall. */
  recallSampleRows: number;
  seed: number;
  progress?: Progress;
}

export interface NearSearch {
  pairs: PairList;
  method: NearMethod;
  candidates: number;
  lsh?: LshParams;
  recall?: RecallEstimate;
}

/** [P u, ‖residual‖] rows for the exact bound (unit rows in, m + 1 dims out). */
async function boundRows(U: Float32Array, n: number, d: number, basis: Float32Array, m: number): Promise<Float32Array> {
  const P = await project(U, n, d, basis, m);
  const out = new Float32Array(n * (m + 1));
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < m; t++) { const v = P[i * m + t]; out[i * (m + 1) + t] = v; s += v * v; }
    out[i * (m + 1) + m] = Math.sqrt(Math.max(0, 1 - s));
  }
  return out;
}

function verify(cand: PairList, A: Float32Array, B: Float32Array, d: number, threshold: number): PairList {
  const out = new PairBuffer();
  for (let p = 0; p < cand.count; p++) {
    const a = cand.a[p], b = cand.b[p];
    let s = 0;
    for (let t = 0; t < d; t++) s += A[a * d + t] * B[b * d + t];
    if (s >= threshold) out.push(a, b, Math.fround(s));
  }
  return out.toList();
}

/** Slack on candidate scores so Float32 rounding in the bound search cannot lose a pair. */
const BOUND_SLACK = 1e-4;

/**
 * The bound search's candidates: pairs of bound rows [P u, ‖r_u‖] with B_u · B_v ≥ threshold −
 * BOUND_SLACK. Bound rows have unit norm (up to float32 rounding, far inside the slack), so
 * B_u · B_v ≥ t ⟺ ‖B_u − B_v‖² ≤ 2 (1 − t): a radius search, which compute/radius.ts does
 * exactly with rows sorted by their first principal coordinate (windows of the radius; the next
 * three coordinates reject before any distance is summed). Near duplicates lie far inside the
 * spread of the leading components, so the windows hold a small share of the pairs; when they
 * hold more than RADIUS_MAX_SHARE of them (rows bunched along the first component) the
 * all-pairs SIMD search is used instead. Either way every pair within the bound is a
 * candidate, and verify() keeps exactly the pairs at or above the threshold on the full rows.
 */
const RADIUS_MAX_SHARE = 0.35;
const RADIUS_AXES = 4;

function boundRadius(threshold: number): number {
  return Math.sqrt(2 * (1 - threshold + BOUND_SLACK));
}

async function boundCandidatesSelf(B: Float32Array, n: number, w: number, threshold: number, progress?: Progress): Promise<PairList> {
  const r = boundRadius(threshold);
  const directions = axisDirections(w, RADIUS_AXES);
  if (radiusWindowPairs(B, n, w, r, { directions }) <= RADIUS_MAX_SHARE * (n * (n - 1)) / 2) return radiusPairsSelf(B, n, w, r, { directions });
  return pairsAboveSelf(B, n, w, threshold - BOUND_SLACK, { progress });
}

async function boundCandidatesCross(BQ: Float32Array, nq: number, BX: Float32Array, nx: number, w: number, threshold: number): Promise<PairList> {
  const r = boundRadius(threshold);
  const directions = axisDirections(w, RADIUS_AXES);
  if (radiusWindowPairs(BX, nx, w, r, { directions }) <= RADIUS_MAX_SHARE * (nx * (nx - 1)) / 2) return radiusPairsCross(BQ, nq, BX, nx, w, r, { directions });
  return pairsAboveCross(BQ, nq, BX, nx, w, threshold - BOUND_SLACK);
}

export interface NearCross {
  pairs: PairList;
  method: NearMethod;
  recall?: RecallEstimate;
}

/**
 * The LSH search (compute/ann-index.ts) for the pairs among U's rows and, with T, between T's
 * rows and U's: one index over the stacked rows [U; T], its parameters chosen on those rows
 * (lshParamsFor), pairs within T skipped. The own pairs are (a, b), a < b, indices into U;
 * the cross pairs (q, x), q into T, x into U, sorted by (q, x). Each recall is measured
 * against an exact search for a seeded sample of U rows (own pairs) and of T rows (cross).
 */
async function lshNearPairs(
  U: Float32Array, n: number, T: Float32Array | null, nt: number, d: number, o: NearSearchOptions, want: 'self' | 'cross' | 'both',
): Promise<{ self: NearSearch | null; cross: NearCross | null }> {
  const withT = !!T && nt > 0 && want !== 'self';
  let rows = U, total = n;
  if (withT) {
    rows = new Float32Array((n + nt) * d);
    rows.set(U.subarray(0, n * d), 0);
    rows.set(T!.subarray(0, nt * d), n * d);
    total = n + nt;
  }
  const plan = lshParamsFor(rows, total, d, o.threshold, o.lshRecall, o.seed);
  const params: LshParams = { tables: plan.tables, bits: plan.bits, seed: plan.seed };
  const s = await lshPairsAbove(rows, total, d, o.threshold, params, {
    progress: o.progress, ...(withT ? { boundary: n, crossOnly: want === 'cross' } : {}),
  });
  const own = new PairBuffer(), across = new PairBuffer();
  for (let p = 0; p < s.pairs.count; p++) {
    const a = s.pairs.a[p], b = s.pairs.b[p];
    if (b < n) own.push(a, b, s.pairs.sim[p]);
    else across.push(b - n, a, s.pairs.sim[p]);
  }
  let self: NearSearch | null = null, cross: NearCross | null = null;
  if (want !== 'cross') {
    const pairs = own.toList();
    const recall = await measureRecall(U, n, d, o.threshold, pairs, o.recallSampleRows, o.seed + 1);
    self = { pairs, method: 'lsh', candidates: s.candidates, lsh: params, recall };
  }
  if (withT) {
    const pairs = mergePairs([across.toList()]);
    cross = { pairs, method: 'lsh', recall: await measureCrossRecall(T!, nt, U, n, d, o.threshold, pairs, o.recallSampleRows, o.seed + 1) };
  }
  return { self, cross };
}

/**
 * Near-duplicate pairs among the rows of U and, when T is given, between T's rows and U's
 * (what nearPairsSelf and nearPairsCross give; beyond `exactMaxRows` rows of U one LSH index
 * serves both, so the rows are hashed once).
 */
export async function nearPairs(
  U: Float32Array, n: number, T: Float32Array | null, nt: number, d: number, o: NearSearchOptions, basis?: Float32Array | null,
): Promise<{ self: NearSearch; cross: NearCross | null }> {
  if (n > o.exactMaxRows) {
    const r = await lshNearPairs(U, n, T, nt, d, o, 'both');
    return { self: r.self!, cross: r.cross };
  }
  const self = await nearPairsSelf(U, n, d, o, basis);
  const cross = T && nt > 0 ? await nearPairsCross(T, nt, U, n, d, o, basis) : null;
  return { self, cross };
}

/**
 * Near-duplicate pairs a < b among the rows of U (indices into U). `basis` (rows of length d,
 * best first) is used for the exact bound when d > boundDims + 1; computed here when absent.
 */
export async function nearPairsSelf(U: Float32Array, n: number, d: number, o: NearSearchOptions, basis?: Float32Array | null): Promise<NearSearch> {
  if (n > o.exactMaxRows) return (await lshNearPairs(U, n, null, 0, d, o, 'self')).self!;
  if (d <= o.boundDims + 1) {
    const pairs = await pairsAboveSelf(U, n, d, o.threshold, { progress: o.progress });
    return { pairs, method: 'exact', candidates: pairs.count };
  }
  const m = Math.min(o.boundDims, basis ? basis.length / d : o.boundDims);
  const b = basis ? basis.subarray(0, m * d) : await principalBasis(U, n, d, m, { seed: o.seed });
  const B = await boundRows(U, n, d, b, m);
  const cand = await boundCandidatesSelf(B, n, m + 1, o.threshold, o.progress);
  return { pairs: verify(cand, U, U, d, o.threshold), method: 'exact-bound', candidates: cand.count };
}

/** Pairs (q, x) with cosine(Q[q], X[x]) ≥ threshold (exact; the bound trick for wide rows; LSH beyond exactMaxRows X rows). */
export async function nearPairsCross(
  Q: Float32Array, nq: number, X: Float32Array, nx: number, d: number, o: NearSearchOptions, basis?: Float32Array | null,
): Promise<NearCross> {
  if (nx > o.exactMaxRows) return (await lshNearPairs(X, nx, Q, nq, d, o, 'cross')).cross ?? { pairs: mergePairs([]), method: 'lsh' };
  if (d <= o.boundDims + 1) return { pairs: await pairsAboveCross(Q, nq, X, nx, d, o.threshold), method: 'exact' };
  const m = Math.min(o.boundDims, basis ? basis.length / d : o.boundDims);
  const b = basis ? basis.subarray(0, m * d) : await principalBasis(X, nx, d, m, { seed: o.seed });
  const BQ = await boundRows(Q, nq, d, b, m);
  const BX = await boundRows(X, nx, d, b, m);
  const cand = await boundCandidatesCross(BQ, nq, BX, nx, m + 1, o.threshold);
  return { pairs: verify(cand, Q, X, d, o.threshold), method: 'exact-bound' };
}

export { mergePairs };

// ---------------------------------------------------------------------------------------------
// Metric per feature kind

/** The metric per feature kind is the shared one (vectors.ts `metricFor`, also the outliers analyser's). */
export type DuplicateMetric = FeatureMetric;

// ---------------------------------------------------------------------------------------------
// Euclidean near duplicates

export interface EuclideanScale {
  /** Median distance of a row to its nearest other row (standardised units), over the sample. */
  medianNn: number;
  /** Intrinsic dimension of the rows near each other (pooled maximum-likelihood estimate). */
  intrinsicDim: number;
  /** Distances up to relativeThreshold × medianNn are near duplicates. */
  relativeThreshold: number;
  radius: number;
  sampleRows: number;
  /** Rows (of a pool without duplicates) expected to have a neighbour within the radius by chance. */
  chanceRows: number;
  /** The radius for pairs that differ in only `dims` columns (the radius itself for dims ≥ intrinsicDim). */
  radiusFor(dims: number): number;
  /** The accepted chance level it was chosen for (EuclideanScaleOptions.falseRows). */
  falseRows: number;
}

export interface EuclideanScaleOptions {
  /** Accepted chance level: expected rows of a duplicate-free pool that the threshold catches. */
  falseRows: number;
  /** Never call pairs farther apart than this many median nearest-neighbour distances near. */
  maxRelativeDistance: number;
  sampleRows: number;
  seed: number;
}

/** Neighbours per row in the dimension estimate: the nearest two against the third. */
const SCALE_K = 3;
/** Median of the Gamma(2, 1) distribution. */
const GAMMA2_MEDIAN = 1.6783469900166608;

/**
 * The nearest-neighbour scale of standardised rows Z (n × d, one row per exact-content group)
 * and the near-duplicate threshold it implies.
 *
 * For rows spread with a locally smooth density in an m-dimensional neighbourhood, the
 * distance to the nearest row behaves like a Poisson process's: P(NN < t · median) ≈ ln 2 · t^m
 * for small t. A fixed relative threshold (cleanlab's default is 0.13) therefore flags ~1% of
 * random 2-dimensional rows and almost none in 10 dimensions; here t is chosen so that about
 * `falseRows` rows of a pool without duplicates fall below it: t = (falseRows / (n ln 2))^(1/m),
 * capped at `maxRelativeDistance`. m is the intrinsic dimension at the smallest scale,
 * estimated from each sampled row's three nearest neighbours (Levina & Bickel's likelihood
 * statistic, whose median over rows is robust to the near duplicates themselves): one-hot
 * categoricals and discrete columns lower it where distances jump between lattice cells, so
 * the threshold errs on the strict side. Distances are exact (float64 over the float32 rows)
 * for the nearest rows found by the SIMD search of a seeded sample of rows.
 */
export async function euclideanScale(Z: Float32Array, n: number, d: number, o: EuclideanScaleOptions): Promise<EuclideanScale> {
  const m = Math.min(n, o.sampleRows);
  const sample = m === n ? Int32Array.from({ length: n }, (_, i) => i) : createRng(o.seed).permutation(n).subarray(0, m).sort();
  // A few extra candidates absorb float32 rounding in the ranking; distances are then exact.
  const kk = Math.min(n, SCALE_K + 6);
  const top = await nearestCross(gatherRows(Z, d, sample), m, Z, n, d, kk, 'euclidean');
  const nn = new Float64Array(m);
  const logRatio = new Float64Array(m);
  let rated = 0;
  const dist = new Float64Array(kk);
  for (let r = 0; r < m; r++) {
    const i = sample[r];
    let c = 0;
    for (let t = 0; t < kk; t++) {
      const j = top.index[r * kk + t];
      if (j < 0 || j === i) continue;
      let s = 0;
      for (let q = 0; q < d; q++) { const v = Z[i * d + q] - Z[j * d + q]; s += v * v; }
      dist[c++] = Math.sqrt(s);
    }
    const T = dist.subarray(0, c).sort();
    nn[r] = c ? T[0] : 0;
    if (c >= SCALE_K && T[0] > 0) {
      let s = 0;
      for (let j = 0; j < SCALE_K - 1; j++) s += Math.log(T[SCALE_K - 1] / T[j]);
      logRatio[rated++] = s / (SCALE_K - 1);
    }
  }
  const median = (a: Float64Array) => {
    const x = Float64Array.from(a).sort();
    const len = x.length;
    return len ? (len % 2 ? x[(len - 1) / 2] : 0.5 * (x[len / 2 - 1] + x[len / 2])) : 0;
  };
  const medianNn = median(nn);
  // Per row, (k − 1)·d·s is Gamma(k − 1, 1) for locally uniform rows; its median (1.678 for
  // k = 3) over the median of s estimates d, untouched by the near duplicates themselves.
  const sMedian = median(logRatio.subarray(0, rated));
  const raw = sMedian > 0 ? GAMMA2_MEDIAN / ((SCALE_K - 1) * sMedian) : d;
  const intrinsicDim = Math.max(1, Math.min(d, raw));
  const relativeFor = (dims: number) => Math.min(o.maxRelativeDistance, Math.pow(o.falseRows / (Math.max(n, 2) * Math.LN2), 1 / Math.max(1, Math.min(intrinsicDim, dims))));
  const relativeThreshold = relativeFor(intrinsicDim);
  const chanceRows = n * Math.LN2 * Math.pow(relativeThreshold, intrinsicDim);
  return {
    medianNn, intrinsicDim, relativeThreshold, radius: relativeThreshold * medianNn, sampleRows: m, chanceRows,
    radiusFor: (dims) => relativeFor(dims) * medianNn, falseRows: o.falseRows,
  };
}

/** Fixed unit directions for the radius search (seeded; three are plenty to reject candidates). */
export function radiusDirections(d: number, seed: number, count = 3): Float64Array {
  const rng = createRng(seed);
  const U = new Float64Array(count * d);
  for (let t = 0; t < count; t++) {
    let s = 0;
    for (let j = 0; j < d; j++) { const v = rng.normal(); U[t * d + j] = v; s += v * v; }
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < d; j++) U[t * d + j] *= inv;
  }
  return U;
}

/**
 * Smallest positive gap between the values of each column (standardised units): the data's
 * resolution (1 / std for an integer column, one float32 step for a continuous one).
 */
export function columnResolution(Z: Float32Array, n: number, d: number): Float64Array {
  const q = new Float64Array(d).fill(Infinity);
  const v = new Float32Array(n);
  for (let j = 0; j < d; j++) {
    for (let i = 0; i < n; i++) v[i] = Z[i * d + j];
    v.sort();
    for (let i = 1; i < n; i++) { const g = v[i] - v[i - 1]; if (g > 0 && g < q[j]) q[j] = g; }
  }
  return q;
}

/** A radius must span this many resolution steps of a column for a difference in it to count as near. */
const RESOLUTION_STEPS = 10;

/** Pairs of sorted values at most t apart (two pointers). */
function pairsWithin(v: Float64Array, t: number): number {
  let k = 0, count = 0;
  for (let i = 0; i < v.length; i++) { if (k < i + 1) k = i + 1; while (k < v.length && v[k] - v[i] <= t) k++; count += k - i - 1; }
  return count;
}

/** Rows sorted by one column, and how many pairs (within A, or A × B) lie within a distance in it. */
class ColumnPairs {
  readonly total: number;
  private readonly a: Float64Array;
  private readonly b: Float64Array | null;
  constructor(A: Float32Array, nA: number, B: Float32Array | null, nB: number, d: number, j: number) {
    const col = (X: Float32Array, m: number) => { const v = new Float64Array(m); for (let i = 0; i < m; i++) v[i] = X[i * d + j]; return v.sort(); };
    this.a = col(A, nA);
    this.b = B ? col(B, nB) : null;
    this.total = B ? nA * nB : (nA * (nA - 1)) / 2;
  }
  /** Pairs whose values in the column differ by at most t (two pointers over the sorted values). */
  within(t: number): number {
    const a = this.a, b = this.b;
    if (!b) return pairsWithin(a, t);
    let count = 0, lo = 0, hi = 0;
    for (let i = 0; i < a.length; i++) {
      while (lo < b.length && b[lo] < a[i] - t) lo++;
      if (hi < lo) hi = lo;
      while (hi < b.length && b[hi] <= a[i] + t) hi++;
      count += hi - lo;
    }
    return count;
  }
  /** The median difference over all pairs (bisection on the count). */
  median(): number {
    const a = this.a, b = this.b ?? this.a;
    let lo = 0, hi = Math.max(a[a.length - 1], b[b.length - 1]) - Math.min(a[0], b[0]);
    for (let it = 0; it < 60 && hi - lo > 1e-9 * Math.max(hi, 1e-30); it++) {
      const mid = 0.5 * (lo + hi);
      if (this.within(mid) >= 0.5 * this.total) hi = mid; else lo = mid;
    }
    return hi;
  }
}

/**
 * The chance rule for a pair that differs in one column only (equal on every other: the
 * same record with one value changed). Chance gives such a pair as close as δ about
 * E₀ · P(δ) times, where P(δ) is the share of all pairs of rows whose values in that column
 * differ by at most δ (the pair itself included, so the closest pair's P is 1 / pairs, not 0;
 * discrete columns, ties and steps included, as they are) and E₀ is how many pairs agree on every other column by chance. E₀ is
 * estimated from the pairs that do agree on every other column but lie far apart in this
 * one (beyond the median difference of all pairs, so near copies do not count): chance puts
 * a share P(> median) of its pairs there, so E₀ = far / P(> median); where that count is too
 * small to say much, E₀ is at least what independent columns would give, all pairs × Π q_c
 * over the other feature columns c (q_c: the share of pairs equal on c; a one-hot
 * categorical is one column), which under-states E₀ where columns depend on each other
 * (exactChance) but is not zero. The pair is near
 * when E₀ · P(δ) ≤ falseRows. On german-credit no two rows agree on 60 of the 61 columns,
 * so a copy with its amount changed by a few DM is near; where many rows share every other
 * value (census rows equal but for fnlwgt) the same rule asks for nearly equal values.
 */
class OneColumnChance {
  private readonly cache = new Map<number, { pairs: ColumnPairs; chancePairs: number }>();
  private equalShare: Float64Array | null = null;
  private readonly columnOf: Int32Array;
  constructor(
    private readonly A: Float32Array, private readonly nA: number,
    private readonly B: Float32Array | null, private readonly nB: number,
    private readonly d: number, private readonly falseRows: number,
    private readonly columns: Int32Array[],
  ) {
    this.columnOf = new Int32Array(d);
    columns.forEach((c, k) => { for (const j of c) this.columnOf[j] = k; });
  }

  /** Share of pairs equal on each feature column (computed once, on the first one-column pair). */
  private shares(): Float64Array {
    if (this.equalShare) return this.equalShare;
    const { A, nA, B, nB, d } = this;
    const total = B ? nA * nB : (nA * (nA - 1)) / 2;
    this.equalShare = Float64Array.from(this.columns, (c) => {
      const e = B ? equalPairs(A, nA, d, c, B, nB).cross : equalPairs(A, nA, d, c, null, 0).within;
      return total > 0 ? e / total : 0;
    });
    return this.equalShare;
  }

  near(j: number, delta: number): boolean {
    const c = this.column(j);
    // The pair itself counted: the closest pair of a column has P = 1 / pairs, not 0.
    const close = Math.max(1, c.pairs.within(delta * (1 + 1e-12) + 1e-300));
    return c.chancePairs * close / c.pairs.total <= this.falseRows;
  }

  private column(j: number): { pairs: ColumnPairs; chancePairs: number } {
    const hit = this.cache.get(j);
    if (hit) return hit;
    const { A, nA, B, nB, d } = this;
    const pairs = new ColumnPairs(A, nA, B, nB, d, j);
    const tau = pairs.median();
    const farShare = 1 - pairs.within(tau) / pairs.total;
    // Rows grouped by every value but column j's.
    const Bf = B ?? A, nBase = B ? nB : nA;
    const rest = Int32Array.from({ length: d - 1 }, (_, t) => (t < j ? t : t + 1));
    const groups = new RowGroups(Bf, nBase, d, rest);
    // Pairs farther than tau apart in column j, counted on each group's sorted values (a group of
    // census rows equal but for one column can hold thousands: no loop over its pairs).
    const sortedOf = (g: number[]) => Float64Array.from(g, (y) => Bf[y * d + j]).sort();
    const atMost = (v: Float64Array, x: number) => { let lo = 0, hi = v.length; while (lo < hi) { const m = (lo + hi) >> 1; if (v[m] <= x) lo = m + 1; else hi = m; } return lo; };
    const below = (v: Float64Array, x: number) => { let lo = 0, hi = v.length; while (lo < hi) { const m = (lo + hi) >> 1; if (v[m] < x) lo = m + 1; else hi = m; } return lo; };
    let far = 0;
    if (!B) {
      for (const g of groups.all()) {
        if (g.length < 2) continue;
        far += (g.length * (g.length - 1)) / 2 - pairsWithin(sortedOf(g), tau);
      }
    } else {
      const sorted = new Map<number[], Float64Array>();
      for (let i = 0; i < nA; i++) {
        const g = groups.find(A, i);
        if (!g) continue;
        let v = sorted.get(g);
        if (!v) { v = sortedOf(g); sorted.set(g, v); }
        const x = A[i * d + j];
        far += v.length - (atMost(v, x + tau) - below(v, x - tau));
      }
    }
    const q = this.shares(), own = this.columnOf[j];
    let independent = pairs.total;
    for (let k = 0; k < q.length; k++) if (k !== own) independent *= q[k];
    const chancePairs = Math.max(independent, farShare > 0 ? far / farShare : far);
    const out = { pairs, chancePairs };
    this.cache.set(j, out);
    return out;
  }
}

/**
 * Keeps the pairs that are near by the chance rule of the columns they differ in:
 * - a pair that differs in one column only is judged by OneColumnChance (how many pairs
 *   agree on every other column, and how close chance puts two values of that column);
 * - a pair that differs in only c < m columns lives in a c-dimensional slice (the other
 *   columns equal: one-hot categoricals, integers), where chance neighbours are far likelier,
 *   so its radius is the one for dimension c (`radiusFor(c)`);
 * - below ~10 steps of a column's resolution, values differ by whole steps (rounding,
 *   integer columns, float32), not continuously, and the chance model does not hold: a pair
 *   differing in such a column is not near (for one column, OneColumnChance counts the steps).
 */
function chanceFiltered(p: PairList, A: Float32Array, B: Float32Array, d: number, q: Float64Array, scale: EuclideanScale, one: OneColumnChance): PairList {
  const out = new PairBuffer();
  for (let t = 0; t < p.count; t++) {
    const a = p.a[t], b = p.b[t];
    let differing = 0, last = -1;
    for (let j = 0; j < d; j++) if (A[a * d + j] !== B[b * d + j]) { differing++; last = j; }
    let ok: boolean;
    if (differing === 1 && d > 1) ok = p.sim[t] <= scale.radius && one.near(last, p.sim[t]);
    else {
      const r = scale.radiusFor(differing);
      ok = p.sim[t] <= r;
      for (let j = 0; j < d && ok; j++) if (A[a * d + j] !== B[b * d + j] && r < RESOLUTION_STEPS * q[j]) ok = false;
    }
    if (ok) out.push(a, b, p.sim[t]);
  }
  return out.toList();
}

/** Near pairs a < b among standardised rows (exact). `sim` holds distances. */
export function euclideanPairsSelf(Z: Float32Array, n: number, d: number, scale: EuclideanScale, seed: number, q: Float64Array, columns: Int32Array[] = eachDimension(d)): PairList {
  const found = radiusPairsSelf(Z, n, d, scale.radius, { directions: radiusDirections(d, seed) });
  return chanceFiltered(found, Z, Z, d, q, scale, new OneColumnChance(Z, n, null, 0, d, scale.falseRows, columns));
}

/** Pairs (q, x) of test and train rows by the same rule (exact). `sim` holds distances. */
export function euclideanPairsCross(Q: Float32Array, nq: number, X: Float32Array, nx: number, d: number, scale: EuclideanScale, seed: number, q: Float64Array, columns: Int32Array[] = eachDimension(d)): PairList {
  const found = radiusPairsCross(Q, nq, X, nx, d, scale.radius, { directions: radiusDirections(d, seed) });
  return chanceFiltered(found, Q, X, d, q, scale, new OneColumnChance(Q, nq, X, nx, d, scale.falseRows, columns));
}

/** Every dimension its own feature column (rows without feature names). */
function eachDimension(d: number): Int32Array[] {
  return Array.from({ length: d }, (_, j) => Int32Array.of(j));
}

// ---------------------------------------------------------------------------------------------
// Clusters that do not chain

export interface NearCluster {
  /** Units (indices into the searched rows), smallest first. */
  units: number[];
  /** The least close pair of units in the cluster and its strength (see cliqueClusters). */
  worstA: number;
  worstB: number;
  worstStrength: number;
}

/**
 * Clusters of units in which every two members are a near pair (complete linkage), built
 * greedily from the strongest pair down (ties by (a, b)): a pair of free units opens a cluster;
 * a free unit joins its partner's cluster only if it is a near pair with every member. Units
 * left out keep their pairs (reported as pairs), never a chain. `strength` is higher for
 * closer pairs (cosine similarity, or minus the distance).
 */
export function cliqueClusters(nUnits: number, a: Int32Array, b: Int32Array, strength: Float64Array, count: number): { clusters: NearCluster[]; clusterOf: Int32Array } {
  const order = Int32Array.from({ length: count }, (_, i) => i);
  order.sort((x, y) => strength[y] - strength[x] || a[x] - a[y] || b[x] - b[y]);
  const key = (x: number, y: number) => (x < y ? x * nUnits + y : y * nUnits + x);
  const pairStrength = new Map<number, number>();
  for (let p = 0; p < count; p++) pairStrength.set(key(a[p], b[p]), strength[p]);
  const clusterOf = new Int32Array(nUnits).fill(-1);
  const members: number[][] = [];
  for (const p of order) {
    const x = a[p], y = b[p];
    const cx = clusterOf[x], cy = clusterOf[y];
    if (cx >= 0 && cy >= 0) continue;
    if (cx < 0 && cy < 0) { clusterOf[x] = clusterOf[y] = members.length; members.push([x, y]); continue; }
    const c = cx >= 0 ? cx : cy, free = cx >= 0 ? y : x;
    if (members[c].every((u) => pairStrength.has(key(u, free)))) { clusterOf[free] = c; members[c].push(free); }
  }
  const clusters = members.map((units) => {
    units.sort((p, q) => p - q);
    let worstA = units[0], worstB = units[1], worst = Infinity;
    for (let i = 0; i < units.length; i++) for (let j = i + 1; j < units.length; j++) {
      const s = pairStrength.get(key(units[i], units[j]))!;
      if (s < worst) { worst = s; worstA = units[i]; worstB = units[j]; }
    }
    return { units, worstA, worstB, worstStrength: worst };
  });
  return { clusters, clusterOf };
}

// ---------------------------------------------------------------------------------------------
// Exact matches expected by chance

/**
 * The feature columns behind the feature dimensions: a categorical column's one-hot
 * dimensions (`name=value`, adjacent) are one column, every other dimension is its own.
 * Returns each column's dimension indices.
 */
export function featureColumns(featureNames: string[], d: number): Int32Array[] {
  const cols: number[][] = [];
  let prev: string | null = null;
  for (let j = 0; j < d; j++) {
    const name = featureNames[j] ?? `x${j}`;
    const eq = name.indexOf('=');
    const key = eq > 0 ? name.slice(0, eq) : null;
    if (key !== null && key === prev) cols[cols.length - 1].push(j);
    else cols.push([j]);
    prev = key;
  }
  return cols.map((c) => Int32Array.from(c));
}

/**
 * Rows grouped by their values on the dimensions `dims`, bit for bit (as the exact groups
 * compare): by a hash of those values, then value by value, so a collision never merges
 * different rows. Each group lists its rows in order; `find` looks up another matrix's row.
 */
export class RowGroups {
  private readonly byHash = new Map<number, number[][]>();
  private readonly x: Int32Array;
  constructor(X: Float32Array, n: number, private readonly d: number, private readonly dims: Int32Array) {
    this.x = new Int32Array(X.buffer, X.byteOffset, n * d);
    for (let i = 0; i < n; i++) {
      const h = this.hashOf(this.x, i);
      let list = this.byHash.get(h);
      if (!list) { list = []; this.byHash.set(h, list); }
      const g = list.find((m) => this.same(this.x, m[0], this.x, i));
      if (g) g.push(i); else list.push([i]);
    }
  }
  /** The group of row i of Y (same width d), if its values occur here. */
  find(Y: Float32Array, i: number): number[] | undefined {
    // One bit view per matrix looked up (callers look up every row of one matrix in turn).
    if (this.lastY !== Y) { this.lastY = Y; this.lastView = new Int32Array(Y.buffer, Y.byteOffset, Y.length); }
    const y = this.lastView!;
    return this.byHash.get(this.hashOf(y, i))?.find((m) => this.same(this.x, m[0], y, i));
  }
  private lastY: Float32Array | null = null;
  private lastView: Int32Array | null = null;
  *all(): Iterable<number[]> {
    for (const list of this.byHash.values()) yield* list;
  }
  private hashOf(X: Int32Array, i: number): number {
    const { d, dims } = this;
    let h1 = 0x811c9dc5, h2 = 0x01000193 ^ dims.length;
    for (let t = 0; t < dims.length; t++) {
      const v = X[i * d + dims[t]];
      h1 = Math.imul(h1 ^ v, 0x01000193); h1 ^= h1 >>> 13;
      h2 = Math.imul(h2 ^ v, 0x5bd1e995); h2 ^= h2 >>> 15;
    }
    return (h1 >>> 0) * 2097152 + ((h2 >>> 0) & 0x1fffff);
  }
  private same(X: Int32Array, a: number, Y: Int32Array, b: number): boolean {
    const { d, dims } = this;
    for (let t = 0; t < dims.length; t++) if (X[a * d + dims[t]] !== Y[b * d + dims[t]]) return false;
    return true;
  }
}

/**
 * Pairs of rows equal on the dimensions `dims` (bit for bit, as the exact groups compare):
 * within A (Σ over value combinations of C(k, 2)) and, with B, between A's rows and B's
 * (Σ k_A · k_B).
 */
export function equalPairs(A: Float32Array, nA: number, d: number, dims: Int32Array, B: Float32Array | null, nB: number): { within: number; cross: number } {
  const groups = new RowGroups(A, nA, d, dims);
  let within = 0, cross = 0;
  for (const g of groups.all()) within += (g.length * (g.length - 1)) / 2;
  if (B) for (let i = 0; i < nB; i++) cross += groups.find(B, i)?.length ?? 0;
  return { within, cross };
}

export interface ExactChance {
  /** How the expectation was formed (see exactChance). */
  model: 'leave-one-column-out' | 'independent-columns';
  columns: number;
  /** Equal train pairs observed, expected by chance, and the most chance gives (Poisson 99.9% of 1.25 × expected). */
  trainPairs: number;
  trainExpected: number;
  trainUpper: number;
  /** The same for (test, train) pairs; null without a test split. */
  crossPairs: number | null;
  crossExpected: number | null;
  crossUpper: number | null;
}

/** Smallest k with P(Poisson(λ) ≤ k) ≥ 1 − alpha (normal approximation beyond λ = 10,000). */
export function poissonUpper(lambda: number, alpha = 1e-3): number {
  if (!(lambda > 0)) return 0;
  if (lambda > 1e4) return Math.ceil(lambda + 3.0902323061678132 * Math.sqrt(lambda) + 0.5);
  let logP = -lambda, cdf = Math.exp(logP), k = 0;
  while (cdf < 1 - alpha) { k++; logP += Math.log(lambda / k); cdf += Math.exp(logP); }
  return k;
}

/** Relative slack on the chance expectation (its model is an approximation), before the Poisson margin. */
export const CHANCE_SLACK = 1.25;
/** Leave-one-column-out needs a hash pass per column; beyond this many columns the independent product is used. */
const LEAVE_ONE_OUT_MAX_COLUMNS = 64;

/**
 * How many exactly equal pairs of rows chance alone would give on these feature values
 * (rounded or low-cardinality columns — ages, counts, 2-decimal amounts — coincide by chance
 * where continuous ones never do). Rows are compared over feature columns (a one-hot
 * categorical is one column). For each column c, take the pairs equal on every other column
 * but not on c, M₋c: a copy is equal on every column, so these are chance's alone. If
 * whether a pair is equal on c were independent of its being equal on the rest, a share
 * q_c (of all pairs, equal on c) of the pairs equal on the rest would be equal on c too,
 * so chance's full matches are about M₋c · q_c / (1 − q_c) (a constant column is skipped).
 * That is low when c depends positively on the other columns (equal elsewhere makes equal
 * on c likelier: education given education-num), the usual case, so the largest estimate
 * over c is taken: the one that leans least on independence. (The plain product
 * C(n, 2) · Π q_c, which is what shuffling each column independently would give, assumes
 * every column independent of every other: 6.5 chance pairs on the tryout's Adult-like
 * rows without fnlwgt, which hold 82 equal pairs, all but a few by chance; this estimate
 * gives 85.) Between test and train the same with (test, train) pairs.
 * Beyond 64 columns the independent product is used (wide rows rarely coincide by chance).
 * Needs at least two columns: with one, every match is as likely chance as copy (null).
 */
export function exactChance(train: PoolSplit, test: PoolSplit | undefined): ExactChance | null {
  if (rowContent(train).kind !== 'features') return null;
  const d = train.d, n = train.n;
  const cols = featureColumns(train.featureNames, d);
  if (cols.length < 2 || n < 2) return null;
  const hasTest = !!test && test.n > 0 && rowContent(test).kind === 'features';
  const T = hasTest ? test!.features : null, nt = hasTest ? test!.n : 0;
  const all = Int32Array.from({ length: d }, (_, j) => j);
  const observed = equalPairs(train.features, n, d, all, T, nt);
  const trainAll = (n * (n - 1)) / 2, crossAll = n * nt;
  const single = cols.map((c) => equalPairs(train.features, n, d, c, T, nt));
  let trainExpected = 0, crossExpected = 0;
  const model = cols.length <= LEAVE_ONE_OUT_MAX_COLUMNS ? 'leave-one-column-out' : 'independent-columns';
  if (model === 'leave-one-column-out') {
    cols.forEach((c, k) => {
      const inC = new Uint8Array(d);
      for (const j of c) inC[j] = 1;
      const rest = all.filter((j) => !inC[j]);
      const others = equalPairs(train.features, n, d, rest, T, nt);
      // Pairs equal elsewhere but not on c are chance's alone (a copy is equal on every
      // column): with q the share equal on c, chance's full matches are q / (1 − q) of them.
      const q = single[k].within / trainAll, qx = crossAll ? single[k].cross / crossAll : 1;
      if (q < 1) trainExpected = Math.max(trainExpected, ((others.within - observed.within) * q) / (1 - q));
      if (qx < 1) crossExpected = Math.max(crossExpected, ((others.cross - observed.cross) * qx) / (1 - qx));
    });
  } else {
    trainExpected = trainAll;
    crossExpected = crossAll;
    for (const s of single) { trainExpected *= s.within / trainAll; if (crossAll) crossExpected *= s.cross / crossAll; }
  }
  return {
    model, columns: cols.length,
    trainPairs: observed.within, trainExpected, trainUpper: poissonUpper(CHANCE_SLACK * trainExpected),
    crossPairs: hasTest ? observed.cross : null,
    crossExpected: hasTest ? crossExpected : null,
    crossUpper: hasTest ? poissonUpper(CHANCE_SLACK * crossExpected) : null,
  };
}
