/**
 * Mean, standard deviation and bootstrap interval of metrics over seeds.
 *
 * A `SeedScorer` computes a fixed list of scalar metrics for one seed's predictions under a
 * row weighting. `summariseSeeds` evaluates it on the scored rows for every seed (per_seed,
 * mean, sample std) and on each bootstrap resample of those rows: per resample, the metric is
 * recomputed for every seed's predictions and averaged over seeds; ci95 is the 2.5th–97.5th
 * percentile of those averages, extended to the mean where it would miss it (a skewed
 * statistic on few rows, e.g. a parity gap), with the bootstrap bias reported next to it
 * (compute/stats.ts bootstrapInterval). See docs/evaluator.md "Metrics".
 */
import { bootstrapInterval } from '../compute/stats.ts';
import { forEachResample, forEachResampleCounts, type BootstrapSpec } from './bootstrap.ts';
import {
  computeMetrics, computeMetricsCounts, gatherScores, groupMetricNotes, MetricScratch, talliesOf, type GatheredScores, type MetricLayout, type RowScores,
} from './metrics.ts';

export interface MetricSummary {
  /** Mean over seeds. */
  mean: number;
  /** Sample standard deviation over seeds (ddof = 1); 0 for a single seed. */
  std: number;
  /** Percentile bootstrap interval over test rows of the mean-over-seeds metric; always holds `mean`. */
  ci95: [number, number];
  /** Mean of the bootstrap values minus `mean` (NaN without resamples). */
  bias: number;
  /** True when ci95 was extended to reach `mean` (the percentiles missed it). */
  ci_extended?: true;
  /** Figures from groups too small to judge, or not judged, say so here (see groupMetricNotes). */
  note?: string;
  per_seed: number[];
}

export interface SeedScorer {
  names: string[];
  seeds: number;
  /** Fills `out` with the metrics of seed index `s` over `rows` weighted by `weights` (1 if null). */
  compute(s: number, rows: Int32Array, weights: Int32Array | null, out: Float64Array): void;
  /** Notes by metric name for these rows (e.g. a group too small to judge). */
  notes?(rows: Int32Array): Record<string, string>;
  /** The counts the metrics of seed `s` over `rows` (unweighted) are computed from, as JSON (for re-scoring). */
  counts?(s: number, rows: Int32Array): unknown;
  /**
   * For each seed, the first seed whose predictions are identical to its own (itself when
   * none is): identical inputs give identical metrics, so `summariseSeeds` computes them once
   * per resample and adds the same values in the same order (a seedless model's five seeds
   * cost one). Absent: every seed is its own.
   */
  firstIdentical?: readonly number[];
  /**
   * The bootstrap's fast path, optional: for fixed `rows`, a function filling `out` with seed
   * s's metrics under per-position multiplicities (`counts[j]` = times rows[j] was drawn),
   * bit-identical to compute(s, rows, weights, out) with weights[rows[j]] = counts[j]; null
   * where it has none for these rows (summariseSeeds then resamples by weights).
   */
  resampler?(rows: Int32Array): Resampler | null;
}

/** SeedScorer.resampler's scorer of one resample; `close` (called once the resamples are done) frees what it holds. */
export type Resampler = ((s: number, counts: Int32Array, out: Float64Array) => void) & { close?(): void };

/** Wall seconds of the scoring phases, for `sieve evaluate --timings` (never part of a result). */
export interface TimingSink {
  add(phase: 'fits' | 'prediction' | 'metrics' | 'bootstrap', seconds: number): void;
}

export function meanAndStd(values: readonly number[]): { mean: number; std: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN };
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  if (n === 1) return { mean, std: Number.isNaN(mean) ? NaN : 0 };
  let ss = 0;
  for (const v of values) ss += (v - mean) * (v - mean);
  return { mean, std: Math.sqrt(ss / (n - 1)) };
}

