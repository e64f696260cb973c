/**
 * Classification metrics on typed arrays.
 *
 * Every metric here is a function of a handful of weighted per-row counts (confusion matrix,
 * calibration bins, per-group tallies). `RowScores` holds the per-row facts of one set of
 * predictions; `MetricLayout` fixes which scalar metrics exist and in what order; and
 * `computeMetrics` fills one Float64Array of values for a given row weighting. Plain
 * evaluation uses weight 1 on the scored rows; the bootstrap uses resample multiplicities,
 * so one pass over the rows serves every metric at once.
 *
 * Conventions (as scikit-learn / fairlearn, see docs/evaluator.md "Metrics"):
 * - the prediction is the arg-max class (lowest index on ties);
 * - 0/0 in precision, recall or F1 counts as 0 (scikit-learn's zero_division=0);
 * - balanced accuracy averages recall over classes present in y_true;
 * - macro-F1 averages F1 over classes present in y_true or in the predictions;
 * - log loss is scikit-learn ≥ 1.2's: every probability (widened to float64, as scikit-learn's
 *   predict_proba returns them) is clipped to [eps, 1 − eps] with eps = float64's machine
 *   epsilon (2^-52), each row is renormalised to sum 1, and the loss is −ln of the true class's
 *   renormalised probability (logLoss also computes the float32 form, eps = 2^-23);
 * - ECE uses 15 equal-width bins on the max probability, right-closed ((i−1)/15, i/15],
 *   with a confidence of exactly 0 in the first bin;
 * - a metric that is undefined on the rows given (no rows, or a group absent) is NaN;
 * - group figures follow compute/group-metrics.ts: a group's rate is judged only where its
 *   denominator reaches `minGroupSize` (rows for accuracy and the positive-prediction rate,
 *   positives for TPR, negatives for FPR), decided on the unweighted scored rows; worst-group
 *   accuracy and the gaps are taken over the judged groups and are NaN when fewer than two
 *   (one for worst-group accuracy) are judged. `groupMetricNotes` says which figures come
 *   from too-small groups or could not be judged.
 */
import { acquire } from '../compute/arena.ts';
import { allRows } from '../compute/bootstrap.ts';
import { kernelFor } from '../compute/pool.ts';
import { Layout } from '../compute/wasm.ts';
import { bootstrapWasmModule, type BootstrapExports } from './kernels/bootstrap-wasm.ts';
import {
  DEFAULT_MIN_GROUP_SIZE, GroupTallies, groupGaps, judgeGroups, tallyGroups, tooSmallReason, type Judged,
} from '../compute/group-metrics.ts';

export { allRows };

/** A group (sensitive attribute) column: `codes[row]` indexes `names`. */
export interface GroupColumn {
  codes: Int32Array;
  names: string[];
}

/** Name given to rows whose group value is missing; they form a group of their own. */
export const MISSING_GROUP = '<missing>';

/** Machine epsilon of each probability dtype: scikit-learn ≥ 1.2's log-loss clip (eps="auto"). */
export const LOG_LOSS_EPS = { float64: 2 ** -52, float32: 2 ** -23 } as const;
export type ProbabilityDtype = keyof typeof LOG_LOSS_EPS;
/** The convention every record's log_loss follows (written into result records). */
export const LOG_LOSS_CONVENTION = 'scikit-learn>=1.2: probabilities as float64, clipped to [2^-52, 1-2^-52], rows renormalised';
export const ECE_BINS = 15;

/**
 * Encodes a column of group values (null/undefined = missing) as codes. Names are sorted
 * (code-unit order) so that the encoding does not depend on row order; the missing group,
 * if any, comes last.
 */
export function encodeGroupColumn(values: readonly (string | null | undefined)[]): GroupColumn {
  const present = new Set<string>();
  let anyMissing = false;
  for (const v of values) {
    if (v === null || v === undefined) anyMissing = true;
    else present.add(v);
  }
  const names = [...present].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (anyMissing) names.push(MISSING_GROUP);
  const index = new Map(names.map((name, i) => [name, i]));
  const missingCode = anyMissing ? names.length - 1 : -1;
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    codes[i] = v === null || v === undefined ? missingCode : index.get(v)!;
  }
  return { codes, names };
}

/** Per-row facts about one set of predictions. */
export interface RowScores {
  n: number;
  k: number;
  yTrue: Int32Array;
  /** Arg-max class per row. */
  pred: Int32Array;
  /** Max class probability per row. */
  confidence: Float64Array;
  /** −ln of the true class's clipped, renormalised probability (scikit-learn's log loss per row). */
  nll: Float64Array;
  /** ECE bin of `confidence`, 0..ECE_BINS-1. */
  bin: Uint8Array;
}

