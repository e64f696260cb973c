/**
 * What the three protocols share: input shapes and their validation, the frozen
 * preprocessing, fitting one model per seed, and scoring predictions with intervals over
 * the whole test split and over named parts of it (e.g. public / private).
 */
import { summariseSeeds, classificationScorer, type MetricSummary, type SeedScorer, type TimingSink } from '../aggregate.ts';
import { checkBootstrapSpec, DEFAULT_BOOTSTRAP, type BootstrapSpec } from '../bootstrap.ts';
import { summariseParts } from '../bootstrap-parts.ts';
import {
  allRows, describeLayout, metricLayout, rowScores, type GroupColumn, type LayoutDescription, type MetricLayout, type MetricTallies, type RowScores,
} from '../metrics.ts';
import { getModel, modelParams } from '../models/registry.ts';
import { fitPreprocessor } from '../preprocess.ts';
import type { Dataset, FittedModel, ModelSpec, ModelState } from '../types.ts';
import { runFits, type FitJob } from '../parallel.ts';
import { expectedWork, MIN_PARALLEL_WORK } from './jobs.ts';
import { classificationReplay, type ClassificationReplay } from '../replay.ts';

import { EvaluatorInputError } from '../errors.ts';

export { EvaluatorInputError };

/** The participant-visible training pool as the evaluator sees it (raw features). */
export interface PoolInput {
  /** Row-major n × d raw features (the model's preprocessing is fitted on all n rows). */
  X: Float32Array;
  n: number;
  d: number;
  /** The pool's (possibly noisy) labels, class indices in [0, k). */
  y: Int32Array;
  k: number;
  /** Class names, for per-class metric names; default "0".."k-1". */
  classNames?: readonly string[];
}

/** The hidden test split. */
export interface TestInput {
  X: Float32Array;
  n: number;
  y: Int32Array;
  /** Group columns (codes aligned with test rows; see encodeGroupColumn). */
  groups?: Record<string, GroupColumn>;
}

/** Structurally the same as src/util/progress.ts's Progress, so a CLI bar can be passed in. */
export interface ProgressSink {
  start(total: number, label?: string): void;
  tick(units?: number): void;
  stop(): void;
}

export interface ScoringOptions {
  /** Percentile bootstrap over test rows; default 1,000 resamples, seed 0. */
  bootstrap?: BootstrapSpec;
  /**
   * Named subsets of test rows (e.g. { public: rows, private: rows }). Each part is scored on
   * its own (bootstrap within the part) in addition to the whole test split.
   */
  parts?: Record<string, Int32Array>;
  /** Positive class (index) for the demographic-parity gap and equalized-odds difference. */
  positiveClass?: number;
  progress?: ProgressSink;
  /**
   * Threads for the fits and for the test parts' bootstraps (1 = this thread only). Default:
   * all cores when the work is big enough to repay them. Never changes a result, only the wall time.
   */
  threads?: number;
  /**
   * Pool and test features already passed through the spec's preprocessing (from
   * prepareFeatures with the same spec, pool and test), to score many submissions on one
   * pool without refitting e.g. PCA each time.
   */
  features?: PreparedFeatures;
  /** Receives the wall seconds of fits, prediction, metrics and bootstrap (`sieve evaluate --timings`). */
  timings?: TimingSink;
}

export interface FitRecord {
  seed: number;
  /** Solver iterations / epochs actually run. */
  iterations: number;
  seconds: number;
}

export interface EvaluationOutput {
  /** Metrics over every test row. */
  metrics: Record<string, MetricSummary>;
  /** Metrics per named part of the test rows (empty when no parts were given). */
  parts: Record<string, Record<string, MetricSummary>>;
  seeds: number[];
  /** Rows and per-class counts of the training set actually fitted. */
  train: { rows: number; class_counts: number[] };
  fits: FitRecord[];
  /** Wall seconds spent fitting the preprocessing and the models (not scoring). */
  fit_seconds: number;
  /** Number of test rows scored. */
  test_rows: number;
  /**
   * What every metric above is computed from, per test part ("all" and each named part) and
   * seed: metricsFromTallies(layoutOf(counts.layout), tallies) gives the per-seed values again.
   */
  counts: { layout: LayoutDescription; parts: Record<string, MetricTallies[]> };
  /** What the bootstrap resamples, per test row (evaluator/replay.ts): intervals re-score from it. */
  replay: ClassificationReplay;
}

// ---------------------------------------------------------------------------------------
// Validation

