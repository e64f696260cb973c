/**
 * Synthetic pools with known ground truth: Gaussian class clusters in `dim` dimensions, with
 * every problem a data-centric benchmark cares about planted on purpose and recorded —
 * label noise (symmetric, class-pair asymmetric, or a mix), exact and near duplicates (some
 * across train/test, i.e. leakage), class imbalance, and a group attribute whose members
 * get more label noise and a different class prior.
 *
 * Everything is typed arrays; all randomness comes from compute/rng.ts, one sub-stream per
 * stage (deriveSeed), so e.g. asking for more duplicates does not reshuffle the features.
 */
import { createRng, deriveSeed, type Rng } from '../../compute/rng.ts';
import { SieveError } from '../util/errors.ts';
import type { TableData } from './duckdb.ts';
import type { ManifestDraft } from './manifest.ts';
import type { PoolDraft } from './write.ts';
import type { Progress } from '../util/progress.ts';

export type NoiseType = 'symmetric' | 'asymmetric' | 'mixed';

export interface SynthOptions {
  /** Total rows, train + test. */
  rows: number;
  /** Test rows; default round(rows × testFraction). */
  testRows?: number;
  /** Share of rows in the test split when testRows is not given (default 0.2). */
  testFraction?: number;
  dim: number;
  classes: number;
  /** Distance of each class centroid from the origin, in units of the within-class std (default 2.5). */
  separation?: number;
  /** Overall share of train labels flipped (default 0). */
  noise?: number;
  /** symmetric: to any other class; asymmetric: class i → (i+1) mod k; mixed: half each. */
  noiseType?: NoiseType;
  /** Exact duplicate pairs to plant (default 0). */
  exactDups?: number;
  /** Near duplicate pairs to plant: a copy plus Gaussian jitter of std nearSigma (default 0). */
  nearDups?: number;
  /**
   * Jitter std of near duplicates (the clusters have std 1). Default 0.05 from 16 dimensions
   * on, where the duplicates audit uses cosine; below, where it uses a Euclidean threshold
   * relative to the nearest-neighbour scale, a std small enough for that threshold to find
   * every pair (detectableNearSigma).
   */
  nearSigma?: number;
  /** Share of planted pairs whose copy lands in the test split (default 0.2). */
  crossSplitFraction?: number;
  /** Largest / smallest class size; sizes are geometric in between (default 1, balanced). */
  imbalance?: number;
  /** Share of rows in group 'b' (default 0.3); the rest are 'a'. */
  groupFraction?: number;
  /** Noise rate of group 'b' divided by that of group 'a' (default 1). */
  groupNoiseFactor?: number;
  /**
   * Tilt of group 'b' towards the low-numbered classes: P(b | class c) =
   * groupFraction × (1 + shift × (1 − 2c/(k−1))). 0 = same class prior in both groups (default 0).
   */
  groupPriorShift?: number;
  /**
   * Outlier rows to plant in train (default 0): rows in no duplicate pair whose features are
   * replaced by outlierScale × N(0, I) around the origin, far from every class centroid (as
   * test/analysers-outliers.test.ts plants them). Their labels stay; truth.parquet then has an
   * `outlier` column.
   */
  outliers?: number;
  /** Spread of the outlier rows (default 6; the clusters have std 1). */
  outlierScale?: number;
  seed?: number;
  /** Pool name for the manifest (default "synth"). */
  name?: string;
}

/** Options with every default filled in, as recorded in the datasheet. */
export type ResolvedSynthOptions = Required<Omit<SynthOptions, 'testFraction'>>;

export interface SynthStats {
  trainRows: number;
  testRows: number;
  noisyRows: number;
  noisyByGroup: Record<'a' | 'b', { rows: number; noisy: number }>;
  classCounts: { train: number[]; test: number[] };
  exactPairs: number;
  nearPairs: number;
  crossSplitPairs: number;
  outlierRows: number;
  /** The near-duplicate jitter was chosen under the audit's detection limit (detectableNearSigma). */
  nearSigmaDetectable: boolean;
}

export interface SynthPool {
  train: TableData;
  test: TableData;
  truth: TableData;
  duplicates: TableData;
  manifestDraft: ManifestDraft;
  options: ResolvedSynthOptions;
  stats: SynthStats;
}

