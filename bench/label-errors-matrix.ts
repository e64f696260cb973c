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
 * of the true rate. Every cell (whether it passes or misses at the matrix's noise seed) is drawn
 * again with fresh noise seeds (--judge-seeds, default 1-5; 'none' judges at the seed alone; as
 * many again, up to --judge-max-seeds 20 draws, while an interval is too wide) and judged over
 * all its draws, the matrix's included: it meets a target ("yes") when the mean paired difference
 * sieve − cleanlab is ≥ 0 and its 95% Student-t interval does not lie below 0 nor reach below
 * −0.02 F1 (−0.01 AUROC); "not worse beyond noise" when the mean is below 0 but the interval
 * reaches 0 and lies above that margin; otherwise missed. (Judging only the cells that missed at
 * the seed re-drew unlucky misses and never lucky passes.) The output states the definition
 * next to the verdicts.
 *
 *   npm run bench -- label-errors-matrix
 *   node --import tsx bench/label-errors-matrix.ts [--fashion-rows 10000] [--fashion-offset 0]
 *     [--noise-seed 42] [--kinds fashion,german-credit,adult-like,synth] [--no-python] [--explore]
 *     [--timing-rounds 3] [--timing-cell 'fashion|symmetric 20%'] [--generator mlp|logreg]
 *     [--noise 'symmetric 30%,instance 30%'] [--adult-rows 8000] [--synth-rows 7500] [--keep DIR]
 *     [--noise-seeds 1-20] [--judge-seeds 1-5|none] [--judge-max-seeds 20]
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
import { auditCv, type AnalyserResult, type OosPredictions } from '../src/analysers/types.ts';
import { studentTInterval } from '../compute/stats.ts';
import { applyNoise, auroc, drawsMark, noiseName, pairedVerdict, prf, type NoiseModel, type PairedVerdict } from '../test/fixtures/label-noise.ts';
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

/** A cell's name in the manifest and the cleanlab half's answer: 'kind|noise|seed N'. */
const cellKey = (c: { kind: string; noise: string; seed: number }) => `${c.kind}|${c.noise}|seed ${c.seed}`;

const pyReason = pythonReady();
const work = KEEP ? (mkdirSync(KEEP, { recursive: true }), resolve(KEEP)) : mkdtempSync(join(tmpdir(), 'sieve-le-matrix-'));
const cells: Cell[] = [];
const manifest: { cells: Record<string, unknown>[] } = { cells: [] };
const skippedKinds: string[] = [];
const explore: ExploreRow[] = [];
let timingSplit = null as { split: PoolSplit; kind: OosFeatureKind } | null;

/** A data kind's clean split, the noise generator's probabilities on it, its features file for the Python half. */
interface KindData { clean: PoolSplit; cleanOos: OosPredictions; featFile: string }
const kindData = new Map<string, KindData>();

/**
 * One cell: noise model `nm` drawn with `noiseSeed` on a data kind, sieve's analyser on it, and
 * (when the Python half runs or --keep) its arrays written and listed in `into` for cleanlab.
 */
async function runCell(kind: string, data: KindData, nm: NoiseModel, noiseSeed: number, into: Record<string, unknown>[], log: boolean): Promise<Cell> {
  const { clean, cleanOos, featFile } = data;
  const k = clean.classNames.length;
  const noisy = applyNoise(clean.labels, k, nm, noiseSeed, cleanOos.proba);
  // A fresh features array per cell, so the neighbour space and kNN graph caches don't carry over.
  const split: PoolSplit = { ...clean, labels: noisy.labels, features: clean.features.slice() };
  if (`${kind}|${noiseName(nm)}` === TIMING_CELL && noiseSeed === NOISE_SEEDS[0] && !timingSplit) timingSplit = { split, kind: FEATURE_KIND[kind] };
  const { result, seconds, oos, ctx } = await runSieve(split, FEATURE_KIND[kind]);
  const flags = result.findings.map((f) => (f.flagged ? 1 : 0));
  const score = result.findings.map((f) => f.score);
  const m = prf(flags, noisy.noisy);
  const cell: Cell = {
    kind, noise: noiseName(nm), seed: noiseSeed, n: split.n, k, trueRate: noisy.rate,
    sieve: { ...m, auroc: auroc(score, noisy.noisy), est: Number(result.summary.figures.estimated_noise_rate), seconds },
  };
  if (log) console.log(`  ${kind} · ${cell.noise} · seed ${noiseSeed}: sieve F1 ${m.f1.toFixed(3)} AUROC ${cell.sieve.auroc.toFixed(3)} est ${(cell.sieve.est * 100).toFixed(1)}% (true ${(noisy.rate * 100).toFixed(1)}%) ${seconds.toFixed(1)} s`);
  if (EXPLORE && into === manifest.cells) explore.push(...(await exploreCell(kind, cell.noise, split, oos.proba, noisy.noisy, noisy.rate)));
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
    into.push({ name, n: split.n, k, d: split.d, labels: `${base}.labels.i32`, truth: `${base}.truth.u8`, proba: `${base}.proba.f32`, features: featFile, ...extra });
  }
  return cell;
}