/** Arg-max per row of an n × k probability matrix (lowest index wins ties). */
export function argmaxRows(proba: Float32Array, n: number, k: number): Int32Array {
  const pred = new Int32Array(n);
  for (let i = 0, o = 0; i < n; i++, o += k) {
    let best = 0;
    let bestP = proba[o];
    for (let c = 1; c < k; c++) {
      const p = proba[o + c];
      if (p > bestP) { bestP = p; best = c; }
    }
    pred[i] = best;
  }
  return pred;
}

/**
 * numpy's pairwise summation of a[0..n) (what `ndarray.sum(axis=-1)` runs on a contiguous
 * row): blocks of up to 128 summed with 8 accumulators, larger ones split in halves. `round`
 * rounds every addition to the dtype (Math.fround for float32, identity for float64), so a
 * float32 sum is bit-identical to numpy's.
 */
export function pairwiseSum(a: Float64Array, off: number, n: number, round: (x: number) => number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res = round(res + a[off + i]);
    return res;
  }
  if (n <= 128) {
    const r0 = [a[off], a[off + 1], a[off + 2], a[off + 3], a[off + 4], a[off + 5], a[off + 6], a[off + 7]];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r0[j] = round(r0[j] + a[off + i + j]);
    let res = round(round(round(r0[0] + r0[1]) + round(r0[2] + r0[3])) + round(round(r0[4] + r0[5]) + round(r0[6] + r0[7])));
    for (; i < n; i++) res = round(res + a[off + i]);
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return round(pairwiseSum(a, off, n2, round) + pairwiseSum(a, off + n2, n - n2, round));
}

const identity = (x: number) => x;

/**
 * One row's log loss as scikit-learn ≥ 1.2 computes it for a `dtype` probability array:
 * clip every probability to [eps, 1 − eps], divide by the row's (numpy pairwise) sum, and
 * take −ln of the true class's share. float32 arithmetic is emulated with Math.fround; the
 * logarithm runs in float64, as scikit-learn's xlogy does after promoting to float64.
 * `scratch` (length ≥ k) holds the clipped row.
 */
export function trueClassNll(
  proba: ArrayLike<number>, offset: number, k: number, y: number, dtype: ProbabilityDtype, scratch = new Float64Array(k),
): number {
  const eps = LOG_LOSS_EPS[dtype];
  const round = dtype === 'float32' ? Math.fround : identity;
  const hi = round(1 - eps);
  for (let c = 0; c < k; c++) {
    const p = round(proba[offset + c]);
    // NaN stays NaN (np.clip keeps it), so a broken row cannot pass for a confident one.
    scratch[c] = p < eps ? eps : p > hi ? hi : p;
  }
  const sum = pairwiseSum(scratch, 0, k, round);
  return -Math.log(round(scratch[y] / sum));
}

/**
 * scikit-learn ≥ 1.2's `log_loss(y_true, proba, labels=range(k))` for an n × k probability
 * array of the given dtype (the evaluator's own log_loss is the float64 form). The mean is
 * summed in row order; numpy's pairwise mean differs from it by rounding only (≈ 1e-16).
 */
export function logLoss(yTrue: Int32Array, proba: ArrayLike<number>, n: number, k: number, dtype: ProbabilityDtype = 'float64'): number {
  if (yTrue.length !== n || proba.length !== n * k) throw new RangeError(`logLoss: ${yTrue.length} labels and ${proba.length} probabilities for ${n} × ${k}`);
  const scratch = new Float64Array(k);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (!(yTrue[i] >= 0 && yTrue[i] < k)) throw new RangeError(`logLoss: y_true[${i}] = ${yTrue[i]} is outside [0, ${k})`);
    sum += trueClassNll(proba, i * k, k, yTrue[i], dtype, scratch);
  }
  return sum / n;
}

export function rowScores(yTrue: Int32Array, proba: Float32Array, n: number, k: number): RowScores {
  if (yTrue.length !== n) throw new RangeError(`rowScores: y_true has ${yTrue.length} rows, expected ${n}`);
  if (proba.length !== n * k) throw new RangeError(`rowScores: proba has ${proba.length} values, expected ${n} × ${k}`);
  const pred = argmaxRows(proba, n, k);
  const confidence = new Float64Array(n);
  const nll = new Float64Array(n);
  const bin = new Uint8Array(n);
  const clipped = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const y = yTrue[i];
    if (!(y >= 0 && y < k)) throw new RangeError(`rowScores: y_true[${i}] = ${y} is outside [0, ${k})`);
    const conf = proba[i * k + pred[i]];
    confidence[i] = conf;
    nll[i] = trueClassNll(proba, i * k, k, y, 'float64', clipped);
    bin[i] = eceBin(conf);
  }
  return { n, k, yTrue, pred, confidence, nll, bin };
}

