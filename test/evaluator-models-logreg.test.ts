import { afterAll, describe, expect, it } from 'vitest';
import { Matrix, solve } from 'ml-matrix';
import { createRng } from '../compute/rng.ts';
import { logisticRegression, logRegObjective } from '../evaluator/models/logreg.ts';
import { LogisticEngine64 } from '../evaluator/kernels/logistic-engine.ts';
import { LogisticEngine32 } from '../evaluator/kernels/logistic-engine32.ts';
import { logisticLossGrad32, logisticLossGrad64 } from '../evaluator/kernels/logistic.ts';
import { setKernelThreads, shutdownKernelThreads } from '../compute/pool.ts';
import { getModel } from '../evaluator/models/registry.ts';
import { choleskyForNewton, choleskySolve, logRegHessian } from '../evaluator/models/logreg-newton.ts';
import type { Dataset } from '../evaluator/types.ts';

afterAll(async () => { await shutdownKernelThreads(); });

/** Gaussian blobs: class c centred at a random point, sparse-ish like pixels. */
function blobs(seed: number, n: number, d: number, k: number, spread = 1, zeroFrac = 0.3): Dataset {
  const r = createRng(seed);
  const centres = Array.from({ length: k }, () => Array.from({ length: d }, () => r.normal() * 2));
  const X = new Float32Array(n * d), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = r.int(k);
    y[i] = c;
    for (let j = 0; j < d; j++) X[i * d + j] = r.uniform() < zeroFrac ? 0 : centres[c][j] + spread * r.normal();
  }
  return { X, n, d, y, k };
}

/** The fit's float32 objective (logistic-engine32.ts). */
function objective(data: Dataset, l2: number, theta: Float64Array): { f: number; g: Float64Array } {
  const engine = new LogisticEngine32(data);
  const g = new Float64Array(theta.length);
  const f = logRegObjective(engine, l2, theta, g);
  engine.close();
  return { f, g };
}

/** The penalised objective and its gradient in plain float64 (no float32 anywhere). */
function objective64(data: Dataset, l2: number, theta: Float64Array): { f: number; g: Float64Array } {
  const { X, n, d, y, k } = data;
  const g = new Float64Array(theta.length);
  let f = 0;
  const z = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) { z[c] = theta[d * k + c]; for (let j = 0; j < d; j++) z[c] += X[i * d + j] * theta[j * k + c]; }
    const m = Math.max(...z);
    let s = 0;
    for (let c = 0; c < k; c++) s += Math.exp(z[c] - m);
    f += Math.log(s) + m - z[y[i]];
    for (let c = 0; c < k; c++) {
      const r = Math.exp(z[c] - m) / s - (c === y[i] ? 1 : 0);
      for (let j = 0; j < d; j++) g[j * k + c] += X[i * d + j] * r;
      g[d * k + c] += r;
    }
  }
  for (let q = 0; q < d * k; q++) { f += 0.5 * l2 * theta[q] ** 2; g[q] += l2 * theta[q]; }
  return { f, g };
}

