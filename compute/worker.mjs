// A thread of the worker pool (see pool.ts). Plain JavaScript on purpose: kernel helpers only
// instantiate modules they are handed and call their exports, so they need no TypeScript
// loader and start in milliseconds. Job modules are compiled JavaScript when the CLI runs from
// dist/; only when the sources run as they are (tests, benchmarks) is tsx registered, on the
// first job whose module is TypeScript.
//
// Messages, in order on one port:
//   { type: 'attach', id, module, memory, ctrl, table, names }
//                                              instantiate wasm `module` on shared `memory`;
//                                              `ctrl`, `table` and export `names` serve doorbell runs
//   { type: 'run', id, fn, tasks, ctrl, gen }  claim tasks via Atomics on ctrl, call fn(...task)
//   { type: 'job', job, module, fn, args }     import `module`, await fn, post { job, ok, result } or
//                                              { job, ok: false, error }; fn's notes as { job, note }
//
// ctrl[0] packs (generation << 16 | next task) so a claim is one compare-and-swap: a late
// 'run' message from an earlier generation can never claim a task of the current one.
//
// After a run the thread lingers up to LINGER_MS blocked on its doorbell (workerData.bell,
// slots as BELL in pool.ts): runs posted there meanwhile (tasks in the kernel's shared table)
// are claimed at once, without a message; then it returns to its event loop (jobs wait that long
// at most). A doorbell run of a kernel not attached yet, or already over, claims nothing.
import { parentPort, workerData } from 'node:worker_threads';

const NEXT = 0, DONE = 1;
const BELL = { STATE: 0, SEQ: 1, KERNEL: 2, FN: 3, GEN: 4, COUNT: 5, ARITY: 6 };
const IDLE = 0, LINGER = 1;
const LINGER_MS = 5;
const bell = workerData?.bell ?? null;
const instances = new Map();
const kernels = new Map();
const modules = new Map();
let tsxReady = null;

/** Claims the next task of generation `gen`, or returns -1 when none is left. */
function claim(ctrl, gen, count) {
  for (;;) {
    const v = Atomics.load(ctrl, NEXT);
    if (v >>> 16 !== gen || (v & 0xffff) >= count) return -1;
    if (Atomics.compareExchange(ctrl, NEXT, v, v + 1) === v) return v & 0xffff;
  }
}

async function load(url) {
  let m = modules.get(url);
  if (!m) {
    if (/\.[cm]?ts$/.test(url)) {
      tsxReady ??= import('tsx/esm/api').then(({ register }) => { register(); });
      await tsxReady;
    }
    m = import(url);
    modules.set(url, m);
  }
  return m;
}

// Jobs run one after another in arrival order. Most bodies are synchronous; an async one (a
// server upload's validation reading a pool and a Parquet file) is awaited, and kernel runs
// posted meanwhile are still claimed (their handler does not wait on the queue).
let queue = Promise.resolve();

/** Claims and runs tasks of generation `gen`; `args(t)` gives task t's arguments. */
function runTasks(ctrl, gen, count, fn, args) {
  for (;;) {
    const t = claim(ctrl, gen, count);
    if (t < 0) break;
    fn(...args(t));
    Atomics.add(ctrl, DONE, 1);
    Atomics.notify(ctrl, DONE);
  }
}

/**
 * Runs `work`, then waits on the doorbell for up to LINGER_MS at a time, running what is rung,
 * and returns. LINGER is set before `work`, so a run rung while this thread still finishes
 * the current one (the caller may be done first) is taken right after it.
 */
function withLinger(work) {
  if (!bell) { work(); return; }
  const seen = Atomics.load(bell, BELL.SEQ);
  Atomics.store(bell, BELL.STATE, LINGER);
  try {
    work();
    lingerOn(seen);
  } finally {
    Atomics.store(bell, BELL.STATE, IDLE);
  }
}

function lingerOn(seen) {
  for (;;) {
    if (Atomics.load(bell, BELL.SEQ) === seen) {
      Atomics.wait(bell, BELL.SEQ, seen, LINGER_MS);
      if (Atomics.load(bell, BELL.SEQ) === seen) {
        Atomics.store(bell, BELL.STATE, IDLE);
        // A run rung between the last look and IDLE is still taken; otherwise leave.
        if (Atomics.load(bell, BELL.SEQ) === seen) return;
        Atomics.store(bell, BELL.STATE, LINGER);
      }
    }
    let s1;
    while ((s1 = Atomics.load(bell, BELL.SEQ)) & 1) Atomics.wait(bell, BELL.SEQ, s1, 1);
    const id = Atomics.load(bell, BELL.KERNEL), fnIndex = Atomics.load(bell, BELL.FN);
    const gen = Atomics.load(bell, BELL.GEN), count = Atomics.load(bell, BELL.COUNT), arity = Atomics.load(bell, BELL.ARITY);
    if (Atomics.load(bell, BELL.SEQ) !== s1) continue; // rewritten meanwhile: read it again
    seen = s1;
    const k = kernels.get(id);
    if (!k) continue; // its attach message is still queued: the caller runs the tasks
    const fn = k.exports[k.names[fnIndex]];
    const table = k.table;
    const args = new Array(arity);
    runTasks(k.ctrl, gen, count, fn, (t) => {
      for (let a = 0, o = t * arity; a < arity; a++, o++) args[a] = table[o];
      return args;
    });
  }
}

parentPort.on('message', (msg) => {
  if (msg.type === 'attach') {
    const inst = new WebAssembly.Instance(msg.module, { env: { memory: msg.memory, exp: Math.exp, log: Math.log } });
    instances.set(msg.id, inst.exports);
    if (msg.ctrl) kernels.set(msg.id, { exports: inst.exports, names: msg.names, ctrl: new Int32Array(msg.ctrl), table: new Float64Array(msg.table) });
  } else if (msg.type === 'run') {
    const fn = instances.get(msg.id)[msg.fn];
    const ctrl = new Int32Array(msg.ctrl);
    // A run two or more generations old (its caller ran the tasks long ago): nothing to claim, and
    // no linger, which would only delay the messages queued behind it. One just missed still
    // lingers: the caller's next run then reaches this thread through the doorbell.
    if (((Atomics.load(ctrl, NEXT) >>> 16) - msg.gen + 0x7fff) % 0x7fff > 1) return;
    withLinger(() => runTasks(ctrl, msg.gen, msg.tasks.length, fn, (t) => msg.tasks[t]));
  } else if (msg.type === 'job') {
    queue = queue.then(async () => {
      try {
        const mod = await load(msg.module);
        const fn = mod[msg.fn];
        if (typeof fn !== 'function') throw new Error(`${msg.module} exports no function ${msg.fn}`);
        const result = await fn(msg.args, (note) => parentPort.postMessage({ job: msg.job, note }));
        parentPort.postMessage({ job: msg.job, ok: true, result });
      } catch (err) {
        const error = err instanceof Error ? `${err.message}` : String(err);
        // Out of file descriptors mid-import (a connection flood): the failed import stays in this
        // thread's module cache and every later job would fail the same way; a fresh thread
        // starts clean (the pool replaces a retired thread).
        const retire = /\bE[MN]FILE\b/.test(error) || err?.code === 'EMFILE' || err?.code === 'ENFILE';
        parentPort.postMessage({ job: msg.job, ok: false, error, ...(retire ? { retire: true } : {}) });
        if (retire) modules.delete(msg.module);
      }
    });
  }
});
