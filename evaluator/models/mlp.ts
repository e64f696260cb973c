/**
 * One-hidden-layer perceptron: x → ReLU(x·W1 + b1) → softmax(h·W2 + b2).
 *
 * Training is fully determined by the seed: He-normal W1 (std √(2/d)) and Glorot-uniform W2
 * (±√(6/(hidden + k))) from createRng(deriveSeed(seed, 'mlp', 'init')), zero biases; each
 * epoch visits the rows in a fresh permutation from deriveSeed(seed, 'mlp', 'epoch', e), in
 * minibatches of `batch_size` (the last one smaller); Adam (β1 0.9, β2 0.999, ε 1e-8) on
 * the minibatch mean cross-entropy + ½·l2·(‖W1‖² + ‖W2‖²) (biases not penalised); exactly
 * `epochs` epochs, no early stopping. Plain double arithmetic in a fixed order.
 *
 * Warm start: continues from the given weights (and Adam moments) for `epochs` more epochs.
 */
import type { Dataset, FittedModel, Model, ModelState, ParamSchema } from '../types.ts';
import { createRng, deriveSeed } from '../../compute/rng.ts';
import { checkDataset, parseParams } from './params.ts';
import { softmaxRows } from '../kernels/softmax.ts';

const NAME = 'mlp';
/** The parameters (docs/evaluator.md's table is generated from this). */
export const MLP_PARAMS = {
  hidden: { type: 'number', default: 64, min: 1, max: 4096, integer: true, doc: 'hidden units' },
  epochs: { type: 'number', default: 20, min: 0, max: 100000, integer: true, doc: 'passes over the data (fixed, no early stopping)' },
  lr: { type: 'number', default: 1e-3, min: 0, exclusiveMin: true, doc: 'Adam step size (β1 0.9, β2 0.999, ε 1e-8)' },
  batch_size: { type: 'number', default: 64, min: 1, integer: true, doc: 'minibatch rows (the last batch of an epoch is smaller)' },
  l2: { type: 'number', default: 1e-4, min: 0, doc: '½·l2·(‖W1‖² + ‖W2‖²) added to the minibatch mean cross-entropy' },
} as const satisfies ParamSchema;

export interface MlpParams { hidden: number; epochs: number; lr: number; batch_size: number; l2: number }

export function mlpParams(params: Record<string, number | string | boolean>): MlpParams {
  return parseParams(NAME, MLP_PARAMS, params) as unknown as MlpParams;
}

/** What the registry knows of the MLP besides fitting (evaluator/types.ts, Model). */
const MLP_DECLARATION = {
  kind: 'mlp',
  title: 'MLP',
  params: MLP_PARAMS,
  // Seeded initialisation and minibatch order: every seed is its own fit.
  seedless: false,
  // Continued training lands elsewhere than a fresh fit: ranking curves refit cold.
  warmStarts: false,
  // Always exactly `epochs` epochs: no convergence test, so no limit to stop at.
  iterationLimit: () => undefined,
  auditDefaults: {
    tabular: { hidden: 128, epochs: 20, lr: 0.001, batch_size: 64, l2: 0.0001 },
    vectors: { hidden: 128, epochs: 20, lr: 0.001, batch_size: 64, l2: 0.0001 },
  },
  describe: (p) => `MLP (${p.hidden} hidden units, ${p.epochs} epochs)`,
} as const satisfies Omit<Model, 'fit' | 'restore'>;

export interface MlpState extends ModelState {
  kind: 'mlp';
  d: number; k: number; hidden: number;
  /** d × hidden, hidden, hidden × k, k (row-major). */
  W1: Float64Array; b1: Float64Array; W2: Float64Array; b2: Float64Array;
  /** Adam moments (same layout as [W1, b1, W2, b2] concatenated) and step count. */
  adam?: { m: Float64Array; v: Float64Array; t: number };
  /** Epochs trained so far (a warm start continues the epoch shuffles from here). */
  epochs?: number;
}

/** Parameter block views over one flat array: [W1 | b1 | W2 | b2]. */
function views(theta: Float64Array, d: number, h: number, k: number) {
  let o = 0;
  const take = (len: number) => { const v = theta.subarray(o, o + len); o += len; return v; };
  return { W1: take(d * h), b1: take(h), W2: take(h * k), b2: take(k) };
}

