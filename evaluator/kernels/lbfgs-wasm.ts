/**
 * The vector arithmetic of L-BFGS (models/lbfgs.ts) in WebAssembly SIMD, over float64 arrays
 * in kernel memory (compute/arena.ts). Each export performs, lane for lane, exactly the
 * float64 operations of the plain loop it replaces, so the results are bit-identical to it:
 *
 * - dot(a, b, n): two running sums, s0 over even indices and s1 over odd ones (one f64x2
 *   accumulator holds both), the last element of an odd length added to s0, then s0 + s1;
 * - axpy(y, a, x, n): y[i] = y[i] + a·x[i] (y − a·x is axpy with −a: the same bits, since
 *   (−a)·x = −(a·x) exactly and y + (−z) = y − z);
 * - scale(y, a, n): y[i] = y[i]·a;   neg(out, x, n): out[i] = −x[i];
 * - step(out, x, a, d, n): out[i] = x[i] + a·d[i];   diff(out, a, b, n): out[i] = a[i] − b[i];
 * - maxabs(a, n): the largest |a[i]| (NaN entries skipped, as `if (v > m) m = v` does).
 *
 * Multiplies and adds are separate IEEE operations (no fused multiply-add in non-relaxed
 * SIMD), so every machine gives the same bits. Addresses are byte offsets, 8-byte aligned.
 */
import { Code, F64, I32, ModuleBuilder, Op, Simd, V128, type ValType } from '../../compute/wasm.ts';

type Fn = (...args: number[]) => number;
export interface LbfgsExports { dot: Fn; axpy: Fn; scale: Fn; neg: Fn; step: Fn; diff: Fn; maxabs: Fn }

/**
 * Emits `for (o = 0; o + 16 <= 8·(n & ~1); o += 16) pair(o); if (n odd) single(o)` over the
 * byte offset local `o` (`n` the element count parameter, `end` an i32 scratch local).
 */
function pairsThenTail(c: Code, n: number, o: number, end: number, pair: () => void, single: () => void): void {
  c.get(n).i32(-2).op(Op.i32_and).i32(3).op(Op.i32_shl).set(end);
  c.i32(0).set(o);
  c.block(() => c.loop(() => {
    c.get(o).get(end).op(Op.i32_ge_u).brIf(1);
    pair();
    c.get(o).i32(16).op(Op.i32_add).set(o);
    c.br(0);
  }));
  c.get(n).i32(1).op(Op.i32_and).op(Op.if, 0x40);
  single();
  c.op(Op.end);
}

const addr = (c: Code, base: number, o: number) => c.get(base).get(o).op(Op.i32_add);

