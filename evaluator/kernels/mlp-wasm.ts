/**
 * WebAssembly SIMD kernels for the MLP's element-wise steps (its matrix products are
 * compute/gemm.ts): the hidden layer's bias + ReLU, its backward mask and bias gradient, and
 * the AdamW update. Addresses are byte offsets into the shared kernel memory; widths are
 * multiples of four floats (the MLP pads them to 8).
 *
 *   bias_relu(H, b, rows, w):      H[r, :w] = max(H[r, :w] + b[:w], 0)                (f32)
 *   relu_back(H, dH, gb, rows, w): dH[r] = dH[r] where H[r] > 0 else 0, and gb = Σ_r dH[r]
 *                                  (f32, summed in row order; gb overwritten)
 *   gather(src, rows, count, rowBytes, dst): row rows[r] of src (i32 indices at `rows`) to row r
 *                                  of dst, for r < count (rowBytes a multiple of 16; a copy)
 *   adamw(theta, m, v, g, w, len, decay, step, bc2):                           (f64, len even)
 *     m = 0.9·m + 0.1·g; v = 0.999·v + 0.001·g·g;
 *     theta = theta·decay − step·m / (√v / bc2 + 1e-8); w = f32(theta)
 *     with g the float32 gradient (promoted exactly), PyTorch's AdamW order of operations
 *     (decay = 1 − lr·weight_decay, step = lr / (1 − 0.9ᵗ), bc2 = √(1 − 0.999ᵗ)).
 *
 * Every lane does exactly the scalar IEEE operations (non-relaxed SIMD), so results are the
 * same on every machine and independent of how the work is split.
 */
import { Code, F64, I32, ModuleBuilder, Op, Simd, V128, type ValType } from '../../compute/wasm.ts';
import { kernelFor, type SharedKernel } from '../../compute/pool.ts';

export const ADAM_BETA1 = 0.9, ADAM_BETA2 = 0.999, ADAM_EPS = 1e-8;