/** The ECE bin of a confidence: right-closed ((b-1)/B, b/B]; 0 (or below) goes to the first bin. */
export function eceBin(confidence: number): number {
  const b = Math.ceil(confidence * ECE_BINS) - 1;
  return b < 0 ? 0 : b >= ECE_BINS ? ECE_BINS - 1 : b;
}

/** Metric families: the part of a metric name before '['. */
export const METRIC_FAMILIES = {
  accuracy: { direction: 'max', description: 'fraction of rows whose arg-max class is the true class' },
  balanced_accuracy: { direction: 'max', description: 'mean recall over classes present in y_true' },
  macro_f1: { direction: 'max', description: 'mean F1 over classes present in y_true or the predictions' },
  log_loss: { direction: 'min', description: "mean −ln probability of the true class, scikit-learn ≥ 1.2's clip at float64 eps and row renormalisation" },
  ece: { direction: 'min', description: 'expected calibration error, 15 equal-width bins on the max probability' },
  precision: { direction: 'max', description: 'per class: true positives / predicted positives' },
  recall: { direction: 'max', description: 'per class: true positives / actual positives' },
  f1: { direction: 'max', description: 'per class: 2·TP / (2·TP + FP + FN)' },
  group_accuracy: { direction: 'max', description: 'accuracy within one group value' },
  worst_group_accuracy: { direction: 'max', description: 'lowest group accuracy of a group column' },
  demographic_parity_gap: { direction: 'min', description: 'max − min over groups of the positive-prediction rate' },
  equalized_odds_difference: { direction: 'min', description: 'max of the TPR range and the FPR range over groups' },
} as const;
export type MetricFamily = keyof typeof METRIC_FAMILIES;

/** The family of a metric name, e.g. "f1[Coat]" → "f1". */
export function metricFamily(name: string): string {
  const i = name.indexOf('[');
  return i < 0 ? name : name.slice(0, i);
}

export interface MetricOptions {
  /** Class names for per-class metric names; default "0".."k-1". */
  classNames?: readonly string[];
  /** Group columns over the scored rows (codes aligned with test rows). */
  groups?: Record<string, GroupColumn>;
  /**
   * The positive class for the demographic-parity gap and equalized-odds difference
   * (one-vs-rest). Those two metrics are computed only when this is given.
   */
  positiveClass?: number;
  /** Smallest denominator a group rate is judged on (default 30, compute/group-metrics.ts). */
  minGroupSize?: number;
}

/** Which scalar metrics exist, their names and their slots in a values array. */
export interface MetricLayout {
  k: number;
  names: string[];
  classNames: string[];
  groups: { column: string; g: GroupColumn }[];
  positiveClass: number | null;
  minGroupSize: number;
  /** Slot of the first per-group accuracy of each group column (then worst, dp, eo). */
  groupSlots: { accuracy: number; worst: number; dp: number; eo: number }[];
}

export function metricLayout(k: number, opts: MetricOptions = {}): MetricLayout {
  const classNames = opts.classNames ? [...opts.classNames] : Array.from({ length: k }, (_, c) => String(c));
  if (classNames.length !== k) throw new RangeError(`metricLayout: ${classNames.length} class names for k = ${k}`);
  const pos = opts.positiveClass ?? null;
  const minGroupSize = opts.minGroupSize ?? DEFAULT_MIN_GROUP_SIZE;
  if (!(Number.isInteger(minGroupSize) && minGroupSize >= 1)) throw new RangeError(`metricLayout: minGroupSize must be a positive integer, got ${minGroupSize}`);
  if (pos !== null && !(Number.isInteger(pos) && pos >= 0 && pos < k)) {
    throw new RangeError(`metricLayout: positive class ${pos} is outside [0, ${k})`);
  }
  const names = ['accuracy', 'balanced_accuracy', 'macro_f1', 'log_loss', 'ece'];
  for (const fam of ['precision', 'recall', 'f1']) for (const c of classNames) names.push(`${fam}[${c}]`);
  const groups = Object.keys(opts.groups ?? {}).sort().map((column) => ({ column, g: opts.groups![column] }));
  const groupSlots: MetricLayout['groupSlots'] = [];
  for (const { column, g } of groups) {
    for (let i = 0; i < g.codes.length; i++) {
      const c = g.codes[i];
      if (!(c >= 0 && c < g.names.length)) {
        throw new RangeError(`metricLayout: group column "${column}" row ${i} has code ${c}, outside [0, ${g.names.length})`);
      }
    }
    const accuracy = names.length;
    for (const v of g.names) names.push(`group_accuracy[${column}=${v}]`);
    const worst = names.length;
    names.push(`worst_group_accuracy[${column}]`);
    let dp = -1, eo = -1;
    if (pos !== null) {
      dp = names.length; names.push(`demographic_parity_gap[${column}]`);
      eo = names.length; names.push(`equalized_odds_difference[${column}]`);
    }
    groupSlots.push({ accuracy, worst, dp, eo });
  }
  return { k, names, classNames, groups, positiveClass: pos, minGroupSize, groupSlots };
}

