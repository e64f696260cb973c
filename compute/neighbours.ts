/**
 * The project's one exact neighbour search (neighbours-core.ts), spread over worker threads
 * (the pool of compute/pool.ts) when the work is large enough to pay for them. The main thread
 * runs one share itself; each worker runs another share over the same shared-memory rows; the
 * shares are merged with index tie-breaking, so results are bit-identical for any number of
 * threads.
 *
 * - knnSelf / knnCross: cosine on L2-normalised rows, as similarities (TopK.sim);
 * - nearestSelf / nearestCross: by distance, 'euclidean' (‖q − x‖ from ‖q‖² + ‖x‖² − 2 q·x) or
 *   'cosine' (1 − cos; raw rows, normalised here; an all-zero row has cosine 0 with all);
 * - nearestCrossSync: the same search on the calling thread, for synchronous callers (the
 *   evaluator's kNN model predicts synchronously; inside fit jobs every kernel is
 *   single-threaded anyway).
 */
import { machineThreads, runPooled } from './pool.ts';
import {
  knnSelfPart, knnCrossPart, pairsSelfPart, pairsCrossPart, signKeysPart, productPart, blockRowsFor, blockOrder, mergeTopK, mergePairs, buildLayout,
  type TopK, type PairList, type SimLayout, type SearchMetric, type Scores,
} from './neighbours-core.ts';
import { normalizeRowsInPlace } from './scaling.ts';

export type { TopK, PairList, SearchMetric } from './neighbours-core.ts';

/** Nearest rows by distance, ascending (ties to the smaller row index); index −1 where fewer than k exist. */
export interface NearestK {
  n: number;
  k: number;
  index: Int32Array;
  /** n × k distances: euclidean ‖q − x‖, or cosine 1 − cos(q, x). */
  distance: Float64Array;
}

export interface NeighbourTask {
  kind: 'knn-self' | 'knn-cross' | 'pairs-self' | 'pairs-cross' | 'sign-keys' | 'product';
  layout: SimLayout;
  k?: number;
  threshold?: number;
  bits?: number;
  part: number;
  parts: number;
}

/** What a search reports its progress to (the shape of src/util/progress.ts's Progress). */
export interface ProgressSink {
  start(total: number, label?: string): void;
  tick(units?: number): void;
}

export interface SearchOptions {
  /** Threads to use including the main one; default: available cores (at most 8). */
  threads?: number;
  progress?: ProgressSink;
  /** Work (multiply-adds) below which the search stays on the main thread. */
  minWorkForThreads?: number;
}

/** Below this many multiply-adds a search stays on the main thread (worker start-up ≈ 0.2 s). */
const MIN_WORK_FOR_THREADS = 4e8;

/** The k most similar other rows of each row of X (unit rows: similarity = cosine). */
export async function knnSelf(X: Float32Array, n: number, d: number, k: number, opts: SearchOptions = {}): Promise<TopK> {
  return (await selfSearch(X, n, d, k, 'cosine', opts)) as TopK;
}

/** The k most similar rows of X for each row of Q (unit rows: similarity = cosine). */
export async function knnCross(
  Q: Float32Array, nq: number, X: Float32Array, nx: number, d: number, k: number, opts: SearchOptions = {},
): Promise<TopK> {
  return (await crossSearch(Q, nq, X, nx, d, k, 'cosine', opts)) as TopK;
}

/** The k nearest other rows of each row of X by `metric` (raw rows). */
export async function nearestSelf(
  X: Float32Array, n: number, d: number, k: number, metric: SearchMetric, opts: SearchOptions = {},
): Promise<NearestK> {
  const unit = metric === 'cosine' ? unitCopy(X, n, d) : X;
  return distances(await selfSearch(unit, n, d, k, metric, opts), metric);
}

/** The k nearest rows of X for each row of Q by `metric` (raw rows). */
export async function nearestCross(
  Q: Float32Array, nq: number, X: Float32Array, nx: number, d: number, k: number, metric: SearchMetric, opts: SearchOptions = {},
): Promise<NearestK> {
  const [q, x] = metric === 'cosine' ? [unitCopy(Q, nq, d), unitCopy(X, nx, d)] : [Q, X];
  return distances(await crossSearch(q, nq, x, nx, d, k, metric, opts), metric);
}

