/**
 * Label errors by confident learning (see confident-learning.ts for the method) on the shared
 * out-of-sample probabilities, blended with the labels of each row's nearest neighbours. Every
 * train row gets a finding: its label-quality score, whether it is flagged, the given and
 * suggested labels.
 *
 * The defaults were chosen on bench/label-errors-matrix.ts (7 noise models × pixels, two
 * tabular pools and embeddings, against cleanlab 2.9.0), not on one case; docs/analysers.md
 * has the figures. In short:
 * - the probabilities confident learning sees are (1 − w)·p_model + w·p_neighbours, where
 *   p_neighbours is the label distribution of the row's k nearest other rows (an out-of-sample
 *   view too: the row's own label is not counted) and w ∈ {0, 0.1, …, 0.5} is the weight with
 *   the lowest log-loss on the given labels once the model's probabilities are temperature-
 *   scaled (chooseKnnWeight), kept only when it lowers that log-loss by at least 1%
 *   (KNN_MIN_GAIN) and by at least 5 standard errors of the per-row gain (KNN_MIN_Z), so
 *   neighbours count where they predict the labels well (pixels) and not
 *   where their gain is within noise (one-hot tabular rows, Gaussian embeddings);
 * - flags: prune_by_noise_rate on those probabilities. A neighbour veto (drop a flag when more
 *   than `knnMaxAgreement` of the neighbours share the given label) is still available but off:
 *   under pair-flip noise the neighbours carry the same flipped label and vetoed most true
 *   errors (fashion, 40% pair flips: F1 0.41 against 0.71 without it);
 * - ranking: self-confidence of those probabilities (cleanlab's default score). On the blended
 *   pixels it ranks pair flips as well as a margin does (fashion, 40% pair flips: AUROC 0.76
 *   against 0.72 for the model alone); without a blend, self-confidence minus a quarter of the
 *   largest other probability ranked below plain self-confidence under symmetric noise on
 *   embeddings. The out-of-sample probabilities themselves are the average of two 10-fold
 *   runs on pools of up to 10,000 rows (auditCv in types.ts), which ranks better than one
 *   5-fold run on small tabular pools;
 * - the estimated noise rate: rows off the diagonal of the uncalibrated confident joint whose
 *   argmax is not the given label (cleanlab's num_label_issues), not the calibrated joint, which
 *   rescales the off-diagonal share among confidently-classified rows to all rows and so
 *   over-estimates whenever uncertain rows are mostly correctly labelled (54% mean relative
 *   error over the matrix against 23%).
 */
import { basename } from 'node:path';
import { SieveError } from '../util/errors.ts';
import type { Analyser, AnalyserResult, AuditContext, ExtraTable, Finding, OosPredictions, PlotSpec } from './types.ts';
import {
  FILTERS, argmaxRow, computeConfidentJoint, findLabelIssues, labelCounts, normalizedMargin, numLabelIssues, selfConfidence,
  type FilterBy, type LabelledProba,
} from './confident-learning.ts';
import { barChart, heatmap, pct, count, secondsSince, severityFor } from './specs.ts';
import { knnGraph } from './neighbour-space.ts';
import { knnAgreement, knnLabelProba } from './knn-agreement.ts';

/** A flag whose suggested label is less than this much likelier than the given one is one the model is nearly undecided on. */
export const UNDECIDED_MARGIN = 0.2;

/** Below this out-of-sample accuracy on the given labels the verdict says the flags are an upper bound (the model is wrong on most rows). */
export const WEAK_MODEL_ACCURACY = 0.5;

/**
 * Below this skill over the majority guess ((accuracy − majority share) / (1 − majority share):
 * the share of the majority guess's errors the model avoids) the verdict says the flags may be
 * class overlap: German credit's model is right on 75% of rows against 70% for the majority
 * class (skill 0.17), and a model fitted on its clean labels is no better.
 */
export const LOW_SKILL = 0.5;
/** From this share of model errors among the rows not flagged, the verdict says the classes overlap. */
export const OVERLAP_RESIDUAL = 0.05;

/**
 * A class with fewer train rows than this is too small to judge: its threshold (the mean
 * probability the model gives it on its own rows) rests on a handful of rows, and near 0 when
 * the model barely learns the class, so rows of other classes count towards it.
 */
