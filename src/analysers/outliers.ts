/**
 * Outliers: rows far from their nearest neighbours. Score = mean distance to the k nearest
 * other rows. The metric is the features' kind's (vectors.ts `metricFor`, the duplicates
 * analyser's rule): cosine distance 1 − cos in the shared neighbour space (standardised
 * features, ≤ 64 principal components, rows normalised) for pixels, text and embeddings of
 * ≥ 16 dimensions, as cleanlab's Datalab outlier check; exact Euclidean distance on the
 * standardised features (projected onto ≤ 64 principal components when wider) for tabular
 * rows and narrower vectors, where a row scaled 12× points the way of the row it came from
 * and its angle says nothing. Beyond 100,000 rows, where the exact Euclidean search ends,
 * tabular rows are scored by cosine and the verdict says so.
 *
 * Threshold: Tukey's "far out" fence, score > Q3 + 3 × IQR of the scores — for Euclidean
 * distances on their logarithms (Q3 × (Q3 / Q1)^3): a distance is a scale, whose spread grows
 * with its size (in a locally smooth density of m dimensions the k-NN distance goes as
 * density^(−1/m), so in 2 dimensions the raw fence flagged 3–5% of random Gaussian rows, the
 * log fence ≤ 0.9%). Unlike "the top 1%" it flags nothing in a pool without outliers, and unlike
 * a z-score on the median and MAD it tolerates the long right tail that kNN distances always
 * have (on fashion-mnist a robust z > 3.5 flags 3.4% of the rows, the far-out fence 0.7%).
 */
import { SieveError } from '../util/errors.ts';
import type { PoolSplit } from '../pool/types.ts';
import type { Analyser, AnalyserResult, Finding } from './types.ts';
import { approximateGraphNote, checkedNeighbours, euclideanNeighbours, knnGraph, KNN_EXACT_MAX_ROWS, standardScalingOf } from './neighbour-space.ts';
import { COSINE_MIN_DIMS, metricFor, textOnly, type FeatureMetric } from './vectors.ts';
import { bin, count, counted, histogram, pct, secondsSince, severityFor } from './specs.ts';
import { quantileSorted } from '../../compute/stats.ts';

export interface OutlierOptions {
  k: number;
  /** Flag scores above Q3 + iqrFactor × (Q3 − Q1). */
  iqrFactor: number;
  metric: 'auto' | 'cosine' | 'euclidean';
  maxDims: number;
}

/** Share of rows flagged: below 0.5% ok, below 2% info, below 5% warning, else problem. */
export const OUTLIER_SEVERITY = { ok: 0.005, info: 0.02, warning: 0.05 };

export interface OutlierScores {
  score: Float64Array;
  /** recall@k of the neighbour graph (1 for exact searches). */
  knnRecall: number;
  /** 'ivf' when the graph is approximate (beyond 100,000 rows and recall ≥ 0.95), else 'exact'. */
  knnSearch: 'exact' | 'ivf';
  /** (score − Q3) / IQR: how many IQRs above the upper quartile; flagged above iqrFactor. */
  fence: Float64Array;
  median: number;
  q1: number;
  q3: number;
  /** The score above which rows are flagged. */
  cutoff: number;
  mask: Uint8Array;
  nearest: Int32Array;
  /** Approximate graph: the checked rows' scores from their exact neighbours (rows, exact scores). */
  checked?: { rows: Int32Array; exactScore: Float64Array };
  metric: FeatureMetric;
  /** Why: the features' kind ('auto'), 'rows' (tabular beyond the exact Euclidean search: cosine), or 'requested'. */
  metricReason: 'kind' | 'rows' | 'requested';
  /** Dimensions the distances are measured in (the features, or at most maxDims principal components). */
  dims: number;
  k: number;
}

/**
 * Flags scores above Tukey's fence Q3 + factor × IQR. With `log`, the fence is set on the
 * logarithms of the positive scores (a row whose k nearest neighbours are all identical to
 * it, score 0, is never flagged): cutoff = Q3 × (Q3 / Q1)^factor in score units, and `fence`
 * counts IQRs of the logarithms.
 */
