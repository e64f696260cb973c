/**
 * Runs ranking-curve segment jobs (SegmentJob: one cold fit, then warm refits; a chain that
 * evaluator/parallel.ts's single-fit jobs cannot express) on this thread and, when worth it,
 * worker threads. Jobs are pure, results come back in job order, so the thread count and the
 * assignment never change a result; they only change the wall time.
 *
 * Big matrices are copied once into SharedArrayBuffers so every worker reads the same memory
 * instead of receiving its own copy per job.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { runSegment, type SegmentJob, type SegmentResult } from './curve.ts';

function shared<T extends Float32Array | Int32Array>(a: T, cache: Map<T, T>): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  let s = cache.get(a);
  if (!s) {
    const Ctor = a.constructor as { new (buf: SharedArrayBuffer): T };
    s = new Ctor(new SharedArrayBuffer(a.byteLength));
    s.set(a as never);
    cache.set(a, s);
  }
  return s;
}

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
    want = work >= MIN_PARALLEL_WORK ? availableParallelism() : 1;
  }
  return Math.max(1, Math.min(want, jobs.length));
}

/** Cost units of a job for scheduling: a cold fit costs about as much as five warm ones. */
function jobCost(j: SegmentJob): number {
  const fits = j.fixOffsets.length;
  return j.cold ? 5 * fits : 5 + (fits - 1);
}

/** A worker needs a while to start (load the TypeScript modules): counted as this many units. */
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
  const owner = assignJobs(jobs, nThreads);
  const cache = new Map<Float32Array, Float32Array>();
  const results: SegmentResult[] = new Array(jobs.length);
  const workers: Worker[] = [];
  const done: Promise<void>[] = [];
  try {
    for (let t = 1; t < nThreads; t++) {
      const mine = jobs.map((_, i) => i).filter((i) => owner[i] === t);
      if (!mine.length) continue;
      const w = new Worker(new URL('./segment-worker.mjs', import.meta.url));
      workers.push(w);
      done.push(new Promise<void>((resolve, reject) => {
        let left = mine.length;
        w.on('message', (msg: { id: number; fit?: true; result?: SegmentResult; error?: string }) => {
          if (msg.fit) { onFit?.(); return; }
          if (msg.error !== undefined) { reject(new Error(`ranking segment job ${msg.id} failed in a worker: ${msg.error}`)); return; }
          results[msg.id] = msg.result!;
          if (--left === 0) resolve();
        });
        w.on('error', reject);
        w.on('exit', (code) => reject(new Error(`segment worker exited early with code ${code}`)));
      }));
      for (const id of mine) w.postMessage({ id, job: { ...jobs[id], X: shared(jobs[id].X, cache), Xtest: shared(jobs[id].Xtest, cache) } });
    }
    // This thread's share runs while the workers start up and work.
    jobs.forEach((j, i) => { if (owner[i] === 0) results[i] = runSegment(j, onFit); });
    await Promise.all(done);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
