/**
 * Approximate kNN graph (compute/ivf-knn.ts) per pool kind: the probes it chose, the
 * recall@10 it measured on its own sample, the recall measured here on a separate 1,000-row
 * exact sample, and its time next to the exact graph's (the reference), measured in the same
 * run. Target: recall ≥ 0.95 on every kind, or the exact graph (method "exact").
 *
 * Kinds: Gaussian clusters (`sieve pool synth`, 128,000 × 64, where 12 probes gave 0.39),
 * pixels (the built-in fashion-mnist pool's neighbour space, 20,000 rows, IVF forced),
 * tabular (UCI-Adult-like rows, 32,561, standardised one-hot + numeric → neighbour space, IVF
 * forced), tabular (german-credit, 700 rows, IVF forced).
 *
 *   node --import tsx bench/knn-recall.ts [--rows 128000]
 */
import { generateSynthPool, synthClassNames } from '../src/pool/synth.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import type { PoolSplit } from '../src/pool/types.ts';
import { buildSpace } from '../src/analysers/neighbour-space.ts';
import { ivfKnnSelf, ivfParams } from '../compute/ivf-knn.ts';
import { knnCross, knnSelf } from '../compute/neighbours.ts';
import { gatherRows } from '../compute/rows.ts';
import { createRng } from '../compute/rng.ts';
import { adultLikeRecords, ADULT_COLUMNS } from '../test/fixtures/adult-like.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const K = 10;

function synthSplit(rows: number): PoolSplit {
  const p = generateSynthPool({ rows, testRows: 1000, dim: 64, classes: 10, noise: 0.1, seed: 5 });
  const t = p.train;
  const emb = t.columns.find((c) => c.name === 'embedding') as { dim: number; values: Float32Array };
  return { split: 'train', n: t.n, d: emb.dim, ids: [], labels: new Int32Array(t.n), classNames: synthClassNames(10), features: emb.values, featureNames: [], groups: {} };
}

function adultSplit(rows: number): PoolSplit {
  const rec = adultLikeRecords({ rows, duplicates: 24 });
  const numeric = ['age', 'fnlwgt', 'education-num', 'capital-gain', 'capital-loss', 'hours-per-week'];
  const col = (c: string) => ADULT_COLUMNS.indexOf(c as (typeof ADULT_COLUMNS)[number]);
  const cats = ADULT_COLUMNS.filter((c) => !numeric.includes(c) && c !== 'income');
  const levels = cats.map((c) => [...new Set(rec.map((r) => r[col(c)]))].sort());
  const d = numeric.length + levels.reduce((s, l) => s + l.length, 0), n = rec.length;
  const X = new Float32Array(n * d);
  rec.forEach((r, i) => {
    numeric.forEach((c, j) => { X[i * d + j] = Number(r[col(c)]); });
    let o = numeric.length;
    cats.forEach((c, q) => { X[i * d + o + levels[q].indexOf(r[col(c)])] = 1; o += levels[q].length; });
  });
  return { split: 'train', n, d, ids: [], labels: new Int32Array(n), classNames: ['a', 'b'], features: X, featureNames: [], groups: {} };
}

async function measure(kind: string, split: PoolSplit): Promise<void> {
  const space = await buildSpace(split.features, split.n, split.d, { seed: 0 });
  const { X, n, dims } = space;
  const t0 = performance.now();
  const g = await ivfKnnSelf(X, n, dims, K, ivfParams(n, 0));
  const t1 = performance.now();
  const exact = await knnSelf(X, n, dims, K);
  const t2 = performance.now();
  // An independent check: 1,000 seeded rows against every row.
  const sample = createRng(99).permutation(n).subarray(0, Math.min(1000, n)).sort();
  const ex = await knnCross(gatherRows(X, dims, sample), sample.length, X, n, dims, K + 1);
  let hit = 0, total = 0;
  for (let s = 0; s < sample.length; s++) {
    const i = sample[s];
    const mine = new Set(Array.from(g.index.subarray(i * K, (i + 1) * K)));
    let taken = 0;
    for (let t = 0; t < ex.k && taken < K; t++) {
      const j = ex.index[s * ex.k + t];
      if (j < 0 || j === i) continue;
      taken++; total++;
      if (mine.has(j)) hit++;
    }
  }
  void exact;
  const ivfS = (t1 - t0) / 1000, exactS = (t2 - t1) / 1000;
  console.log(`${kind.padEnd(34)} ${String(n).padStart(7)} × ${dims}  method ${g.method.padEnd(5)} probes tried ${g.tried.map((t) => `${t.probes}:${t.recall.toFixed(3)}`).join(' ')}`
    + `  recall (own sample) ${g.recall.toFixed(3)}, (1,000-row check) ${(hit / total).toFixed(3)}  ${ivfS.toFixed(1)} s vs exact ${exactS.toFixed(1)} s (ratio ${(ivfS / exactS).toFixed(2)})`);
}

console.log(`knn-recall: approximate kNN graph (k = ${K}) per pool kind, target recall ≥ 0.95 or exact`);
await measure('gaussian clusters (synth)', synthSplit(arg('rows', 128_000)));
const fm = await openPool('fashion-mnist');
await measure('pixels (fashion-mnist)', await readSplit(fm, 'train'));
await measure('tabular (adult-like)', adultSplit(32_561));
const gc = await openPool('german-credit');
await measure('tabular (german-credit)', await readSplit(gc, 'train'));
process.exit(0);
