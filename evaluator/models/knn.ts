/**
 * k-nearest neighbours, brute force. predictProba = the neighbours' vote shares per class:
 * `weights: 'uniform'` (default) gives each of the k neighbours one vote; `'distance'`
 * weighs votes by 1/distance, and if some neighbours are at distance 0 only they vote (as
 * scikit-learn does). Ties in distance go to the training row that comes first, so results
 * never depend on thread timing. If the training set has fewer than k rows, all rows vote.
 *
 * Metrics: 'euclidean' (‖q − t‖, via ‖q‖² + ‖t‖² − 2 q·t) and 'cosine' (1 − cos(q, t); an
 * all-zero row has cosine 0 with everything). The search is compute/'s one exact neighbour
 * search (neighbours.ts, `nearestCrossSync`): float32 dot products from the SIMD tile kernel,
 * ranked in float64, on the calling thread.
 */
import type { Dataset, FittedModel, Model, ModelSpec, ModelState, ParamSchema } from '../types.ts';
import { checkDataset, parseParams } from './params.ts';
import { nearestCrossSync } from '../../compute/neighbours.ts';

const NAME = 'knn';
export type KnnMetric = 'euclidean' | 'cosine';
export type KnnWeights = 'uniform' | 'distance';

/** The parameters (docs/evaluator.md's table is generated from this). */
export const KNN_PARAMS = {
  k: { type: 'number', default: 5, min: 1, integer: true, doc: 'neighbours (all training rows vote if there are fewer)' },
  metric: {
    type: 'choice', default: 'euclidean', values: ['euclidean', 'cosine'],
    doc: '`euclidean` or `cosine` (1 − cos; an all-zero row has cosine 0 with everything)',
  },
  weights: {
    type: 'choice', default: 'uniform', values: ['uniform', 'distance'],
    doc: '`uniform`: one vote each; `distance`: 1/distance, and if some neighbours are at distance 0 only they vote (as scikit-learn)',
  },
} as const satisfies ParamSchema;

export interface KnnParams { k: number; metric: KnnMetric; weights: KnnWeights }

export function knnParams(params: Record<string, unknown>): KnnParams {
  return parseParams(NAME, KNN_PARAMS, params as ModelSpec['params']) as unknown as KnnParams;
}

export interface KnnState extends ModelState {
  kind: 'knn';
  n: number; d: number; k: number;
  X: Float32Array; y: Int32Array;
  params: KnnParams;
}

class FittedKnn implements FittedModel {
  readonly kind = 'knn' as const;
  readonly iterations = 0;
  constructor(private readonly s: KnnState) {}

  predictProba(Xq: Float32Array, nq: number): Float32Array {
    const { X, y, n, d, k, params } = this.s;
    if (Xq.length !== nq * d) throw new Error(`${NAME}: queries have ${Xq.length} values, expected ${nq}×${d}`);
    const nb = nearestCrossSync(Xq, nq, X, n, d, params.k, params.metric);
    const out = new Float32Array(nq * k);
    const votes = new Float64Array(k);
    for (let i = 0; i < nq; i++) {
      votes.fill(0);
      const base = i * nb.k;
      let exact = 0;
      if (params.weights === 'distance') for (let r = 0; r < nb.k; r++) if (nb.distance[base + r] === 0) exact++;
      let total = 0;
      for (let r = 0; r < nb.k; r++) {
        const dist = nb.distance[base + r];
        let w = 1;
        if (params.weights === 'distance') w = exact > 0 ? (dist === 0 ? 1 : 0) : 1 / dist;
        votes[y[nb.index[base + r]]] += w;
        total += w;
      }
      for (let c = 0; c < k; c++) out[i * k + c] = votes[c] / total;
    }
    return out;
  }

  state(): KnnState {
    return { ...this.s, X: this.s.X.slice(), y: this.s.y.slice(), params: { ...this.s.params } };
  }
}

export const knn: Model = {
  kind: 'knn',
  title: 'k-nearest neighbours',
  params: KNN_PARAMS,
  // Deterministic whatever the seed: neighbours and votes involve no randomness.
  seedless: true,
  // Nothing to warm-start: a fit stores the rows.
  warmStarts: false,
  auditDefaults: { tabular: { k: 10, metric: 'euclidean' }, vectors: { k: 10, metric: 'cosine' } },
  describe: (p) => `k-nearest neighbours (k ${p.k}, ${p.metric})`,
  fit(data: Dataset, params, _opts) {
    const p = knnParams(params);
    checkDataset(NAME, data.X, data.n, data.d, data.y, data.k);
    return new FittedKnn({ kind: 'knn', n: data.n, d: data.d, k: data.k, X: data.X.slice(), y: data.y.slice(), params: p });
  },
  restore(state, k, d) {
    const s = state as Partial<KnnState>;
    if (s.kind !== 'knn') throw new Error(`${NAME}: cannot restore a '${String(s.kind)}' state`);
    if (s.d !== d || s.k !== k) throw new Error(`${NAME}: state has shape d=${s.d}, k=${s.k}; expected d=${d}, k=${k}`);
    if (!(s.X instanceof Float32Array) || !(s.y instanceof Int32Array) || s.X.length !== s.n! * d || s.y.length !== s.n) {
      throw new Error(`${NAME}: state must hold X (Float32Array n×d) and y (Int32Array n)`);
    }
    return new FittedKnn({ kind: 'knn', n: s.n!, d, k, X: s.X, y: s.y, params: knnParams(s.params as unknown as Record<string, unknown>) });
  },
};