function paramCount(d: number, h: number, k: number): number {
  return d * h + h + h * k + k;
}

/**
 * Hidden activations for `rows` (indices into X) → H (rows.length × h). Units are done eight
 * at a time in local accumulators (registers, not memory) over the row's non-zero inputs.
 */
function hiddenLayer(X: Float32Array, d: number, rows: ArrayLike<number>, count: number, W1: Float64Array, b1: Float64Array, h: number, H: Float64Array): void {
  const h8 = h - (h % 8);
  for (let r = 0; r < count; r++) {
    const off = rows[r] * d, ho = r * h;
    for (let u0 = 0; u0 < h8; u0 += 8) {
      let a0 = b1[u0], a1 = b1[u0 + 1], a2 = b1[u0 + 2], a3 = b1[u0 + 3];
      let a4 = b1[u0 + 4], a5 = b1[u0 + 5], a6 = b1[u0 + 6], a7 = b1[u0 + 7];
      for (let j = 0; j < d; j++) {
        const x = X[off + j];
        if (x === 0) continue;
        const wo = j * h + u0;
        a0 += x * W1[wo]; a1 += x * W1[wo + 1]; a2 += x * W1[wo + 2]; a3 += x * W1[wo + 3];
        a4 += x * W1[wo + 4]; a5 += x * W1[wo + 5]; a6 += x * W1[wo + 6]; a7 += x * W1[wo + 7];
      }
      H[ho + u0] = a0; H[ho + u0 + 1] = a1; H[ho + u0 + 2] = a2; H[ho + u0 + 3] = a3;
      H[ho + u0 + 4] = a4; H[ho + u0 + 5] = a5; H[ho + u0 + 6] = a6; H[ho + u0 + 7] = a7;
    }
    for (let u = h8; u < h; u++) {
      let a = b1[u];
      for (let j = 0; j < d; j++) {
        const x = X[off + j];
        if (x !== 0) a += x * W1[j * h + u];
      }
      H[ho + u] = a;
    }
    for (let u = 0; u < h; u++) if (H[ho + u] < 0) H[ho + u] = 0;
  }
}

/** gW1[j·h + u] = Σ_{r<count} XbT[j·B + r] · dH[r·h + u] (overwrites gW1). */
function backpropInputs(XbT: Float32Array, B: number, count: number, d: number, dH: Float64Array, h: number, gW1: Float64Array): void {
  const h8 = h - (h % 8);
  for (let j = 0; j < d; j++) {
    const xo = j * B, go = j * h;
    for (let u0 = 0; u0 < h8; u0 += 8) {
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
      for (let r = 0; r < count; r++) {
        const x = XbT[xo + r];
        if (x === 0) continue;
        const o = r * h + u0;
        a0 += x * dH[o]; a1 += x * dH[o + 1]; a2 += x * dH[o + 2]; a3 += x * dH[o + 3];
        a4 += x * dH[o + 4]; a5 += x * dH[o + 5]; a6 += x * dH[o + 6]; a7 += x * dH[o + 7];
      }
      gW1[go + u0] = a0; gW1[go + u0 + 1] = a1; gW1[go + u0 + 2] = a2; gW1[go + u0 + 3] = a3;
      gW1[go + u0 + 4] = a4; gW1[go + u0 + 5] = a5; gW1[go + u0 + 6] = a6; gW1[go + u0 + 7] = a7;
    }
    for (let u = h8; u < h; u++) {
      let a = 0;
      for (let r = 0; r < count; r++) {
        const x = XbT[xo + r];
        if (x !== 0) a += x * dH[r * h + u];
      }
      gW1[go + u] = a;
    }
  }
}

function outputLayer(H: Float64Array, count: number, h: number, W2: Float64Array, b2: Float64Array, k: number, Z: Float64Array): void {
  for (let r = 0; r < count; r++) {
    const ho = r * h, zo = r * k;
    for (let c = 0; c < k; c++) Z[zo + c] = b2[c];
    for (let u = 0; u < h; u++) {
      const a = H[ho + u];
      if (a === 0) continue;
      const wo = u * k;
      for (let c = 0; c < k; c++) Z[zo + c] += a * W2[wo + c];
    }
  }
}

