/**
 * Approximate k-nearest-neighbour graph for splits too large for the exact all-pairs search
 * (beyond 100,000 rows): an inverted-file index with a spherical k-means coarse quantiser and
 * list-level multi-probe. Rows are assigned to their nearest of ~√n centroids; each list's rows
 * search the rows of that list and of the `probes − 1` lists whose centroids are nearest to
 * it, with probes chosen by the recall@k they reach against the exact search on a seeded sample
 * (target 0.95); the graph's own recall is measured on a second sample, and when no setting
 * reaches the target the exact graph is returned instead. Lists are searched on the calling
 * thread: about n × probes·√n × dims multiply-adds.
 */
import { createRng } from './rng.ts';
import { gatherRows } from './rows.ts';
import type { ProgressSink } from './neighbours.ts';
import { blockRowsFor, emptyTopK, knnCrossPart, offerTopK, partBytes, type SimLayout, type TopK } from './neighbours-core.ts';
import { knnCross, knnSelf } from './neighbours.ts';
import { machineThreads, runPooled, shareArray } from './pool.ts';
import { normalizeRowsInPlace } from './scaling.ts';

export interface IvfParams {
  lists: number;
  /** Lists searched per row at first; doubled (up to maxProbes) until the measured recall suffices. */
  probes: number;
  maxProbes: number;
  iterations: number;
  seed: number;
}

export function ivfParams(n: number, seed = 0): IvfParams {
  return { lists: Math.max(16, Math.min(4096, Math.round(Math.sqrt(n)))), probes: 12, maxProbes: 384, iterations: 8, seed };
}

/**
 * Multiply-adds per thread above which the exact graph is not computed as a fallback: 1e12 is
 * about 3 minutes of one core at the kernel's 5–6 G/s, reached at ~250,000 rows × 64 dimensions
 * on two threads (the 128,000-row isotropic pools that fall back today stay exact).
 */
export const EXACT_FALLBACK_MAX_WORK = 1e12;
/** Beyond the ceiling: multiply-adds per thread the IVF search may take (~30 s of one core). */
export const IVF_MAX_WORK = 1.5e11;

export interface ApproxTopK extends TopK {
  /** recall@k of the graph against an exact search for `recallSample` rows. */
  recall: number;
  recallSample: number;
  params: IvfParams;
  /** 'exact' when no IVF setting reached the target recall (then recall = 1). */
  method: 'ivf' | 'exact';
  /** Probes tried on the choosing sample and the recall each gave. */
  tried: { probes: number; recall: number }[];
  /** Recall the IVF graph measured (null if none was built). */
  ivfRecall: number | null;
  /**
   * Set when the graph is kept below the target recall because the exact fallback would cost
   * more than EXACT_FALLBACK_MAX_WORK per thread (exactWork: its multiply-adds in all).
   */
  belowTarget?: { target: number; exactWork: number };
}

/** Spherical k-means centroids (unit rows) from a seeded sample. */
async function coarseCentroids(X: Float32Array, n: number, d: number, p: IvfParams): Promise<Float32Array> {
  const rng = createRng(p.seed);
  const sampleSize = Math.min(n, p.lists * 40);
  const sample = rng.permutation(n).subarray(0, sampleSize);
  const S = gatherRows(X, d, sample);
  const C = S.slice(0, p.lists * d);
  for (let it = 0; it < p.iterations; it++) {
    const nearest = await knnCross(S, sampleSize, C, p.lists, d, 1);
    const sum = new Float64Array(p.lists * d);
    const cnt = new Int32Array(p.lists);
    for (let i = 0; i < sampleSize; i++) {
      const c = nearest.index[i];
      cnt[c]++;
      for (let t = 0; t < d; t++) sum[c * d + t] += S[i * d + t];
    }
    for (let c = 0; c < p.lists; c++) {
      if (cnt[c] === 0) continue; // an empty list keeps its centroid
      for (let t = 0; t < d; t++) C[c * d + t] = sum[c * d + t];
    }
    normalizeRowsInPlace(C, p.lists, d);
  }
  return C;
}

/** One reusable layout big enough for the largest list's queries and candidates. */
function reusableLayout(d: number, maxQ: number, maxX: number): { L: SimLayout; F: Float32Array } {
  const d4 = Math.ceil(d / 4) * 4;
  const round4 = (x: number) => Math.ceil(x / 4) * 4;
  const bs = blockRowsFor(d4);
  const xBytes = round4(maxX) * d4 * 4, qBytes = round4(maxQ) * d4 * 4;
  const pages = Math.ceil((xBytes + qBytes + partBytes(bs)) / 65536);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  return { L: { memory, d, d4, bs, xPtr: 0, n: 0, qPtr: xBytes, nq: 0, outPtr: [xBytes + qBytes] }, F: new Float32Array(memory.buffer) };
}

