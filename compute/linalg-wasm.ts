/**
 * Small dense linear algebra in WebAssembly SIMD: triangular solves with a Cholesky factor
 * (the per-iteration cost of Hessian-preconditioned L-BFGS). Dot products use two f64x2
 * accumulators in a fixed order, so results are deterministic.
 */
import { Code, F64, I32, ModuleBuilder, Op, Simd, V128, type ValType } from './wasm.ts';
import { kernelFor } from './pool.ts';
import { acquire } from './arena.ts';

function linalgModule(): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder();
  mb.importMemory('env', 'memory', 1, 65536, true);

  // dot(a, b, len) → Σ a[i]·b[i], doubles at byte addresses a and b.
  let dot: number;
  {
    const P = { a: 0, b: 1, len: 2 };
    const L = { i: 3, acc0: 4, acc1: 5, s: 6 };
    const locals: ValType[] = [I32, V128, V128, F64];
    const c = new Code();
    c.f64(0).simd(Simd.f64x2_splat).tee(L.acc0).set(L.acc1);
    c.i32(0).set(L.i);
    const term = (acc: number, off: number) => {
      c.get(acc);
      c.get(P.a).get(L.i).i32(3).op(Op.i32_shl).op(Op.i32_add).simdMem(Simd.v128_load, off);
      c.get(P.b).get(L.i).i32(3).op(Op.i32_shl).op(Op.i32_add).simdMem(Simd.v128_load, off);
      c.simd(Simd.f64x2_mul).simd(Simd.f64x2_add).set(acc);
    };
    c.block(() => c.loop(() => {
      c.get(L.i).i32(4).op(Op.i32_add).get(P.len).op(Op.i32_gt_s).brIf(1);
      term(L.acc0, 0);
      term(L.acc1, 16);
      c.get(L.i).i32(4).op(Op.i32_add).set(L.i);
      c.br(0);
    }));
    c.get(L.i).i32(2).op(Op.i32_add).get(P.len).op(Op.i32_gt_s).op(Op.i32_eqz).op(Op.if, 0x40);
    term(L.acc0, 0);
    c.get(L.i).i32(2).op(Op.i32_add).set(L.i);
    c.op(Op.end);
    c.get(L.acc0).lane(Simd.f64x2_extract_lane, 0).get(L.acc1).lane(Simd.f64x2_extract_lane, 0).op(Op.f64_add);
    c.get(L.acc0).lane(Simd.f64x2_extract_lane, 1).get(L.acc1).lane(Simd.f64x2_extract_lane, 1).op(Op.f64_add);
    c.op(Op.f64_add).set(L.s);
    c.get(L.i).get(P.len).op(Op.i32_lt_s).op(Op.if, 0x40);
    c.get(L.s);
    c.get(P.a).get(L.i).i32(3).op(Op.i32_shl).op(Op.i32_add).mem(Op.f64_load, 3);
    c.get(P.b).get(L.i).i32(3).op(Op.i32_shl).op(Op.i32_add).mem(Op.f64_load, 3);
    c.op(Op.f64_mul).op(Op.f64_add).set(L.s);
    c.op(Op.end);
    c.get(L.s);
    dot = mb.addFunc('dot', [I32, I32, I32], [F64], locals, c);
  }

  // dotf32(a, b, len) → Σ a[i]·b[i] with a float32 (promoted exactly) and b double.
  let dotf32: number;
  {
    const P = { a: 0, b: 1, len: 2 };
    const L = { i: 3, acc0: 4, acc1: 5, s: 6 };
    const locals: ValType[] = [I32, V128, V128, F64];
    const c = new Code();
    c.f64(0).simd(Simd.f64x2_splat).tee(L.acc0).set(L.acc1);
    c.i32(0).set(L.i);
    const term = (acc: number, pair: number) => {
      c.get(acc);
      c.get(P.a).get(L.i).i32(2).op(Op.i32_shl).op(Op.i32_add).simdMem(Simd.v128_load64_zero, 8 * pair, 3).simd(Simd.f64x2_promote_low_f32x4);
      c.get(P.b).get(L.i).i32(3).op(Op.i32_shl).op(Op.i32_add).simdMem(Simd.v128_load, 16 * pair);
      c.simd(Simd.f64x2_mul).simd(Simd.f64x2_add).set(acc);
    };
    c.block(() => c.loop(() => {
      c.get(L.i).i32(4).op(Op.i32_add).get(P.len).op(Op.i32_gt_s).brIf(1);
      term(L.acc0, 0);
      term(L.acc1, 1);
      c.get(L.i).i32(4).op(Op.i32_add).set(L.i);
      c.br(0);
    }));
    c.get(L.i).i32(2).op(Op.i32_add).get(P.len).op(Op.i32_gt_s).op(Op.i32_eqz).op(Op.if, 0x40);
    term(L.acc0, 0);
    c.get(L.i).i32(2).op(Op.i32_add).set(L.i);
    c.op(Op.end);
    c.get(L.acc0).lane(Simd.f64x2_extract_lane, 0).get(L.acc1).lane(Simd.f64x2_extract_lane, 0).op(Op.f64_add);
    c.get(L.acc0).lane(Simd.f64x2_extract_lane, 1).get(L.acc1).lane(Simd.f64x2_extract_lane, 1).op(Op.f64_add);
    c.op(Op.f64_add).set(L.s);
    c.get(L.i).get(P.len).op(Op.i32_lt_s).op(Op.if, 0x40);
    c.get(L.s);
    c.get(P.a).get(L.i).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.f32_load, 2).op(Op.f64_promote_f32);
    c.get(P.b).get(L.i).i32(3).op(Op.i32_shl).op(Op.i32_add).mem(Op.f64_load, 3);
    c.op(Op.f64_mul).op(Op.f64_add).set(L.s);
    c.op(Op.end);
    c.get(L.s);
    dotf32 = mb.addFunc(null, [I32, I32, I32], [F64], locals, c);
  }

  // cholsolve(L, n, q, out): out = (L·Lᵀ)⁻¹ q; L row-major n × n float32 with L in the lower
  // triangle and Lᵀ mirrored in the upper one (so both substitutions read rows).
  {
    const P = { L: 0, n: 1, q: 2, out: 3 };
    const Lc = { r: 4, row: 5, s: 6 };
    const locals: ValType[] = [I32, I32, F64];
    const c = new Code();
    const addr8 = (base: number, idx: () => void) => { c.get(base); idx(); c.i32(3).op(Op.i32_shl).op(Op.i32_add); };
    const addr4 = (base: number, idx: () => void) => { c.get(base); idx(); c.i32(2).op(Op.i32_shl).op(Op.i32_add); };
    // forward: out[r] = (q[r] − L[r, :r]·out[:r]) / L[r, r]
    c.forRange(Lc.r, () => c.i32(0), () => c.get(P.n), () => {
      c.get(P.L).get(Lc.r).get(P.n).op(Op.i32_mul).i32(2).op(Op.i32_shl).op(Op.i32_add).set(Lc.row);
      c.get(Lc.row).get(P.out).get(Lc.r).call(dotf32).set(Lc.s);
      addr8(P.out, () => c.get(Lc.r));
      addr8(P.q, () => c.get(Lc.r)); c.mem(Op.f64_load, 3);
      c.get(Lc.s).op(Op.f64_sub);
      addr4(Lc.row, () => c.get(Lc.r)); c.mem(Op.f32_load, 2).op(Op.f64_promote_f32);
      c.op(Op.f64_div).mem(Op.f64_store, 3);
    });
    // back: out[r] = (out[r] − L[r, r+1:]·out[r+1:]) / L[r, r], r descending
    c.get(P.n).set(Lc.r);
    c.block(() => c.loop(() => {
      c.get(Lc.r).op(Op.i32_eqz).brIf(1);
      c.get(Lc.r).i32(1).op(Op.i32_sub).set(Lc.r);
      c.get(P.L).get(Lc.r).get(P.n).op(Op.i32_mul).i32(2).op(Op.i32_shl).op(Op.i32_add).set(Lc.row);
      addr4(Lc.row, () => c.get(Lc.r).i32(1).op(Op.i32_add));
      addr8(P.out, () => c.get(Lc.r).i32(1).op(Op.i32_add));
      c.get(P.n).get(Lc.r).op(Op.i32_sub).i32(1).op(Op.i32_sub).call(dotf32).set(Lc.s);
      addr8(P.out, () => c.get(Lc.r));
      addr8(P.out, () => c.get(Lc.r)); c.mem(Op.f64_load, 3);
      c.get(Lc.s).op(Op.f64_sub);
      addr4(Lc.row, () => c.get(Lc.r)); c.mem(Op.f32_load, 2).op(Op.f64_promote_f32);
      c.op(Op.f64_div).mem(Op.f64_store, 3);
      c.br(0);
    }));
    mb.addFunc('cholsolve', [I32, I32, I32, I32], [], locals, c);
  }
  // Element-wise vector kernels for the symmetric eigensolver (symeig.ts). Each walks
  // `len` doubles two at a time (f64x2) with a scalar tail; element-wise results are exactly
  // the scalar ones, only dotaxpy's sum is accumulated in two lanes.
  const vecLoop = (c: Code, i: number, len: number, pairBody: () => void, tailBody: () => void) => {
    c.i32(0).set(i);
    c.block(() => c.loop(() => {
      c.get(i).i32(2).op(Op.i32_add).get(len).op(Op.i32_gt_s).brIf(1);
      pairBody();
      c.get(i).i32(2).op(Op.i32_add).set(i);
      c.br(0);
    }));
    c.get(i).get(len).op(Op.i32_lt_s).op(Op.if, 0x40);
    tailBody();
    c.op(Op.end);
  };
  const at = (c: Code, base: number, i: number) => c.get(base).get(i).i32(3).op(Op.i32_shl).op(Op.i32_add);
  {
    // dotaxpy(row, dv, ev, len, f) → Σ row[k]·dv[k], and ev[k] += row[k]·f.
    const P = { row: 0, dv: 1, ev: 2, len: 3, f: 4 };
    const L = { i: 5, acc: 6, fs: 7, r: 8, s: 9 };
    const c = new Code();
    c.f64(0).simd(Simd.f64x2_splat).set(L.acc);
    c.get(P.f).simd(Simd.f64x2_splat).set(L.fs);
    vecLoop(c, L.i, P.len, () => {
      at(c, P.row, L.i).simdMem(Simd.v128_load).set(L.r);
      c.get(L.acc).get(L.r); at(c, P.dv, L.i).simdMem(Simd.v128_load); c.simd(Simd.f64x2_mul).simd(Simd.f64x2_add).set(L.acc);
      at(c, P.ev, L.i); at(c, P.ev, L.i).simdMem(Simd.v128_load).get(L.r).get(L.fs).simd(Simd.f64x2_mul).simd(Simd.f64x2_add).simdMem(Simd.v128_store);
    }, () => {
      c.get(L.acc).lane(Simd.f64x2_extract_lane, 0).get(L.acc).lane(Simd.f64x2_extract_lane, 1).op(Op.f64_add);
      at(c, P.row, L.i).mem(Op.f64_load, 3); at(c, P.dv, L.i).mem(Op.f64_load, 3); c.op(Op.f64_mul).op(Op.f64_add).set(L.s);
      at(c, P.ev, L.i); at(c, P.ev, L.i).mem(Op.f64_load, 3); at(c, P.row, L.i).mem(Op.f64_load, 3); c.get(P.f).op(Op.f64_mul).op(Op.f64_add).mem(Op.f64_store, 3);
      c.get(L.s).op(Op.return);
    });
    c.get(L.acc).lane(Simd.f64x2_extract_lane, 0).get(L.acc).lane(Simd.f64x2_extract_lane, 1).op(Op.f64_add);
    mb.addFunc('dotaxpy', [I32, I32, I32, I32, F64], [F64], [I32, V128, V128, V128, F64], c);
  }
  {
    // axpy2(row, ev, dv, len, f, g): row[k] = row[k] − (f·ev[k] + g·dv[k]).
    const P = { row: 0, ev: 1, dv: 2, len: 3, f: 4, g: 5 };
    const L = { i: 6, fs: 7, gs: 8 };
    const c = new Code();
    c.get(P.f).simd(Simd.f64x2_splat).set(L.fs);
    c.get(P.g).simd(Simd.f64x2_splat).set(L.gs);
    vecLoop(c, L.i, P.len, () => {
      at(c, P.row, L.i);
      at(c, P.row, L.i).simdMem(Simd.v128_load);
      c.get(L.fs); at(c, P.ev, L.i).simdMem(Simd.v128_load); c.simd(Simd.f64x2_mul);
      c.get(L.gs); at(c, P.dv, L.i).simdMem(Simd.v128_load); c.simd(Simd.f64x2_mul);
      c.simd(Simd.f64x2_add).simd(Simd.f64x2_sub).simdMem(Simd.v128_store);
    }, () => {
      at(c, P.row, L.i);
      at(c, P.row, L.i).mem(Op.f64_load, 3);
      c.get(P.f); at(c, P.ev, L.i).mem(Op.f64_load, 3); c.op(Op.f64_mul);
      c.get(P.g); at(c, P.dv, L.i).mem(Op.f64_load, 3); c.op(Op.f64_mul);
      c.op(Op.f64_add).op(Op.f64_sub).mem(Op.f64_store, 3);
    });
    mb.addFunc('axpy2', [I32, I32, I32, I32, F64, F64], [], [I32, V128, V128], c);
  }
  {
    // axpy(row, dv, len, g): row[k] = row[k] − g·dv[k].
    const P = { row: 0, dv: 1, len: 2, g: 3 };
    const L = { i: 4, gs: 5 };
    const c = new Code();
    c.get(P.g).simd(Simd.f64x2_splat).set(L.gs);
    vecLoop(c, L.i, P.len, () => {
      at(c, P.row, L.i);
      at(c, P.row, L.i).simdMem(Simd.v128_load);
      c.get(L.gs); at(c, P.dv, L.i).simdMem(Simd.v128_load); c.simd(Simd.f64x2_mul);
      c.simd(Simd.f64x2_sub).simdMem(Simd.v128_store);
    }, () => {
      at(c, P.row, L.i);
      at(c, P.row, L.i).mem(Op.f64_load, 3);
      c.get(P.g); at(c, P.dv, L.i).mem(Op.f64_load, 3); c.op(Op.f64_mul);
      c.op(Op.f64_sub).mem(Op.f64_store, 3);
    });
    mb.addFunc('axpy', [I32, I32, I32, F64], [], [I32, V128], c);
  }
  {
    // rot(r1, r2, len, c, s): h = r2[k]; r2[k] = s·r1[k] + c·h; r1[k] = c·r1[k] − s·h.
    const P = { r1: 0, r2: 1, len: 2, c: 3, s: 4 };
    const L = { i: 5, cs: 6, ss: 7, h: 8, a: 9, hf: 10 };
    const c = new Code();
    c.get(P.c).simd(Simd.f64x2_splat).set(L.cs);
    c.get(P.s).simd(Simd.f64x2_splat).set(L.ss);
    vecLoop(c, L.i, P.len, () => {
      at(c, P.r2, L.i).simdMem(Simd.v128_load).set(L.h);
      at(c, P.r1, L.i).simdMem(Simd.v128_load).set(L.a);
      at(c, P.r2, L.i); c.get(L.ss).get(L.a).simd(Simd.f64x2_mul).get(L.cs).get(L.h).simd(Simd.f64x2_mul).simd(Simd.f64x2_add).simdMem(Simd.v128_store);
      at(c, P.r1, L.i); c.get(L.cs).get(L.a).simd(Simd.f64x2_mul).get(L.ss).get(L.h).simd(Simd.f64x2_mul).simd(Simd.f64x2_sub).simdMem(Simd.v128_store);
    }, () => {
      at(c, P.r2, L.i).mem(Op.f64_load, 3).set(L.hf);
      at(c, P.r2, L.i); c.get(P.s); at(c, P.r1, L.i).mem(Op.f64_load, 3); c.op(Op.f64_mul).get(P.c).get(L.hf).op(Op.f64_mul).op(Op.f64_add).mem(Op.f64_store, 3);
      at(c, P.r1, L.i); c.get(P.c); at(c, P.r1, L.i).mem(Op.f64_load, 3); c.op(Op.f64_mul).get(P.s).get(L.hf).op(Op.f64_mul).op(Op.f64_sub).mem(Op.f64_store, 3);
    });
    mb.addFunc('rot', [I32, I32, I32, F64, F64], [], [I32, V128, V128, V128, V128, F64], c);
  }

  // cholesky(A, n) → 1 if A (row-major n × n, lower triangle read) was positive definite and
  // now holds its Cholesky factor L in the lower triangle; 0 otherwise. Row-oriented:
  // L[r][j] = (A[r][j] − L[r, :j]·L[j, :j]) / L[j][j], every dot product contiguous.
  {
    const P = { A: 0, n: 1 };
    const Lc = { j: 2, r: 3, rowj: 4, rowr: 5, s: 6, inv: 7 };
    const locals: ValType[] = [I32, I32, I32, I32, F64, F64];
    const c = new Code();
    const rowAddr = (idx: number, out: number) => c.get(P.A).get(idx).get(P.n).op(Op.i32_mul).i32(3).op(Op.i32_shl).op(Op.i32_add).set(out);
    const elem = (row: number, col: number) => { c.get(row).get(col).i32(3).op(Op.i32_shl).op(Op.i32_add); };
    c.forRange(Lc.j, () => c.i32(0), () => c.get(P.n), () => {
      rowAddr(Lc.j, Lc.rowj);
      elem(Lc.rowj, Lc.j); c.mem(Op.f64_load, 3);
      c.get(Lc.rowj).get(Lc.rowj).get(Lc.j).call(dot).op(Op.f64_sub).set(Lc.s);
      // if !(s > 0) return 0
      c.get(Lc.s).f64(0).op(Op.f64_gt).op(Op.i32_eqz).op(Op.if, 0x40).i32(0).op(Op.return).op(Op.end);
      c.get(Lc.s).op(Op.f64_sqrt).set(Lc.s);
      elem(Lc.rowj, Lc.j); c.get(Lc.s).mem(Op.f64_store, 3);
      c.f64(1).get(Lc.s).op(Op.f64_div).set(Lc.inv);
      c.forRange(Lc.r, () => c.get(Lc.j).i32(1).op(Op.i32_add), () => c.get(P.n), () => {
        rowAddr(Lc.r, Lc.rowr);
        elem(Lc.rowr, Lc.j);
        elem(Lc.rowr, Lc.j); c.mem(Op.f64_load, 3);
        c.get(Lc.rowr).get(Lc.rowj).get(Lc.j).call(dot).op(Op.f64_sub);
        c.get(Lc.inv).op(Op.f64_mul).mem(Op.f64_store, 3);
      });
    });
    c.i32(1);
    mb.addFunc('cholesky', [I32, I32], [I32], locals, c);
  }
  return mb.build();
}

