// Helper thread for synchronous wasm kernels (see compute-pool.ts). Plain JavaScript on
// purpose: it only instantiates modules it is handed and calls their exports, so it needs
// no TypeScript loader and starts in milliseconds.
//
// Messages, in order on one port:
//   { type: 'attach', id, module, memory }   instantiate `module` on shared `memory`
//   { type: 'run', id, fn, tasks, ctrl, gen } claim tasks via Atomics on ctrl, call fn(...task)
//
// ctrl[0] packs (generation << 16 | next task) so a claim is one compare-and-swap: a late
// 'run' message from an earlier generation can never claim a task of the current one.
import { parentPort } from 'node:worker_threads';

const NEXT = 0, DONE = 1;
const instances = new Map();

/** Claims the next task of generation `gen`, or returns -1 when none is left. */
function claim(ctrl, gen, count) {
  for (;;) {
    const v = Atomics.load(ctrl, NEXT);
    if (v >>> 16 !== gen || (v & 0xffff) >= count) return -1;
    if (Atomics.compareExchange(ctrl, NEXT, v, v + 1) === v) return v & 0xffff;
  }
}

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
  }
});
