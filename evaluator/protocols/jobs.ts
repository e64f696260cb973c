/**
 * Runs ranking-curve segment jobs (SegmentJob: one cold fit, then warm refits; a chain that
 * evaluator/parallel.ts's single-fit jobs cannot express) on this thread or spread over
 * worker threads. Jobs are pure, results come back in job order, so the thread count never
 * changes a result; it only changes the wall time.
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

/**
 * Runs the jobs on worker threads (on this thread when one thread is enough); `onFit` is
 * called after every fit of every job (progress).
 */
export async function runJobs(jobs: SegmentJob[], threads?: number, onFit?: () => void): Promise<SegmentResult[]> {
  const nThreads = jobThreads(jobs, threads);
  if (nThreads <= 1) return jobs.map((j) => runSegment(j, onFit));
  const cache = new Map<Float32Array, Float32Array>();
  const posted = jobs.map((j) => ({ ...j, X: shared(j.X, cache), Xtest: shared(j.Xtest, cache) }));
  const results: SegmentResult[] = new Array(jobs.length);
  const workers = Array.from({ length: nThreads }, () => new Worker(new URL('./segment-worker.mjs', import.meta.url)));
  let next = 0;
  try {
    await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
      const feed = () => {
        if (next >= posted.length) { resolve(); return; }
        const id = next++;
        w.postMessage({ id, job: posted[id] });
      };
      w.on('message', (msg: { id: number; fit?: true; result?: SegmentResult; error?: string }) => {
        if (msg.fit) { onFit?.(); return; }
        if (msg.error !== undefined) { reject(new Error(`fit job ${msg.id} failed in a worker: ${msg.error}`)); return; }
        results[msg.id] = msg.result!;
        feed();
      });
      w.on('error', reject);
      w.on('exit', (code) => { if (code !== 0) reject(new Error(`fit worker exited with code ${code}`)); });
      feed();
    })));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
