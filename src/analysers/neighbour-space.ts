/**
 * The space the neighbour-based analysers search in: features standardised with the pool's
 * column means and standard deviations (not for text-only pools, whose TF-IDF rows are
 * compared as they are), reduced to at most `maxDims` principal components when
 * wider (fashion-mnist's 784 pixels → 64 components, which keeps the class structure and makes
 * an all-pairs search ~12× cheaper), then L2-normalised so a dot product is a cosine similarity.
 *
 * The kNN graph over a split is computed once per (features array, k, dims) and shared by
 * the kNN label-agreement and outlier analysers: exact up to 100,000 rows, an IVF index with
 * measured recall beyond (its `recall` field is then set).
 */
import type { PoolSplit } from '../pool/types.ts';
import type { Progress } from '../util/progress.ts';
import { applyScaling, columnScaling, normalizeRowsInPlace, type ColumnScaling } from '../../compute/scaling.ts';
import { principalBasis, project, textOnly } from './vectors.ts';
import { knnSelf, nearestSelf, type NearestK, type TopK } from '../../compute/neighbours.ts';
import { ivfKnnSelf, ivfParams } from '../../compute/ivf-knn.ts';

export const DEFAULT_MAX_DIMS = 64;
/** Above this many rows the kNN graph comes from the IVF index (compute/ivf-knn.ts), with measured recall. */
export const KNN_EXACT_MAX_ROWS = 100_000;

export interface NeighbourSpace {
  /** Unit rows, n × dims. */
  X: Float32Array;
  n: number;
  dims: number;
  /** Feature dimensions before reduction. */
  inputDims: number;
  scaling: ColumnScaling;
  /** m × inputDims principal directions when reduced, else null. */
  basis: Float32Array | null;
  /**
   * The standardised rows at full width, L2-normalised (n × inputDims): the duplicates
   * analyser's cosine space. The same array as X when nothing was reduced.
   */
  unit: Float32Array;
}

/** Standardised (except text-only TF-IDF rows), L2-normalised rows at full width, and the scaling that made them. */
export interface UnitRows {
  U: Float32Array;
  n: number;
  d: number;
  scaling: ColumnScaling;
}

export interface SpaceOptions {
  maxDims?: number;
  seed?: number;
  /** Standardise the columns first (default true; spaceOf turns it off for text-only TF-IDF rows). */
  standardize?: boolean;
  /** Column ranges [offset, dims] kept as they are when standardising: the TF-IDF blocks of a pool that also has numeric columns (textBlockRanges). */
  asIs?: readonly (readonly [number, number])[];
}

/**
 * The hashed TF-IDF blocks of a split with other feature columns too, as [offset, dims]: they
 * enter the analysers' space as they are, not standardised column by column. Each block's rows
 * have unit norm, about what one standardised numeric column contributes; standardised, a
 * 2,048-column block of rare hashed words outweighed 13 numeric columns (wine with a free-text
 * note: 53 of 150 clean labels called wrong, the planted outliers missed). Empty for
 * text-only splits (not standardised at all) and splits without text.
 */
export function textBlockRanges(split: Pick<PoolSplit, 'd' | 'textFeatures'>): [number, number][] {
  if (!split.textFeatures || textOnly(split)) return [];
  return split.textFeatures.blocks.map((b) => [b.offset, b.dims]);
}

/** Standardise → (PCA) → normalise the rows of X. */
export async function buildSpace(features: Float32Array, n: number, d: number, opts: SpaceOptions = {}): Promise<NeighbourSpace> {
  const maxDims = opts.maxDims ?? DEFAULT_MAX_DIMS;
  const scaling = scalingFor(features, n, d, opts.standardize !== false, opts.asIs);
  const Z = applyScaling(features, n, d, scaling);
  let basis: Float32Array | null = null;
  let X = Z;
  let dims = d;
  if (d > maxDims) {
    basis = await principalBasis(Z, n, d, maxDims, { seed: opts.seed ?? 0 });
    X = await project(Z, n, d, basis, maxDims);
    dims = maxDims;
    // Z is no longer needed as it is: normalised, it is the full-width unit space.
    normalizeRowsInPlace(Z, n, d);
  }
  normalizeRowsInPlace(X, n, dims);
  return { X, n, dims, inputDims: d, scaling, basis, unit: Z };
}

const scalings = new WeakMap<Float32Array, ColumnScaling>();

/** The column scaling of a features array (computed once per array), or the identity when not standardising. */
function scalingFor(features: Float32Array, n: number, d: number, standardize: boolean, asIs: readonly (readonly [number, number])[] = []): ColumnScaling {
  if (!standardize) return identityScaling(d);
  let s = scalings.get(features);
  if (!s || s.mean.length !== d) { s = keepAsIs(columnScaling(features, n, d), asIs); scalings.set(features, s); }
  return s;
}