// One BLAS thread: the machine is shared, and oversubscribed BLAS threads only slow both sides down.
const PY_ENV = { ...process.env, PYTHONPATH: CLEANLAB, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };

/** The cleanlab half on a list of cells (same probabilities, then scikit-learn's cross_val_predict). */
function runCleanlab(list: Record<string, unknown>[], forCells: Cell[], file: string): void {
  if (pyReason || !list.length) return;
  writeFileSync(join(work, file), JSON.stringify({ cells: list }));
  console.log(`  running cleanlab on ${list.length} cells (same probabilities, then scikit-learn's cross_val_predict)…`);
  const r = spawnSync(PYTHON, [join(here, '_label_errors_cleanlab.py'), join(work, file)], {
    env: PY_ENV, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`the cleanlab half failed (exit ${r.status})`);
  const out = JSON.parse(r.stdout) as Record<string, Cell['cleanlab']>;
  for (const c of forCells) c.cleanlab = out[cellKey(c)];
}

console.log(`label-errors-matrix: noise seed${MULTI_SEED ? `s ${NOISE_SEEDS.join(',')}` : ` ${NOISE_SEED}`}; fashion rows ${FASHION_OFFSET}..${FASHION_OFFSET + FASHION_ROWS}; cleanlab ${pyReason ?? `2.9.0 at ${CLEANLAB}`}`);
for (const kind of KINDS) {
  const clean = await loadKind(kind);
  if (typeof clean === 'string') { skippedKinds.push(`${kind}: ${clean}`); console.log(`  ${kind}: ${clean}`); continue; }
  // The noise generator's model (test/fixtures/label-error-cells.ts noiseGenerator: an MLP, a
  // family neither detector fits), fitted on the clean labels, 5-fold out-of-sample.
  const cleanOos = await computeOosPredictions({ ...clean, features: clean.features.slice() }, { model: NOISE_GENERATOR_MODEL, folds: 5, seed: 1 });
  const featFile = join(work, `${kind}.features.f32`);
  if (!pyReason || KEEP) writeFileSync(featFile, new Uint8Array(clean.features.buffer, clean.features.byteOffset, clean.features.byteLength));
  const data: KindData = { clean, cleanOos, featFile };
  kindData.set(kind, data);
  for (const nm of NOISE) for (const noiseSeed of NOISE_SEEDS) cells.push(await runCell(kind, data, nm, noiseSeed, manifest.cells, true));
}

if (EXPLORE) printExplore(explore);

runCleanlab(manifest.cells, cells, 'manifest.json');

// ---- judging every cell over the same noise draws ----
// A cell meets a comparison target (F1 ≥ cleanlab's default, AUROC ≥ its self-confidence) when,
// over the matrix's draw and fresh draws of the same cell with JUDGE_SEEDS (new flips of the
// same data), the mean paired difference sieve − cleanlab is ≥ 0 and sieve is not worse beyond
// noise; it is a tie when the mean is below 0 but the 95% Student-t interval of the mean reaches
// 0 and its lower end is above −MARGIN (so a wide interval that could hide a real deficit is not
// a tie). Every cell is drawn the same number of times, whether it passes or misses at the
// matrix's seed: judging only the cells that miss there (the rule before) re-drew the unlucky
// misses and never the lucky passes. With --noise-seeds the seeds given are the draws.
const JUDGE_SEEDS = arg('--judge-seeds', '1-5') === 'none' ? [] : parseSeeds(arg('--judge-seeds', '1-5')).filter((x) => !NOISE_SEEDS.includes(x));
const JUDGE_MAX_SEEDS = Number(arg('--judge-max-seeds', '20'));
const MARGIN = { f1: 0.02, auroc: 0.01 } as const;
type Target = 'f1' | 'auroc';
type Side = 'same' | 'sklearn';
const clValue = (c: Cell, t: Target, side: Side) => { const r = c.cleanlab?.[side]; return r === undefined ? undefined : t === 'f1' ? r.f1 : r.auroc_self_confidence; };
const sieveValue = (c: Cell, t: Target) => (t === 'f1' ? c.sieve.f1 : c.sieve.auroc);
interface Judgement { kind: string; noise: string; target: Target; side: Side; at: number | null; seeds: number; mean: number; low: number | null; high: number | null; ge: number; verdict: PairedVerdict }
function judge(kind: string, noise: string, target: Target, side: Side, over: Cell[], at: number | null): Judgement | null {
  const d = over.filter((c) => clValue(c, target, side) !== undefined).map((c) => sieveValue(c, target) - clValue(c, target, side)!);
  if (!d.length) return null;
  const t = studentTInterval(d);
  const low = t.low ?? t.mean, high = t.high ?? t.mean;
  const verdict = pairedVerdict(low, high, MARGIN[target]);
  return { kind, noise, target, side, at, seeds: d.length, mean: t.mean, low: t.low, high: t.high, ge: d.filter((x) => x >= -1e-9).length, verdict };
}
const groups = new Map<string, Cell[]>();
for (const c of cells) { const g = `${c.kind}|${c.noise}`; groups.set(g, [...(groups.get(g) ?? []), c]); }
/** The draws a cell (kind|noise) is judged on: its matrix draws, then the fresh ones. */
const draws = (g: string) => [...groups.get(g)!, ...judgeCells.filter((x) => `${x.kind}|${x.noise}` === g)];
const judgeCells: Cell[] = [];
const judgements = (g: string): Judgement[] => {
  const cs = groups.get(g)!;
  const [kind, noise] = g.split('|');
  const out: Judgement[] = [];
  for (const target of ['f1', 'auroc'] as const) for (const side of ['same', 'sklearn'] as const) {
    const v = clValue(cs[0], target, side);
    const j = judge(kind, noise, target, side, draws(g), MULTI_SEED || v === undefined ? null : sieveValue(cs[0], target) - v);
    if (j) out.push(j);
  }
  return out;
};
if (!pyReason && !MULTI_SEED && JUDGE_SEEDS.length) {
  let pending = [...groups.keys()].filter((g) => groups.get(g)![0].cleanlab);
  let seeds = JUDGE_SEEDS;
  // Further rounds of as many seeds again, up to JUDGE_MAX_SEEDS draws, for the cells whose interval is still too wide to judge.
  for (let round = 0; pending.length && seeds.length; round++) {
    console.log(`\n  judging ${pending.length} cell${pending.length === 1 ? '' : 's'} over noise seeds ${seeds.join(',')} (besides seed ${NOISE_SEED})…`);
    const list: Record<string, unknown>[] = [];
    const fresh: Cell[] = [];
    for (const g of pending) {
      const c = groups.get(g)![0];
      const nm = NOISE.find((m) => noiseName(m) === c.noise)!;
      for (const x of seeds) fresh.push(await runCell(c.kind, kindData.get(c.kind)!, nm, x, list, false));
    }
    runCleanlab(list, fresh, `judge${round}.json`);
    judgeCells.push(...fresh);
    pending = pending.filter((g) => judgements(g).some((j) => j.verdict === 'undetermined'));
    const used = new Set(judgeCells.map((x) => x.seed));
    const room = JUDGE_MAX_SEEDS - NOISE_SEEDS.length - JUDGE_SEEDS.length * (round + 1);
    seeds = [];
    for (let x = Math.max(...used) + 1; seeds.length < Math.min(JUDGE_SEEDS.length, room); x++) if (!NOISE_SEEDS.includes(x)) seeds.push(x);
  }
}
/** Per cell (kind|noise): its judgements over the draws (none without the Python half or without draws beyond the matrix's). */
const judged = new Map<string, Judgement[]>();
for (const g of groups.keys()) judged.set(g, !pyReason && (MULTI_SEED || JUDGE_SEEDS.length) ? judgements(g) : []);
/** 'yes', 'tie' or 'NO' over the draws (drawsMark); without draws beyond the matrix's (--judge-seeds none): ≥ at the seed. */
function targetMark(g: string, c: Cell, target: Target): 'yes' | 'tie' | 'NO' | '–' {
  if (!c.cleanlab) return '–';
  const js = (judged.get(g) ?? []).filter((j) => j.target === target);
  if (!js.length) return (['same', 'sklearn'] as const).every((side) => { const v = clValue(c, target, side); return v === undefined || sieveValue(c, target) >= v - 1e-9; }) ? 'yes' : 'NO';
  return drawsMark(js);
}

// Timing, ABAB: sieve (OOS + analyser) and scikit-learn cross_val_predict + cleanlab on one cell.
const timing: { sieve: number[]; ref: number[] } = { sieve: [], ref: [] };
if (!pyReason && timingSplit && TIMING_ROUNDS > 0) {
  const timingKey = `${TIMING_CELL}|seed ${NOISE_SEEDS[0]}`;
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
const sg = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
const estOk = (c: Cell) => Math.abs(c.sieve.est - c.trueRate) <= 0.25 * c.trueRate;
function printTable(head: string[], rows: string[][]): void {
  const w = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (r: string[]) => '| ' + r.map((v, j) => v.padEnd(w[j])).join(' | ') + ' |';
  console.log(line(head));
  console.log('| ' + w.map((x) => '-'.repeat(x)).join(' | ') + ' |');
  for (const r of rows) console.log(line(r));
}
const marks = { f1: { yes: 0, tie: 0, NO: 0 }, auroc: { yes: 0, tie: 0, NO: 0 } };
{
  const head = ['data', 'noise', 'seed', 'true', 'sieve P', 'R', 'F1', 'AUROC', 'est', 's', 'CL(same) F1', 'AUROC sc', 'est', 'CL(sklearn) F1', 'AUROC sc', 'est', 's', 'F1≥', 'AUROC≥', 'est±25%'];
  const rows: string[][] = [];
  for (const c of cells) {
    const a = c.cleanlab?.same, b = c.cleanlab?.sklearn;
    const g = `${c.kind}|${c.noise}`;
    const first = groups.get(g)![0] === c;
    const mf = first ? targetMark(g, c, 'f1') : '', ma = first ? targetMark(g, c, 'auroc') : '';
    if (mf !== '' && mf !== '–') marks.f1[mf]++;
    if (ma !== '' && ma !== '–') marks.auroc[ma]++;
    rows.push([
      c.kind, c.noise, String(c.seed), pc(c.trueRate), f3(c.sieve.precision), f3(c.sieve.recall), f3(c.sieve.f1), f3(c.sieve.auroc), pc(c.sieve.est), c.sieve.seconds.toFixed(1),
      f3(a?.f1), f3(a?.auroc_self_confidence), pc(a?.estimated_noise), f3(b?.f1), f3(b?.auroc_self_confidence), pc(b?.estimated_noise), b ? b.seconds.toFixed(1) : '–',
      mf, ma, estOk(c) ? 'yes' : 'NO',
    ]);
  }
  console.log('');
  printTable(head, rows);
}
console.log(`\nsieve: label-errors defaults ${JSON.stringify(labelErrors.defaults)}; out-of-sample cross-validation by pool size ${JSON.stringify(auditCv(cells[0]?.n ?? 0))} up to 10,000 rows, ${JSON.stringify(auditCv(Infinity))} above; model for pixels and embeddings ${JSON.stringify(defaultOosModel('logistic-regression', 'pixels'))}, for tabular ${JSON.stringify(defaultOosModel('logistic-regression', 'tabular'))}`);
console.log('CL(same): cleanlab find_label_issues (prune_by_noise_rate) and self-confidence on sieve\'s out-of-sample probabilities; CL(sklearn): on cross_val_predict(StandardScaler + LogisticRegression) probabilities; est = num_label_issues / n');
if (skippedKinds.length) console.log(`skipped: ${skippedKinds.join('; ')}`);

const allJudgements = [...judged.values()].flat();
if (allJudgements.length) {
  console.log(MULTI_SEED
    ? `\nover noise seeds ${NOISE_SEEDS.join(',')}: paired differences sieve − cleanlab, mean and 95% Student-t interval over the seeds`
    : `\nevery cell at noise seed ${NOISE_SEED} and drawn again with noise seeds ${JUDGE_SEEDS.join(',')} (more for a cell whose interval is too wide, up to ${JUDGE_MAX_SEEDS} draws): paired differences sieve − cleanlab, mean and 95% Student-t interval over its draws`);
  printTable(
    ['data', 'noise', 'target', 'vs', ...(MULTI_SEED ? [] : [`at seed ${NOISE_SEED}`]), 'draws', 'mean [95%]', 'draws ≥', 'verdict'],
    allJudgements.map((j) => [
      j.kind, j.noise, j.target === 'f1' ? 'F1' : 'AUROC', j.side === 'same' ? 'CL(same)' : 'CL(sklearn)', ...(MULTI_SEED ? [] : [j.at === null ? '–' : sg(j.at)]), String(j.seeds),
      j.low === null || j.high === null ? sg(j.mean) : `${sg(j.mean)} [${sg(j.low)}, ${sg(j.high)}]`, `${j.ge}/${j.seeds}`, j.verdict,
    ]),
  );
}
if (pyReason) console.log(`cleanlab half ${pyReason}`);
else if (cells.length) {
  const nCells = groups.size;
  const line = (t: 'f1' | 'auroc') => {
    const m = marks[t];
    const how = judged.size && [...judged.values()].some((js) => js.length) ? 'mean paired difference ≥ 0 over the draws' : '≥ at the seed';
    return `${m.NO ? 'NOT met' : 'met'} (${m.yes} of ${nCells} cells ${how}${m.tie ? `, ${m.tie} not worse beyond noise` : ''}${m.NO ? `, ${m.NO} worse beyond noise or undetermined` : ''})`;
  };
  const firsts = [...groups.values()].map((cs) => cs[0]);
  console.log(`\ntargets: F1 ≥ cleanlab default (both runs) in every cell: ${line('f1')}; AUROC ≥ cleanlab self-confidence (both runs) in every cell: ${line('auroc')}; estimated noise within 25% (relative) of the truth: ${firsts.every(estOk) ? 'met' : 'NOT met'} (${firsts.filter(estOk).length} of ${firsts.length} cells${MULTI_SEED ? `, at seed ${NOISE_SEEDS[0]}` : ''})`);
  console.log(`judged over ${MULTI_SEED ? 'the noise seeds' : `seed ${NOISE_SEED} and fresh noise draws of the same cell, every cell alike`}: "yes": the mean paired difference sieve − cleanlab is ≥ 0 and not worse beyond noise; "not worse beyond noise" (tie): the mean is < 0 but its 95% Student-t interval reaches 0 and its lower end is above −${MARGIN.f1} F1 / −${MARGIN.auroc} AUROC; "ahead": the interval lies above 0; "worse beyond noise": it lies below 0; "undetermined": it reaches 0 but also below the margin (too wide to call a tie: counted as missed)${MULTI_SEED ? '' : `, after ${JUDGE_MAX_SEEDS} draws at most (${JUDGE_SEEDS.length} more at a time)`}. --judge-seeds none: ≥ at the seed.`);
}
if (timing.sieve.length) {
  const ratios = timing.sieve.map((s, i) => s / timing.ref[i]).sort((x, y) => x - y);
  const med = ratios[Math.floor(ratios.length / 2)];
  console.log(`time, ${TIMING_CELL} (ABAB × ${timing.sieve.length}): sieve ${timing.sieve.map((s) => s.toFixed(1)).join('/')} s, scikit-learn cross_val_predict + cleanlab ${timing.ref.map((s) => s.toFixed(1)).join('/')} s; median ratio ${med.toFixed(2)}`);
}
