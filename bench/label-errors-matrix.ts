/**
 * Label errors under every noise model: sieve's label-errors analyser (its defaults, through an
 * audit context exactly as `sieve audit` runs it) against cleanlab 2.9.0 over a matrix of
 * noise models × data kinds, measured in the same run.
 *
 * Noise models (test/fixtures/label-noise.ts): symmetric 10/20/40%, class-conditional pair
 * flips c → c+1 at 20/40% of every class, confusable-class 20% (flips only among classes a
 * clean-label model confuses), instance-dependent 20% (uncertain rows flip to the clean
 * model's second choice). The clean-label model is a one-hidden-layer MLP on the standardised
 * raw features (test/fixtures/label-error-cells.ts noiseGenerator), a family neither side
 * fits, so neither is handed the generator's own confusions (`--generator logreg`: the earlier
 * logistic regression on the raw features, scikit-learn's own model). Data kinds (test/fixtures/label-error-cells.ts): Fashion-MNIST
 * pixels (10,000 images from $SIEVE_DATA/fashion-mnist, skipped without them), the built-in
 * german-credit pool (700 rows), Adult-like census rows one-hot (8,000), synthetic embeddings
 * (`sieve pool synth`'s generator, 7,500 × 64, 10 classes).
 *
 * Per cell: precision, recall and F1 of sieve's flags, AUROC of its ranking score, its
 * estimated noise rate against the true one, seconds (out-of-sample fit with the audit's
 * cross-validation for the pool's size, src/analysers/types.ts auditCv, + analyser); then
 * cleanlab's find_label_issues (default prune_by_noise_rate) and self-confidence AUROC (a) on
 * the same out-of-sample probabilities and (b) on scikit-learn's cross_val_predict
 * probabilities (StandardScaler + LogisticRegression, 5 folds). The Python half needs Debian's
 * python3-sklearn and the cleanlab copy in ../shared/reference (or $CLEANLAB_PATH); it is
 * skipped cleanly without them.
 *
 * Targets: sieve F1 ≥ cleanlab default F1 (a and b) in every cell; sieve ranking AUROC ≥
 * cleanlab self-confidence AUROC (a and b) in every cell; estimated noise within 25% (relative)
 * of the true rate.
 *
 *   npm run bench -- label-errors-matrix
 *   node --import tsx bench/label-errors-matrix.ts [--fashion-rows 10000] [--fashion-offset 0]
 *     [--noise-seed 42] [--kinds fashion,german-credit,adult-like,synth] [--no-python] [--explore]
 *     [--timing-rounds 3] [--timing-cell 'fashion|symmetric 20%'] [--generator mlp|logreg]
 *     [--noise 'symmetric 30%,instance 30%'] [--adult-rows 8000] [--synth-rows 7500] [--keep DIR]
 *     [--noise-seeds 1-20]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labelErrorScores, labelErrors } from '../src/analysers/label-errors.ts';
import { computeOosPredictions, defaultOosModel, type AuditModelSpec, type OosFeatureKind } from '../src/analysers/oos.ts';
import { createAuditContext } from '../src/analysers/context.ts';
import type { PoolSplit } from '../src/pool/types.ts';
import type { Progress } from '../src/util/progress.ts';
import { auditCv, type AnalyserResult } from '../src/analysers/types.ts';
import { studentTInterval } from '../compute/stats.ts';
import { applyNoise, auroc, noiseName, prf, type NoiseModel } from '../test/fixtures/label-noise.ts';
import { adultLike, fashionFromIdx, fashionIdxAvailable, germanCredit, noiseGenerator, synthEmbeddings } from '../test/fixtures/label-error-cells.ts';
import { exploreCell, printExplore, type ExploreRow } from './_label-errors-explore.ts';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name: string, dflt: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const flag = (name: string) => process.argv.includes(name);

const FASHION_ROWS = Number(arg('--fashion-rows', '10000'));
const FASHION_OFFSET = Number(arg('--fashion-offset', '0'));
const NOISE_SEED = Number(arg('--noise-seed', '42'));
/**
 * `--noise-seeds 1-20` (or `1,5,9`): every cell once per seed (new flips; the data of adult-like
 * and synth stay those of --noise-seed), then per cell the mean F1 of each side and a 95%
 * Student-t interval of the paired difference sieve − cleanlab over the seeds: whether a gap of
 * one cell is more than the spread of one noise draw (and fold assignment) against another.
 */
