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
import { forEachResample, type BootstrapSpec } from './bootstrap.ts';
import { computeMetrics, groupMetricNotes, MetricScratch, talliesOf, type MetricLayout, type RowScores } from './metrics.ts';

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
): Record<string, MetricSummary> {
  const nm = scorer.names.length;
  const S = scorer.seeds;
  const out = new Float64Array(nm);
  const perSeed: number[][] = scorer.names.map(() => []);
  for (let s = 0; s < S; s++) {
    scorer.compute(s, rows, null, out);
    for (let m = 0; m < nm; m++) perSeed[m].push(out[m]);
  }
  // boot[m * samples + b] = metric m averaged over seeds on resample b.
  const samples = bootstrap.samples;
  const boot = new Float64Array(nm * samples);
  const acc = new Float64Array(nm);
  forEachResample(rows, nTotal, bootstrap, (b, weights) => {
    acc.fill(0);
    for (let s = 0; s < S; s++) {
      scorer.compute(s, rows, weights, out);
      for (let m = 0; m < nm; m++) acc[m] += out[m];
    }
    for (let m = 0; m < nm; m++) boot[m * samples + b] = acc[m] / S;
  });
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
  return result;
}

/** The classification-metric scorer over one RowScores per seed. */
export function classificationScorer(layout: MetricLayout, perSeed: RowScores[]): SeedScorer {
  const scratch = new MetricScratch(layout);
  return {
    names: layout.names,
    seeds: perSeed.length,
    compute(s, rows, weights, out) {
      computeMetrics(perSeed[s], layout, rows, weights, out, scratch);
    },
    // Judging depends on the true labels and groups only, the same for every seed.
    notes: (rows) => (perSeed.length && layout.groups.length ? groupMetricNotes(perSeed[0], layout, rows) : {}),
    counts(s, rows) {
      computeMetrics(perSeed[s], layout, rows, null, new Float64Array(layout.names.length), scratch);
      return talliesOf(scratch);
    },
  };
}
