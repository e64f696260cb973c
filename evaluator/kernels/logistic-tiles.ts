/**
 * WebAssembly SIMD kernels for the logistic-regression fit (loss and gradient), generated for
 * a given class count k, in float32 with register tiles like compute/gemm.ts:
 *
 *   forward (Z = X·W, then softmax and loss): rows in tiles of 4; for each input j, the
 *     tile's 4 values (stored side by side, `Xf`) are broadcast and multiplied with W's row j
 *     (kq = k rounded up to 4 floats, up to 3 f32x4 vectors per class group), giving a
 *     4 × 12 block of logits in 12 accumulators; then per row: logits promoted to f64,
 *     softmax (emitExp2), loss −log p_y in f64 (one per row, summed by the caller in row
 *     order), residual p − onehot(y) stored as float32 into R.
 *   backward (G = Xᵀ·R): inputs in blocks of 4 (their 4 values per row side by side, `Xb`);
 *     for each row i, R's row i times the 4 broadcast values, a 4 × 12 block of G in 12
 *     accumulators. Rows are summed in float32 within fixed blocks of BLOCK_ROWS rows, in
 *     increasing order, and each block's sums are added to the float64 gradient in block
 *     order.
 *
 * The intercepts are one more input, constant 1 on every real row (inputs padded to a
 * multiple of 4 with zeros), so the same products give the logits' bias and its gradient.
 *
 * Threads: forward tasks are ranges of row tiles (rows are independent), backward tasks
 * ranges of input blocks (each gradient entry is summed entirely by one task, over all rows
 * in the fixed order above). No result depends on which thread ran what or how the work was
 * cut, so any thread count gives the same bits (for a 1,000-row fit as for 100,000 rows).
 *
 * Zero inputs: with `list` the kernels visit only the inputs of a tile (forward) or the rows
 * of a block (backward) where at least one of the 4 values is non-zero. Skipping adds only
 * products that are exactly ±0 to sums that start at +0, which never changes a bit, so the
 * listed and the dense kernels give identical results.
 *
 * Order of operations per f32 lane: acc = +0; acc = acc + x·w (f32 multiply, then f32 add:
 * no fused multiply-add in non-relaxed SIMD, so IEEE-exact on every machine). logistic.ts's
 * `logisticLossGrad` is the scalar statement of the same operations (tested bit-identical).
 */
import { Code, F32, F64, I32, ModuleBuilder, Op, Simd, V128 } from '../../compute/wasm.ts';
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
 * Rows per forward tile and inputs per backward block for k classes: as many as keep the
 * tile in V8's 15 usable vector registers, counting tile · nv accumulators, the group's nv
 * weight vectors, the tile's broadcasts (TurboFan loads them all up front) and one product:
 * 2 for 3-vector groups (k > 8), 4 for 2 (k ≤ 8), 6 for 1 (k ≤ 4). The tile never changes a
 * bit (see the module comment).
 */