function parseSeeds(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
    if (!m) throw new Error(`--noise-seeds: '${part}' is not N or N-M`);
    const a = Number(m[1]), b = m[2] === undefined ? a : Number(m[2]);
    for (let x = a; x <= b; x++) out.push(x);
  }
  if (!out.length) throw new Error('--noise-seeds: no seed given');
  return out;
}
const NOISE_SEEDS = process.argv.includes('--noise-seeds') ? parseSeeds(arg('--noise-seeds', '')) : [NOISE_SEED];
const MULTI_SEED = NOISE_SEEDS.length > 1;
const KINDS = arg('--kinds', 'fashion,german-credit,adult-like,synth').split(',');
const ADULT_ROWS = Number(arg('--adult-rows', '8000'));
const SYNTH_ROWS = Number(arg('--synth-rows', '7500'));
const EXPLORE = flag('--explore');
const TIMING_ROUNDS = Number(arg('--timing-rounds', '3'));
const TIMING_CELL = arg('--timing-cell', 'fashion|symmetric 20%');
/** Keep every cell's arrays (labels, truth, probabilities, neighbour label distribution, the generator's clean probabilities) and the manifest in DIR, for analysis outside the benchmark. */
const KEEP = arg('--keep', '');
const CLEANLAB = process.env.CLEANLAB_PATH ?? resolve(here, '..', '..', 'shared', 'reference', 'cleanlab-2.9.0');
const PYTHON = '/usr/bin/python3';

export const NOISE_MODELS: NoiseModel[] = [
  { kind: 'symmetric', rate: 0.1 }, { kind: 'symmetric', rate: 0.2 }, { kind: 'symmetric', rate: 0.4 },
  { kind: 'pair', rate: 0.2 }, { kind: 'pair', rate: 0.4 },
  { kind: 'confusable', rate: 0.2 }, { kind: 'instance', rate: 0.2 },
];

/** `--noise 'symmetric 30%,instance 20%'`: other noise models or rates than the matrix's. */
function parseNoise(spec: string): NoiseModel[] {
  return spec.split(',').map((s) => {
    const m = /^\s*(symmetric|pair|confusable|instance)\s+(\d+(?:\.\d+)?)%\s*$/.exec(s);
    if (!m) throw new Error(`--noise: '${s}' is not 'KIND RATE%' (symmetric, pair, confusable, instance)`);
    return { kind: m[1] as NoiseModel['kind'], rate: Number(m[2]) / 100 };
  });
}
const NOISE = process.argv.includes('--noise') ? parseNoise(arg('--noise', '')) : NOISE_MODELS;

const GENERATOR = arg('--generator', 'mlp');
if (GENERATOR !== 'mlp' && GENERATOR !== 'logreg') throw new Error(`--generator: 'mlp' or 'logreg', got '${GENERATOR}'`);
const NOISE_GENERATOR_MODEL: AuditModelSpec = noiseGenerator(GENERATOR);

const quiet: Progress = { start() {}, tick() {}, stop() {} };

function pythonReady(): string | null {
  if (flag('--no-python')) return 'skipped (--no-python)';
  if (!existsSync(PYTHON)) return `skipped: ${PYTHON} not found`;
  if (!existsSync(join(CLEANLAB, 'cleanlab'))) return `skipped: cleanlab 2.9.0 not found at ${CLEANLAB} (set CLEANLAB_PATH)`;
  const r = spawnSync(PYTHON, ['-c', 'import sklearn, cleanlab.filter'], { env: { ...process.env, PYTHONPATH: CLEANLAB }, encoding: 'utf8' });
  if (r.status !== 0) return `skipped: python3-sklearn or cleanlab's dependencies missing (${(r.stderr || '').trim().split('\n').pop()})`;
  return null;
}