function writeRows(F: Float32Array, at: number, X: Float32Array, d: number, d4: number, rows: Int32Array, count: number): void {
  const base = at / 4;
  for (let i = 0; i < count; i++) {
    const r = rows[i];
    F.set(X.subarray(r * d, r * d + d), base + i * d4);
    for (let t = d; t < d4; t++) F[base + i * d4 + t] = 0;
  }
  // Zero the padding rows up to a multiple of 4 (the kernel reads them).
  for (let i = count; i < Math.ceil(count / 4) * 4; i++) F.fill(0, base + i * d4, base + i * d4 + d4);
}

/** recall@k of `found(s)` (the approximate list of sample row s) against exact lists of the sample. */
function recallOf(exact: TopK, sample: Int32Array, k: number, found: (s: number) => Set<number>): number {
  let hit = 0, total = 0;
  for (let s = 0; s < sample.length; s++) {
    const i = sample[s];
    const mine = found(s);
    let taken = 0;
    for (let t = 0; t < exact.k && taken < k; t++) {
      const j = exact.index[s * exact.k + t];
      if (j < 0 || j === i) continue;
      taken++;
      total++;
      if (mine.has(j)) hit++;
    }
  }
  return total ? hit / total : 1;
}

/** A seeded sample of rows and their exact k + 1 nearest rows (themselves included). */
async function exactSample(X: Float32Array, n: number, d: number, k: number, m: number, seed: number): Promise<{ sample: Int32Array; exact: TopK }> {
  const sample = createRng(seed).permutation(n).subarray(0, Math.min(m, n)).sort();
  const exact = await knnCross(gatherRows(X, d, sample), sample.length, X, n, d, Math.min(k + 1, n));
  return { sample, exact };
}

/** What one share of the list search needs (arrays shared with or copied to the worker). */
export interface IvfListsJob {
  X: Float32Array;
  d: number;
  k: number;
  /** The lists whose rows this share searches, in order. */
  lists: Int32Array;
  start: Int32Array;
  rowsByList: Int32Array;
  /** Each list's nearest other lists (knnSelf over the centroids), nearK per list. */
  nearIndex: Int32Array;
  nearK: number;
  probes: number;
}

/** A list and the `probes − 1` lists whose centroids are nearest to it. */
function probeListsOf(nearIndex: Int32Array, nearK: number, c: number, probes: number): number[] {
  const out = [c];
  for (let t = 0; t < probes - 1; t++) { const l = nearIndex[c * nearK + t]; if (l >= 0) out.push(l); }
  return out;
}

/**
 * The k nearest rows of every row of `job.lists` among the rows of its probed lists (itself
 * excluded), rows in list order. Each row belongs to one list, so its list is found by this
 * share alone: any split of the lists gives the same lists as one pass over all of them.
 */
export function ivfListsJob(job: IvfListsJob, onList?: () => void): { index: Int32Array; sim: Float32Array } {
  const { X, d, k, lists, start, rowsByList, nearIndex, nearK, probes } = job;
  const listSize = (l: number) => start[l + 1] - start[l];
  let maxQ = 0, maxX = 0, rows = 0;
  for (const c of lists) {
    rows += listSize(c);
    maxQ = Math.max(maxQ, listSize(c));
    maxX = Math.max(maxX, probeListsOf(nearIndex, nearK, c, probes).reduce((s, l) => s + listSize(l), 0));
  }
  const top = emptyTopK(rows, k);
  if (rows === 0) return { index: top.index, sim: top.sim as Float32Array };
  const { L, F } = reusableLayout(d, maxQ, maxX);
  const cand = new Int32Array(maxX);
  let at = 0;
  for (const c of lists) {
    const q0 = start[c], nq = listSize(c);
    if (nq === 0) { onList?.(); continue; }
    let nx = 0;
    for (const l of probeListsOf(nearIndex, nearK, c, probes)) for (let r = start[l]; r < start[l + 1]; r++) cand[nx++] = rowsByList[r];
    writeRows(F, L.xPtr, X, d, L.d4, cand, nx);
    writeRows(F, L.qPtr, X, d, L.d4, rowsByList.subarray(q0, q0 + nq), nq);
    L.n = nx; L.nq = nq;
    const local = knnCrossPart(L, Math.min(k + 1, nx), 0, 1);
    for (let a = 0; a < nq; a++) {
      const i = rowsByList[q0 + a];
      for (let t = 0; t < local.k; t++) {
        const j = local.index[a * local.k + t];
        if (j < 0) break;
        const row = cand[j];
        if (row !== i) offerTopK(top, at + a, row, local.sim[a * local.k + t]);
      }
    }
    at += nq;
    onList?.();
  }
  return { index: top.index, sim: top.sim as Float32Array };
}