export const MIN_JUDGED_CLASS_ROWS = 10;

/** Above this many classes the confident-joint heatmap keeps the classes with most confusions (K² cells would make a page of megabytes). */
export const HEATMAP_CLASSES = 20;

/**
 * The confident joint's off-diagonal cells as a heatmap. With more than HEATMAP_CLASSES classes,
 * only the classes with the largest off-diagonal mass (given or likely true) are drawn, only
 * cells with a count, and the title says how many classes were left out; the full joint stays
 * in the `confident_joint` table.
 */
export function confusionHeatmap(joint: ArrayLike<number>, names: readonly string[], limit = HEATMAP_CLASSES): PlotSpec {
  const k = names.length;
  let keep: number[] = Array.from({ length: k }, (_, i) => i);
  let title = 'Confident joint (off-diagonal: likely true class ≠ given label)';
  if (k > limit) {
    const mass = new Float64Array(k);
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) if (a !== b) { mass[a] += joint[a * k + b]; mass[b] += joint[a * k + b]; }
    keep = keep.slice().sort((x, y) => mass[y] - mass[x] || x - y).slice(0, limit).sort((x, y) => x - y);
    title = `Confident joint (off-diagonal), the ${limit} classes with most confusions; ${k - limit} of ${k} classes left out (all in the confident_joint table)`;
  }
  const values: ExtraTable['rows'] = [];
  for (const a of keep) for (const b of keep) {
    if (a === b) continue;
    const v = joint[a * k + b];
    if (k > limit && v === 0) continue;
    values.push({ given_label: names[a], true_label_guess: names[b], count: v });
  }
  // In the pool's class order, as the bar chart beside it (vega-lite sorts names alphabetically).
  return heatmap({ title, values, x: 'true_label_guess', y: 'given_label', value: 'count', xTitle: 'likely true label', yTitle: 'given label', order: keep.map((i) => names[i]) });
}

export type QualityScore = 'self_confidence_margin' | 'normalized_margin' | 'self_confidence';
export const QUALITY_SCORES: readonly QualityScore[] = ['self_confidence_margin', 'normalized_margin', 'self_confidence'];

export interface LabelErrorOptions {
  /** Which rows to flag (cleanlab's filter_by); default prune_by_noise_rate. */
  filterBy: FilterBy;
  /**
   * Label-quality score used for ranking and as the finding's score (score = 1 − quality):
   * cleanlab's self_confidence (default) or normalized_margin, or self_confidence_margin =
   * p_given − ¼·max_{j≠given} p_j (rescaled to [0, 1]).
   */
  rankBy: QualityScore;
  /** Classes with at most this many rows are never pruned. */
  minExamplesPerClass: number;
  /** Share of the estimated issues to flag. */
  fracNoise: number;
  /** Neighbours per row for the neighbour label distribution (0: model probabilities only). */
  knnK: number;
  /** Weight of the neighbour label distribution in the blend; 'auto' picks it by log-loss. */
  knnWeight: number | 'auto';
  /** Veto: drop a flag when more than this share of the neighbours carry the given label (1 = off). */
  knnMaxAgreement: number;
}

/** Blend weights tried by knnWeight 'auto'. */
export const KNN_WEIGHTS = [0, 0.1, 0.2, 0.3, 0.4, 0.5];

/**
 * knnWeight 'auto' keeps a neighbour weight only when it lowers the (temperature-scaled)
 * log-loss by at least this share (KNN_MIN_GAIN) and the gain is clear of its own noise: the
 * mean per-row gain at least KNN_MIN_Z standard errors (z = mean / (sd / √n) of the per-row
 * differences in −log p_given). Over bench/label-errors-matrix.ts and its held-out cells
 * (44 cells; 2026-12-02): every cell with z ≥ 5 and a gain ≥ 1% (z 5.6–19) gained 0.006–0.060
 * F1 from the blend but one (fashion instance 20%, −0.005), while cells with z < 5 (at most 4.4)
 * moved by −0.047 to +0.015, within noise (german-credit's 700 rows reached a 2.5% gain at z 2.1
 * and lost 0.047); gains under 1% moved F1 by −0.011 to +0.015 at any z. A relative gain alone (the former 2%
 * rule) ignores how many rows it was measured on; z alone would keep ever smaller gains as pools
 * grow. Five standard errors rather than two: the weight is the best of six tried on the same
 * rows, and rows sharing neighbours do not give independent differences.
 */