export const SYNTH_FEATURE = 'embedding';
export const SYNTH_GROUP = 'group';

/** Class names c0 … c{k−1}, zero-padded so they sort in class order. */
export function synthClassNames(k: number): string[] {
  const w = String(k - 1).length;
  return Array.from({ length: k }, (_, c) => `c${String(c).padStart(w, '0')}`);
}

export function resolveSynthOptions(o: SynthOptions): ResolvedSynthOptions {
  const testRows = o.testRows ?? Math.round(o.rows * (o.testFraction ?? 0.2));
  const r: ResolvedSynthOptions = {
    rows: o.rows,
    testRows,
    dim: o.dim,
    classes: o.classes,
    separation: o.separation ?? 2.5,
    noise: o.noise ?? 0,
    noiseType: o.noiseType ?? 'symmetric',
    exactDups: o.exactDups ?? 0,
    nearDups: o.nearDups ?? 0,
    // Below COSINE_MIN_DIMS the default is set from the rows in generateSynthPool.
    nearSigma: o.nearSigma ?? 0.05,
    crossSplitFraction: o.crossSplitFraction ?? 0.2,
    imbalance: o.imbalance ?? 1,
    groupFraction: o.groupFraction ?? 0.3,
    groupNoiseFactor: o.groupNoiseFactor ?? 1,
    groupPriorShift: o.groupPriorShift ?? 0,
    outliers: o.outliers ?? 0,
    outlierScale: o.outlierScale ?? 6,
    seed: o.seed ?? 0,
    name: o.name ?? 'synth',
  };
  validate(r, o);
  return r;
}

function validate(r: ResolvedSynthOptions, o: SynthOptions): void {
  const bad = (what: string, where: string): never => {
    throw new SieveError(what, { where });
  };
  const int = (v: number, min: number, where: string) => {
    if (!Number.isInteger(v) || v < min) bad(`${where} must be an integer ≥ ${min}, got ${v}`, where);
  };
  const frac = (v: number, where: string, hi = 1) => {
    if (!(v >= 0 && v <= hi)) bad(`${where} must be between 0 and ${hi}, got ${v}`, where);
  };
  int(r.rows, 2, '--rows');
  int(r.dim, 1, '--dim');
  int(r.classes, 2, '--classes');
  int(r.exactDups, 0, '--exact-dups');
  int(r.nearDups, 0, '--near-dups');
  int(r.seed, 0, '--seed');
  int(r.outliers, 0, '--outliers');
  if (!(r.outlierScale > 0 && Number.isFinite(r.outlierScale))) bad(`outlier-scale must be > 0, got ${r.outlierScale}`, '--outlier-scale');
  if (r.seed > 0xffffffff) bad(`seed must fit in 32 bits, got ${r.seed}`, '--seed');
  if (o.testFraction !== undefined) frac(o.testFraction, '--test-fraction');
  int(r.testRows, 0, '--test-rows');
  const trainRows = r.rows - r.testRows;
  if (trainRows < r.classes) bad(`${trainRows} train rows cannot hold ${r.classes} classes`, '--rows');
  if (r.testRows > 0 && r.testRows < r.classes) bad(`${r.testRows} test rows cannot hold ${r.classes} classes`, '--test-rows');
  if (!(r.separation >= 0 && Number.isFinite(r.separation))) bad(`separation must be ≥ 0, got ${r.separation}`, '--separation');
  frac(r.noise, '--noise');
  if (!['symmetric', 'asymmetric', 'mixed'].includes(r.noiseType))
    bad(`noise type must be symmetric, asymmetric or mixed, got "${r.noiseType}"`, '--noise-type');
  if (!(r.nearSigma >= 0 && Number.isFinite(r.nearSigma))) bad(`near-sigma must be ≥ 0, got ${r.nearSigma}`, '--near-sigma');
  frac(r.crossSplitFraction, '--cross-split-fraction');
  if (!(r.imbalance >= 1 && Number.isFinite(r.imbalance))) bad(`imbalance must be ≥ 1 (largest/smallest class), got ${r.imbalance}`, '--imbalance');
  frac(r.groupFraction, '--group-fraction');
  if (!(r.groupNoiseFactor >= 0 && Number.isFinite(r.groupNoiseFactor)))
    bad(`group-noise-factor must be ≥ 0, got ${r.groupNoiseFactor}`, '--group-noise-factor');
  frac(r.groupPriorShift, '--group-prior-shift');
  if (r.groupFraction * (1 + r.groupPriorShift) > 1)
    bad(`group-fraction × (1 + group-prior-shift) = ${r.groupFraction * (1 + r.groupPriorShift)} exceeds 1`, '--group-prior-shift');
  const [rateA, rateB] = groupNoiseRates(r);
  if (rateB > 1 || rateA > 1)
    bad(`noise ${r.noise} with group-noise-factor ${r.groupNoiseFactor} needs a rate of ${Math.max(rateA, rateB).toFixed(3)} in one group (> 1)`, '--group-noise-factor');
  // Each planted pair uses two rows that take part in no other pair.
  const pairs = r.exactDups + r.nearDups;
  if (2 * pairs > trainRows) bad(`${pairs} duplicate pairs need ${2 * pairs} distinct rows; only ${trainRows} train rows`, '--exact-dups/--near-dups');
  const cross = Math.round(pairs * r.crossSplitFraction);
  if (cross > r.testRows) bad(`${cross} cross-split duplicates need as many test rows; only ${r.testRows}`, '--cross-split-fraction');
  const inPairs = 2 * pairs - cross;
  if (r.outliers > trainRows - inPairs) bad(`${r.outliers} outliers need as many train rows outside the duplicate pairs; only ${trainRows - inPairs}`, '--outliers');
}

