/**
 * WebAssembly SIMD kernels for the logistic-regression fit (loss and gradient), generated for
 * a given class count k, in float32 with register tiles like compute/gemm.ts. One pass over
 * the data per evaluation, tile by tile (T rows, T = tileSize(k)), in fixed blocks of
 * BLOCK_ROWS rows:
 *
 *   forward (Z = X·W, then softmax and loss): for each input j, the tile's T values (stored
 *     side by side, `Xf`) are broadcast and multiplied with W's row j (kq = k rounded up to 4
 *     floats, up to 3 f32x4 vectors per class group), giving a T × 12 block of logits in
 *     registers; then per row: logits promoted to f64, softmax (emitExp2), loss −log p_y in
 *     f64 (one per row, summed by the caller in row order), residual p − onehot(y) rounded
 *     to float32.
 *   backward (G = Xᵀ·R), while the tile's values are still in cache: for each input j, the
 *     block's partial gradient row j (float32, in memory) += x_rj · R_r for the tile's rows
 *     r in increasing order (R in registers). So every gradient entry is summed in float32
 *     over the rows of a block in increasing order, from +0.
 *   reduce: each block's partial promoted to f64 and added to the gradient in block order,
 *     from +0.
 *
 * The intercepts are one more input, constant 1 on every real row (inputs padded to a
 * multiple of T with zeros), so the same products give the logits' bias and its gradient.
 *
 * Threads: fit tasks are ranges of row blocks (each block's partial is summed entirely by
 * one task, rows in the fixed order above), reduce tasks ranges of gradient entries (each
 * summed entirely by one task, blocks in order). No result depends on which thread ran what
 * or how the work was cut, so any thread count gives the same bits; the tile T only sets how
 * many rows share a register tile, never an order of additions.
 *
 * Zero inputs: with `list` the kernels visit only the inputs of a tile where at least one of
 * its T values is non-zero, forward and backward. Skipping adds only products that are
 * exactly ±0 to sums that start at +0, which never changes a bit, so the listed and the
 * dense kernels give identical results.
 *
 * Order of operations per f32 lane: acc = +0; acc = acc + x·w (f32 multiply, then f32 add:
 * no fused multiply-add in non-relaxed SIMD, so IEEE-exact on every machine). logistic.ts's
 * `logisticLossGrad32` is the scalar statement of the same operations (tested bit-identical).
 */
import { Code, F64, I32, ModuleBuilder, Op, Simd, V128 } from '../../compute/wasm.ts';
import { emitExp2, paddedClasses } from './logistic-wasm.ts';

/** Rows per float32 partial sum of the gradient (a constant: it fixes the bits). */
export const BLOCK_ROWS = 256;
/** f32x4 vectors per class group. */
const GROUP_VECTORS = 3;

/** Classes padded to whole f32x4 vectors. */
export function classStride(k: number): number {
  return Math.ceil(k / 4) * 4;
}

/**
 * Rows per tile for k classes: as many as keep the forward tile in V8's 15 usable vector
 * registers, counting tile · nv accumulators, the group's nv weight vectors, the tile's
 * broadcasts (TurboFan loads them all up front) and one product, rounded down to a power of
 * two so that tiles never straddle a block of BLOCK_ROWS rows: 2 for 3-vector groups
 * (k > 8), 4 for 1 or 2 (k ≤ 8). The tile never changes a bit (see the module comment).
 */
export function tileSize(k: number): number {
  const nv = Math.min(GROUP_VECTORS, classStride(k) / 4);
  const fit = Math.floor((14 - nv) / (nv + 1));
  return 2 ** Math.floor(Math.log2(fit));
}

/** Inputs padded to whole blocks, with room for the intercepts' constant input at index d. */
export function paddedInputs(d: number, k: number): number {
  const T = tileSize(k);
  return Math.ceil((d + 1) / T) * T;
}

/** The groups of f32x4 vectors the classes are cut into: [first vector, vector count]. */
function classGroups(kq: number): [number, number][] {
  const nv = kq / 4, out: [number, number][] = [];
  for (let v = 0; v < nv; v += GROUP_VECTORS) out.push([v, Math.min(GROUP_VECTORS, nv - v)]);
  return out;
}

/**
 * One step of a T × nv register tile: w_v = the vectors at wAddr + wOff + 16v, then for each
 * of the T values at xAddr + 4r: acc[r·nv + v] += x_r · w_v (f32 multiply, f32 add).
 */