export function fenceFlags(score: Float64Array, factor: number, log = false): { fence: Float64Array; median: number; q1: number; q3: number; cutoff: number; mask: Uint8Array } {
  const n = score.length;
  const t = log ? Float64Array.from(score, (v) => (v > 0 ? Math.log(v) : -Infinity)) : score;
  const sorted = (log ? t.filter((v) => v > -Infinity) : Float64Array.from(t)).sort();
  const mask = new Uint8Array(n);
  const fence = new Float64Array(n);
  if (sorted.length === 0) return { fence, median: 0, q1: 0, q3: 0, cutoff: Infinity, mask };
  const q1 = quantileSorted(sorted, 0.25), median = quantileSorted(sorted, 0.5), q3 = quantileSorted(sorted, 0.75);
  const iqr = q3 - q1;
  const cutoff = q3 + factor * iqr;
  for (let i = 0; i < n; i++) {
    // With IQR = 0 (over half the rows tie) only rows above Q3 can stand out.
    fence[i] = t[i] === -Infinity ? 0 : iqr > 0 ? (t[i] - q3) / iqr : t[i] > q3 ? Infinity : 0;
    mask[i] = t[i] > cutoff ? 1 : 0;
  }
  return log
    ? { fence, median: Math.exp(median), q1: Math.exp(q1), q3: Math.exp(q3), cutoff: Math.exp(cutoff), mask }
    : { fence, median, q1, q3, cutoff, mask };
}

/**
 * Exact k-nearest Euclidean distances on the standardised features: the shared graph of
 * neighbour-space.ts `euclideanNeighbours`, each distance summed again from differences.
 */
async function euclideanKnn(split: PoolSplit, k: number, maxDims: number, seed: number): Promise<{ dist: Float64Array; nearest: Int32Array; dims: number }> {
  const n = split.n;
  const { Z, dims: d, nearest: top } = await euclideanNeighbours(split, k, { maxDims, seed });
  const dist = new Float64Array(n);
  const nearest = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    let m = 0, sum = 0;
    for (let t = 0; t < top.k; t++) {
      const j = top.index[i * top.k + t];
      if (j < 0) continue;
      // The search ranks by ‖a‖² + ‖b‖² − 2 a·b; the distance itself is summed from differences.
      let dd = 0;
      for (let c = 0; c < d; c++) { const v = Z[i * d + c] - Z[j * d + c]; dd += v * v; }
      if (m === 0) nearest[i] = j;
      sum += Math.sqrt(dd);
      m++;
    }
    dist[i] = m ? sum / m : 0;
  }
  return { dist, nearest, dims: d };
}

/**
 * The metric of a run: the requested one, or for 'auto' the one of the features' kind
 * (vectors.ts `metricFor`, the duplicates analyser's rule) — except that the exact Euclidean
 * search stops at KNN_EXACT_MAX_ROWS rows, beyond which tabular rows are scored by cosine
 * (`reason` says so).
 */
export function outlierMetric(split: PoolSplit, requested: OutlierOptions['metric']): { metric: FeatureMetric; reason: OutlierScores['metricReason'] } {
  if (requested !== 'auto') return { metric: requested, reason: 'requested' };
  const kind = metricFor(split);
  if (kind === 'euclidean' && split.n > KNN_EXACT_MAX_ROWS) return { metric: 'cosine', reason: 'rows' };
  return { metric: kind, reason: 'kind' };
}