/**
 * Noise rates of groups a and b such that the overall train rate is `noise` and
 * rate_b = groupNoiseFactor × rate_a, for group sizes nA and nB (expected sizes when
 * validating options, actual sizes when injecting).
 */
function groupNoiseRates(r: ResolvedSynthOptions, nA = 1 - r.groupFraction, nB = r.groupFraction): [number, number] {
  const denom = nA + r.groupNoiseFactor * nB;
  const a = denom > 0 ? (r.noise * (nA + nB)) / denom : 0;
  return [a, a * r.groupNoiseFactor];
}

/** Exact class sizes summing to n, geometric from largest (class 0) to smallest (ratio `imbalance`). */
export function geometricClassSizes(n: number, k: number, imbalance: number): number[] {
  const w = Array.from({ length: k }, (_, c) => Math.pow(imbalance, -c / (k - 1)));
  const total = w.reduce((a, b) => a + b, 0);
  const sizes = w.map((x) => Math.floor((n * x) / total));
  // Hand out the rounding remainder by largest fractional part (ties: lower class).
  const order = w.map((x, c) => ({ c, f: (n * x) / total - sizes[c] })).sort((p, q) => q.f - p.f || p.c - q.c);
  for (let i = 0, left = n - sizes.reduce((a, b) => a + b, 0); left > 0; i++, left--) sizes[order[i % k].c]++;
  // Every class keeps at least one row (validate() ensures n ≥ k), taken from the largest.
  for (let c = 0; c < k; c++) {
    if (sizes[c] > 0) continue;
    sizes[sizes.indexOf(Math.max(...sizes))]--;
    sizes[c] = 1;
  }
  return sizes;
}

/** Labels with exact class sizes, in random order. */
function shuffledLabels(sizes: number[], rng: Rng): Int32Array {
  const n = sizes.reduce((a, b) => a + b, 0);
  const y = new Int32Array(n);
  let at = 0;
  sizes.forEach((s, c) => { y.fill(c, at, at + s); at += s; });
  return rng.shuffle(y);
}

/** Group 'b' membership (1) per row, tilted by class when groupPriorShift > 0. */
function groupMembership(y: Int32Array, r: ResolvedSynthOptions, rng: Rng): Uint8Array {
  const k = r.classes;
  const pB = Array.from({ length: k }, (_, c) => r.groupFraction * (1 + r.groupPriorShift * (1 - (2 * c) / (k - 1))));
  const g = new Uint8Array(y.length);
  for (let i = 0; i < y.length; i++) g[i] = rng.uniform() < pB[y[i]] ? 1 : 0;
  return g;
}

