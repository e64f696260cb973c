import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadChallenge } from '../src/challenge/load.ts';
import { loadEvalContext } from '../src/evaluate/context.ts';
import { runBaseline } from '../src/evaluate/baselines.ts';
import { evaluateFile } from '../src/evaluate/runner.ts';
import type { ResultRecord } from '../src/evaluate/record.ts';

const dir = mkdtempSync(join(tmpdir(), 'sieve-debug-mlp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const scores = (r: ResultRecord) => JSON.stringify({ metrics: r.metrics, private: r.private, curve: r.curve, primary: r.primary });

describe('fashion-debug-mlp: the ranking challenge with the MLP as its fixed model', () => {
  it('declares the MLP, three seeds and a 20-fix grid on the fashion-debug pool', async () => {
    const c = await loadChallenge('fashion-debug-mlp');
    expect(c).toMatchObject({ task: 'ranking', pool: 'fashion-debug', builtin: true });
    expect(c.model).toMatchObject({ kind: 'mlp', seeds: [0, 1, 2], preprocess: { pca: 64, standardize: true } });
    expect(c.model.params).toMatchObject({ hidden: 64, epochs: 20, weight_decay: 0.01 });
    expect(c.ranking!.step).toBe(20);
    expect(c.variants!.pools.length).toBeGreaterThanOrEqual(3);
  });

  it('scores a ranking on a cut-down copy (2 epochs, a grid of every 250th fix): noisy-first beats random, and repeats bit for bit', async () => {
    // The same spec with a short training and a coarse grid keeps this test to seconds; the
    // protocol, the pool and the model are the built-in challenge's.
    const cdir = join(dir, 'coarse');
    mkdirSync(cdir);
    const spec = readFileSync(join(import.meta.dirname, '..', 'challenges', 'fashion-debug-mlp', 'challenge.yaml'), 'utf8')
      .replace('name: fashion-debug-mlp', 'name: fashion-debug-mlp-coarse')
      .replace('epochs: 20,', 'epochs: 2,')
      .replace('seeds: [0, 1, 2]', 'seeds: [0, 1]')
      .replace('  step: 20', '  step: 250');
    expect(spec).toContain('step: 250');
    expect(spec).toContain('epochs: 2,');
    writeFileSync(join(cdir, 'challenge.yaml'), spec);
    const ctx = await loadEvalContext(cdir);
    const noisyFirst = [...ctx.train.ids.keys()].sort((a, b) => {
      const na = ctx.cleanLabels![a] !== ctx.train.labels[a] ? 0 : 1;
      const nb = ctx.cleanLabels![b] !== ctx.train.labels[b] ? 0 : 1;
      return na - nb || a - b;
    });
    const path = join(dir, 'ranking.txt');
    writeFileSync(path, noisyFirst.map((i) => ctx.train.ids[i]).join('\n'));
    const r = await evaluateFile(ctx.challenge, path, { context: ctx, bootstrapSamples: 100 });
    expect(r.challenge.name).toBe('fashion-debug-mlp-coarse');
    expect(r.seeds).toEqual([0, 1]);
    expect(r.curve!.k).toEqual([0, 250, 500, 750, 1000]);
    expect(r.ranking!.noisy_fixed).toBe(r.ranking!.noisy_rows);
    expect(r.metrics.final_accuracy.mean).toBe(r.metrics.clean_accuracy.mean);
    // The two seeds are different networks.
    expect(r.metrics.noisy_accuracy.per_seed![0]).not.toBe(r.metrics.noisy_accuracy.per_seed![1]);
    const random = await runBaseline(ctx, 'random-order', { bootstrapSamples: 100 });
    expect(r.metrics.auc.mean).toBeGreaterThan(random.metrics.auc.mean);
    const again = await evaluateFile(ctx.challenge, path, { context: ctx, bootstrapSamples: 100 });
    expect(scores(again)).toBe(scores(r));
  });
});
