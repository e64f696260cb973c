/**
 * The retraining schedule of a ranking curve, and running it with warm starts.
 *
 * Fixing labels in the submitted order, the model only needs refitting at grid points where
 * some label actually changed since the last fit (fixing a row whose label was already
 * right leaves the training data, hence the fit, exactly as it was), and not at all once
 * every noisy row is fixed (the data is then exactly the clean pool, whose cold fit is
 * computed anyway). The remaining fits are split into a fixed number of contiguous
 * segments; each segment starts with a cold fit and warm-starts every later fit from the
 * previous one. Segments are independent, so they can run on different threads, and since
 * their number is a parameter (not the core count) the curve is bit-identical everywhere.
 */
import type { Dataset, ModelSpec, ModelState } from '../types.ts';
import { argmaxRows } from '../metrics.ts';
import { getModel } from '../models/registry.ts';

/** What happens at each grid point. */
export const PointAction = {
  /** Point 0: cold fit on the noisy pool. */
  Start: 0,
  /** No label changed since the previous point: same fit. */
  Same: 1,
  /** Every noisy row is fixed: the data is the clean pool, use its fit. */
  Clean: 2,
  /** Labels changed: refit. */
  Fit: 3,
} as const;

export interface CurvePlan {
  /** Rows fixed at each grid point (0, step, 2·step, …, order.length). */
  gridK: Int32Array;
  action: Uint8Array;
  /** Grid points with action Fit, ascending. */
  fitPoints: Int32Array;
  /** Noisy rows in the pool, and how many of them the whole ranking fixes. */
  noisyRows: number;
  noisyFixed: number;
}

export function planCurve(noisy: Int32Array, clean: Int32Array, order: Int32Array, step: number): CurvePlan {
  const n = noisy.length;
  let remaining = 0;
  for (let i = 0; i < n; i++) if (noisy[i] !== clean[i]) remaining++;
  const noisyRows = remaining;
  const K = order.length;
  const nPoints = Math.ceil(K / step) + 1;
  const gridK = new Int32Array(nPoints);
  for (let p = 1; p < nPoints; p++) gridK[p] = Math.min(p * step, K);
  const action = new Uint8Array(nPoints);
  action[0] = remaining === 0 ? PointAction.Clean : PointAction.Start;
  const fits: number[] = [];
  for (let p = 1; p < nPoints; p++) {
    let changed = false;
    for (let j = gridK[p - 1]; j < gridK[p]; j++) {
      const r = order[j];
      if (noisy[r] !== clean[r]) { remaining--; changed = true; }
    }
    if (remaining === 0) action[p] = PointAction.Clean;
    else if (changed) { action[p] = PointAction.Fit; fits.push(p); }
    else action[p] = PointAction.Same;
  }
  return { gridK, action, fitPoints: Int32Array.from(fits), noisyRows, noisyFixed: noisyRows - remaining };
}

/** One chain of fits: a cold fit on `startLabels`, then warm fits after each batch of fixes. */
export interface SegmentJob {
  kind: ModelSpec['kind'];
  params: ModelSpec['params'];
  seed: number;
  X: Float32Array;
  n: number;
  d: number;
  k: number;
  Xtest: Float32Array;
  nTest: number;
  /** Labels for the first (cold) fit. */
  startLabels: Int32Array;
  /** Clean label per pool row (source of every fix). */
  cleanLabels: Int32Array;
  /** Rows fixed before fit f (f ≥ 1) are fixRows[fixOffsets[f-1] .. fixOffsets[f]). */
  fixRows: Int32Array;
  fixOffsets: Int32Array;
  /** Refit every step from scratch instead of warm-starting (reference runs, tests, bench). */
  cold?: boolean;
}

export interface SegmentResult {
  /** Arg-max test predictions of fit f at [f·nTest, (f+1)·nTest). */
  preds: Int32Array;
  iterations: Int32Array;
  seconds: number;
}

/** Runs one chain; `onFit` is called after each fit (progress). */
export function runSegment(job: SegmentJob, onFit?: () => void): SegmentResult {
  const t0 = performance.now();
  const model = getModel(job.kind);
  const nFits = job.fixOffsets.length;
  const preds = new Int32Array(nFits * job.nTest);
  const iterations = new Int32Array(nFits);
  const y = Int32Array.from(job.startLabels);
  let state: ModelState | undefined;
  for (let f = 0; f < nFits; f++) {
    if (f > 0) for (let j = job.fixOffsets[f - 1]; j < job.fixOffsets[f]; j++) y[job.fixRows[j]] = job.cleanLabels[job.fixRows[j]];
    const data: Dataset = { X: job.X, n: job.n, d: job.d, y: Int32Array.from(y), k: job.k };
    // Warm start: the model continues from the previous fit's state (for logistic regression
    // its weights, curvature pairs and Hessian factor; see evaluator/models/logreg.ts).
    const fitted = model.fit(data, job.params, { seed: job.seed, warmStart: job.cold ? undefined : state });
    preds.set(argmaxRows(fitted.predictProba(job.Xtest, job.nTest), job.nTest, job.k), f * job.nTest);
    iterations[f] = fitted.iterations;
    if (!job.cold) state = fitted.state();
    onFit?.();
  }
  return { preds, iterations, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Splits the plan's fits into at most `segments` contiguous chains of near-equal length.
 * Chain 0 starts at point 0 (the noisy pool); chain j > 0 starts cold at its first fit point.
 * Returns, per chain, the grid points it fits (in order).
 */
export function splitFits(plan: CurvePlan, segments: number): Int32Array[] {
  const F = plan.fitPoints.length;
  const chains: Int32Array[] = [];
  const S = Math.max(1, Math.min(segments, F + 1));
  // Point 0 counts as a fit of chain 0 for balancing: F + 1 fits in all.
  const all = new Int32Array(F + 1);
  all.set(plan.fitPoints, 1);
  for (let j = 0; j < S; j++) {
    const a = Math.floor((j * (F + 1)) / S), b = Math.floor(((j + 1) * (F + 1)) / S);
    if (b > a) chains.push(all.slice(a, b));
  }
  return chains;
}

/** The job for one chain of grid points (first one fitted cold). */
export function segmentJob(
  base: Omit<SegmentJob, 'startLabels' | 'fixRows' | 'fixOffsets'>,
  noisy: Int32Array,
  order: Int32Array,
  plan: CurvePlan,
  points: Int32Array,
): SegmentJob {
  const startLabels = Int32Array.from(noisy);
  const k0 = plan.gridK[points[0]];
  for (let j = 0; j < k0; j++) startLabels[order[j]] = base.cleanLabels[order[j]];
  const fixOffsets = new Int32Array(points.length);
  const rows: number[] = [];
  for (let f = 1; f < points.length; f++) {
    for (let j = plan.gridK[points[f - 1]]; j < plan.gridK[points[f]]; j++) rows.push(order[j]);
    fixOffsets[f] = rows.length;
  }
  return { ...base, startLabels, fixRows: Int32Array.from(rows), fixOffsets };
}
