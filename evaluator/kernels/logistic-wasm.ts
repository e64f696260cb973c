/**
 * WebAssembly SIMD kernels for the logistic regression loss and gradient, generated for a
 * given class count k. Weights are d × kp doubles (kp = k rounded up to even, padding
 * columns zero) so each input's weights are kp/2 f64x2 lanes and one row's logits are kp/2
 * independent SIMD accumulators.
 *
 * Sparse inputs are lists of 8-byte pairs (i32 byte offset, f32 value): zero pixels cost
 * nothing. The forward pass walks rows (CSR: offsets into W), the backward pass walks
 * columns (CSC: offsets into the residual rows R), so both only gather and accumulate in
 * registers; the backward sum for input j runs over rows in increasing order, exactly the
 * order a row-by-row scatter would use.
 *
 * All arithmetic is IEEE double (f32 inputs promoted exactly), multiply then add (wasm has
 * no fused multiply-add), in a fixed order, so results are identical on every machine.
 * exp is computed in wasm (emitExp2); log, once per row, is the host's Math.log.
 */
import { Code, F64, I32, ModuleBuilder, Op, Simd, V128, type ValType } from '../../compute/wasm.ts';
import { EXP_COEFFS, INV_LN2, LN2_HI, LN2_LO } from './softmax.ts';

/**
 * Emits `exp2(v)`: exp of both f64x2 lanes (each ≤ 0), every lane computing exactly the
 * operations of softmax.ts's expNonPositive (range reduction, Estrin polynomial, exponent
 * bits, flush below −708). A call into the host's Math.exp would cost more than a row's
 * logits when d is small.
 */
export function emitExp2(mb: ModuleBuilder): number {
  const X = 0, N = 1, R = 2, R2 = 3, R4 = 4, R8 = 5, Q = 6;
  const S = Q + 7, T = S + 3, MASK = T + 2;
  const c = new Code();
  const C = EXP_COEFFS;
  const k = (v: number) => c.f64(v).simd(Simd.f64x2_splat);
  const mul = () => c.simd(Simd.f64x2_mul), add = () => c.simd(Simd.f64x2_add), sub = () => c.simd(Simd.f64x2_sub);
  c.get(X); k(-708); c.simd(Simd.f64x2_lt).set(MASK);
  c.get(X); k(INV_LN2); mul(); k(0.5); add(); c.simd(Simd.f64x2_floor).set(N);
  c.get(X).get(N); k(LN2_HI); mul(); sub(); c.get(N); k(LN2_LO); mul(); sub(); c.set(R);
  c.get(R).get(R); mul(); c.set(R2);
  c.get(R2).get(R2); mul(); c.set(R4);
  c.get(R4).get(R4); mul(); c.set(R8);
  for (let i = 0; i < 7; i++) { k(C[2 * i]); k(C[2 * i + 1]); c.get(R); mul(); add(); c.set(Q + i); }
  for (let i = 0; i < 3; i++) { c.get(Q + 2 * i).get(Q + 2 * i + 1).get(R2); mul(); add(); c.set(S + i); }
  c.get(S).get(S + 1).get(R4); mul(); add(); c.set(T);
  c.get(S + 2).get(Q + 6).get(R4); mul(); add(); c.set(T + 1);
  c.get(T).get(T + 1).get(R8); mul(); add();
  // 2ⁿ from the exponent bits: ((n + 1023) as i64) << 52.
  c.get(N).simd(Simd.i32x4_trunc_sat_f64x2_s_zero).i32(1023).simd(Simd.i32x4_splat).simd(Simd.i32x4_add);
  c.simd(Simd.i64x2_extend_low_i32x4_s).i32(52).simd(Simd.i64x2_shl);
  mul();
  // Lanes below −708 are 0: result & ~mask.
  c.get(MASK).simd(Simd.v128_andnot);
  return mb.addFunc(null, [V128], [V128], Array(MASK + 1 - N).fill(V128), c);
}

/** Column count padded to whole f64x2 lanes. */
export function paddedClasses(k: number): number {
  return k + (k & 1);
}

/** Bytes per stored non-zero: i32 byte offset + f32 value. */
export const PAIR_BYTES = 8;