/** Reusable scratch space for computeMetrics (avoids allocation inside the bootstrap loop). */
export class MetricScratch {
  readonly confusion: Float64Array;
  readonly binCount = new Float64Array(ECE_BINS);
  readonly binConf = new Float64Array(ECE_BINS);
  readonly binCorrect = new Float64Array(ECE_BINS);
  /** Per group column: weighted tallies of the current call. */
  readonly groupTallies: GroupTallies[];
  readonly codes: Int32Array[];
  /** Weighted row count and weighted sum of the per-row log loss. */
  total = 0;
  nllSum = 0;
  /** Which groups are judged, per group column, for the rows and labels they were computed on. */
  private judgedFor: { rows: Int32Array; yTrue: Int32Array; judged: Judged[] } | null = null;
  constructor(readonly layout: MetricLayout) {
    this.confusion = new Float64Array(layout.k * layout.k);
    this.groupTallies = layout.groups.map(({ g }) => new GroupTallies(g.names.length, layout.k));
    this.codes = layout.groups.map(({ g }) => g.codes);
  }
  /** The judging rule on the unweighted `rows` (cached: the bootstrap reuses one rows array). */
  judged(s: RowScores, rows: Int32Array): Judged[] {
    const j = this.judgedFor;
    if (j && j.rows === rows && j.yTrue === s.yTrue) return j.judged;
    const judged = this.layout.groups.map(({ g }) => {
      const t = tallyGroups(new GroupTallies(g.names.length, this.layout.k), g.codes, s.yTrue, s.pred, rows, null);
      return judgeGroups(t, this.layout.positiveClass ?? 0, this.layout.minGroupSize);
    });
    this.judgedFor = { rows, yTrue: s.yTrue, judged };
    return judged;
  }
}

/**
 * Fills `out` (length layout.names.length) with every metric over `rows`, each row counted
 * `weights[row]` times (once when weights is null). Accumulation runs in the order of
 * `rows`, so results are bit-identical for the same inputs.
 */
export function computeMetrics(
  s: RowScores,
  layout: MetricLayout,
  rows: Int32Array,
  weights: Int32Array | null,
  out: Float64Array,
  scratch: MetricScratch = new MetricScratch(layout),
): Float64Array {
  const k = layout.k;
  const { confusion, binCount, binConf, binCorrect, groupTallies } = scratch;
  confusion.fill(0); binCount.fill(0); binConf.fill(0); binCorrect.fill(0);
  for (const t of groupTallies) t.reset();
  const judged = scratch.judged(s, rows);
  const pos = layout.positiveClass ?? -1;
  const { yTrue, pred, confidence, nll, bin } = s;
  let total = 0;
  let nllSum = 0;
  const nGroupCols = layout.groups.length;
  const codes = scratch.codes;
  for (let j = 0; j < rows.length; j++) {
    const r = rows[j];
    const w = weights === null ? 1 : weights[r];
    if (w === 0) continue;
    const y = yTrue[r], p = pred[r];
    const correct = y === p ? w : 0;
    total += w;
    confusion[y * k + p] += w;
    nllSum += w * nll[r];
    const b = bin[r];
    binCount[b] += w;
    binConf[b] += w * confidence[r];
    binCorrect[b] += correct;
    // GroupTallies.add without the flag, inlined: this loop runs rows × resamples × seeds times.
    for (let gc = 0; gc < nGroupCols; gc++) {
      const t = groupTallies[gc], d = t.data;
      const o = codes[gc][r] * t.stride;
      d[o] += w;
      d[o + 3 + 3 * y] += w;
      d[o + 4 + 3 * p] += w;
      if (y === p) { d[o + 1] += w; d[o + 5 + 3 * y] += w; }
    }
  }
  scratch.total = total;
  scratch.nllSum = nllSum;
  return finishMetrics(layout, scratch, out, judged);
}

