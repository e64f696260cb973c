/**
 * Ranking protocol (DataPerf's debugging challenge): the participant orders pool rows for
 * inspection. The evaluator fixes labels from the evaluator-only clean labels in that order
 * and, on a grid of k (every step by default), retrains and records test accuracy.
 *
 * Reported (docs/evaluator.md "Protocols"):
 * - curve: (k, fraction = k / pool rows, accuracy) at each grid point;
 * - clean_accuracy: the model trained on the fully clean pool (every label fixed);
 * - fraction_to_95: the smallest fraction k / n at which accuracy ≥ 0.95 · clean_accuracy
 *   (0 if the noisy pool already gets there; 1 if the ranking never does);
 * - auc: area under accuracy / clean_accuracy over fraction ∈ [0, 1] (trapezoids between
 *   grid points, flat after the last ranked row, since unranked rows stay noisy);
 * - noisy_accuracy (k = 0) and final_accuracy (after the whole ranking).
 * Every figure has a bootstrap interval over test rows: the per-point test predictions are
 * kept as correctness flips, so a resample re-scores the whole curve in one pass.
 */
import type { MetricSummary, SeedScorer } from '../aggregate.ts';
import type { ModelSpec } from '../types.ts';
import {
  checkLabels, checkPool, checkRowIndices, checkScoring, checkSpec, checkTest, EvaluatorInputError, prepareFeatures,
  scoreWithParts, type PoolInput, type ScoringOptions, type TestInput,
} from './common.ts';
import { planCurve, PointAction, segmentJob, splitFits, type CurvePlan, type SegmentJob } from './curve.ts';
import { runJobs } from './jobs.ts';
import { rankingFigures, RANKING_METRICS } from './ranking-rules.ts';
import { curveReplay, type CurveReplay } from '../replay.ts';
import { getModel } from '../models/registry.ts';

export { RANKING_METRICS };

export interface RankingInput extends ScoringOptions {
  spec: ModelSpec;
  /** The pool as participants see it: `y` holds the noisy labels. */
  pool: PoolInput;
  /** Evaluator-only clean label per pool row. */
  cleanLabels: Int32Array;
  /** Distinct pool rows in inspection order; may cover only a prefix of the pool. */
  order: Int32Array;
  test: TestInput;
  /** Retrain after every `step` fixes (default 1: every step). */
  step?: number;
  /** Seeds the curve is computed with (default: the spec's first seed); figures average them. */
  curveSeeds?: number[];
  /** Independent warm-start chains the curve is split into (default 2; part of the result's definition). */
  segments?: number;
  /**
   * Refit from scratch at every point instead of warm-starting (reference runs). Always the
   * case for models whose warm-started refit is not the cold fit's model (Model.warmStarts).
   */
  cold?: boolean;
}

export interface RankingCurve {
  k: number[];
  fraction: number[];
  /** Test accuracy (all test rows), mean over curve seeds. */
  accuracy: number[];
  /** Per curve seed, when there is more than one. */
  per_seed?: number[][];
  /**
   * Per test part ("all" and each of ScoringOptions.parts), per curve seed: the counts every
   * figure of that part is computed from (rankingFigures), so a record re-scores without refits.
   */
  parts: Record<string, CurveCounts[]>;
}

export interface RankingOutput {
  /** RANKING_METRICS: auc, fraction_to_95, noisy_accuracy, final_accuracy, clean_accuracy, dataperf_fraction_fixes. */
  metrics: Record<string, MetricSummary>;
  parts: Record<string, Record<string, MetricSummary>>;
  seeds: number[];
  curve: RankingCurve;
  ranking: { rows: number; pool_rows: number; noisy_rows: number; noisy_fixed: number; step: number; segments: number };
  /** Model fits actually run (cold ones start a segment or are the clean pool). */
  fits: { cold: number; warm: number; grid_points: number; seconds: number; iterations: { cold: number; warm: number } };
  fit_seconds: number;
  test_rows: number;
  /** What the bootstrap resamples, per test row (evaluator/replay.ts): intervals re-score from it. */
  replay: CurveReplay;
}



/** Per-seed correctness of every grid point, stored as flips from the previous point. */
export interface SeedCurve {
  correct0: Uint8Array;
  cleanCorrect: Uint8Array;
  /** Flips into point p are flips[offsets[p-1] .. offsets[p]); +(r+1) became right, −(r+1) became wrong. */
  flips: Int32Array;
  offsets: Int32Array;
}

