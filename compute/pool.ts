/**
 * The project's one worker pool. Its threads (started lazily, kept between uses, unref'd while
 * idle so they never keep a command from exiting) serve two kinds of work:
 *
 * - **kernel tasks**: a synchronous wasm kernel call split into independent tasks (e.g. gradient
 *   chunks or slabs of dot products writing disjoint memory). The calling thread and the helper
 *   threads claim tasks from a shared atomic counter and the caller blocks (Atomics.wait) until
 *   all are done (`SharedKernel.run`);
 * - **jobs**: a pure exported function of a module (a model fit, a ranking-curve segment, a
 *   share of a neighbour search; or an async one, a server upload's validation) called with
 *   structured-clone-able arguments in a worker (`runPooled`). Big arrays are best passed as
 *   SharedArrayBuffer views (`shareArray`).
 *
 * Either way each task or job writes only its own outputs and callers combine them in a fixed
 * order, so the number of threads and who ran what never changes a bit of a result.
 *
 * Kernel helpers are used only from the main thread: code already running in a worker (a job)
 * runs its kernels single-threaded instead of oversubscribing the cores. A worker busy with a
 * job claims no kernel task (the caller then runs them itself), so the two never deadlock.
 *
 * Handoffs: a helper that has just run kernel tasks lingers a few milliseconds blocked on its
 * doorbell (a shared Int32Array, Atomics.wait) instead of returning to its event loop, and a
 * kernel run in that time reaches it through the doorbell (the tasks in the kernel's shared
 * task table) rather than through postMessage: a fit's hundreds of back-to-back passes then
 * cost a futex wake each, not a structured clone and an event-loop turn. A helper that misses
 * a run (it stopped lingering, or had not attached the kernel yet) only leaves more tasks to
 * the caller, which claims whatever no helper has: the results are the same either way.
 */
import { availableParallelism } from 'node:os';
import { isMainThread, Worker } from 'node:worker_threads';
import { kernelMemory } from './arena.ts';

const NEXT = 0, DONE = 1;
const MAX_TASKS = 0xffff;
/**
 * Doorbell slots (worker.mjs reads the same): the helper's state (IDLE in its event loop,
 * LINGER waiting on the bell), a sequence number (odd while the caller writes a run, bumped
 * to even when it is complete), and the run: kernel id, export index, generation, task count
 * and arguments per task.
 */
const BELL = { STATE: 0, SEQ: 1, KERNEL: 2, FN: 3, GEN: 4, COUNT: 5, ARITY: 6, SLOTS: 8 } as const;
const LINGER = 1;
/** Task-table capacity of a kernel (doubles); a bigger run goes by postMessage. */
const TASK_TABLE = 8192;

/** Claims the next task of generation `gen` (ctrl[NEXT] = gen << 16 | next), or -1. */
function claim(ctrl: Int32Array, gen: number, count: number): number {
  for (;;) {
    const v = Atomics.load(ctrl, NEXT);
    if (v >>> 16 !== gen || (v & 0xffff) >= count) return -1;
    if (Atomics.compareExchange(ctrl, NEXT, v, v + 1) === v) return v & 0xffff;
  }
}

interface PendingJob {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onNote?: (note: unknown) => void;
}

/** One thread of the pool, with the jobs it has been sent and not yet answered. */
class PoolThread {
  readonly worker: Worker;
  readonly pending = new Map<number, PendingJob>();
  /** The helper's doorbell (see BELL). */
  readonly bell = new Int32Array(new SharedArrayBuffer(4 * BELL.SLOTS));
  dead = false;