/**
 * One RowScores gathered for a fixed set of rows (the bootstrap's), so that a resample given
 * as per-position multiplicities (`counts[j]` = times rows[j] was drawn, evaluator/bootstrap.ts
 * forEachResampleCounts) is scored by computeMetricsCounts with the same figures, bit for bit,
 * as computeMetrics over the rows with weights[rows[j]] = counts[j], in one pass over the
 * positions in the rows' order (the order computeMetrics adds in), on kernels/bootstrap-wasm.ts
 * over copies of the gathered arrays in kernel memory (release() returns it):
 * - the log-loss sum;
 * - per ECE bin, the bin's confidence sum (each bin's terms in the rows' order, as in
 *   computeMetrics);
 * - per distinct (true class, prediction, bin, group codes) key, the drawn rows, from which
 *   the confusion matrix, the bins' row and correct counts and the group tallies follow.
 *   These are integers, exact in any order.
 * A position drawn 0 times adds 0 × x, which leaves a sum unchanged for finite x (none here
 * starts at or becomes −0); with a non-finite nll or confidence (0 × NaN is NaN, a row
 * computeMetrics skips) `finite` is false and the caller scores by weights instead.
 */
export interface GatheredScores {
  rows: Int32Array;
  finite: boolean;
  /** Per key: the confusion cell y·k + p, y, p, the bin, and per group column the group's tallies offset. */
  keyCell: Int32Array;
  keyY: Int32Array;
  keyP: Int32Array;
  keyBin: Int32Array;
  keyGroupBase: Int32Array[];
  judged: Judged[];
  /** Kernel memory: per position the count (scratch), nll, confidence, ECE bin and key; the bins' sums, the keys' counts. */
  at: { counts: number; nll: number; conf: number; bin: number; key: number; binConf: number; keyCount: number };
  counts: Int32Array;
  binConf: Float64Array;
  keyCount: Int32Array;
  release(): void;
}

export function gatherScores(s: RowScores, layout: MetricLayout, rows: Int32Array, scratch: MetricScratch = new MetricScratch(layout)): GatheredScores {
  const m = rows.length, k = layout.k, nGroupCols = layout.groups.length;
  let finite = true;
  for (let j = 0; j < m; j++) {
    const r = rows[j];
    if (!Number.isFinite(s.nll[r]) || !Number.isFinite(s.confidence[r])) finite = false;
  }
  // Keys: (y, p, bin, group code per column), numbered in order of first appearance.
  const keyOf = new Map<string, number>();
  const key = new Int32Array(m);
  const keyCell: number[] = [], keyY: number[] = [], keyP: number[] = [], keyBin: number[] = [];
  const keyGroupBase: number[][] = layout.groups.map(() => []);
  for (let j = 0; j < m; j++) {
    const r = rows[j];
    const y = s.yTrue[r], p = s.pred[r];
    let text = `${y},${p},${s.bin[r]}`;
    for (let gc = 0; gc < nGroupCols; gc++) text += `,${scratch.codes[gc][r]}`;
    let u = keyOf.get(text);
    if (u === undefined) {
      keyOf.set(text, (u = keyCell.length));
      keyCell.push(y * k + p); keyY.push(y); keyP.push(p); keyBin.push(s.bin[r]);
      for (let gc = 0; gc < nGroupCols; gc++) keyGroupBase[gc].push(scratch.codes[gc][r] * scratch.groupTallies[gc].stride);
    }
    key[j] = u;
  }
  const U = keyCell.length;
  const L = new Layout();
  const rel = { counts: L.alloc(4 * m), nll: L.alloc(8 * m), conf: L.alloc(8 * m), bin: L.alloc(m), key: L.alloc(4 * m), binConf: L.alloc(8 * ECE_BINS), keyCount: L.alloc(4 * Math.max(1, U)) };
  const region = acquire(L.bytes);
  const buf = region.buffer();
  const at = Object.fromEntries(Object.entries(rel).map(([name, off]) => [name, region.base + off])) as GatheredScores['at'];
  const nll = new Float64Array(buf, at.nll, m), conf = new Float64Array(buf, at.conf, m), bin = new Uint8Array(buf, at.bin, m);
  for (let j = 0; j < m; j++) {
    const r = rows[j];
    nll[j] = s.nll[r];
    conf[j] = s.confidence[r];
    bin[j] = s.bin[r];
  }
  new Int32Array(buf, at.key, m).set(key);
  return {
    rows, finite,
    keyCell: Int32Array.from(keyCell), keyY: Int32Array.from(keyY), keyP: Int32Array.from(keyP), keyBin: Int32Array.from(keyBin),
    keyGroupBase: keyGroupBase.map((a) => Int32Array.from(a)),
    judged: scratch.judged(s, rows),
    at,
    counts: new Int32Array(buf, at.counts, m),
    binConf: new Float64Array(buf, at.binConf, ECE_BINS),
    keyCount: new Int32Array(buf, at.keyCount, U),
    release: () => region.release(),
  };
}