export const KNN_MIN_GAIN = 0.01;
export const KNN_MIN_Z = 5;

/**
 * Severity by share of flagged rows: below 1% ok, below 3% info, below 10% warning, else
 * problem. Real datasets usually have a few percent of wrong labels; 10% hurts most models.
 */
export const LABEL_ERROR_SEVERITY = { ok: 0.01, info: 0.03, warning: 0.1 };

/**
 * Whether the out-of-sample model predicts the given labels better than always guessing the
 * majority class, by a one-sided binomial z-test at 5%. Confident learning reads disagreement
 * with a model as evidence against a label; from a model at chance level (features that do not
 * predict the label) its flags say nothing, however many there are.
 */
export function predictiveSkill(labels: Int32Array, proba: Float32Array, k: number): { accuracy: number; majorityShare: number; better: boolean } {
  const n = labels.length;
  const counts = new Float64Array(k);
  let right = 0;
  for (let i = 0; i < n; i++) {
    counts[labels[i]]++;
    let best = 0;
    for (let j = 1; j < k; j++) if (proba[i * k + j] > proba[i * k + best]) best = j;
    if (best === labels[i]) right++;
  }
  const accuracy = n ? right / n : 0;
  const majorityShare = n ? Math.max(...counts) / n : 1;
  const se = Math.sqrt(majorityShare * (1 - majorityShare) / Math.max(n, 1));
  return { accuracy, majorityShare, better: n > 0 && accuracy - majorityShare > 1.6449 * se };
}

export interface LabelErrorScores {
  mask: Uint8Array;
  quality: Float64Array;
  selfConfidence: Float64Array;
  normalizedMargin: Float64Array;
  suggested: Int32Array;
  joint: Int32Array;
  thresholds: Float64Array;
  /** Share of rows estimated to carry a wrong label (num_label_issues / n). */
  estimatedNoise: number;
  /** Weight of the neighbour label distribution in the probabilities used (0 = model only). */
  knnWeight: number;
  /** Log-loss on the given labels per weight tried (KNN_WEIGHTS), when chosen automatically. */
  logLoss?: number[];
  /** The best weight's log-loss gain in standard errors (chooseKnnWeight), when chosen automatically. */
  knnGainZ?: number;
  /** Flags before the neighbour veto, when the veto is on. */
  vetoed?: number;
  /** The probabilities confident learning ran on. */
  proba: Float32Array;
}

/** What the neighbours say, for scoreLabelErrors: the label distribution and agreement per row. */
export interface NeighbourLabels {
  proba: Float32Array;
  agreement: Float64Array;
}

export function blendProba(p: Float32Array, q: Float32Array, w: number): Float32Array {
  if (w === 0) return p;
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = (1 - w) * p[i] + w * q[i];
  return out;
}

/** Mean −log p_given of the blend, per weight. */
export function blendLogLoss(lp: LabelledProba, q: Float32Array, weights = KNN_WEIGHTS): number[] {
  return weights.map((w) => {
    let s = 0;
    for (let i = 0; i < lp.n; i++) {
      const y = lp.labels[i];
      s -= Math.log(Math.max((1 - w) * lp.proba[i * lp.k + y] + w * q[i * lp.k + y], 1e-12));
    }
    return s / Math.max(lp.n, 1);
  });
}

/** Probabilities p^(1/T), renormalised per row (temperature scaling). */
export function temperatureScale(p: Float32Array, n: number, k: number, T: number): Float32Array {
  const out = new Float32Array(p.length);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < k; j++) { const v = Math.pow(Math.max(p[i * k + j], 1e-12), 1 / T); out[i * k + j] = v; s += v; }
    for (let j = 0; j < k; j++) out[i * k + j] /= s;
  }
  return out;
}