export async function scoreOutliers(split: PoolSplit, opts: OutlierOptions, seed = 0): Promise<OutlierScores> {
  const { metric, reason } = outlierMetric(split, opts.metric);
  if (metric === 'euclidean' && split.n > KNN_EXACT_MAX_ROWS) {
    throw new SieveError(`euclidean outlier scores are computed exactly and support up to ${KNN_EXACT_MAX_ROWS.toLocaleString('en-US')} rows; this pool has ${split.n}: use metric cosine`, { where: 'outliers options' });
  }
  let score: Float64Array;
  let nearest: Int32Array;
  let k = opts.k;
  let knnRecall = 1;
  let knnSearch: 'exact' | 'ivf' = 'exact';
  let checked: OutlierScores['checked'];
  let dims: number;
  if (metric === 'euclidean') {
    ({ dist: score, nearest, dims } = await euclideanKnn(split, k, opts.maxDims, seed));
  } else {
    const g = await knnGraph(split, opts.k, { maxDims: opts.maxDims, seed });
    dims = Math.min(split.d, opts.maxDims);
    k = g.k;
    knnRecall = g.recall ?? 1;
    knnSearch = g.method ?? 'exact';
    score = new Float64Array(split.n);
    nearest = new Int32Array(split.n).fill(-1);
    for (let i = 0; i < split.n; i++) {
      let s = 0, m = 0;
      for (let t = 0; t < g.k; t++) {
        const j = g.index[i * g.k + t];
        if (j < 0) break;
        s += 1 - g.sim[i * g.k + t];
        m++;
      }
      score[i] = m ? s / m : 0;
      nearest[i] = g.k ? g.index[i * g.k] : -1;
    }
    const c = checkedNeighbours(g, opts.k);
    if (c && c.rows.length) {
      checked = { rows: c.rows, exactScore: Float64Array.from(c.exactSim, (sims) => (sims.length ? sims.reduce((a, v) => a + (1 - v), 0) / sims.length : 0)) };
    }
  }
  return { score, nearest, metric, metricReason: reason, dims, k, knnRecall, knnSearch, ...(checked ? { checked } : {}), ...fenceFlags(score, opts.iqrFactor, metric === 'euclidean') };
}

/** A column whose commonest value holds this share of the rows is nearly constant. */
export const NEARLY_CONSTANT = 0.95;

/** The share of rows holding column c's commonest value. */
function modeShare(split: PoolSplit, c: number): number {
  const counts = new Map<number, number>();
  let best = 0;
  for (let i = 0; i < split.n; i++) {
    const v = split.features[i * split.d + c];
    const m = (counts.get(v) ?? 0) + 1;
    counts.set(v, m);
    if (m > best) best = m;
  }
  return split.n ? best / split.n : 0;
}

/** A flagged row stands out "mainly in one column" when that column holds more than this share of the sum of squares of its standardised values. */
export const MAIN_COLUMN_SHARE = 0.5;

/**
 * For each flagged row: the feature column where its standardised value lies furthest from 0
 * (the pool's mean), that column's share of the row's sum of squared standardised values, and
 * the value. -1 for other rows. (Not the difference to the nearest neighbour: rows that stand
 * out in the same rare column are each other's nearest neighbours.)
 */
function mainColumns(split: PoolSplit, s: Pick<OutlierScores, 'mask'>): { column: Int32Array; share: Float64Array; z: Float64Array } {
  const { n, d, features } = split;
  const { mean, std } = standardScalingOf(split);
  const column = new Int32Array(n).fill(-1);
  const share = new Float64Array(n);
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (!s.mask[i]) continue;
    let sum = 0, best = -1, bestZ = 0;
    for (let c = 0; c < d; c++) {
      const v = (features[i * d + c] - mean[c]) / (std[c] > 0 ? std[c] : 1);
      sum += v * v;
      if (best < 0 || v * v > bestZ * bestZ) { bestZ = v; best = c; }
    }
    if (best < 0 || !(sum > 0)) continue;
    column[i] = best;
    share[i] = (bestZ * bestZ) / sum;
    z[i] = bestZ;
  }
  return { column, share, z };
}