/** Random unit directions scaled by `separation`: class c's centroid is row c of a k × d matrix. */
function centroids(r: ResolvedSynthOptions, rng: Rng): Float32Array {
  const { classes: k, dim: d } = r;
  const m = new Float32Array(k * d);
  for (let c = 0; c < k; c++) {
    let norm = 0;
    const v = new Float64Array(d);
    for (let j = 0; j < d; j++) { v[j] = rng.normal(); norm += v[j] * v[j]; }
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < d; j++) m[c * d + j] = (r.separation * v[j]) / norm;
  }
  return m;
}

/** x = centroid[y] + N(0, I), row-major n × d. Ticks `progress` once per row. */
function clusterFeatures(y: Int32Array, mu: Float32Array, d: number, rng: Rng, progress?: Progress): Float32Array {
  const n = y.length;
  const x = new Float32Array(n * d);
  const BLOCK = 4096;
  for (let start = 0; start < n; start += BLOCK) {
    const end = Math.min(n, start + BLOCK);
    for (let i = start; i < end; i++) {
      const off = i * d, coff = y[i] * d;
      for (let j = 0; j < d; j++) x[off + j] = mu[coff + j] + rng.normal();
    }
    progress?.tick(end - start);
  }
  return x;
}

interface Pair { src: number; dst: number; dstTest: boolean; near: boolean }

/**
 * Per column, `steps` float32 steps at the column's largest magnitude (train and test): a
 * jitter at least this large changes the coordinate however the audit shifts and scales the
 * column (a standardised value's float32 step is at most that step over the column's std).
 */
function columnSteps(a: Float32Array, b: Float32Array, d: number, steps: number): Float64Array {
  const out = new Float64Array(d);
  for (const x of [a, b]) for (let i = 0; i < x.length; i++) { const j = i % d; out[j] = Math.max(out[j], Math.abs(x[i])); }
  const f = new Float32Array(1), bits = new Int32Array(f.buffer);
  for (let j = 0; j < d; j++) {
    f[0] = out[j];
    const v = f[0];
    bits[0] += 1;
    out[j] = steps * (f[0] - v || Number.MIN_VALUE);
  }
  return out;
}

/** Vector dimensions from which the duplicates audit uses cosine (src/analysers/vectors.ts COSINE_MIN_DIMS; src/pool imports no analyser, a test pins them equal). */
export const AUDIT_COSINE_MIN_DIMS = 16;

/** The duplicates analyser's Euclidean rule (its defaults falseRows and maxRelativeDistance; duplicate-search.ts euclideanScale). */
const AUDIT_FALSE_ROWS = 0.002;
const AUDIT_MAX_RELATIVE = 0.25;
/** Share of the audit's threshold a planted pair's distance stays under (its intrinsic-dimension estimate varies). */
const DETECT_SHARE = 0.25;

/**
 * A near-duplicate jitter std that the duplicates audit's Euclidean threshold detects (below
 * 16 dimensions): the threshold is t × the median nearest-neighbour distance of the
 * standardised train rows, t = (falseRows / (n ln 2))^(1/d) (capped at 0.25), so that chance
 * alone puts ~0.002 rows that close. The median is measured on up to 256 rows (by stride)
 * against up to 20,000 rows (nearest distance scaled by (m / n)^(1/d) when fewer), the std
 * chosen so the jittered copy lies within DETECT_SHARE of the threshold even at the 99.9%
 * quantile of its length (χ_d, Laurent–Massart bound). At 2 dimensions and 8,000 train rows
 * this is ~1e-5 of the clusters' std: a copy with 5% jitter is no closer than chance
 * neighbours of that many rows.
 */