class FittedMlp implements FittedModel {
  readonly kind = 'mlp' as const;
  constructor(
    readonly d: number, readonly k: number, readonly h: number,
    private readonly theta: Float64Array, private readonly adam: MlpState['adam'],
    readonly iterations: number, private readonly epochsDone: number,
  ) {}

  predictProba(X: Float32Array, n: number): Float32Array {
    const { d, k, h } = this;
    if (X.length !== n * d) throw new Error(`${NAME}: predictProba got ${X.length} values, expected n×d = ${n}×${d}`);
    const { W1, b1, W2, b2 } = views(this.theta, d, h, k);
    const out = new Float32Array(n * k);
    const B = 256;
    const H = new Float64Array(B * h), Z = new Float64Array(B * k);
    const rows = new Int32Array(B);
    for (let r0 = 0; r0 < n; r0 += B) {
      const count = Math.min(B, n - r0);
      for (let r = 0; r < count; r++) rows[r] = r0 + r;
      hiddenLayer(X, d, rows, count, W1, b1, h, H);
      outputLayer(H, count, h, W2, b2, k, Z);
      softmaxRows(Z, count, k);
      for (let i = 0; i < count * k; i++) out[r0 * k + i] = Z[i];
    }
    return out;
  }

  state(): MlpState {
    const { W1, b1, W2, b2 } = views(this.theta, this.d, this.h, this.k);
    return {
      kind: 'mlp', d: this.d, k: this.k, hidden: this.h,
      W1: W1.slice(), b1: b1.slice(), W2: W2.slice(), b2: b2.slice(),
      ...(this.adam ? { adam: { m: this.adam.m.slice(), v: this.adam.v.slice(), t: this.adam.t } } : {}),
      epochs: this.epochsDone,
    };
  }
}

function thetaFromState(state: ModelState, d: number, k: number): { theta: Float64Array; h: number; adam?: MlpState['adam'] } {
  const s = state as Partial<MlpState>;
  if (s.kind !== 'mlp') throw new Error(`${NAME}: cannot start from a '${String(s.kind)}' state`);
  if (s.d !== d || s.k !== k || !(Number.isInteger(s.hidden) && s.hidden! >= 1)) {
    throw new Error(`${NAME}: state has shape d=${s.d}, k=${s.k}, hidden=${s.hidden}; data has d=${d}, k=${k}`);
  }
  const h = s.hidden!;
  const theta = new Float64Array(paramCount(d, h, k));
  const v = views(theta, d, h, k);
  const parts = [['W1', s.W1, v.W1], ['b1', s.b1, v.b1], ['W2', s.W2, v.W2], ['b2', s.b2, v.b2]] as const;
  for (const [name, src, dst] of parts) {
    if (!(src instanceof Float64Array) || src.length !== dst.length) throw new Error(`${NAME}: state ${name} must be a Float64Array of length ${dst.length}`);
    dst.set(src);
  }
  let adam: MlpState['adam'];
  if (s.adam) {
    if (s.adam.m.length !== theta.length || s.adam.v.length !== theta.length) throw new Error(`${NAME}: state Adam moments must have length ${theta.length}`);
    adam = { m: Float64Array.from(s.adam.m), v: Float64Array.from(s.adam.v), t: s.adam.t };
  }
  return { theta, h, adam };
}

