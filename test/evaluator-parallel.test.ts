import { describe, expect, it } from 'vitest';
import { createRng } from '../compute/rng.ts';
import { runFit, runFits, type FitJob } from '../evaluator/parallel.ts';
import { fitPreprocessor } from '../evaluator/preprocess.ts';
import type { Dataset } from '../evaluator/types.ts';
import { ModelSpecError } from '../evaluator/errors.ts';

function data(seed: number, n: number, d: number, k: number): Dataset {
  const r = createRng(seed);
  const centres = Array.from({ length: k }, () => Array.from({ length: d }, () => 2 * r.normal()));
  const X = new Float32Array(n * d), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = r.int(k);
    for (let j = 0; j < d; j++) X[i * d + j] = r.uniform() < 0.3 ? 0 : centres[y[i]][j] + r.normal();
  }
  return { X, n, d, y, k };
}

describe('parallel fits', () => {
  it('gives results bit-identical to the calling thread, in job order', async () => {
    const train = data(1, 3000, 20, 4);
    const test = data(2, 500, 20, 4);
    const jobs: FitJob[] = [
      { kind: 'logistic-regression', params: { max_iter: 40 }, train, evals: [{ X: test.X, n: test.n }], seed: 0, returnState: true },
      { kind: 'mlp', params: { hidden: 16, epochs: 3 }, train, evals: [{ X: test.X, n: test.n }, { X: train.X, n: train.n }], seed: 1 },
      { kind: 'mlp', params: { hidden: 16, epochs: 3 }, train, evals: [{ X: test.X, n: test.n }], seed: 2 },
      { kind: 'knn', params: { k: 7, metric: 'cosine' }, train, evals: [{ X: test.X, n: test.n }], seed: 0 },
    ];
    const done: number[] = [];
    const par = await runFits(jobs, { threads: 2, onDone: (i) => done.push(i) });
    expect(done.slice().sort()).toEqual([0, 1, 2, 3]);
    for (let j = 0; j < jobs.length; j++) {
      const ref = runFit(jobs[j]);
      expect(par[j].iterations).toBe(ref.iterations);
      expect(par[j].proba.length).toBe(ref.proba.length);
      for (let e = 0; e < ref.proba.length; e++) expect(Array.from(par[j].proba[e])).toEqual(Array.from(ref.proba[e]));
    }
    // Different seeds really are different fits.
    expect(Array.from(par[1].proba[0])).not.toEqual(Array.from(par[2].proba[0]));
    // States come back usable for warm starts.
    const st = par[0].state as { kind: string; weights: Float64Array };
    expect(st.kind).toBe('logistic-regression');
    expect(st.weights).toBeInstanceOf(Float64Array);
    const warm = runFit({ ...jobs[0], warmStart: par[0].state, params: { max_iter: 40 } });
    expect(warm.iterations).toBeLessThanOrEqual(40);
  });

  it('applies a shipped preprocessor in the worker exactly as on the main thread', async () => {
    const train = data(3, 800, 30, 3);
    const test = data(4, 200, 30, 3);
    const pre = fitPreprocessor({ pca: 8, standardize: true }, train.X, train.n, train.d);
    const job: FitJob = { kind: 'logistic-regression', params: {}, train, evals: [{ X: test.X, n: test.n }], seed: 0, preprocessor: pre.toJSON() };
    const [viaWorker] = await runFits([job, job], { threads: 2 });
    const mainThread = runFit({
      ...job, preprocessor: undefined,
      train: { ...train, X: pre.transform(train.X, train.n), d: 8 },
      evals: [{ X: pre.transform(test.X, test.n), n: test.n }],
    });
    expect(Array.from(viaWorker.proba[0])).toEqual(Array.from(mainThread.proba[0]));
  });

  it('reports a job that fails in a worker with its index and model', async () => {
    const train = data(5, 50, 4, 2);
    // Job 1's eval matrix has the wrong width: it fails inside the worker, at prediction.
    const bad: FitJob = { kind: 'knn', params: { k: 3 }, train, seed: 0, evals: [{ X: new Float32Array(7), n: 2 }] };
    await expect(runFits([{ kind: 'knn', params: { k: 3 }, train, seed: 0 }, bad], { threads: 2 }))
      .rejects.toThrow(/fit job 1 \(knn, seed 0\) failed in a worker: knn: queries have 7 values, expected 2×4/);
  });

  it('rejects a bad parameter on the calling thread, before any worker starts', async () => {
    const train = data(5, 50, 4, 2);
    const bad: FitJob = { kind: 'knn', params: { k: -1 }, train, seed: 0 };
    const err = await runFits([{ ...bad, params: { k: 3 } }, bad], { threads: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelSpecError);
    expect(String(err)).toMatch(/knn: parameter 'k' must be >= 1/);
    expect(String(err)).not.toMatch(/worker/);
  });
});