let cached: WebAssembly.Module | null = null;
export function linalgWasmModule(): WebAssembly.Module {
  cached ??= new WebAssembly.Module(linalgModule());
  return cached;
}

export interface LinalgExports {
  dot(a: number, b: number, len: number): number;
  dotaxpy(row: number, dv: number, ev: number, len: number, f: number): number;
  axpy2(row: number, ev: number, dv: number, len: number, f: number, g: number): void;
  axpy(row: number, dv: number, len: number, g: number): void;
  rot(r1: number, r2: number, len: number, c: number, s: number): void;
  cholesky(A: number, n: number): number;
  cholsolve(L: number, n: number, q: number, out: number): void;
}

/**
 * A Cholesky factor (float32, as returned by choleskyWasm) copied into kernel memory for
 * repeated solves. Holds a region of the kernel arena until close() (regions are released
 * last-in first-out).
 */
export class CholeskySolver {
  private region;
  private at: { L: number; q: number; out: number };
  private ex: LinalgExports;
  private q: Float64Array;
  private out: Float64Array;
  constructor(factor: Float32Array, readonly n: number) {
    const lBytes = Math.ceil((4 * n * n) / 16) * 16;
    this.region = acquire(lBytes + 16 * n);
    const base = this.region.base;
    this.at = { L: base, q: base + lBytes, out: base + lBytes + 8 * n };
    const buf = this.region.buffer();
    new Float32Array(buf, this.at.L, n * n).set(factor);
    this.q = new Float64Array(buf, this.at.q, n);
    this.out = new Float64Array(buf, this.at.out, n);
    this.ex = kernelFor<LinalgExports>(linalgWasmModule()).exports;
  }
  /** out = (L Lᵀ)⁻¹ q. */
  solve(q: Float64Array, out: Float64Array): void {
    this.q.set(q);
    this.ex.cholsolve(this.at.L, this.n, this.at.q, this.at.out);
    out.set(this.out);
  }
  close(): void { this.region.release(); }
}

/**
 * Cholesky factorisation of the symmetric positive definite n × n matrix A (row-major; only
 * the lower triangle is read), computed in double precision and returned in float32 (it
 * serves as a preconditioner, where that precision is ample and halves the memory each
 * solve reads): L in the lower triangle and diagonal, Lᵀ mirrored into the upper triangle
 * (so solves read rows both ways). Returns null if A is not positive definite.
 */
export function choleskyWasm(A: Float64Array, n: number): Float32Array | null {
  const region = acquire(8 * n * n);
  try {
    const M = new Float64Array(region.buffer(), region.base, n * n);
    M.set(A);
    const ok = kernelFor<LinalgExports>(linalgWasmModule()).exports.cholesky(region.base, n);
    if (!ok) return null;
    const L = Float32Array.from(M);
    for (let r = 0; r < n; r++) for (let c = r + 1; c < n; c++) L[r * n + c] = L[c * n + r];
    return L;
  } finally {
    region.release();
  }
}