/** What the distance is measured on, and why this metric. */
export function metricSentence(split: PoolSplit, s: Pick<OutlierScores, 'metric' | 'metricReason' | 'dims'>): string {
  const on = s.metric === 'cosine'
    ? (textOnly(split) ? 'the hashed TF-IDF rows of the text' : 'the standardised features')
    : 'the standardised features';
  const reduced = s.dims < split.d ? ` projected onto their ${s.dims} principal components` : '';
  const what = `Distances are ${s.metric === 'cosine' ? 'cosine distances 1 − cos' : 'Euclidean distances'} on ${on}${reduced}`;
  if (s.metricReason === 'requested') return `${what} (metric ${s.metric}, as requested).`;
  if (s.metricReason === 'rows') return `${what}: the features are tabular, whose metric is Euclidean distance, but the exact Euclidean search stops at ${KNN_EXACT_MAX_ROWS.toLocaleString('en-US')} rows and this pool has ${count(split.n)}, so a row far out along its own direction (scaled up) is not seen.`;
  return s.metric === 'cosine'
    ? `${what}, the metric for ${split.pixels ? 'pixels' : textOnly(split) ? 'text' : 'embeddings'}.`
    : `${what}, the metric for ${split.d < COSINE_MIN_DIMS && split.featureNames.every((f) => /\[\d+\]$/.test(f)) ? `vectors of fewer than ${COSINE_MIN_DIMS} dimensions` : 'tabular features (numeric and one-hot columns)'}.`;
}