/**
 * computeMetrics for gathered scores (g.finite) under per-position multiplicities `counts`
 * (length g.rows.length): the same figures, bit for bit (see GatheredScores).
 */
export function computeMetricsCounts(
  g: GatheredScores,
  layout: MetricLayout,
  counts: Int32Array,
  out: Float64Array,
  scratch: MetricScratch,
): Float64Array {
  if (!g.finite) throw new RangeError('computeMetricsCounts: a non-finite nll or confidence needs computeMetrics');
  const { confusion, binCount, binConf, binCorrect, groupTallies } = scratch;
  const m = g.rows.length;
  const { keyCell, keyY, keyP, keyBin, keyGroupBase, keyCount, at } = g;
  const U = keyCell.length;
  g.counts.set(counts);
  const nllSum = kernelFor<BootstrapExports>(bootstrapWasmModule()).exports.accumulate(
    at.counts, at.nll, at.conf, at.bin, at.key, m, at.binConf, ECE_BINS, at.keyCount, U,
  );
  binConf.set(g.binConf);
  confusion.fill(0); binCount.fill(0); binCorrect.fill(0);
  for (const t of groupTallies) t.reset();
  let total = 0;
  for (let u = 0; u < U; u++) {
    const c = keyCount[u];
    if (c === 0) continue;
    total += c;
    confusion[keyCell[u]] += c;
    const y = keyY[u], p = keyP[u];
    binCount[keyBin[u]] += c;
    if (y === p) binCorrect[keyBin[u]] += c;
    for (let gc = 0; gc < groupTallies.length; gc++) {
      const d = groupTallies[gc].data, o = keyGroupBase[gc][u];
      d[o] += c;
      d[o + 3 + 3 * y] += c;
      d[o + 4 + 3 * p] += c;
      if (y === p) { d[o + 1] += c; d[o + 5 + 3 * y] += c; }
    }
  }
  scratch.total = total;
  scratch.nllSum = nllSum;
  return finishMetrics(layout, scratch, out, g.judged);
}

/**
 * The counts every metric is a function of (the state computeMetrics accumulates), as JSON:
 * a result record stores them per seed and test part so that `sieve verify --rescore` can
 * recompute every figure without refitting. Float sums are stored as JavaScript numbers,
 * which JSON round-trips exactly.
 */
export interface MetricTallies {
  total: number;
  /** k × k, row = true class, column = predicted class. */
  confusion: number[];
  nll_sum: number;
  /** Per ECE bin: rows, summed confidence, correct rows. */
  bins: { count: number[]; confidence: number[]; correct: number[] };
  /**
   * Per group column (layout order), per group value: rows, correct, flagged (0 here), then per
   * class labelled, predicted, both (compute/group-metrics.ts GroupTallies).
   */
  groups: number[][];
}

export function talliesOf(scratch: MetricScratch): MetricTallies {
  return {
    total: scratch.total,
    confusion: Array.from(scratch.confusion),
    nll_sum: scratch.nllSum,
    bins: { count: Array.from(scratch.binCount), confidence: Array.from(scratch.binConf), correct: Array.from(scratch.binCorrect) },
    groups: scratch.groupTallies.map((t) => Array.from(t.data)),
  };
}

