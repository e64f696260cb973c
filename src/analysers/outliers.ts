/**
 * Outliers: rows far from their nearest neighbours. Score = mean distance to the k nearest
 * other rows in the shared neighbour space (standardised features, ≤ 64 principal
 * components). Distance is cosine distance 1 − cos for more than 3 dimensions (as cleanlab's
 * Datalab outlier check), Euclidean distance for 1–3 dimensions where angles say little.
 *
 * Threshold: Tukey's "far out" fence, score > Q3 + 3 × IQR of the scores. Unlike "the top 1%"
 * it flags nothing in a pool without outliers, and unlike a z-score on the median and MAD it
 * tolerates the long right tail that kNN distances always have (on fashion-mnist a robust
 * z > 3.5 flags 3.4% of the rows, the far-out fence 0.7%).
 */
import { SieveError } from '../util/errors.ts';
import type { PoolSplit } from '../pool/types.ts';
import type { Analyser, AnalyserResult, Finding } from './types.ts';
import { approximateGraphNote, checkedNeighbours, knnGraph } from './neighbour-space.ts';
import { nearestSelf } from '../../compute/neighbours.ts';
import { applyScaling, columnScaling } from '../../compute/scaling.ts';
import { bin, count, histogram, pct, secondsSince, severityFor } from './specs.ts';
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
  metric: 'cosine' | 'euclidean';
  k: number;
}

/** Flags scores above Tukey's fence Q3 + factor × IQR. */
export function fenceFlags(score: Float64Array, factor: number): { fence: Float64Array; median: number; q1: number; q3: number; cutoff: number; mask: Uint8Array } {
  const sorted = Float64Array.from(score).sort();
  const q1 = quantileSorted(sorted, 0.25), median = quantileSorted(sorted, 0.5), q3 = quantileSorted(sorted, 0.75);
  const iqr = q3 - q1;
  const cutoff = q3 + factor * iqr;
  const fence = new Float64Array(score.length);
  const mask = new Uint8Array(score.length);
  for (let i = 0; i < score.length; i++) {
    // With IQR = 0 (over half the rows tie) only rows above Q3 can stand out.
    fence[i] = iqr > 0 ? (score[i] - q3) / iqr : score[i] > q3 ? Infinity : 0;
    mask[i] = score[i] > cutoff ? 1 : 0;
  }
  return { fence, median, q1, q3, cutoff, mask };
}

/** Exact k-nearest Euclidean distances on standardised features (d small: no reduction). */
async function euclideanKnn(split: PoolSplit, k: number): Promise<{ dist: Float64Array; nearest: Int32Array }> {
  const n = split.n, d = split.d;
  const Z = applyScaling(split.features, n, d, columnScaling(split.features, n, d));
  const top = await nearestSelf(Z, n, d, k, 'euclidean');
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
  return { dist, nearest };
}

export async function scoreOutliers(split: PoolSplit, opts: OutlierOptions, seed = 0): Promise<OutlierScores> {
  // The Euclidean path is an exact search: for more than 100,000 rows 'auto' stays with cosine.
  const metric = opts.metric === 'auto' ? (split.d > 3 || split.n > 100_000 ? 'cosine' : 'euclidean') : opts.metric;
  if (metric === 'euclidean' && split.n > 100_000) {
    throw new SieveError(`euclidean outlier scores are computed exactly and support up to 100,000 rows; this pool has ${split.n}: use metric cosine`, { where: 'outliers options' });
  }
  let score: Float64Array;
  let nearest: Int32Array;
  let k = opts.k;
  let knnRecall = 1;
  let knnSearch: 'exact' | 'ivf' = 'exact';
  let checked: OutlierScores['checked'];
  if (metric === 'euclidean') {
    if (split.d > opts.maxDims) throw new SieveError(`euclidean outlier scores are for low-dimensional features (≤ ${opts.maxDims}); this pool has ${split.d}: use metric cosine`, { where: 'outliers options' });
    ({ dist: score, nearest } = await euclideanKnn(split, k));
  } else {
    const g = await knnGraph(split, opts.k, { maxDims: opts.maxDims, seed });
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
  return { score, nearest, metric, k, knnRecall, knnSearch, ...(checked ? { checked } : {}), ...fenceFlags(score, opts.iqrFactor) };
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
    const findings: Finding[] = new Array(train.n);
    let flagged = 0;
    for (let i = 0; i < train.n; i++) {
      flagged += s.mask[i];
      findings[i] = {
        id: train.ids[i],
        score: s.score[i],
        flagged: s.mask[i] === 1,
        detail: {
          label: train.classNames[train.labels[i]],
          iqrs_above_q3: Number.isFinite(s.fence[i]) ? s.fence[i] : null,
          nearest_id: s.nearest[i] >= 0 ? train.ids[s.nearest[i]] : null,
        },
      };
    }
    const share = flagged / Math.max(train.n, 1);
    const distName = s.metric === 'cosine' ? 'cosine distance' : 'Euclidean distance';
    const verdict = flagged === 0
      ? `No row stands out: every row's mean ${distName} to its ${s.k} nearest neighbours is below the far-out fence (upper quartile + ${opts.iqrFactor} × interquartile range = ${s.cutoff.toPrecision(3)}).`
      : `${count(flagged)} rows (${pct(share)}) are unusually far from their ${s.k} nearest neighbours (mean ${distName} above ${s.cutoff.toPrecision(3)}; the median row's is ${s.median.toPrecision(3)}).`;
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
        verdict: verdict + note,
        severity: severityFor(share, OUTLIER_SEVERITY),
        figures: { rows: train.n, flagged, flagged_share: share, k: s.k, metric: s.metric, median_score: s.median, q1: s.q1, q3: s.q3, cutoff: s.cutoff, iqr_factor: opts.iqrFactor, knn_recall: s.knnRecall, knn_search: s.knnSearch, ...check },
      },
      findings,
      tables: [],
      plots: [histogram({ title: `Mean ${distName} to the ${s.k} nearest neighbours`, bins: bin(s.score, 40), xTitle: distName, rule: s.cutoff, ruleTitle: 'outlier cut-off' })],
      seconds: secondsSince(t0),
    };
  },
};