type Mode = 'sparse' | 'dense';

interface GatherLocals { q: number; qe: number; a: number; a2: number; xs: number; xs2: number; acc: number }

/**
 * Emits `acc[m] += x · A[m]` over a list of inputs, two per loop turn, then the odd one.
 * sparse: pairs (i32 byte offset into the gathered matrix at local `base`, f32 value) in
 *   [q, qe); dense: f32 values at q, q + qstep, … < qe, the matrix row advancing by `astep`
 *   bytes per value from local `a` (set by the caller).
 */
function emitGather(c: Code, lanes: number, mode: Mode, L: GatherLocals, base: number, qstep: number | null, qstepLocal: number, astep: number): void {
  const accumulate = (a: number, xs: number) => {
    for (let m = 0; m < lanes; m++) {
      c.get(L.acc + m).get(xs).get(a).simdMem(Simd.v128_load, 16 * m).simd(Simd.f64x2_mul).simd(Simd.f64x2_add).set(L.acc + m);
    }
  };
  const step = () => { if (qstep !== null) c.i32(qstep); else c.get(qstepLocal); };
  if (mode === 'sparse') {
    const pair = (a: number, xs: number, off: number) => {
      c.get(base).get(L.q).mem(Op.i32_load, 2, off).op(Op.i32_add).set(a);
      c.get(L.q).mem(Op.f32_load, 2, off + 4).op(Op.f64_promote_f32).simd(Simd.f64x2_splat).set(xs);
    };
    c.block(() => c.loop(() => {
      c.get(L.q).i32(2 * PAIR_BYTES).op(Op.i32_add).get(L.qe).op(Op.i32_gt_s).brIf(1);
      pair(L.a, L.xs, 0);
      pair(L.a2, L.xs2, PAIR_BYTES);
      accumulate(L.a, L.xs);
      accumulate(L.a2, L.xs2);
      c.get(L.q).i32(2 * PAIR_BYTES).op(Op.i32_add).set(L.q);
      c.br(0);
    }));
    c.get(L.q).get(L.qe).op(Op.i32_lt_s).op(Op.if, 0x40);
    pair(L.a, L.xs, 0);
    accumulate(L.a, L.xs);
    c.op(Op.end);
    return;
  }
  // dense: local a walks the matrix rows; the second input of a turn is at q + qstep.
  const value = (qAddr: () => void, xs: number) => { qAddr(); c.mem(Op.f32_load, 2).op(Op.f64_promote_f32).simd(Simd.f64x2_splat).set(xs); };
  c.block(() => c.loop(() => {
    // stop when q + qstep >= qe (fewer than two inputs left)
    c.get(L.q); step(); c.op(Op.i32_add).get(L.qe).op(Op.i32_ge_s).brIf(1);
    value(() => c.get(L.q), L.xs);
    value(() => { c.get(L.q); step(); c.op(Op.i32_add); }, L.xs2);
    c.get(L.a).i32(astep).op(Op.i32_add).set(L.a2);
    accumulate(L.a, L.xs);
    accumulate(L.a2, L.xs2);
    c.get(L.a).i32(2 * astep).op(Op.i32_add).set(L.a);
    c.get(L.q); step(); step(); c.op(Op.i32_add).op(Op.i32_add).set(L.q);
    c.br(0);
  }));
  c.get(L.q).get(L.qe).op(Op.i32_lt_s).op(Op.if, 0x40);
  value(() => c.get(L.q), L.xs);
  accumulate(L.a, L.xs);
  c.op(Op.end);
}