export function detectableNearSigma(x: Float32Array, n: number, d: number): number {
  if (n < 2) return 0.05;
  const mean = new Float64Array(d), inv = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) { const v = x[i * d + j] - mean[j]; inv[j] += v * v; }
  for (let j = 0; j < d; j++) inv[j] = 1 / (Math.sqrt(inv[j] / n) || 1);
  const refRows = Math.min(n, 20_000), sampleRows = Math.min(n, 256);
  const ref = (k: number) => Math.floor((k * n) / refRows);
  const nn: number[] = [];
  for (let s = 0; s < sampleRows; s++) {
    const i = Math.floor((s * n) / sampleRows);
    let best = Infinity;
    for (let k = 0; k < refRows; k++) {
      const r = ref(k);
      if (r === i) continue;
      let dist = 0;
      for (let j = 0; j < d; j++) { const v = (x[i * d + j] - x[r * d + j]) * inv[j]; dist += v * v; }
      if (dist < best) best = dist;
    }
    nn.push(Math.sqrt(best));
  }
  nn.sort((a, b) => a - b);
  const medianNn = nn[Math.floor(nn.length / 2)] * Math.pow(refRows / n, 1 / d);
  const t = Math.min(AUDIT_MAX_RELATIVE, Math.pow(AUDIT_FALSE_ROWS / (n * Math.LN2), 1 / d));
  const xq = Math.log(1000);
  const chi = Math.sqrt(d + 2 * Math.sqrt(d * xq) + 2 * xq);
  // A copy's standardised distance is σ · ‖(z_j / sd_j)‖ ≤ σ · max_j (1 / sd_j) · ‖z‖, ‖z‖ ≤ χ.
  const maxInv = Math.max(...inv);
  return Math.min(0.05, (DETECT_SHARE * t * medianNn) / (chi * maxInv));
}

/**
 * Plants duplicate pairs: a train row (source) is copied over another row of the same class
 * (target) — in train, or in test for cross-split pairs — so class counts stay exact. Near
 * copies get jitter. Each row takes part in at most one pair; the target also takes the
 * source's group (it is the same individual).
 */
function plantDuplicates(
  r: ResolvedSynthOptions,
  train: { y: Int32Array; x: Float32Array; g: Uint8Array },
  test: { y: Int32Array; x: Float32Array; g: Uint8Array },
  rng: Rng,
  minSteps = 0,
): Pair[] {
  const d = r.dim;
  const minStep = minSteps ? columnSteps(train.x, test.x, d, minSteps) : null;
  const total = r.exactDups + r.nearDups;
  if (total === 0) return [];
  const cross = Math.round(total * r.crossSplitFraction);
  // Which pairs are near and which cross the split: a seeded shuffle of the pair kinds.
  const near = new Uint8Array(total).fill(1, r.exactDups);
  const crossing = new Uint8Array(total).fill(1, 0, cross);
  rng.shuffle(near);
  rng.shuffle(crossing);
  // Candidate rows per class and split, in random order; consumed from the end.
  const byClass = (y: Int32Array) => {
    const lists: number[][] = Array.from({ length: r.classes }, () => []);
    const perm = rng.permutation(y.length);
    for (let i = 0; i < perm.length; i++) lists[y[perm[i]]].push(perm[i]);
    return lists;
  };
  const trainFree = byClass(train.y);
  const testFree = byClass(test.y);
  const pairs: Pair[] = [];
  for (let p = 0; p < total; p++) {
    const toTest = crossing[p] === 1;
    const dstLists = toTest ? testFree : trainFree;
    // Source class: drawn in proportion to the rows still free in both roles.
    let c = -1;
    for (let tries = 0; tries < 1000 && c < 0; tries++) {
      const cand = train.y[rng.int(train.y.length)];
      const needSrc = toTest ? 1 : 2; // same-split pairs take two rows from trainFree[c]
      if (trainFree[cand].length >= needSrc && dstLists[cand].length >= 1) c = cand;
    }
    if (c < 0) c = trainFree.findIndex((l, cc) => l.length >= (toTest ? 1 : 2) && dstLists[cc].length >= 1);
    if (c < 0) throw new SieveError(`cannot place duplicate pair ${p + 1} of ${total}: no free rows of one class left`, { where: '--exact-dups/--near-dups' });
    const src = trainFree[c].pop()!;
    const dst = dstLists[c].pop()!;
    const dstData = toTest ? test : train;
    const isNear = near[p] === 1;
    for (let j = 0; j < d; j++) {
      const v = train.x[src * d + j];
      let w = isNear ? v + r.nearSigma * rng.normal() : v;
      // A jitter of a few float32 steps (the detectable std at low dimensions) moves every
      // coordinate by at least minStep: a copy equal in some column would be judged as a pair
      // differing in fewer dimensions, where chance neighbours are likelier.
      if (isNear && minStep && Math.abs(w - v) < minStep[j]) w = v + (w >= v ? 1 : -1) * minStep[j];
      dstData.x[dst * d + j] = w;
    }
    dstData.g[dst] = train.g[src];
    pairs.push({ src, dst, dstTest: toTest, near: isNear });
  }
  return pairs;
}

