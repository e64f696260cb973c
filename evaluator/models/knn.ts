/**
 * k-nearest neighbours, brute force. predictProba = the neighbours' vote shares per class:
 * `weights: 'uniform'` (default) gives each of the k neighbours one vote; `'distance'`
 * weighs votes by 1/distance, and if some neighbours are at distance 0 only they vote (as
 * scikit-learn does). Ties in distance go to the training row that comes first, so results
 * never depend on thread timing. If the training set has fewer than k rows, all rows vote.
 *
 * Metrics: 'euclidean' (‖q − t‖, via ‖q‖² + ‖t‖² − 2 q·t) and 'cosine' (1 − cos(q, t); an
 * all-zero row has cosine 0 with everything). Dot products run in the SIMD kernel of
 * kernels/dots-wasm.ts over query non-zeros, blocked so a slab of training rows stays in
 * cache while a block of queries passes over it, spread over the kernel threads.
 */
import type { Dataset, FittedModel, Model, ModelState } from '../types.ts';
import { checkDataset, choiceParam, numberParam, rejectUnknownParams } from './params.ts';
import { DOT_BLOCK, dotsWasmModule, type DotsExports } from '../kernels/dots-wasm.ts';
import { Layout } from '../kernels/wasm.ts';
import { kernelFor } from '../kernels/compute-pool.ts';
import { acquire } from '../kernels/arena.ts';

const NAME = 'knn';
export const KNN_PARAMS = ['k', 'metric', 'weights'] as const;
export type KnnMetric = 'euclidean' | 'cosine';
export type KnnWeights = 'uniform' | 'distance';

export interface KnnParams { k: number; metric: KnnMetric; weights: KnnWeights }

export function knnParams(params: Record<string, unknown>): KnnParams {
  const p = params as Record<string, number | string | boolean>;
  rejectUnknownParams(NAME, p, KNN_PARAMS);
  return {
    k: numberParam(NAME, p, 'k', 5, { min: 1, integer: true }),
    metric: choiceParam<KnnMetric>(NAME, p, 'metric', 'euclidean', ['euclidean', 'cosine']),
    weights: choiceParam<KnnWeights>(NAME, p, 'weights', 'uniform', ['uniform', 'distance']),
  };
}

export interface KnnState extends ModelState {
  kind: 'knn';
  n: number; d: number; k: number;
  X: Float32Array; y: Int32Array;
  params: KnnParams;
}

/** Query rows per block: their non-zeros and dot products stay in cache together. */
const QUERY_BLOCK = 64;
/** Reference blocks (of DOT_BLOCK rows) per task: 256 rows × d floats fit in L2. */
const SLAB_BLOCKS = 256 / DOT_BLOCK;

/** Nearest-neighbour indices and distances (ascending, ties by row) for each query. */
export interface Neighbours {
  /** nq × kk row indices into the training rows. */
  index: Int32Array;
  /** nq × kk distances. */
  distance: Float64Array;
  kk: number;
}

/**
 * Brute-force k-NN search of queries Q (nq × d) among reference rows T (n × d).
 * Exposed for analysers (duplicates, neighbour label agreement) as well as the model.
 */
