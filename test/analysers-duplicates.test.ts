/**
 * Duplicates and leakage against ground truth: planted exact and near duplicate pairs of a
 * synthetic pool (some across train/test), plus a hand-made pool for conflicts and clusters.
 */
import { describe, it, expect } from 'vitest';
import { generateSynthPool, synthClassNames } from '../src/pool/synth.ts';
import { duplicates, analyseDuplicates } from '../src/analysers/duplicates.ts';
import { exactGroups, hashBytes, rowContent, UnionFind } from '../src/analysers/duplicate-search.ts';
import { createRng } from '../evaluator/rng.ts';
import { makeContext, makeSplit, splitFromTable } from './analysers-helpers.ts';

describe('duplicates on a synthetic pool with planted pairs', () => {
  const p = generateSynthPool({ rows: 5000, dim: 32, classes: 5, noise: 0.15, exactDups: 40, nearDups: 60, crossSplitFraction: 0.25, seed: 1 });
  const names = synthClassNames(5);
  const train = splitFromTable(p.train, names, 'train');
  const test = splitFromTable(p.test, names, 'test');
  const col = (i: number) => (p.duplicates.columns[i] as { values: any }).values;
  const truth = Array.from({ length: p.duplicates.n }, (_, i) => ({ a: col(0)[i] as string, b: col(1)[i] as string, kind: col(2)[i] as string, cross: col(3)[i] === 1 }));

  it('finds every planted pair inside train, and nothing else', async () => {
    const r = await duplicates.run(makeContext(train, { test }), duplicates.defaults);
    const clusters = r.tables.find((t) => t.name === 'duplicate_clusters')!.rows;
    const found = new Set<string>();
    for (const c of clusters) {
      const ids = String(c.member_ids).split(' ');
      for (let x = 0; x < ids.length; x++) for (let y = x + 1; y < ids.length; y++) found.add([ids[x], ids[y]].sort().join('|'));
    }
    const want = new Set(truth.filter((t) => !t.cross).map((t) => [t.a, t.b].sort().join('|')));
    const hit = [...want].filter((w) => found.has(w)).length;
    // measured: recall 1.0 (75/75), precision 1.0
    expect(hit / want.size).toBeGreaterThanOrEqual(0.98);
    expect([...found].filter((f) => want.has(f)).length / found.size).toBeGreaterThanOrEqual(0.95);
    const exactTruth = truth.filter((t) => !t.cross && t.kind === 'exact').length;
    expect(r.summary.figures.exact_duplicate_rows).toBe(exactTruth);
  });

  it('finds the planted train/test leaks', async () => {
    const r = await duplicates.run(makeContext(train, { test }), duplicates.defaults);
    const leak = r.tables.find((t) => t.name === 'leakage')!.rows;
    const found = new Set(leak.map((l) => `${l.train_id}|${l.test_id}`));
    const want = truth.filter((t) => t.cross).map((t) => `${t.a}|${t.b}`);
    expect(want.length).toBe(25);
    // measured: 25 of 25, no other leak
    expect(want.filter((w) => found.has(w)).length / want.length).toBeGreaterThanOrEqual(0.98);
    expect(found.size).toBeLessThanOrEqual(want.length + 1);
    expect(r.summary.figures.leaked_test_rows).toBe(new Set(leak.map((l) => l.test_id)).size);
    expect(r.summary.severity).toBe('problem'); // 2.5% of test rows leak
  });

  it('says leakage was not checked without a test split', async () => {
    const r = await duplicates.run(makeContext(train), duplicates.defaults);
    expect(r.summary.figures.leaked_test_rows).toBeNull();
    expect(r.summary.verdict).toMatch(/Leakage not checked/);
  });
});