/** nearestCross on the calling thread, synchronously (bit-identical to it). */
export function nearestCrossSync(
  Q: Float32Array, nq: number, X: Float32Array, nx: number, d: number, k: number, metric: SearchMetric,
): NearestK {
  checkRows(Q, nq, X, nx, d);
  const [q, x] = metric === 'cosine' ? [unitCopy(Q, nq, d), unitCopy(X, nx, d)] : [Q, X];
  const kk = Math.max(0, Math.min(k, nx));
  const layout = buildLayout(x, nx, d, 1, q, nq, metric);
  return distances(knnCrossPart(layout, kk, 0, 1), metric);
}

function checkRows(Q: Float32Array | undefined, nq: number, X: Float32Array, nx: number, d: number): void {
  if (X.length !== nx * d) throw new Error(`neighbour search: reference rows have ${X.length} values, expected ${nx}×${d}`);
  if (Q && Q.length !== nq * d) throw new Error(`neighbour search: queries have ${Q.length} values, expected ${nq}×${d}`);
}

async function selfSearch(X: Float32Array, n: number, d: number, k: number, metric: SearchMetric, opts: SearchOptions): Promise<TopK<Scores>> {
  checkRows(undefined, 0, X, n, d);
  const kk = Math.max(0, Math.min(k, n - 1));
  // Cosine over several blocks: rows laid out in a k-d block order, so each row's block gives
  // it a floor on its k-th best (neighbours-core.ts blockFloors) and far tiles are skipped.
  const bs = blockRowsFor(Math.ceil(Math.max(d, 1) / 4) * 4);
  const order = metric === 'cosine' && n > 2 * bs && kk > 0 ? blockOrder(X, n, d, bs) : undefined;
  const parts = await run('knn-self', { k: kk }, X, n, d, undefined, 0, (n * n * d) / 2, (n * (n + 1)) / 2, opts, metric, order);
  return mergeTopK(parts as TopK<Scores>[]);
}

async function crossSearch(
  Q: Float32Array, nq: number, X: Float32Array, nx: number, d: number, k: number, metric: SearchMetric, opts: SearchOptions,
): Promise<TopK<Scores>> {
  checkRows(Q, nq, X, nx, d);
  const kk = Math.max(0, Math.min(k, nx));
  const parts = await run('knn-cross', { k: kk }, X, nx, d, Q, nq, nq * nx * d, nq * nx, opts, metric);
  return mergeTopK(parts as TopK<Scores>[]);
}

/** A copy of X with unit rows (all-zero rows stay zero), as the cosine search needs. */
function unitCopy(X: Float32Array, n: number, d: number): Float32Array {
  const U = X.slice();
  normalizeRowsInPlace(U, n, d);
  return U;
}

/** Scores → distances: euclidean √(−score) (the score is −squared distance), cosine 1 − cos. */
function distances(top: TopK<Scores>, metric: SearchMetric): NearestK {
  const distance = new Float64Array(top.sim.length);
  for (let i = 0; i < distance.length; i++) {
    const s = top.sim[i];
    distance[i] = top.index[i] < 0 ? Infinity : metric === 'euclidean' ? Math.sqrt(-s) : 1 - s;
  }
  return { n: top.n, k: top.k, index: top.index, distance };
}

/** All pairs a < b of rows of X with cosine ≥ threshold, sorted by (a, b). */
export async function pairsAboveSelf(
  X: Float32Array, n: number, d: number, threshold: number, opts: SearchOptions = {},
): Promise<PairList> {
  const parts = await run('pairs-self', { threshold }, X, n, d, undefined, 0, (n * n * d) / 2, (n * (n + 1)) / 2, opts);
  return mergePairs(parts as PairList[]);
}

/** All pairs (q, x) with cosine(Q[q], X[x]) ≥ threshold, sorted by (q, x). */
export async function pairsAboveCross(
  Q: Float32Array, nq: number, X: Float32Array, nx: number, d: number, threshold: number, opts: SearchOptions = {},
): Promise<PairList> {
  const parts = await run('pairs-cross', { threshold }, X, nx, d, Q, nq, nq * nx * d, nq * nx, opts);
  return mergePairs(parts as PairList[]);
}

/**
 * Random-hyperplane hash keys of the rows of X: `tables` keys of `bits` bits per row from the
 * rows of H (tables × bits hyperplanes, each of length d). keys[t * n + i].
 */
