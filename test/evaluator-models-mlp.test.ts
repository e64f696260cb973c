import { describe, expect, it } from 'vitest';
import { createRng } from '../compute/rng.ts';
import { mlp } from '../evaluator/models/mlp.ts';
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
    const m = mlp.fit(train, { hidden: 16, epochs: 60, lr: 0.01, batch_size: 32, l2: 0 }, { seed: 0 });
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