describe('logistic regression objective and kernel', () => {
  it('matches a hand-computed loss and gradient', () => {
    // One row x = 2, label 0, two classes, all parameters zero: p = (½, ½),
    // loss = ln 2, ∂/∂W = x·(p − onehot) = (−1, 1), ∂/∂b = (−½, ½) (all exact in float32).
    const data: Dataset = { X: new Float32Array([2]), n: 1, d: 1, y: new Int32Array([0]), k: 2 };
    const { f, g } = objective(data, 1, new Float64Array(4));
    expect(f).toBeCloseTo(Math.LN2, 15);
    expect(Array.from(g)).toEqual([-1, 1, -0.5, 0.5]);
    // With W = (1, −1), b = 0 the penalty ½·1·‖W‖² = 1 adds l2·W to the gradient; the
    // residuals are float32, so the gradient agrees to float32 precision.
    const { f: f2, g: g2 } = objective(data, 1, new Float64Array([1, -1, 0, 0]));
    const p0 = 1 / (1 + Math.exp(-4));
    expect(f2).toBeCloseTo(-Math.log(p0) + 1, 12);
    expect(g2[0]).toBeCloseTo(2 * (p0 - 1) + 1, 7);
    expect(g2[1]).toBeCloseTo(2 * (1 - p0) - 1, 7);
  });

  it('agrees with the float64 objective and its central finite differences', () => {
    const data = blobs(3, 40, 5, 3);
    const r = createRng(9);
    const theta = new Float64Array(5 * 3 + 3).map(() => r.normal() * 0.5);
    const { f, g } = objective(data, 0.7, theta);
    const ref = objective64(data, 0.7, theta);
    expect(Math.abs(f - ref.f)).toBeLessThan(1e-6 * ref.f);
    const h = 1e-6;
    for (let i = 0; i < theta.length; i++) {
      const tp = theta.slice(), tm = theta.slice();
      tp[i] += h; tm[i] -= h;
      const fd = (objective64(data, 0.7, tp).f - objective64(data, 0.7, tm).f) / (2 * h);
      expect(Math.abs(fd - ref.g[i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(ref.g[i])));
      // float32 logits, weights and residuals: within a few float32 roundings of each term.
      expect(Math.abs(g[i] - ref.g[i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(ref.g[i])));
    }
  });

  it('wasm tile kernels (listed and dense) are bit-identical to the scalar statement of their arithmetic', () => {
    // Shapes: rows not a multiple of any tile, one input, 1-, 2-, 3- and 4+3-vector class
    // groups (k = 3, 7, 10, 25), one row block and several (BLOCK_ROWS = 256).
    // 4,500 rows: the data is packed a chunk of 4,096 rows at a time, with a partial last chunk.
    const cases: [number, number, number, number][] = [[1, 1, 2, 0], [37, 5, 3, 0.8], [500, 17, 7, 0], [777, 30, 10, 0.95], [300, 9, 13, 0.5], [601, 12, 25, 0], [600, 64, 2, 0.99], [4500, 6, 5, 0.3]];
    for (const [n, d, k, zeroFrac] of cases) {
      const data = blobs(n + d, n, d, k, 1, zeroFrac);
      const r = createRng(5);
      const theta = new Float64Array(d * k + k).map(() => r.normal() * 0.3);
      const gRef = new Float64Array(theta.length), gW = new Float64Array(theta.length);
      const lRef = logisticLossGrad32(data, theta, gRef);
      const engine = new LogisticEngine32(data);
      // Dense data: one run of inputs per tile; mostly zeros: many runs, a fraction of the inputs visited.
      const tiles = engine.layout.np / engine.layout.tile;
      if (zeroFrac === 0) expect(engine.layout.runs).toBe(tiles);
      if (zeroFrac >= 0.8 && d >= 9) expect(engine.layout.visits).toBeLessThan(0.9 * tiles * (d + 1));
      if (zeroFrac >= 0.8 && d >= 9) expect(engine.layout.runs).toBeGreaterThan(tiles);
      const lW = engine.lossGrad(theta, gW);
      engine.close();
      expect(lW).toBe(lRef);
      expect(Array.from(gW)).toEqual(Array.from(gRef));
      // The scalar statement is the float64 objective up to float32 rounding.
      const ref = objective64(data, 0, theta);
      expect(Math.abs(lW - ref.f)).toBeLessThan(1e-5 * ref.f);
    }
    // The float64 kernels (the fit's last iterations), sparse and dense, within one chunk.
    for (const zeroFrac of [0.8, 0]) {
      const data = blobs(4, 200, 17, 7, 1, zeroFrac);
      const r = createRng(5);
      const theta = new Float64Array(17 * 7 + 7).map(() => r.normal() * 0.3);
      const gRef = new Float64Array(theta.length), gW = new Float64Array(theta.length);
      const lRef = logisticLossGrad64(data, theta, gRef);
      const engine = new LogisticEngine64(data);
      expect(engine.layout.dense).toBe(zeroFrac === 0);
      const lW = engine.lossGrad(theta, gW);
      engine.close();
      expect(lW).toBe(lRef);
      expect(Array.from(gW)).toEqual(Array.from(gRef));
    }
    // Probabilities from the (float64) prediction kernel match the scalar softmax of the same logits.
    const data = blobs(4, 500, 17, 7, 1, 0.8);
    const r = createRng(5);
    const theta = new Float64Array(17 * 7 + 7).map(() => r.normal() * 0.3);
    const m = logisticRegression.restore({ kind: 'logistic-regression', d: 17, k: 7, weights: theta.slice(0, 119), intercepts: theta.slice(119) }, 7, 17);
    const P = m.predictProba(data.X, data.n);
    const z = new Float64Array(7);
    for (let i = 0; i < 20; i++) {
      for (let c = 0; c < 7; c++) { z[c] = theta[119 + c]; for (let j = 0; j < 17; j++) z[c] += data.X[i * 17 + j] * theta[j * 7 + c]; }
      const mx = Math.max(...z);
      const e = Array.from(z, (v) => Math.exp(v - mx));
      const s = e.reduce((a, b) => a + b, 0);
      for (let c = 0; c < 7; c++) expect(P[i * 7 + c]).toBeCloseTo(e[c] / s, 6);
    }
  });

  it('gives bit-identical results with 1 or 2 threads, and splits even a 1,000-row fit', () => {
    for (const [n, d, zeroFrac] of [[9000, 30, 0.3], [1000, 784, 0]] as const) {
      const data = blobs(6, n, d, 10, 1, zeroFrac);
      const engine = new LogisticEngine32(data);
      // A task per block of 256 rows (up to 256 tasks), so a 1,000-row fit is 4 tasks: the
      // second thread has work whatever n is.
      expect(engine.tasks.fit).toBe(Math.ceil(n / 256));
      expect(engine.tasks.reduce).toBeGreaterThan(8);
      engine.close();
      // The float64 engine's fixed chunks: a 1,000-row gradient is 4 tasks, same bits on 1 or 2 threads.
      const theta = new Float64Array((d + 1) * 10).map((_, i) => Math.sin(i) * 0.1);
      const grads = [1, 2].map((threads) => {
        setKernelThreads(threads);
        const e64 = new LogisticEngine64(data);
        const g = new Float64Array(theta.length);
        try { return [e64.lossGrad(theta, g), ...g]; } finally { e64.close(); setKernelThreads(1); }
      });
      expect(grads[1]).toEqual(grads[0]);
      const fit = (threads: number) => {
        setKernelThreads(threads);
        try { return logisticRegression.fit(data, { l2: 1, max_iter: 15 }, { seed: 0 }); } finally { setKernelThreads(1); }
      };
      const a = fit(1), b = fit(2);
      expect(b.iterations).toBe(a.iterations);
      const sa = a.state() as any, sb = b.state() as any;
      expect(Array.from(sb.weights)).toEqual(Array.from(sa.weights));
      expect(Array.from(sb.intercepts)).toEqual(Array.from(sa.intercepts));
    }
  });
});

describe('Hessian for preconditioning', () => {
  it('matches finite differences of the gradient', () => {
    const data = blobs(12, 60, 3, 3, 1, 0);
    const r = createRng(2);
    const theta = new Float64Array(4 * 3).map(() => r.normal() * 0.4);
    const H = logRegHessian(data.X, data.n, data.d, data.k, theta, 0.5);
    const P = 12, h = 1e-5;
    for (let j = 0; j < P; j++) {
      const tp = theta.slice(), tm = theta.slice();
      tp[j] += h; tm[j] -= h;
      const gp = objective64(data, 0.5, tp).g, gm = objective64(data, 0.5, tm).g;
      for (let i = 0; i < P; i++) expect(H[i * P + j]).toBeCloseTo((gp[i] - gm[i]) / (2 * h), 3);
    }
    // Its Cholesky solve inverts it (up to the tiny ridges).
    const L = choleskyForNewton(H, P, data.d, data.k)!;
    const q = new Float64Array(P).map((_, i) => (i < 9 ? Math.sin(i) : 0));
    const x = new Float64Array(P);
    choleskySolve(L, P, q, x);
    for (let i = 0; i < 9; i++) {
      let s = 0;
      for (let j = 0; j < P; j++) s += H[i * P + j] * x[j];
      expect(s).toBeCloseTo(q[i], 3);
    }
  });
});

describe('logistic regression fit', () => {
  it('separates a separable problem and decreases the loss at every iteration', () => {
    const data = blobs(1, 300, 8, 4, 0.3, 0);
    const m = logisticRegression.fitWithInfo(data, { l2: 0.1, max_iter: 200 }, {});
    const P = m.predictProba(data.X, data.n);
    let correct = 0;
    for (let i = 0; i < data.n; i++) {
      let best = 0;
      for (let c = 1; c < 4; c++) if (P[i * 4 + c] > P[i * 4 + best]) best = c;
      if (best === data.y[i]) correct++;
    }
    expect(correct).toBe(data.n);
    const trace = m.info!.trace;
    for (let i = 1; i < trace.length; i++) expect(trace[i]).toBeLessThan(trace[i - 1]);
    for (let i = 0; i < data.n; i++) {
      let s = 0;
      for (let c = 0; c < 4; c++) s += P[i * 4 + c];
      expect(s).toBeCloseTo(1, 6);
    }
  });

  it('converges to max |gradient| <= tol', () => {
    const data = blobs(2, 400, 6, 3, 2);
    const m = logisticRegression.fitWithInfo(data, { l2: 1, max_iter: 500, tol: 1e-5 }, {});
    expect(m.info!.stop).toBe('gradient');
    expect(m.info!.gradMax).toBeLessThanOrEqual(1e-5);
    // Decided on the float64 gradient (the fit's last iterations run in float64).
    const { g } = objective64(data, 1, (m as any).theta);
    for (const v of g) expect(Math.abs(v)).toBeLessThanOrEqual(1e-5);
  });

  it('matches Newton\'s method on a two-class problem', () => {
    // Two-class softmax with penalty ½·l2·‖W‖² has w0 = −w1 at the optimum, so it equals
    // binary logistic regression on w = w1 − w0 with penalty ½·(l2/2)·‖w‖².
    const d = 4, n = 200, l2 = 2;
    const data = blobs(8, n, d, 2, 2.5, 0);
    const m = logisticRegression.fitWithInfo(data, { l2, max_iter: 500, tol: 1e-9 }, {});
    let w = new Float64Array(d + 1); // last = intercept
    for (let step = 0; step < 25; step++) {
      const g = new Float64Array(d + 1);
      const H = Matrix.zeros(d + 1, d + 1);
      for (let i = 0; i < n; i++) {
        const x = [...Array.from(data.X.subarray(i * d, i * d + d)), 1];
        let z = 0;
        for (let j = 0; j <= d; j++) z += x[j] * w[j];
        const p = 1 / (1 + Math.exp(-z));
        const t = data.y[i] === 1 ? 1 : 0;
        for (let a = 0; a <= d; a++) {
          g[a] += (p - t) * x[a];
          for (let b = 0; b <= d; b++) H.set(a, b, H.get(a, b) + p * (1 - p) * x[a] * x[b]);
        }
      }
      for (let j = 0; j < d; j++) { g[j] += (l2 / 2) * w[j]; H.set(j, j, H.get(j, j) + l2 / 2); }
      const delta = solve(H, Matrix.columnVector(Array.from(g))).getColumn(0);
      w = w.map((v, j) => v - delta[j]);
    }
    const st = m.state() as any;
    for (let j = 0; j < d; j++) expect(st.weights[j * 2 + 1] - st.weights[j * 2]).toBeCloseTo(w[j], 6);
    expect(st.intercepts[1] - st.intercepts[0]).toBeCloseTo(w[d], 6);
  });

  it('warm start from the optimum stops within 2 iterations; after a label flip the Hessian-preconditioned refit needs a few', () => {
    const data = blobs(5, 600, 10, 4, 1.5);
    const params = { l2: 1, max_iter: 300, tol: 1e-5 };
    const cold = logisticRegression.fitWithInfo(data, params, {});
    expect(cold.info!.stop).toBe('gradient');
    const again = logisticRegression.fitWithInfo(data, params, { warmStart: cold.state() });
    expect(again.iterations).toBeLessThanOrEqual(2);

    const y2 = data.y.slice();
    y2[17] = (y2[17] + 1) % 4;
    const flipped = { ...data, y: y2 };
    const cold2 = logisticRegression.fitWithInfo(flipped, params, {});
    const warm2 = logisticRegression.fitWithInfo(flipped, params, { warmStart: cold.state() });
    expect(warm2.info!.stop).toBe('gradient');
    expect(warm2.info!.preconditioned).toBe(true);
    expect(warm2.info!.hessianComputed).toBe(true);
    expect(warm2.iterations).toBeLessThanOrEqual(8);
    expect(cold2.iterations).toBeGreaterThan(3 * warm2.iterations);
    expect(warm2.info!.objective).toBeCloseTo(cold2.info!.objective, 6);
    // The next warm fit reuses the factor instead of recomputing it.
    const y3 = y2.slice();
    y3[40] = (y3[40] + 2) % 4;
    const warm3 = logisticRegression.fitWithInfo({ ...data, y: y3 }, params, { warmStart: warm2.state() });
    expect(warm3.info!.preconditioned).toBe(true);
    expect(warm3.info!.hessianComputed).toBe(false);
    expect(warm3.info!.stop).toBe('gradient');
    // Without preconditioning, plain L-BFGS from the same start takes many more steps.
    const plain = logisticRegression.fitWithInfo(flipped, { ...params, precondition: false }, { warmStart: cold.state() });
    expect(plain.info!.preconditioned).toBe(false);
    expect(plain.iterations).toBeGreaterThan(2 * warm2.iterations);
    expect(plain.info!.objective).toBeCloseTo(cold2.info!.objective, 6);
  });

  it('fits a pool of hundreds of classes (its generated kernel, ~0.5 MB at 800, once overflowed the call stack)', () => {
    const data = blobs(11, 600, 4, 300);
    const m = logisticRegression.fit(data, { max_iter: 5 }, { seed: 0 });
    const p = m.predictProba(data.X, data.n);
    expect(p).toHaveLength(600 * 300);
    let sum = 0;
    for (let j = 0; j < 300; j++) sum += p[j];
    expect(sum).toBeCloseTo(1, 5);
  });

  it('is deterministic and restores from state to identical predictions', () => {
    const data = blobs(7, 300, 12, 3);
    const a = logisticRegression.fit(data, { max_iter: 30 }, { seed: 1 });
    const b = logisticRegression.fit(data, { max_iter: 30 }, { seed: 2 });
    const pa = a.predictProba(data.X, data.n);
    expect(Array.from(b.predictProba(data.X, data.n))).toEqual(Array.from(pa));
    const restored = getModel('logistic-regression').restore(structuredClone(a.state()), 3, 12);
    expect(Array.from(restored.predictProba(data.X, data.n))).toEqual(Array.from(pa));
  });

  it('rejects unknown parameters, bad values, bad labels and mismatched warm starts', () => {
    const data = blobs(7, 50, 3, 3);
    expect(() => logisticRegression.fit(data, { C: 1 }, { seed: 0 })).toThrow(/unknown parameter\(s\) C/);
    expect(() => logisticRegression.fit(data, { l2: -1 }, { seed: 0 })).toThrow(/'l2' must be >= 0, got -1/);
    expect(() => logisticRegression.fit(data, { max_iter: 2.5 }, { seed: 0 })).toThrow(/integer/);
    const bad = { ...data, y: data.y.map((v, i) => (i === 4 ? 7 : v)) };
    expect(() => logisticRegression.fit(bad, {}, { seed: 0 })).toThrow(/row 4: 7/);
    const other = logisticRegression.fit(blobs(1, 50, 4, 3), { max_iter: 3 }, { seed: 0 });
    expect(() => logisticRegression.fit(data, {}, { seed: 0, warmStart: other.state() })).toThrow(/d=4/);
  });
});