/**
 * The IVF graph for `probes` lists per row: the lists split into one share per thread by
 * their work (a greedy balance, largest first), the calling thread running share 0.
 */
async function searchLists(
  X: Float32Array, n: number, d: number, k: number, lists: number, start: Int32Array, rowsByList: Int32Array,
  near: TopK, probes: number, progress?: ProgressSink, threads?: number,
): Promise<TopK> {
  const listSize = (l: number) => start[l + 1] - start[l];
  const work = new Float64Array(lists);
  let total = 0;
  for (let c = 0; c < lists; c++) {
    work[c] = listSize(c) * probeListsOf(near.index, near.k, c, probes).reduce((s, l) => s + listSize(l), 0);
    total += work[c];
  }
  const parts = Math.max(1, Math.min(lists, threads ?? (total * d < 4e8 ? 1 : Math.min(8, machineThreads()))));
  const byWork = Array.from({ length: lists }, (_, c) => c).sort((a, b) => work[b] - work[a] || a - b);
  const load = new Float64Array(parts);
  const owned: number[][] = Array.from({ length: parts }, () => []);
  for (const c of byWork) {
    let best = 0;
    for (let q = 1; q < parts; q++) if (load[q] < load[best]) best = q;
    owned[best].push(c);
    load[best] += work[c];
  }
  const shared = parts > 1 ? shareArray(X) : X;
  const jobs: IvfListsJob[] = owned.map((ls) => ({
    X: shared, d, k, lists: Int32Array.from(ls.sort((a, b) => a - b)), start, rowsByList, nearIndex: near.index, nearK: near.k, probes,
  }));
  progress?.start(lists, 'neighbours (approximate)');
  const tick = () => progress?.tick(parts);
  const results = parts === 1
    ? [ivfListsJob(jobs[0], tick)]
    : await runPooled<IvfListsJob, { index: Int32Array; sim: Float32Array }>({
      module: new URL(import.meta.url),
      fn: 'ivfListsJob',
      jobs,
      workers: parts - 1,
      owner: jobs.map((_, q) => q),
      local: (j) => ivfListsJob(j, tick),
      onError: (q, message) => new Error(`approximate neighbour search share ${q} failed in a worker: ${message}`),
    });
  const top = emptyTopK(n, k);
  results.forEach((r, q) => {
    let at = 0;
    for (const c of jobs[q].lists) {
      for (let s = start[c]; s < start[c + 1]; s++, at++) {
        const i = rowsByList[s];
        top.index.set(r.index.subarray(at * k, at * k + k), i * k);
        (top.sim as Float32Array).set(r.sim.subarray(at * k, at * k + k), i * k);
      }
    }
  });
  return top;
}

/**
 * The k nearest other rows of every row: an IVF graph whose recall@k, measured against the
 * exact search, is at least `targetRecall`, or the exact graph.
 *
 * Probes are chosen on a seeded sample of rows: 12, 24, 48, … lists until the sample's recall
 * reaches the target (+ 0.01 headroom), stopping when the IVF search would cost more than
 * half the exact one (isotropic clusters, where neighbours are nearly equidistant, need many
 * lists: 12 probes gave 0.39 on 128,000 Gaussian rows). The full graph's recall is then
 * measured on a second, independent sample; below the target, the exact graph is used.
 */
