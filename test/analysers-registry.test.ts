/**
 * Every registered analyser honours the contract on a real built-in pool: a plain-language
 * verdict, a severity, flat figures, findings with ids from the pool, plain-value tables, and
 * plots whose Vega-Lite specs render offline to SVG with their data inlined.
 */
import { describe, it, expect } from 'vitest';
import { openPool, readSplit } from '../src/pool/read.ts';
import { readHiddenSplit } from '../src/pool/hidden.ts';
import { analysers, getAnalyser } from '../src/analysers/registry.ts';
import { renderVegaLite } from '../src/report/plots.ts';
import { makeContext } from './analysers-helpers.ts';
import { SieveError } from '../src/util/errors.ts';

describe('analyser registry', () => {
  it('names are unique kebab-case and resolvable', () => {
    const names = analysers.map((a) => a.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) {
      expect(n).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(getAnalyser(n).name).toBe(n);
    }
    expect(() => getAnalyser('nope')).toThrow(SieveError);
  });

  it('every analyser returns a well-formed result on german-credit (with its test split)', async () => {
    const pool = await openPool('german-credit');
    const train = await readSplit(pool, 'train');
    const test = await readHiddenSplit(pool, 'test');
    const ctx = makeContext(train, { test });
    const ids = new Set(train.ids);
    for (const a of analysers) {
      const r = await a.run(ctx, a.defaults);
      expect(r.name).toBe(a.name);
      expect(r.summary.verdict.length, a.name).toBeGreaterThan(20);
      expect(['ok', 'info', 'warning', 'problem']).toContain(r.summary.severity);
      for (const v of Object.values(r.summary.figures)) expect(['number', 'string'].includes(typeof v) || v === null).toBe(true);
      for (const f of r.findings) {
        expect(ids.has(f.id), `${a.name}: ${f.id}`).toBe(true);
        expect(Number.isFinite(f.score)).toBe(true);
        for (const v of Object.values(f.detail)) expect(['number', 'string', 'boolean'].includes(typeof v) || v === null).toBe(true);
      }
      for (const t of r.tables) {
        expect(t.name).toMatch(/^[a-z_]+$/);
        for (const row of t.rows) for (const v of Object.values(row)) expect(['number', 'string', 'boolean'].includes(typeof v) || v === null).toBe(true);
      }
      for (const p of r.plots) {
        const json = JSON.stringify(p.vegaLite);
        expect(json.length, `${a.name}: ${p.title}`).toBeLessThan(200_000);
        const svg = await renderVegaLite(p.vegaLite);
        expect(svg.svg, `${a.name}: ${p.title}`).toMatch(/^<svg/);
      }
      expect(r.seconds).toBeGreaterThanOrEqual(0);
    }
  }, 120_000);

  it('same inputs and seed give identical results', async () => {
    const train = await readSplit(await openPool('synth-teach'), 'train');
    const strip = (r: { seconds: number }) => JSON.stringify({ ...r, seconds: 0 });
    for (const a of analysers) {
      const one = await a.run(makeContext(train), a.defaults);
      const two = await a.run(makeContext(await readSplit(await openPool('synth-teach'), 'train')), a.defaults);
      expect(strip(two), a.name).toBe(strip(one));
    }
  }, 120_000);
});

describe('out-of-sample predictions', () => {
  it('folds in the worker pool give bit-identical probabilities to folds on this thread', async () => {
    const { computeOosPredictions, defaultOosModel } = await import('../src/analysers/oos.ts');
    const train = await readSplit(await openPool('synth-teach'), 'train');
    const model = defaultOosModel('logistic-regression', 'embedding', 0);
    const here = await computeOosPredictions(train, { model, folds: 5, seed: 0, threads: 1 });
    const pool = await computeOosPredictions(train, { model, folds: 5, seed: 0, threads: 2 });
    expect(Buffer.from(pool.proba.buffer).equals(Buffer.from(here.proba.buffer))).toBe(true);
    // Every row was predicted (rows sum to 1) by a model that did not see it.
    for (let i = 0; i < train.n; i += 97) {
      let s = 0;
      for (let c = 0; c < here.k; c++) s += here.proba[i * here.k + c];
      expect(s).toBeCloseTo(1, 5);
    }
  }, 60_000);

  it('rejects impossible fold counts precisely', async () => {
    const { computeOosPredictions, defaultOosModel } = await import('../src/analysers/oos.ts');
    const train = await readSplit(await openPool('german-credit'), 'train');
    const model = defaultOosModel('logistic-regression', 'tabular', 0);
    await expect(computeOosPredictions(train, { model, folds: 1, seed: 0 })).rejects.toThrow(SieveError);
    expect(() => defaultOosModel('forest', 'tabular', 0)).toThrow(/unknown model "forest"/);
  });
});