/** Metric summaries keyed by metric name. `nTotal` is the length of the weights arrays. */
export function summariseSeeds(
  scorer: SeedScorer,
  rows: Int32Array,
  nTotal: number,
  bootstrap: BootstrapSpec,
  timings?: TimingSink,
): Record<string, MetricSummary> {
  const t0 = performance.now();
  const nm = scorer.names.length;
  const S = scorer.seeds;
  const first = scorer.firstIdentical ?? Array.from({ length: S }, (_, s) => s);
  if (first.length !== S || first.some((f, s) => !(Number.isInteger(f) && f >= 0 && f <= s && first[f] === f))) {
    throw new RangeError(`summariseSeeds: firstIdentical must name, for each of ${S} seeds, an earlier or the same seed that names itself`);
  }
  // outs[s]: the metrics of seed s; a seed identical to an earlier one reads that one's values.
  const outs = Array.from({ length: S }, (_, s) => (first[s] === s ? new Float64Array(nm) : null));
  const valuesOf = (s: number) => outs[first[s]]!;
  const perSeed: number[][] = scorer.names.map(() => []);
  for (let s = 0; s < S; s++) {
    if (first[s] === s) scorer.compute(s, rows, null, outs[s]!);
    const out = valuesOf(s);
    for (let m = 0; m < nm; m++) perSeed[m].push(out[m]);
  }
  const t1 = performance.now();
  // boot[m * samples + b] = metric m averaged over seeds on resample b (summed in seed order).
  const samples = bootstrap.samples;
  const boot = new Float64Array(nm * samples);
  const acc = new Float64Array(nm);
  const average = (b: number) => {
    acc.fill(0);
    for (let s = 0; s < S; s++) {
      const out = valuesOf(s);
      for (let m = 0; m < nm; m++) acc[m] += out[m];
    }
    for (let m = 0; m < nm; m++) boot[m * samples + b] = acc[m] / S;
  };
  const resampled = samples > 0 && rows.length > 0 ? scorer.resampler?.(rows) ?? null : null;
  if (resampled) {
    try {
      forEachResampleCounts(rows.length, bootstrap, (b, counts) => {
        for (let s = 0; s < S; s++) if (first[s] === s) resampled(s, counts, outs[s]!);
        average(b);
      });
    } finally {
      resampled.close?.();
    }
  } else {
    forEachResample(rows, nTotal, bootstrap, (b, weights) => {
      for (let s = 0; s < S; s++) if (first[s] === s) scorer.compute(s, rows, weights, outs[s]!);
      average(b);
    });
  }
  const t2 = performance.now();
  const result: Record<string, MetricSummary> = {};
  const notes = scorer.notes?.(rows) ?? {};
  for (let m = 0; m < nm; m++) {
    const { mean, std } = meanAndStd(perSeed[m]);
    const iv = samples > 0 && rows.length > 0
      ? bootstrapInterval(boot.subarray(m * samples, (m + 1) * samples), mean, { method: 'percentile' })
      : null;
    const summary: MetricSummary = { mean, std, ci95: iv ? [iv.low, iv.high] : [NaN, NaN], bias: iv ? iv.bias : NaN, per_seed: perSeed[m] };
    if (iv?.extended) summary.ci_extended = true;
    const note = notes[scorer.names[m]];
    if (note !== undefined) summary.note = note;
    result[scorer.names[m]] = summary;
  }
  timings?.add('metrics', (t1 - t0 + performance.now() - t2) / 1000);
  timings?.add('bootstrap', (t2 - t1) / 1000);
  return result;
}

/** Whether two seeds' row scores are the same in every field metrics read. */
function sameRowScores(a: RowScores, b: RowScores): boolean {
  if (a === b) return true;
  if (a.n !== b.n || a.k !== b.k) return false;
  const eq = (x: ArrayLike<number>, y: ArrayLike<number>) => {
    if (x === y) return true;
    if (x.length !== y.length) return false;
    // Object.is: NaN equals NaN, and -0 is not +0 (either could change a sum's bits).
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
    return true;
  };
  return eq(a.yTrue, b.yTrue) && eq(a.pred, b.pred) && eq(a.confidence, b.confidence) && eq(a.nll, b.nll) && eq(a.bin, b.bin);
}

/** For each seed, the first seed with identical row scores (SeedScorer.firstIdentical). */
export function firstIdenticalSeeds(perSeed: readonly RowScores[]): number[] {
  const first: number[] = [];
  for (let s = 0; s < perSeed.length; s++) {
    let f = s;
    for (let t = 0; t < s; t++) if (first[t] === t && sameRowScores(perSeed[t], perSeed[s])) { f = t; break; }
    first.push(f);
  }
  return first;
}

function distinctRows(rows: Int32Array, n: number): boolean {
  const seen = new Uint8Array(n);
  for (let j = 0; j < rows.length; j++) {
    const r = rows[j];
    if (!(r >= 0 && r < n) || seen[r]) return false;
    seen[r] = 1;
  }
  return true;
}

/** The classification-metric scorer over one RowScores per seed. */
export function classificationScorer(layout: MetricLayout, perSeed: RowScores[]): SeedScorer {
  const scratch = new MetricScratch(layout);
  return {
    names: layout.names,
    seeds: perSeed.length,
    firstIdentical: firstIdenticalSeeds(perSeed),
    compute(s, rows, weights, out) {
      computeMetrics(perSeed[s], layout, rows, weights, out, scratch);
    },
    // Judging depends on the true labels and groups only, the same for every seed.
    notes: (rows) => (perSeed.length && layout.groups.length ? groupMetricNotes(perSeed[0], layout, rows) : {}),
    counts(s, rows) {
      computeMetrics(perSeed[s], layout, rows, null, new Float64Array(layout.names.length), scratch);
      return talliesOf(scratch);
    },
    resampler(rows) {
      // Positions stand for rows only when no row repeats (parts are distinct rows; a caller's may not be).
      if (perSeed.length === 0 || !distinctRows(rows, perSeed[0].n)) return null;
      const gathered = new Map<number, GatheredScores>();
      let weights: Int32Array | null = null;
      const score: Resampler = (s, counts, out) => {
        let g = gathered.get(s);
        if (!g) gathered.set(s, (g = gatherScores(perSeed[s], layout, rows, scratch)));
        if (g.finite) {
          computeMetricsCounts(g, layout, counts, out, scratch);
          return;
        }
        // A non-finite probability: score by weights, as compute() does (it skips undrawn rows).
        weights ??= new Int32Array(perSeed[s].n);
        for (let j = 0; j < rows.length; j++) weights[rows[j]] = counts[j];
        computeMetrics(perSeed[s], layout, rows, weights, out, scratch);
      };
      // The gathered scores hold kernel memory (released in reverse order of taking).
      score.close = () => { for (const g of [...gathered.values()].reverse()) g.release(); gathered.clear(); };
      return score;
    },
  };
}