export async function ivfKnnSelf(
  X: Float32Array, n: number, d: number, k: number, p: IvfParams,
  opts: {
    progress?: ProgressSink;
    /** Rows of the sample that checks the final graph (default 200). */
    recallSample?: number;
    targetRecall?: number;
    /** Largest IVF cost tried, as a share of the exact search's (default 0.5). */
    maxWorkShare?: number;
    /** Threads for the list search, the calling one included (default: the machine's, when the work pays for them). */
    threads?: number;
    /** Multiply-adds per thread above which the exact graph is no fallback (default EXACT_FALLBACK_MAX_WORK). */
    maxExactWork?: number;
    /** Beyond that ceiling, multiply-adds per thread the IVF search may take (default IVF_MAX_WORK). */
    maxIvfWork?: number;
  } = {},
): Promise<ApproxTopK> {
  const target = opts.targetRecall ?? 0.95;
  const m = opts.recallSample ?? 200;
  const exactGraph = async (tried: { probes: number; recall: number }[], measured: number | null) => {
    const g = await knnSelf(X, n, d, k, { progress: opts.progress });
    return { ...g, recall: 1, recallSample: 0, params: p, method: 'exact' as const, tried, ivfRecall: measured };
  };
  const C = await coarseCentroids(X, n, d, p);
  const assign = (await knnCross(X, n, C, p.lists, d, 1)).index;
  const maxProbes = Math.min(p.lists, p.maxProbes);
  const near = await knnSelf(C, p.lists, d, maxProbes - 1);
  // Rows grouped by list (counting sort keeps row order inside a list).
  const start = new Int32Array(p.lists + 1);
  for (let i = 0; i < n; i++) start[assign[i] + 1]++;
  for (let c = 0; c < p.lists; c++) start[c + 1] += start[c];
  const rowsByList = new Int32Array(n);
  const fill = start.slice(0, p.lists);
  for (let i = 0; i < n; i++) rowsByList[fill[assign[i]]++] = i;
  const probeLists = (c: number, probes: number) => probeListsOf(near.index, near.k, c, probes);
  const listSize = (l: number) => start[l + 1] - start[l];

  // Choose the probes on a sample.
  const pick = await exactSample(X, n, d, k, 200, p.seed + 1);
  const tried: { probes: number; recall: number }[] = [];
  let probes = 0;
  const threads = Math.min(8, machineThreads());
  // The exact self-search computes each pair once, spread over the worker pool's threads.
  const exactWork = (n * n) / 2 / threads;
  // Beyond the ceiling the exact graph is no fallback (1,000,000 × 64 rows: ~50 minutes on two
  // cores): the IVF settings are tried within a budget and the best one is kept, below the
  // target recall if need be, with the recall it measured.
  const exactAllowed = exactWork * d <= (opts.maxExactWork ?? EXACT_FALLBACK_MAX_WORK);
  const budget = opts.maxIvfWork ?? IVF_MAX_WORK;
  const ivfWork = (pr: number) => {
    let work = 0;
    for (let c = 0; c < p.lists; c++) work += listSize(c) * probeLists(c, pr).reduce((s, l) => s + listSize(l), 0);
    return work;
  };
  let first = Math.min(p.probes, maxProbes);
  if (!exactAllowed) while (first > 1 && (ivfWork(first) * d) / threads > budget) first = Math.max(1, Math.floor(first / 2));
  for (let pr = first; ; pr = Math.min(maxProbes, pr * 2)) {
    const work = ivfWork(pr);
    if (exactAllowed ? work > (opts.maxWorkShare ?? 0.5) * exactWork : pr > first && (work * d) / threads > budget) break;
    const sampleTop = (s: number) => {
      const i = pick.sample[s];
      const best = emptyTopK(1, k);
      for (const l of probeLists(assign[i], pr)) for (let r = start[l]; r < start[l + 1]; r++) {
        const j = rowsByList[r];
        if (j === i) continue;
        let dot = 0;
        for (let t = 0; t < d; t++) dot += X[i * d + t] * X[j * d + t];
        offerTopK(best, 0, j, Math.fround(dot));
      }
      return new Set(Array.from(best.index));
    };
    const rec = recallOf(pick.exact, pick.sample, k, sampleTop);
    tried.push({ probes: pr, recall: rec });
    if (rec >= target + 0.01) { probes = pr; break; }
    if (pr === maxProbes) break;
  }
  if (probes === 0) {
    if (exactAllowed) return exactGraph(tried, null);
    probes = tried[tried.length - 1].probes;
  }

  const top = await searchLists(X, n, d, k, p.lists, start, rowsByList, near, probes, opts.progress, opts.threads);
  // recall@k of the graph itself, on a sample independent of the one that chose the probes.
  const check = await exactSample(X, n, d, k, m, p.seed + 2);
  const recall = recallOf(check.exact, check.sample, k, (s) => new Set(Array.from(top.index.subarray(check.sample[s] * k, (check.sample[s] + 1) * k))));
  if (recall < target && exactAllowed) return exactGraph(tried, recall);
  return {
    ...top, recall, recallSample: check.sample.length, params: { ...p, probes }, method: 'ivf', tried, ivfRecall: recall,
    check: { rows: check.sample, exact: check.exact },
    ...(recall < target ? { belowTarget: { target, exactWork: exactWork * d * threads } } : {}),
  };
}
