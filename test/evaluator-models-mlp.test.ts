import { afterAll, describe, expect, it } from 'vitest';
import { createRng, deriveSeed } from '../compute/rng.ts';
import { setKernelThreads, shutdownKernelThreads } from '../compute/pool.ts';
import { mlp, type MlpState } from '../evaluator/models/mlp.ts';
import { getModel } from '../evaluator/models/registry.ts';
import type { Dataset } from '../evaluator/types.ts';

/** Noisy XOR: class = sign(x0) xor sign(x1); no linear model gets above ~50%. */
function xor(seed: number, n: number): Dataset {
  const r = createRng(seed);
  const X = new Float32Array(n * 2), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const a = r.uniform() * 2 - 1, b = r.uniform() * 2 - 1;
    X[2 * i] = a; X[2 * i + 1] = b;
    y[i] = (a > 0) !== (b > 0) ? 1 : 0;
  }
  return { X, n, d: 2, y, k: 2 };
}

function accuracy(P: Float32Array, y: Int32Array, k: number): number {
  let ok = 0;
  for (let i = 0; i < y.length; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (P[i * k + c] > P[i * k + best]) best = c;
    if (best === y[i]) ok++;
  }
  return ok / y.length;
}

describe('one-hidden-layer MLP', () => {
  it('learns XOR, which a linear model cannot', () => {
    const train = xor(1, 800), test = xor(2, 400);
    const m = mlp.fit(train, { hidden: 16, epochs: 60, lr: 0.01, batch_size: 32, weight_decay: 0 }, { seed: 0 });
    expect(m.iterations).toBe(60);
    expect(accuracy(m.predictProba(test.X, test.n), test.y, 2)).toBeGreaterThan(0.93);
    const lin = getModel('logistic-regression').fit(train, {}, { seed: 0 });
    expect(accuracy(lin.predictProba(test.X, test.n), test.y, 2)).toBeLessThan(0.7);
  });

  it('is bit-identical for the same seed, different for another, and restores exactly', () => {
    const train = xor(3, 200);
    const params = { hidden: 8, epochs: 5, lr: 0.01, batch_size: 16 };
    const a = mlp.fit(train, params, { seed: 7 }), b = mlp.fit(train, params, { seed: 7 }), c = mlp.fit(train, params, { seed: 8 });
    const pa = a.predictProba(train.X, train.n);
    expect(Array.from(b.predictProba(train.X, train.n))).toEqual(Array.from(pa));
    expect(Array.from(c.predictProba(train.X, train.n))).not.toEqual(Array.from(pa));
    const restored = getModel('mlp').restore(structuredClone(a.state()), 2, 2);
    expect(Array.from(restored.predictProba(train.X, train.n))).toEqual(Array.from(pa));
  });

  it('warm start continues training: 3 + 2 epochs equals 5 epochs', () => {
    const train = xor(4, 150);
    const p = { hidden: 6, lr: 0.02, batch_size: 10 };
    const five = mlp.fit(train, { ...p, epochs: 5 }, { seed: 1 });
    const three = mlp.fit(train, { ...p, epochs: 3 }, { seed: 1 });
    const more = mlp.fit(train, { ...p, epochs: 2 }, { seed: 1, warmStart: three.state() });
    expect(Array.from(more.predictProba(train.X, train.n))).toEqual(Array.from(five.predictProba(train.X, train.n)));
  });

  it('rejects bad parameters and mismatched warm starts', () => {
    const train = xor(5, 20);
    expect(() => mlp.fit(train, { hidden: 0 }, { seed: 0 })).toThrow(/'hidden' must be >= 1/);
    expect(() => mlp.fit(train, { lr: 0 }, { seed: 0 })).toThrow(/'lr' must be > 0/);
    expect(() => mlp.fit(train, { dropout: 0.5 }, { seed: 0 })).toThrow(/unknown parameter/);
    const other = mlp.fit(train, { hidden: 4, epochs: 1 }, { seed: 0 });
    expect(() => mlp.fit(train, { hidden: 5, epochs: 1 }, { seed: 0, warmStart: other.state() })).toThrow(/hidden=4/);
  });
});

/** Gaussian blobs in d dimensions, k classes (a problem with wide enough products to be split over threads). */
function blobs(seed: number, n: number, d: number, k: number): Dataset {
  const r = createRng(seed);
  const centres = Array.from({ length: k }, () => Array.from({ length: d }, () => r.normal()));
  const X = new Float32Array(n * d), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % k;
    for (let j = 0; j < d; j++) X[i * d + j] = centres[y[i]][j] + 1.5 * r.normal();
  }
  return { X, n, d, y, k };
}

/**
 * The same training in plain float64 JavaScript, written from the documented algorithm (He /
 * Glorot initialisation from the seed, per-epoch permutations, minibatch mean cross-entropy,
 * PyTorch's AdamW with decay on the weights only): the kernels' float32 products must agree
 * with it to float32 accuracy.
 */
