/**
 * Outliers: rows far from their nearest neighbours. Score = mean distance to the k nearest
 * other rows in the shared neighbour space (standardised features, ≤ 64 principal
 * components). Distance is cosine distance 1 − cos for more than 3 dimensions (as cleanlab's
 * Datalab outlier check), Euclidean distance for 1–3 dimensions where angles say little.
 *
 * Threshold: a row is flagged when its score's robust z-score, (score − median) / (1.4826 ×
 * MAD), exceeds 3.5 (Iglewicz & Hoaglin's cut-off for modified z-scores). Unlike "the top 1%",
 * this flags nothing in a pool without outliers.
 */
import { SieveError } from '../util/errors.ts';
import type { PoolSplit } from '../pool/types.ts';
import type { Analyser, AnalyserResult, Finding } from './types.ts';
import { knnGraph } from './neighbour-space.ts';
import { knnCross } from './neighbours.ts';
import { applyScaling, columnScaling } from './vectors.ts';
import { bin, count, histogram, pct, secondsSince, severityFor } from './specs.ts';
import { medianAndMad } from './stats.ts';

export interface OutlierOptions {
  k: number;
  /** Robust z-score above which a row is flagged. */
  zThreshold: number;
  metric: 'auto' | 'cosine' | 'euclidean';
  maxDims: number;
}

/** Share of rows flagged: below 0.5% ok, below 2% info, below 5% warning, else problem. */
export const OUTLIER_SEVERITY = { ok: 0.005, info: 0.02, warning: 0.05 };

export interface OutlierScores {
  score: Float64Array;
  robustZ: Float64Array;
  median: number;
  mad: number;
  /** The score above which rows are flagged. */
  cutoff: number;
  mask: Uint8Array;
  nearest: Int32Array;
  metric: 'cosine' | 'euclidean';
  k: number;
}

/** Flags by robust z-score of the scores. */
export function robustFlags(score: Float64Array, z: number): { robustZ: Float64Array; median: number; mad: number; cutoff: number; mask: Uint8Array } {
  const { median, mad } = medianAndMad(score);
  const scale = 1.4826 * mad;
  const robustZ = new Float64Array(score.length);
  const mask = new Uint8Array(score.length);
  for (let i = 0; i < score.length; i++) {
    // With MAD = 0 (over half the rows tie) only rows above the median can stand out.
    robustZ[i] = scale > 0 ? (score[i] - median) / scale : score[i] > median ? Infinity : 0;
    mask[i] = robustZ[i] > z ? 1 : 0;
  }
  return { robustZ, median, mad, cutoff: median + z * scale, mask };
}

/** Exact k-nearest Euclidean distances on standardised features (d small: no reduction). */
async function euclideanKnn(split: PoolSplit, k: number): Promise<{ dist: Float64Array; nearest: Int32Array }> {
  const n = split.n, d = split.d;
  const Z = applyScaling(split.features, n, d, columnScaling(split.features, n, d));
  // ‖a − b‖² = ‖a‖² + ‖b‖² − 2 a·b: rank by a·b − ‖b‖²/2 with queries [a, 1] and rows [b, −‖b‖²/2].
  const q = new Float32Array(n * (d + 1));
  const x = new Float32Array(n * (d + 1));
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) { const v = Z[i * d + j]; q[i * (d + 1) + j] = v; x[i * (d + 1) + j] = v; s += v * v; }
    sq[i] = s;
    q[i * (d + 1) + d] = 1;
    x[i * (d + 1) + d] = -s / 2;
  }
  const kk = Math.min(k + 1, n);
  const top = await knnCross(q, n, x, n, d + 1, kk);
  const dist = new Float64Array(n);
  const nearest = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    let m = 0, sum = 0;
    for (let t = 0; t < top.k && m < k; t++) {
      const j = top.index[i * top.k + t];
      if (j < 0 || j === i) continue;
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
  const metric = opts.metric === 'auto' ? (split.d > 3 ? 'cosine' : 'euclidean') : opts.metric;
  let score: Float64Array;
  let nearest: Int32Array;
  let k = opts.k;
  if (metric === 'euclidean') {
    if (split.d > opts.maxDims) throw new SieveError(`euclidean outlier scores are for low-dimensional features (≤ ${opts.maxDims}); this pool has ${split.d}: use metric cosine`, { where: 'outliers options' });
    ({ dist: score, nearest } = await euclideanKnn(split, k));
  } else {
    const g = await knnGraph(split, opts.k, { maxDims: opts.maxDims, seed });
    k = g.k;
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
  }
  return { score, nearest, metric, k, ...robustFlags(score, opts.zThreshold) };
}

export const outliers: Analyser<OutlierOptions> = {
  name: 'outliers',
  title: 'Outliers (distance to nearest neighbours)',
  needs: ['features'],
  defaults: { k: 10, zThreshold: 3.5, metric: 'auto', maxDims: 64 },
  async run(ctx, opts): Promise<AnalyserResult> {
    const t0 = performance.now();
    const train = ctx.train;
    if (!(Number.isInteger(opts.k) && opts.k >= 1)) throw new SieveError(`k must be a positive integer, got ${opts.k}`, { where: 'outliers options' });
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
          robust_z: Number.isFinite(s.robustZ[i]) ? s.robustZ[i] : null,
          nearest_id: s.nearest[i] >= 0 ? train.ids[s.nearest[i]] : null,
        },
      };
    }
    const share = flagged / Math.max(train.n, 1);
    const distName = s.metric === 'cosine' ? 'cosine distance' : 'Euclidean distance';
    const verdict = flagged === 0
      ? `No row stands out: every row's mean ${distName} to its ${s.k} nearest neighbours is within 3.5 robust standard deviations of the median.`
      : `${count(flagged)} rows (${pct(share)}) are unusually far from their ${s.k} nearest neighbours (mean ${distName} above ${s.cutoff.toPrecision(3)}; the median row's is ${s.median.toPrecision(3)}).`;
    return {
      name: 'outliers',
      summary: {
        verdict,
        severity: severityFor(share, OUTLIER_SEVERITY),
        figures: { rows: train.n, flagged, flagged_share: share, k: s.k, metric: s.metric, median_score: s.median, mad: s.mad, cutoff: s.cutoff, z_threshold: opts.zThreshold },
      },
      findings,
      tables: [],
      plots: [histogram({ title: `Mean ${distName} to the ${s.k} nearest neighbours`, bins: bin(s.score, 40), xTitle: distName, rule: s.cutoff, ruleTitle: 'outlier cut-off' })],
      seconds: secondsSince(t0),
    };
  },
};
