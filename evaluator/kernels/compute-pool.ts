/**
 * Helper threads for synchronous wasm kernels. A kernel call is split into independent
 * tasks (e.g. gradient chunks writing disjoint memory); the calling thread and the helpers
 * claim tasks from a shared atomic counter and the caller blocks (Atomics.wait) until all
 * are done. Each task writes only its own output slots and the caller combines them in a
 * fixed order, so the number of threads and who ran what never changes the result.
 *
 * Helpers are started lazily, unref'd (they never keep the process alive) and only from
 * the main thread: code already running in a worker (parallel.ts fits) stays single-threaded
 * instead of oversubscribing the cores.
 */
import { availableParallelism } from 'node:os';
import { isMainThread, Worker } from 'node:worker_threads';

const NEXT = 0, DONE = 1;
const MAX_TASKS = 0xffff;

/** Claims the next task of generation `gen` (ctrl[NEXT] = gen << 16 | next), or -1. */
function claim(ctrl: Int32Array, gen: number, count: number): number {
  for (;;) {
    const v = Atomics.load(ctrl, NEXT);
    if (v >>> 16 !== gen || (v & 0xffff) >= count) return -1;
    if (Atomics.compareExchange(ctrl, NEXT, v, v + 1) === v) return v & 0xffff;
  }
}

let desiredHelpers: number | null = null;
let helpers: Worker[] = [];
let nextId = 1;

/**
 * Sets how many threads kernels may use in this process (including the calling one);
 * default: all available cores on the main thread, 1 inside workers.
 */
export function setKernelThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`kernel threads must be a positive integer, got ${threads}`);
  desiredHelpers = threads - 1;
  if (helpers.length > desiredHelpers) {
    for (const w of helpers.slice(desiredHelpers)) void w.terminate();
    helpers = helpers.slice(0, desiredHelpers);
  }
}

export function kernelThreads(): number {
  return 1 + helperCount();
}

function helperCount(): number {
  if (desiredHelpers !== null) return desiredHelpers;
  return isMainThread ? Math.max(0, availableParallelism() - 1) : 0;
}

function ensureHelpers(): Worker[] {
  const want = helperCount();
  while (helpers.length < want) {
    const w = new Worker(new URL('./compute-worker.mjs', import.meta.url), { execArgv: [], stdout: false, stderr: false });
    w.unref();
    w.on('error', (e) => { console.error(`sieve kernel helper thread failed: ${e.message}`); });
    helpers.push(w);
  }
  return helpers;
}

/** Stops all helper threads (tests and long-running servers may call this). */
export async function shutdownKernelThreads(): Promise<void> {
  const ws = helpers;
  helpers = [];
  await Promise.all(ws.map((w) => w.terminate()));
}

/**
 * A wasm module instance shared with the helpers. `run(fn, tasks)` calls export `fn` once
 * per argument list in `tasks`, spread over the calling thread and the helpers.
 */
export class SharedKernel<E extends object> {
  private readonly id = nextId++;
  private readonly workers: Worker[];
  private readonly ctrl = new SharedArrayBuffer(8);
  readonly exports: E;
  private closed = false;
  private gen = 0;

  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, exports: E, useHelpers: boolean) {
    this.exports = exports;
    this.workers = useHelpers ? ensureHelpers() : [];
    for (const w of this.workers) w.postMessage({ type: 'attach', id: this.id, module, memory });
  }

  get threads(): number { return 1 + this.workers.length; }

  run(fn: keyof E & string, tasks: number[][]): void {
    if (this.closed) throw new Error('SharedKernel used after close()');
    const f = this.exports[fn] as unknown as (...a: number[]) => unknown;
    if (this.workers.length === 0 || tasks.length < 2) {
      for (const t of tasks) f(...t);
      return;
    }
    if (tasks.length > MAX_TASKS) throw new Error(`SharedKernel.run: at most ${MAX_TASKS} tasks, got ${tasks.length}`);
    const ctrl = new Int32Array(this.ctrl);
    const gen = this.gen = (this.gen + 1) & 0x7fff;
    Atomics.store(ctrl, DONE, 0);
    Atomics.store(ctrl, NEXT, gen << 16);
    for (const w of this.workers) w.postMessage({ type: 'run', id: this.id, fn, tasks, ctrl: this.ctrl, gen });
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

  /** Lets the helpers drop their instance (and with it the reference to the memory). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.workers) w.postMessage({ type: 'detach', id: this.id });
  }
}
