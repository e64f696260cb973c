// A thread of the worker pool (see pool.ts). Plain JavaScript on purpose: kernel helpers only
// instantiate modules they are handed and call their exports, so they need no TypeScript
// loader and start in milliseconds. Job modules are compiled JavaScript when the CLI runs from
// dist/; only when the sources run as they are (tests, benchmarks) is tsx registered, on the
// first job whose module is TypeScript.
//
// Messages, in order on one port:
//   { type: 'attach', id, module, memory }     instantiate wasm `module` on shared `memory`
//   { type: 'run', id, fn, tasks, ctrl, gen }  claim tasks via Atomics on ctrl, call fn(...task)
//   { type: 'job', job, module, fn, args }     import `module`, post { job, ok, result } or
//                                              { job, ok: false, error }; fn's notes as { job, note }
//
// ctrl[0] packs (generation << 16 | next task) so a claim is one compare-and-swap: a late
// 'run' message from an earlier generation can never claim a task of the current one.
import { parentPort } from 'node:worker_threads';

const NEXT = 0, DONE = 1;
const instances = new Map();
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

// Jobs run one after another in arrival order (a job's import may await; its body never does).
let queue = Promise.resolve();

parentPort.on('message', (msg) => {
  if (msg.type === 'attach') {
    const inst = new WebAssembly.Instance(msg.module, { env: { memory: msg.memory, exp: Math.exp, log: Math.log } });
    instances.set(msg.id, inst.exports);
  } else if (msg.type === 'run') {
    const ctrl = new Int32Array(msg.ctrl);
    let fn = null;
    for (;;) {
      const t = claim(ctrl, msg.gen, msg.tasks.length);
      if (t < 0) break;
      fn ??= instances.get(msg.id)[msg.fn];
      fn(...msg.tasks[t]);
      Atomics.add(ctrl, DONE, 1);
      Atomics.notify(ctrl, DONE);
    }
  } else if (msg.type === 'job') {
    queue = queue.then(async () => {
      try {
        const mod = await load(msg.module);
        const fn = mod[msg.fn];
        if (typeof fn !== 'function') throw new Error(`${msg.module} exports no function ${msg.fn}`);
        const result = fn(msg.args, (note) => parentPort.postMessage({ job: msg.job, note }));
        parentPort.postMessage({ job: msg.job, ok: true, result });
      } catch (err) {
        parentPort.postMessage({ job: msg.job, ok: false, error: err instanceof Error ? `${err.message}` : String(err) });
      }
    });
  }
});