/**
 * Replaces the features of `r.outliers` train rows that take part in no duplicate pair with
 * outlierScale × N(0, I): rows around the origin with several times the clusters' spread.
 * Returns a 0/1 mark per train row.
 */
function plantOutliers(r: ResolvedSynthOptions, x: Float32Array, nTrain: number, pairs: Pair[], rng: Rng): Uint8Array {
  const mark = new Uint8Array(nTrain);
  if (r.outliers === 0) return mark;
  const used = new Uint8Array(nTrain);
  for (const p of pairs) { used[p.src] = 1; if (!p.dstTest) used[p.dst] = 1; }
  const perm = rng.permutation(nTrain);
  const d = r.dim;
  for (let t = 0, planted = 0; planted < r.outliers; t++) {
    const i = perm[t];
    if (used[i]) continue;
    mark[i] = 1;
    planted++;
    for (let j = 0; j < d; j++) x[i * d + j] = r.outlierScale * rng.normal();
  }
  return mark;
}

/** Flips exactly round(rate × n) train labels per group; returns the observed labels. */
function injectNoise(r: ResolvedSynthOptions, yClean: Int32Array, g: Uint8Array, rng: Rng): Int32Array {
  const y = yClean.slice();
  const k = r.classes;
  let nB = 0;
  for (let i = 0; i < g.length; i++) nB += g[i];
  const [rateA, rateB] = groupNoiseRates(r, g.length - nB, nB);
  if (rateA > 1 || rateB > 1)
    throw new SieveError(`noise ${r.noise} with group-noise-factor ${r.groupNoiseFactor} needs a rate above 1 in one group`, { where: '--group-noise-factor' });
  for (const [grp, rate] of [[0, rateA], [1, rateB]] as const) {
    const members: number[] = [];
    for (let i = 0; i < g.length; i++) if (g[i] === grp) members.push(i);
    const flips = Math.round(rate * members.length);
    // Partial Fisher–Yates: the first `flips` members of a random order.
    for (let i = 0; i < flips; i++) {
      const j = i + rng.int(members.length - i);
      const t = members[i]; members[i] = members[j]; members[j] = t;
      const row = members[i];
      const asym = r.noiseType === 'asymmetric' || (r.noiseType === 'mixed' && rng.uniform() < 0.5);
      y[row] = asym ? (yClean[row] + 1) % k : (yClean[row] + 1 + rng.int(k - 1)) % k;
    }
  }
  return y;
}

function ids(prefix: string, n: number): string[] {
  const w = Math.max(5, String(Math.max(0, n - 1)).length);
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = `${prefix}-${String(i).padStart(w, '0')}`;
  return out;
}