  constructor() {
    this.worker = new Worker(new URL('./worker.mjs', import.meta.url), { execArgv: [], workerData: { bell: this.bell } });
    this.worker.on('message', (msg: { job: number; ok?: boolean; result?: unknown; error?: string; note?: unknown; retire?: boolean }) => {
      const p = this.pending.get(msg.job);
      if (!p) return;
      if ('note' in msg) { p.onNote?.(msg.note); return; }
      this.pending.delete(msg.job);
      if (this.pending.size === 0) this.worker.unref();
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(msg.error));
      // The thread's module cache holds a failed import (worker.mjs): the next job gets a new thread.
      if (msg.retire) fail(new Error(`worker thread retired after: ${msg.error}`));
    });
    const fail = (err: Error) => {
      if (this.dead) return;
      this.dead = true;
      dropThread(this);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', (e) => fail(e instanceof Error ? e : new Error(String(e))));
    this.worker.on('exit', (code) => fail(new Error(`worker thread exited early with code ${code}`)));
    // Unref only after the listeners are attached: adding a 'message' listener refs the
    // worker's port again, and an idle pool thread would then keep every command alive.
    this.worker.unref();
  }

  post(module: string, fn: string, args: unknown, onNote?: (note: unknown) => void): Promise<unknown> {
    if (this.dead) return Promise.reject(new Error('worker thread is gone'));
    const job = nextJobId++;
    return new Promise((resolve, reject) => {
      this.pending.set(job, { resolve, reject, onNote });
      this.worker.ref();
      this.worker.postMessage({ type: 'job', job, module, fn, args });
    });
  }
}

let threads: PoolThread[] = [];
let nextJobId = 1;

function dropThread(t: PoolThread): void {
  threads = threads.filter((x) => x !== t);
  void t.worker.terminate();
}

/** The first `count` threads of the pool, started as needed. */
function poolThreads(count: number): PoolThread[] {
  while (threads.length < count) threads.push(new PoolThread());
  return threads.slice(0, count);
}

/** Stops every thread of the pool (tests and long-running servers may call this). */
export async function shutdownPool(): Promise<void> {
  const ts = threads;
  threads = [];
  for (const t of ts) t.dead = true;
  await Promise.all(ts.map((t) => t.worker.terminate()));
}

/**
 * Threads the machine offers (worker pools default to this many), capped by SIEVE_THREADS when
 * set (`sieve evaluate --threads N` sets it): every figure is the same at any thread count, and
 * this is how a user checks that, or keeps sieve to part of a shared machine.
 */
export function machineThreads(): number {
  const cap = Number(process.env.SIEVE_THREADS);
  return Number.isInteger(cap) && cap >= 1 ? Math.min(cap, availableParallelism()) : availableParallelism();
}

// ---------------------------------------------------------------------------------------------
// Jobs

export interface PooledRun<A, R> {
  /** Module exporting `fn(args, note) → result` or a promise of it (a file URL; TypeScript modules are fine). */
  module: URL;
  fn: string;
  jobs: A[];
  /** Worker threads to use (the calling thread not counted). */
  workers: number;
  /**
   * Thread per job: 0 runs it on the calling thread through `local` (after every other job has
   * been posted, so the workers start meanwhile), 1..workers on that worker. Default: each idle
   * worker takes the next job (jobs of very different lengths balance themselves).
   */
  owner?: number[];
  /** The calling thread's way of running a job (the same function `module.fn`). */
  local?: (args: A, note: (n: unknown) => void) => R;
  /** Prepares a job's arguments for posting (e.g. shareArray on its big arrays). */
  share?: (args: A) => A;
  onDone?: (index: number) => void;
  onNote?: (index: number, note: unknown) => void;
  /** Error for a job that failed in a worker (default: the worker's message with the job index). */
  onError?: (index: number, message: string) => Error;
}