export const mlp: Model = {
  ...MLP_DECLARATION,
  fit(data: Dataset, params, opts) {
    const p = mlpParams(params);
    checkDataset(NAME, data.X, data.n, data.d, data.y, data.k);
    const { X, n, d, y, k } = data;
    let h = p.hidden;
    let theta: Float64Array;
    let adam: MlpState['adam'];
    let epochsBefore = 0;
    if (opts.warmStart) {
      const w = thetaFromState(opts.warmStart, d, k);
      if (w.h !== h) throw new Error(`${NAME}: warm start has hidden=${w.h}, params say hidden=${h}`);
      theta = w.theta; adam = w.adam; h = w.h;
      epochsBefore = (opts.warmStart as MlpState).epochs ?? 0;
    } else {
      theta = new Float64Array(paramCount(d, h, k));
      const v = views(theta, d, h, k);
      const init = createRng(deriveSeed(opts.seed, 'mlp', 'init'));
      const he = Math.sqrt(2 / d);
      for (let i = 0; i < v.W1.length; i++) v.W1[i] = he * init.normal();
      const glorot = Math.sqrt(6 / (h + k));
      for (let i = 0; i < v.W2.length; i++) v.W2[i] = glorot * (2 * init.uniform() - 1);
    }
    const P = theta.length;
    adam ??= { m: new Float64Array(P), v: new Float64Array(P), t: 0 };
    const grad = new Float64Array(P);
    const { W1, b1, W2, b2 } = views(theta, d, h, k);
    const g = views(grad, d, h, k);
    const B = Math.min(p.batch_size, n);
    const H = new Float64Array(B * h), Z = new Float64Array(B * k), dH = new Float64Array(B * h);
    const XbT = new Float32Array(d * B);
    const beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    for (let epoch = 0; epoch < p.epochs; epoch++) {
      const order = createRng(deriveSeed(opts.seed, 'mlp', 'epoch', epochsBefore + epoch)).permutation(n);
      for (let s0 = 0; s0 < n; s0 += B) {
        const count = Math.min(B, n - s0);
        const rows = order.subarray(s0, s0 + count);
        hiddenLayer(X, d, rows, count, W1, b1, h, H);
        outputLayer(H, count, h, W2, b2, k, Z);
        softmaxRows(Z, count, k);
        // dZ = (P − Y) / count, in place.
        const inv = 1 / count;
        for (let r = 0; r < count; r++) {
          Z[r * k + y[rows[r]]] -= 1;
          for (let c = 0; c < k; c++) Z[r * k + c] *= inv;
        }
        grad.fill(0);
        // Output layer gradients and dH = dZ·W2ᵀ ⊙ [H > 0].
        for (let r = 0; r < count; r++) {
          const ho = r * h, zo = r * k;
          for (let c = 0; c < k; c++) g.b2[c] += Z[zo + c];
          for (let u = 0; u < h; u++) {
            const a = H[ho + u];
            const wo = u * k;
            let back = 0;
            for (let c = 0; c < k; c++) {
              const dz = Z[zo + c];
              g.W2[wo + c] += a * dz;
              back += dz * W2[wo + c];
            }
            dH[ho + u] = a > 0 ? back : 0;
          }
        }
        // Hidden layer gradients: gW1[j] = Σ_r x_rj · dH[r], eight units at a time in
        // registers, over the batch gathered input-major (XbT[j·B + r]).
        for (let r = 0; r < count; r++) {
          const off = rows[r] * d;
          for (let j = 0; j < d; j++) XbT[j * B + r] = X[off + j];
          for (let u = 0; u < h; u++) g.b1[u] += dH[r * h + u];
        }
        backpropInputs(XbT, B, count, d, dH, h, g.W1);
        if (p.l2 > 0) {
          for (let i = 0; i < W1.length; i++) g.W1[i] += p.l2 * W1[i];
          for (let i = 0; i < W2.length; i++) g.W2[i] += p.l2 * W2[i];
        }
        // Adam.
        adam.t++;
        const c1 = 1 - beta1 ** adam.t, c2 = 1 - beta2 ** adam.t;
        const step = p.lr * Math.sqrt(c2) / c1;
        const m = adam.m, v = adam.v;
        for (let i = 0; i < P; i++) {
          const gi = grad[i];
          m[i] = beta1 * m[i] + (1 - beta1) * gi;
          v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
          theta[i] -= step * m[i] / (Math.sqrt(v[i]) + eps * Math.sqrt(c2));
        }
      }
    }
    return new FittedMlp(d, k, h, theta, adam, p.epochs, epochsBefore + p.epochs);
  },
  restore(state, k, d) {
    const { theta, h, adam } = thetaFromState(state, d, k);
    return new FittedMlp(d, k, h, theta, adam, 0, (state as MlpState).epochs ?? 0);
  },
};
