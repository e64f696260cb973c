/**
 * Runs ranking-curve segment jobs (SegmentJob: one cold fit, then warm refits; a chain that
 * evaluator/parallel.ts's single-fit jobs cannot express) on this thread and, when worth it,
 * the threads of the worker pool (compute/pool.ts). Jobs are pure, results come back in job order, so the thread count and the
 * assignment never change a result; they only change the wall time.
 *
 * Big matrices are copied once into SharedArrayBuffers so every worker reads the same memory
 * instead of receiving its own copy per job.
 */
import { machineThreads, runPooled, shareArray, type ShareCache } from '../../compute/pool.ts';
import { runSegment, type SegmentJob, type SegmentResult } from './curve.ts';

/** Below this many expected multiply-adds, starting workers costs more than it saves. */
export const MIN_PARALLEL_WORK = 1e9;

/** Rough multiply-adds of `fits` fits on n × d inputs and k classes (~100 solver passes each). */
export function expectedWork(n: number, d: number, k: number, fits: number): number {
  return 100 * n * d * k * fits;
}

/**
 * Threads to use: `requested` (1 = this thread only), else the machine's available
 * parallelism when the jobs are big enough to repay starting workers; never more than jobs.
 */
export function jobThreads(jobs: SegmentJob[], requested?: number): number {
  let want = requested;
  if (want === undefined) {
    const work = jobs.reduce((s, j) => s + expectedWork(j.n, j.d, j.k, j.fixOffsets.length), 0);
    want = work >= MIN_PARALLEL_WORK ? machineThreads() : 1;
  }
  return Math.max(1, Math.min(want, jobs.length));
}

/** Cost units of a job for scheduling: a cold fit costs about as much as five warm ones. */
function jobCost(j: SegmentJob): number {
  const fits = j.fixOffsets.length;
  return j.cold ? 5 * fits : 5 + (fits - 1);
}

/** A worker needs a while to start (load the TypeScript modules): counted as this many units (pool threads are kept, so later runs start faster). */
const WORKER_START_COST = 30;

/**
 * Assigns jobs to threads (0 = this thread, 1.. = workers): longest job first to the least
 * loaded thread, workers starting with their start-up cost. Static, so every job is posted
 * at once and this thread works meanwhile instead of waiting for workers to boot.
 */
export function assignJobs(jobs: SegmentJob[], threads: number): number[] {
  const load = Array.from({ length: threads }, (_, t) => (t === 0 ? 0 : WORKER_START_COST));
  const owner = new Array<number>(jobs.length).fill(0);
  const byCost = jobs.map((j, i) => ({ i, c: jobCost(j) })).sort((a, b) => b.c - a.c || a.i - b.i);
  for (const { i, c } of byCost) {
    let best = 0;
    for (let t = 1; t < threads; t++) if (load[t] < load[best]) best = t;
    owner[i] = best;
    load[best] += c;
  }
  return owner;
}

/**
 * Runs the jobs on this thread and `threads − 1` worker threads (only this thread when one
 * is enough); `onFit` is called after every fit of every job (progress).
 */
export async function runJobs(jobs: SegmentJob[], threads?: number, onFit?: () => void): Promise<SegmentResult[]> {
  const nThreads = jobThreads(jobs, threads);
  if (nThreads <= 1) return jobs.map((j) => runSegment(j, onFit));
  const cache: ShareCache = new Map();
  return runPooled<SegmentJob, SegmentResult>({
    module: new URL(import.meta.url), // this module, compiled or not
    fn: 'runSegmentJob',
    jobs,
    workers: nThreads - 1,
    owner: assignJobs(jobs, nThreads),
    local: (j) => runSegment(j, onFit),
    share: (j) => ({ ...j, X: shareArray(j.X, cache), Xtest: shareArray(j.Xtest, cache) }),
    onNote: () => onFit?.(),
    onError: (id, message) => new Error(`ranking segment job ${id} failed in a worker: ${message}`),
  });
}

/** Job entry for the worker pool: one segment, a note after every fit (progress). */
export function runSegmentJob(job: SegmentJob, note: (n: unknown) => void): SegmentResult {
  return runSegment(job, () => note(1));
}

