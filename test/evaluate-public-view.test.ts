/**
 * publicView: what a participant sees of a result record while the challenge is open. No figure
 * of the private test rows may be in it: perturbing every private figure of a record leaves its
 * view unchanged, and no private or all-rows part is named in it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COARSE_CURVE_FRACTIONS, coarseCurve, publicView, type ResultRecord } from '../src/evaluate/record.ts';
import { evaluateFile } from '../src/evaluate/runner.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { writeTinyChallenge } from './fixtures/tiny-challenge.ts';

let dir: string;
let selection: ResultRecord;
let ranking: ResultRecord;
let fine: ResultRecord;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sieve-public-view-'));
  const sel = await writeTinyChallenge(dir, { name: 'tiny-select' });
  const rank = await writeTinyChallenge(dir, { name: 'tiny-rank', task: 'ranking' });
  const train = await readSplit(await openPool(join(sel.dir, 'pool')), 'train', { columns: [] });
  const ids = join(dir, 'ids.txt');
  await writeFile(ids, train.ids.slice(0, 100).join('\n') + '\n');
  const order = join(dir, 'order.txt');
  await writeFile(order, [...train.ids].reverse().join('\n') + '\n');
  selection = await evaluateFile(sel.dir, ids);
  ranking = await evaluateFile(rank.dir, order);
  // A point after every second fix, as fashion-debug has after every fix.
  const fineRank = await writeTinyChallenge(dir, { name: 'tiny-rank-fine', task: 'ranking', step: 2 });
  fine = await evaluateFile(fineRank.dir, order);
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Every number under `v`, each shifted, so any figure copied from it into a view would show. */
function perturb(v: unknown): unknown {
  if (typeof v === 'number') return v + 1000.5;
  if (Array.isArray(v)) return v.map(perturb);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, perturb(x)]));
  return v;
}

/** The record with every figure that involves a private test row changed. */
function withPrivateChanged(r: ResultRecord): ResultRecord {
  const out = structuredClone(r);
  out.private = perturb(out.private) as ResultRecord['private'];
  if (out.counts) for (const part of Object.keys(out.counts.parts)) if (part !== 'public') out.counts.parts[part] = perturb(out.counts.parts[part]) as never;
  if (out.curve) {
    for (const part of Object.keys(out.curve.parts)) if (part !== 'public') out.curve.parts[part] = perturb(out.curve.parts[part]) as never;
    // The record's own curve is over every test row.
    out.curve.accuracy = perturb(out.curve.accuracy) as number[];
    if (out.curve.per_seed) out.curve.per_seed = perturb(out.curve.per_seed) as number[][];
  }
  return out;
}

function keysIn(v: unknown, path = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => keysIn(x, `${path}[${i}]`));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => [`${path}.${k}`, ...keysIn(x, `${path}.${k}`)]);
  return [];
}

describe('publicView', () => {
  for (const which of ['selection', 'ranking'] as const) {
    it(`${which}: holds no figure of the private test rows while the challenge is open`, () => {
      const r = which === 'selection' ? selection : ranking;
      expect(r.private).not.toBeNull();
      const view = publicView(r);
      expect(view.private).toEqual({ hidden: true, until: null });
      expect(JSON.stringify(publicView(withPrivateChanged(r)))).toBe(JSON.stringify(view));
      const named = keysIn(view).filter((k) => /\.(private|all|all_metrics)(\.|\[|$)/.test(k) && k !== '.private' && k !== '.private.hidden' && k !== '.private.until');
      expect(named).toEqual([]);
      // What a participant may see is all still there.
      expect(view.metrics).toEqual(r.metrics);
      expect(view.replay).toEqual(r.replay);
      if (which === 'selection') expect(view.counts!.parts.public).toEqual(r.counts!.parts.public);
    });
  }

  it('ranking: the curve shown is the public rows\' curve, from their counts', () => {
    const view = publicView(ranking);
    const pub = ranking.curve!.parts.public;
    expect(view.curve!.k).toEqual(ranking.curve!.k);
    expect(view.curve!.accuracy).toHaveLength(ranking.curve!.k.length);
    for (let p = 0; p < view.curve!.k.length; p++) {
      expect(view.curve!.accuracy[p]).toBe(pub.reduce((s, c) => s + c.correct[p] / c.rows, 0) / pub.length);
    }
    expect(view.curve!.per_seed).toHaveLength(pub.length);
    expect(view.curve!.accuracy).not.toEqual(ranking.curve!.accuracy);
  });

  it('shows everything once the challenge has closed, or when asked', () => {
    const closed = { ...ranking, challenge: { ...ranking.challenge, closes: '2001-01-01' } };
    expect(publicView(closed)).toBe(closed);
    expect(publicView(ranking, { showPrivate: true })).toBe(ranking);
  });

  it('coarse curve (open challenges on a server): only the points at tenths of the pool, so consecutive fixes cannot be told apart', () => {
    const full = publicView(fine).curve!;
    const coarse = coarseCurve(full);
    expect(full.k.length).toBeGreaterThan(COARSE_CURVE_FRACTIONS.length);
    expect(coarse.k.length).toBeLessThanOrEqual(COARSE_CURVE_FRACTIONS.length);
    expect(coarse.k[0]).toBe(full.k[0]);
    expect(coarse.k.at(-1)).toBe(full.k.at(-1));
    // Every kept point is a point of the full curve, with its figures unchanged.
    for (let p = 0; p < coarse.k.length; p++) {
      const i = full.k.indexOf(coarse.k[p]);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(coarse.fraction[p]).toBe(full.fraction[i]);
      expect(coarse.accuracy[p]).toBe(full.accuracy[i]);
      for (const [part, seeds] of Object.entries(coarse.parts)) seeds.forEach((c, s) => expect(c.correct[p]).toBe(full.parts[part][s].correct[i]));
      if (coarse.per_seed) coarse.per_seed.forEach((a, s) => expect(a[p]).toBe(full.per_seed![s][i]));
    }
    // The attack it stops: with every point, a change between consecutive points names the fixed row.
    const gaps = coarse.k.slice(1).map((k, p) => k - coarse.k[p]);
    const step = full.k[1] - full.k[0];
    expect(Math.min(...gaps)).toBeGreaterThan(step);
    expect(coarseCurve(coarse)).toEqual(coarse);
  });
});