function madds(c: Code, T: number, nv: number, acc: number, w: number, sv: number, wAddr: number, wOff: number, xAddr: number): void {
  for (let v = 0; v < nv; v++) c.get(wAddr).simdMem(Simd.v128_load, wOff + 16 * v).set(w + v);
  for (let r = 0; r < T; r++) {
    c.get(xAddr).simdMem(Simd.v128_load32_splat, 4 * r, 2).set(sv);
    for (let v = 0; v < nv; v++) {
      const a = acc + r * nv + v;
      c.get(a).get(sv).get(w + v).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(a);
    }
  }
}

/** A 16-byte zero vector. */
function zero(c: Code): void {
  c.simd(Simd.v128_const).op(...new Array(16).fill(0));
}

/**
 * One step of the backward register tile: p_v = the nv vectors at pAddr + pOff + 16v (a row
 * of the block's partial gradient), then for each of the T values x_r at xAddr + 4r, in
 * row order: p_v += x_r · R_{r,v} (R's vectors in locals rv + r·nv + v); p stored back.
 */
function backMadds(c: Code, T: number, nv: number, p: number, rv: number, sv: number, pAddr: number, pOff: number, xAddr: number): void {
  for (let v = 0; v < nv; v++) c.get(pAddr).simdMem(Simd.v128_load, pOff + 16 * v).set(p + v);
  for (let r = 0; r < T; r++) {
    c.get(xAddr).simdMem(Simd.v128_load32_splat, 4 * r, 2).set(sv);
    for (let v = 0; v < nv; v++) c.get(p + v).get(sv).get(rv + r * nv + v).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(p + v);
  }
  for (let v = 0; v < nv; v++) c.get(pAddr).get(p + v).simdMem(Simd.v128_store, pOff + 16 * v);
}

/** Bytes of a task's scratch: kp doubles for the softmax, then the tile's T rows of R (float32). */
export function scratchBytes(k: number): number {
  return 8 * paddedClasses(k) + 4 * tileSize(k) * classStride(k);
}

/**
 * Exports (addresses are byte offsets into the imported memory; T = tileSize(k); a block is
 * BLOCK_ROWS rows, BLOCK_ROWS / T tiles):
 *   fb(b0, b1, Xf, dp, rptr, W, y, n, np, loss, P, sc): row blocks [b0, b1), each
 *     tile by tile: logits, softmax, loss and residual of its T rows, then their products
 *     into the block's partial gradient.
 *     Xf: tile t's values at Xf + (t·dp + j)·4T (T rows' x_j side by side); W: dp × kq f32;
 *     y: n i32 labels; loss: n f64 (row i's loss); P: block b's partial gradient at
 *     P + b·dp·4kq (dp × kq f32, written: zeroed, then summed); sc: scratchBytes(k) of
 *     scratch for this task. Tile t visits its runs of inputs [j0, j1) (i32 pairs, in
 *     increasing order) from rptr[t] to rptr[t + 1] (absolute byte addresses), in the forward
 *     and the backward step.
 *   red(e0, e1, P, nb, G): G[e] = Σ_b f64(P_b[e]) for the entries e ∈ [e0, e1) of the
 *     dp × kq gradient (multiples of 8), blocks b < nb in increasing order from +0; G: f64.
 */
