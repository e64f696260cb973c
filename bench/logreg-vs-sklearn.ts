/**
 * bench/logreg-vs-sklearn: the evaluator's logistic regression against scikit-learn's on the
 * same problem, in the same run.
 *
 * Problem: the first 20,000 Fashion-MNIST training images (784 pixels / 255), 10 classes,
 * objective Σ log loss + ½·‖W‖² (C = 1; intercepts not penalised), at most 100 L-BFGS
 * iterations, gradient tolerance 1e-4; accuracy on the 10,000 test images.
 * Reference: scikit-learn's LogisticRegression(C=1, max_iter=100, solver='lbfgs') from
 * Debian's python3-sklearn, run by /usr/bin/python3 on the same IDX files.
 *
 *   node --import tsx bench/logreg-vs-sklearn.ts [--rows 20000] [--threads N] [--rounds 3]
 *
 * Needs the Fashion-MNIST IDX .gz files in $SIEVE_DATA/fashion-mnist (default: ../shared/data beside the repository) (skips with exit 0 when absent) and, for the
 * reference half, `apt-get install -y python3-sklearn` (skipped with a note when absent).
 * Timings are wall-clock seconds of the fit alone (data loading excluded on both sides), the
 * two sides alternating (ABAB, --rounds rounds, 3 by default); printed: the median of the
 * per-round time ratios. Also printed: the fit's kernel work in GFLOP/s as a fraction of
 * this machine's WebAssembly SIMD f32x4 multiply-add peak (compute/simd-peak.ts, as
 * bench/simd-peak; the fit runs in float32, evaluator/kernels/logistic-tiles.ts), per wall
 * second on all kernel threads and per CPU-second against one thread's peak (robust to load).
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { DEV_DATA } from '../pools/recipes/common.ts';
import { readIdxFile } from '../src/pool/formats/idx.ts';
import { logisticRegression } from '../evaluator/models/logreg.ts';
import { kernelThreads, setKernelThreads, shutdownKernelThreads } from '../compute/pool.ts';
import { measurePeak } from '../compute/simd-peak.ts';
import { LogisticEngine32 } from '../evaluator/kernels/logistic-engine32.ts';

const DATA = join(DEV_DATA, 'fashion-mnist');
const PYTHON = '/usr/bin/python3';
const FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) { console.error(`${name} needs a positive integer`); process.exit(2); }
  return v;
}

interface Side { seconds: number; accuracy: number; iterations: number; objective: number; evaluations?: number; evaluations64?: number; cpuSeconds?: number }

async function load(images: string, labels: string, rows: number): Promise<{ X: Float32Array; y: Int32Array; n: number }> {
  const img = await readIdxFile(join(DATA, images));
  const lab = await readIdxFile(join(DATA, labels));
  const n = Math.min(rows, img.dims[0]);
  const X = new Float32Array(n * 784);
  for (let i = 0; i < n * 784; i++) X[i] = (img.data[i] as number) / 255;
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = lab.data[i] as number;
  return { X, y, n };
}

function ours(train: { X: Float32Array; y: Int32Array; n: number }, test: { X: Float32Array; y: Int32Array; n: number }): Side {
  const t0 = performance.now(), c0 = process.cpuUsage();
  const m = logisticRegression.fitWithInfo({ ...train, d: 784, k: 10 }, { l2: 1, max_iter: 100, tol: 1e-4 }, {});
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const P = m.predictProba(test.X, test.n);
  let ok = 0;
  for (let i = 0; i < test.n; i++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (P[i * 10 + c] > P[i * 10 + best]) best = c;
    if (best === test.y[i]) ok++;
  }
  return { seconds, accuracy: ok / test.n, iterations: m.iterations, objective: m.info!.objective, evaluations: m.info!.evaluations, evaluations64: m.info!.evaluations64, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

const SKLEARN = `
import gzip, json, sys, time, warnings
import numpy as np
from sklearn.linear_model import LogisticRegression
import sklearn
d, rows = sys.argv[1], int(sys.argv[2])
def images(f, n): return np.frombuffer(gzip.open(f'{d}/{f}').read(), np.uint8, offset=16).reshape(-1, 784)[:n].astype(np.float64) / 255
def labels(f, n): return np.frombuffer(gzip.open(f'{d}/{f}').read(), np.uint8, offset=8)[:n]
X, y = images('train-images-idx3-ubyte.gz', rows), labels('train-labels-idx1-ubyte.gz', rows)
Xt, yt = images('t10k-images-idx3-ubyte.gz', 10000), labels('t10k-labels-idx1-ubyte.gz', 10000)
warnings.simplefilter('ignore')
t = time.perf_counter()
m = LogisticRegression(C=1, max_iter=100, solver='lbfgs').fit(X, y)
sec = time.perf_counter() - t
P = m.predict_proba(X)
obj = float(-np.log(P[np.arange(len(y)), y]).sum() + 0.5 * (m.coef_ ** 2).sum())
print(json.dumps({'seconds': sec, 'accuracy': float((m.predict(Xt) == yt).mean()), 'iterations': int(m.n_iter_[0]), 'objective': obj, 'version': sklearn.__version__}))
`;

function sklearn(rows: number): (Side & { version: string }) | string {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ['-c', 'import sklearn'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'scikit-learn is not installed for /usr/bin/python3 (apt-get install -y python3-sklearn)';
  const r = spawnSync(PYTHON, ['-c', SKLEARN, DATA, String(rows)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) return `scikit-learn run failed: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`;
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main() {
  const rows = arg('--rows', 20000);
  const threads = arg('--threads', availableParallelism());
  const rounds = arg('--rounds', 3);
  if (!FILES.every((f) => existsSync(join(DATA, f)))) {
    console.log(`bench/logreg-vs-sklearn: skipped, Fashion-MNIST IDX files not found in ${DATA}`);
    return;
  }
  const loadNow = () => loadavg().map((x) => x.toFixed(1)).join(' / ');
  setKernelThreads(threads);
  const train = await load(FILES[0], FILES[1], rows);
  const test = await load(FILES[2], FILES[3], 10000);
  console.log(`problem: first ${train.n} Fashion-MNIST training images (784 px / 255), C = 1, at most 100 L-BFGS iterations, tol 1e-4; ${test.n} test images`);
  console.log(`${rounds} rounds, ours and scikit-learn alternating; load average ${loadNow()}`);
  const ourRuns: Side[] = [], refRuns: (Side & { version: string })[] = [];
  let skipped: string | null = null;
  for (let r = 0; r < rounds; r++) {
    const a = ours(train, test);
    ourRuns.push(a);
    console.log(`  round ${r + 1}: ours (${kernelThreads()} kernel thread(s)) ${a.seconds.toFixed(2)} s (${a.cpuSeconds!.toFixed(2)} CPU-s), accuracy ${a.accuracy.toFixed(4)}, ${a.iterations} iterations, objective ${a.objective.toFixed(2)}`);
    if (skipped === null) {
      const b = sklearn(train.n);
      if (typeof b === 'string') skipped = b;
      else {
        refRuns.push(b);
        console.log(`  round ${r + 1}: scikit-learn ${b.version} ${b.seconds.toFixed(2)} s, accuracy ${b.accuracy.toFixed(4)}, ${b.iterations} iterations, objective ${b.objective.toFixed(2)}`);
      }
    }
  }
  const a = ourRuns[ourRuns.length - 1];
  // The fit against this machine's WebAssembly SIMD f32x4 multiply-add peak (compute/simd-peak.ts):
  // each float32 loss + gradient evaluation does, per visited tile-input, tile × padded
  // classes multiply-adds forward and as many backward (evaluator/kernels/logistic-tiles.ts).
  const engine = new LogisticEngine32({ ...train, d: 784, k: 10 });
  const lay = engine.layout;
  engine.close();
  const evals32 = a.evaluations! - (a.evaluations64 ?? 0);
  const perEval = 2 * 2 * lay.tile * lay.kq * lay.visits;
  const flops = evals32 * perEval;
  const peak1 = measurePeak('f32', 1);
  const wall = median(ourRuns.map((x) => x.seconds)), cpuS = median(ourRuns.map((x) => x.cpuSeconds!));
  const rate = flops / wall / 1e9;
  console.log(`ours: median ${wall.toFixed(2)} s; kernel work: ${evals32} float32 evaluations (${a.evaluations64 ?? 0} float64) × ${(perEval / 1e9).toFixed(3)} GFLOP (tile ${lay.tile}, ${lay.kq} padded classes; visited ${(lay.visits / ((lay.np / lay.tile) * lay.dp)).toFixed(2)} of the tile-inputs, forward and backward) = ${(flops / 1e9).toFixed(1)} GFLOP; ${rate.toFixed(2)} GFLOP/s`);
  console.log(`  WebAssembly SIMD f32x4 peak (bench/simd-peak): ${peak1.toFixed(1)} GFLOP/s per thread, ${(peak1 * threads).toFixed(1)} on ${threads} thread(s): the fit reaches ${(rate / (peak1 * threads)).toFixed(2)} of it`);
  // Per CPU-second (all of this process's threads), which a shared machine's load does not dilute.
  const perCpu = flops / cpuS / 1e9;
  console.log(`  per CPU-second: ${perCpu.toFixed(2)} GFLOP/s, ${(perCpu / peak1).toFixed(2)} of one thread's peak (median ${cpuS.toFixed(2)} s of CPU for ${wall.toFixed(2)} s of wall time)`);
  if (skipped !== null || refRuns.length === 0) {
    console.log(`reference skipped: ${skipped}`);
  } else {
    const b = refRuns[refRuns.length - 1];
    const ratio = median(refRuns.map((x, i) => ourRuns[i].seconds / x.seconds));
    console.log(`scikit-learn ${b.version} (lbfgs): median ${median(refRuns.map((x) => x.seconds)).toFixed(2)} s, accuracy ${b.accuracy.toFixed(4)}, ${b.iterations} iterations, objective ${b.objective.toFixed(2)}`);
    console.log('');
    console.log(`time ratio ours / sklearn (median of ${refRuns.length} rounds): ${ratio.toFixed(2)}  (target <= 0.35; per round ${refRuns.map((x, i) => (ourRuns[i].seconds / x.seconds).toFixed(2)).join(', ')})`);
    console.log(`accuracy ours - sklearn:        ${(a.accuracy - b.accuracy >= 0 ? '+' : '')}${(a.accuracy - b.accuracy).toFixed(4)}  (target >= 0)`);
    console.log(`objective ratio ours / sklearn: ${(a.objective / b.objective).toFixed(4)}  (same objective, lower is better)`);
  }
  console.log(`load average at the end: ${loadNow()} (1 / 5 / 15 min; ${availableParallelism()} cores)`);
  await shutdownKernelThreads();
}

await main();