/** What the audit's default model sees each data kind as (src/analysers/oos.ts oosFeatureKind). */
const FEATURE_KIND: Record<string, OosFeatureKind> = { fashion: 'pixels', 'german-credit': 'tabular', 'adult-like': 'tabular', synth: 'embedding' };

async function loadKind(kind: string): Promise<PoolSplit | string> {
  switch (kind) {
    case 'fashion':
      if (!fashionIdxAvailable()) return 'skipped: Fashion-MNIST IDX files not found under $SIEVE_DATA/fashion-mnist';
      return fashionFromIdx(FASHION_ROWS, FASHION_OFFSET);
    case 'german-credit': return germanCredit();
    case 'adult-like': return adultLike(ADULT_ROWS, 1994 + NOISE_SEED);
    case 'synth': return synthEmbeddings(SYNTH_ROWS, { dim: 64, classes: 10, seed: 7 + NOISE_SEED });
    default: throw new Error(`unknown data kind ${kind}`);
  }
}

/** sieve's label-errors analyser on one noisy split, as `sieve audit` runs it. */
async function runSieve(split: PoolSplit, featureKind: OosFeatureKind) {
  const t0 = performance.now();
  const model = defaultOosModel('logistic-regression', featureKind, 0);
  const ctx = createAuditContext({ poolName: 'bench', train: split, model, ...auditCv(split.n), seed: 0, progress: quiet, computeOos: (s, o) => computeOosPredictions(s, o) });
  const result: AnalyserResult = await labelErrors.run(ctx, labelErrors.defaults);
  const seconds = (performance.now() - t0) / 1000;
  return { result, seconds, oos: await ctx.oos(), ctx };
}

interface Cell {
  kind: string; noise: string; seed: number; n: number; k: number; trueRate: number;
  sieve: { precision: number; recall: number; f1: number; auroc: number; est: number; seconds: number };
  cleanlab?: Record<'same' | 'sklearn', { precision: number; recall: number; f1: number; auroc_self_confidence: number; estimated_noise: number; seconds: number; accuracy_vs_given?: number }>;
}

/** A cell's name in the manifest and the cleanlab half's answer: 'kind|noise', '|seed N' with several seeds. */
const cellKey = (c: { kind: string; noise: string; seed: number }) => `${c.kind}|${c.noise}${MULTI_SEED ? `|seed ${c.seed}` : ''}`;

const pyReason = pythonReady();
const work = KEEP ? (mkdirSync(KEEP, { recursive: true }), resolve(KEEP)) : mkdtempSync(join(tmpdir(), 'sieve-le-matrix-'));
const cells: Cell[] = [];
const manifest: { cells: Record<string, unknown>[] } = { cells: [] };
const skippedKinds: string[] = [];
const explore: ExploreRow[] = [];
let timingSplit: { split: PoolSplit; kind: OosFeatureKind } | null = null;