function referenceFit(data: Dataset, h: number, epochs: number, lr: number, B: number, wd: number, seed: number): Float64Array {
  const { X, n, d, y, k } = data;
  const init = createRng(deriveSeed(seed, 'mlp', 'init'));
  const W1 = Float64Array.from({ length: d * h }, () => Math.sqrt(2 / d) * init.normal());
  const W2 = Float64Array.from({ length: h * k }, () => Math.sqrt(6 / (h + k)) * (2 * init.uniform() - 1));
  const b1 = new Float64Array(h), b2 = new Float64Array(k);
  const params = [W1, b1, W2, b2];
  const m = params.map((a) => new Float64Array(a.length)), v = params.map((a) => new Float64Array(a.length));
  let t = 0;
  for (let e = 0; e < epochs; e++) {
    const order = createRng(deriveSeed(seed, 'mlp', 'epoch', e)).permutation(n);
    for (let s0 = 0; s0 < n; s0 += B) {
      const rows = Array.from(order.subarray(s0, Math.min(n, s0 + B)));
      const grads = params.map((a) => new Float64Array(a.length));
      for (const i of rows) {
        const hid = new Float64Array(h);
        for (let u = 0; u < h; u++) { let a = b1[u]; for (let j = 0; j < d; j++) a += X[i * d + j] * W1[j * h + u]; hid[u] = Math.max(a, 0); }
        const z = new Float64Array(k);
        for (let c = 0; c < k; c++) { let a = b2[c]; for (let u = 0; u < h; u++) a += hid[u] * W2[u * k + c]; z[c] = a; }
        const mx = Math.max(...z);
        let sum = 0;
        for (let c = 0; c < k; c++) { z[c] = Math.exp(z[c] - mx); sum += z[c]; }
        for (let c = 0; c < k; c++) z[c] = (z[c] / sum - (c === y[i] ? 1 : 0)) / rows.length;
        for (let c = 0; c < k; c++) grads[3][c] += z[c];
        for (let u = 0; u < h; u++) {
          let back = 0;
          for (let c = 0; c < k; c++) { grads[2][u * k + c] += hid[u] * z[c]; back += z[c] * W2[u * k + c]; }
          if (hid[u] <= 0) continue;
          grads[1][u] += back;
          for (let j = 0; j < d; j++) grads[0][j * h + u] += X[i * d + j] * back;
        }
      }
      t++;
      params.forEach((p, q) => {
        for (let i = 0; i < p.length; i++) {
          const g = grads[q][i];
          m[q][i] = 0.9 * m[q][i] + 0.1 * g;
          v[q][i] = 0.999 * v[q][i] + 0.001 * g * g;
          const w = q === 0 || q === 2 ? p[i] * (1 - lr * wd) : p[i];
          p[i] = w - (lr / (1 - 0.9 ** t)) * m[q][i] / (Math.sqrt(v[q][i]) / Math.sqrt(1 - 0.999 ** t) + 1e-8);
        }
      });
    }
  }
  return Float64Array.from([...W1, ...b1, ...W2, ...b2]);
}

describe('MLP on the SIMD kernels', () => {
  afterAll(async () => { setKernelThreads(1); await shutdownKernelThreads(); });

  it('trains as the float64 reference algorithm does, to float32 accuracy', () => {
    const data = blobs(11, 90, 7, 3);
    const params = { hidden: 5, epochs: 3, lr: 0.01, batch_size: 16, weight_decay: 0.05 };
    const s = mlp.fit(data, params, { seed: 4 }).state() as MlpState;
    const ours = Float64Array.from([...s.W1, ...s.b1, ...s.W2, ...s.b2]);
    const ref = referenceFit(data, 5, 3, 0.01, 16, 0.05, 4);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ours[i] - ref[i]));
    expect(worst).toBeLessThan(1e-6);
    // …and is not trivially close: training moved the weights well beyond that.
    const init = referenceFit(data, 5, 0, 0.01, 16, 0.05, 4);
    expect(Math.max(...ref.map((x, i) => Math.abs(x - init[i])))).toBeGreaterThan(1e-2);
  });

  it('gives the same bits on one kernel thread and on two, on products big enough to be split', () => {
    const data = blobs(12, 300, 64, 10);
    const params = { hidden: 128, epochs: 2, batch_size: 128 };
    const fit = (threads: number) => {
      setKernelThreads(threads);
      const m = mlp.fit(data, params, { seed: 3 });
      return { state: m.state() as MlpState, proba: m.predictProba(data.X, data.n) };
    };
    const one = fit(1), two = fit(2);
    expect(Array.from(two.state.W1)).toEqual(Array.from(one.state.W1));
    expect(Array.from(two.state.W2)).toEqual(Array.from(one.state.W2));
    expect(Array.from(two.proba)).toEqual(Array.from(one.proba));
  });
});