/** Every metric of `layout` from recorded tallies (bit-identical to computeMetrics on the rows they came from). */
export function metricsFromTallies(layout: MetricLayout, t: MetricTallies, out = new Float64Array(layout.names.length)): Float64Array {
  const scratch = new MetricScratch(layout);
  const k = layout.k;
  const fill = (dst: Float64Array, src: readonly number[], what: string) => {
    if (!Array.isArray(src) || src.length !== dst.length) throw new RangeError(`metricsFromTallies: ${what} has ${src?.length} values, expected ${dst.length}`);
    dst.set(src);
  };
  fill(scratch.confusion, t.confusion, `confusion (k = ${k})`);
  fill(scratch.binCount, t.bins.count, 'bins.count');
  fill(scratch.binConf, t.bins.confidence, 'bins.confidence');
  fill(scratch.binCorrect, t.bins.correct, 'bins.correct');
  if (t.groups.length !== scratch.groupTallies.length) throw new RangeError(`metricsFromTallies: ${t.groups.length} group columns, expected ${scratch.groupTallies.length}`);
  scratch.groupTallies.forEach((g, i) => fill(g.data, t.groups[i], `groups[${i}]`));
  scratch.total = t.total;
  scratch.nllSum = t.nll_sum;
  return finishMetrics(layout, scratch, out);
}

/** What a MetricLayout is made of, as JSON (stored next to the tallies of a record). */
export interface LayoutDescription {
  classes: string[];
  positive_class: number | null;
  /** Group columns in layout order with their value names. */
  groups: { column: string; names: string[] }[];
  /** Smallest denominator a group rate is judged on. */
  min_group_size: number;
}

export function describeLayout(layout: MetricLayout): LayoutDescription {
  return {
    classes: [...layout.classNames],
    positive_class: layout.positiveClass,
    groups: layout.groups.map(({ column, g }) => ({ column, names: [...g.names] })),
    min_group_size: layout.minGroupSize,
  };
}

/**
 * The layout a description names. Group codes are not needed to score tallies; per-row
 * scoring (the bootstrap of a record's replay) passes them, one array per column in layout order.
 */
export function layoutOf(desc: LayoutDescription, codes?: readonly Int32Array[]): MetricLayout {
  if (codes && codes.length !== desc.groups.length) throw new RangeError(`layoutOf: ${codes.length} group code arrays for ${desc.groups.length} group columns`);
  const groups: Record<string, GroupColumn> = {};
  desc.groups.forEach(({ column, names }, i) => { groups[column] = { codes: codes?.[i] ?? new Int32Array(0), names: [...names] }; });
  return metricLayout(desc.classes.length, {
    classNames: desc.classes, groups, positiveClass: desc.positive_class ?? undefined, minGroupSize: desc.min_group_size,
  });
}

/**
 * The metrics of accumulated counts (the second half of computeMetrics). `judged` fixes which
 * groups are judged (computeMetrics passes the rule applied to the unweighted rows); without
 * it the rule is applied to these tallies, which is the same for unweighted ones.
 */
export function finishMetrics(layout: MetricLayout, scratch: MetricScratch, out: Float64Array, judged?: Judged[]): Float64Array {
  const k = layout.k;
  const { confusion, binCount, binConf, binCorrect, groupTallies } = scratch;
  const { total, nllSum } = scratch;
  const pos = layout.positiveClass ?? -1;
  const nGroupCols = layout.groups.length;
  out.fill(NaN);
  if (total === 0) return out;
  // Confusion-matrix metrics.
  let diag = 0;
  let recallSum = 0, recallClasses = 0, f1Sum = 0, f1Classes = 0;
  const precBase = 5, recBase = 5 + k, f1Base = 5 + 2 * k;
  for (let c = 0; c < k; c++) {
    let support = 0, predicted = 0;
    for (let q = 0; q < k; q++) { support += confusion[c * k + q]; predicted += confusion[q * k + c]; }
    const tp = confusion[c * k + c];
    diag += tp;
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1Den = support + predicted; // = 2TP + FP + FN
    const f1 = f1Den > 0 ? (2 * tp) / f1Den : 0;
    out[precBase + c] = precision;
    out[recBase + c] = recall;
    out[f1Base + c] = f1;
    if (support > 0) { recallSum += recall; recallClasses++; }
    if (support > 0 || predicted > 0) { f1Sum += f1; f1Classes++; }
  }
  out[0] = diag / total;
  out[1] = recallSum / recallClasses;
  out[2] = f1Sum / f1Classes;
  out[3] = nllSum / total;
  let ece = 0;
  for (let b = 0; b < ECE_BINS; b++) {
    if (binCount[b] > 0) ece += Math.abs(binCorrect[b] - binConf[b]);
  }
  out[4] = ece / total;

  // Group metrics (compute/group-metrics.ts): judged groups only.
  judged ??= groupTallies.map((t) => judgeGroups(t, pos >= 0 ? pos : 0, layout.minGroupSize));
  for (let gc = 0; gc < nGroupCols; gc++) {
    const t = groupTallies[gc];
    const slots = layout.groupSlots[gc];
    const nGroups = layout.groups[gc].g.names.length;
    for (let g = 0; g < nGroups; g++) {
      const count = t.rows(g);
      if (count > 0) out[slots.accuracy + g] = t.correct(g) / count; // an absent group stays NaN
    }
    const gaps = groupGaps(t, pos >= 0 ? pos : 0, judged[gc]);
    out[slots.worst] = gaps.worstAccuracy;
    if (pos >= 0) {
      out[slots.dp] = gaps.dpDifference;
      out[slots.eo] = gaps.eoDifference;
    }
  }
  return out;
}

