/**
 * One-hidden-layer perceptron: x → ReLU(x·W1 + b1) → softmax(h·W2 + b2), trained with AdamW.
 *
 * Training is fully determined by the seed: He-normal W1 (std √(2/d)) and Glorot-uniform W2
 * (±√(6/(hidden + k))) from createRng(deriveSeed(seed, 'mlp', 'init')), zero biases; each
 * epoch visits the rows in a fresh permutation from deriveSeed(seed, 'mlp', 'epoch', e), in
 * minibatches of `batch_size` (the last one smaller); AdamW as PyTorch's (β1 0.9, β2 0.999,
 * ε 1e-8; decoupled weight decay W ← W·(1 − lr·weight_decay) on W1 and W2, not the biases,
 * before each step) on the minibatch mean cross-entropy; exactly `epochs` epochs, no early
 * stopping.
 *
 * The matrix products (forward X·W1 and H·W2, backward dZ·W2ᵀ, Hᵀ·dZ and Xᵀ·dH) run in
 * float32 on the WebAssembly SIMD kernel of compute/gemm.ts, which sums every product in input
 * order whatever the thread count; bias + ReLU and its backward mask are float32 SIMD, softmax
 * float64, and AdamW float64 SIMD on float64 master weights and moments, rounded to float32
 * for the products after each step (evaluator/kernels/mlp-wasm.ts). So a fit is bit-identical
 * across runs, thread counts and machines.
 *
 * Warm start: continues from the given weights (and AdamW moments) for `epochs` more epochs.
 */
import type { Dataset, FittedModel, Model, ModelState, ParamSchema } from '../types.ts';
import { createRng, deriveSeed } from '../../compute/rng.ts';
import { gemmKernel, matmul, GEMM_COLS, GEMM_ROWS, type GemmExports } from '../../compute/gemm.ts';
import { acquire, type Region } from '../../compute/arena.ts';
import { Layout } from '../../compute/wasm.ts';
import type { SharedKernel } from '../../compute/pool.ts';
import { checkDataset, parseParams } from './params.ts';
import { expNonPositive } from '../kernels/softmax.ts';
import { ADAM_BETA1, ADAM_BETA2, mlpKernels, type MlpExports } from '../kernels/mlp-wasm.ts';

const NAME = 'mlp';
/** The parameters (docs/evaluator.md's table is generated from this). */
export const MLP_PARAMS = {
  hidden: { type: 'number', default: 64, min: 1, max: 4096, integer: true, doc: 'hidden units' },
  epochs: { type: 'number', default: 20, min: 0, max: 100000, integer: true, doc: 'passes over the data (fixed, no early stopping)' },
  lr: { type: 'number', default: 1e-3, min: 0, exclusiveMin: true, doc: 'AdamW step size (β1 0.9, β2 0.999, ε 1e-8)' },
  batch_size: { type: 'number', default: 64, min: 1, integer: true, doc: 'minibatch rows (the last batch of an epoch is smaller)' },
  weight_decay: { type: 'number', default: 0.01, min: 0, doc: "AdamW's decoupled decay: W ← W·(1 − lr·weight_decay) before each step, on W1 and W2 (not the biases), as PyTorch's `AdamW`" },
} as const satisfies ParamSchema;

export interface MlpParams { hidden: number; epochs: number; lr: number; batch_size: number; weight_decay: number }

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
  // No iterationLimit: always exactly `epochs` epochs, no convergence test to stop at.
  auditDefaults: {
    tabular: { hidden: 128, epochs: 20, lr: 0.001, batch_size: 64, weight_decay: 0.01 },
    vectors: { hidden: 128, epochs: 20, lr: 0.001, batch_size: 64, weight_decay: 0.01 },
  },
  describe: (p) => `MLP (${p.hidden} hidden units, ${p.epochs} epochs)`,
} as const satisfies Omit<Model, 'fit' | 'restore'>;

