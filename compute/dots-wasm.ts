/**
 * WebAssembly SIMD kernel for many dot products between sparse query rows and dense
 * reference rows (the heart of brute-force k-nearest neighbours).
 *
 * Reference rows are stored transposed in blocks of 32: block b holds, for every input j,
 * the 32 values t_{32b..32b+31, j} contiguously (128 bytes), so one query non-zero updates
 * 32 dot products with eight f32x4 multiply-adds held in registers. Queries are CSR pairs (i32 byte offset j·128,
 * f32 value): zero inputs cost nothing. Products are summed in f32 in input order
 * (deterministic; relative error ~1e-6, far below distances between distinct images).
 */
import { Code, F32, I32, ModuleBuilder, Op, Simd, V128, type ValType } from './wasm.ts';

/** Reference rows per transposed block. */
export const DOT_BLOCK = 32;

/**
 * Export dots(qrows, q0, q1, T, b0, b1, blockBytes, out, outStride):
 *   for each query i in [q0, q1) and block b in [b0, b1):
 *     out + (i − q0)·outStride + b·128 ← 32 f32 dot products of query i with block b's rows.
 * qrows: q + 1 absolute byte addresses of each query's first pair (and the end).
 * T: address of block 0; blockBytes = d·128. Query pair offsets are j·128.
 */
export function dotsModule(): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder();
  mb.importMemory('env', 'memory', 1, 65536, true);
  const P = { qrows: 0, q0: 1, q1: 2, T: 3, b0: 4, b1: 5, blockBytes: 6, out: 7, outStride: 8 };
  const params: ValType[] = Array(9).fill(I32);
  const L = { i: 9, b: 10, q: 11, qe: 12, qs: 13, base: 14, a: 15, o: 16, xs: 17, acc: 18 };
  const V = DOT_BLOCK / 4;
  const locals: ValType[] = [I32, I32, I32, I32, I32, I32, I32, I32, V128, ...Array(V).fill(V128)];
  void F32;
  const c = new Code();
  c.forRange(L.i, () => c.get(P.q0), () => c.get(P.q1), () => {
    c.get(P.qrows).get(L.i).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.i32_load, 2, 0).set(L.qs);
    c.get(P.qrows).get(L.i).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.i32_load, 2, 4).set(L.qe);
    // o = out + (i − q0)·outStride + b0·128
    c.get(P.out).get(L.i).get(P.q0).op(Op.i32_sub).get(P.outStride).op(Op.i32_mul).op(Op.i32_add)
      .get(P.b0).i32(4 * DOT_BLOCK).op(Op.i32_mul).op(Op.i32_add).set(L.o);
    c.forRange(L.b, () => c.get(P.b0), () => c.get(P.b1), () => {
      for (let m = 0; m < V; m++) c.f64(0).op(Op.f32_demote_f64).simd(Simd.f32x4_splat).set(L.acc + m);
      c.get(P.T).get(L.b).get(P.blockBytes).op(Op.i32_mul).op(Op.i32_add).set(L.base);
      c.get(L.qs).set(L.q);
      c.block(() => c.loop(() => {
        c.get(L.q).get(L.qe).op(Op.i32_ge_s).brIf(1);
        c.get(L.base).get(L.q).mem(Op.i32_load, 2, 0).op(Op.i32_add).set(L.a);
        c.get(L.q).mem(Op.f32_load, 2, 4).simd(Simd.f32x4_splat).set(L.xs);
        for (let m = 0; m < V; m++) {
          c.get(L.acc + m).get(L.xs).get(L.a).simdMem(Simd.v128_load, 16 * m).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(L.acc + m);
        }
        c.get(L.q).i32(8).op(Op.i32_add).set(L.q);
        c.br(0);
      }));
      for (let m = 0; m < V; m++) c.get(L.o).get(L.acc + m).simdMem(Simd.v128_store, 16 * m);
      c.get(L.o).i32(4 * DOT_BLOCK).op(Op.i32_add).set(L.o);
    });
  });
  mb.addFunc('dots', params, [], locals, c);
  return mb.build();
}

let cached: WebAssembly.Module | null = null;
export function dotsWasmModule(): WebAssembly.Module {
  cached ??= new WebAssembly.Module(dotsModule());
  return cached;
}

export interface DotsExports {
  dots(qrows: number, q0: number, q1: number, T: number, b0: number, b1: number, blockBytes: number, out: number, outStride: number): void;
}
