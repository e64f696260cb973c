/**
 * Seedless models: a model that declares `seedless` must really give the same fit for every
 * seed (so fitting once and reporting it per seed changes nothing), and one that does not
 * declare it must really differ by seed.
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '../compute/rng.ts';
import { getModel } from '../evaluator/models/registry.ts';
import { evaluateSelection } from '../evaluator/index.ts';
import type { Dataset } from '../evaluator/types.ts';

function blobs(n: number, d: number, k: number, seed: number): Dataset {
  const rng = createRng(seed);
  const X = new Float32Array(n * d), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % k;
    for (let j = 0; j < d; j++) X[i * d + j] = rng.normal() + (j % k === y[i] ? 1.5 : 0);
  }
  return { X, n, d, y, k };
}

describe('seedless models', () => {
  const train = blobs(300, 8, 3, 1);
  const test = blobs(120, 8, 3, 2);

  it('logistic regression and kNN give bit-identical fits for different seeds; the MLP does not', () => {
    const params = { 'logistic-regression': { l2: 1, max_iter: 50 }, knn: { k: 5 }, mlp: { hidden: 8, epochs: 3 } } as const;
    for (const kind of ['logistic-regression', 'knn', 'mlp'] as const) {
      const model = getModel(kind);
      const a = model.fit(train, params[kind], { seed: 0 }).predictProba(test.X, test.n);
      const b = model.fit(train, params[kind], { seed: 12345 }).predictProba(test.X, test.n);
      const same = a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
      expect(same, kind).toBe(model.seedless);
    }
  });

  it('a seedless model is fitted once and reported for every seed, with the same metrics as separate fits', async () => {
    const subset = Int32Array.from({ length: 150 }, (_, i) => i * 2);
    const base = { pool: train, subset, test, bootstrap: { samples: 50, seed: 0 } };
    const spec = { kind: 'logistic-regression' as const, params: { l2: 1, max_iter: 50 }, seeds: [0, 1, 2] };
    const out = await evaluateSelection({ ...base, spec });
    expect(out.fits.map((f) => f.seed)).toEqual([0, 1, 2]);
    expect(out.fits.filter((f) => f.seconds > 0).length).toBeLessThanOrEqual(1);
    const acc = out.metrics.accuracy;
    expect(acc.per_seed).toEqual([acc.per_seed[0], acc.per_seed[0], acc.per_seed[0]]);
    expect(acc.std).toBe(0);
    const single = await evaluateSelection({ ...base, spec: { ...spec, seeds: [2] } });
    expect(single.metrics.accuracy.per_seed[0]).toBe(acc.per_seed[0]);
  });
});