describe('duplicates on a hand-made pool', () => {
  // Rows 0,1 identical (labels a, b: conflict); row 2 a near copy of row 3 (same label);
  // rows 4..39 random; test row 0 equals train row 5, test row 1 is new.
  const d = 8, n = 40;
  const r = createRng(5);
  const X = new Float32Array(n * d);
  for (let i = 0; i < X.length; i++) X[i] = r.normal();
  X.set(X.subarray(0, d), d);
  for (let t = 0; t < d; t++) X[2 * d + t] = X[3 * d + t] * 1.0001 + 0.0005;
  const labels = Int32Array.from({ length: n }, (_, i) => (i === 1 ? 1 : i % 2 === 0 ? 0 : 2));
  labels[2] = labels[3];
  const train = makeSplit({ features: X, n, d, labels, classNames: ['a', 'b', 'c'] });
  const T = new Float32Array(2 * d);
  T.set(X.subarray(5 * d, 6 * d), 0);
  for (let t = 0; t < d; t++) T[d + t] = r.normal();
  const test = makeSplit({ features: T, n: 2, d, labels: Int32Array.from([labels[5], 0]), classNames: ['a', 'b', 'c'], split: 'test' });

  it('clusters, conflicts, leakage', async () => {
    const res = await duplicates.run(makeContext(train, { test }), duplicates.defaults);
    const f = Object.fromEntries(res.findings.map((x) => [x.id, x]));
    expect(f['train-0'].detail.kind).toBe('exact');
    expect(f['train-1'].detail.duplicate_of).toBe('train-0');
    expect(f['train-0'].detail.label_conflict).toBe(true);
    expect(f['train-0'].flagged).toBe(true); // conflicting labels flag every member
    expect(f['train-2'].detail.kind).toBe('near');
    expect(f['train-2'].detail.label_conflict).toBe(false);
    expect(f['train-2'].flagged).toBe(false); // the first row of a consistent cluster is kept
    expect(f['train-3'].flagged).toBe(true); // the redundant copy
    expect(f['train-5'].detail.leaked_test_ids).toBe('test-0');
    expect(res.summary.figures.clusters).toBe(2);
    expect(res.summary.figures.conflicting_clusters).toBe(1);
    expect(res.summary.figures.leaked_test_rows).toBe(1);
    expect(res.findings.map((x) => x.id).sort()).toEqual(['train-0', 'train-1', 'train-2', 'train-3', 'train-5']);
  });

  it('exact groups compare bytes, not just hashes', () => {
    const g = exactGroups(rowContent(train), n);
    expect(g[1]).toBe(0);
    expect(Array.from(g).filter((v, i) => v !== i)).toEqual([0]);
    expect(hashBytes(new Uint8Array([1, 2, 3]))).not.toBe(hashBytes(new Uint8Array([1, 2, 4])));
  });

  it('union-find roots are the first member', () => {
    const uf = new UnionFind(6);
    uf.union(4, 2); uf.union(2, 5); uf.union(1, 3);
    expect([0, 1, 2, 3, 4, 5].map((i) => uf.find(i))).toEqual([0, 1, 2, 1, 2, 2]);
  });

  it('the LSH path (forced) agrees with the exact search and reports its recall', async () => {
    const p = generateSynthPool({ rows: 3000, dim: 16, classes: 3, nearDups: 50, exactDups: 10, crossSplitFraction: 0.3, seed: 4 });
    const tr = splitFromTable(p.train, synthClassNames(3), 'train');
    const te = splitFromTable(p.test, synthClassNames(3), 'test');
    const exact = await analyseDuplicates(tr, te, { ...duplicates.defaults }, 0);
    const approx = await analyseDuplicates(tr, te, { ...duplicates.defaults, exactMaxRows: 100, recallSampleRows: 2400 }, 0);
    expect(approx.near.method).toBe('lsh');
    expect(approx.near.recall!.recall).toBeGreaterThanOrEqual(0.95);
    const key = (a: number, b: number) => `${a}|${b}`;
    const set = (l: { a: Int32Array; b: Int32Array; count: number }) => Array.from({ length: l.count }, (_, i) => key(l.a[i], l.b[i]));
    const ex = new Set(set(exact.near.pairs));
    const ap = set(approx.near.pairs);
    expect(ap.every((x) => ex.has(x))).toBe(true);
    expect(ap.length / ex.size).toBeGreaterThanOrEqual(0.95);
    // Leakage through the cross-set index: the same test/train pairs as the exact search.
    const exLeak = new Set(set(exact.leakNear!));
    const apLeak = set(approx.leakNear!);
    expect(exLeak.size).toBeGreaterThanOrEqual(15);
    expect(apLeak.every((x) => exLeak.has(x))).toBe(true);
    expect(apLeak.length / exLeak.size).toBeGreaterThanOrEqual(0.95);
    expect(approx.leakRecall).toBeGreaterThanOrEqual(0.9);
    expect(exact.leakRecall).toBeNull();
  });
});