export async function signKeys(
  X: Float32Array, n: number, d: number, H: Float32Array, tables: number, bits: number, opts: SearchOptions = {},
): Promise<Uint32Array> {
  if (bits < 1 || bits > 31) throw new RangeError(`hash keys need 1..31 bits, got ${bits}`);
  const h = tables * bits;
  const parts = await run('sign-keys', { bits }, H, h, d, X, n, n * h * d, n * h, opts);
  const keys = parts[0] as unknown as Uint32Array;
  for (let p = 1; p < parts.length; p++) {
    const other = parts[p] as unknown as Uint32Array;
    for (let i = 0; i < keys.length; i++) keys[i] |= other[i];
  }
  return keys;
}

/** The dense product Q · Xᵀ (nq × nx, row-major) with the SIMD kernel: projections, Gram matrices. */
export async function crossProduct(
  Q: Float32Array, nq: number, X: Float32Array, nx: number, d: number, opts: SearchOptions = {},
): Promise<Float32Array> {
  const parts = await run('product', {}, X, nx, d, Q, nq, nq * nx * d, nq * nx, opts);
  const out = parts[0] as unknown as Float32Array;
  // Part p filled the rows of Q blocks I ≡ p (mod parts); copy those over.
  const bs = blockRowsFor(Math.ceil(d / 4) * 4);
  for (let p = 1; p < parts.length; p++) {
    const other = parts[p] as unknown as Float32Array;
    for (let I = p; I * bs < nq; I += parts.length) {
      const from = I * bs * nx, to = Math.min(nq, (I + 1) * bs) * nx;
      out.set(other.subarray(from, to), from);
    }
  }
  return out;
}

/** Job entry for the worker pool: one share of a search, no progress from there. */
export function neighbourJob(t: NeighbourTask): PartResult {
  return runNeighbourTask(t);
}

/** Runs one share of a search (in this thread or in a pool thread). */
export function runNeighbourTask(t: NeighbourTask, onTile?: (pairs: number) => void): PartResult {
  switch (t.kind) {
    case 'knn-self': return knnSelfPart(t.layout, t.k!, t.part, t.parts, onTile);
    case 'knn-cross': return knnCrossPart(t.layout, t.k!, t.part, t.parts, onTile);
    case 'pairs-self': return pairsSelfPart(t.layout, t.threshold!, t.part, t.parts, onTile);
    case 'pairs-cross': return pairsCrossPart(t.layout, t.threshold!, t.part, t.parts, onTile);
    case 'sign-keys': return signKeysPart(t.layout, t.bits!, t.part, t.parts, onTile);
    case 'product': return productPart(t.layout, t.part, t.parts, onTile);
  }
}

type PartResult = TopK<Scores> | PairList | Uint32Array | Float32Array;

async function run(
  kind: NeighbourTask['kind'], args: { k?: number; threshold?: number; bits?: number },
  X: Float32Array, n: number, d: number, Q: Float32Array | undefined, nq: number,
  work: number, totalPairs: number, opts: SearchOptions, metric: SearchMetric = 'cosine', order?: Int32Array,
): Promise<PartResult[]> {
  const maxThreads = opts.threads ?? Math.min(8, machineThreads());
  const parts = work < (opts.minWorkForThreads ?? MIN_WORK_FOR_THREADS) ? 1 : Math.max(1, maxThreads);
  const layout = buildLayout(X, n, d, parts, Q, nq, metric, order);
  const progress = opts.progress;
  progress?.start(totalPairs, 'neighbours');
  // The main thread sees only its own share; scale its ticks to estimate the whole.
  const onTile = progress ? (pairs: number) => progress.tick(pairs * parts) : undefined;
  const tasks: NeighbourTask[] = Array.from({ length: parts }, (_, part) => ({ kind, layout, ...args, part, parts }));
  if (parts === 1) return [runNeighbourTask(tasks[0], onTile)];
  // Share p runs on pool thread p; share 0 on this thread meanwhile.
  return runPooled<NeighbourTask, PartResult>({
    module: new URL(import.meta.url), // this module, compiled or not
    fn: 'neighbourJob',
    jobs: tasks,
    workers: parts - 1,
    owner: tasks.map((t) => t.part),
    local: (t) => runNeighbourTask(t, onTile),
    onError: (part, message) => new Error(`neighbour search share ${part} failed in a worker: ${message}`),
  });
}