/**
 * The temperature in [1/4, 4] with the lowest log-loss on the given labels (golden-section search on log T).
 * Each step evaluates the mean −log of the scaled given-label probability in closed form,
 * log Σ_j p_j^(1/T) − (log p_y) / T over logarithms taken once (clamped as temperatureScale
 * and blendLogLoss clamp), instead of scaling every probability with Math.pow: the same
 * function up to rounding, a tenth of the time (0.6 s of fashion-mnist's audit before).
 */
export function fitTemperature(lp: LabelledProba): number {
  const { n, k } = lp;
  const logP = new Float64Array(n * k);
  for (let i = 0; i < n * k; i++) logP[i] = Math.log(Math.max(lp.proba[i], 1e-12));
  const FLOOR = Math.log(1e-12);
  const ll = (logT: number) => {
    const inv = 1 / Math.exp(logT);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const o = i * k;
      let s = 0;
      for (let j = 0; j < k; j++) s += Math.exp(logP[o + j] * inv);
      total -= Math.max(logP[o + lp.labels[i]] * inv - Math.log(s), FLOOR);
    }
    return total / Math.max(n, 1);
  };
  let a = Math.log(0.25), b = Math.log(4);
  const g = (Math.sqrt(5) - 1) / 2;
  let c = b - g * (b - a), d = a + g * (b - a), fc = ll(c), fd = ll(d);
  for (let it = 0; it < 20; it++) {
    if (fc < fd) { b = d; d = c; fd = fc; c = b - g * (b - a); fc = ll(c); }
    else { a = c; c = d; fc = fd; d = a + g * (b - a); fd = ll(d); }
  }
  return Math.exp((a + b) / 2);
}

/**
 * The neighbour weight for knnWeight 'auto': the weight with the lowest log-loss on the given
 * labels, with the model's probabilities first temperature-scaled to their best log-loss, so
 * that mere over-confidence of the model (which any smoothing would fix) does not earn the
 * neighbours weight; kept only when the gain passes KNN_MIN_GAIN and KNN_MIN_Z. Returns the
 * temperature, the log-loss per weight and the gain's z of the best weight too.
 */
export function chooseKnnWeight(lp: LabelledProba, q: Float32Array): { weight: number; temperature: number; logLoss: number[]; z: number } {
  const temperature = fitTemperature(lp);
  const scaled = temperatureScale(lp.proba, lp.n, lp.k, temperature);
  const logLoss = blendLogLoss({ ...lp, proba: scaled }, q);
  let best = 0;
  for (let t = 1; t < KNN_WEIGHTS.length; t++) if (logLoss[t] < logLoss[best]) best = t;
  const z = best === 0 ? 0 : gainZ(lp, scaled, q, KNN_WEIGHTS[best]);
  if (logLoss[0] - logLoss[best] < KNN_MIN_GAIN * logLoss[0] || !(z >= KNN_MIN_Z)) best = 0;
  return { weight: KNN_WEIGHTS[best], temperature, logLoss, z };
}

/** Mean over rows of −log p_given(model) + log p_given(blend at w), over its standard error. */
export function gainZ(lp: LabelledProba, p: Float32Array, q: Float32Array, w: number): number {
  let s = 0, ss = 0;
  for (let i = 0; i < lp.n; i++) {
    const y = lp.labels[i];
    const a = p[i * lp.k + y];
    const d = Math.log(Math.max((1 - w) * a + w * q[i * lp.k + y], 1e-12)) - Math.log(Math.max(a, 1e-12));
    s += d; ss += d * d;
  }
  const n = lp.n;
  if (n < 2) return 0;
  const mean = s / n;
  const sd = Math.sqrt(Math.max(ss - n * mean * mean, 0) / (n - 1));
  return sd > 0 ? mean / (sd / Math.sqrt(n)) : mean > 0 ? Infinity : 0;
}

/** p_given − ¼·max other, mapped from [−¼, 1] to [0, 1]. */
export function selfConfidenceMargin(lp: LabelledProba): Float64Array {
  const sc = selfConfidence(lp), nm = normalizedMargin(lp);
  // normalized margin = (sc − other + 1) / 2, so other = sc + 1 − 2·nm.
  return Float64Array.from(sc, (v, i) => (v - 0.25 * (v + 1 - 2 * nm[i]) + 0.25) / 1.25);
}