console.log(`label-errors-matrix: noise seed ${NOISE_SEED}; fashion rows ${FASHION_OFFSET}..${FASHION_OFFSET + FASHION_ROWS}; cleanlab ${pyReason ?? `2.9.0 at ${CLEANLAB}`}`);
for (const kind of KINDS) {
  const clean = await loadKind(kind);
  if (typeof clean === 'string') { skippedKinds.push(`${kind}: ${clean}`); console.log(`  ${kind}: ${clean}`); continue; }
  const k = clean.classNames.length;
  // The noise generator's model (test/fixtures/label-error-cells.ts noiseGenerator: an MLP, a
  // family neither detector fits), fitted on the clean labels, 5-fold out-of-sample.
  const cleanOos = await computeOosPredictions({ ...clean, features: clean.features.slice() }, { model: NOISE_GENERATOR_MODEL, folds: 5, seed: 1 });
  const featFile = join(work, `${kind}.features.f32`);
  if (!pyReason || KEEP) writeFileSync(featFile, new Uint8Array(clean.features.buffer, clean.features.byteOffset, clean.features.byteLength));
  for (const nm of NOISE) for (const noiseSeed of NOISE_SEEDS) {
    const noisy = applyNoise(clean.labels, k, nm, noiseSeed, cleanOos.proba);
    // A fresh features array per cell, so the neighbour space and kNN graph caches don't carry over.
    const split: PoolSplit = { ...clean, labels: noisy.labels, features: clean.features.slice() };
    if (`${kind}|${noiseName(nm)}` === TIMING_CELL && noiseSeed === NOISE_SEEDS[0]) timingSplit = { split, kind: FEATURE_KIND[kind] };
    const { result, seconds, oos, ctx } = await runSieve(split, FEATURE_KIND[kind]);
    const flags = result.findings.map((f) => (f.flagged ? 1 : 0));
    const score = result.findings.map((f) => f.score);
    const m = prf(flags, noisy.noisy);
    const cell: Cell = {
      kind, noise: noiseName(nm), seed: noiseSeed, n: split.n, k, trueRate: noisy.rate,
      sieve: { ...m, auroc: auroc(score, noisy.noisy), est: Number(result.summary.figures.estimated_noise_rate), seconds },
    };
    cells.push(cell);
    console.log(`  ${kind} · ${cell.noise}${MULTI_SEED ? ` · seed ${noiseSeed}` : ''}: sieve F1 ${m.f1.toFixed(3)} AUROC ${cell.sieve.auroc.toFixed(3)} est ${(cell.sieve.est * 100).toFixed(1)}% (true ${(noisy.rate * 100).toFixed(1)}%) ${seconds.toFixed(1)} s`);
    if (EXPLORE) explore.push(...(await exploreCell(kind, cell.noise, split, oos.proba, noisy.noisy, noisy.rate)));
    if (!pyReason || KEEP) {
      const name = cellKey(cell);
      const base = join(work, name.replace(/[^a-z0-9]+/gi, '_'));
      writeFileSync(`${base}.labels.i32`, new Uint8Array(noisy.labels.buffer));
      writeFileSync(`${base}.truth.u8`, noisy.noisy);
      writeFileSync(`${base}.proba.f32`, new Uint8Array(oos.proba.buffer, oos.proba.byteOffset, oos.proba.byteLength));
      const extra: Record<string, string> = {};
      if (KEEP) {
        const nb = (await labelErrorScores(ctx, labelErrors.defaults)).neighbours;
        if (nb) { writeFileSync(`${base}.knn.f32`, new Uint8Array(nb.proba.buffer, nb.proba.byteOffset, nb.proba.byteLength)); extra.knn = `${base}.knn.f32`; }
        writeFileSync(`${base}.clean.i32`, new Uint8Array(clean.labels.buffer, clean.labels.byteOffset, clean.labels.byteLength));
        writeFileSync(`${base}.cleanproba.f32`, new Uint8Array(cleanOos.proba.buffer, cleanOos.proba.byteOffset, cleanOos.proba.byteLength));
        Object.assign(extra, { clean: `${base}.clean.i32`, clean_proba: `${base}.cleanproba.f32`, sklearn_proba_out: `${base}.sklearn.f32` });
      }
      manifest.cells.push({ name, n: split.n, k, d: split.d, labels: `${base}.labels.i32`, truth: `${base}.truth.u8`, proba: `${base}.proba.f32`, features: featFile, ...extra });
    }
  }
}


if (EXPLORE) printExplore(explore);