export interface MlpState extends ModelState {
  kind: 'mlp';
  d: number; k: number; hidden: number;
  /** d × hidden, hidden, hidden × k, k (row-major). */
  W1: Float64Array; b1: Float64Array; W2: Float64Array; b2: Float64Array;
  /** AdamW moments (same layout as [W1, b1, W2, b2] concatenated) and step count. */
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

const up = (x: number, m: number) => Math.ceil(x / m) * m;

/**
 * The network in kernel memory, for batches of up to `rows` rows. Parameters are one flat
 * padded vector [W1 d4 × h8 | b1 h8 | W2 h4 × k8 | b2 k8] (rows padded to the kernel's 4,
 * columns to its 8), held as float32 weights `w` for the products and, when training, float64
 * masters `theta`, AdamW moments `m`, `v` and float32 gradients `g` in the same layout. The
 * padding starts at zero and stays exactly zero: its inputs (padding columns of the batch,
 * of W1, W2 and W2ᵀ) are zero, so its gradients are too. Other padded results the kernel
 * computes (rows past a short batch) are never read.
 */
class Workspace {
  readonly gemm: SharedKernel<GemmExports>;
  readonly ops: SharedKernel<MlpExports>;
  private readonly region: Region;
  /** Row lengths in floats: inputs (d4), hidden (h8), classes (k8); padded parameter count. */
  readonly d4: number; readonly h8: number; readonly k8: number; readonly P: number;
  /** Offsets (in elements) of the parameter blocks in the flat vector. */
  readonly o: { W1: number; b1: number; W2: number; b2: number };
  readonly at: Record<'Xb' | 'H' | 'Z' | 'dH' | 'W2T' | 'w' | 'g' | 'theta' | 'm' | 'v' | 'X' | 'rows', number>;
  readonly Xb: Float32Array; readonly H: Float32Array; readonly Z: Float32Array; readonly dH: Float32Array;
  readonly W2T: Float32Array; readonly w: Float32Array; readonly g: Float32Array;
  readonly theta: Float64Array; readonly m: Float64Array; readonly v: Float64Array;
  private readonly rowIndex: Int32Array;

  /** `n`: the training rows (copied in by loadRows; 0 for prediction). */
  constructor(readonly d: number, readonly h: number, readonly k: number, readonly rows: number, readonly training: boolean, n = 0) {
    const d4 = this.d4 = up(d, GEMM_ROWS), h8 = this.h8 = up(h, GEMM_COLS), k8 = this.k8 = up(k, GEMM_COLS);
    const r4 = up(rows, GEMM_ROWS), h4 = up(h, GEMM_ROWS);
    this.o = { W1: 0, b1: d4 * h8, W2: d4 * h8 + h8, b2: d4 * h8 + h8 + h4 * k8 };
    const P = this.P = this.o.b2 + k8;
    const t = training ? 1 : 0;
    const bytes = {
      Xb: 4 * r4 * d4, H: 4 * r4 * h8, Z: 4 * r4 * k8, dH: 4 * t * r4 * h8, W2T: 4 * t * k * h8,
      w: 4 * P, g: 4 * t * P, theta: 8 * t * P, m: 8 * t * P, v: 8 * t * P,
      // Training: every row once (padded to d4), and a batch's row indices, for `gather`.
      X: 4 * t * n * d4, rows: 4 * t * rows,
    };
    const L = new Layout();
    const rel = Object.fromEntries(Object.entries(bytes).map(([key, len]) => [key, L.alloc(len)])) as Record<keyof typeof bytes, number>;
    this.region = acquire(L.bytes);
    const buf = this.region.buffer();
    new Uint8Array(buf, this.region.base, L.bytes).fill(0);
    this.at = Object.fromEntries(Object.entries(rel).map(([key, off]) => [key, this.region.base + off])) as typeof this.at;
    const f32 = (key: keyof typeof bytes) => new Float32Array(buf, this.at[key], bytes[key] / 4);
    const f64 = (key: keyof typeof bytes) => new Float64Array(buf, this.at[key], bytes[key] / 8);
    this.Xb = f32('Xb'); this.H = f32('H'); this.Z = f32('Z'); this.dH = f32('dH'); this.W2T = f32('W2T');
    this.w = f32('w'); this.g = f32('g'); this.theta = f64('theta'); this.m = f64('m'); this.v = f64('v');
    this.rowIndex = new Int32Array(buf, this.at.rows, bytes.rows / 4);
    this.gemm = gemmKernel();
    this.ops = mlpKernels();
  }

  /** Copies a parameter vector in the state's layout [W1 d × h | b1 | W2 h × k | b2] into `dst` (padded). */
  pad(src: Float64Array, dst: Float32Array | Float64Array): void {
    const { d, h, k, h8, k8, o } = this;
    for (let j = 0; j < d; j++) for (let u = 0; u < h; u++) dst[o.W1 + j * h8 + u] = src[j * h + u];
    for (let u = 0; u < h; u++) dst[o.b1 + u] = src[d * h + u];
    for (let u = 0; u < h; u++) for (let c = 0; c < k; c++) dst[o.W2 + u * k8 + c] = src[d * h + h + u * k + c];
    for (let c = 0; c < k; c++) dst[o.b2 + c] = src[d * h + h + h * k + c];
  }