/** `scaling` with the columns of `ranges` ([offset, dims]) left as they are (mean 0, std 1). */
export function keepAsIs(scaling: ColumnScaling, ranges: readonly (readonly [number, number])[]): ColumnScaling {
  for (const [offset, dims] of ranges) {
    scaling.mean.fill(0, offset, offset + dims);
    scaling.std.fill(1, offset, offset + dims);
  }
  return scaling;
}

/** The column scaling of a split's features (StandardScaler), computed once per features array and shared. */
export function standardScalingOf(split: Pick<PoolSplit, 'features' | 'n' | 'd'>): ColumnScaling {
  return scalingFor(split.features, split.n, split.d, true, textBlockRanges(split));
}

/** The scaling that changes nothing (mean 0, std 1 per column). */
export function identityScaling(d: number): ColumnScaling {
  return { mean: new Float64Array(d), std: new Float64Array(d).fill(1) };
}

/** Maps other rows (e.g. the test split) into an existing space. */
export async function embedInSpace(space: NeighbourSpace, features: Float32Array, n: number): Promise<Float32Array> {
  const Z = applyScaling(features, n, space.inputDims, space.scaling);
  const X = space.basis ? await project(Z, n, space.inputDims, space.basis, space.dims) : Z;
  normalizeRowsInPlace(X, n, space.dims);
  return X;
}

const spaces = new WeakMap<Float32Array, Map<string, Promise<NeighbourSpace>>>();
const units = new WeakMap<Float32Array, Promise<UnitRows>>();
const graphs = new WeakMap<Float32Array, Map<string, Promise<TopK>>>();

/** The neighbour space of a split, built once per features array and options. */
export function spaceOf(split: PoolSplit, opts: SpaceOptions = {}): Promise<NeighbourSpace> {
  const key = `${opts.maxDims ?? DEFAULT_MAX_DIMS}/${opts.seed ?? 0}`;
  let m = spaces.get(split.features);
  if (!m) { m = new Map(); spaces.set(split.features, m); }
  let s = m.get(key);
  if (!s) {
    s = buildSpace(split.features, split.n, split.d, { ...opts, standardize: !textOnly(split), asIs: textBlockRanges(split) });
    m.set(key, s);
    if (!units.has(split.features)) units.set(split.features, s.then((sp) => ({ U: sp.unit, n: sp.n, d: sp.inputDims, scaling: sp.scaling })));
  }
  return s;
}

/**
 * A split's standardised unit rows at full width (the duplicates analyser's cosine space):
 * taken from its neighbour space when one was built (same scaling, same rounding), else
 * computed once here. Callers must not modify them.
 */
export function unitRowsOf(split: PoolSplit): Promise<UnitRows> {
  let u = units.get(split.features);
  if (!u) {
    const scaling = scalingFor(split.features, split.n, split.d, !textOnly(split), textBlockRanges(split));
    const U = applyScaling(split.features, split.n, split.d, scaling);
    normalizeRowsInPlace(U, split.n, split.d);
    u = Promise.resolve({ U, n: split.n, d: split.d, scaling });
    units.set(split.features, u);
  }
  return u;
}

/**
 * The k nearest other rows (cosine) of every row of a split, shared between analysers: a
 * request for fewer neighbours reuses a larger graph already computed (lists are sorted).
 */
export async function knnGraph(split: PoolSplit, k: number, opts: SpaceOptions & { progress?: Progress } = {}): Promise<TopK> {
  const key = `${opts.maxDims ?? DEFAULT_MAX_DIMS}/${opts.seed ?? 0}`;
  let m = graphs.get(split.features);
  if (!m) { m = new Map(); graphs.set(split.features, m); }
  for (const [gk, g] of m) {
    const [kk, rest] = gk.split('|');
    if (rest === key && Number(kk) >= k) return truncate(await g, k);
  }
  const p = spaceOf(split, opts).then((space) => space.n > KNN_EXACT_MAX_ROWS
    ? ivfKnnSelf(space.X, space.n, space.dims, k, ivfParams(space.n, opts.seed ?? 0), { progress: opts.progress })
    : knnSelf(space.X, space.n, space.dims, k, { progress: opts.progress }));
  m.set(`${k}|${key}`, p);
  return p;
}

/** Standardised rows (projected onto the neighbour space's principal directions when wider than maxDims) and their exact Euclidean kNN lists. */
export interface EuclideanNeighbours {
  /** n × dims, not normalised: distances, not angles. */
  Z: Float32Array;
  dims: number;
  nearest: NearestK;
}

const euclideanGraphs = new WeakMap<Float32Array, Map<string, Promise<EuclideanNeighbours>>>();