function lbfgsModule(): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder();
  mb.importMemory('env', 'memory', 1, 65536, true);

  // dot(a, b, n) → f64
  {
    const P = { a: 0, b: 1, n: 2 }, L = { o: 3, end: 4, acc: 5, s0: 6 };
    const locals: ValType[] = [I32, I32, V128, F64];
    const c = new Code();
    c.f64(0).simd(Simd.f64x2_splat).set(L.acc);
    pairsThenTail(c, P.n, L.o, L.end, () => {
      c.get(L.acc);
      addr(c, P.a, L.o).simdMem(Simd.v128_load, 0, 3);
      addr(c, P.b, L.o).simdMem(Simd.v128_load, 0, 3);
      c.simd(Simd.f64x2_mul).simd(Simd.f64x2_add).set(L.acc);
    }, () => {
      c.get(L.acc).lane(Simd.f64x2_extract_lane, 0);
      addr(c, P.a, L.o).mem(Op.f64_load, 3);
      addr(c, P.b, L.o).mem(Op.f64_load, 3);
      c.op(Op.f64_mul).op(Op.f64_add).set(L.s0);
      c.get(L.acc).get(L.s0).lane(Simd.f64x2_replace_lane, 0).set(L.acc);
    });
    c.get(L.acc).lane(Simd.f64x2_extract_lane, 0).get(L.acc).lane(Simd.f64x2_extract_lane, 1).op(Op.f64_add);
    mb.addFunc('dot', [I32, I32, I32], [F64], locals, c);
  }

  // Elementwise ops: out[i] = op(…), as a pair loop and a scalar tail.
  const elementwise = (
    name: string, params: ValType[], out: number, n: number,
    vec: (c: Code, o: number, av: number) => void, scalar: (c: Code, o: number) => void, scalarArg: number | null,
  ) => {
    const base = params.length;
    const L = { o: base, end: base + 1, av: base + 2 };
    const c = new Code();
    if (scalarArg !== null) c.get(scalarArg).simd(Simd.f64x2_splat).set(L.av);
    pairsThenTail(c, n, L.o, L.end, () => {
      addr(c, out, L.o);
      vec(c, L.o, L.av);
      c.simdMem(Simd.v128_store, 0, 3);
    }, () => {
      addr(c, out, L.o);
      scalar(c, L.o);
      c.mem(Op.f64_store, 3);
    });
    mb.addFunc(name, params, [], [I32, I32, V128], c);
  };
  // axpy(y, a, x, n): y += a·x
  elementwise('axpy', [I32, F64, I32, I32], 0, 3,
    (c, o, av) => { addr(c, 0, o).simdMem(Simd.v128_load, 0, 3); c.get(av); addr(c, 2, o).simdMem(Simd.v128_load, 0, 3); c.simd(Simd.f64x2_mul).simd(Simd.f64x2_add); },
    (c, o) => { addr(c, 0, o).mem(Op.f64_load, 3); c.get(1); addr(c, 2, o).mem(Op.f64_load, 3); c.op(Op.f64_mul).op(Op.f64_add); }, 1);
  // scale(y, a, n): y *= a
  elementwise('scale', [I32, F64, I32], 0, 2,
    (c, o, av) => { addr(c, 0, o).simdMem(Simd.v128_load, 0, 3); c.get(av).simd(Simd.f64x2_mul); },
    (c, o) => { addr(c, 0, o).mem(Op.f64_load, 3); c.get(1).op(Op.f64_mul); }, 1);
  // neg(out, x, n): out = −x
  elementwise('neg', [I32, I32, I32], 0, 2,
    (c, o) => { addr(c, 1, o).simdMem(Simd.v128_load, 0, 3); c.simd(Simd.f64x2_neg); },
    (c, o) => { addr(c, 1, o).mem(Op.f64_load, 3); c.op(Op.f64_neg); }, null);
  // step(out, x, a, d, n): out = x + a·d
  elementwise('step', [I32, I32, F64, I32, I32], 0, 4,
    (c, o, av) => { addr(c, 1, o).simdMem(Simd.v128_load, 0, 3); c.get(av); addr(c, 3, o).simdMem(Simd.v128_load, 0, 3); c.simd(Simd.f64x2_mul).simd(Simd.f64x2_add); },
    (c, o) => { addr(c, 1, o).mem(Op.f64_load, 3); c.get(2); addr(c, 3, o).mem(Op.f64_load, 3); c.op(Op.f64_mul).op(Op.f64_add); }, 2);
  // diff(out, a, b, n): out = a − b
  elementwise('diff', [I32, I32, I32, I32], 0, 3,
    (c, o) => { addr(c, 1, o).simdMem(Simd.v128_load, 0, 3); addr(c, 2, o).simdMem(Simd.v128_load, 0, 3); c.simd(Simd.f64x2_sub); },
    (c, o) => { addr(c, 1, o).mem(Op.f64_load, 3); addr(c, 2, o).mem(Op.f64_load, 3); c.op(Op.f64_sub); }, null);

  // maxabs(a, n) → f64: m = 0; for each v = |a[i]|: if (v > m) m = v
  {
    const P = { a: 0, n: 1 }, L = { o: 2, end: 3, m: 4, v: 5 };
    const c = new Code();
    c.f64(0).set(L.m);
    c.get(P.n).i32(3).op(Op.i32_shl).set(L.end);
    c.i32(0).set(L.o);
    c.block(() => c.loop(() => {
      c.get(L.o).get(L.end).op(Op.i32_ge_u).brIf(1);
      addr(c, P.a, L.o).mem(Op.f64_load, 3).op(Op.f64_abs).set(L.v);
      c.get(L.v).get(L.m).get(L.v).get(L.m).op(Op.f64_gt).op(Op.select).set(L.m);
      c.get(L.o).i32(8).op(Op.i32_add).set(L.o);
      c.br(0);
    }));
    c.get(L.m);
    mb.addFunc('maxabs', [I32, I32], [F64], [I32, I32, F64, F64], c);
  }
  return mb.build();
}

let compiled: WebAssembly.Module | null = null;
/** The compiled module (once per process). */
export function lbfgsWasmModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(lbfgsModule());
  return compiled;
}
