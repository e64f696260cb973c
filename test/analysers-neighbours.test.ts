import { describe, it, expect } from 'vitest';
import { createRng } from '../compute/rng.ts';
import { knnSelf, knnCross, pairsAboveSelf, pairsAboveCross, signKeys } from '../compute/neighbours.ts';
import { buildSimModule } from '../compute/tile-kernel.ts';
import { normalizeRowsInPlace } from '../compute/scaling.ts';
import { lshPairsAbove, lshParams, lshParamsFor, lshTables, lshCollisionProbability, measureRecall } from '../compute/ann-index.ts';

function unitRows(n: number, d: number, seed: number): Float32Array {
  const r = createRng(seed);
  const X = new Float32Array(n * d);
  for (let i = 0; i < X.length; i++) X[i] = r.normal();
  normalizeRowsInPlace(X, n, d);
  return X;
}

function bruteSims(Q: Float32Array, nq: number, X: Float32Array, nx: number, d: number): Float64Array {
  const S = new Float64Array(nq * nx);
  for (let i = 0; i < nq; i++) for (let j = 0; j < nx; j++) {
    let s = 0;
    for (let t = 0; t < d; t++) s += Q[i * d + t] * X[j * d + t];
    S[i * nx + j] = s;
  }
  return S;
}

describe('SIMD tile kernel and exact searches', () => {
  it('the assembled module validates', () => {
    expect(WebAssembly.validate(buildSimModule())).toBe(true);
  });

  // d = 37 exercises row padding to a multiple of 4; n = 601 a partial last block.
  const n = 601, d = 37, k = 7;
  const X = unitRows(n, d, 1);
  const S = bruteSims(X, n, X, n, d);

  it('knnSelf returns the brute-force neighbours, best first', async () => {
    const top = await knnSelf(X, n, d, k);
    for (let i = 0; i < n; i++) {
      const ref = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).sort((a, b) => S[i * n + b] - S[i * n + a]).slice(0, k);
      for (let t = 0; t < k; t++) {
        // Float32 accumulation may swap two neighbours whose similarities agree to ~1e-6.
        expect(top.sim[i * k + t]).toBeCloseTo(S[i * n + ref[t]], 5);
      }
      expect(top.index[i * k]).not.toBe(i);
    }
    const agree = Array.from({ length: n }, (_, i) => i).filter((i) => top.index[i * k] === Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).sort((a, b) => S[i * n + b] - S[i * n + a])[0]).length;
    expect(agree).toBeGreaterThan(n - 3);
  });

  it('threads give bit-identical results', async () => {
    const one = await knnSelf(X, n, d, k, { threads: 1 });
    const two = await knnSelf(X, n, d, k, { threads: 2, minWorkForThreads: 0 });
    expect(Buffer.from(two.index.buffer).equals(Buffer.from(one.index.buffer))).toBe(true);
    expect(Buffer.from(two.sim.buffer).equals(Buffer.from(one.sim.buffer))).toBe(true);
    const p1 = await pairsAboveSelf(X, n, d, 0.3, { threads: 1 });
    const p2 = await pairsAboveSelf(X, n, d, 0.3, { threads: 2, minWorkForThreads: 0 });
    expect(p2.count).toBe(p1.count);
    expect(Array.from(p2.a)).toEqual(Array.from(p1.a));
    expect(Array.from(p2.b)).toEqual(Array.from(p1.b));
    expect(Array.from(p2.sim)).toEqual(Array.from(p1.sim));
  });

  it('pairsAboveSelf finds exactly the pairs above the threshold', async () => {
    const t = 0.35;
    const got = await pairsAboveSelf(X, n, d, t);
    const want: string[] = [];
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (S[i * n + j] >= t + 1e-5) want.push(`${i},${j}`);
    const gotSet = new Set(Array.from({ length: got.count }, (_, p) => `${got.a[p]},${got.b[p]}`));
    for (const w of want) expect(gotSet.has(w)).toBe(true);
    for (let p = 0; p < got.count; p++) expect(S[got.a[p] * n + got.b[p]]).toBeGreaterThan(t - 1e-5);
    expect(want.length).toBeGreaterThan(20);
  });

  it('cross searches match brute force', async () => {
    const nq = 45;
    const Q = unitRows(nq, d, 2);
    const C = bruteSims(Q, nq, X, n, d);
    const top = await knnCross(Q, nq, X, n, d, 3);
    for (let i = 0; i < nq; i++) {
      let best = 0;
      for (let j = 1; j < n; j++) if (C[i * n + j] > C[i * n + best]) best = j;
      expect(top.sim[i * 3]).toBeCloseTo(C[i * n + best], 5);
    }
    const pairs = await pairsAboveCross(Q, nq, X, n, d, 0.4);
    let want = 0;
    for (let x = 0; x < C.length; x++) if (C[x] >= 0.4) want++;
    expect(Math.abs(pairs.count - want)).toBeLessThanOrEqual(1);
  });

  it('sign keys put each row on the side of each hyperplane given by the sign of the dot product', async () => {
    const H = unitRows(3 * 5, d, 3);
    const keys = await signKeys(X, n, d, H, 3, 5);
    const P = bruteSims(X, n, H, 15, d);
    let mismatches = 0;
    for (let i = 0; i < n; i++) for (let h = 0; h < 15; h++) {
      const t = Math.floor(h / 5), b = h % 5;
      const bit = (keys[t * n + i] >>> b) & 1;
      if (Math.abs(P[i * 15 + h]) > 1e-5 && bit !== (P[i * 15 + h] >= 0 ? 1 : 0)) mismatches++;
    }
    expect(mismatches).toBe(0);
  });
});