/**
 * Exports, each for mode m ∈ {s (sparse), d (dense)}; addresses are byte offsets into the
 * imported memory. `src` is, in sparse mode, an array of n + 1 absolute byte addresses of
 * each row's first pair (CSR) and, in dense mode, the f32 matrix X (n × d, row-major).
 *   forward_m(src, d, y, r0, r1, W, b, R, gb) → Σ_{i∈[r0,r1)} −log p(y_i | x_i); writes the
 *     residual p − onehot(y) of row i to R + (i − r0)·kp·8 and adds it into gb (kp doubles).
 *   backward_m(csrc, d, r0, r1, R, G): G[j] = Σ_{i∈[r0,r1)} x_ij · R[i − r0] for j < d
 *     (overwrites G, d × kp), rows in increasing order. Sparse csrc: the chunk's CSC column
 *     pointers (pairs hold byte offsets of rows in R); dense csrc: X.
 *   logits_m(src, d, r0, r1, W, b, out): out + (i − r0)·kp·8 ← x_i·W + b (f64).
 *   proba_m(src, d, r0, r1, W, b, out, zs): out + (i − r0)·k·4 ← softmax(x_i·W + b) (f32);
 *     zs: kp doubles of scratch (one per concurrent task).
 *   chunk_m(src, csrc, d, y, r0, r1, W, b, R, G, lossAt): one unit of threaded work:
 *     gb = G + d·kp·8 zeroed, loss = forward, backward, f64 at lossAt ← loss.
 */
