/**
 * A model-free label check: for each row, the share of its k nearest neighbours that carry
 * the same given label. Neighbours by the features' kind (vectors.ts metricFor): Euclidean on
 * the standardised columns for tabular features, cosine in the shared neighbour space
 * (standardised, ≤ 64 principal components) for pixels, text and embeddings. A row whose neighbourhood mostly carries another label is
 * suspicious whatever model is used later. Needs no out-of-sample predictions.
 */
import { SieveError } from '../util/errors.ts';
import type { PoolSplit } from '../pool/types.ts';
import type { Analyser, AnalyserResult, Finding } from './types.ts';
import { knnAgreement, flagByAgreement, rowAgreement } from './knn-agreement.ts';
import { approximateGraphNote, checkedNeighbours, euclideanNeighbours, knnGraph, KNN_EXACT_MAX_ROWS } from './neighbour-space.ts';
import { metricFor, type FeatureMetric } from './vectors.ts';
import type { NearestK, TopK } from '../../compute/neighbours.ts';
import { barChart, columnChart, count, counted, pct, secondsSince, severityFor } from './specs.ts';
import { LABEL_ERROR_SEVERITY } from './label-errors.ts';

export { knnAgreement, flagByAgreement, type KnnAgreement } from './knn-agreement.ts';

export interface KnnLabelOptions {
  /** Neighbours per row. */
  k: number;
  /**
   * Flag a row when at most this share of its neighbours carry its label and the neighbours'
   * majority label is another class. 0.2 with k = 10: at most 2 of 10 neighbours agree.
   */
  maxAgreement: number;
  /** Principal components of the neighbour space when the features are wider. */
  maxDims: number;
}

/** Rows per number of agreeing neighbours 0..k. */
function agreeCounts(agreement: Float64Array, k: number): number[] {
  const c = new Array<number>(k + 1).fill(0);
  for (let i = 0; i < agreement.length; i++) c[Math.round(agreement[i] * k)]++;
  return c;
}

function checkOptions(o: KnnLabelOptions, split: PoolSplit): void {
  if (!(Number.isInteger(o.k) && o.k >= 1)) throw new SieveError(`k must be a positive integer, got ${o.k}`, { where: 'label-errors-knn options' });
  if (!(o.maxAgreement >= 0 && o.maxAgreement < 1)) throw new SieveError(`maxAgreement must be in [0, 1), got ${o.maxAgreement}`, { where: 'label-errors-knn options' });
  if (split.d === 0) throw new SieveError('the pool has no numeric feature columns to find neighbours in', { where: 'label-errors-knn' });
}

/** Below this mean neighbour agreement the verdict says classes are mixed in the feature space. */
export const MIXED_NEIGHBOURHOOD = 0.5;