export function nearestNeighbours(T: Float32Array, n: number, Q: Float32Array, nq: number, d: number, k: number, metric: KnnMetric): Neighbours {
  if (T.length !== n * d) throw new Error(`${NAME}: reference has ${T.length} values, expected ${n}×${d}`);
  if (Q.length !== nq * d) throw new Error(`${NAME}: queries have ${Q.length} values, expected ${nq}×${d}`);
  const kk = Math.min(k, n);
  const nb = Math.ceil(n / DOT_BLOCK);
  const cosine = metric === 'cosine';

  // Row norms in double precision; cosine works on unit rows.
  const norm = (A: Float32Array, i: number) => {
    let s = 0;
    for (let j = i * d, e = j + d; j < e; j++) s += A[j] * A[j];
    return s;
  };
  const tSq = new Float64Array(n);
  for (let i = 0; i < n; i++) tSq[i] = norm(T, i);
  let qNnz = 0;
  for (let i = 0; i < Q.length; i++) if (Q[i] !== 0) qNnz++;

  const L = new Layout();
  const rel = {
    T: L.alloc(nb * d * DOT_BLOCK * 4),
    qrows: L.alloc(4 * (nq + 1)),
    qpairs: L.alloc(8 * qNnz),
    out: L.alloc(QUERY_BLOCK * nb * DOT_BLOCK * 4),
  };
  const region = acquire(L.bytes);
  const lay = { T: region.base + rel.T, qrows: region.base + rel.qrows, qpairs: region.base + rel.qpairs, out: region.base + rel.out };
  const buf = region.buffer();
  // Transposed blocks: T[b][j][r] = row (16b + r), input j (scaled to unit length for cosine).
  const Tt = new Float32Array(buf, lay.T, nb * d * DOT_BLOCK);
  for (let i = 0; i < n; i++) {
    const b = Math.floor(i / DOT_BLOCK), r = i % DOT_BLOCK;
    const s = cosine ? (tSq[i] > 0 ? 1 / Math.sqrt(tSq[i]) : 0) : 1;
    const base = b * d * DOT_BLOCK + r;
    for (let j = 0; j < d; j++) Tt[base + j * DOT_BLOCK] = T[i * d + j] * s;
  }
  const qrows = new Int32Array(buf, lay.qrows, nq + 1);
  const qoff = new Int32Array(buf, lay.qpairs, 2 * qNnz), qval = new Float32Array(buf, lay.qpairs, 2 * qNnz);
  const qSq = new Float64Array(nq);
  let p = 0;
  for (let i = 0; i < nq; i++) {
    qrows[i] = lay.qpairs + 8 * p;
    qSq[i] = norm(Q, i);
    const s = cosine ? (qSq[i] > 0 ? 1 / Math.sqrt(qSq[i]) : 0) : 1;
    for (let j = 0; j < d; j++) {
      const x = Q[i * d + j];
      if (x !== 0) { qoff[2 * p] = j * DOT_BLOCK * 4; qval[2 * p + 1] = x * s; p++; }
    }
  }
  qrows[nq] = lay.qpairs + 8 * p;

  const kernel = kernelFor<DotsExports>(dotsWasmModule());
  const outStride = nb * DOT_BLOCK * 4;
  const dots = new Float32Array(buf, lay.out, QUERY_BLOCK * nb * DOT_BLOCK);
  const index = new Int32Array(nq * kk), distance = new Float64Array(nq * kk);
  const bestD = new Float64Array(kk), bestI = new Int32Array(kk);
  try {
    for (let q0 = 0; q0 < nq; q0 += QUERY_BLOCK) {
      const q1 = Math.min(nq, q0 + QUERY_BLOCK);
      const tasks: number[][] = [];
      for (let b0 = 0; b0 < nb; b0 += SLAB_BLOCKS) {
        tasks.push([lay.qrows, q0, q1, lay.T, b0, Math.min(nb, b0 + SLAB_BLOCKS), d * DOT_BLOCK * 4, lay.out, outStride]);
      }
      kernel.run('dots', tasks, nb > SLAB_BLOCKS);
      for (let i = q0; i < q1; i++) {
        const row = (i - q0) * nb * DOT_BLOCK;
        let filled = 0;
        for (let t = 0; t < n; t++) {
          const dot = dots[row + t];
          const dist = cosine ? 1 - dot : Math.max(0, qSq[i] + tSq[t] - 2 * dot);
          if (filled === kk && !(dist < bestD[kk - 1])) continue;
          // Insert after every kept neighbour at a distance <= dist (earlier rows win ties).
          let pos = filled === kk ? kk - 1 : filled++;
          while (pos > 0 && bestD[pos - 1] > dist) { bestD[pos] = bestD[pos - 1]; bestI[pos] = bestI[pos - 1]; pos--; }
          bestD[pos] = dist; bestI[pos] = t;
        }
        for (let r = 0; r < kk; r++) {
          index[i * kk + r] = bestI[r];
          distance[i * kk + r] = cosine ? bestD[r] : Math.sqrt(bestD[r]);
        }
      }
    }
  } finally {
    region.release();
  }
  return { index, distance, kk };
}

class FittedKnn implements FittedModel {
  readonly kind = 'knn' as const;
  readonly iterations = 0;
  constructor(private readonly s: KnnState) {}

  predictProba(Xq: Float32Array, nq: number): Float32Array {
    const { X, y, n, d, k, params } = this.s;
    const nb = nearestNeighbours(X, n, Xq, nq, d, params.k, params.metric);
    const out = new Float32Array(nq * k);
    const votes = new Float64Array(k);
    for (let i = 0; i < nq; i++) {
      votes.fill(0);
      const base = i * nb.kk;
      let exact = 0;
      if (params.weights === 'distance') for (let r = 0; r < nb.kk; r++) if (nb.distance[base + r] === 0) exact++;
      let total = 0;
      for (let r = 0; r < nb.kk; r++) {
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
