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
import { kernelMemory } from './arena.ts';

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
 * A compiled kernel instantiated on this thread's kernel memory (arena.ts) and, on first
 * use, on every helper thread. `run(fn, tasks)` calls export `fn` once per argument list,
 * spread over the calling thread and the helpers. One per module and thread (kernelFor).
 */
export class SharedKernel<E extends object> {
  private readonly id = nextId++;
  private readonly ctrl = new SharedArrayBuffer(8);
  private readonly attached = new WeakSet<Worker>();
  readonly exports: E;
  private gen = 0;

  constructor(private readonly module: WebAssembly.Module) {
    const memory = kernelMemory();
    this.exports = new WebAssembly.Instance(module, { env: { memory, exp: Math.exp, log: Math.log } }).exports as unknown as E;
  }

  /**
   * Calls `fn(...task)` for every task; on helper threads too when `parallel` and there is
   * more than one task. Tasks must write disjoint memory.
   */
  run(fn: keyof E & string, tasks: number[][], parallel = true): void {
    const f = this.exports[fn] as unknown as (...a: number[]) => unknown;
    const workers = parallel && tasks.length > 1 ? ensureHelpers() : [];
    if (workers.length === 0) {
      for (const t of tasks) f(...t);
      return;
    }
    if (tasks.length > MAX_TASKS) throw new Error(`SharedKernel.run: at most ${MAX_TASKS} tasks, got ${tasks.length}`);
    const ctrl = new Int32Array(this.ctrl);
    const gen = this.gen = (this.gen % 0x7fff) + 1;
    Atomics.store(ctrl, DONE, 0);
    Atomics.store(ctrl, NEXT, gen << 16);
    for (const w of workers) {
      if (!this.attached.has(w)) {
        w.postMessage({ type: 'attach', id: this.id, module: this.module, memory: kernelMemory() });
        this.attached.add(w);
      }
      w.postMessage({ type: 'run', id: this.id, fn, tasks, ctrl: this.ctrl, gen });
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
