import { describe, expect, it } from 'vitest';
import { acquire } from '../compute/arena.ts';
import { kernelFor } from '../compute/pool.ts';
import { createRng } from '../compute/rng.ts';
import { lbfgsWasmModule, type LbfgsExports } from '../evaluator/kernels/lbfgs-wasm.ts';
import { lbfgs } from '../evaluator/models/lbfgs.ts';

/** The plain loops the kernels stand for (what lbfgs.ts ran before they moved to wasm). */
const plain = {
  dot(a: Float64Array, b: Float64Array): number {
    let s0 = 0, s1 = 0, i = 0;
    for (; i + 1 < a.length; i += 2) { s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1]; }
    if (i < a.length) s0 += a[i] * b[i];
    return s0 + s1;
  },
  maxAbs(a: Float64Array): number {
    let m = 0;
    for (let i = 0; i < a.length; i++) { const v = Math.abs(a[i]); if (v > m) m = v; }
    return m;
  },
};

const bits = (a: ArrayLike<number>) => Array.from(new Uint8Array(Float64Array.from(a).buffer));

describe('L-BFGS vector kernels (evaluator/kernels/lbfgs-wasm.ts)', () => {
  it('give the bits of the plain loops, for even and odd lengths, signed zeros and NaN', () => {
    const K = kernelFor<LbfgsExports>(lbfgsWasmModule()).exports;
    const rng = createRng(7);
    for (const n of [1, 2, 3, 7, 64, 785, 7850]) {
      const region = acquire(8 * 4 * (n + 2));
      try {
        const buf = region.buffer();
        const at = (q: number) => region.base + q * 8 * (n + 2);
        const [a, b, y, out] = [0, 1, 2, 3].map((q) => new Float64Array(buf, at(q), n));
        for (let i = 0; i < n; i++) {
          a[i] = rng.normal() * 10 ** Math.floor(rng.uniform() * 8 - 4);
          b[i] = i % 5 === 0 ? -0 : rng.normal();
        }
        if (n > 3) { a[n - 2] = NaN; b[1] = 0; }
        const alpha = -0.3 + rng.uniform();
        expect(Object.is(K.dot(at(0), at(1), n), plain.dot(a, b))).toBe(true);
        expect(Object.is(K.maxabs(at(0), n), plain.maxAbs(a))).toBe(true);
        y.set(b);
        K.axpy(at(2), alpha, at(0), n);
        expect(bits(y)).toEqual(bits(Array.from(b, (v, i) => v + alpha * a[i])));
        y.set(b);
        K.axpy(at(2), -alpha, at(0), n); // how lbfgs writes dir -= a·y
        expect(bits(y)).toEqual(bits(Array.from(b, (v, i) => v - alpha * a[i])));
        y.set(b);
        K.scale(at(2), alpha, n);
        expect(bits(y)).toEqual(bits(Array.from(b, (v) => v * alpha)));
        K.neg(at(3), at(1), n);
        expect(bits(out)).toEqual(bits(Array.from(b, (v) => -v)));
        K.step(at(3), at(1), alpha, at(0), n);
        expect(bits(out)).toEqual(bits(Array.from(b, (v, i) => v + alpha * a[i])));
        K.diff(at(3), at(0), at(1), n);
        expect(bits(out)).toEqual(bits(Array.from(a, (v, i) => v - b[i])));
      } finally {
        region.release();
      }
    }
  });

  it('lbfgs hands the objective views it may use and returns copies that outlive them', () => {
    // f(x) = Σ c_i (x_i − 1)² on an odd length; the minimum is x = 1.
    const n = 33;
    const c = Float64Array.from({ length: n }, (_, i) => 1 + (i % 4));
    let seen: Float64Array | null = null;
    const res = lbfgs((x, g) => {
      seen = x;
      let f = 0;
      for (let i = 0; i < n; i++) { const d = x[i] - 1; f += c[i] * d * d; g[i] = 2 * c[i] * d; }
      return f;
    }, new Float64Array(n), { tol: 1e-10, maxIter: 200 });
    expect(['gradient', 'ftol']).toContain(res.stop);
    for (const v of res.x) expect(v).toBeCloseTo(1, 9);
    expect(res.x.buffer).not.toBe(seen!.buffer);
    expect(res.x.buffer instanceof SharedArrayBuffer).toBe(false);
    for (const p of res.pairs.s) expect(p.buffer instanceof SharedArrayBuffer).toBe(false);
    // The memory is reused by the next run; the first result keeps its values.
    const copy = res.x.slice();
    lbfgs((x, g) => { let f = 0; for (let i = 0; i < n; i++) { f += x[i] * x[i]; g[i] = 2 * x[i]; } return f; }, new Float64Array(n).fill(3), { tol: 1e-10, maxIter: 50 });
    expect(Array.from(res.x)).toEqual(Array.from(copy));
  });
});
