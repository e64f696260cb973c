/**
 * The searches behind the duplicates analyser:
 *
 * - exact duplicates: rows whose content bytes are identical (raw pixels when the pool has
 *   them, else the numeric feature row, else the text), grouped by a 64-bit hash and then
 *   compared byte for byte, so a hash collision can never merge different rows;
 * - near duplicates: pairs with cosine similarity ≥ a threshold on standardised, L2-normalised
 *   features. Exact all-pairs up to `exactMaxRows` rows; for wide rows (d > 64) through an
 *   exact bound: with u = P u + r (projection on 64 principal directions + residual),
 *   u·v ≤ Pu·Pv + ‖r_u‖‖r_v‖, so searching [Pu, ‖r_u‖] for scores ≥ threshold finds every
 *   pair (and some extra candidates), which are then verified on the full rows. Beyond
 *   `exactMaxRows` an LSH index (ann-index.ts) with measured recall;
 * - leakage: the same for test rows against train rows.
 */
import type { PoolSplit } from '../pool/types.ts';
import type { Progress } from '../util/progress.ts';
import { applyScaling, columnScaling, normalizeRowsInPlace, principalBasis, project, type ColumnScaling } from './vectors.ts';
import { pairsAboveCross, pairsAboveSelf, type PairList } from '../../compute/neighbours.ts';
import { PairBuffer, mergePairs } from '../../compute/neighbours-core.ts';
import { lshCrossPairsAbove, lshPairsAbove, lshParams, measureRecall, type LshParams, type RecallEstimate } from './ann-index.ts';

/** Bytes identifying a row's content, and what they are. */
export interface RowContent {
  kind: 'pixels' | 'features' | 'text';
  bytesPerRow: number;
  /** Returns row i's bytes (a view; do not keep). */
  row(i: number): Uint8Array;
}

const encoder = new TextEncoder();

export function rowContent(split: PoolSplit): RowContent {
  if (split.pixels) {
    const { width, height, channels, data } = split.pixels;
    const size = width * height * channels;
    return { kind: 'pixels', bytesPerRow: size, row: (i) => data.subarray(i * size, (i + 1) * size) };
  }
  if (split.d > 0) {
    const bytes = new Uint8Array(split.features.buffer, split.features.byteOffset, split.features.byteLength);
    const size = split.d * 4;
    return { kind: 'features', bytesPerRow: size, row: (i) => bytes.subarray(i * size, (i + 1) * size) };
  }
  const cols = Object.keys(split.text ?? {}).sort();
  return { kind: 'text', bytesPerRow: 0, row: (i) => encoder.encode(cols.map((c) => split.text![c][i]).join('\u0000')) };
}

/** Two independent 32-bit FNV-1a style hashes of the bytes, combined into one 53-bit number. */
export function hashBytes(b: Uint8Array): number {
  let h1 = 0x811c9dc5, h2 = 0x01000193 ^ b.length;
  for (let i = 0; i < b.length; i++) {
    h1 = Math.imul(h1 ^ b[i], 0x01000193);
    h2 = Math.imul(h2 ^ b[i], 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  return (h1 >>> 0) * 2097152 + ((h2 >>> 0) & 0x1fffff);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Exact duplicate groups: group[i] = index of the first row with the same content (i itself
 * for the first). Representatives are the rows with group[i] === i.
 */
export function exactGroups(content: RowContent, n: number): Int32Array {
  const group = new Int32Array(n);
  const byHash = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const bytes = content.row(i);
    const h = hashBytes(bytes);
    const firsts = byHash.get(h);
    group[i] = i;
    if (!firsts) { byHash.set(h, [i]); continue; }
    const match = firsts.find((f) => sameBytes(content.row(f), bytes));
    if (match !== undefined) group[i] = match;
    else firsts.push(i);
  }
  return group;
}

/** For each row of `other`, the first row of `base` with identical content, or −1. */
export function exactMatches(base: RowContent, nBase: number, other: RowContent, nOther: number): Int32Array {
  const byHash = new Map<number, number[]>();
  for (let i = 0; i < nBase; i++) {
    const h = hashBytes(base.row(i));
    const l = byHash.get(h);
    if (l) l.push(i); else byHash.set(h, [i]);
  }
  const out = new Int32Array(nOther).fill(-1);
  for (let i = 0; i < nOther; i++) {
    const bytes = other.row(i);
    const l = byHash.get(hashBytes(bytes));
    if (!l) continue;
    const m = l.find((r) => sameBytes(base.row(r), bytes));
    if (m !== undefined) out[i] = m;
  }
  return out;
}

/** Union-find over n items with path halving; roots are the smallest member after `labels()`. */
export class UnionFind {
  parent: Int32Array;
  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
  }
  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) { p[x] = p[p[x]]; x = p[x]; }
    return x;
  }
  union(a: number, b: number): void {
    const ra = this.find(a), rb = this.find(b);
    if (ra === rb) return;
    // The smaller index becomes the root, so a cluster's root is its first row.
    if (ra < rb) this.parent[rb] = ra; else this.parent[ra] = rb;
  }
}