function seedCurve(predsAt: (p: number) => Int32Array, cleanPreds: Int32Array, yTest: Int32Array, nPoints: number): SeedCurve {
  const nTest = yTest.length;
  const correct = new Uint8Array(nTest);
  const p0 = predsAt(0);
  for (let i = 0; i < nTest; i++) correct[i] = p0[i] === yTest[i] ? 1 : 0;
  const correct0 = correct.slice();
  const cleanCorrect = new Uint8Array(nTest);
  for (let i = 0; i < nTest; i++) cleanCorrect[i] = cleanPreds[i] === yTest[i] ? 1 : 0;
  const flips: number[] = [];
  const offsets = new Int32Array(nPoints);
  for (let p = 1; p < nPoints; p++) {
    const pr = predsAt(p);
    for (let i = 0; i < nTest; i++) {
      const c = pr[i] === yTest[i] ? 1 : 0;
      if (c !== correct[i]) { flips.push(c ? i + 1 : -(i + 1)); correct[i] = c; }
    }
    offsets[p] = flips.length;
  }
  return { correct0, cleanCorrect, flips: Int32Array.from(flips), offsets };
}

/** One curve's counts over a set of test rows: what every ranking figure is a function of. */
export interface CurveCounts {
  /** Test rows scored. */
  rows: number;
  /** Rows predicted right at each grid point. */
  correct: number[];
  /** Rows the clean-pool model predicts right. */
  clean_correct: number;
}

/** Scores curves under a row weighting: the ranking figures of ranking-rules.ts. */
export function curveScorer(
  curves: SeedCurve[],
  gridK: Int32Array,
  poolRows: number,
  step: number,
): SeedScorer & { accuracies(s: number, rows: Int32Array): Float64Array; counts(s: number, rows: Int32Array): CurveCounts } {
  const nPoints = gridK.length;
  const acc = new Float64Array(nPoints);
  const counts = new Float64Array(nPoints);
  let unitFor: Int32Array | null = null;
  let unit: Int32Array | null = null;
  const unitWeights = (rows: Int32Array, nTest: number): Int32Array => {
    if (unitFor !== rows) {
      unit = new Int32Array(nTest);
      for (let j = 0; j < rows.length; j++) unit[rows[j]] = 1;
      unitFor = rows;
    }
    return unit!;
  };
  /** Fills counts[p] = weighted correct rows at point p; returns [total weight, clean correct]. */
  const fill = (s: number, rows: Int32Array, weights: Int32Array | null): [number, number] => {
    const c = curves[s];
    const w = weights ?? unitWeights(rows, c.correct0.length);
    let total = 0, right = 0, clean = 0;
    for (let j = 0; j < rows.length; j++) {
      const r = rows[j], wr = w[r];
      total += wr;
      right += wr * c.correct0[r];
      clean += wr * c.cleanCorrect[r];
    }
    counts[0] = right;
    for (let p = 1; p < nPoints; p++) {
      for (let q = c.offsets[p - 1]; q < c.offsets[p]; q++) {
        const f = c.flips[q];
        if (f > 0) right += w[f - 1];
        else right -= w[-f - 1];
      }
      counts[p] = right;
    }
    return [total, clean];
  };
  return {
    names: [...RANKING_METRICS],
    seeds: curves.length,
    compute(s, rows, weights, out) {
      const [total, clean] = fill(s, rows, weights);
      rankingFigures(counts, total, clean, gridK, poolRows, step, out);
    },
    accuracies(s, rows) {
      const [total] = fill(s, rows, null);
      for (let p = 0; p < nPoints; p++) acc[p] = counts[p] / total;
      return acc.slice();
    },
    counts(s, rows) {
      const [total, clean] = fill(s, rows, null);
      return { rows: total, correct: Array.from(counts), clean_correct: clean };
    },
  };
}