export function checkSpec(spec: ModelSpec): void {
  if (!Array.isArray(spec.seeds) || spec.seeds.length === 0) {
    throw new EvaluatorInputError('the model spec needs at least one seed', 'model.seeds');
  }
  const bad = spec.seeds.filter((s) => !(Number.isInteger(s) && s >= 0 && s <= 0xffffffff));
  if (bad.length) throw new EvaluatorInputError('seeds must be integers in [0, 2^32)', 'model.seeds', bad, bad.length);
  if (new Set(spec.seeds).size !== spec.seeds.length) {
    throw new EvaluatorInputError('seeds must be distinct', 'model.seeds', spec.seeds);
  }
  modelParams(spec.kind, spec.params); // ModelSpecError on an unknown kind or a bad parameter, before any fit
}

export function checkLabels(y: Int32Array, n: number, k: number, where: string): void {
  if (y.length !== n) throw new EvaluatorInputError(`expected ${n} labels, got ${y.length}`, where);
  const bad: string[] = [];
  let count = 0;
  for (let i = 0; i < n; i++) if (!(y[i] >= 0 && y[i] < k)) { count++; if (bad.length < 5) bad.push(`row ${i}: ${y[i]}`); }
  if (count) throw new EvaluatorInputError(`labels must be class indices in [0, ${k})`, where, bad, count);
}

/**
 * Checks the pool's shape and labels. With `prepared` (ScoringOptions.features: the features
 * after the preprocessing, checked by prepareFeatures) the raw X is never read, so it is not
 * checked either: a caller may then leave it unloaded (src/evaluate/context.ts reads a cached
 * split's arrays only when something reads them).
 */
export function checkPool(pool: PoolInput, prepared?: PreparedFeatures): void {
  if (!(Number.isInteger(pool.k) && pool.k >= 2)) throw new EvaluatorInputError(`need at least 2 classes, got k = ${pool.k}`, 'pool.k');
  if (!(pool.n >= 1 && pool.d >= 1)) throw new EvaluatorInputError(`pool needs n ≥ 1 rows and d ≥ 1 features, got ${pool.n} × ${pool.d}`, 'pool.n');
  if (!prepared && pool.X.length !== pool.n * pool.d) {
    throw new EvaluatorInputError(`pool features have ${pool.X.length} values, expected n × d = ${pool.n} × ${pool.d}`, 'pool.X');
  }
  checkLabels(pool.y, pool.n, pool.k, 'pool.y');
  if (pool.classNames && pool.classNames.length !== pool.k) {
    throw new EvaluatorInputError(`${pool.classNames.length} class names for ${pool.k} classes`, 'pool.classNames');
  }
}

/** Checks the test split's shape, labels and groups (its raw X only without `prepared`, as checkPool). */
export function checkTest(test: TestInput, pool: PoolInput, prepared?: PreparedFeatures): void {
  if (!(test.n >= 1)) throw new EvaluatorInputError(`the test split needs at least one row, got ${test.n}`, 'test.n');
  if (!prepared && test.X.length !== test.n * pool.d) {
    throw new EvaluatorInputError(`test features have ${test.X.length} values, expected n × d = ${test.n} × ${pool.d}`, 'test.X');
  }
  checkLabels(test.y, test.n, pool.k, 'test.y');
  for (const [name, g] of Object.entries(test.groups ?? {})) {
    if (g.codes.length !== test.n) {
      throw new EvaluatorInputError(`group column has ${g.codes.length} codes for ${test.n} test rows`, `test.groups.${name}`);
    }
  }
}

/**
 * Checks that `rows` are distinct indices in [0, n). `allowEmpty` is false for training sets.
 */
export function checkRowIndices(rows: Int32Array, n: number, where: string, allowEmpty = false): void {
  if (!allowEmpty && rows.length === 0) throw new EvaluatorInputError('no rows given', where);
  const seen = new Uint8Array(n);
  const outside: string[] = [], dup: string[] = [];
  let nOutside = 0, nDup = 0;
  for (let j = 0; j < rows.length; j++) {
    const r = rows[j];
    if (!(Number.isInteger(r) && r >= 0 && r < n)) { nOutside++; if (outside.length < 5) outside.push(`position ${j}: ${r}`); continue; }
    if (seen[r]) { nDup++; if (dup.length < 5) dup.push(`position ${j}: row ${r}`); }
    seen[r] = 1;
  }
  if (nOutside) throw new EvaluatorInputError(`row indices must lie in [0, ${n})`, where, outside, nOutside);
  if (nDup) throw new EvaluatorInputError('row indices must be distinct', where, dup, nDup);
}

export function checkScoring(opts: ScoringOptions, test: TestInput, k: number): void {
  if (opts.bootstrap) checkBootstrapSpec(opts.bootstrap);
  for (const [name, rows] of Object.entries(opts.parts ?? {})) checkRowIndices(rows, test.n, `parts.${name}`, true);
  if (opts.positiveClass !== undefined && !(Number.isInteger(opts.positiveClass) && opts.positiveClass >= 0 && opts.positiveClass < k)) {
    throw new EvaluatorInputError(`positive class must be a class index in [0, ${k})`, 'positiveClass', [opts.positiveClass]);
  }
}