export const outliers: Analyser<OutlierOptions> = {
  name: 'outliers',
  title: 'Outliers (distance to nearest neighbours)',
  needs: ['features'],
  defaults: { k: 10, iqrFactor: 3, metric: 'auto', maxDims: 64 },
  async run(ctx, opts): Promise<AnalyserResult> {
    const t0 = performance.now();
    const train = ctx.train;
    if (!(Number.isInteger(opts.k) && opts.k >= 1)) throw new SieveError(`k must be a positive integer, got ${opts.k}`, { where: 'outliers options' });
    if (!(opts.iqrFactor >= 0)) throw new SieveError(`iqrFactor must be ≥ 0, got ${opts.iqrFactor}`, { where: 'outliers options' });
    if (train.d === 0) throw new SieveError('the pool has no numeric feature columns to measure distances on', { where: 'outliers' });
    const s = await scoreOutliers(train, opts, ctx.seed);
    const main = s.metric === 'euclidean' ? mainColumns(train, s) : null;
    const findings: Finding[] = new Array(train.n);
    let flagged = 0;
    for (let i = 0; i < train.n; i++) {
      flagged += s.mask[i];
      const col = main?.column[i] ?? -1;
      findings[i] = {
        id: train.ids[i],
        score: s.score[i],
        flagged: s.mask[i] === 1,
        detail: {
          label: train.classNames[train.labels[i]],
          iqrs_above_q3: Number.isFinite(s.fence[i]) ? s.fence[i] : null,
          nearest_id: s.nearest[i] >= 0 ? train.ids[s.nearest[i]] : null,
          main_column: col >= 0 ? train.featureNames[col] : null,
          main_column_share: col >= 0 ? main!.share[i] : null,
          main_column_z: col >= 0 ? main!.z[i] : null,
        },
      };
    }
    // Flags that one column makes: standardising a nearly constant column (a pixel at the
    // border, non-zero in 8 of 1,438 rows) puts its rare values 20–40 standard deviations out.
    let oneColumn = '';
    let oneColumnRows = 0;
    if (main && flagged > 0) {
      const byColumn = new Map<number, number>();
      for (let i = 0; i < train.n; i++) if (s.mask[i] && main.column[i] >= 0 && main.share[i] > MAIN_COLUMN_SHARE) { oneColumnRows++; byColumn.set(main.column[i], (byColumn.get(main.column[i]) ?? 0) + 1); }
      if (oneColumnRows * 2 > flagged) {
        const ranked = [...byColumn].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
        const top = ranked.slice(0, 3).map(([c, m]) => `${train.featureNames[c]} (${count(m)})`);
        const [c0] = ranked[0];
        const mode = modeShare(train, c0);
        oneColumn = ` ${count(oneColumnRows)} of the ${count(flagged)} flagged rows stand out mainly in one column (more than ${pct(MAIN_COLUMN_SHARE)} of the sum of squares of their standardised values), most often ${top.join(', ')}` +
          (mode >= NEARLY_CONSTANT
            ? `. Caution: ${train.featureNames[c0]} has one value in ${pct(mode)} of the rows, and standardising a nearly constant column puts any row that differs in it many standard deviations out: look at that column before at the rows (detail main_column, main_column_z).`
            : ' (detail main_column, main_column_z).');
      }
    }
    const share = flagged / Math.max(train.n, 1);
    const distName = s.metric === 'cosine' ? 'cosine distance' : 'Euclidean distance';
    const verdict = (flagged === 0
      ? `No row stands out: every row's mean ${distName} to its ${s.k} nearest neighbours is below the far-out fence (${s.metric === 'euclidean' ? `on the logarithms of the distances: upper quartile × (upper / lower quartile)^${opts.iqrFactor}` : `upper quartile + ${opts.iqrFactor} × interquartile range`} = ${s.cutoff.toPrecision(3)}).`
      : `${counted(flagged, 'row')} (${pct(share)}) ${flagged === 1 ? 'is' : 'are'} unusually far from their ${s.k} nearest neighbours (mean ${distName} above ${s.cutoff.toPrecision(3)}; the median row's is ${s.median.toPrecision(3)}).`)
      + ` ${metricSentence(train, s)}`;
    // An approximate graph: its scores against those of the exact neighbours on the checked rows.
    let effect = '';
    const check: Record<string, number | null> = { knn_check_rows: null, knn_check_score_ratio: null, knn_check_score_ratio_p10: null, knn_check_score_ratio_p90: null };
    if (s.checked) {
      const ratios = Float64Array.from(s.checked.rows, (i, r) => (s.checked!.exactScore[r] > 0 ? s.score[i] / s.checked!.exactScore[r] : 1)).sort();
      const [p10, p50, p90] = [0.1, 0.5, 0.9].map((q) => quantileSorted(ratios, q));
      check.knn_check_rows = ratios.length; check.knn_check_score_ratio = p50; check.knn_check_score_ratio_p10 = p10; check.knn_check_score_ratio_p90 = p90;
      effect = `On ${count(ratios.length)} rows checked against their exact neighbours, the mean ${distName} to the approximate neighbours is ${p50.toFixed(3)}× the exact one for the median row (${p10.toFixed(3)}–${p90.toFixed(3)}× for 80% of them)` + (p90 / p10 <= 1.15
        ? ': a factor that varies this little scales the scores and their quartile fence alike, so the flags differ from the exact graph\'s only near the cut-off.'
        : ': a factor that varies this much reorders rows, so read the outlier flags as estimates.');
    }
    const note = s.knnSearch === 'ivf' ? approximateGraphNote({ method: 'ivf', recall: s.knnRecall, n: train.n }, effect) : '';
    return {
      name: 'outliers',
      summary: {
        verdict: verdict + oneColumn + note,
        // Rows flagged are something to read, however few: at least info, never a green "ok" beside them.
        severity: flagged > 0 && share < OUTLIER_SEVERITY.ok ? 'info' : severityFor(share, OUTLIER_SEVERITY),
        figures: { rows: train.n, flagged, flagged_share: share, flagged_by_one_column: main ? oneColumnRows : null, k: s.k, metric: s.metric, metric_reason: s.metricReason, dims: s.dims, median_score: s.median, q1: s.q1, q3: s.q3, cutoff: s.cutoff, iqr_factor: opts.iqrFactor, knn_recall: s.knnRecall, knn_search: s.knnSearch, ...check },
      },
      findings,
      tables: [],
      plots: [histogram({ title: `Mean ${distName} to the ${s.k} nearest neighbours`, bins: bin(s.score, 40), xTitle: distName, rule: s.cutoff, ruleTitle: 'outlier cut-off' })],
      seconds: secondsSince(t0),
    };
  },
};