export const labelErrorsKnn: Analyser<KnnLabelOptions> = {
  name: 'label-errors-knn',
  title: 'Label agreement with nearest neighbours',
  needs: ['features', 'labels'],
  defaults: { k: 10, maxAgreement: 0.2, maxDims: 64 },
  async run(ctx, opts): Promise<AnalyserResult> {
    const t0 = performance.now();
    const train = ctx.train;
    checkOptions(opts, train);
    // Tabular features: Euclidean distance on the standardised columns (the outlier and
    // duplicates analysers' rule, vectors.ts metricFor). On clean iris, cosine in 4
    // standardised columns flagged 9 rows; Euclidean flags 1 (the angle of a row near the
    // centre says little). Pixels, text and wide embeddings: cosine in the neighbour space.
    const metric: FeatureMetric = metricFor(train) === 'euclidean' && train.n <= KNN_EXACT_MAX_ROWS ? 'euclidean' : 'cosine';
    const graph: Pick<TopK, 'n' | 'k' | 'index'> & Partial<TopK> = metric === 'euclidean'
      ? (await euclideanNeighbours(train, opts.k, { maxDims: opts.maxDims, seed: ctx.seed })).nearest
      : await knnGraph(train, opts.k, { maxDims: opts.maxDims, seed: ctx.seed, progress: ctx.progress });
    const nearestDistance = 'distance' in graph ? (graph as NearestK).distance : null;
    const k = train.classNames.length;
    const a = knnAgreement(graph, train.labels, k);
    const mask = flagByAgreement(a, train.labels, opts.maxAgreement);
    const names = train.classNames;
    const findings: Finding[] = new Array(train.n);
    let flagged = 0;
    const flaggedByClass = new Int32Array(k);
    for (let i = 0; i < train.n; i++) {
      if (mask[i]) { flagged++; flaggedByClass[train.labels[i]]++; }
      findings[i] = {
        id: train.ids[i],
        score: 1 - a.agreement[i],
        flagged: mask[i] === 1,
        detail: {
          given_label: names[train.labels[i]],
          suggested_label: names[a.majority[i]],
          agreement: a.agreement[i],
          majority_share: a.majorityShare[i],
          nearest_id: graph.k > 0 && graph.index[i * graph.k] >= 0 ? train.ids[graph.index[i * graph.k]] : null,
          nearest_similarity: graph.sim && graph.k > 0 && graph.index[i * graph.k] >= 0 ? graph.sim[i * graph.k] : null,
          nearest_distance: nearestDistance && graph.k > 0 && graph.index[i * graph.k] >= 0 ? nearestDistance[i * graph.k] : null,
        },
      };
    }
    let mean = 0;
    for (let i = 0; i < train.n; i++) mean += a.agreement[i];
    mean /= Math.max(train.n, 1);
    const share = flagged / Math.max(train.n, 1);
    // What neighbours would share if labels were random: Σ_c (n_c / n)·((n_c − 1) / (n − 1)).
    // Not clearly above it (one-sided 95%, treating the n·k neighbour slots as independent),
    // the labels are not predictable from the neighbours and the flags mean nothing.
    const sizes = new Float64Array(k);
    for (let i = 0; i < train.n; i++) sizes[train.labels[i]]++;
    let chanceAgreement = 0;
    for (let c = 0; c < k; c++) chanceAgreement += (sizes[c] / Math.max(train.n, 1)) * ((sizes[c] - 1) / Math.max(train.n - 1, 1));
    const slots = Math.max(train.n * graph.k, 1);
    const atChance = mean - chanceAgreement <= 1.6449 * Math.sqrt(chanceAgreement * (1 - chanceAgreement) / slots);
    const verdict = atChance && flagged > 0
      ? `Neighbours share labels no more often than random labels would (mean agreement ${pct(mean)} against ${pct(chanceAgreement)} by chance): the features do not predict the label here, so a row's disagreeing neighbours are no evidence against its label and these flags are not meaningful (${count(flagged)} of ${count(train.n)} rows flagged).`
      : flagged === 0
      ? `Every row's label agrees with at least some of its ${graph.k} nearest neighbours (mean agreement ${pct(mean)}).`
      : `${counted(flagged, 'row')} (${pct(share)}) ${flagged === 1 ? 'carries' : 'carry'} a label that at most ${Math.round(opts.maxAgreement * graph.k)} of their ${graph.k} nearest neighbours share, while more of them carry another label; mean agreement ${pct(mean)}.` +
        // Neighbours that mostly disagree with every row: classes are mixed in this space, and
        // a row's disagreeing neighbours say little about its own label.
        (mean < MIXED_NEIGHBOURHOOD ? ` Caution: on average only ${pct(mean)} of a row's neighbours share its label, so classes are mixed in this feature space and a flag here says more about the space than about the row's label.` : '');
    // An approximate graph: the same rule on the rows whose exact neighbours are known says
    // what the approximation does to the flags.
    const checked = graph.sim ? checkedNeighbours(graph as TopK, opts.k) : null;
    let effect = '';
    const check: Record<string, number | null> = { knn_check_rows: null, knn_check_same_flag: null, knn_check_agreement_difference: null };
    if (checked && checked.rows.length) {
      let same = 0, diff = 0, flaggedExact = 0, flaggedApprox = 0;
      checked.rows.forEach((i, s) => {
        const e = rowAgreement(checked.exact[s], train.labels, train.labels[i], k, opts.maxAgreement);
        const ap = rowAgreement(checked.approx[s], train.labels, train.labels[i], k, opts.maxAgreement);
        if (e.flagged === ap.flagged) same++;
        if (e.flagged) flaggedExact++;
        if (ap.flagged) flaggedApprox++;
        diff += Math.abs(e.agreement - ap.agreement);
      });
      const m = checked.rows.length;
      check.knn_check_rows = m; check.knn_check_same_flag = same / m; check.knn_check_agreement_difference = diff / m;
      effect = `On ${count(m)} rows checked against their exact neighbours, the flag is the same for ${pct(same / m)} of them (${count(flaggedExact)} flagged with the exact neighbours, ${count(flaggedApprox)} with the approximate ones) and the share of agreeing neighbours differs by ${(diff / m).toFixed(3)} on average.`;
    }
    const note = graph.sim ? approximateGraphNote(graph as TopK, effect) : '';
    return {
      name: 'label-errors-knn',
      summary: {
        verdict: verdict + note,
        // At chance the flags are not evidence: a warning to read, as label-errors does.
        severity: atChance && flagged > 0 ? 'warning' : severityFor(share, LABEL_ERROR_SEVERITY),
        figures: {
          rows: train.n, flagged, flagged_share: share, mean_agreement: mean, chance_agreement: chanceAgreement, agreement_at_chance: atChance ? 1 : 0,
          k: graph.k, max_agreement: opts.maxAgreement, metric,
          knn_search: graph.method ?? 'exact', knn_recall: graph.recall ?? 1,
          ...check,
        },
      },
      findings,
      tables: [{
        name: 'label_errors_knn_by_class',
        rows: names.map((c, j) => ({ class: c, flagged: flaggedByClass[j] })),
      }],
      plots: [
        columnChart({
          title: `Rows by how many of their ${graph.k} nearest neighbours share their label`,
          values: agreeCounts(a.agreement, graph.k).map((rows, m) => ({
            neighbours: String(m), rows, zone: m <= Math.round(opts.maxAgreement * graph.k) ? 'may be flagged' : 'kept',
          })),
          category: 'neighbours', value: 'rows', categoryTitle: 'neighbours with the same label', valueTitle: 'rows', highlight: 'zone',
        }),
        barChart({ title: 'Rows whose neighbours disagree, by given label', values: names.map((c, j) => ({ class: c, flagged: flaggedByClass[j] })), category: 'class', value: 'flagged', integer: true, valueTitle: 'flagged rows' }),
      ],
      seconds: secondsSince(t0),
    };
  },
};