// ---------------------------------------------------------------------------------------
// Features and fitting

export interface PreparedFeatures {
  /** Pool rows after the frozen preprocessing, n × d. */
  Xpool: Float32Array;
  /** Test rows after the same preprocessing, nTest × d. */
  Xtest: Float32Array;
  d: number;
  seconds: number;
}

/**
 * Fits the spec's preprocessing on every pool row, then transforms pool and test; or checks
 * and returns `given` (features prepared earlier by the caller).
 */
export function prepareFeatures(spec: ModelSpec, pool: PoolInput, test: TestInput, given?: PreparedFeatures): PreparedFeatures {
  if (given) {
    if (!(given.d >= 1) || given.Xpool.length !== pool.n * given.d || given.Xtest.length !== test.n * given.d) {
      throw new EvaluatorInputError(
        `prepared features do not fit: pool ${given.Xpool.length} and test ${given.Xtest.length} values for d = ${given.d}, ${pool.n} pool and ${test.n} test rows`,
        'features',
      );
    }
    return { ...given, seconds: 0 };
  }
  const t0 = performance.now();
  if (!spec.preprocess) return { Xpool: pool.X, Xtest: test.X, d: pool.d, seconds: 0 };
  const pre = fitPreprocessor(spec.preprocess, pool.X, pool.n, pool.d);
  const Xpool = pre.transform(pool.X, pool.n);
  const Xtest = pre.transform(test.X, test.n);
  return { Xpool, Xtest, d: pre.dOut, seconds: (performance.now() - t0) / 1000 };
}

export function classCounts(y: Int32Array, k: number): number[] {
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < y.length; i++) counts[y[i]]++;
  return counts;
}

export interface SeedFit {
  seed: number;
  proba: Float32Array;
  iterations: number;
  seconds: number;
}

/** Fits one model (cold unless warmStart) on this thread and predicts the given rows. */
export function fitOne(
  spec: ModelSpec,
  train: Dataset,
  Xtest: Float32Array,
  nTest: number,
  seed: number,
  warmStart?: ModelState,
): { fitted: FittedModel; proba: Float32Array; seconds: number } {
  const model = getModel(spec.kind);
  const t0 = performance.now();
  const fitted = model.fit(train, spec.params, { seed, warmStart });
  const seconds = (performance.now() - t0) / 1000;
  return { fitted, proba: fitted.predictProba(Xtest, nTest), seconds };
}

/** The seeds that need a fit of their own: all of them, or only the first for a seedless model. */
export function seedsToFit(spec: ModelSpec): number[] {
  return getModel(spec.kind).seedless ? spec.seeds.slice(0, 1) : [...spec.seeds];
}

/**
 * Fits one model per seed (cold; once for a seedless model) and predicts the test rows, on evaluator/parallel.ts's
 * worker pool when the work repays starting workers (results are the same either way).
 */
export async function fitSeeds(
  spec: ModelSpec,
  train: Dataset,
  Xtest: Float32Array,
  nTest: number,
  threads?: number,
  progress?: ProgressSink,
  timings?: TimingSink,
): Promise<SeedFit[]> {
  const fitted = seedsToFit(spec);
  const jobs: FitJob[] = fitted.map((seed) => ({
    kind: spec.kind, params: spec.params, train, evals: [{ X: Xtest, n: nTest }], seed,
  }));
  const work = expectedWork(train.n, train.d, train.k, jobs.length);
  const t0 = performance.now();
  const results = await runFits(jobs, { threads: threads ?? (work >= MIN_PARALLEL_WORK ? undefined : 1), onDone: () => progress?.tick() });
  if (timings) {
    // The wall time of the batch, split between fitting and predicting as the jobs spent it.
    const wall = (performance.now() - t0) / 1000;
    const fit = results.reduce((s, r) => s + r.fitSeconds, 0), predict = results.reduce((s, r) => s + r.predictSeconds, 0);
    const share = fit + predict > 0 ? predict / (fit + predict) : 0;
    timings.add('fits', wall * (1 - share));
    timings.add('prediction', wall * share);
  }
  if (fitted.length === spec.seeds.length) {
    return results.map((r, i) => ({ seed: spec.seeds[i], proba: r.proba[0], iterations: r.iterations, seconds: r.fitSeconds }));
  }
  // One fit stands for every seed; its time is counted once.
  const [r] = results;
  return spec.seeds.map((seed, i) => ({ seed, proba: r.proba[0], iterations: r.iterations, seconds: i === 0 ? r.fitSeconds : 0 }));
}

