/**
 * bench/mlp-vs-torch: the evaluator's MLP (evaluator/models/mlp.ts, WebAssembly SIMD kernels)
 * against PyTorch on the same network, data, epochs, batch size and optimiser, in the same run.
 *
 * Network: d → hidden (ReLU) → 10 (softmax cross-entropy, minibatch mean); He-normal W1,
 * Glorot-uniform W2, zero biases; a fresh shuffle every epoch; AdamW (lr 1e-3, β 0.9 / 0.999,
 * ε 1e-8, weight decay 0.01 on the weights, none on the biases) — the MLP's defaults.
 * Problems (Fashion-MNIST IDX files from $SIEVE_DATA/fashion-mnist):
 *   - debug:  the fashion-debug-mlp challenge's fit — 1,000 training images (the first
 *             1,000), PCA to 64 components + standardisation fitted on them (the evaluator's
 *             preprocess.ts), hidden 64, batch 64, 20 epochs; 10,000 test images.
 *   - pixels: 20,000 training images as 784 pixels / 255, hidden 128, batch 128, 5 epochs;
 *             10,000 test images (a compute-bound size, where PyTorch's AVX2/FMA matrix
 *             products show).
 * Reference: Debian's python3-torch via /usr/bin/python3, CPU, torch.set_num_threads(2) (or
 * --torch-threads), the same float32 inputs (written once to a temporary folder), its
 * default init replaced by the same distributions. Each round r runs sieve then
 * PyTorch, both with seed first-seed + r (ABAB…, 5 rounds by default): the median of the per-round time
 * ratios, and each side's mean test accuracy over the rounds (different seeds draw different
 * initial weights and shuffles, so accuracies are compared as means). Times are wall-clock
 * seconds of training alone (model construction to the last step; data loading, the PCA and
 * Python's start-up excluded on both sides).
 *
 *   SIEVE_DATA=/path/to/data nice node --import tsx bench/mlp-vs-torch.ts [--rounds 3] [--problem debug|pixels|all] [--threads 2] [--torch-threads 2] [--first-seed 0]
 *
 * Also printed: the products' work per second as a fraction of the WebAssembly SIMD f32x4
 * multiply-add peak (compute/simd-peak.ts), i.e. what limits sieve's side.
 * Skips (exit 0, with a note) without the IDX files, without /usr/bin/python3 or without torch.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_DATA } from '../pools/recipes/common.ts';
import { readIdxFile } from '../src/pool/formats/idx.ts';
import { mlp } from '../evaluator/models/mlp.ts';
import { fitPreprocessor } from '../evaluator/preprocess.ts';
import { kernelThreads, setKernelThreads, shutdownKernelThreads } from '../compute/pool.ts';
import { measurePeak } from '../compute/simd-peak.ts';

const DATA = join(DEV_DATA, 'fashion-mnist');
const PYTHON = '/usr/bin/python3';
const FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : process.argv[i + 1];
}

interface Problem {
  name: string; what: string;
  rows: number; pca: number | null; hidden: number; batch: number; epochs: number;
}
const PROBLEMS: Problem[] = [
  { name: 'debug', what: '1,000 images, PCA-64 + standardised, hidden 64, batch 64, 20 epochs', rows: 1000, pca: 64, hidden: 64, batch: 64, epochs: 20 },
  { name: 'pixels', what: '20,000 images, 784 pixels / 255, hidden 128, batch 128, 5 epochs', rows: 20000, pca: null, hidden: 128, batch: 128, epochs: 5 },
];
const LR = 1e-3, WEIGHT_DECAY = 0.01;

interface Split { X: Float32Array; y: Int32Array; n: number; d: number }

async function load(images: string, labels: string, rows: number): Promise<Split> {
  const img = await readIdxFile(join(DATA, images));
  const lab = await readIdxFile(join(DATA, labels));
  const n = Math.min(rows, img.dims[0]);
  const X = new Float32Array(n * 784);
  for (let i = 0; i < n * 784; i++) X[i] = (img.data[i] as number) / 255;
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = lab.data[i] as number;
  return { X, y, n, d: 784 };
}

function accuracy(P: Float32Array, y: Int32Array, k: number): number {
  let ok = 0;
  for (let i = 0; i < y.length; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (P[i * k + c] > P[i * k + best]) best = c;
    if (best === y[i]) ok++;
  }
  return ok / y.length;
}

const TORCH = `
import json, sys, time
import numpy as np
import torch
from torch import nn
folder, n, nt, d, hidden, batch, epochs, seed, lr, wd, threads = sys.argv[1:12]
torch.set_num_threads(int(threads))
n, nt, d, hidden, batch, epochs, seed = map(int, (n, nt, d, hidden, batch, epochs, seed))
lr, wd = float(lr), float(wd)
X = torch.from_numpy(np.fromfile(f'{folder}/X.f32', np.float32).reshape(n, d))
y = torch.from_numpy(np.fromfile(f'{folder}/y.i32', np.int32).astype(np.int64))
Xt = torch.from_numpy(np.fromfile(f'{folder}/Xt.f32', np.float32).reshape(nt, d))
yt = torch.from_numpy(np.fromfile(f'{folder}/yt.i32', np.int32).astype(np.int64))
torch.manual_seed(seed)
g = torch.Generator().manual_seed(seed)
t = time.perf_counter()
l1, l2 = nn.Linear(d, hidden), nn.Linear(hidden, 10)
nn.init.kaiming_normal_(l1.weight, nonlinearity='relu'); nn.init.zeros_(l1.bias)
nn.init.xavier_uniform_(l2.weight); nn.init.zeros_(l2.bias)
model = nn.Sequential(l1, nn.ReLU(), l2)
opt = torch.optim.AdamW([{'params': [l1.weight, l2.weight], 'weight_decay': wd},
                         {'params': [l1.bias, l2.bias], 'weight_decay': 0.0}],
                        lr=lr, betas=(0.9, 0.999), eps=1e-8)
loss_fn = nn.CrossEntropyLoss()
for epoch in range(epochs):
    order = torch.randperm(n, generator=g)
    for s in range(0, n, batch):
        idx = order[s:s + batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(X[idx]), y[idx])
        loss.backward()
        opt.step()
sec = time.perf_counter() - t
with torch.no_grad():
    acc = float((model(Xt).argmax(1) == yt).double().mean())
print(json.dumps({'seconds': sec, 'accuracy': acc, 'version': torch.__version__, 'threads': torch.get_num_threads()}))
`;

interface Side { seconds: number; accuracy: number }

function torchProbe(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'torch is not installed for /usr/bin/python3 (apt-get install -y python3-torch)';
  return null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const fmtAcc = (xs: number[]) => (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(4);

async function runProblem(p: Problem, rounds: number, trainAll: Split, test: Split, torchSkip: string | null, torchThreads: number, firstSeed: number): Promise<void> {
  // Data exactly as the evaluator's model sees it (float32), shared by both sides.
  const n = Math.min(p.rows, trainAll.n);
  let X = trainAll.X.subarray(0, n * 784), Xt = test.X, d = 784;
  if (p.pca) {
    const pre = fitPreprocessor({ pca: p.pca, standardize: true }, X, n, 784);
    X = pre.transform(X, n); Xt = pre.transform(Xt, test.n); d = pre.dOut;
  }
  const y = trainAll.y.subarray(0, n);
  const params = { hidden: p.hidden, epochs: p.epochs, lr: LR, batch_size: p.batch, weight_decay: WEIGHT_DECAY };
  console.log(`\n[${p.name}] ${p.what}; test: ${test.n} images`);
  const folder = mkdtempSync(join(tmpdir(), 'sieve-mlp-bench-'));
  try {
    writeFileSync(join(folder, 'X.f32'), X); writeFileSync(join(folder, 'y.i32'), y);
    writeFileSync(join(folder, 'Xt.f32'), Xt); writeFileSync(join(folder, 'yt.i32'), test.y);
    const ours: Side[] = [], ref: Side[] = [];
    let version = '';
    for (let r = 0; r < rounds; r++) {
      const seed = firstSeed + r;
      const t0 = performance.now();
      const m = mlp.fit({ X, n, d, y, k: 10 }, params, { seed });
      const seconds = (performance.now() - t0) / 1000;
      ours.push({ seconds, accuracy: accuracy(m.predictProba(Xt, test.n), test.y, 10) });
      let line = `  round ${r + 1} (seed ${seed}): sieve ${seconds.toFixed(3)} s, accuracy ${ours[r].accuracy.toFixed(4)}`;
      if (!torchSkip) {
        const args = [folder, n, test.n, d, p.hidden, p.batch, p.epochs, seed, LR, WEIGHT_DECAY, torchThreads].map(String);
        const res = spawnSync(PYTHON, ['-c', TORCH, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
        if (res.status !== 0) {
          torchSkip = `PyTorch run failed: ${res.stderr.trim().split('\n').slice(-3).join(' / ')}`;
        } else {
          const out = JSON.parse(res.stdout.trim().split('\n').pop()!);
          ref.push({ seconds: out.seconds, accuracy: out.accuracy });
          version = `${out.version}, ${out.threads} threads`;
          line += `; PyTorch ${out.seconds.toFixed(3)} s, accuracy ${out.accuracy.toFixed(4)}; ratio ${(seconds / out.seconds).toFixed(2)}`;
        }
      }
      console.log(line);
    }
    const accOurs = fmtAcc(ours.map((s) => s.accuracy));
    const med = median(ours.map((s) => s.seconds));
    console.log(`  sieve (${kernelThreads()} kernel thread(s)): median ${med.toFixed(3)} s, mean test accuracy ${accOurs}`);
    // The products' work (forward X·W1, H·W2; backward Hᵀ·dZ, dZ·W2ᵀ, Xᵀ·dH: 2·n·d·h + 3·n·h·k
    // multiply-adds an epoch) against this machine's f32x4 multiply-add peak (bench/simd-peak).
    const flops = 2 * p.epochs * (2 * n * d * p.hidden + 3 * n * p.hidden * 10);
    const peak = measurePeak('f32', 1) * kernelThreads();
    console.log(`  sieve's products: ${(flops / 1e9).toFixed(2)} GFLOP, ${(flops / med / 1e9).toFixed(1)} GFLOP/s = ${(flops / med / 1e9 / peak).toFixed(2)} of the WebAssembly SIMD f32x4 peak on ${kernelThreads()} thread(s) (${peak.toFixed(1)} GFLOP/s)`);
    if (torchSkip || ref.length !== ours.length) {
      console.log(`  reference skipped: ${torchSkip ?? 'incomplete rounds'}`);
      return;
    }
    const accRef = fmtAcc(ref.map((s) => s.accuracy));
    const ratio = median(ours.map((s, i) => s.seconds / ref[i].seconds));
    const gap = Number(accOurs) - Number(accRef);
    console.log(`  PyTorch ${version}: median ${median(ref.map((s) => s.seconds)).toFixed(3)} s, mean test accuracy ${accRef}`);
    console.log(`  time ratio sieve / PyTorch (median of ${rounds} rounds): ${ratio.toFixed(2)}  (target <= 1.0)`);
    console.log(`  accuracy sieve - PyTorch: ${gap >= 0 ? '+' : ''}${gap.toFixed(4)}  (target: within 0.005)`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rounds = Number(arg('--rounds', '5'));
  const which = arg('--problem', 'all');
  const threads = Number(arg('--threads', '2'));
  const torchThreads = Number(arg('--torch-threads', '2'));
  const firstSeed = Number(arg('--first-seed', '0'));
  if (!Number.isInteger(rounds) || rounds < 1) { console.error('--rounds needs a positive integer'); process.exit(2); }
  if (!Number.isInteger(firstSeed) || firstSeed < 0) { console.error('--first-seed needs a non-negative integer'); process.exit(2); }
  const chosen = PROBLEMS.filter((p) => which === 'all' || p.name === which);
  if (!chosen.length) { console.error(`--problem: one of ${PROBLEMS.map((p) => p.name).join(', ')}, all`); process.exit(2); }
  if (!FILES.every((f) => existsSync(join(DATA, f)))) {
    console.log(`bench/mlp-vs-torch: skipped, Fashion-MNIST IDX files not found in ${DATA}`);
    return;
  }
  setKernelThreads(threads);
  const torchSkip = torchProbe();
  const train = await load(FILES[0], FILES[1], Math.max(...chosen.map((p) => p.rows)));
  const test = await load(FILES[2], FILES[3], 10000);
  const loadNow = () => loadavg().map((x) => x.toFixed(1)).join(' / ');
  console.log(`bench/mlp-vs-torch: sieve's MLP vs PyTorch, AdamW lr ${LR}, weight decay ${WEIGHT_DECAY}, ${rounds} rounds (ABAB); load average ${loadNow()}`);
  for (const p of chosen) await runProblem(p, rounds, train, test, torchSkip, torchThreads, firstSeed);
  // PyTorch's two OpenMP threads spin and wait on each other: on a machine whose cores are
  // busy with other work its time grows far more than sieve's, so say how busy it was.
  console.log(`\nload average at the end: ${loadNow()} (1 / 5 / 15 min; ${availableParallelism()} cores)`);
  await shutdownKernelThreads();
}

await main();
