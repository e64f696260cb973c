/**
 * The exact kNN graph (compute/neighbours.ts `knnSelf`: every row's k = 10 nearest other rows)
 * on isotropic Gaussian clusters, where approximate search reaches no useful recall and
 * compute/ivf-knn.ts falls back to it, against scikit-learn's exact search
 * (`NearestNeighbors(algorithm='brute')` on the same unit rows, `kneighbors` with k + 1 to
 * drop each row itself, n_jobs = the threads sieve uses), measured in the same run: rounds
 * alternate sieve and scikit-learn (ABAB), and the median of the per-round time ratios is the
 * figure. Both sides are timed inside their own process (no start-up; sieve's pool threads
 * are started by a warm-up search first). The two graphs must agree: the share of
 * scikit-learn's neighbours that sieve found too is printed (float32 rounding on either side
 * can swap a near-tie).
 *
 *   node --import tsx bench/knn-exact.ts [--rows 32000] [--dims 64] [--rounds 3] [--threads N]
 *
 * Needs /usr/bin/python3 with Debian's python3-sklearn for the reference; without it the
 * sieve half runs alone and says so.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSynthPool } from '../src/pool/synth.ts';
import { knnSelf } from '../compute/neighbours.ts';
import { machineThreads } from '../compute/pool.ts';
import { normalizeRowsInPlace } from '../compute/scaling.ts';

const PYTHON = '/usr/bin/python3';
const K = 10;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) { console.error(`--${name} needs a positive integer`); process.exit(2); }
  return v;
}

const rows = arg('rows', 32_000), dims = arg('dims', 64), rounds = arg('rounds', 3);
const threads = arg('threads', Math.min(8, machineThreads()));

// Gaussian clusters, as `sieve pool synth` makes them, on unit rows (cosine = dot product;
// on unit rows Euclidean distance ranks neighbours the same way).
const pool = generateSynthPool({ rows: rows + 10, testRows: 10, dim: dims, classes: 10, noise: 0.1, seed: 5 });
const emb = pool.train.columns.find((c) => c.name === 'embedding') as { dim: number; values: Float32Array };
const n = pool.train.n;
const X = emb.values.slice(0, n * dims);
normalizeRowsInPlace(X, n, dims);

const PY = `
import sys, time, json
import numpy as np
from sklearn import __version__ as skv
from sklearn.neighbors import NearestNeighbors
path, n, d, k, jobs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
X = np.fromfile(path + '/x.f32', dtype=np.float32).reshape(n, d)
t = time.perf_counter()
nn = NearestNeighbors(n_neighbors=k + 1, algorithm='brute', metric='euclidean', n_jobs=jobs).fit(X)
_, I = nn.kneighbors(X)
sec = time.perf_counter() - t
# Drop each row itself (the first column, unless a duplicate tied ahead of it).
out = np.empty((n, k), dtype=np.int32)
for i in range(n):
    r = [j for j in I[i] if j != i][:k]
    out[i] = r
out.tofile(path + '/sk.i32')
print(json.dumps({'seconds': sec, 'version': skv}))
`;

const dir = mkdtempSync(join(tmpdir(), 'sieve-knn-exact-'));
writeFileSync(join(dir, 'x.f32'), X);
writeFileSync(join(dir, 'ref.py'), PY);

function reference(): { seconds: number; version: string } | { skipped: string } {
  const r = spawnSync(PYTHON, [join(dir, 'ref.py'), dir, String(n), String(dims), String(K), String(threads)], { encoding: 'utf8' });
  if (r.error) return { skipped: `${PYTHON} not found` };
  if (r.status !== 0) return { skipped: /No module named/.test(r.stderr) ? 'scikit-learn not installed (apt-get install -y python3-sklearn)' : r.stderr.trim().split('\n').pop() ?? 'failed' };
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

async function ours(): Promise<{ seconds: number; index: Int32Array }> {
  const t0 = performance.now();
  const top = await knnSelf(X, n, dims, K, { threads, minWorkForThreads: 0 });
  return { seconds: (performance.now() - t0) / 1000, index: top.index };
}

console.log(`knn-exact: exact kNN graph (k = ${K}) of ${n.toLocaleString('en')} × ${dims} Gaussian-cluster unit rows, ${threads} threads, ${rounds} ABAB rounds`);
// Warm-up: starts the pool's threads and compiles the kernel (not timed).
await knnSelf(X.subarray(0, 2000 * dims), 2000, dims, K, { threads, minWorkForThreads: 0 });
const ratios: number[] = [];
let skipped: string | null = null;
let last: Int32Array | null = null;
for (let r = 0; r < rounds; r++) {
  const a = await ours();
  last = a.index;
  const b: ReturnType<typeof reference> | null = skipped ? null : reference();
  if (b && 'skipped' in b) skipped = b.skipped;
  const line = `round ${r + 1}: sieve ${a.seconds.toFixed(2)} s`;
  if (b && 'seconds' in b) {
    ratios.push(a.seconds / b.seconds);
    console.log(`${line}, scikit-learn ${b.version} ${b.seconds.toFixed(2)} s, ratio ${(a.seconds / b.seconds).toFixed(2)}`);
  } else {
    console.log(line);
  }
}
if (skipped) {
  console.log(`reference skipped: ${skipped}`);
} else {
  const sk = new Int32Array(readFileSync(join(dir, 'sk.i32')).buffer.slice(0));
  let hit = 0;
  for (let i = 0; i < n; i++) {
    const mine = new Set(last!.subarray(i * K, (i + 1) * K));
    for (let t = 0; t < K; t++) if (mine.has(sk[i * K + t])) hit++;
  }
  const sorted = [...ratios].sort((x, y) => x - y);
  console.log(`agreement with scikit-learn's neighbours: ${(hit / (n * K)).toFixed(5)}`);
  console.log(`median time ratio sieve / scikit-learn: ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} (rounds: ${ratios.map((x) => x.toFixed(2)).join(', ')})`);
}
rmSync(dir, { recursive: true, force: true });
process.exit(0);