// One BLAS thread: the machine is shared, and oversubscribed BLAS threads only slow both sides down.
const PY_ENV = { ...process.env, PYTHONPATH: CLEANLAB, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
if (!pyReason && manifest.cells.length) {
  writeFileSync(join(work, 'manifest.json'), JSON.stringify(manifest));
  console.log(`  running cleanlab on ${manifest.cells.length} cells (same probabilities, then scikit-learn's cross_val_predict)…`);
  const r = spawnSync(PYTHON, [join(here, '_label_errors_cleanlab.py'), join(work, 'manifest.json')], {
    env: PY_ENV, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`the cleanlab half failed (exit ${r.status})`);
  const out = JSON.parse(r.stdout) as Record<string, Cell['cleanlab']>;
  for (const c of cells) c.cleanlab = out[cellKey(c)];
}

// Timing, ABAB: sieve (OOS + analyser) and scikit-learn cross_val_predict + cleanlab on one cell.
const timing: { sieve: number[]; ref: number[] } = { sieve: [], ref: [] };
if (!pyReason && timingSplit && TIMING_ROUNDS > 0) {
  const timingKey = MULTI_SEED ? `${TIMING_CELL}|seed ${NOISE_SEEDS[0]}` : TIMING_CELL;
  const one = manifest.cells.find((c) => c.name === timingKey)!;
  const m1 = join(work, 'timing.json');
  writeFileSync(m1, JSON.stringify({ cells: [one] }));
  for (let r = 0; r < TIMING_ROUNDS; r++) {
    timing.sieve.push((await runSieve({ ...timingSplit.split, features: timingSplit.split.features.slice() }, timingSplit.kind)).seconds);
    const p = spawnSync(PYTHON, [join(here, '_label_errors_cleanlab.py'), m1], { env: PY_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    timing.ref.push((JSON.parse(p.stdout)[timingKey].sklearn.seconds as number));
  }
}
if (KEEP) writeFileSync(join(work, 'manifest.json'), JSON.stringify(manifest));
else rmSync(work, { recursive: true, force: true });

// ---- the table ----
const f3 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(3));
const pc = (x: number | undefined) => (x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);
const ok = (b: boolean) => (b ? 'yes' : 'NO');
const head = ['data', 'noise', 'true', 'sieve P', 'R', 'F1', 'AUROC', 'est', 's', 'CL(same) F1', 'AUROC sc', 'est', 'CL(sklearn) F1', 'AUROC sc', 'est', 's', 'F1≥', 'AUROC≥', 'est±25%'];
const rows: string[][] = [];
let allF1 = true, allAuroc = true, allEst = true;
for (const c of cells) {
  const a = c.cleanlab?.same, b = c.cleanlab?.sklearn;
  const f1ok = !a || (c.sieve.f1 >= a.f1 - 1e-9 && (!b || c.sieve.f1 >= b.f1 - 1e-9));
  const auok = !a || (c.sieve.auroc >= a.auroc_self_confidence - 1e-9 && (!b || c.sieve.auroc >= b.auroc_self_confidence - 1e-9));
  const estok = Math.abs(c.sieve.est - c.trueRate) <= 0.25 * c.trueRate;
  allF1 &&= f1ok; allAuroc &&= auok; allEst &&= estok;
  rows.push([
    c.kind, c.noise, pc(c.trueRate), f3(c.sieve.precision), f3(c.sieve.recall), f3(c.sieve.f1), f3(c.sieve.auroc), pc(c.sieve.est), c.sieve.seconds.toFixed(1),
    f3(a?.f1), f3(a?.auroc_self_confidence), pc(a?.estimated_noise), f3(b?.f1), f3(b?.auroc_self_confidence), pc(b?.estimated_noise), b ? b.seconds.toFixed(1) : '–',
    a ? ok(f1ok) : '–', a ? ok(auok) : '–', ok(estok),
  ]);
}
const widths = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
const line = (r: string[]) => '| ' + r.map((v, j) => v.padEnd(widths[j])).join(' | ') + ' |';
console.log('\n' + line(head));
console.log('| ' + widths.map((w) => '-'.repeat(w)).join(' | ') + ' |');
for (const r of rows) console.log(line(r));
console.log(`\nsieve: label-errors defaults ${JSON.stringify(labelErrors.defaults)}; out-of-sample cross-validation by pool size ${JSON.stringify(auditCv(cells[0]?.n ?? 0))} up to 10,000 rows, ${JSON.stringify(auditCv(Infinity))} above; model for pixels and embeddings ${JSON.stringify(defaultOosModel('logistic-regression', 'pixels'))}, for tabular ${JSON.stringify(defaultOosModel('logistic-regression', 'tabular'))}`);
console.log('CL(same): cleanlab find_label_issues (prune_by_noise_rate) and self-confidence on sieve\'s out-of-sample probabilities; CL(sklearn): on cross_val_predict(StandardScaler + LogisticRegression) probabilities; est = num_label_issues / n');
if (skippedKinds.length) console.log(`skipped: ${skippedKinds.join('; ')}`);
if (pyReason) console.log(`cleanlab half ${pyReason}`);
else {
  console.log(`targets: F1 ≥ cleanlab default in every cell: ${allF1 ? 'met' : 'NOT met'}; AUROC ≥ cleanlab self-confidence in every cell: ${allAuroc ? 'met' : 'NOT met'}; estimated noise within 25%: ${allEst ? 'met' : 'NOT met'} (${cells.filter((c) => Math.abs(c.sieve.est - c.trueRate) <= 0.25 * c.trueRate).length} of ${cells.length} cells)`);
}
if (MULTI_SEED) {
  // Per cell over the noise seeds: mean F1 of each side, the paired difference with its 95% t interval.
  const groups = new Map<string, Cell[]>();
  for (const c of cells) { const g = `${c.kind}|${c.noise}`; groups.set(g, [...(groups.get(g) ?? []), c]); }
  const sh = ['data', 'noise', 'seeds', 'F1 sieve', 'CL same', 'CL sklearn', 'sieve − same [95%]', 'sieve − sklearn [95%]', '≥ same', '≥ sklearn'];
  const srows: string[][] = [];
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(v.length, 1);
  const diff = (v: number[]) => {
    if (!v.length) return '–';
    const t = studentTInterval(v);
    const sg = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
    return t.low === null || t.high === null ? sg(t.mean) : `${sg(t.mean)} [${sg(t.low)}, ${sg(t.high)}]`;
  };
  for (const [g, cs] of groups) {
    const [kind, noise] = g.split('|');
    const withPy = cs.filter((c) => c.cleanlab);
    const dA = withPy.map((c) => c.sieve.f1 - c.cleanlab!.same.f1);
    const dB = withPy.filter((c) => c.cleanlab!.sklearn).map((c) => c.sieve.f1 - c.cleanlab!.sklearn.f1);
    srows.push([
      kind, noise, String(cs.length), f3(mean(cs.map((c) => c.sieve.f1))),
      withPy.length ? f3(mean(withPy.map((c) => c.cleanlab!.same.f1))) : '–',
      dB.length ? f3(mean(withPy.map((c) => c.cleanlab!.sklearn.f1))) : '–',
      diff(dA), diff(dB),
      withPy.length ? `${dA.filter((d) => d >= -1e-9).length}/${dA.length}` : '–',
      dB.length ? `${dB.filter((d) => d >= -1e-9).length}/${dB.length}` : '–',
    ]);
  }
  const sw = sh.map((h, j) => Math.max(h.length, ...srows.map((r) => r[j].length)));
  const sl = (r: string[]) => '| ' + r.map((v, j) => v.padEnd(sw[j])).join(' | ') + ' |';
  console.log(`\nover noise seeds ${NOISE_SEEDS.join(',')} (mean F1; paired differences sieve − cleanlab with a 95% Student-t interval over the seeds):`);
  console.log(sl(sh));
  console.log('| ' + sw.map((w) => '-'.repeat(w)).join(' | ') + ' |');
  for (const r of srows) console.log(sl(r));
}
if (timing.sieve.length) {
  const ratios = timing.sieve.map((s, i) => s / timing.ref[i]).sort((x, y) => x - y);
  const med = ratios[Math.floor(ratios.length / 2)];
  console.log(`time, ${TIMING_CELL} (ABAB × ${timing.sieve.length}): sieve ${timing.sieve.map((s) => s.toFixed(1)).join('/')} s, scikit-learn cross_val_predict + cleanlab ${timing.ref.map((s) => s.toFixed(1)).join('/')} s; median ratio ${med.toFixed(2)}`);
}