function buildMlpModule(): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder();
  mb.importMemory('env', 'memory', 1, 65536, true);
  const zero = (c: Code) => c.simd(Simd.v128_const).op(...new Array(16).fill(0));
  /** for (i = 0; i < n; i += step) body, i32 locals. */
  const loop = (c: Code, i: number, n: () => void, step: number, body: () => void) => {
    c.i32(0).set(i);
    c.block(() => c.loop(() => {
      c.get(i); n(); c.op(Op.i32_ge_u).brIf(1);
      body();
      c.get(i).i32(step).op(Op.i32_add).set(i);
      c.br(0);
    }));
  };
  {
    const H = 0, B = 1, ROWS = 2, W = 3, R = 4, U = 5, P = 6, WB = 7;
    const c = new Code();
    c.get(W).i32(2).op(Op.i32_shl).set(WB);
    c.get(H).set(P);
    loop(c, R, () => c.get(ROWS), 1, () => {
      loop(c, U, () => c.get(WB), 16, () => {
        c.get(P).get(U).op(Op.i32_add);
        c.get(P).get(U).op(Op.i32_add).simdMem(Simd.v128_load);
        c.get(B).get(U).op(Op.i32_add).simdMem(Simd.v128_load);
        c.simd(Simd.f32x4_add);
        zero(c);
        c.simd(Simd.f32x4_max).simdMem(Simd.v128_store);
      });
      c.get(P).get(WB).op(Op.i32_add).set(P);
    });
    mb.addFunc('bias_relu', [I32, I32, I32, I32], [], [I32, I32, I32, I32], c);
  }
  {
    const H = 0, DH = 1, GB = 2, ROWS = 3, W = 4, R = 5, U = 6, PH = 7, PD = 8, WB = 9;
    const D = 10;
    const c = new Code();
    c.get(W).i32(2).op(Op.i32_shl).set(WB);
    loop(c, U, () => c.get(WB), 16, () => { c.get(GB).get(U).op(Op.i32_add); zero(c); c.simdMem(Simd.v128_store); });
    c.get(H).set(PH);
    c.get(DH).set(PD);
    loop(c, R, () => c.get(ROWS), 1, () => {
      loop(c, U, () => c.get(WB), 16, () => {
        c.get(PD).get(U).op(Op.i32_add).simdMem(Simd.v128_load);
        c.get(PH).get(U).op(Op.i32_add).simdMem(Simd.v128_load);
        zero(c);
        c.simd(Simd.f32x4_gt).simd(Simd.v128_and).set(D);
        c.get(PD).get(U).op(Op.i32_add).get(D).simdMem(Simd.v128_store);
        c.get(GB).get(U).op(Op.i32_add);
        c.get(GB).get(U).op(Op.i32_add).simdMem(Simd.v128_load).get(D).simd(Simd.f32x4_add);
        c.simdMem(Simd.v128_store);
      });
      c.get(PH).get(WB).op(Op.i32_add).set(PH);
      c.get(PD).get(WB).op(Op.i32_add).set(PD);
    });
    mb.addFunc('relu_back', [I32, I32, I32, I32, I32], [], [I32, I32, I32, I32, I32, V128], c);
  }
  {
    const SRC = 0, ROWS = 1, COUNT = 2, RB = 3, DST = 4, R = 5, U = 6, PS = 7, PD = 8;
    const c = new Code();
    c.get(DST).set(PD);
    loop(c, R, () => c.get(COUNT), 1, () => {
      c.get(SRC).get(ROWS).get(R).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.i32_load, 2).get(RB).op(Op.i32_mul).op(Op.i32_add).set(PS);
      loop(c, U, () => c.get(RB), 16, () => {
        c.get(PD).get(U).op(Op.i32_add);
        c.get(PS).get(U).op(Op.i32_add).simdMem(Simd.v128_load);
        c.simdMem(Simd.v128_store);
      });
      c.get(PD).get(RB).op(Op.i32_add).set(PD);
    });
    mb.addFunc('gather', [I32, I32, I32, I32, I32], [], [I32, I32, I32, I32], c);
  }
  {
    const TH = 0, M = 1, V = 2, G = 3, WO = 4, LEN = 5, DECAY = 6, STEP = 7, BC2 = 8;
    const I = 9, G2 = 10, M2 = 11, V2 = 12, T2 = 13, DEC = 14, ST = 15, BC = 16;
    const locals: ValType[] = [I32, V128, V128, V128, V128, V128, V128, V128];
    const c = new Code();
    const k = (x: number) => c.f64(x).simd(Simd.f64x2_splat);
    const mul = () => c.simd(Simd.f64x2_mul), add = () => c.simd(Simd.f64x2_add);
    const at8 = (base: number) => c.get(base).get(I).i32(3).op(Op.i32_shl).op(Op.i32_add);
    const at4 = (base: number) => c.get(base).get(I).i32(2).op(Op.i32_shl).op(Op.i32_add);
    c.get(DECAY).simd(Simd.f64x2_splat).set(DEC);
    c.get(STEP).simd(Simd.f64x2_splat).set(ST);
    c.get(BC2).simd(Simd.f64x2_splat).set(BC);
    loop(c, I, () => c.get(LEN), 2, () => {
      at4(G).simdMem(Simd.v128_load64_zero, 0, 3).simd(Simd.f64x2_promote_low_f32x4).set(G2);
      k(ADAM_BETA1); at8(M).simdMem(Simd.v128_load); mul(); k(1 - ADAM_BETA1); c.get(G2); mul(); add(); c.set(M2);
      k(ADAM_BETA2); at8(V).simdMem(Simd.v128_load); mul(); k(1 - ADAM_BETA2); c.get(G2); mul(); c.get(G2); mul(); add(); c.set(V2);
      at8(TH).simdMem(Simd.v128_load).get(DEC); mul();
      c.get(ST).get(M2); mul();
      c.get(V2).simd(Simd.f64x2_sqrt).get(BC).simd(Simd.f64x2_div); k(ADAM_EPS); add();
      c.simd(Simd.f64x2_div).simd(Simd.f64x2_sub).set(T2);
      at8(TH).get(T2).simdMem(Simd.v128_store);
      at8(M).get(M2).simdMem(Simd.v128_store);
      at8(V).get(V2).simdMem(Simd.v128_store);
      at4(WO).get(T2).simd(Simd.f32x4_demote_f64x2_zero).simdMem(Simd.v128_store64_lane, 0, 3);
      c.op(0); // lane 0
    });
    mb.addFunc('adamw', [I32, I32, I32, I32, I32, I32, F64, F64, F64], [], locals, c);
  }
  return mb.build();
}

let compiled: WebAssembly.Module | null = null;

export interface MlpExports {
  bias_relu(H: number, b: number, rows: number, w: number): void;
  relu_back(H: number, dH: number, gb: number, rows: number, w: number): void;
  gather(src: number, rows: number, count: number, rowBytes: number, dst: number): void;
  adamw(theta: number, m: number, v: number, g: number, w: number, len: number, decay: number, step: number, bc2: number): void;
}

/** The kernels instantiated on this thread's kernel memory. */
export function mlpKernels(): SharedKernel<MlpExports> {
  compiled ??= new WebAssembly.Module(buildMlpModule());
  return kernelFor<MlpExports>(compiled);
}