/** Standardised unit rows for duplicate search, with the scaling to map test rows alike. */
export interface DupSpace {
  U: Float32Array;
  n: number;
  d: number;
  scaling: ColumnScaling;
}

export function dupSpace(features: Float32Array, n: number, d: number): DupSpace {
  const scaling = columnScaling(features, n, d);
  const U = applyScaling(features, n, d, scaling);
  normalizeRowsInPlace(U, n, d);
  return { U, n, d, scaling };
}

export function embedRows(space: DupSpace, features: Float32Array, n: number): Float32Array {
  const U = applyScaling(features, n, space.d, space.scaling);
  normalizeRowsInPlace(U, n, space.d);
  return U;
}

export type NearMethod = 'exact' | 'exact-bound' | 'lsh';

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
 * Near-duplicate pairs a < b among the rows of U (indices into U). `basis` (rows of length d,
 * best first) is used for the exact bound when d > boundDims + 1; computed here when absent.
 */
export async function nearPairsSelf(U: Float32Array, n: number, d: number, o: NearSearchOptions, basis?: Float32Array | null): Promise<NearSearch> {
  if (n > o.exactMaxRows) {
    const params = lshParams(n, o.threshold, o.lshRecall, o.seed);
    const s = await lshPairsAbove(U, n, d, o.threshold, params, { progress: o.progress });
    const recall = await measureRecall(U, n, d, o.threshold, s.pairs, o.recallSampleRows, o.seed + 1);
    return { pairs: s.pairs, method: 'lsh', candidates: s.candidates, lsh: params, recall };
  }
  if (d <= o.boundDims + 1) {
    const pairs = await pairsAboveSelf(U, n, d, o.threshold, { progress: o.progress });
    return { pairs, method: 'exact', candidates: pairs.count };
  }
  const m = Math.min(o.boundDims, basis ? basis.length / d : o.boundDims);
  const b = basis ? basis.subarray(0, m * d) : await principalBasis(U, n, d, m, { seed: o.seed });
  const B = await boundRows(U, n, d, b, m);
  const cand = await pairsAboveSelf(B, n, m + 1, o.threshold - BOUND_SLACK, { progress: o.progress });
  return { pairs: verify(cand, U, U, d, o.threshold), method: 'exact-bound', candidates: cand.count };
}

/** Pairs (q, x) with cosine(Q[q], X[x]) ≥ threshold (exact; the bound trick for wide rows). */
export async function nearPairsCross(
  Q: Float32Array, nq: number, X: Float32Array, nx: number, d: number, o: NearSearchOptions, basis?: Float32Array | null,
): Promise<{ pairs: PairList; method: NearMethod; recall?: RecallEstimate }> {
  if (nx > o.exactMaxRows) {
    const r = await lshCrossPairsAbove(Q, nq, X, nx, d, o.threshold, o.lshRecall, o.recallSampleRows, o.seed);
    return { pairs: r.pairs, method: 'lsh', recall: r.recall };
  }
  if (d <= o.boundDims + 1) return { pairs: await pairsAboveCross(Q, nq, X, nx, d, o.threshold), method: 'exact' };
  const m = Math.min(o.boundDims, basis ? basis.length / d : o.boundDims);
  const b = basis ? basis.subarray(0, m * d) : await principalBasis(X, nx, d, m, { seed: o.seed });
  const BQ = await boundRows(Q, nq, d, b, m);
  const BX = await boundRows(X, nx, d, b, m);
  const cand = await pairsAboveCross(BQ, nq, BX, nx, m + 1, o.threshold - BOUND_SLACK);
  return { pairs: verify(cand, Q, X, d, o.threshold), method: 'exact-bound' };
}

export { mergePairs };