/**
 * The whole computation on arrays, for the analyser, the benchmark and tests. `neighbours`
 * (the kNN label distribution and agreement) enables the blend and the veto.
 */
export function scoreLabelErrors(model: LabelledProba, opts: Partial<LabelErrorOptions> = {}, neighbours?: NeighbourLabels): LabelErrorScores {
  const o = { ...labelErrors.defaults, ...opts };
  checkOptions(o);
  let w = 0;
  let logLoss: number[] | undefined;
  let knnGainZ: number | undefined;
  if (neighbours && o.knnK > 0) {
    if (o.knnWeight === 'auto') {
      const c = chooseKnnWeight(model, neighbours.proba);
      logLoss = c.logLoss;
      knnGainZ = c.z;
      w = c.weight;
    } else w = o.knnWeight;
  }
  const lp: LabelledProba = { ...model, proba: neighbours ? blendProba(model.proba, neighbours.proba, w) : model.proba };
  const cj = computeConfidentJoint(lp, { minClassRows: MIN_JUDGED_CLASS_ROWS });
  const mask = findLabelIssues(lp, { filterBy: o.filterBy, minExamplesPerClass: o.minExamplesPerClass, fracNoise: o.fracNoise, confident: cj });
  let vetoed: number | undefined;
  if (neighbours && o.knnK > 0 && o.knnMaxAgreement < 1) {
    vetoed = 0;
    for (let i = 0; i < lp.n; i++) if (mask[i]) { vetoed++; if (neighbours.agreement[i] > o.knnMaxAgreement) mask[i] = 0; }
  }
  const sc = selfConfidence(lp);
  const nm = normalizedMargin(lp);
  const quality = o.rankBy === 'self_confidence' ? sc : o.rankBy === 'normalized_margin' ? nm : selfConfidenceMargin(lp);
  const suggested = new Int32Array(lp.n);
  for (let i = 0; i < lp.n; i++) suggested[i] = argmaxRow(lp.proba, i, lp.k);
  return {
    mask, quality, selfConfidence: sc, normalizedMargin: nm, suggested, joint: cj.joint, thresholds: cj.thresholds,
    estimatedNoise: numLabelIssues(lp, cj) / Math.max(lp.n, 1), knnWeight: w, logLoss, knnGainZ, vetoed, proba: lp.proba,
  };
}

function checkOptions(o: LabelErrorOptions): void {
  if (!FILTERS.includes(o.filterBy)) {
    throw new SieveError(`unknown filterBy '${o.filterBy}'; choose one of ${FILTERS.join(', ')}`, { where: 'label-errors options' });
  }
  if (!QUALITY_SCORES.includes(o.rankBy)) {
    throw new SieveError(`unknown rankBy '${o.rankBy}'; choose one of ${QUALITY_SCORES.join(', ')}`, { where: 'label-errors options' });
  }
  if (!(o.fracNoise > 0 && o.fracNoise <= 1)) throw new SieveError(`fracNoise must be in (0, 1], got ${o.fracNoise}`, { where: 'label-errors options' });
  if (!(Number.isInteger(o.knnK) && o.knnK >= 0)) throw new SieveError(`knnK must be a non-negative integer, got ${o.knnK}`, { where: 'label-errors options' });
  if (o.knnWeight !== 'auto' && !(o.knnWeight >= 0 && o.knnWeight <= 1)) throw new SieveError(`knnWeight must be 'auto' or in [0, 1], got ${o.knnWeight}`, { where: 'label-errors options' });
  if (!(o.knnMaxAgreement >= 0 && o.knnMaxAgreement <= 1)) throw new SieveError(`knnMaxAgreement must be in [0, 1], got ${o.knnMaxAgreement}`, { where: 'label-errors options' });
  if (!(Number.isInteger(o.minExamplesPerClass) && o.minExamplesPerClass >= 0)) {
    throw new SieveError(`minExamplesPerClass must be a non-negative integer, got ${o.minExamplesPerClass}`, { where: 'label-errors options' });
  }
}

/**
 * The label-error scores of the audited rows exactly as this analyser computes them (shared
 * out-of-sample probabilities, blended with the shared kNN graph's labels), so that other
 * analysers (fairness: label-error rate per group) count the same rows as flagged.
 */
