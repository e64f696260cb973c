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
 * exp is computed in wasm (emitExp); log, once per row, is the host's Math.log.
 */
import { Code, F64, I32, ModuleBuilder, Op, Simd, V128, type ValType } from './wasm.ts';
import { EXP_COEFFS, INV_LN2, LN2_HI, LN2_LO } from './softmax.ts';

/**
 * Emits `expneg(x)`: exp(x) for x ≤ 0 with exactly the operations of softmax.ts's
 * expNonPositive (a call into the host's Math.exp costs more than the whole row's logits
 * when d is small).
 */
function emitExp(mb: ModuleBuilder): number {
  const X = 0, N = 1, R = 2, R2 = 3, R4 = 4, R8 = 5, Q = 6; // Q..Q+6: q0..q6, then s0..s2, t0, t1
  const S = Q + 7, T = S + 3;
  const c = new Code();
  const C = EXP_COEFFS;
  c.get(X).f64(-708).op(Op.f64_lt).op(Op.if, 0x40).f64(0).op(Op.return).op(Op.end);
  c.get(X).f64(INV_LN2).op(Op.f64_mul).f64(0.5).op(Op.f64_add).op(Op.f64_floor).set(N);
  c.get(X).get(N).f64(LN2_HI).op(Op.f64_mul).op(Op.f64_sub).get(N).f64(LN2_LO).op(Op.f64_mul).op(Op.f64_sub).set(R);
  c.get(R).get(R).op(Op.f64_mul).set(R2);
  c.get(R2).get(R2).op(Op.f64_mul).set(R4);
  c.get(R4).get(R4).op(Op.f64_mul).set(R8);
  // q_i = c[2i] + c[2i+1]·r
  for (let i = 0; i < 7; i++) c.f64(C[2 * i]).f64(C[2 * i + 1]).get(R).op(Op.f64_mul).op(Op.f64_add).set(Q + i);
  // s0 = q0 + q1·r2, s1 = q2 + q3·r2, s2 = q4 + q5·r2
  for (let i = 0; i < 3; i++) c.get(Q + 2 * i).get(Q + 2 * i + 1).get(R2).op(Op.f64_mul).op(Op.f64_add).set(S + i);
  // t0 = s0 + s1·r4, t1 = s2 + q6·r4
  c.get(S).get(S + 1).get(R4).op(Op.f64_mul).op(Op.f64_add).set(T);
  c.get(S + 2).get(Q + 6).get(R4).op(Op.f64_mul).op(Op.f64_add).set(T + 1);
  // p = t0 + t1·r8, times 2ⁿ
  c.get(T).get(T + 1).get(R8).op(Op.f64_mul).op(Op.f64_add);
  c.get(N).op(Op.i32_trunc_f64_s).i32(1023).op(Op.i32_add).op(Op.i64_extend_i32_s);
  c.op(Op.i64_const, 52).op(Op.i64_shl).op(Op.f64_reinterpret_i64);
  c.op(Op.f64_mul);
  return mb.addFunc(null, [F64], [F64], Array(T + 2 - N).fill(F64), c);
}

/** Column count padded to whole f64x2 lanes. */
export function paddedClasses(k: number): number {
  return k + (k & 1);
}

/** Bytes per stored non-zero: i32 byte offset + f32 value. */
export const PAIR_BYTES = 8;

/**
 * Emits `acc[m] += x · base[off][m]` over the pairs in [q, qe) (byte addresses), two pairs
 * per loop turn. `base` is a local holding the gathered matrix's address.
 */
