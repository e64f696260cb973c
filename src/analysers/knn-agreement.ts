/**
 * Label agreement with nearest neighbours: for each row, the share of its neighbours in a kNN
 * graph that carry its given label, and the neighbours' majority label. Used by the
 * label-errors-knn analyser and to confirm confident-learning flags in label-errors.
 */
import type { TopK } from '../../compute/neighbours.ts';

export interface KnnAgreement {
  /** Share of neighbours with the row's given label, in [0, 1]. */
  agreement: Float64Array;
  /** Most common label among the neighbours (ties → the given label if tied, else smallest index). */
  majority: Int32Array;
  /** Share of neighbours carrying the majority label. */
  majorityShare: Float64Array;
}

/** Label agreement of each row with its neighbours in a kNN graph. */
export function knnAgreement(graph: Pick<TopK, 'n' | 'k' | 'index'>, labels: Int32Array, k: number): KnnAgreement {
  const n = graph.n;
  const agreement = new Float64Array(n);
  const majority = new Int32Array(n);
  const majorityShare = new Float64Array(n);
  const votes = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    votes.fill(0);
    let m = 0;
    for (let t = 0; t < graph.k; t++) {
      const j = graph.index[i * graph.k + t];
      if (j < 0) break;
      votes[labels[j]]++;
      m++;
    }
    const y = labels[i];
    let best = y;
    for (let c = 0; c < k; c++) if (votes[c] > votes[best]) best = c;
    agreement[i] = m ? votes[y] / m : 1;
    majority[i] = best;
    majorityShare[i] = m ? votes[best] / m : 1;
  }
  return { agreement, majority, majorityShare };
}

/** One row's agreement with a list of neighbours (the rule of knnAgreement) and whether flagByAgreement would flag it. */
export function rowAgreement(neighbours: ArrayLike<number>, labels: Int32Array, label: number, k: number, maxAgreement: number): { agreement: number; flagged: boolean } {
  const votes = new Int32Array(k);
  for (let t = 0; t < neighbours.length; t++) votes[labels[neighbours[t]]]++;
  let best = label;
  for (let c = 0; c < k; c++) if (votes[c] > votes[best]) best = c;
  const agreement = neighbours.length ? votes[label] / neighbours.length : 1;
  return { agreement, flagged: agreement <= maxAgreement && best !== label };
}

export function flagByAgreement(a: KnnAgreement, labels: Int32Array, maxAgreement: number): Uint8Array {
  const mask = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) mask[i] = a.agreement[i] <= maxAgreement && a.majority[i] !== labels[i] ? 1 : 0;
  return mask;
}

/**
 * Each row's neighbour label distribution as probabilities (n × k, row-major): the share of its
 * neighbours carrying each class, smoothed towards the class prior with `alpha` pseudo-votes
 * (so a row with few or split neighbours is not certain of anything). The row's own label is
 * never counted: the graph holds other rows only, so this is an out-of-sample view.
 */
export function knnLabelProba(graph: TopK, labels: Int32Array, k: number, alpha = 1): Float32Array {
  const n = graph.n;
  const prior = new Float64Array(k);
  for (let i = 0; i < labels.length; i++) prior[labels[i]]++;
  for (let c = 0; c < k; c++) prior[c] /= Math.max(labels.length, 1);
  const out = new Float32Array(n * k);
  const votes = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    votes.fill(0);
    let m = 0;
    for (let t = 0; t < graph.k; t++) {
      const j = graph.index[i * graph.k + t];
      if (j < 0) break;
      votes[labels[j]]++;
      m++;
    }
    for (let c = 0; c < k; c++) out[i * k + c] = (votes[c] + alpha * prior[c]) / (m + alpha);
  }
  return out;
}
