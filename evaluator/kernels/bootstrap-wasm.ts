/**
 * The bootstrap's per-resample pass (metrics.ts computeMetricsCounts) in WebAssembly: over
 * the positions j = 0 … m−1 of a part's rows, in that order, with c = counts[j] (times row j
 * was drawn):
 *   nll sum        += c · nll[j]          (one float64 running sum, returned)
 *   binConf[bin[j]] += c · confidence[j]  (one float64 running sum per ECE bin)
 *   keyCount[key[j]] += c                 (integers)
 * The same float64 operations in the same order as the JavaScript loop it replaces (c is
 * converted exactly; multiply, then add), so the sums are bit-identical; as compiled code it
 * needs no JIT warm-up, which a fresh `sieve evaluate` process otherwise pays on every one
 * of its thousands of resamples.
 */
import { Code, F64, I32, ModuleBuilder, Op } from '../../compute/wasm.ts';

export interface BootstrapExports {
  /** accumulate(counts, nll, conf, bin, key, m, binConf, bins, keyCount, keys) → nll sum. */
  accumulate(counts: number, nll: number, conf: number, bin: number, key: number, m: number, binConf: number, bins: number, keyCount: number, keys: number): number;
}

function bootstrapModule(): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder();
  mb.importMemory('env', 'memory', 1, 65536, true);
  const P = { counts: 0, nll: 1, conf: 2, bin: 3, key: 4, m: 5, binConf: 6, bins: 7, keyCount: 8, keys: 9 };
  const L = { j: 10, c: 11, cf: 12, sum: 13, a: 14 };
  const c = new Code();
  // Zero the outputs (binConf: bins doubles, keyCount: keys ints).
  c.forRange(L.j, () => c.i32(0), () => c.get(P.bins), () => {
    c.get(P.binConf).get(L.j).i32(3).op(Op.i32_shl).op(Op.i32_add).f64(0).mem(Op.f64_store, 3);
  });
  c.forRange(L.j, () => c.i32(0), () => c.get(P.keys), () => {
    c.get(P.keyCount).get(L.j).i32(2).op(Op.i32_shl).op(Op.i32_add).i32(0).mem(Op.i32_store, 2);
  });
  c.f64(0).set(L.sum);
  c.forRange(L.j, () => c.i32(0), () => c.get(P.m), () => {
    c.get(P.counts).get(L.j).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.i32_load, 2).set(L.c);
    c.get(L.c).op(Op.f64_convert_i32_s).set(L.cf);
    // sum = sum + c·nll[j]
    c.get(L.sum).get(L.cf).get(P.nll).get(L.j).i32(3).op(Op.i32_shl).op(Op.i32_add).mem(Op.f64_load, 3).op(Op.f64_mul).op(Op.f64_add).set(L.sum);
    // binConf[bin[j]] = binConf[bin[j]] + c·conf[j]
    c.get(P.binConf).get(P.bin).get(L.j).op(Op.i32_add).mem(Op.i32_load8_u, 0).i32(3).op(Op.i32_shl).op(Op.i32_add).tee(L.a);
    c.get(L.a).mem(Op.f64_load, 3);
    c.get(L.cf).get(P.conf).get(L.j).i32(3).op(Op.i32_shl).op(Op.i32_add).mem(Op.f64_load, 3).op(Op.f64_mul).op(Op.f64_add);
    c.mem(Op.f64_store, 3);
    // keyCount[key[j]] += c
    c.get(P.keyCount).get(P.key).get(L.j).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.i32_load, 2).i32(2).op(Op.i32_shl).op(Op.i32_add).tee(L.a);
    c.get(L.a).mem(Op.i32_load, 2).get(L.c).op(Op.i32_add).mem(Op.i32_store, 2);
  });
  c.get(L.sum);
  mb.addFunc('accumulate', Array(10).fill(I32), [F64], [I32, I32, F64, F64, I32], c);
  return mb.build();
}

let compiled: WebAssembly.Module | null = null;
/** The compiled module (once per process). */
export function bootstrapWasmModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(bootstrapModule());
  return compiled;
}
