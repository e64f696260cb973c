/**
 * Approximate search for pairs above a cosine threshold, for pools too large for an exact
 * all-pairs search: random-hyperplane LSH (Charikar 2002) with several tables.
 *
 * Two unit vectors at angle θ fall on the same side of a random hyperplane with probability
 * 1 − θ/π, so they share a `bits`-bit key with probability p = (1 − θ/π)^bits and meet in at
 * least one of `tables` tables with probability 1 − (1 − p)^tables. `lshParamsFor` picks the
 * key width with the least expected work on the rows themselves (clustered rows need wider
 * keys than rows spread over the sphere), then enough tables that a pair exactly at the
 * threshold is found with the target probability (closer pairs more often). Every candidate
 * is verified with an exact dot product, so there are no false positives; what the index can
 * miss is measured by `measureRecall` against an exact search for a seeded sample of rows.
 */
import { createRng } from './rng.ts';
import { gatherRows } from './rows.ts';
import type { ProgressSink } from './neighbours.ts';
import { PairBuffer, type PairList, mergePairs } from './neighbours-core.ts';
import { pairsAboveCross, signKeys } from './neighbours.ts';
import { machineThreads, runPooled, shareArray } from './pool.ts';

export interface LshParams {
  tables: number;
  bits: number;
  seed: number;
}

/** Probability that a pair at cosine `sim` shares a key in at least one of the tables. */
export function lshCollisionProbability(sim: number, p: LshParams): number {
  const theta = Math.acos(Math.max(-1, Math.min(1, sim)));
  const perTable = (1 - theta / Math.PI) ** p.bits;
  return 1 - (1 - perTable) ** p.tables;
}

/** The fewest tables of `bits`-bit keys that meet a pair exactly at `threshold` with probability ≥ targetRecall. */
export function lshTables(bits: number, threshold: number, targetRecall: number): number {
  const theta = Math.acos(Math.max(-1, Math.min(1, threshold)));
  const perTable = (1 - theta / Math.PI) ** bits;
  return Math.max(1, Math.ceil(Math.log(1 - targetRecall) / Math.log(1 - perTable)));
}

/**
 * Data-free parameters: bits ≈ log2(n) (about one row per bucket for spread-out rows, clamped
 * to 8..24), then the fewest tables reaching `targetRecall` for pairs exactly at `threshold`.
 * Right for rows spread evenly over the sphere; clustered rows share most hyperplane sides and
 * fill far larger buckets, so the search uses lshParamsFor, which measures that.
 */
export function lshParams(n: number, threshold: number, targetRecall = 0.995, seed = 0): LshParams {
  const bits = Math.max(8, Math.min(24, Math.round(Math.log2(Math.max(n, 2)))));
  return { tables: lshTables(bits, threshold, targetRecall), bits, seed };
}

/** What lshParamsFor estimated for the parameters it chose. */
export interface LshPlan extends LshParams {
  /** Expected chance candidates per table (rows sharing a key that are not near), from sampled pairs. */
  candidatesPerTable: number;
  /** Modelled cost (about nanoseconds of one thread): hashing, sorting and verifying. */
  cost: number;
}

/** Random row pairs whose angles estimate how often rows share a key by chance. */
const PLAN_SAMPLE_PAIRS = 20_000;

/**
 * Parameters chosen on the rows themselves: for every key width from 8 to 31 bits, the tables
 * it needs for `targetRecall` at `threshold` (lshTables) and the expected work, and the width
 * with the least work. The work is hashing (rows × tables × bits hyperplane products, SIMD),
 * sorting keys (rows × tables) and verifying candidates: the expected chance collisions per
 * table are n(n−1)/2 × the mean over seeded random row pairs of (1 − θ/π)^bits. On rows spread
 * over the sphere this gives about log2(n) bits, as lshParams; on clustered rows (where rows
 * of a cluster share most hyperplane sides) it takes wider keys and more tables instead of
 * verifying a hundred times more chance candidates (1,000,000 × 64 rows in 5 clusters: 20 bits
 * would verify ~10⁸ pairs, 28 bits ~10⁷).
 */