/**
 * Which group figures over `rows` come from groups too small to judge, or could not be judged
 * at all, by metric name: e.g. "group_accuracy[sex=x]" → "too small to judge: 12 rows (< 30)",
 * "equalized_odds_difference[sex]" → "not judged: fewer than 2 groups with ≥ 30 positives".
 * The positive class's name is part of every parity / odds note.
 */
export function groupMetricNotes(s: RowScores, layout: MetricLayout, rows: Int32Array): Record<string, string> {
  const notes: Record<string, string> = {};
  const scratch = new MetricScratch(layout);
  const judged = scratch.judged(s, rows);
  const pos = layout.positiveClass;
  const min = layout.minGroupSize;
  layout.groups.forEach(({ column, g }, gc) => {
    const t = tallyGroups(new GroupTallies(g.names.length, layout.k), g.codes, s.yTrue, s.pred, rows, null);
    const j = judged[gc];
    const small: string[] = [];
    g.names.forEach((v, i) => {
      if (!j.rows[i]) {
        notes[`group_accuracy[${column}=${v}]`] = `too small to judge: ${t.rows(i)} rows (< ${min})`;
        small.push(`${v} (${t.rows(i)} rows)`);
      }
    });
    const judgedRows = j.rows.reduce((a, b) => a + b, 0);
    const over = (m: number, what: string) => `over the ${m === 1 ? 'one group' : `${m} groups`} with ≥ ${min} ${what}`;
    const worstName = `worst_group_accuracy[${column}]`;
    if (judgedRows === 0) notes[worstName] = `not judged: no ${column} group has ≥ ${min} rows`;
    else if (small.length) notes[worstName] = `${over(judgedRows, 'rows')}; too small: ${small.join(', ')}`;
    if (pos === null) return;
    const cls = layout.classNames[pos];
    const dpName = `demographic_parity_gap[${column}]`, eoName = `equalized_odds_difference[${column}]`;
    notes[dpName] = judgedRows >= 2
      ? `positive class ${cls}; ${over(judgedRows, 'rows')}${small.length ? `; too small: ${small.join(', ')}` : ''}`
      : `positive class ${cls}; not judged: fewer than 2 ${column} groups with ≥ ${min} rows`;
    const judgedTpr = j.tpr.reduce((a, b) => a + b, 0), judgedFpr = j.fpr.reduce((a, b) => a + b, 0);
    const unjudged = g.names.map((v, i) => (j.tpr[i] && j.fpr[i] ? null : `${v}: ${tooSmallReason(t, i, pos, j)}`)).filter((x) => x !== null);
    notes[eoName] = judgedTpr >= 2 && judgedFpr >= 2
      ? `positive class ${cls}; TPR over ${judgedTpr}, FPR over ${judgedFpr} groups${unjudged.length ? `; too small: ${unjudged.join('; ')}` : ''}`
      : `positive class ${cls}; not judged: ${judgedTpr < 2 ? `fewer than 2 ${column} groups with ≥ ${min} positives` : `fewer than 2 ${column} groups with ≥ ${min} negatives`}${unjudged.length ? ` (${unjudged.join('; ')})` : ''}`;
  });
  return notes;
}

/**
 * Convenience form: every metric of one set of predictions as a name → value record
 * (NaN where undefined). For scoring with intervals use evaluator/aggregate.ts.
 */
export function evaluateMetrics(
  yTrue: Int32Array,
  proba: Float32Array,
  n: number,
  k: number,
  opts: MetricOptions & { rows?: Int32Array } = {},
): Record<string, number> {
  const layout = metricLayout(k, opts);
  const s = rowScores(yTrue, proba, n, k);
  const values = computeMetrics(s, layout, opts.rows ?? allRows(n), null, new Float64Array(layout.names.length));
  const result: Record<string, number> = {};
  layout.names.forEach((name, i) => { result[name] = values[i]; });
  return result;
}