/** Runs the jobs on the pool (and the calling thread where `owner` says so); results in job order. */
export async function runPooled<A, R>(run: PooledRun<A, R>): Promise<R[]> {
  const { jobs } = run;
  const results: R[] = new Array(jobs.length);
  const module = run.module.href;
  const share = run.share ?? ((a: A) => a);
  const fail = (i: number, err: Error) => run.onError?.(i, err.message) ?? new Error(`job ${i} failed in a worker: ${err.message}`);
  const once = (t: PoolThread, i: number): Promise<void> =>
    t.post(module, run.fn, share(jobs[i]), (n) => run.onNote?.(i, n)).then(
      (r) => { results[i] = r as R; run.onDone?.(i); },
      (e: Error) => { throw fail(i, e); },
    );
  if (run.owner) {
    const owner = run.owner;
    const used = Math.max(0, ...owner);
    const ts = poolThreads(used);
    const remote: Promise<void>[] = [];
    owner.forEach((o, i) => { if (o > 0) remote.push(once(ts[o - 1], i)); });
    // Settle every remote promise even if a local job throws, so no rejection goes unhandled.
    const all = Promise.all(remote);
    all.catch(() => undefined);
    owner.forEach((o, i) => {
      if (o !== 0) return;
      if (!run.local) throw new Error('runPooled: jobs assigned to the calling thread need `local`');
      results[i] = run.local(jobs[i], (n) => run.onNote?.(i, n));
      run.onDone?.(i);
    });
    await all;
    return results;
  }
  const ts = poolThreads(Math.max(1, Math.min(run.workers, jobs.length)));
  let next = 0;
  await Promise.all(ts.map(async (t) => {
    while (next < jobs.length) await once(t, next++);
  }));
  return results;
}

export type Shareable = Float32Array | Float64Array | Int32Array | Uint8Array | Uint32Array;
/** One shared copy per distinct array (see shareArray). */
export type ShareCache = Map<Shareable, Shareable>;

/**
 * A view over a SharedArrayBuffer with the same contents (copied once; `cache` keeps one copy
 * per distinct array however many jobs use it), so workers read it instead of receiving copies.
 */
export function shareArray<T extends Shareable>(a: T, cache?: ShareCache): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  let s = cache?.get(a) as T | undefined;
  if (!s) {
    const Ctor = a.constructor as new (buf: SharedArrayBuffer) => T;
    s = new Ctor(new SharedArrayBuffer(a.byteLength));
    s.set(a as never);
    cache?.set(a, s);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Kernel tasks

let desiredHelpers: number | null = null;
let nextKernelId = 1;

/**
 * Sets how many threads kernels may use in this process (including the calling one);
 * default: all available cores on the main thread, 1 inside workers.
 */
export function setKernelThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`kernel threads must be a positive integer, got ${threads}`);
  desiredHelpers = threads - 1;
}

export function kernelThreads(): number {
  return 1 + helperCount();
}

function helperCount(): number {
  if (desiredHelpers !== null) return desiredHelpers;
  return isMainThread ? Math.max(0, machineThreads() - 1) : 0;
}

/** Stops the pool's threads (the name kernel callers know; the same as shutdownPool). */
export const shutdownKernelThreads = shutdownPool;

/**
 * A compiled kernel instantiated on this thread's kernel memory (arena.ts) and, on first
 * use, on every helper thread. `run(fn, tasks)` calls export `fn` once per argument list,
 * spread over the calling thread and the helpers. One per module and thread (kernelFor).
 */
export class SharedKernel<E extends object> {
  private readonly id = nextKernelId++;
  private readonly ctrl = new SharedArrayBuffer(8);
  /** Task arguments for doorbell runs (task t's a-th argument at t·arity + a). */
  private readonly taskTable = new Float64Array(new SharedArrayBuffer(8 * TASK_TABLE));
  private readonly attached = new WeakSet<Worker>();
  private readonly fnIndex: Map<string, number>;
  readonly exports: E;
  /**
   * How runs reached the helpers: through the doorbell, by message, or not at all because the
   * helper was busy with a job (diagnostics).
   */
  readonly handoffs = { bell: 0, message: 0, busy: 0 };
  private gen = 0;

  constructor(private readonly module: WebAssembly.Module) {
    const memory = kernelMemory();
    this.exports = new WebAssembly.Instance(module, { env: { memory, exp: Math.exp, log: Math.log } }).exports as unknown as E;
    this.fnIndex = new Map(Object.keys(this.exports).map((name, i) => [name, i]));
  }