export function lshParamsFor(X: Float32Array, n: number, d: number, threshold: number, targetRecall = 0.995, seed = 0): LshPlan {
  const rng = createRng(seed ^ 0x5a17);
  const m = n > 1 ? PLAN_SAMPLE_PAIRS : 0;
  const angles = new Float64Array(m);
  for (let s = 0; s < m; s++) {
    const i = rng.int(n);
    let j = rng.int(n - 1);
    if (j >= i) j++;
    let dot = 0;
    for (let t = 0; t < d; t++) dot += X[i * d + t] * X[j * d + t];
    angles[s] = Math.acos(Math.max(-1, Math.min(1, dot))) / Math.PI;
  }
  const allPairs = (n * (n - 1)) / 2;
  let best: LshPlan | null = null;
  for (let bits = 8; bits <= 31; bits++) {
    const tables = lshTables(bits, threshold, targetRecall);
    let mean = 0;
    for (let s = 0; s < m; s++) mean += (1 - angles[s]) ** bits;
    const perTable = m ? (mean / m) * allPairs : 0;
    const hashing = n * tables * bits * (d / 8 + 2);
    const sorting = n * tables * (4 * Math.ceil(bits / 12) + 8);
    const verifying = tables * perTable * (d + 30);
    const cost = hashing + sorting + verifying;
    if (!best || cost < best.cost) best = { tables, bits, seed, candidatesPerTable: perTable, cost };
  }
  return best!;
}

export interface LshSearch {
  pairs: PairList;
  params: LshParams;
  /** Candidate pairs verified exactly (a measure of the work done). */
  candidates: number;
  /** Largest bucket seen, in rows. */
  largestBucket: number;
}

/**
 * Pairs a < b of unit rows with cosine ≥ threshold among rows that share a bucket in some
 * table. A pair meeting in several tables is verified once (in the first table it meets in).
 */
export async function lshPairsAbove(
  X: Float32Array, n: number, d: number, threshold: number, params: LshParams,
  opts: {
    progress?: ProgressSink;
    /**
     * Rows from here on are a second set (stacked after the first): with `crossOnly` (the
     * default) only pairs across it (a < boundary ≤ b) are wanted, a cross-set search;
     * otherwise every pair but those within the second set (a < boundary): one search that
     * gives the first set's own pairs and the cross pairs together.
     */
    boundary?: number;
    crossOnly?: boolean;
    threads?: number;
  } = {},
): Promise<LshSearch> {
  const boundary = opts.boundary ?? -1;
  const crossOnly = opts.crossOnly ?? true;
  const { tables, bits } = params;
  const rng = createRng(params.seed);
  const H = new Float32Array(tables * bits * d);
  for (let i = 0; i < H.length; i++) H[i] = rng.normal();
  const keys = await signKeys(X, n, d, H, tables, bits);
  // Each table is verified on its own (a pair is verified in the first table it meets in,
  // which only the keys decide), so tables are shared out over the threads and the pair lists
  // merged: the same pairs for any number of threads.
  const parts = Math.max(1, Math.min(tables, opts.threads ?? (n * d < 4e6 ? 1 : Math.min(8, machineThreads()))));
  const shared = parts > 1 ? { X: shareArray(X), keys: shareArray(keys) } : { X, keys };
  const jobs: LshTablesJob[] = Array.from({ length: parts }, (_, q) => ({
    X: shared.X, n, d, keys: shared.keys, tables, bits, threshold, boundary, crossOnly,
    tableList: Int32Array.from({ length: Math.ceil((tables - q) / parts) }, (_, i) => q + i * parts),
  }));
  opts.progress?.start(tables, 'near duplicates');
  const tick = () => opts.progress?.tick(parts);
  const results = parts === 1
    ? [lshTablesJob(jobs[0], tick)]
    : await runPooled<LshTablesJob, LshTablesResult>({
      module: new URL(import.meta.url),
      fn: 'lshTablesJob',
      jobs,
      workers: parts - 1,
      owner: jobs.map((_, q) => q),
      local: (j) => lshTablesJob(j, tick),
      onError: (q, message) => new Error(`near-duplicate search share ${q} failed in a worker: ${message}`),
    });
  let candidates = 0, largestBucket = 0;
  for (const r of results) { candidates += r.candidates; largestBucket = Math.max(largestBucket, r.largestBucket); }
  return { pairs: mergePairs(results.map((r) => r.pairs)), params, candidates, largestBucket };
}

