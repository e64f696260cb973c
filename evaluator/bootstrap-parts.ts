/**
 * The classification summaries of several test parts (all rows, public, private), each part
 * on its own thread of the worker pool (compute/pool.ts) when the resampling is big enough to
 * repay it. A part's summary is summariseSeeds over its rows, a pure function of the row
 * scores, the layout, the rows and the bootstrap spec, with its own stream of resamples: which
 * thread ran it, and how many threads there were, never changes a bit (tested).
 */
import { machineThreads, runPooled, shareArray, type ShareCache } from '../compute/pool.ts';
import { classificationScorer, summariseSeeds, type MetricSummary, type TimingSink } from './aggregate.ts';
import type { BootstrapSpec } from './bootstrap.ts';
import type { MetricLayout, RowScores } from './metrics.ts';

/** Below this many resampled rows in all (rows × resamples over the parts), one thread is faster. */
export const MIN_PARALLEL_RESAMPLED_ROWS = 2_000_000;

export interface PartJob {
  layout: MetricLayout;
  /** One RowScores per seed (the same object for seeds with the same predictions). */
  scores: RowScores[];
  rows: Int32Array;
  nTotal: number;
  bootstrap: BootstrapSpec;
}

/** One part's summaries (the pool's job function; also what the calling thread runs). */
export function summarisePart(job: PartJob, _note?: unknown, timings?: TimingSink): Record<string, MetricSummary> {
  return summariseSeeds(classificationScorer(job.layout, job.scores), job.rows, job.nTotal, job.bootstrap, timings);
}

/**
 * Thread per part (0 = the calling thread): the largest part first to the least loaded thread,
 * each worker starting with a handicap of a quarter of the largest part (a pool thread may
 * still have to start), so a small job never waits for a worker while this thread idles.
 */
export function assignParts(sizes: readonly number[], threads: number): number[] {
  const biggest = Math.max(0, ...sizes);
  const load = Array.from({ length: threads }, (_, t) => (t === 0 ? 0 : biggest / 4));
  const owner = new Array<number>(sizes.length).fill(0);
  const order = sizes.map((s, i) => ({ s, i })).sort((a, b) => b.s - a.s || a.i - b.i);
  for (const { s, i } of order) {
    let best = 0;
    for (let t = 1; t < threads; t++) if (load[t] < load[best]) best = t;
    owner[i] = best;
    load[best] += s;
  }
  return owner;
}

/**
 * summariseSeeds of every part (in the order given), on `threads` threads (default: the
 * machine's, when the parts hold at least MIN_PARALLEL_RESAMPLED_ROWS resampled rows; 1 = this
 * thread only). Timings: per phase on one thread; the wall time as bootstrap on several.
 */
export async function summariseParts(
  layout: MetricLayout,
  scores: RowScores[],
  parts: readonly Int32Array[],
  nTotal: number,
  bootstrap: BootstrapSpec,
  opts: { threads?: number; timings?: TimingSink } = {},
): Promise<Record<string, MetricSummary>[]> {
  const resampled = parts.reduce((s, rows) => s + rows.length, 0) * bootstrap.samples;
  const threads = Math.max(1, Math.min(parts.length, opts.threads ?? (resampled >= MIN_PARALLEL_RESAMPLED_ROWS ? machineThreads() : 1)));
  const jobs: PartJob[] = parts.map((rows) => ({ layout, scores, rows, nTotal, bootstrap }));
  if (threads <= 1) return jobs.map((job) => summarisePart(job, undefined, opts.timings));
  const t0 = performance.now();
  const cache: ShareCache = new Map();
  const shareScores = (s: RowScores): RowScores => ({
    ...s, yTrue: shareArray(s.yTrue, cache), pred: shareArray(s.pred, cache), confidence: shareArray(s.confidence, cache), nll: shareArray(s.nll, cache), bin: shareArray(s.bin, cache),
  });
  // Seeds with the same RowScores object stay one object (firstIdenticalSeeds compares by identity first).
  const shared = new Map<RowScores, RowScores>();
  const sharedScores = scores.map((s) => shared.get(s) ?? (shared.set(s, shareScores(s)), shared.get(s)!));
  const results = await runPooled<PartJob, Record<string, MetricSummary>>({
    module: new URL(import.meta.url), // this module, compiled or not
    fn: 'summarisePart',
    jobs,
    workers: threads - 1,
    owner: assignParts(parts.map((p) => p.length), threads),
    local: (job) => summarisePart(job),
    share: (job) => ({ ...job, scores: sharedScores, rows: shareArray(job.rows, cache) }),
    onError: (i, message) => new Error(`bootstrap of test part ${i} failed in a worker: ${message}`),
  });
  opts.timings?.add('bootstrap', (performance.now() - t0) / 1000);
  return results;
}