describe('LSH index', () => {
  it('chooses enough tables for the target recall at the threshold', () => {
    const p = lshParams(1_000_000, 0.99, 0.995);
    expect(lshCollisionProbability(0.99, p)).toBeGreaterThanOrEqual(0.995);
    expect(lshCollisionProbability(0.5, p)).toBeLessThan(0.01);
  });

  it('chooses its key width on the rows: about log2(n) bits on spread rows, wider keys on clustered ones', () => {
    const n = 20000, d = 32;
    const r = createRng(5);
    const spread = new Float32Array(n * d);
    for (let i = 0; i < spread.length; i++) spread[i] = r.normal();
    normalizeRowsInPlace(spread, n, d);
    // Four clusters whose centres are 1.5 noise lengths from the origin: rows of a cluster
    // share most hyperplane sides, so log2(n)-bit keys fill buckets of hundreds of rows.
    const centres = Array.from({ length: 4 }, () => Float32Array.from({ length: d }, () => 1.5 * r.normal()));
    const clustered = new Float32Array(n * d);
    for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) clustered[i * d + t] = centres[i % 4][t] + r.normal();
    normalizeRowsInPlace(clustered, n, d);
    const a = lshParamsFor(spread, n, d, 0.99, 0.995, 0), b = lshParamsFor(clustered, n, d, 0.99, 0.995, 0);
    expect(Math.abs(a.bits - Math.log2(n))).toBeLessThanOrEqual(3);
    expect(b.bits).toBeGreaterThan(a.bits + 2);
    for (const p of [a, b]) {
      expect(p.tables).toBe(lshTables(p.bits, 0.99, 0.995));
      expect(lshCollisionProbability(0.99, p)).toBeGreaterThanOrEqual(0.995);
    }
    // The estimate of chance collisions is the count a table really has (within a factor 2).
    for (const [X, p] of [[spread, a], [clustered, b]] as const) {
      const H = new Float32Array(p.bits * d);
      const g = createRng(9);
      for (let i = 0; i < H.length; i++) H[i] = g.normal();
      const P = new Float64Array(n);
      let pairs = 0;
      const sizes = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        let key = 0;
        for (let h = 0; h < p.bits; h++) {
          let s = 0;
          for (let t = 0; t < d; t++) s += X[i * d + t] * H[h * d + t];
          if (s >= 0) key |= 1 << h;
        }
        P[i] = key >>> 0;
        sizes.set(P[i], (sizes.get(P[i]) ?? 0) + 1);
      }
      for (const c of sizes.values()) pairs += (c * (c - 1)) / 2;
      expect(pairs).toBeGreaterThan(p.candidatesPerTable / 2);
      expect(pairs).toBeLessThan(p.candidatesPerTable * 2 + 20);
    }
  });

  it('one search over stacked rows gives the first set\'s own pairs and the cross pairs', async () => {
    const n = 6000, d = 24, boundary = 4000;
    const r = createRng(21);
    const X = new Float32Array(n * d);
    for (let i = 0; i < X.length; i++) X[i] = r.normal();
    for (let p = 0; p < 400; p++) {
      const a = r.int(n), b = r.int(n);
      for (let t = 0; t < d; t++) X[b * d + t] = X[a * d + t] + 0.04 * r.normal();
    }
    normalizeRowsInPlace(X, n, d);
    const params = lshParams(n, 0.99, 0.995, 3);
    const list = (l: { a: Int32Array; b: Int32Array; count: number }) => Array.from({ length: l.count }, (_, i) => `${l.a[i]},${l.b[i]}`);
    const both = await lshPairsAbove(X, n, d, 0.99, params, { boundary, crossOnly: false });
    const own = await lshPairsAbove(X.subarray(0, boundary * d), boundary, d, 0.99, params);
    const cross = await lshPairsAbove(X, n, d, 0.99, params, { boundary });
    expect(own.pairs.count).toBeGreaterThan(20);
    expect(cross.pairs.count).toBeGreaterThan(20);
    expect(list(both.pairs)).toEqual([...list(own.pairs), ...list(cross.pairs)].sort((x, y) => {
      const [xa, xb] = x.split(',').map(Number), [ya, yb] = y.split(',').map(Number);
      return xa - ya || xb - yb;
    }));
    expect(Array.from(both.pairs.a).every((a) => a < boundary)).toBe(true);
  });

  it('finds planted near duplicates among random rows, and measures its recall', async () => {
    const n = 20000, d = 32;
    const r = createRng(11);
    const X = new Float32Array(n * d);
    for (let i = 0; i < X.length; i++) X[i] = r.normal();
    const planted: [number, number][] = [];
    for (let p = 0; p < 300; p++) {
      const a = 2 * p, b = 2 * p + 1;
      for (let t = 0; t < d; t++) X[b * d + t] = X[a * d + t] + 0.05 * r.normal();
      planted.push([a, b]);
    }
    normalizeRowsInPlace(X, n, d);
    const s = await lshPairsAbove(X, n, d, 0.99, lshParams(n, 0.99, 0.995, 0));
    const found = new Set(Array.from({ length: s.pairs.count }, (_, p) => `${s.pairs.a[p]},${s.pairs.b[p]}`));
    const hit = planted.filter(([a, b]) => found.has(`${a},${b}`)).length;
    expect(hit / planted.length).toBeGreaterThanOrEqual(0.98);
    // No false positives: every reported pair is above the threshold.
    for (let p = 0; p < s.pairs.count; p++) expect(s.pairs.sim[p]).toBeGreaterThanOrEqual(0.99);
    // The recall estimate is made against an exact search; the sample covers the planted rows.
    const rec = await measureRecall(X, n, d, 0.99, s.pairs, 2000, 0);
    expect(rec.truePairs).toBeGreaterThan(0);
    expect(rec.recall!).toBeGreaterThanOrEqual(0.95);
    // Tables verified on worker threads give the same pairs as one thread, and so does a
    // cross-set search (pairs across a boundary only).
    for (const boundary of [undefined, 7001]) {
      const one = await lshPairsAbove(X, n, d, 0.99, lshParams(n, 0.99, 0.995, 0), { threads: 1, boundary });
      const three = await lshPairsAbove(X, n, d, 0.99, lshParams(n, 0.99, 0.995, 0), { threads: 3, boundary });
      expect(three.candidates).toBe(one.candidates);
      expect([Array.from(three.pairs.a), Array.from(three.pairs.b), Array.from(three.pairs.sim)]).toEqual([Array.from(one.pairs.a), Array.from(one.pairs.b), Array.from(one.pairs.sim)]);
      if (boundary) expect(Array.from(one.pairs.a).every((a, p) => a < boundary && one.pairs.b[p] >= boundary)).toBe(true);
      else expect(one.pairs.count).toBe(s.pairs.count);
    }
  });
});