/** One share of the LSH verification: the tables in `tableList`. */
export interface LshTablesJob {
  X: Float32Array;
  n: number;
  d: number;
  /** keys[t * n + i]: row i's key in table t (signKeys). */
  keys: Uint32Array;
  tables: number;
  bits: number;
  threshold: number;
  boundary: number;
  /** With a boundary: only pairs across it (else also the pairs below it). */
  crossOnly: boolean;
  tableList: Int32Array;
}

export interface LshTablesResult {
  pairs: PairList;
  candidates: number;
  largestBucket: number;
}

/**
 * Verifies the candidate pairs of the tables in `job.tableList`: rows sharing a bucket there
 * and no bucket in an earlier table. Rows of a bucket come in row order, so with a boundary
 * the rows below it come first, and only pairs with a row below it are visited (across it
 * only, with `crossOnly`).
 */
export function lshTablesJob(job: LshTablesJob, onTable?: () => void): LshTablesResult {
  const { X, n, d, keys, tables, bits, threshold, boundary, crossOnly } = job;
  const out = new PairBuffer();
  let candidates = 0;
  let largestBucket = 0;
  const order = new Int32Array(n);
  const scratch = new Int32Array(n);
  // Per bucket, members' rows and earlier-table keys are gathered into small local buffers, so
  // the all-pairs check inside a bucket runs in cache.
  let cap = 64;
  let members = new Int32Array(cap);
  let rows = new Float32Array(cap * d);
  let prev = new Uint32Array(cap * tables);
  for (const t of job.tableList) {
    const kt = keys.subarray(t * n, (t + 1) * n);
    sortByKey(kt, n, bits, order, scratch);
    let start = 0;
    while (start < n) {
      const key = kt[order[start]];
      let end = start + 1;
      while (end < n && kt[order[end]] === key) end++;
      const size = end - start;
      if (size > largestBucket) largestBucket = size;
      // With a boundary: the bucket's rows below it are order[start, split).
      let split = size;
      if (boundary >= 0) { split = 0; while (split < size && order[start + split] < boundary) split++; }
      if (size >= 2 && (boundary < 0 || (split > 0 && (split < size || !crossOnly)))) {
        if (size > cap) {
          while (cap < size) cap *= 2;
          members = new Int32Array(cap); rows = new Float32Array(cap * d); prev = new Uint32Array(cap * tables);
        }
        for (let q = 0; q < size; q++) {
          const i = order[start + q];
          members[q] = i;
          rows.set(X.subarray(i * d, i * d + d), q * d);
          for (let u = 0; u < t; u++) prev[q * tables + u] = keys[u * n + i];
        }
        const pEnd = boundary >= 0 ? split : size;
        for (let p = 0; p < pEnd; p++) {
          const op = p * d, pp = p * tables;
          for (let q = boundary >= 0 && crossOnly ? split : p + 1; q < size; q++) {
            // Already verified if the two rows shared a key in an earlier table.
            let seen = false;
            const pq = q * tables;
            for (let u = 0; u < t; u++) if (prev[pp + u] === prev[pq + u]) { seen = true; break; }
            if (seen) continue;
            candidates++;
            const oq = q * d;
            let s = 0;
            for (let c = 0; c < d; c++) s += rows[op + c] * rows[oq + c];
            if (s >= threshold) {
              const i = members[p], j = members[q];
              out.push(i < j ? i : j, i < j ? j : i, Math.fround(s));
            }
          }
        }
      }
      start = end;
    }
    onTable?.();
  }
  return { pairs: out.toList(), candidates, largestBucket };
}