  /** The inverse of pad. */
  unpad(src: Float64Array, dst: Float64Array): void {
    const { d, h, k, h8, k8, o } = this;
    for (let j = 0; j < d; j++) for (let u = 0; u < h; u++) dst[j * h + u] = src[o.W1 + j * h8 + u];
    for (let u = 0; u < h; u++) dst[d * h + u] = src[o.b1 + u];
    for (let u = 0; u < h; u++) for (let c = 0; c < k; c++) dst[d * h + h + u * k + c] = src[o.W2 + u * k8 + c];
    for (let c = 0; c < k; c++) dst[d * h + h + h * k + c] = src[o.b2 + c];
  }

  /** W2ᵀ (k × h8) from the float32 weights, for the backward product dZ·W2ᵀ. */
  transposeW2(): void {
    const { h, k, h8, k8, o, w, W2T } = this;
    for (let u = 0; u < h; u++) for (let c = 0; c < k; c++) W2T[c * h8 + u] = w[o.W2 + u * k8 + c];
  }

  /** Copies the training rows X (n × d) into kernel memory once, rows padded to d4. */
  loadRows(X: Float32Array, n: number): void {
    const { d, d4 } = this;
    const dst = new Float32Array(this.region.buffer(), this.at.X, n * d4);
    if (d === d4) dst.set(X);
    else for (let i = 0; i < n; i++) dst.set(X.subarray(i * d, (i + 1) * d), i * d4);
  }

  /** Training rows `rows[0..count)` (indices into loadRows' X) into the batch buffer. */
  gather(rows: Int32Array, count: number): void {
    this.rowIndex.set(rows.subarray(0, count));
    this.ops.exports.gather(this.at.X, this.at.rows, count, 4 * this.d4, this.at.Xb);
  }

  /** Rows of X from `r0` on, contiguous. */
  gatherRange(X: Float32Array, r0: number, count: number): void {
    const { d, d4 } = this;
    if (d === d4) { this.Xb.set(X.subarray(r0 * d, (r0 + count) * d)); return; }
    for (let r = 0; r < count; r++) this.Xb.set(X.subarray((r0 + r) * d, (r0 + r + 1) * d), r * d4);
  }

  /** H = ReLU(Xb·W1 + b1), then Z = H·W2 (logits without b2), for the first `count` rows. */
  forward(count: number): void {
    const { d, h, d4, h8, k8, at, o } = this;
    const wAt = (off: number) => at.w + 4 * off;
    matmul(this.gemm, { a: at.Xb, sai: 4 * d4, sat: 4, b: wAt(o.W1), ldb: 4 * h8, out: at.H, ldc: 4 * h8, m: count, n: h, K: d });
    this.ops.exports.bias_relu(at.H, wAt(o.b1), count, h8);
    matmul(this.gemm, { a: at.H, sai: 4 * h8, sat: 4, b: wAt(o.W2), ldb: 4 * k8, out: at.Z, ldc: 4 * k8, m: count, n: this.k, K: h });
  }