export async function evaluateRanking(input: RankingInput): Promise<RankingOutput> {
  const { spec, pool, test } = input;
  checkSpec(spec);
  checkPool(pool, input.features);
  checkTest(test, pool, input.features);
  checkScoring(input, test, pool.k);
  checkLabels(input.cleanLabels, pool.n, pool.k, 'cleanLabels');
  checkRowIndices(input.order, pool.n, 'order', true);
  const step = input.step ?? 1;
  if (!(Number.isInteger(step) && step >= 1)) throw new EvaluatorInputError('step must be a positive integer', 'step', [step]);
  const segments = input.segments ?? 2;
  if (!(Number.isInteger(segments) && segments >= 1)) throw new EvaluatorInputError('segments must be a positive integer', 'segments', [segments]);
  const seeds = input.curveSeeds ?? [spec.seeds[0]];
  checkSpec({ ...spec, seeds });

  const cold = input.cold === true || !getModel(spec.kind).warmStarts;
  const t0 = performance.now();
  const features = prepareFeatures(spec, pool, test, input.features);
  const plan: CurvePlan = planCurve(pool.y, input.cleanLabels, input.order, step);
  const chains = splitFits(plan, segments);
  const nPoints = plan.gridK.length;

  // Jobs: per seed, one per chain, then the clean pool.
  const jobs: SegmentJob[] = [];
  for (const seed of seeds) {
    const base = {
      kind: spec.kind, params: spec.params, seed, X: features.Xpool, n: pool.n, d: features.d, k: pool.k,
      Xtest: features.Xtest, nTest: test.n, cleanLabels: input.cleanLabels, cold,
    };
    for (const points of chains) jobs.push(segmentJob(base, pool.y, input.order, plan, points));
    jobs.push({ ...base, startLabels: input.cleanLabels, fixRows: new Int32Array(0), fixOffsets: new Int32Array(1) });
  }
  input.progress?.start(jobs.reduce((s, j) => s + j.fixOffsets.length, 0), 'ranking curve fits');
  const results = await runJobs(jobs, input.threads, () => input.progress?.tick());
  input.progress?.stop();
  const fitSeconds = features.seconds + (performance.now() - t0) / 1000;

  // Where each fitted grid point's predictions are: chain c, fit index f.
  const fitChain = new Int32Array(nPoints).fill(-1), fitIndex = new Int32Array(nPoints);
  chains.forEach((points, c) => points.forEach((p, f) => { fitChain[p] = c; fitIndex[p] = f; }));
  const perChain = chains.length + 1;
  const curves: SeedCurve[] = seeds.map((_, si) => {
    const cleanPreds = results[si * perChain + chains.length].preds;
    const predsOfFit = (p: number) => {
      const r = results[si * perChain + fitChain[p]];
      return r.preds.subarray(fitIndex[p] * test.n, (fitIndex[p] + 1) * test.n);
    };
    // Resolve every grid point to the fit whose data it has.
    const source = new Int32Array(nPoints);
    for (let p = 0; p < nPoints; p++) {
      const a = plan.action[p];
      source[p] = a === PointAction.Clean ? -1 : a === PointAction.Same ? source[p - 1] : p;
    }
    return seedCurve((p) => (source[p] < 0 ? cleanPreds : predsOfFit(source[p])), cleanPreds, test.y, nPoints);
  });

  const fractions = new Float64Array(nPoints);
  for (let p = 0; p < nPoints; p++) fractions[p] = plan.gridK[p] / pool.n;
  const scorer = curveScorer(curves, plan.gridK, pool.n, step);
  const { metrics, parts, counts } = scoreWithParts(scorer, test.n, input);

  const allRows = new Int32Array(test.n);
  for (let i = 0; i < test.n; i++) allRows[i] = i;
  const perSeedAcc = seeds.map((_, s) => Array.from(scorer.accuracies(s, allRows)));
  const meanAcc = perSeedAcc[0].map((_, p) => perSeedAcc.reduce((sum, a) => sum + a[p], 0) / seeds.length);
  let nFits = 0, coldIterations = 0, warmIterations = 0;
  for (const r of results) {
    nFits += r.iterations.length;
    r.iterations.forEach((it, f) => { if (f === 0 || cold) coldIterations += it; else warmIterations += it; });
  }
  const segmentStarts = seeds.length * perChain;
  return {
    metrics,
    parts,
    seeds: [...seeds],
    curve: {
      k: Array.from(plan.gridK),
      fraction: Array.from(fractions),
      accuracy: meanAcc,
      ...(seeds.length > 1 ? { per_seed: perSeedAcc } : {}),
      parts: counts as Record<string, CurveCounts[]>,
    },
    ranking: {
      rows: input.order.length, pool_rows: pool.n, noisy_rows: plan.noisyRows, noisy_fixed: plan.noisyFixed, step,
      segments: chains.length,
    },
    fits: {
      cold: cold ? nFits : segmentStarts,
      warm: cold ? 0 : nFits - segmentStarts,
      grid_points: nPoints,
      seconds: results.reduce((s, r) => s + r.seconds, 0),
      iterations: { cold: coldIterations, warm: warmIterations },
    },
    fit_seconds: fitSeconds,
    test_rows: test.n,
    replay: curveReplay(curves),
  };
}

/** The scorer of a curve replay (the curve's grid, pool rows and step as recorded). */
export function curveReplayScorer(r: CurveReplay, gridK: ArrayLike<number>, poolRows: number, step: number): ReturnType<typeof curveScorer> {
  if (gridK.length !== r.points) throw new RangeError(`replay: ${r.points} curve points for a grid of ${gridK.length}`);
  return curveScorer(r.seedSet.map((i) => r.sets[i]), Int32Array.from(gridK), poolRows, step);
}
