import { afterAll, describe, expect, it } from 'vitest';
import { acquire } from '../compute/arena.ts';
import { kernelFor, runPooled, setKernelThreads, shutdownPool } from '../compute/pool.ts';
import { Code, F64, I32, ModuleBuilder, Op } from '../compute/wasm.ts';

/**
 * put(addr, v, spin): *addr = v + salt after `spin` rounds of busy work (so the helper has
 * time to claim tasks);  mul(addr, a, b): *addr = a·b (f64 stores). `salt` makes a distinct module.
 */
function storeModule(salt: number): WebAssembly.Module {
  const mb = new ModuleBuilder();
  mb.importMemory('env', 'memory', 1, 65536, true);
  const put = new Code();
  const P = { addr: 0, v: 1, spin: 2 }, L = { acc: 3 };
  put.f64(1).set(L.acc);
  put.block(() => put.loop(() => {
    put.get(P.spin).op(Op.i32_eqz).brIf(1);
    put.get(L.acc).f64(0.999999).op(Op.f64_mul).set(L.acc);
    put.get(P.spin).i32(1).op(Op.i32_sub).set(P.spin);
    put.br(0);
  }));
  // acc is finite and positive: acc·0 = +0 leaves the value as it is.
  put.get(P.addr).get(P.v).f64(salt).op(Op.f64_add).get(L.acc).f64(0).op(Op.f64_mul).op(Op.f64_add).mem(Op.f64_store, 3);
  mb.addFunc('put', [I32, F64, I32], [], [F64], put);
  const mul = new Code();
  mul.get(0).get(1).get(2).op(Op.f64_mul).mem(Op.f64_store, 3);
  mb.addFunc('mul', [I32, F64, F64], [], [], mul);
  return new WebAssembly.Module(mb.build());
}

afterAll(() => shutdownPool());

describe('kernel runs through the helpers\' doorbell (compute/pool.ts, worker.mjs)', () => {
  it('back-to-back runs of two kernels, of two arities and beyond the task table, each write every task', () => {
    setKernelThreads(2);
    const a = kernelFor<{ put: never; mul: never }>(storeModule(0));
    const b = kernelFor<{ put: never; mul: never }>(storeModule(0.5));
    const n = 9000; // > the task table: that run goes by message
    const region = acquire(8 * n);
    try {
      const out = new Float64Array(region.buffer(), region.base, n);
      for (let r = 0; r < 400; r++) {
        const kernel = r % 7 === 3 ? b : a;
        const salt = kernel === b ? 0.5 : 0;
        const count = r % 50 === 49 ? n : 8 + (r % 64);
        out.fill(NaN);
        if (r % 2 === 0) {
          kernel.run('put', Array.from({ length: count }, (_, t) => [region.base + 8 * t, r * 1000 + t, count === n ? 0 : 2000]));
          for (let t = 0; t < count; t++) if (out[t] !== r * 1000 + t + salt) throw new Error(`run ${r} (put): task ${t} wrote ${out[t]}`);
        } else {
          kernel.run('mul', Array.from({ length: count }, (_, t) => [region.base + 8 * t, t + 0.25, r]));
          for (let t = 0; t < count; t++) if (out[t] !== (t + 0.25) * r) throw new Error(`run ${r} (mul): task ${t} wrote ${out[t]}`);
        }
        expect(Number.isNaN(out[count])).toBe(count < n);
      }
      // Every run reached the helper one way or the other (which way depends on timing).
      expect(a.handoffs.bell + a.handoffs.message + a.handoffs.busy).toBe(400 - 57);
    } finally {
      region.release();
    }
  });

  it('runs while the helper is busy with a job post it nothing, so the jobs after it are not held up', async () => {
    setKernelThreads(2);
    const k = kernelFor<{ put: never; mul: never }>(storeModule(0.25));
    const region = acquire(8 * 64);
    try {
      const out = new Float64Array(region.buffer(), region.base, 64);
      k.run('mul', Array.from({ length: 64 }, (_, t) => [region.base + 8 * t, t, 2])); // attaches the kernel
      const before = { ...k.handoffs };
      // The pool's first thread (the kernel helper) busy for 400 ms with a job, while this thread runs
      // 300 kernel runs: as a fit on this thread does while a worker fits another segment.
      const job = runPooled<number, number>({ module: new URL('./fixtures/pool-jobs.ts', import.meta.url), fn: 'busy', jobs: [400], workers: 1 });
      for (let r = 0; r < 300; r++) {
        k.run('mul', Array.from({ length: 64 }, (_, t) => [region.base + 8 * t, t, r]));
        for (let t = 0; t < 64; t++) if (out[t] !== t * r) throw new Error(`run ${r}: task ${t} wrote ${out[t]}`);
      }
      expect(k.handoffs.message).toBe(before.message);
      expect(k.handoffs.bell).toBe(before.bell);
      expect(k.handoffs.busy - before.busy).toBe(300);
      expect(await job).toEqual([400]);
      // Free again: the next run reaches the helper.
      k.run('mul', Array.from({ length: 64 }, (_, t) => [region.base + 8 * t, t, 3]));
      expect(k.handoffs.bell + k.handoffs.message).toBe(before.bell + before.message + 1);
    } finally {
      region.release();
    }
  });
});

describe('a pool thread out of file descriptors', () => {
  it('is retired after the job that failed, and the next job gets a fresh thread (its module cache held the failed import)', async () => {
    const module = new URL('./fixtures/pool-jobs.ts', import.meta.url);
    const [first] = await runPooled<null, number>({ module, fn: 'threadNumber', jobs: [null], workers: 1 });
    const failed = await runPooled<null, never>({ module, fn: 'outOfDescriptors', jobs: [null], workers: 1 }).then(() => null, (e: Error) => e);
    expect(failed?.message).toMatch(/EMFILE/);
    const [next] = await runPooled<null, number>({ module, fn: 'threadNumber', jobs: [null], workers: 1 });
    expect(next).not.toBe(first);
    // An ordinary failure keeps the thread.
    await runPooled<null, never>({ module, fn: 'nope', jobs: [null], workers: 1 }).catch(() => null);
    const [same] = await runPooled<null, number>({ module, fn: 'threadNumber', jobs: [null], workers: 1 });
    expect(same).toBe(next);
  });
});