// ---------------------------------------------------------------------------------------
// Scoring

export function scoringLayout(pool: PoolInput, test: TestInput, opts: ScoringOptions): MetricLayout {
  return metricLayout(pool.k, { classNames: pool.classNames, groups: test.groups, positiveClass: opts.positiveClass });
}

/** Scores a SeedScorer on all test rows and on every part. */
export function scoreWithParts(
  scorer: SeedScorer,
  nTest: number,
  opts: ScoringOptions,
  /** The summaries of all rows, then of each part in name order, computed already (summariseParts). */
  summaries?: Record<string, MetricSummary>[],
): { metrics: Record<string, MetricSummary>; parts: Record<string, Record<string, MetricSummary>>; counts: Record<string, unknown[]> } {
  const bootstrap = opts.bootstrap ?? DEFAULT_BOOTSTRAP;
  const all = allRows(nTest);
  const summary = (rows: Int32Array, i: number) => summaries?.[i] ?? summariseSeeds(scorer, rows, nTest, bootstrap, opts.timings);
  const metrics = summary(all, 0);
  const parts: Record<string, Record<string, MetricSummary>> = {};
  // Per part ("all" = every test row) and seed: the counts the figures come from (re-scoring).
  const counts: Record<string, unknown[]> = {};
  const countsOf = (rows: Int32Array) => {
    const t0 = performance.now();
    const c = Array.from({ length: scorer.seeds }, (_, s) => scorer.counts?.(s, rows) ?? null);
    opts.timings?.add('metrics', (performance.now() - t0) / 1000);
    return c;
  };
  counts.all = countsOf(all);
  for (const [i, name] of Object.keys(opts.parts ?? {}).sort().entries()) {
    parts[name] = summary(opts.parts![name], i + 1);
    counts[name] = countsOf(opts.parts![name]);
  }
  return { metrics, parts, counts };
}

/** Classification metrics of per-seed test probabilities (the parts' bootstraps on the worker pool when big enough). */
export async function scorePredictions(
  fits: SeedFit[],
  pool: PoolInput,
  test: TestInput,
  opts: ScoringOptions,
): Promise<Pick<EvaluationOutput, 'metrics' | 'parts' | 'counts' | 'replay'>> {
  const t0 = performance.now();
  const layout = scoringLayout(pool, test, opts);
  // One fit standing for every seed (a seedless model) hands the same array to each: scored once.
  const byProba = new Map<Float32Array, RowScores>();
  const scores: RowScores[] = fits.map((f) => {
    let s = byProba.get(f.proba);
    if (!s) byProba.set(f.proba, (s = rowScores(test.y, f.proba, test.n, pool.k)));
    return s;
  });
  const scorer = classificationScorer(layout, scores);
  opts.timings?.add('metrics', (performance.now() - t0) / 1000);
  const partRows = [allRows(test.n), ...Object.keys(opts.parts ?? {}).sort().map((name) => opts.parts![name])];
  const summaries = await summariseParts(layout, scores, partRows, test.n, opts.bootstrap ?? DEFAULT_BOOTSTRAP, { threads: opts.threads, timings: opts.timings });
  const { metrics, parts, counts } = scoreWithParts(scorer, test.n, opts, summaries);
  const t1 = performance.now();
  const replay = classificationReplay(scores, layout.groups.map(({ g }) => g.codes));
  opts.timings?.add('metrics', (performance.now() - t1) / 1000);
  return {
    metrics,
    parts,
    counts: { layout: describeLayout(layout), parts: counts as Record<string, MetricTallies[]> },
    replay,
  };
}

/** Fits on `train` for every seed and scores: the shared tail of selection and relabel. */
export async function trainAndScore(
  spec: ModelSpec,
  pool: PoolInput,
  features: PreparedFeatures,
  train: Dataset,
  test: TestInput,
  opts: ScoringOptions,
): Promise<EvaluationOutput> {
  opts.progress?.start(seedsToFit(spec).length, 'fitting');
  const fits = await fitSeeds(spec, train, features.Xtest, test.n, opts.threads, opts.progress, opts.timings);
  opts.progress?.stop();
  const { metrics, parts, counts, replay } = await scorePredictions(fits, pool, test, opts);
  return {
    metrics,
    parts,
    seeds: [...spec.seeds],
    train: { rows: train.n, class_counts: classCounts(train.y, pool.k) },
    fits: fits.map(({ seed, iterations, seconds }) => ({ seed, iterations, seconds })),
    fit_seconds: features.seconds + fits.reduce((s, f) => s + f.seconds, 0),
    test_rows: test.n,
    counts,
    replay,
  };
}
