/**
 * A small worker pool for independent model fits (several seeds, cross-validation folds).
 *
 *   const results = await runFits([{ kind, params, train, evals: [Xtest], seed }, ...]);
 *
 * A job is pure: its result depends only on its inputs, never on which thread ran it or
 * when, so results (in job order) are bit-identical to runFit() on the calling thread. Big
 * arrays are copied once into SharedArrayBuffers (once per distinct array, however many
 * jobs use it) and shared by all workers instead of being copied per job. The workers are
 * the threads of the project's one pool (compute/pool.ts), kept between batches and never
 * keeping a command from exiting.
 *
 * Inside a worker, the kernels run single-threaded (compute/pool.ts), so a pool of N
 * workers uses N cores.
 */
import { machineThreads, runPooled, shareArray, type ShareCache } from '../compute/pool.ts';
import type { Dataset, ModelKind, ModelSpec, ModelState } from './types.ts';
import { getModel, modelParams } from './models/registry.ts';
import { restorePreprocessor } from './preprocess.ts';

export interface EvalMatrix {
  X: Float32Array;
  n: number;
}

export interface FitJob {
  kind: ModelKind;
  params: ModelSpec['params'];
  /** Training rows (already preprocessed unless `preprocessor` is given). */
  train: Dataset;
  /** Matrices to predict with the fitted model (class probabilities for each). */
  evals?: EvalMatrix[];
  seed: number;
  warmStart?: ModelState;
  /** toJSON() of a fitted Preprocessor, applied in the worker to train.X and every eval. */
  preprocessor?: unknown;
  /** Return the fitted model's state() (e.g. to warm-start a later fit). Default false. */
  returnState?: boolean;
}

export interface FitResult {
  /** Row-major n × k probabilities, one array per eval matrix, in order. */
  proba: Float32Array[];
  iterations: number;
  /** Seconds spent fitting (not predicting). */
  fitSeconds: number;
  /** Seconds spent predicting the eval matrices. */
  predictSeconds: number;
  state?: ModelState;
}

/** Runs one job on the calling thread (what every worker does for its jobs). */
export function runFit(job: FitJob): FitResult {
  let train = job.train;
  let evals = job.evals ?? [];
  if (job.preprocessor !== undefined) {
    const pre = restorePreprocessor(job.preprocessor);
    train = { ...train, X: pre.transform(train.X, train.n), d: pre.dOut };
    evals = evals.map((e) => ({ X: pre.transform(e.X, e.n), n: e.n }));
  }
  const model = getModel(job.kind);
  const t0 = performance.now();
  const fitted = model.fit(train, job.params, { seed: job.seed, warmStart: job.warmStart });
  const t1 = performance.now();
  const proba = evals.map((e) => fitted.predictProba(e.X, e.n));
  return {
    proba,
    iterations: fitted.iterations,
    fitSeconds: (t1 - t0) / 1000,
    predictSeconds: (performance.now() - t1) / 1000,
    ...(job.returnState ? { state: fitted.state() } : {}),
  };
}

/** Job entry for the worker pool: runFit with its arguments as posted. */
export function runFitJob(job: FitJob): FitResult {
  return runFit(job);
}

function shareJob(job: FitJob, cache: ShareCache): FitJob {
  return {
    ...job,
    train: { ...job.train, X: shareArray(job.train.X, cache), y: shareArray(job.train.y, cache) },
    evals: job.evals?.map((e) => ({ X: shareArray(e.X, cache), n: e.n })),
  };
}

export interface RunFitsOptions {
  /** Worker threads; default os.availableParallelism(). 1 runs everything on this thread. */
  threads?: number;
  /** Called after each job finishes (in completion order), e.g. to tick a progress bar. */
  onDone?: (index: number) => void;
}

/** Runs the jobs on a pool of min(threads, jobs) workers; results in job order. */
export async function runFits(jobs: FitJob[], opts: RunFitsOptions = {}): Promise<FitResult[]> {
  const threads = Math.max(1, Math.min(opts.threads ?? machineThreads(), jobs.length));
  if (!Number.isInteger(threads)) throw new Error(`runFits: threads must be an integer, got ${opts.threads}`);
  // Parameters are checked here, on the calling thread, so a bad one is a ModelSpecError
  // rather than a worker's message.
  for (const job of jobs) modelParams(job.kind, job.params);
  if (threads <= 1) {
    return jobs.map((job, i) => { const r = runFit(job); opts.onDone?.(i); return r; });
  }
  const cache: ShareCache = new Map();
  return runPooled<FitJob, FitResult>({
    module: new URL(import.meta.url), // this module, compiled or not
    fn: 'runFitJob',
    jobs,
    workers: threads,
    share: (j) => shareJob(j, cache),
    onDone: opts.onDone,
    onError: (id, message) => new Error(`fit job ${id} (${jobs[id].kind}, seed ${jobs[id].seed}) failed in a worker: ${message}`),
  });
}

