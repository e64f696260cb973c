/**
 * A minimal WebAssembly assembler: just the module sections and instructions our kernels
 * use (i32/f32/f64 scalar ops, 128-bit SIMD on f64x2/f32x4, loops and blocks). Kernels are
 * generated at run time from TypeScript, so the repository holds their only source and no
 * external toolchain is needed; the same generator gives the same bytes on every machine.
 *
 * Encoding reference: WebAssembly core spec §5 (binary format) and the fixed-width SIMD
 * proposal's BinarySIMD.md opcode table.
 */

export const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c, V128 = 0x7b;
export type ValType = typeof I32 | typeof I64 | typeof F32 | typeof F64 | typeof V128;

function uleb(out: number[], v: number): void {
  v >>>= 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

function sleb(out: number[], v: number): void {
  v |= 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) { out.push(b); return; }
    out.push(b | 0x80);
  }
}

/**
 * Appends `bytes` to `out` one by one: a spread (`out.push(...bytes)`) passes every byte as an
 * argument, and a generated body that grows with the class count (hundreds of classes) then
 * overflows the call stack.
 */
function append(out: number[], bytes: ArrayLike<number>): void {
  for (let i = 0; i < bytes.length; i++) out.push(bytes[i]);
}

function name(out: number[], s: string): void {
  const bytes = new TextEncoder().encode(s);
  uleb(out, bytes.length);
  append(out, bytes);
}

/** Scalar opcodes (single byte). */
export const Op = {
  unreachable: 0x00, nop: 0x01, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b,
  br: 0x0c, br_if: 0x0d, return: 0x0f, call: 0x10, drop: 0x1a, select: 0x1b,
  local_get: 0x20, local_set: 0x21, local_tee: 0x22,
  i32_load: 0x28, f32_load: 0x2a, i32_load8_u: 0x2d, f64_load: 0x2b, i32_store: 0x36, f32_store: 0x38, f64_store: 0x39,
  i32_const: 0x41, f32_const: 0x43, f64_const: 0x44,
  i32_eqz: 0x45, i32_eq: 0x46, i32_ne: 0x47, i32_lt_s: 0x48, i32_lt_u: 0x49, i32_gt_s: 0x4a,
  i32_gt_u: 0x4b, i32_ge_s: 0x4e, i32_ge_u: 0x4f,
  f64_eq: 0x61, f64_lt: 0x63, f64_gt: 0x64,
  i32_add: 0x6a, i32_sub: 0x6b, i32_mul: 0x6c, i32_div_u: 0x6e, i32_and: 0x71, i32_shl: 0x74,
  f32_add: 0x92, f64_abs: 0x99, f64_neg: 0x9a, f64_sqrt: 0x9f, f64_add: 0xa0, f64_sub: 0xa1, f64_mul: 0xa2, f64_div: 0xa3, f64_max: 0xa5,
  f64_floor: 0x9c, i32_trunc_f64_s: 0xaa, i64_extend_i32_s: 0xac, i64_shl: 0x86,
  f32_convert_i32_u: 0xb3, f32_demote_f64: 0xb6, f64_convert_i32_s: 0xb7, f64_promote_f32: 0xbb, f64_reinterpret_i64: 0xbf, i64_const: 0x42,
} as const;