describe('IVF kNN graph (beyond 100,000 rows)', () => {
  it('matches most exact neighbours and measures its recall honestly', async () => {
    const { ivfKnnSelf, ivfParams } = await import('../compute/ivf-knn.ts');
    const { openPool, readSplit } = await import('../src/pool/read.ts');
    const { spaceOf } = await import('../src/analysers/neighbour-space.ts');
    const { subsetSplit } = await import('../src/analysers/context.ts');
    const full = await readSplit(await openPool('fashion-mnist'), 'train');
    const train = subsetSplit(full, Int32Array.from({ length: 6000 }, (_, i) => i));
    const sp = await spaceOf(train);
    const k = 10;
    const exact = await knnSelf(sp.X, sp.n, sp.dims, k);
    const approx = await ivfKnnSelf(sp.X, sp.n, sp.dims, k, { ...ivfParams(sp.n), lists: 77 }, { recallSample: 6000, maxWorkShare: Infinity });
    let hit = 0;
    for (let i = 0; i < sp.n; i++) {
      const mine = new Set(Array.from(approx.index.subarray(i * k, (i + 1) * k)));
      for (let t = 0; t < k; t++) if (mine.has(exact.index[i * k + t])) hit++;
      expect(mine.has(i)).toBe(false);
    }
    const actual = hit / (sp.n * k);
    expect(actual).toBeGreaterThanOrEqual(0.95); // measured 0.980
    // The sample covers every row here, so the measured recall is the actual one (up to ties).
    expect(Math.abs(approx.recall - actual)).toBeLessThan(0.01);
    expect(approx.method).toBe('ivf');
    // The lists searched on worker threads give the same graph as on one thread.
    for (const threads of [1, 3]) {
      const g = await ivfKnnSelf(sp.X, sp.n, sp.dims, k, { ...ivfParams(sp.n), lists: 77 }, { recallSample: 200, maxWorkShare: Infinity, threads });
      expect(Array.from(g.index)).toEqual(Array.from(approx.index));
      expect(Array.from(g.sim)).toEqual(Array.from(approx.sim));
    }
  });

  it('never returns a graph below the target recall: Gaussian clusters fall back to the exact graph', async () => {
    const { ivfKnnSelf, ivfParams } = await import('../compute/ivf-knn.ts');
    // Isotropic Gaussian clusters in 32 dimensions: neighbours nearly equidistant, IVF's hard case.
    const r = createRng(21);
    const n = 4000, d = 32, k = 10;
    const X = new Float32Array(n * d);
    const centres = Array.from({ length: 8 }, () => Array.from({ length: d }, () => 0.5 * r.normal()));
    for (let i = 0; i < n; i++) { const c = centres[i % 8]; for (let j = 0; j < d; j++) X[i * d + j] = c[j] + r.normal(); }
    normalizeRowsInPlace(X, n, d);
    const exact = await knnSelf(X, n, d, k);
    for (const lists of [77, 16]) {
      const g = await ivfKnnSelf(X, n, d, k, { ...ivfParams(n), lists }, { maxWorkShare: Infinity });
      let hit = 0;
      for (let i = 0; i < n; i++) {
        const mine = new Set(Array.from(g.index.subarray(i * k, (i + 1) * k)));
        for (let t = 0; t < k; t++) if (mine.has(exact.index[i * k + t])) hit++;
      }
      // measured: 77 lists, 12 probes reach 0.69 on the sample, 24 0.81, 48 0.94, all 77 lists 1.0;
      // 16 lists, 12 probes 0.96 (graph 0.961)
      if (lists === 77) expect(g.tried[0].recall).toBeLessThan(0.95);
      expect(hit / (n * k)).toBeGreaterThanOrEqual(0.95);
      if (g.method === 'exact') { expect(g.recall).toBe(1); expect(Array.from(g.index)).toEqual(Array.from(exact.index)); }
      else expect(g.recall).toBeGreaterThanOrEqual(0.95);
    }
    // Where the exact fallback would cost more than allowed (here: any work), the best IVF
    // setting within the budget is kept, with the recall it measured and the reason.
    const capped = await ivfKnnSelf(X, n, d, k, { ...ivfParams(n), lists: 77 }, { maxExactWork: 0, maxIvfWork: 1.5e7 });
    expect(capped.method).toBe('ivf');
    expect(capped.recall).toBeLessThan(0.95);
    expect(capped.belowTarget?.target).toBe(0.95);
    let hit = 0;
    for (let i = 0; i < n; i++) {
      const mine = new Set(Array.from(capped.index.subarray(i * k, (i + 1) * k)));
      for (let t = 0; t < k; t++) if (mine.has(exact.index[i * k + t])) hit++;
    }
    expect(Math.abs(capped.recall - hit / (n * k))).toBeLessThan(0.05);
    // The checked rows come with their exact lists, which the analysers use to say what the
    // approximation does to their own figures (checkedNeighbours, rowAgreement).
    const { checkedNeighbours } = await import('../src/analysers/neighbour-space.ts');
    const { rowAgreement, knnAgreement } = await import('../src/analysers/knn-agreement.ts');
    const c = checkedNeighbours(capped, k)!;
    expect(c.rows.length).toBe(200);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    const full = knnAgreement(exact, labels, 3);
    c.rows.forEach((i, s) => {
      expect(Array.from(c.exact[s])).toEqual(Array.from(exact.index.subarray(i * k, (i + 1) * k)));
      expect(Array.from(c.approx[s])).toEqual(Array.from(capped.index.subarray(i * k, (i + 1) * k)));
      expect(rowAgreement(c.exact[s], labels, labels[i], 3, 0.2).agreement).toBe(full.agreement[i]);
    });
    expect(checkedNeighbours(exact)).toBeNull();
  });
});