/**
 * Row indices ordered by key (ties by row index): a stable LSD radix sort in passes of up to
 * 12 bits. Linear in n; a comparison sort of 1,000,000 rows per table would dominate the search.
 */
export function sortByKey(keys: Uint32Array, n: number, bits: number, order: Int32Array, scratch: Int32Array): void {
  for (let i = 0; i < n; i++) order[i] = i;
  const passBits = 12;
  const counts = new Int32Array(1 << passBits);
  let src = order, dst = scratch;
  for (let shift = 0; shift < bits; shift += passBits) {
    const width = Math.min(passBits, bits - shift);
    const mask = (1 << width) - 1;
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(keys[src[i]] >>> shift) & mask]++;
    let sum = 0;
    for (let b = 0; b <= mask; b++) { const c = counts[b]; counts[b] = sum; sum += c; }
    for (let i = 0; i < n; i++) { const r = src[i]; dst[counts[(keys[r] >>> shift) & mask]++] = r; }
    const tmp = src; src = dst; dst = tmp;
  }
  if (src !== order) order.set(src);
}

/**
 * Recall of approximate cross pairs (q, x) (sorted or not) against an exact search: for
 * `sampleRows` Q rows drawn with a seeded RNG, all their pairs above the threshold with X rows
 * are found exactly, and the share of those in `approx` is the recall.
 */
export async function measureCrossRecall(
  Q: Float32Array, nq: number, X: Float32Array, nx: number, d: number, threshold: number, approx: PairList, sampleRows: number, seed = 0,
): Promise<RecallEstimate> {
  const m = Math.min(sampleRows, nq);
  const sample = createRng(seed).permutation(nq).subarray(0, m).sort();
  const exact = await pairsAboveCross(gatherRows(Q, d, sample), m, X, nx, d, threshold);
  const found = new Set<number>();
  for (let p = 0; p < approx.count; p++) found.add(approx.a[p] * nx + approx.b[p]);
  let hit = 0;
  for (let p = 0; p < exact.count; p++) if (found.has(sample[exact.a[p]] * nx + exact.b[p])) hit++;
  return { recall: exact.count ? hit / exact.count : null, sampleRows: m, truePairs: exact.count, found: hit };
}

export interface RecallEstimate {
  /** Share of the exact pairs touching the sampled rows that the index found (null: no pairs in the sample). */
  recall: number | null;
  sampleRows: number;
  /** Exact pairs (above threshold) with at least one sampled row. */
  truePairs: number;
  found: number;
}

/**
 * Recall of an approximate pair list against an exact search: for `sampleRows` rows drawn with
 * a seeded RNG, all their pairs above the threshold are found exactly (sample × all rows), and
 * the share of those the approximate list contains is the recall.
 */
export async function measureRecall(
  X: Float32Array, n: number, d: number, threshold: number, approx: PairList, sampleRows: number, seed = 0,
): Promise<RecallEstimate> {
  const m = Math.min(sampleRows, n);
  const sample = createRng(seed).permutation(n).subarray(0, m).sort();
  const Q = gatherRows(X, d, sample);
  const exact = await pairsAboveCross(Q, m, X, n, d, threshold);
  const found = new Set<number>();
  for (let p = 0; p < approx.count; p++) found.add(approx.a[p] * n + approx.b[p]);
  let truePairs = 0, hit = 0;
  const seenPair = new Set<number>();
  for (let p = 0; p < exact.count; p++) {
    const i = sample[exact.a[p]], j = exact.b[p];
    if (i === j) continue;
    const key = Math.min(i, j) * n + Math.max(i, j);
    // A pair with both rows in the sample shows up twice; count it once.
    if (seenPair.has(key)) continue;
    seenPair.add(key);
    truePairs++;
    if (found.has(key)) hit++;
  }
  return { recall: truePairs ? hit / truePairs : null, sampleRows: m, truePairs, found: hit };
}