/** SIMD opcodes (after the 0xfd prefix). */
export const Simd = {
  v128_load: 0x00, v128_load32_splat: 0x09, v128_store: 0x0b, v128_const: 0x0c, f32x4_splat: 0x13, f64x2_splat: 0x14,
  f32x4_extract_lane: 0x1f, f64x2_extract_lane: 0x21, f64x2_replace_lane: 0x22,
  f32x4_add: 0xe4, f32x4_sub: 0xe5, f32x4_mul: 0xe6, f32x4_max: 0xe9, f32x4_pmax: 0xeb, f32x4_gt: 0x44,
  f64x2_div: 0xf3, f64x2_sqrt: 0xef, f32x4_demote_f64x2_zero: 0x5e, v128_store64_lane: 0x5b, v128_and: 0x4e,
  f64x2_neg: 0xed, f64x2_add: 0xf0, f64x2_sub: 0xf1, f64x2_mul: 0xf2,
  f64x2_promote_low_f32x4: 0x5f, v128_load64_zero: 0x5d,
  f64x2_floor: 0x75, f64x2_lt: 0x49, i32x4_trunc_sat_f64x2_s_zero: 0xfc, i32x4_add: 0xae, i32x4_splat: 0x11,
  i64x2_extend_low_i32x4_s: 0xc7, i64x2_shl: 0xcb, v128_andnot: 0x4f,
} as const;

/** Instruction emitter for one function body. */
export class Code {
  readonly bytes: number[] = [];
  op(...ops: number[]): this { this.bytes.push(...ops); return this; }
  i32(v: number): this { this.bytes.push(Op.i32_const); sleb(this.bytes, v); return this; }
  f32(v: number): this {
    this.bytes.push(Op.f32_const);
    this.bytes.push(...new Uint8Array(new Float32Array([v]).buffer));
    return this;
  }
  f64(v: number): this {
    this.bytes.push(Op.f64_const);
    const b = new Uint8Array(new Float64Array([v]).buffer);
    this.bytes.push(...b);
    return this;
  }
  get(i: number): this { this.bytes.push(Op.local_get); uleb(this.bytes, i); return this; }
  set(i: number): this { this.bytes.push(Op.local_set); uleb(this.bytes, i); return this; }
  tee(i: number): this { this.bytes.push(Op.local_tee); uleb(this.bytes, i); return this; }
  call(f: number): this { this.bytes.push(Op.call); uleb(this.bytes, f); return this; }
  /** Memory access with static byte offset; align is log2 of the natural alignment. */
  mem(op: number, align: number, offset = 0): this {
    this.bytes.push(op); uleb(this.bytes, align); uleb(this.bytes, offset); return this;
  }
  simd(op: number): this { this.bytes.push(0xfd); uleb(this.bytes, op); return this; }
  /** SIMD memory access; align = log2 of the natural alignment (4 for v128, 3 for 64-bit loads). */
  simdMem(op: number, offset = 0, align = 4): this { this.simd(op); uleb(this.bytes, align); uleb(this.bytes, offset); return this; }
  lane(op: number, lane: number): this { this.simd(op); this.bytes.push(lane); return this; }
  br(depth: number): this { this.bytes.push(Op.br); uleb(this.bytes, depth); return this; }
  brIf(depth: number): this { this.bytes.push(Op.br_if); uleb(this.bytes, depth); return this; }
  /** block … end with no result; inside, br 0 jumps past the end. */
  block(body: () => void): this { this.bytes.push(Op.block, 0x40); body(); this.bytes.push(Op.end); return this; }
  /** loop … end with no result; inside, br 0 jumps back to the start. */
  loop(body: () => void): this { this.bytes.push(Op.loop, 0x40); body(); this.bytes.push(Op.end); return this; }
  /**
   * `for (i = from; i < to; i += step) body()` over an i32 local: `from`/`to` push i32 values.
   * Inside body, br 1 = continue is NOT available; body runs straight through.
   */
  forRange(i: number, from: () => void, to: () => void, body: () => void, step = 1): this {
    from(); this.set(i);
    this.block(() => {
      this.loop(() => {
        this.get(i); to(); this.op(Op.i32_ge_s); this.brIf(1);
        body();
        this.get(i).i32(step).op(Op.i32_add).set(i);
        this.br(0);
      });
    });
    return this;
  }
}

interface FuncDef {
  type: number;
  exportName: string | null;
  locals: ValType[];
  code: Code;
}