export function tileSize(k: number): number {
  const nv = Math.min(GROUP_VECTORS, classStride(k) / 4);
  return Math.floor((14 - nv) / (nv + 1));
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
 * Exports (addresses are byte offsets into the imported memory; T = tileSize(k)):
 *   fwd_d / fwd_l(t0, t1, Xf, dp, fptr, W, y, n, R, loss, zs): row tiles [t0, t1).
 *     Xf: tile t's values at Xf + (t·dp + j)·4T (T rows' x_j side by side); W: dp × kq f32;
 *     y: n i32 labels; R: rows × kq f32 (written: residuals; padding rows keep 0); loss: n
 *     f64 (row i's loss); zs: kp doubles of scratch for this task. fwd_d visits every input
 *     j < dp; fwd_l the list at fptr[t] … fptr[t + 1] (absolute byte addresses of i32 j).
 *   bwd_d / bwd_l(b0, b1, Xb, np, bptr, nb, R, G, sc): input blocks [b0, b1) of nb.
 *     Xb: block b's values at Xb + (b·np + i)·4T (x_{i, Tb … Tb+T−1}); np: padded rows;
 *     G: (T·nb) × kq f64 (added to: the caller zeroes it); sc: 16·T·3 bytes of scratch.
 *     bwd_l visits, per row block r, the list at bptr[r·nb + b] … (+1) (i32 row indices).
 */
export function logisticTilesModule(k: number): Uint8Array<ArrayBuffer> {
  const kq = classStride(k), kp = paddedClasses(k), T = tileSize(k);
  const rowBytes = 4 * kq, xBytes = 4 * T;
  const groups = classGroups(kq);
  const mb = new ModuleBuilder();
  const log = mb.importFunc('env', 'log', [F64], [F64]);
  mb.importMemory('env', 'memory', 1, 65536, true);
  const exp2 = emitExp2(mb);
  const accs = T * GROUP_VECTORS;

  for (const listed of [false, true]) {
    const sfx = listed ? 'l' : 'd';
    {
      const P = { t0: 0, t1: 1, Xf: 2, dp: 3, fptr: 4, W: 5, y: 6, n: 7, R: 8, loss: 9, zs: 10 };
      const L = { t: 11, xa: 12, q: 13, qe: 14, j: 15, wa: 16, i: 17, ie: 18, yi: 19, ra: 20, xj: 21, mx: 22, s: 23, inv: 24, zy: 25, pair: 26, sv: 27, w: 28, acc: 28 + GROUP_VECTORS };
      const locals = [...Array(11).fill(I32), F64, F64, F64, F64, V128, V128, ...Array(GROUP_VECTORS + accs).fill(V128)];
      const c = new Code();
      c.forRange(L.t, () => c.get(P.t0), () => c.get(P.t1), () => {
        c.get(P.Xf).get(L.t).get(P.dp).op(Op.i32_mul).i32(xBytes).op(Op.i32_mul).op(Op.i32_add).set(L.xa);
        for (const [v0, nv] of groups) {
          for (let a = 0; a < T * nv; a++) { zero(c); c.set(L.acc + a); }
          if (listed) {
            c.get(P.fptr).get(L.t).i32(2).op(Op.i32_shl).op(Op.i32_add).tee(L.q).mem(Op.i32_load, 2, 4).set(L.qe);
            c.get(L.q).mem(Op.i32_load, 2, 0).set(L.q);
            c.block(() => c.loop(() => {
              c.get(L.q).get(L.qe).op(Op.i32_ge_u).brIf(1);
              c.get(L.q).mem(Op.i32_load, 2, 0).tee(L.j).i32(rowBytes).op(Op.i32_mul).get(P.W).op(Op.i32_add).set(L.wa);
              c.get(L.j).i32(xBytes).op(Op.i32_mul).get(L.xa).op(Op.i32_add).set(L.xj);
              madds(c, T, nv, L.acc, L.w, L.sv, L.wa, 16 * v0, L.xj);
              c.get(L.q).i32(4).op(Op.i32_add).set(L.q);
              c.br(0);
            }));
          } else {
            c.get(P.W).set(L.wa);
            c.get(L.xa).set(L.xj);
            c.get(P.dp).i32(xBytes).op(Op.i32_mul).get(L.xa).op(Op.i32_add).set(L.qe);
            c.block(() => c.loop(() => {
              c.get(L.xj).get(L.qe).op(Op.i32_ge_u).brIf(1);
              madds(c, T, nv, L.acc, L.w, L.sv, L.wa, 16 * v0, L.xj);
              c.get(L.wa).i32(rowBytes).op(Op.i32_add).set(L.wa);
              c.get(L.xj).i32(xBytes).op(Op.i32_add).set(L.xj);
              c.br(0);
            }));
          }
          // Logits of the tile's T rows into R (class group v0).
          c.get(P.R).get(L.t).i32(T * rowBytes).op(Op.i32_mul).op(Op.i32_add).set(L.ra);
          for (let r = 0; r < T; r++) {
            for (let v = 0; v < nv; v++) c.get(L.ra).get(L.acc + r * nv + v).simdMem(Simd.v128_store, r * rowBytes + 16 * (v0 + v));
          }
        }
        // Softmax, loss and residual of each real row of the tile.
        c.get(L.t).i32(T).op(Op.i32_mul).tee(L.i).i32(T).op(Op.i32_add).tee(L.ie);
        c.get(P.n).op(Op.i32_gt_s).op(Op.if, 0x40); c.get(P.n).set(L.ie); c.op(Op.end);
        c.block(() => c.loop(() => {
          c.get(L.i).get(L.ie).op(Op.i32_ge_s).brIf(1);
          c.get(P.R).get(L.i).i32(rowBytes).op(Op.i32_mul).op(Op.i32_add).set(L.ra);
          for (let cc = 0; cc < k; cc++) c.get(P.zs).get(L.ra).mem(Op.f32_load, 2, 4 * cc).op(Op.f64_promote_f32).mem(Op.f64_store, 3, 8 * cc);
          for (let cc = k; cc < kp; cc++) c.get(P.zs).f64(0).mem(Op.f64_store, 3, 8 * cc);
          c.get(P.y).get(L.i).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.i32_load, 2).set(L.yi);
          c.get(P.zs).get(L.yi).i32(3).op(Op.i32_shl).op(Op.i32_add).mem(Op.f64_load, 3).set(L.zy);
          // mx = max z; zs[c] ← exp(z_c − mx) (two classes per call); s = Σ in class order.
          const zAt = (cc: number) => c.get(P.zs).mem(Op.f64_load, 3, 8 * cc);
          zAt(0).set(L.mx);
          for (let cc = 1; cc < k; cc++) { c.get(L.mx); zAt(cc); c.op(Op.f64_max).set(L.mx); }
          c.f64(0).set(L.s);
          for (let cc = 0; cc < k; cc += 2) {
            c.get(P.zs);
            c.get(P.zs).simdMem(Simd.v128_load, 8 * cc).get(L.mx).simd(Simd.f64x2_splat).simd(Simd.f64x2_sub).call(exp2).tee(L.pair);
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
          for (let cc = 0; cc < k; cc++) { c.get(P.zs); zAt(cc); c.get(L.inv).op(Op.f64_mul).mem(Op.f64_store, 3, 8 * cc); }
          c.get(P.zs).get(L.yi).i32(3).op(Op.i32_shl).op(Op.i32_add).tee(L.q);
          c.get(L.q).mem(Op.f64_load, 3).f64(1).op(Op.f64_sub).mem(Op.f64_store, 3);
          for (let cc = 0; cc < k; cc++) { c.get(L.ra); zAt(cc); c.op(Op.f32_demote_f64).mem(Op.f32_store, 2, 4 * cc); }
          c.get(L.i).i32(1).op(Op.i32_add).set(L.i);
          c.br(0);
        }));
      });
      mb.addFunc(`fwd_${sfx}`, Array(11).fill(I32), [], locals, c);
    }
    {
      const P = { b0: 0, b1: 1, Xb: 2, np: 3, bptr: 4, nb: 5, R: 6, G: 7, sc: 8 };
      const L = { rb: 9, b: 10, q: 11, qe: 12, i: 13, xa: 14, ra: 15, ga: 16, re: 17, xi: 18, sv: 19, w: 20, acc: 20 + GROUP_VECTORS };
      const locals = [...Array(10).fill(I32), V128, ...Array(GROUP_VECTORS + accs).fill(V128)];
      const c = new Code();
      // Row blocks outer (one block of R stays in cache while this task's inputs pass),
      // input blocks inner; each G entry still sees its row blocks in increasing order.
      c.i32(0).set(L.rb);
      c.block(() => c.loop(() => {
        c.get(L.rb).get(P.np).op(Op.i32_ge_u).brIf(1);
        c.get(L.rb).i32(BLOCK_ROWS).op(Op.i32_add).tee(L.re).get(P.np).op(Op.i32_gt_u).op(Op.if, 0x40); c.get(P.np).set(L.re); c.op(Op.end);
        c.forRange(L.b, () => c.get(P.b0), () => c.get(P.b1), () => {
          c.get(P.Xb).get(L.b).get(P.np).op(Op.i32_mul).i32(xBytes).op(Op.i32_mul).op(Op.i32_add).set(L.xa);
          for (const [v0, nv] of groups) {
            for (let a = 0; a < T * nv; a++) { zero(c); c.set(L.acc + a); }
            if (listed) {
              // bptr[(rb / BLOCK_ROWS)·nb + b]
              c.get(P.bptr).get(L.rb).i32(BLOCK_ROWS).op(Op.i32_div_u).get(P.nb).op(Op.i32_mul).get(L.b).op(Op.i32_add).i32(2).op(Op.i32_shl).op(Op.i32_add);
              c.tee(L.q).mem(Op.i32_load, 2, 4).set(L.qe);
              c.get(L.q).mem(Op.i32_load, 2, 0).set(L.q);
              c.block(() => c.loop(() => {
                c.get(L.q).get(L.qe).op(Op.i32_ge_u).brIf(1);
                c.get(L.q).mem(Op.i32_load, 2, 0).tee(L.i).i32(rowBytes).op(Op.i32_mul).get(P.R).op(Op.i32_add).set(L.ra);
                c.get(L.i).i32(xBytes).op(Op.i32_mul).get(L.xa).op(Op.i32_add).set(L.xi);
                madds(c, T, nv, L.acc, L.w, L.sv, L.ra, 16 * v0, L.xi);
                c.get(L.q).i32(4).op(Op.i32_add).set(L.q);
                c.br(0);
              }));
            } else {
              c.get(L.rb).i32(rowBytes).op(Op.i32_mul).get(P.R).op(Op.i32_add).set(L.ra);
              c.get(L.rb).i32(xBytes).op(Op.i32_mul).get(L.xa).op(Op.i32_add).set(L.xi);
              c.get(L.re).i32(xBytes).op(Op.i32_mul).get(L.xa).op(Op.i32_add).set(L.qe);
              c.block(() => c.loop(() => {
                c.get(L.xi).get(L.qe).op(Op.i32_ge_u).brIf(1);
                madds(c, T, nv, L.acc, L.w, L.sv, L.ra, 16 * v0, L.xi);
                c.get(L.ra).i32(rowBytes).op(Op.i32_add).set(L.ra);
                c.get(L.xi).i32(xBytes).op(Op.i32_add).set(L.xi);
                c.br(0);
              }));
            }
            // G[Tb + t][4(v0 + v) …] += f64(acc): through scratch, two floats at a time.
            for (let t = 0; t < T; t++) for (let v = 0; v < nv; v++) c.get(P.sc).get(L.acc + t * nv + v).simdMem(Simd.v128_store, 16 * (t * nv + v));
            c.get(P.G).get(L.b).i32(T * kq * 8).op(Op.i32_mul).op(Op.i32_add).set(L.ga);
            for (let t = 0; t < T; t++) {
              for (let v = 0; v < nv; v++) {
                for (let h = 0; h < 2; h++) {
                  const gOff = 8 * (t * kq + 4 * (v0 + v) + 2 * h);
                  c.get(L.ga);
                  c.get(L.ga).simdMem(Simd.v128_load, gOff);
                  c.get(P.sc).simdMem(Simd.v128_load64_zero, 16 * (t * nv + v) + 8 * h, 3).simd(Simd.f64x2_promote_low_f32x4);
                  c.simd(Simd.f64x2_add).simdMem(Simd.v128_store, gOff);
                }
              }
            }
          }
        });
        c.get(L.re).set(L.rb);
        c.br(0);
      }));
      mb.addFunc(`bwd_${sfx}`, Array(9).fill(I32), [], locals, c);
    }
  }

  // pack(i0, i1, X, n, d, dp, np, Xf, Xb): rows [i0, i1) of the n × d float32 X (row-major at
  // X) into both packings, every value written: x_ij for j < d, 1 at j = d on real rows (the
  // intercepts' input), 0 elsewhere (inputs past d, padding rows i ≥ n). Xf: row i's x_j at
  // Xf + 4·((⌊i/T⌋·dp + j)·T + i mod T); Xb: at Xb + 4·((⌊j/T⌋·np + i)·T + j mod T).
  {
    const P = { i0: 0, i1: 1, X: 2, n: 3, d: 4, dp: 5, np: 6, Xf: 7, Xb: 8 };
    const L = { i: 9, j: 10, jj: 11, pf: 12, pb: 13, px: 14, v: 15 };
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
      // Blocks of T inputs: pb walks block b's slot of row i, then jumps a block (np·T floats).
      c.get(P.Xb).get(L.i).i32(T).op(Op.i32_mul).i32(2).op(Op.i32_shl).op(Op.i32_add).set(L.pb);
      c.block(() => c.loop(() => {
        c.get(L.j).get(P.dp).op(Op.i32_ge_u).brIf(1);
        for (let jj = 0; jj < T; jj++) {
          // v = i < n ? (j < d ? X[i, j] : j === d ? 1 : 0) : 0
          c.get(L.i).get(P.n).op(Op.i32_lt_u).op(Op.if, F32);
          c.get(L.j).get(P.d).op(Op.i32_lt_u).op(Op.if, F32);
          c.get(L.px).get(L.j).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.f32_load, 2);
          c.op(Op.else);
          c.get(L.j).get(P.d).op(Op.i32_eq).op(Op.f32_convert_i32_u);
          c.op(Op.end);
          c.op(Op.else);
          c.f32(0);
          c.op(Op.end);
          c.set(L.v);
          c.get(L.pf).get(L.v).mem(Op.f32_store, 2);
          c.get(L.pb).get(L.v).mem(Op.f32_store, 2, 4 * jj);
          c.get(L.pf).i32(4 * T).op(Op.i32_add).set(L.pf);
          c.get(L.j).i32(1).op(Op.i32_add).set(L.j);
        }
        c.get(L.pb).get(P.np).i32(4 * T).op(Op.i32_mul).op(Op.i32_add).set(L.pb);
        c.br(0);
      }));
      c.get(L.i).i32(1).op(Op.i32_add).set(L.i);
      c.br(0);
    }));
    mb.addFunc('pack', Array(9).fill(I32), [], [I32, I32, I32, I32, I32, I32, F32], c);
  }
  return mb.build();
}