  release(): void { this.region.release(); }
}

/**
 * Softmax of the logits Z[o..o+k) + b2 (float32 sums, as the network computes them) in double
 * precision (the same exp as every kernel, softmax.ts expNonPositive), into p[0..k).
 */
function softmaxRow(Z: Float32Array, o: number, w: Float32Array, ob2: number, k: number, p: Float64Array): void {
  let m = -Infinity;
  for (let c = 0; c < k; c++) { const z = Math.fround(Z[o + c] + w[ob2 + c]); p[c] = z; if (z > m) m = z; }
  let s = 0;
  for (let c = 0; c < k; c++) { const e = expNonPositive(p[c] - m); p[c] = e; s += e; }
  const inv = 1 / s;
  for (let c = 0; c < k; c++) p[c] *= inv;
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
    const out = new Float32Array(n * k);
    if (n === 0) return out;
    const B = Math.min(256, n);
    const ws = new Workspace(d, h, k, B, false);
    try {
      ws.pad(this.theta, ws.w);
      const p = new Float64Array(k);
      for (let r0 = 0; r0 < n; r0 += B) {
        const count = Math.min(B, n - r0);
        ws.gatherRange(X, r0, count);
        ws.forward(count);
        for (let r = 0; r < count; r++) {
          softmaxRow(ws.Z, r * ws.k8, ws.w, ws.o.b2, k, p);
          for (let c = 0; c < k; c++) out[(r0 + r) * k + c] = p[c];
        }
      }
    } finally {
      ws.release();
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
    adam ??= { m: new Float64Array(theta.length), v: new Float64Array(theta.length), t: 0 };
    const B = Math.min(p.batch_size, n);
    const ws = new Workspace(d, h, k, B, true, n);
    try {
      const { d4, h8, k8, at, o, gemm, H, Z, g, w } = ws;
      ws.loadRows(X, n);
      const prob = new Float64Array(k);
      const decay = 1 - p.lr * p.weight_decay;
      ws.pad(theta, ws.theta); ws.pad(adam.m, ws.m); ws.pad(adam.v, ws.v); ws.pad(theta, w);
      ws.transposeW2();
      const a4 = (base: number, off: number) => base + 4 * off, a8 = (base: number, off: number) => base + 8 * off;
      /** AdamW on parameter elements [from, to) of the flat vector. */
      const update = (from: number, to: number, dec: number, step: number, bc2: number) => {
        ws.ops.exports.adamw(a8(at.theta, from), a8(at.m, from), a8(at.v, from), a4(at.g, from), a4(at.w, from), to - from, dec, step, bc2);
      };
      for (let epoch = 0; epoch < p.epochs; epoch++) {
        const order = createRng(deriveSeed(opts.seed, 'mlp', 'epoch', epochsBefore + epoch)).permutation(n);
        for (let s0 = 0; s0 < n; s0 += B) {
          const count = Math.min(B, n - s0);
          const rows = order.subarray(s0, s0 + count);
          ws.gather(rows, count);
          ws.forward(count);
          // dZ = (softmax(Z + b2) − onehot(y)) / count, in place (float32, as the kernel reads
          // it); gb2 = Σ_r dZ[r] in row order.
          const inv = 1 / count;
          g.fill(0, o.b2, o.b2 + k8);
          for (let r = 0; r < count; r++) {
            const zo = r * k8;
            softmaxRow(Z, zo, w, o.b2, k, prob);
            prob[y[rows[r]]] -= 1;
            for (let c = 0; c < k; c++) { Z[zo + c] = prob[c] * inv; g[o.b2 + c] += Z[zo + c]; }
          }
          // gW2 = Hᵀ·dZ; dH = (dZ·W2ᵀ) ⊙ [H > 0], gb1 = Σ_r dH[r]; gW1 = Xbᵀ·dH.
          matmul(gemm, { a: at.H, sai: 4, sat: 4 * h8, b: at.Z, ldb: 4 * k8, out: a4(at.g, o.W2), ldc: 4 * k8, m: h, n: k, K: count });
          matmul(gemm, { a: at.Z, sai: 4 * k8, sat: 4, b: at.W2T, ldb: 4 * h8, out: at.dH, ldc: 4 * h8, m: count, n: h, K: k });
          ws.ops.exports.relu_back(at.H, at.dH, a4(at.g, o.b1), count, h8);
          matmul(gemm, { a: at.Xb, sai: 4, sat: 4 * d4, b: at.dH, ldb: 4 * h8, out: a4(at.g, o.W1), ldc: 4 * h8, m: d, n: h, K: count });
          // AdamW (weight decay on W1 and W2 only), which also refreshes the float32 weights.
          adam.t++;
          const step = p.lr / (1 - ADAM_BETA1 ** adam.t), bc2 = Math.sqrt(1 - ADAM_BETA2 ** adam.t);
          update(o.W1, o.b1, decay, step, bc2);
          update(o.b1, o.W2, 1, step, bc2);
          update(o.W2, o.b2, decay, step, bc2);
          update(o.b2, ws.P, 1, step, bc2);
          ws.transposeW2();
        }
      }
      ws.unpad(ws.theta, theta); ws.unpad(ws.m, adam.m); ws.unpad(ws.v, adam.v);
    } finally {
      ws.release();
    }
    return new FittedMlp(d, k, h, theta, adam, p.epochs, epochsBefore + p.epochs);
  },
  restore(state, k, d) {
    const { theta, h, adam } = thetaFromState(state, d, k);
    return new FittedMlp(d, k, h, theta, adam, 0, (state as MlpState).epochs ?? 0);
  },
};