export async function labelErrorScores(
  ctx: AuditContext,
  opts: LabelErrorOptions = labelErrors.defaults,
): Promise<{ lp: LabelledProba; neighbours?: NeighbourLabels; scores: LabelErrorScores }> {
  const train = ctx.train;
  const oos = await ctx.oos();
  // Computed once per probabilities, rows and options: label-errors and fairness both ask.
  let memo = scoreMemo.get(oos);
  if (!memo) { memo = []; scoreMemo.set(oos, memo); }
  const key = JSON.stringify([opts, ctx.seed]);
  const hit = memo.find((m) => m.key === key && m.labels === train.labels && m.features === train.features);
  if (hit) return hit.result;
  const result = computeLabelErrorScores(ctx, oos, opts);
  memo.push({ key, labels: train.labels, features: train.features, result });
  return result;
}

type ScoredLabels = { lp: LabelledProba; neighbours?: NeighbourLabels; scores: LabelErrorScores };
const scoreMemo = new WeakMap<OosPredictions, { key: string; labels: Int32Array; features: Float32Array; result: Promise<ScoredLabels> }[]>();

async function computeLabelErrorScores(ctx: AuditContext, oos: OosPredictions, opts: LabelErrorOptions): Promise<ScoredLabels> {
  const train = ctx.train;
  const lp: LabelledProba = { labels: train.labels, proba: oos.proba, n: train.n, k: oos.k };
  const useKnn = opts.knnK > 0 && train.d > 0 && train.n > 1;
  let neighbours: NeighbourLabels | undefined;
  if (useKnn) {
    const graph = await knnGraph(train, opts.knnK, { seed: ctx.seed, progress: ctx.progress });
    neighbours = { proba: knnLabelProba(graph, train.labels, oos.k), agreement: knnAgreement(graph, train.labels, oos.k).agreement };
  }
  return { lp, neighbours, scores: scoreLabelErrors(lp, opts, neighbours) };
}

