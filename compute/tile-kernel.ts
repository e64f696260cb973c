/**
 * A WebAssembly SIMD kernel for tiles of dot products, assembled with the assembler in
 * wasm.ts (no toolchain needed, so the bytes are reproducible from source).
 *
 *   tile(a, na, b, nb, d4, out, ostride)
 *     for i in 0..na step 4, j in 0..nb step 2:
 *       out[(i + r) * ostride + j + c] = Σ_t A[i + r][t] · B[j + c][t]      (r < 4, c < 2)
 *
 * `a`, `b`, `out` are byte addresses in a shared linear memory; rows are d4 floats long (d4 a
 * multiple of 4, zero-padded). Callers pad row counts so that the 4 × 2 blocks never run off
 * the end (the extra results are ignored). Each dot product is accumulated in four f32 lanes
 * (lane l sums t ≡ l mod 4, in order) and reduced as (l0 + l1) + (l2 + l3): the same operations
 * for every pair wherever it sits in a tile, and a·b = b·a, so results are bit-identical across
 * tilings and threads. Non-relaxed SIMD is IEEE-exact, so also across machines.
 */

import { Code, ModuleBuilder, I32, V128, Op, Simd } from './wasm.ts';

/** Builds the module bytes. */
export function buildSimModule(): Uint8Array<ArrayBuffer> {
  // params: 0 a, 1 na, 2 b, 3 nb, 4 d4, 5 out, 6 ostride
  const A = 0, NA = 1, B = 2, NB = 3, D4 = 4, OUT = 5, OS = 6;
  // i32 locals 7..18
  const I = 7, J = 8, T = 9, RB = 10, PA = 11, PB = 15, O = 17, OS4 = 18;
  // v128 locals 19..29: acc[r][c] = 19 + 2r + c, av = 27, b0 = 28, b1 = 29
  const ACC = 19, AV = 27, B0 = 28, B1 = 29;
  const c = new Code();
  const v128zero = () => c.simd(Simd.v128_const).op(...new Array(16).fill(0));
  const lane = (l: number) => c.lane(Simd.f32x4_extract_lane, l);
  // Each loop: block { loop { exit test (br_if 1); body; step; br 0 } }.
  const rows = (i: number, n: number, step: number, body: () => void) => c.block(() => c.loop(() => {
    c.get(i).get(n).op(Op.i32_ge_u).brIf(1);
    body();
    c.get(i).i32(step).op(Op.i32_add).set(i);
    c.br(0);
  }));
  c.get(D4).i32(2).op(Op.i32_shl).set(RB);
  c.get(OS).i32(2).op(Op.i32_shl).set(OS4);
  c.i32(0).set(I);
  rows(I, NA, 4, () => { // rows of A, 4 at a time
    // PA + r = a + (i + r) * rb
    c.get(A).get(I).get(RB).op(Op.i32_mul, Op.i32_add).set(PA);
    for (let r = 1; r < 4; r++) c.get(PA + r - 1).get(RB).op(Op.i32_add).set(PA + r);
    c.i32(0).set(J);
    rows(J, NB, 2, () => { // rows of B, 2 at a time
      c.get(B).get(J).get(RB).op(Op.i32_mul, Op.i32_add).set(PB);
      c.get(PB).get(RB).op(Op.i32_add).set(PB + 1);
      for (let k = 0; k < 8; k++) { v128zero(); c.set(ACC + k); }
      c.i32(0).set(T);
      rows(T, RB, 16, () => { // t over the row, 16 bytes at a time
        c.get(PB).get(T).op(Op.i32_add).simdMem(Simd.v128_load).set(B0);
        c.get(PB + 1).get(T).op(Op.i32_add).simdMem(Simd.v128_load).set(B1);
        for (let r = 0; r < 4; r++) {
          c.get(PA + r).get(T).op(Op.i32_add).simdMem(Simd.v128_load).set(AV);
          c.get(ACC + 2 * r).get(AV).get(B0).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(ACC + 2 * r);
          c.get(ACC + 2 * r + 1).get(AV).get(B1).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(ACC + 2 * r + 1);
        }
      });
      // o = out + (i * ostride + j) * 4, then one output row per r
      c.get(OUT).get(I).get(OS).op(Op.i32_mul).get(J).op(Op.i32_add).i32(2).op(Op.i32_shl, Op.i32_add).set(O);
      for (let r = 0; r < 4; r++) {
        for (let col = 0; col < 2; col++) {
          const acc = ACC + 2 * r + col;
          c.get(O);
          c.get(acc); lane(0); c.get(acc); lane(1); c.op(Op.f32_add);
          c.get(acc); lane(2); c.get(acc); lane(3); c.op(Op.f32_add);
          c.op(Op.f32_add);
          c.mem(Op.f32_store, 2, col * 4);
        }
        if (r < 3) c.get(O).get(OS4).op(Op.i32_add).set(O);
      }
    });
  });

  const m = new ModuleBuilder();
  m.importMemory('env', 'memory', 1, 65536, true);
  m.addFunc('tile', [I32, I32, I32, I32, I32, I32, I32], [], [...new Array(12).fill(I32), ...new Array(11).fill(V128)], c);
  m.addFunc('maxes', [I32, I32, I32, I32, I32, I32], [], [...new Array(5).fill(I32), V128, V128], maxesCode(true));
  m.addFunc('rowMaxes', [I32, I32, I32, I32, I32, I32], [], [...new Array(5).fill(I32), V128, V128], maxesCode(false));
  return m.build();
}