  /**
   * Calls `fn(...task)` for every task; on helper threads too when `parallel` and there is
   * more than one task. Tasks must write disjoint memory.
   */
  run(fn: keyof E & string, tasks: number[][], parallel = true): void {
    const f = this.exports[fn] as unknown as (...a: number[]) => unknown;
    const helpers = parallel && tasks.length > 1 && helperCount() > 0 ? poolThreads(helperCount()) : [];
    if (helpers.length === 0) {
      for (const t of tasks) f(...t);
      return;
    }
    if (tasks.length > MAX_TASKS) throw new Error(`SharedKernel.run: at most ${MAX_TASKS} tasks, got ${tasks.length}`);
    // The doorbell needs the tasks in the shared table: all of one arity, and room for them.
    const arity = tasks[0].length;
    const tabled = arity > 0 && tasks.length * arity <= TASK_TABLE && tasks.every((t) => t.length === arity);
    if (tabled) {
      const table = this.taskTable;
      for (let t = 0, o = 0; t < tasks.length; t++) for (let a = 0; a < arity; a++) table[o++] = tasks[t][a];
    }
    const ctrl = new Int32Array(this.ctrl);
    const gen = this.gen = (this.gen % 0x7fff) + 1;
    Atomics.store(ctrl, DONE, 0);
    // (After the table: a helper claiming a task of this generation reads what was written.)
    Atomics.store(ctrl, NEXT, gen << 16);
    for (const helper of helpers) {
      const { worker: w, bell } = helper;
      // A helper running a job claims nothing until the job ends, when this run is long over; a
      // message would only wait behind the job, and hundreds of them (one per pass of every fit
      // meanwhile) then held up the jobs posted after them by a linger each.
      if (helper.pending.size > 0) { this.handoffs.busy++; continue; }
      if (!this.attached.has(w)) {
        w.postMessage({ type: 'attach', id: this.id, module: this.module, memory: kernelMemory(), ctrl: this.ctrl, table: this.taskTable.buffer, names: [...this.fnIndex.keys()] });
        this.attached.add(w);
      } else if (tabled && Atomics.load(bell, BELL.STATE) === LINGER) {
        // Seqlock: odd while the fields are written, so a helper never reads half a run.
        Atomics.add(bell, BELL.SEQ, 1);
        Atomics.store(bell, BELL.KERNEL, this.id);
        Atomics.store(bell, BELL.FN, this.fnIndex.get(fn)!);
        Atomics.store(bell, BELL.GEN, gen);
        Atomics.store(bell, BELL.COUNT, tasks.length);
        Atomics.store(bell, BELL.ARITY, arity);
        Atomics.add(bell, BELL.SEQ, 1);
        Atomics.notify(bell, BELL.SEQ);
        this.handoffs.bell++;
        continue;
      }
      w.postMessage({ type: 'run', id: this.id, fn, tasks, ctrl: this.ctrl, gen });
      this.handoffs.message++;
    }
    for (;;) {
      const t = claim(ctrl, gen, tasks.length);
      if (t < 0) break;
      f(...tasks[t]);
      Atomics.add(ctrl, DONE, 1);
    }
    // Wait for tasks claimed by helpers. Helpers that have not woken up yet claim nothing
    // (the counter is already past the end), so this cannot wait on a sleeping thread.
    for (let done = Atomics.load(ctrl, DONE); done < tasks.length; done = Atomics.load(ctrl, DONE)) {
      Atomics.wait(ctrl, DONE, done, 1000);
    }
  }
}

const kernels = new WeakMap<WebAssembly.Module, SharedKernel<object>>();

/** The shared instance of `module` on this thread's kernel memory. */
export function kernelFor<E extends object>(module: WebAssembly.Module): SharedKernel<E> {
  let k = kernels.get(module);
  if (!k) {
    k = new SharedKernel<object>(module);
    kernels.set(module, k);
  }
  return k as SharedKernel<E>;
}