/** Generates a synthetic pool ready for writePool (tables + manifest draft) and its statistics. */
export function generateSynthPool(opts: SynthOptions, run: { progress?: Progress } = {}): SynthPool {
  let r = resolveSynthOptions(opts);
  run.progress?.start(r.rows, 'generating');
  const seed = r.seed;
  const nTest = r.testRows;
  const nTrain = r.rows - nTest;
  const k = r.classes;
  const names = synthClassNames(k);

  const labelRng = createRng(deriveSeed(seed, 'synth', 'labels'));
  const trainSizes = geometricClassSizes(nTrain, k, r.imbalance);
  const testSizes = nTest > 0 ? geometricClassSizes(nTest, k, r.imbalance) : new Array(k).fill(0);
  const yTrain = shuffledLabels(trainSizes, labelRng);
  const yTest = shuffledLabels(testSizes, labelRng);

  const groupRng = createRng(deriveSeed(seed, 'synth', 'groups'));
  const gTrain = groupMembership(yTrain, r, groupRng);
  const gTest = groupMembership(yTest, r, groupRng);

  const featRng = createRng(deriveSeed(seed, 'synth', 'features'));
  const mu = centroids(r, featRng);
  const xTrain = clusterFeatures(yTrain, mu, r.dim, featRng, run.progress);
  const xTest = clusterFeatures(yTest, mu, r.dim, featRng, run.progress);
  const autoSigma = opts.nearSigma === undefined && r.nearDups > 0 && r.dim < AUDIT_COSINE_MIN_DIMS;
  if (autoSigma) r = { ...r, nearSigma: detectableNearSigma(xTrain, nTrain, r.dim) };

  const pairs = plantDuplicates(
    r,
    { y: yTrain, x: xTrain, g: gTrain },
    { y: yTest, x: xTest, g: gTest },
    createRng(deriveSeed(seed, 'synth', 'duplicates')),
    autoSigma ? 4 : 0,
  );
  // Its own sub-stream, after the pairs: pools without outliers are unchanged.
  const outlierMark = plantOutliers(r, xTrain, nTrain, pairs, createRng(deriveSeed(seed, 'synth', 'outliers')));
  const yObserved = injectNoise(r, yTrain, gTrain, createRng(deriveSeed(seed, 'synth', 'noise')));

  const trainIds = ids('train', nTrain);
  const testIds = ids('test', nTest);
  const groupNames = ['a', 'b'];
  const labelStrings = (y: Int32Array) => Array.from(y, (c) => names[c]);
  const groupStrings = (g: Uint8Array) => Array.from(g, (b) => groupNames[b]);

  const noisy = new Uint8Array(nTrain);
  const noisyByGroup = { a: { rows: 0, noisy: 0 }, b: { rows: 0, noisy: 0 } };
  for (let i = 0; i < nTrain; i++) {
    noisy[i] = yObserved[i] !== yTrain[i] ? 1 : 0;
    const grp = gTrain[i] ? noisyByGroup.b : noisyByGroup.a;
    grp.rows++;
    grp.noisy += noisy[i];
  }
  const noisyRows = noisyByGroup.a.noisy + noisyByGroup.b.noisy;

  const splitTable = (idList: string[], y: Int32Array, x: Float32Array, g: Uint8Array): TableData => ({
    n: idList.length,
    columns: [
      { name: 'id', type: 'VARCHAR', values: idList },
      { name: 'label', type: 'VARCHAR', values: labelStrings(y) },
      { name: SYNTH_FEATURE, type: 'FLOAT[]', dim: r.dim, values: x },
      { name: SYNTH_GROUP, type: 'VARCHAR', values: groupStrings(g) },
    ],
  });
  const train = splitTable(trainIds, yObserved, xTrain, gTrain);
  const test = splitTable(testIds, yTest, xTest, gTest);
  const truth: TableData = {
    n: nTrain,
    columns: [
      { name: 'id', type: 'VARCHAR', values: trainIds },
      { name: 'clean_label', type: 'VARCHAR', values: labelStrings(yTrain) },
      { name: 'noisy', type: 'BOOLEAN', values: noisy },
      ...(r.outliers > 0 ? [{ name: 'outlier', type: 'BOOLEAN' as const, values: outlierMark }] : []),
    ],
  };
  const crossFlags = Uint8Array.from(pairs, (p) => (p.dstTest ? 1 : 0));
  const duplicates: TableData = {
    n: pairs.length,
    columns: [
      { name: 'a', type: 'VARCHAR', values: pairs.map((p) => trainIds[p.src]) },
      { name: 'b', type: 'VARCHAR', values: pairs.map((p) => (p.dstTest ? testIds[p.dst] : trainIds[p.dst])) },
      { name: 'kind', type: 'VARCHAR', values: pairs.map((p) => (p.near ? 'near' : 'exact')) },
      { name: 'cross_split', type: 'BOOLEAN', values: crossFlags },
    ],
  };

  const stats: SynthStats = {
    trainRows: nTrain,
    testRows: nTest,
    noisyRows,
    noisyByGroup,
    classCounts: { train: trainSizes, test: testSizes },
    exactPairs: r.exactDups,
    nearPairs: r.nearDups,
    crossSplitPairs: crossFlags.reduce((a, b) => a + b, 0),
    outlierRows: r.outliers,
    // At 1 dimension the audit's radius is below float32 resolution: no jitter is detectable.
    nearSigmaDetectable: autoSigma && r.dim >= 2,
  };
  run.progress?.stop();
  return { train, test, truth, duplicates, manifestDraft: synthManifest(r, names, stats), options: r, stats };
}