export function logisticTilesModule(k: number): Uint8Array<ArrayBuffer> {
  const kq = classStride(k), kp = paddedClasses(k), T = tileSize(k);
  const rowBytes = 4 * kq, xBytes = 4 * T, tilesPerBlock = BLOCK_ROWS / T;
  const groups = classGroups(kq);
  const mb = new ModuleBuilder();
  const log = mb.importFunc('env', 'log', [F64], [F64]);
  mb.importMemory('env', 'memory', 1, 65536, true);
  const exp2 = emitExp2(mb);
  const accs = T * GROUP_VECTORS;

  {
    const P = { b0: 0, b1: 1, Xf: 2, dp: 3, rptr: 4, W: 5, y: 6, n: 7, np: 8, loss: 9, P: 10, sc: 11 };
    const L = {
      b: 12, t: 13, te: 14, xa: 15, q: 16, qe: 17, j: 18, wa: 19, i: 20, ie: 21, yi: 22, ra: 23, xj: 24, pb: 25, pa: 26, rs: 27, xe: 28,
      mx: 29, s: 30, inv: 31, zy: 32, pair: 33, sv: 34, w: 35, acc: 35 + GROUP_VECTORS,
    };
    const locals = [...Array(17).fill(I32), F64, F64, F64, F64, V128, V128, ...Array(GROUP_VECTORS + accs).fill(V128)];
    const c = new Code();
    /**
     * Runs body once per input j of tile t's runs [j0, j1) (rptr[t] … rptr[t + 1]), in
     * increasing order: startRun sets its pointers from j = j0 (L.j), step advances them.
     */
    const eachInput = (startRun: () => void, step: () => void, body: () => void) => {
      c.get(P.rptr).get(L.t).i32(2).op(Op.i32_shl).op(Op.i32_add).tee(L.q).mem(Op.i32_load, 2, 4).set(L.qe);
      c.get(L.q).mem(Op.i32_load, 2, 0).set(L.q);
      c.block(() => c.loop(() => {
        c.get(L.q).get(L.qe).op(Op.i32_ge_u).brIf(1);
        c.get(L.q).mem(Op.i32_load, 2, 0).set(L.j);
        c.get(L.q).mem(Op.i32_load, 2, 4).i32(xBytes).op(Op.i32_mul).get(L.xa).op(Op.i32_add).set(L.xe);
        c.get(L.j).i32(xBytes).op(Op.i32_mul).get(L.xa).op(Op.i32_add).set(L.xj);
        startRun();
        c.block(() => c.loop(() => {
          c.get(L.xj).get(L.xe).op(Op.i32_ge_u).brIf(1);
          body();
          step();
          c.get(L.xj).i32(xBytes).op(Op.i32_add).set(L.xj);
          c.br(0);
        }));
        c.get(L.q).i32(8).op(Op.i32_add).set(L.q);
        c.br(0);
      }));
    };
    c.forRange(L.b, () => c.get(P.b0), () => c.get(P.b1), () => {
      // pb = P + b·dp·rowBytes, zeroed (dp·rowBytes is a whole number of vectors).
      c.get(P.P).get(L.b).get(P.dp).op(Op.i32_mul).i32(rowBytes).op(Op.i32_mul).op(Op.i32_add).tee(L.pb).set(L.pa);
      c.get(L.pb).get(P.dp).i32(rowBytes).op(Op.i32_mul).op(Op.i32_add).set(L.qe);
      c.block(() => c.loop(() => {
        c.get(L.pa).get(L.qe).op(Op.i32_ge_u).brIf(1);
        c.get(L.pa); zero(c); c.simdMem(Simd.v128_store, 0);
        c.get(L.pa).i32(16).op(Op.i32_add).set(L.pa);
        c.br(0);
      }));
      // Tiles [b·tilesPerBlock, min(np / T, (b + 1)·tilesPerBlock)).
      c.get(L.b).i32(tilesPerBlock).op(Op.i32_mul).tee(L.t).i32(tilesPerBlock).op(Op.i32_add).tee(L.te);
      c.get(P.np).i32(T).op(Op.i32_div_u).op(Op.i32_gt_u).op(Op.if, 0x40); c.get(P.np).i32(T).op(Op.i32_div_u).set(L.te); c.op(Op.end);
      c.get(P.sc).i32(8 * kp).op(Op.i32_add).set(L.rs);
      c.block(() => c.loop(() => {
        c.get(L.t).get(L.te).op(Op.i32_ge_u).brIf(1);
        c.get(P.Xf).get(L.t).get(P.dp).op(Op.i32_mul).i32(xBytes).op(Op.i32_mul).op(Op.i32_add).set(L.xa);
        // Forward: logits of the tile's T rows, class group by group, into the scratch rows.
        for (const [v0, nv] of groups) {
          for (let a = 0; a < T * nv; a++) { zero(c); c.set(L.acc + a); }
          eachInput(
            () => { c.get(L.j).i32(rowBytes).op(Op.i32_mul).get(P.W).op(Op.i32_add).set(L.wa); },
            () => { c.get(L.wa).i32(rowBytes).op(Op.i32_add).set(L.wa); },
            () => madds(c, T, nv, L.acc, L.w, L.sv, L.wa, 16 * v0, L.xj),
          );
          for (let r = 0; r < T; r++) {
            for (let v = 0; v < nv; v++) c.get(L.rs).get(L.acc + r * nv + v).simdMem(Simd.v128_store, r * rowBytes + 16 * (v0 + v));
          }
        }
        // Softmax, loss and residual of each real row of the tile (padding rows keep their
        // logits, +0: every one of their inputs is 0).
        c.get(L.t).i32(T).op(Op.i32_mul).tee(L.i).i32(T).op(Op.i32_add).tee(L.ie);
        c.get(P.n).op(Op.i32_gt_s).op(Op.if, 0x40); c.get(P.n).set(L.ie); c.op(Op.end);
        c.get(L.rs).set(L.ra);
        c.block(() => c.loop(() => {
          c.get(L.i).get(L.ie).op(Op.i32_ge_s).brIf(1);
          for (let cc = 0; cc < k; cc++) c.get(P.sc).get(L.ra).mem(Op.f32_load, 2, 4 * cc).op(Op.f64_promote_f32).mem(Op.f64_store, 3, 8 * cc);
          for (let cc = k; cc < kp; cc++) c.get(P.sc).f64(0).mem(Op.f64_store, 3, 8 * cc);
          c.get(P.y).get(L.i).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.i32_load, 2).set(L.yi);
          c.get(P.sc).get(L.yi).i32(3).op(Op.i32_shl).op(Op.i32_add).mem(Op.f64_load, 3).set(L.zy);
          // mx = max z; zs[c] ← exp(z_c − mx) (two classes per call); s = Σ in class order.
          const zAt = (cc: number) => c.get(P.sc).mem(Op.f64_load, 3, 8 * cc);
          zAt(0).set(L.mx);
          for (let cc = 1; cc < k; cc++) { c.get(L.mx); zAt(cc); c.op(Op.f64_max).set(L.mx); }
          c.f64(0).set(L.s);
          for (let cc = 0; cc < k; cc += 2) {
            c.get(P.sc);
            c.get(P.sc).simdMem(Simd.v128_load, 8 * cc).get(L.mx).simd(Simd.f64x2_splat).simd(Simd.f64x2_sub).call(exp2).tee(L.pair);
            c.simdMem(Simd.v128_store, 8 * cc);
            c.get(L.s).get(L.pair).lane(Simd.f64x2_extract_lane, 0).op(Op.f64_add).set(L.s);
            if (cc + 1 < k) c.get(L.s).get(L.pair).lane(Simd.f64x2_extract_lane, 1).op(Op.f64_add).set(L.s);
          }
          c.f64(1).get(L.s).op(Op.f64_div).set(L.inv);
          // loss_i = log s − (z_y − mx)
          c.get(P.loss).get(L.i).i32(3).op(Op.i32_shl).op(Op.i32_add);
          c.get(L.s).call(log).get(L.zy).get(L.mx).op(Op.f64_sub).op(Op.f64_sub);
          c.mem(Op.f64_store, 3);
          // p_c = e_c·inv; p_y −= 1; R ← f32(p − onehot)
          for (let cc = 0; cc < k; cc++) { c.get(P.sc); zAt(cc); c.get(L.inv).op(Op.f64_mul).mem(Op.f64_store, 3, 8 * cc); }
          c.get(P.sc).get(L.yi).i32(3).op(Op.i32_shl).op(Op.i32_add).tee(L.q);
          c.get(L.q).mem(Op.f64_load, 3).f64(1).op(Op.f64_sub).mem(Op.f64_store, 3);
          for (let cc = 0; cc < k; cc++) { c.get(L.ra); zAt(cc); c.op(Op.f32_demote_f64).mem(Op.f32_store, 2, 4 * cc); }
          c.get(L.i).i32(1).op(Op.i32_add).set(L.i);
          c.get(L.ra).i32(rowBytes).op(Op.i32_add).set(L.ra);
          c.br(0);
        }));
        // Backward: the block's partial gradient += x_j · R of the tile's rows, in row order.
        for (const [v0, nv] of groups) {
          for (let r = 0; r < T; r++) {
            for (let v = 0; v < nv; v++) c.get(L.rs).simdMem(Simd.v128_load, r * rowBytes + 16 * (v0 + v)).set(L.acc + r * nv + v);
          }
          eachInput(
            () => { c.get(L.j).i32(rowBytes).op(Op.i32_mul).get(L.pb).op(Op.i32_add).set(L.pa); },
            () => { c.get(L.pa).i32(rowBytes).op(Op.i32_add).set(L.pa); },
            () => backMadds(c, T, nv, L.w, L.acc, L.sv, L.pa, 16 * v0, L.xj),
          );
        }
        c.get(L.t).i32(1).op(Op.i32_add).set(L.t);
        c.br(0);
      }));
    });
    mb.addFunc('fb', Array(12).fill(I32), [], locals, c);
  }

  // red(e0, e1, P, nb, blockBytes, G): eight entries at a time, four f64x2 sums over the
  // blocks in increasing order (block b's partial at P + b·blockBytes).
  {
    const P = { e0: 0, e1: 1, P: 2, nb: 3, blockBytes: 4, G: 5 };
    const L = { e: 6, b: 7, pa: 8, acc: 9 };
    const c = new Code();
    c.forRange(L.e, () => c.get(P.e0), () => c.get(P.e1), () => {
      for (let h = 0; h < 4; h++) { c.f64(0).simd(Simd.f64x2_splat).set(L.acc + h); }
      c.get(P.P).get(L.e).i32(2).op(Op.i32_shl).op(Op.i32_add).set(L.pa);
      c.forRange(L.b, () => c.i32(0), () => c.get(P.nb), () => {
        for (let h = 0; h < 4; h++) {
          c.get(L.acc + h).get(L.pa).simdMem(Simd.v128_load64_zero, 8 * h, 3).simd(Simd.f64x2_promote_low_f32x4).simd(Simd.f64x2_add).set(L.acc + h);
        }
        c.get(L.pa).get(P.blockBytes).op(Op.i32_add).set(L.pa);
      });
      for (let h = 0; h < 4; h++) {
        c.get(P.G).get(L.e).i32(3).op(Op.i32_shl).op(Op.i32_add).get(L.acc + h).simdMem(Simd.v128_store, 16 * h);
      }
    }, 8);
    mb.addFunc('red', Array(6).fill(I32), [], [I32, I32, I32, V128, V128, V128, V128], c);
  }

  // pack(i0, i1, X, n, d, dp, Xf): rows [i0, i1) of the n × d float32 X (row-major at X)
  // into the row-tile packing, every value written: x_ij for j < d, 1 at j = d on real rows
  // (the intercepts' input), 0 elsewhere (inputs past d, padding rows i ≥ n). Row i's x_j
  // goes to Xf + 4·((⌊i/T⌋·dp + j)·T + i mod T).
  {
    const P = { i0: 0, i1: 1, X: 2, n: 3, d: 4, dp: 5, Xf: 6 };
    const L = { i: 7, j: 8, pf: 9, px: 10, je: 11 };
    const c = new Code();
    c.get(P.i0).set(L.i);
    c.block(() => c.loop(() => {
      c.get(L.i).get(P.i1).op(Op.i32_ge_u).brIf(1);
      // pf = Xf + 4·(⌊i/T⌋·dp·T + i mod T); px = X + 4·i·d
      c.get(P.Xf).get(L.i).i32(T).op(Op.i32_div_u).get(P.dp).op(Op.i32_mul).i32(T).op(Op.i32_mul);
      c.get(L.i).get(L.i).i32(T).op(Op.i32_div_u).i32(T).op(Op.i32_mul).op(Op.i32_sub).op(Op.i32_add);
      c.i32(2).op(Op.i32_shl).op(Op.i32_add).set(L.pf);
      c.get(P.X).get(L.i).get(P.d).op(Op.i32_mul).i32(2).op(Op.i32_shl).op(Op.i32_add).set(L.px);
      c.i32(0).set(L.j);
      // Real rows: the d inputs, then 1 (the intercepts' input); then zeros up to dp.
      c.get(L.i).get(P.n).op(Op.i32_lt_u).op(Op.if, 0x40);
      c.block(() => c.loop(() => {
        c.get(L.j).get(P.d).op(Op.i32_ge_u).brIf(1);
        c.get(L.pf).get(L.px).mem(Op.f32_load, 2).mem(Op.f32_store, 2);
        c.get(L.px).i32(4).op(Op.i32_add).set(L.px);
        c.get(L.pf).i32(4 * T).op(Op.i32_add).set(L.pf);
        c.get(L.j).i32(1).op(Op.i32_add).set(L.j);
        c.br(0);
      }));
      c.get(L.pf).f32(1).mem(Op.f32_store, 2);
      c.get(L.pf).i32(4 * T).op(Op.i32_add).set(L.pf);
      c.get(L.j).i32(1).op(Op.i32_add).set(L.j);
      c.op(Op.end);
      c.block(() => c.loop(() => {
        c.get(L.j).get(P.dp).op(Op.i32_ge_u).brIf(1);
        c.get(L.pf).f32(0).mem(Op.f32_store, 2);
        c.get(L.pf).i32(4 * T).op(Op.i32_add).set(L.pf);
        c.get(L.j).i32(1).op(Op.i32_add).set(L.j);
        c.br(0);
      }));
      c.get(L.i).i32(1).op(Op.i32_add).set(L.i);
      c.br(0);
    }));
    mb.addFunc('pack', Array(7).fill(I32), [], [I32, I32, I32, I32, I32], c);
  }
  return mb.build();
}