export const labelErrors: Analyser<LabelErrorOptions> = {
  name: 'label-errors',
  title: 'Label errors (confident learning)',
  needs: ['features', 'labels', 'oos-probabilities'],
  defaults: { filterBy: 'prune_by_noise_rate', rankBy: 'self_confidence', minExamplesPerClass: 1, fracNoise: 1, knnK: 10, knnWeight: 'auto', knnMaxAgreement: 1 },
  async run(ctx, opts): Promise<AnalyserResult> {
    const t0 = performance.now();
    const train = ctx.train;
    const oos = await ctx.oos();
    if (oos.n !== train.n || oos.k !== train.classNames.length) {
      throw new SieveError(`out-of-sample probabilities are ${oos.n} × ${oos.k} but the pool has ${train.n} rows and ${train.classNames.length} classes`, { where: 'label-errors' });
    }
    const { neighbours, scores: s } = await labelErrorScores(ctx, opts);
    const names = train.classNames;
    const k = oos.k;

    const order = Int32Array.from({ length: train.n }, (_, i) => i).sort((a, b) => s.quality[a] - s.quality[b] || a - b);
    const rank = new Int32Array(train.n);
    order.forEach((row, r) => { rank[row] = r + 1; });
    const findings: Finding[] = new Array(train.n);
    let flagged = 0;
    for (let i = 0; i < train.n; i++) {
      flagged += s.mask[i];
      findings[i] = {
        id: train.ids[i],
        score: 1 - s.quality[i],
        flagged: s.mask[i] === 1,
        detail: {
          given_label: names[train.labels[i]],
          suggested_label: names[s.suggested[i]],
          p_given: s.proba[i * k + train.labels[i]],
          p_suggested: s.proba[i * k + s.suggested[i]],
          p_model_given: oos.proba[i * k + train.labels[i]],
          self_confidence: s.selfConfidence[i],
          normalized_margin: s.normalizedMargin[i],
          knn_agreement: neighbours ? neighbours.agreement[i] : null,
          rank: rank[i],
        },
      };
    }

    // Flags the model is nearly undecided on (given and suggested label within UNDECIDED_MARGIN
    // in probability): what classes the features do not separate look like, as much as wrong labels.
    let undecided = 0;
    for (let i = 0; i < train.n; i++) if (s.mask[i] && s.proba[i * k + s.suggested[i]] - s.proba[i * k + train.labels[i]] < UNDECIDED_MARGIN) undecided++;
    const mostlyUndecided = flagged >= 20 && undecided > 0.5 * flagged;

    const counts = labelCounts(train.labels, k);
    const flaggedByClass = new Int32Array(k);
    for (let i = 0; i < train.n; i++) if (s.mask[i]) flaggedByClass[train.labels[i]]++;
    const byClass: ExtraTable = {
      name: 'label_errors_by_class',
      rows: names.map((c, j) => ({
        class: c, rows: counts[j], flagged: flaggedByClass[j],
        flagged_share: counts[j] ? flaggedByClass[j] / counts[j] : 0, threshold: s.thresholds[j],
        too_small_to_judge: counts[j] > 0 && counts[j] < MIN_JUDGED_CLASS_ROWS,
      })),
    };
    const jointRows: ExtraTable['rows'] = [];
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
      const v = s.joint[a * k + b];
      jointRows.push({ given_label: names[a], true_label_guess: names[b], count: v });
    }
    const share = flagged / Math.max(train.n, 1);
    const estNoise = s.estimatedNoise;
    const tiny = names.filter((_, j) => counts[j] > 0 && counts[j] < MIN_JUDGED_CLASS_ROWS);
    const topPairs = jointRows.filter((r) => r.given_label !== r.true_label_guess && (r.count as number) > 0
      && !tiny.includes(r.given_label as string) && !tiny.includes(r.true_label_guess as string))
      .sort((x, y) => (y.count as number) - (x.count as number)).slice(0, 3);
    const pairsText = topPairs.length
      ? ` Most confusions (confident-joint counts, not flags): ${topPairs.map((r) => `${r.true_label_guess} labelled ${r.given_label} (${r.count})`).join('; ')}.`
      : '';
    const tinyText = tiny.length
      ? ` Caution: ${tiny.length === 1 ? 'class' : 'classes'} ${tiny.map((c) => `${c} (${count(counts[names.indexOf(c)])} ${counts[names.indexOf(c)] === 1 ? 'row' : 'rows'})`).join(', ')} ${tiny.length === 1 ? 'has' : 'have'} fewer than ${MIN_JUDGED_CLASS_ROWS} rows, too few to judge: a class's threshold is the mean probability the model gives it on its own rows, which on so few rows says little (near 0 where the model barely learns the class, so every uncertain row of another class would clear it). No row is counted or flagged as belonging to ${tiny.length === 1 ? 'it' : 'them'}; ${tiny.length === 1 ? 'its own rows are' : 'their own rows are'} still judged against the other classes.`
      : '';
    const skill = predictiveSkill(train.labels, oos.proba, k);
    const chance = !skill.better
      ? `The out-of-sample model does not predict the given labels clearly better than always guessing the majority class ` +
        `(accuracy ${skill.accuracy.toFixed(3)} against ${skill.majorityShare.toFixed(3)} on ${count(train.n)} rows, one-sided 95%): on these rows the features do not show that they predict the label, so disagreement ` +
        `with the model is no evidence against a label and these flags are not meaningful (${count(flagged)} of ${count(train.n)} rows flagged).`
      : undefined;
    // Confident learning flags where the model disagrees: with a model wrong on most rows that
    // is mostly the model's error, whatever the labels (class overlap, too few rows per class).
    const weakModel = !chance && flagged > 0 && skill.accuracy < WEAK_MODEL_ACCURACY;
    const skillOverMajority = skill.majorityShare < 1 ? (skill.accuracy - skill.majorityShare) / (1 - skill.majorityShare) : 0;
    const lowSkill = !chance && !weakModel && !mostlyUndecided && flagged > 0 && skillOverMajority < LOW_SKILL;
    // The model's disagreement with the labels it does not flag: with clean labels that is the
    // classes' overlap in these features, and the flagged rows are then in part correctly
    // labelled rows lying among another class (clean Gaussian classes at separation 2.5: 5.4%
    // flagged, the model wrong on 8.5% of the rest; at 6: 0.1% of the rest).
    let unflaggedWrong = 0;
    for (let i = 0; i < train.n; i++) if (!s.mask[i] && argmaxRow(oos.proba, i, k) !== train.labels[i]) unflaggedWrong++;
    const residual = unflaggedWrong / Math.max(1, train.n - flagged);
    const overlap = !chance && !weakModel && !mostlyUndecided && !lowSkill && flagged > 0 && residual >= OVERLAP_RESIDUAL;
    const verdict = chance ?? (flagged === 0
      ? `No label looks wrong: the out-of-sample model agrees with the given labels or is unsure (${count(train.n)} rows).`
      : `About ${pct(share)} of labels look wrong (${count(flagged)} of ${count(train.n)} rows); confident learning estimates ${pct(estNoise)} label noise.${pairsText}` +
        (s.knnWeight > 0 ? ` The ${pct(s.knnWeight)} weight on nearest neighbours' labels (chosen by log-loss) sharpened the model's probabilities.` : '') +
        (s.vetoed !== undefined ? ` Flags confirmed by nearest neighbours (${count(s.vetoed)} before confirmation).` : '') + tinyText +
        (mostlyUndecided && !weakModel ? ` Caution: the model is nearly undecided on ${pct(undecided / flagged)} of the flagged rows (given and suggested label within ${UNDECIDED_MARGIN} in probability), which is what classes that the features do not separate look like as much as wrong labels: read the confused pairs above as overlap to check, not as labels to change.` : '') +
        (overlap ? ` Caution: the out-of-sample model also disagrees with ${pct(residual)} of the labels it does not flag, so the classes overlap in these features, and some flagged rows are likely correctly labelled rows that lie among another class (the model cannot tell those from wrong labels): check a sample before relabelling.` : '') +
        (lowSkill ? ` Caution: the out-of-sample model is right on ${pct(skill.accuracy)} of the given labels, where always guessing the majority class is right on ${pct(skill.majorityShare)}: it avoids only ${pct(Math.max(0, skillOverMajority))} of that guess's errors. Where the features leave classes overlapping, confident learning counts the overlap as label errors, so many of these flags may be correctly labelled rows: read them as rows to check, not as labels to change.` : '') +
        (weakModel ? ` Caution: the out-of-sample model agrees with only ${pct(skill.accuracy)} of the given labels; where a model is wrong on most rows its disagreement is as likely its own error as the label's, so this share is an upper bound, not an estimate. A stronger model (--model) or your own predictions (--pred-probs) would tell the two apart.` : ''));

    const plots: PlotSpec[] = [
      barChart({
        title: 'Rows flagged as label errors, by given label',
        values: byClass.rows.map((r) => ({ class: r.class, flagged: r.flagged })),
        category: 'class', value: 'flagged', integer: true, valueTitle: 'flagged rows',
      }),
      confusionHeatmap(s.joint, names),
    ];
    return {
      name: 'label-errors',
      summary: {
        verdict,
        // A model at chance level cannot find label errors: say so (warning) rather than a problem.
        severity: chance ? 'warning' : severityFor(share, LABEL_ERROR_SEVERITY),
        figures: {
          unflagged_model_errors: residual,
          rows: train.n,
          oos_accuracy_given: skill.accuracy,
          majority_share: skill.majorityShare,
          oos_better_than_majority: skill.better ? 1 : 0,
          weak_model: weakModel ? 1 : 0,
          skill_over_majority: skillOverMajority,
          low_skill: lowSkill ? 1 : 0,
          undecided_flags: undecided,
          classes_too_small_to_judge: tiny.length,
          flagged,
          flagged_share: share,
          estimated_noise_rate: estNoise,
          filter_by: opts.filterBy,
          rank_by: opts.rankBy,
          oos_model: oos.source ? `file ${basename(oos.source.file)}` : oos.model.kind,
          oos_folds: oos.folds,
          knn_k: neighbours ? opts.knnK : 0,
          knn_weight: s.knnWeight,
          cl_flagged: s.vetoed ?? flagged,
          knn_max_agreement: s.vetoed !== undefined ? opts.knnMaxAgreement : null,
        },
      },
      findings,
      tables: [byClass, { name: 'confident_joint', rows: jointRows }],
      plots,
      seconds: secondsSince(t0),
    };
  },
};