export function logisticModule(k: number, shared: boolean): Uint8Array<ArrayBuffer> {
  const kp = paddedClasses(k);
  const lanes = kp / 2;
  const rowBytes = 8 * kp;
  const mb = new ModuleBuilder();
  const log = mb.importFunc('env', 'log', [F64], [F64]);
  mb.importMemory('env', 'memory', 1, 65536, shared);
  const exp2 = emitExp2(mb);

  /** Sets up q/qe (and a for dense) for row i, then gathers x_i·W into acc. */
  const emitRow = (c: Code, mode: Mode, src: number, d: number, i: number, W: number, L: GatherLocals) => {
    if (mode === 'sparse') {
      c.get(src).get(i).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.i32_load, 2, 0).set(L.q);
      c.get(src).get(i).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.i32_load, 2, 4).set(L.qe);
      emitGather(c, lanes, mode, L, W, 4, -1, rowBytes);
    } else {
      c.get(src).get(i).get(d).op(Op.i32_mul).i32(2).op(Op.i32_shl).op(Op.i32_add).set(L.q);
      c.get(L.q).get(d).i32(2).op(Op.i32_shl).op(Op.i32_add).set(L.qe);
      c.get(W).set(L.a);
      emitGather(c, lanes, mode, L, W, 4, -1, rowBytes);
    }
  };

  /**
   * Softmax numerators of z[0..k) in place (exp(z − max), two classes per call), their sum s
   * (added in class order) and inv = 1/s. With odd k the padding lane is computed and ignored.
   */
  const emitSoftmax = (c: Code, z: number, mx: number, s: number, inv: number, pair: number) => {
    const zAt = (cc: number) => c.get(z).mem(Op.f64_load, 3, 8 * cc);
    zAt(0).set(mx);
    for (let cc = 1; cc < k; cc++) { c.get(mx); zAt(cc); c.op(Op.f64_max).set(mx); }
    c.f64(0).set(s);
    for (let cc = 0; cc < k; cc += 2) {
      c.get(z);
      c.get(z).simdMem(Simd.v128_load, 8 * cc).get(mx).simd(Simd.f64x2_splat).simd(Simd.f64x2_sub).call(exp2).tee(pair);
      c.simdMem(Simd.v128_store, 8 * cc);
      c.get(s).get(pair).lane(Simd.f64x2_extract_lane, 0).op(Op.f64_add).set(s);
      if (cc + 1 < k) c.get(s).get(pair).lane(Simd.f64x2_extract_lane, 1).op(Op.f64_add).set(s);
    }
    c.f64(1).get(s).op(Op.f64_div).set(inv);
  };

  const fns: Record<string, number> = {};
  for (const mode of ['sparse', 'dense'] as const) {
    const sfx = mode === 'sparse' ? 's' : 'd';
    {
      const P = { src: 0, d: 1, y: 2, r0: 3, r1: 4, W: 5, b: 6, R: 7, gb: 8 };
      const params: ValType[] = Array(9).fill(I32);
      const L = { i: 9, q: 10, qe: 11, a: 12, a2: 13, yi: 14, z: 15, xs: 16, xs2: 17, mx: 18, s: 19, loss: 20, zy: 21, inv: 22, pair: 23, acc: 24 };
      const locals: ValType[] = [I32, I32, I32, I32, I32, I32, I32, V128, V128, F64, F64, F64, F64, F64, V128, ...Array(lanes).fill(V128)];
      const c = new Code();
      const zAt = (cc: number) => c.get(L.z).mem(Op.f64_load, 3, 8 * cc);
      c.f64(0).set(L.loss);
      c.get(P.R).set(L.z);
      c.forRange(L.i, () => c.get(P.r0), () => c.get(P.r1), () => {
        for (let m = 0; m < lanes; m++) c.get(P.b).simdMem(Simd.v128_load, 16 * m).set(L.acc + m);
        emitRow(c, mode, P.src, P.d, L.i, P.W, L);
        for (let m = 0; m < lanes; m++) c.get(L.z).get(L.acc + m).simdMem(Simd.v128_store, 16 * m);
        // Cross-entropy: loss += log Σ exp(z − max) − (z_y − max); z becomes softmax(z).
        c.get(P.y).get(L.i).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.i32_load, 2).set(L.yi);
        c.get(L.z).get(L.yi).i32(3).op(Op.i32_shl).op(Op.i32_add).mem(Op.f64_load, 3).set(L.zy);
        emitSoftmax(c, L.z, L.mx, L.s, L.inv, L.pair);
        c.get(L.loss).get(L.s).call(log).get(L.zy).get(L.mx).op(Op.f64_sub).op(Op.f64_sub).op(Op.f64_add).set(L.loss);
        for (let cc = 0; cc < k; cc++) { c.get(L.z); zAt(cc); c.get(L.inv).op(Op.f64_mul).mem(Op.f64_store, 3, 8 * cc); }
        for (let cc = k; cc < kp; cc++) c.get(L.z).f64(0).mem(Op.f64_store, 3, 8 * cc);
        // Residual p − onehot(y), summed into the intercepts' gradient.
        c.get(L.z).get(L.yi).i32(3).op(Op.i32_shl).op(Op.i32_add).tee(L.a);
        c.get(L.a).mem(Op.f64_load, 3).f64(1).op(Op.f64_sub).mem(Op.f64_store, 3);
        for (let m = 0; m < lanes; m++) {
          c.get(P.gb).get(P.gb).simdMem(Simd.v128_load, 16 * m).get(L.z).simdMem(Simd.v128_load, 16 * m).simd(Simd.f64x2_add).simdMem(Simd.v128_store, 16 * m);
        }
        c.get(L.z).i32(rowBytes).op(Op.i32_add).set(L.z);
      });
      c.get(L.loss);
      fns[`forward_${sfx}`] = mb.addFunc(`forward_${sfx}`, params, [F64], locals, c);
    }
    {
      const P = { csrc: 0, d: 1, r0: 2, r1: 3, R: 4, G: 5 };
      const params: ValType[] = Array(6).fill(I32);
      const L = { j: 6, q: 7, qe: 8, a: 9, a2: 10, g: 11, qs: 12, xs: 13, xs2: 14, acc: 15 };
      const locals: ValType[] = [I32, I32, I32, I32, I32, I32, I32, V128, V128, ...Array(lanes).fill(V128)];
      const c = new Code();
      c.get(P.G).set(L.g);
      c.get(P.d).i32(2).op(Op.i32_shl).set(L.qs); // dense: one row down = d·4 bytes
      c.forRange(L.j, () => c.i32(0), () => c.get(P.d), () => {
        for (let m = 0; m < lanes; m++) c.f64(0).simd(Simd.f64x2_splat).set(L.acc + m);
        if (mode === 'sparse') {
          c.get(P.csrc).get(L.j).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.i32_load, 2, 0).set(L.q);
          c.get(P.csrc).get(L.j).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.i32_load, 2, 4).set(L.qe);
          emitGather(c, lanes, mode, L, P.R, null, L.qs, rowBytes);
        } else {
          // column j of rows [r0, r1): X + (r·d + j)·4, stepping d·4
          c.get(P.csrc).get(P.r0).get(P.d).op(Op.i32_mul).get(L.j).op(Op.i32_add).i32(2).op(Op.i32_shl).op(Op.i32_add).set(L.q);
          c.get(P.csrc).get(P.r1).get(P.d).op(Op.i32_mul).get(L.j).op(Op.i32_add).i32(2).op(Op.i32_shl).op(Op.i32_add).set(L.qe);
          c.get(P.R).set(L.a);
          emitGather(c, lanes, mode, L, P.R, null, L.qs, rowBytes);
        }
        for (let m = 0; m < lanes; m++) c.get(L.g).get(L.acc + m).simdMem(Simd.v128_store, 16 * m);
        c.get(L.g).i32(rowBytes).op(Op.i32_add).set(L.g);
      });
      fns[`backward_${sfx}`] = mb.addFunc(`backward_${sfx}`, params, [], locals, c);
    }
    for (const kind of ['logits', 'proba'] as const) {
      // proba takes one more parameter: zs, kp doubles of scratch for the row's logits.
      const P = { src: 0, d: 1, r0: 2, r1: 3, W: 4, b: 5, out: 6, zs: 7 };
      const nParams = kind === 'proba' ? 8 : 7;
      const params: ValType[] = Array(nParams).fill(I32);
      const base = nParams;
      const L = { i: base, q: base + 1, qe: base + 2, a: base + 3, a2: base + 4, o: base + 5, z: base + 6, xs: base + 7, xs2: base + 8, mx: base + 9, s: base + 10, inv: base + 11, pair: base + 12, acc: base + 13 };
      const locals: ValType[] = [I32, I32, I32, I32, I32, I32, I32, V128, V128, F64, F64, F64, V128, ...Array(lanes).fill(V128)];
      const c = new Code();
      c.get(P.out).set(L.o);
      c.forRange(L.i, () => c.get(P.r0), () => c.get(P.r1), () => {
        for (let m = 0; m < lanes; m++) c.get(P.b).simdMem(Simd.v128_load, 16 * m).set(L.acc + m);
        emitRow(c, mode, P.src, P.d, L.i, P.W, L);
        if (kind === 'logits') {
          for (let m = 0; m < lanes; m++) c.get(L.o).get(L.acc + m).simdMem(Simd.v128_store, 16 * m);
          c.get(L.o).i32(rowBytes).op(Op.i32_add).set(L.o);
        } else {
          c.get(P.zs).set(L.z);
          for (let m = 0; m < lanes; m++) c.get(L.z).get(L.acc + m).simdMem(Simd.v128_store, 16 * m);
          emitSoftmax(c, L.z, L.mx, L.s, L.inv, L.pair);
          for (let cc = 0; cc < k; cc++) {
            c.get(L.o);
            c.get(L.z).mem(Op.f64_load, 3, 8 * cc).get(L.inv).op(Op.f64_mul).op(Op.f32_demote_f64);
            c.mem(Op.f32_store, 2, 4 * cc);
          }
          c.get(L.o).i32(4 * k).op(Op.i32_add).set(L.o);
        }
      });
      fns[`${kind}_${sfx}`] = mb.addFunc(`${kind}_${sfx}`, params, [], locals, c);
    }
    {
      const P = { src: 0, csrc: 1, d: 2, y: 3, r0: 4, r1: 5, W: 6, b: 7, R: 8, G: 9, lossAt: 10 };
      const params: ValType[] = Array(11).fill(I32);
      const L = { gb: 11 };
      const c = new Code();
      c.get(P.G).get(P.d).i32(rowBytes).op(Op.i32_mul).op(Op.i32_add).set(L.gb);
      for (let m = 0; m < lanes; m++) c.get(L.gb).f64(0).simd(Simd.f64x2_splat).simdMem(Simd.v128_store, 16 * m);
      c.get(P.lossAt);
      c.get(P.src).get(P.d).get(P.y).get(P.r0).get(P.r1).get(P.W).get(P.b).get(P.R).get(L.gb).call(fns[`forward_${sfx}`]);
      c.mem(Op.f64_store, 3);
      c.get(P.csrc).get(P.d).get(P.r0).get(P.r1).get(P.R).get(P.G).call(fns[`backward_${sfx}`]);
      mb.addFunc(`chunk_${sfx}`, params, [], [I32], c);
    }
  }
  return mb.build();
}