/**
 * The exact k nearest rows by Euclidean distance on the standardised features (the shared
 * column scaling), at full width up to `maxDims` dimensions, else on the projection onto the
 * neighbour space's `maxDims` principal directions: the space of tabular features, where the
 * cosine of 4 standardised columns makes neighbours of rows far apart on one ray from the
 * centre. Shared by the outlier and kNN label-agreement analysers, computed once per
 * (features, k, dims); exact, so up to KNN_EXACT_MAX_ROWS rows.
 */
export function euclideanNeighbours(split: PoolSplit, k: number, opts: { maxDims?: number; seed?: number } = {}): Promise<EuclideanNeighbours> {
  const maxDims = opts.maxDims ?? DEFAULT_MAX_DIMS;
  const key = `${maxDims}/${opts.seed ?? 0}`;
  let m = euclideanGraphs.get(split.features);
  if (!m) { m = new Map(); euclideanGraphs.set(split.features, m); }
  for (const [gk, g] of m) {
    const [kk, rest] = gk.split('|');
    if (rest === key && Number(kk) >= k) return g.then((e) => ({ ...e, nearest: truncateNearest(e.nearest, k) }));
  }
  const p = (async () => {
    const n = split.n;
    let Z = applyScaling(split.features, n, split.d, standardScalingOf(split));
    let dims = split.d;
    if (dims > maxDims) {
      const basis = (await spaceOf(split, { maxDims, seed: opts.seed })).basis!;
      Z = await project(Z, n, dims, basis, maxDims);
      dims = maxDims;
    }
    return { Z, dims, nearest: await nearestSelf(Z, n, dims, k, 'euclidean') };
  })();
  m.set(`${k}|${key}`, p);
  return p;
}

function truncateNearest(g: NearestK, k: number): NearestK {
  if (g.k <= k) return g;
  const index = new Int32Array(g.n * k), distance = new Float64Array(g.n * k);
  for (let i = 0; i < g.n; i++) {
    index.set(g.index.subarray(i * g.k, i * g.k + k), i * k);
    distance.set(g.distance.subarray(i * g.k, i * g.k + k), i * k);
  }
  return { n: g.n, k, index, distance };
}

/**
 * The checked rows of an approximate graph (TopK.check) with, per row, its first k neighbours
 * in the graph and in the exact lists (itself left out), or null for an exact graph.
 */
export function checkedNeighbours(g: TopK, k = g.k): { rows: Int32Array; approx: Int32Array[]; exact: Int32Array[]; exactSim: Float64Array[] } | null {
  if (!g.check || g.method !== 'ivf') return null;
  const { rows, exact } = g.check;
  const kk = Math.min(k, g.k);
  const approx: Int32Array[] = [], ex: Int32Array[] = [], exSim: Float64Array[] = [];
  rows.forEach((i, s) => {
    approx.push(g.index.subarray(i * g.k, i * g.k + kk).filter((j) => j >= 0));
    const list: number[] = [], sims: number[] = [];
    for (let t = 0; t < exact.k && list.length < kk; t++) {
      const j = exact.index[s * exact.k + t];
      if (j >= 0 && j !== i) { list.push(j); sims.push(exact.sim[s * exact.k + t]); }
    }
    ex.push(Int32Array.from(list));
    exSim.push(Float64Array.from(sims));
  });
  return { rows, approx, exact: ex, exactSim: exSim };
}

/**
 * A sentence for the verdicts of the analysers that read the kNN graph when it is approximate
 * below the target recall (compute/ivf-knn.ts keeps such a graph only where the exact one would
 * cost more than the audit allows, beyond ~250,000 rows), else ''. `effect`: what the
 * approximation does to the analyser's own figures on the checked rows (checkedNeighbours).
 */
export function approximateGraphNote(g: Pick<TopK, 'recall' | 'method' | 'n'>, effect = ''): string {
  if (g.method !== 'ivf' || g.recall === undefined || g.recall >= 0.95) return '';
  return ` The neighbour graph is approximate: an inverted-file index whose recall@k is ${g.recall.toFixed(2)} (measured against an exact search for a sample of rows, below the 0.95 target); an exact graph of ${g.n.toLocaleString('en-US')} rows would cost more than the audit allows.${effect ? ` ${effect}` : ' Read the neighbour figures as estimates.'}`;
}

function truncate(g: TopK, k: number): TopK {
  if (g.k <= k) return g;
  const kk = Math.min(k, g.k);
  const index = new Int32Array(g.n * kk);
  const sim = new Float32Array(g.n * kk);
  for (let i = 0; i < g.n; i++) {
    index.set(g.index.subarray(i * g.k, i * g.k + kk), i * kk);
    sim.set(g.sim.subarray(i * g.k, i * g.k + kk), i * kk);
  }
  return { n: g.n, k: kk, index, sim, ...(g.recall !== undefined ? { recall: g.recall } : {}), ...(g.method ? { method: g.method } : {}), ...(g.check ? { check: g.check } : {}) };
}