function emitGather(c: Code, lanes: number, L: { q: number; qe: number; a: number; a2: number; xs: number; xs2: number; base: number; acc: number }): void {
  const pair = (a: number, xs: number, off: number) => {
    c.get(L.base).get(L.q).mem(Op.i32_load, 2, off).op(Op.i32_add).set(a);
    c.get(L.q).mem(Op.f32_load, 2, off + 4).op(Op.f64_promote_f32).simd(Simd.f64x2_splat).set(xs);
  };
  const accumulate = (a: number, xs: number) => {
    for (let m = 0; m < lanes; m++) {
      c.get(L.acc + m).get(xs).get(a).simdMem(Simd.v128_load, 16 * m).simd(Simd.f64x2_mul).simd(Simd.f64x2_add).set(L.acc + m);
    }
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
}

/**
 * Exports (addresses are byte offsets into the imported memory; row/column pointer arrays
 * hold absolute byte addresses of each row's first pair, plus one end address):
 *   forward(rows, y, r0, r1, W, b, R, gb) → Σ_{i∈[r0,r1)} −log p(y_i | x_i); writes the
 *     residual p − onehot(y) of row i to R + (i − r0)·kp·8 and adds it into gb (kp doubles).
 *   backward(cols, d, R, G): G[j] = Σ_i x_ij · R[i] for j < d (overwrites G, d × kp).
 *   logits(rows, r0, r1, W, b, out): out + (i − r0)·kp·8 ← x_i·W + b.
 *   chunk(rows, y, r0, r1, W, b, R, G, cols, d, lossAt): one unit of threaded work:
 *     gb = G + d·kp·8 zeroed, loss = forward(…), backward(cols, d, R, G), f64 at lossAt ← loss.
 */
export function logisticModule(k: number, shared: boolean): Uint8Array<ArrayBuffer> {
  const kp = paddedClasses(k);
  const lanes = kp / 2;
  const mb = new ModuleBuilder();
  const log = mb.importFunc('env', 'log', [F64], [F64]);
  mb.importMemory('env', 'memory', 1, 65536, shared);
  const exp = emitExp(mb);

  let forward = -1, backward = -1;
  const loadRowBounds = (c: Code, rows: number, i: number, q: number, qe: number) => {
    c.get(rows).get(i).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.i32_load, 2, 0).set(q);
    c.get(rows).get(i).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.i32_load, 2, 4).set(qe);
  };

  {
    const P = { rows: 0, y: 1, r0: 2, r1: 3, W: 4, b: 5, R: 6, gb: 7 };
    const params: ValType[] = Array(8).fill(I32);
    const L = { i: 8, q: 9, qe: 10, a: 11, a2: 12, yi: 13, z: 14, xs: 15, xs2: 16, mx: 17, s: 18, loss: 19, zy: 20, inv: 21, acc: 22 };
    const locals: ValType[] = [I32, I32, I32, I32, I32, I32, I32, V128, V128, F64, F64, F64, F64, F64, ...Array(lanes).fill(V128)];
    const c = new Code();
    const zAt = (cc: number) => c.get(L.z).mem(Op.f64_load, 3, 8 * cc);
    c.f64(0).set(L.loss);
    c.get(P.R).set(L.z);
    c.forRange(L.i, () => c.get(P.r0), () => c.get(P.r1), () => {
      for (let m = 0; m < lanes; m++) c.get(P.b).simdMem(Simd.v128_load, 16 * m).set(L.acc + m);
      loadRowBounds(c, P.rows, L.i, L.q, L.qe);
      emitGather(c, lanes, { q: L.q, qe: L.qe, a: L.a, a2: L.a2, xs: L.xs, xs2: L.xs2, base: P.W, acc: L.acc });
      for (let m = 0; m < lanes; m++) c.get(L.z).get(L.acc + m).simdMem(Simd.v128_store, 16 * m);
      // Softmax cross-entropy on z[0..k): loss += log Σ exp(z − max) − (z_y − max).
      zAt(0).set(L.mx);
      for (let cc = 1; cc < k; cc++) { c.get(L.mx); zAt(cc); c.op(Op.f64_max).set(L.mx); }
      c.get(P.y).get(L.i).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.i32_load, 2).set(L.yi);
      c.get(L.z).get(L.yi).i32(3).op(Op.i32_shl).op(Op.i32_add).mem(Op.f64_load, 3).set(L.zy);
      c.f64(0).set(L.s);
      for (let cc = 0; cc < k; cc++) {
        c.get(L.z);
        zAt(cc); c.get(L.mx).op(Op.f64_sub).call(exp);
        c.mem(Op.f64_store, 3, 8 * cc);
        c.get(L.s); zAt(cc); c.op(Op.f64_add).set(L.s);
      }
      c.get(L.loss).get(L.s).call(log).get(L.zy).get(L.mx).op(Op.f64_sub).op(Op.f64_sub).op(Op.f64_add).set(L.loss);
      c.f64(1).get(L.s).op(Op.f64_div).set(L.inv);
      for (let cc = 0; cc < k; cc++) { c.get(L.z); zAt(cc); c.get(L.inv).op(Op.f64_mul).mem(Op.f64_store, 3, 8 * cc); }
      for (let cc = k; cc < kp; cc++) c.get(L.z).f64(0).mem(Op.f64_store, 3, 8 * cc);
      // Residual p − onehot(y), summed into the intercepts' gradient.
      c.get(L.z).get(L.yi).i32(3).op(Op.i32_shl).op(Op.i32_add).tee(L.a);
      c.get(L.a).mem(Op.f64_load, 3).f64(1).op(Op.f64_sub).mem(Op.f64_store, 3);
      for (let m = 0; m < lanes; m++) {
        c.get(P.gb).get(P.gb).simdMem(Simd.v128_load, 16 * m).get(L.z).simdMem(Simd.v128_load, 16 * m).simd(Simd.f64x2_add).simdMem(Simd.v128_store, 16 * m);
      }
      c.get(L.z).i32(8 * kp).op(Op.i32_add).set(L.z);
    });
    c.get(L.loss);
    forward = mb.addFunc('forward', params, [F64], locals, c);
  }

  {
    const P = { cols: 0, d: 1, R: 2, G: 3 };
    const params: ValType[] = Array(4).fill(I32);
    const L = { j: 4, q: 5, qe: 6, a: 7, a2: 8, g: 9, xs: 10, xs2: 11, acc: 12 };
    const locals: ValType[] = [I32, I32, I32, I32, I32, I32, V128, V128, ...Array(lanes).fill(V128)];
    const c = new Code();
    c.get(P.G).set(L.g);
    c.forRange(L.j, () => c.i32(0), () => c.get(P.d), () => {
      for (let m = 0; m < lanes; m++) c.f64(0).simd(Simd.f64x2_splat).set(L.acc + m);
      loadRowBounds(c, P.cols, L.j, L.q, L.qe);
      emitGather(c, lanes, { q: L.q, qe: L.qe, a: L.a, a2: L.a2, xs: L.xs, xs2: L.xs2, base: P.R, acc: L.acc });
      for (let m = 0; m < lanes; m++) c.get(L.g).get(L.acc + m).simdMem(Simd.v128_store, 16 * m);
      c.get(L.g).i32(8 * kp).op(Op.i32_add).set(L.g);
    });
    backward = mb.addFunc('backward', params, [], locals, c);
  }

  {
    const P = { rows: 0, r0: 1, r1: 2, W: 3, b: 4, out: 5 };
    const params: ValType[] = Array(6).fill(I32);
    const L = { i: 6, q: 7, qe: 8, a: 9, a2: 10, o: 11, xs: 12, xs2: 13, acc: 14 };
    const locals: ValType[] = [I32, I32, I32, I32, I32, I32, V128, V128, ...Array(lanes).fill(V128)];
    const c = new Code();
    c.get(P.out).set(L.o);
    c.forRange(L.i, () => c.get(P.r0), () => c.get(P.r1), () => {
      for (let m = 0; m < lanes; m++) c.get(P.b).simdMem(Simd.v128_load, 16 * m).set(L.acc + m);
      loadRowBounds(c, P.rows, L.i, L.q, L.qe);
      emitGather(c, lanes, { q: L.q, qe: L.qe, a: L.a, a2: L.a2, xs: L.xs, xs2: L.xs2, base: P.W, acc: L.acc });
      for (let m = 0; m < lanes; m++) c.get(L.o).get(L.acc + m).simdMem(Simd.v128_store, 16 * m);
      c.get(L.o).i32(8 * kp).op(Op.i32_add).set(L.o);
    });
    mb.addFunc('logits', params, [], locals, c);
  }
  {
    // chunk: one unit of threaded work = zero gb, forward, backward, store the loss.
    const P = { rows: 0, y: 1, r0: 2, r1: 3, W: 4, b: 5, R: 6, G: 7, cols: 8, d: 9, lossAt: 10 };
    const params: ValType[] = Array(11).fill(I32);
    const L = { gb: 11 };
    const c = new Code();
    c.get(P.G).get(P.d).i32(8 * kp).op(Op.i32_mul).op(Op.i32_add).set(L.gb);
    for (let m = 0; m < lanes; m++) c.get(L.gb).f64(0).simd(Simd.f64x2_splat).simdMem(Simd.v128_store, 16 * m);
    c.get(P.lossAt);
    c.get(P.rows).get(P.y).get(P.r0).get(P.r1).get(P.W).get(P.b).get(P.R).get(L.gb).call(forward);
    c.mem(Op.f64_store, 3);
    c.get(P.cols).get(P.d).get(P.R).get(P.G).call(backward);
    mb.addFunc('chunk', params, [], [I32], c);
  }
  return mb.build();
}