function synthManifest(r: ResolvedSynthOptions, classes: string[], s: SynthStats): ManifestDraft {
  const rateA = s.noisyByGroup.a.noisy / Math.max(1, s.noisyByGroup.a.rows);
  const rateB = s.noisyByGroup.b.noisy / Math.max(1, s.noisyByGroup.b.rows);
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  return {
    name: r.name,
    version: '1',
    description:
      `Synthetic pool: ${s.trainRows} train / ${s.testRows} test rows, ${r.classes} Gaussian classes in ${r.dim} dimensions, ` +
      `${pct(s.noisyRows / Math.max(1, s.trainRows))} ${r.noiseType} label noise, ${r.exactDups} exact + ${r.nearDups} near duplicate pairs, ` +
      `imbalance ${r.imbalance}, seed ${r.seed}.`,
    source: 'generated by sieve (src/pool/synth.ts)',
    licence: 'CC0-1.0',
    citation: 'none (synthetic data generated by sieve)',
    task: 'classification',
    id_column: 'id',
    label_column: 'label',
    classes,
    features: [{ name: SYNTH_FEATURE, kind: 'embedding', dim: r.dim, description: 'Gaussian cluster around the class centroid (std 1 per dimension)' }],
    groups: [{ name: SYNTH_GROUP, description: `'a' or 'b'; 'b' has ${r.groupNoiseFactor}× the label noise rate of 'a' and a class prior tilted by ${r.groupPriorShift}` }],
    datasheet: {
      motivation: 'Teaching and testing data-centric methods on data whose problems are known exactly.',
      composition:
        `Row ids train-NNNNN / test-NNNNN. Each class's centroid is a random direction at distance ${r.separation} from the origin; ` +
        `features are centroid + N(0, I). Class sizes are geometric from ${s.classCounts.train[0]} (${classes[0]}) to ` +
        `${s.classCounts.train[r.classes - 1]} (${classes[r.classes - 1]}) in train. ` +
        // The drawn share, not the --group-fraction: a prior shift over unequal classes moves it.
        `Group 'b' holds ${pct(s.noisyByGroup.b.rows / Math.max(1, s.trainRows))} of train rows (${s.noisyByGroup.b.rows}; --group-fraction ${r.groupFraction}${r.groupPriorShift ? `, prior shift ${r.groupPriorShift}` : ''}).`,
      collection: 'Generated; no people, no personal data.',
      preprocessing: 'None.',
      uses: 'Label-error detection, deduplication, leakage, imbalance and fairness analysers; selection and ranking challenges.',
      known_issues: [
        `${s.noisyRows} train labels are wrong on purpose (truth.parquet, evaluator-only): ${r.noiseType} noise, ` +
          `rate ${rateA.toFixed(4)} in group a and ${rateB.toFixed(4)} in group b.`,
        `${r.exactDups} exact and ${r.nearDups} near (jitter std ${Number(r.nearSigma.toPrecision(3))}${s.nearSigmaDetectable ? ', under the duplicates audit\'s Euclidean detection limit' : r.dim === 1 && r.nearDups > 0 ? ', not detectable by the duplicates audit at 1 dimension' : ''}) duplicate pairs; ${s.crossSplitPairs} of them put the copy in test (leakage). Listed in duplicates.parquet (evaluator-only).`,
        ...(r.outliers > 0 ? [`${r.outliers} train rows are outliers on purpose: features ${r.outlierScale} × N(0, I) around the origin (truth.parquet, column outlier).`] : []),
        'Test labels are clean.',
      ],
      // Pools without outliers keep the datasheet they had before the option existed.
      injected: { ...withoutUnusedOutliers(r), noise_rate_group_a: rateA, noise_rate_group_b: rateB, noisy_rows: s.noisyRows, noisy_by_group: s.noisyByGroup },
    },
  };
}

function withoutUnusedOutliers(r: ResolvedSynthOptions): Partial<ResolvedSynthOptions> {
  if (r.outliers > 0) return r;
  const { outliers: _o, outlierScale: _s, ...rest } = r;
  return rest;
}

/** The pool draft for writePool: empty test/duplicates tables are left out. */
export function synthDraft(p: SynthPool): PoolDraft {
  return {
    manifest: p.manifestDraft,
    tables: {
      train: p.train,
      ...(p.test.n > 0 ? { test: p.test } : {}),
      truth: p.truth,
      ...(p.duplicates.n > 0 ? { duplicates: p.duplicates } : {}),
    },
  };
}