/**
 * maxes(out, rows, cols4, ostride, rowMax, colMax): for a tile of `rows` rows of `out` (stride
 * `ostride` floats), the lane-wise maxima of each row's f32x4 groups over its first cols4
 * columns (a multiple of 4) into rowMax + 16·row (the row's maximum is the largest of the four
 * lanes), and each column's maximum over the rows into colMax + 4·column (`rowMaxes`: rows
 * only). Search loops use them to skip rows and columns that hold no candidate. Pseudo-maximum
 * (pmax: acc < v ? v : acc), so a NaN product never hides the other values of its row.
 */
function maxesCode(cols: boolean): Code {
  const OUT = 0, ROWS = 1, COLS4 = 2, OS = 3, RMAX = 4, CMAX = 5;
  const A = 6, BB = 7, P = 8, CB = 9, RS = 10, ACC = 11, V = 12;
  const c = new Code();
  // f32 −Infinity in every lane (0xff800000, little-endian).
  const negInf = () => c.simd(Simd.v128_const).op(...new Array(4).fill([0x00, 0x00, 0x80, 0xff]).flat());
  const upTo = (i: number, n: number, step: number, body: () => void) => c.block(() => c.loop(() => {
    c.get(i).get(n).op(Op.i32_ge_u).brIf(1);
    body();
    c.get(i).i32(step).op(Op.i32_add).set(i);
    c.br(0);
  }));
  c.get(COLS4).i32(2).op(Op.i32_shl).set(CB);
  c.get(OS).i32(2).op(Op.i32_shl).set(RS);
  if (cols) {
    c.i32(0).set(BB);
    upTo(BB, CB, 16, () => { c.get(CMAX).get(BB).op(Op.i32_add); negInf(); c.simdMem(Simd.v128_store); });
  }
  c.get(OUT).set(P);
  c.i32(0).set(A);
  upTo(A, ROWS, 1, () => {
    negInf(); c.set(ACC);
    c.i32(0).set(BB);
    upTo(BB, CB, 16, () => {
      c.get(P).get(BB).op(Op.i32_add).simdMem(Simd.v128_load).set(V);
      c.get(ACC).get(V).simd(Simd.f32x4_pmax).set(ACC);
      if (cols) {
        c.get(CMAX).get(BB).op(Op.i32_add);
        c.get(CMAX).get(BB).op(Op.i32_add).simdMem(Simd.v128_load).get(V).simd(Simd.f32x4_pmax);
        c.simdMem(Simd.v128_store);
      }
    });
    c.get(RMAX).get(A).i32(4).op(Op.i32_shl, Op.i32_add).get(ACC).simdMem(Simd.v128_store);
    c.get(P).get(RS).op(Op.i32_add).set(P);
  });
  return c;
}

let compiled: WebAssembly.Module | null = null;

/** The compiled kernel module (compiled once per thread). */
export function simModule(): WebAssembly.Module {
  if (!compiled) compiled = new WebAssembly.Module(buildSimModule());
  return compiled;
}

export type TileFn = (a: number, na: number, b: number, nb: number, d4: number, out: number, ostride: number) => void;
export type MaxesFn = (out: number, rows: number, cols4: number, ostride: number, rowMax: number, colMax: number) => void;

/** Instantiates the kernel over a shared memory. */
export function instantiateSim(memory: WebAssembly.Memory): TileFn {
  return instantiateSimAll(memory).tile;
}

/** The kernel's exports over a shared memory: the tile and the tile maxima. */
export function instantiateSimAll(memory: WebAssembly.Memory): { tile: TileFn; maxes: MaxesFn; rowMaxes: MaxesFn } {
  const e = new WebAssembly.Instance(simModule(), { env: { memory } }).exports;
  return { tile: e.tile as unknown as TileFn, maxes: e.maxes as unknown as MaxesFn, rowMaxes: e.rowMaxes as unknown as MaxesFn };
}