/** Builds a module that imports its memory (so several instances can share one). */
export class ModuleBuilder {
  private types: { params: ValType[]; results: ValType[] }[] = [];
  private funcImports: { module: string; field: string; type: number }[] = [];
  private funcs: FuncDef[] = [];
  private memory: { module: string; field: string; min: number; max: number; shared: boolean } | null = null;

  private typeIndex(params: ValType[], results: ValType[]): number {
    const key = JSON.stringify([params, results]);
    const i = this.types.findIndex((t) => JSON.stringify([t.params, t.results]) === key);
    if (i >= 0) return i;
    this.types.push({ params, results });
    return this.types.length - 1;
  }

  importMemory(module: string, field: string, minPages: number, maxPages: number, shared: boolean): void {
    this.memory = { module, field, min: minPages, max: maxPages, shared };
  }

  /** Returns the function index; imports must all be declared before addFunc. */
  importFunc(module: string, field: string, params: ValType[], results: ValType[]): number {
    if (this.funcs.length) throw new Error('wasm: declare imports before functions');
    this.funcImports.push({ module, field, type: this.typeIndex(params, results) });
    return this.funcImports.length - 1;
  }

  /** Locals are numbered params first, then `locals` in order. */
  addFunc(exportName: string | null, params: ValType[], results: ValType[], locals: ValType[], code: Code): number {
    this.funcs.push({ type: this.typeIndex(params, results), exportName, locals, code });
    return this.funcImports.length + this.funcs.length - 1;
  }

  build(): Uint8Array<ArrayBuffer> {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, body: number[]) => { out.push(id); uleb(out, body.length); append(out, body); };

    const types: number[] = [];
    uleb(types, this.types.length);
    for (const t of this.types) {
      types.push(0x60);
      uleb(types, t.params.length); types.push(...t.params);
      uleb(types, t.results.length); types.push(...t.results);
    }
    section(1, types);

    const imports: number[] = [];
    uleb(imports, this.funcImports.length + (this.memory ? 1 : 0));
    for (const f of this.funcImports) { name(imports, f.module); name(imports, f.field); imports.push(0x00); uleb(imports, f.type); }
    if (this.memory) {
      const m = this.memory;
      name(imports, m.module); name(imports, m.field); imports.push(0x02);
      imports.push(m.shared ? 0x03 : 0x01); uleb(imports, m.min); uleb(imports, m.max);
    }
    section(2, imports);

    const fsec: number[] = [];
    uleb(fsec, this.funcs.length);
    for (const f of this.funcs) uleb(fsec, f.type);
    section(3, fsec);

    const exps: number[] = [];
    const exported = this.funcs.map((f, i) => ({ f, i })).filter((e) => e.f.exportName !== null);
    uleb(exps, exported.length);
    for (const { f, i } of exported) { name(exps, f.exportName!); exps.push(0x00); uleb(exps, this.funcImports.length + i); }
    section(7, exps);

    const code: number[] = [];
    uleb(code, this.funcs.length);
    for (const f of this.funcs) {
      const body: number[] = [];
      // Run-length encode the local declarations.
      const groups: [number, ValType][] = [];
      for (const t of f.locals) {
        const last = groups[groups.length - 1];
        if (last && last[1] === t) last[0]++; else groups.push([1, t]);
      }
      uleb(body, groups.length);
      for (const [count, t] of groups) { uleb(body, count); body.push(t); }
      append(body, f.code.bytes);
      body.push(Op.end);
      uleb(code, body.length);
      append(code, body);
    }
    section(10, code);
    return new Uint8Array(out);
  }
}

/** Allocates 16-byte-aligned regions in a linear memory, front to back. */
export class Layout {
  bytes = 0;
  alloc(size: number): number {
    const at = this.bytes;
    this.bytes = at + Math.ceil(size / 16) * 16;
    return at;
  }
  pages(): number { return Math.max(1, Math.ceil(this.bytes / 65536)); }
}
