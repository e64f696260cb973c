/**
 * A WebAssembly SIMD kernel for tiles of dot products, assembled here from opcodes (no
 * toolchain needed, so the bytes are reproducible from this file alone).
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

const I32 = 0x7f, V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) { out.push(byte); return out; }
    out.push(byte | 0x80);
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
}

/** Tiny instruction emitter: each method appends one instruction. */
class Code {
  bytes: number[] = [];
  get(i: number) { this.bytes.push(0x20, ...uleb(i)); return this; }
  set(i: number) { this.bytes.push(0x21, ...uleb(i)); return this; }
  i32(v: number) { this.bytes.push(0x41, ...sleb(v)); return this; }
  add() { this.bytes.push(0x6a); return this; }
  mul() { this.bytes.push(0x6c); return this; }
  shl() { this.bytes.push(0x74); return this; }
  geU() { this.bytes.push(0x4f); return this; }
  block() { this.bytes.push(0x02, 0x40); return this; }
  loop() { this.bytes.push(0x03, 0x40); return this; }
  end() { this.bytes.push(0x0b); return this; }
  br(depth: number) { this.bytes.push(0x0c, ...uleb(depth)); return this; }
  brIf(depth: number) { this.bytes.push(0x0d, ...uleb(depth)); return this; }
  f32add() { this.bytes.push(0x92); return this; }
  f32store(offset: number) { this.bytes.push(0x38, 2, ...uleb(offset)); return this; }
  v128load(offset: number) { this.bytes.push(0xfd, 0x00, 4, ...uleb(offset)); return this; }
  v128zero() { this.bytes.push(0xfd, 0x0c, ...new Array(16).fill(0)); return this; }
  f32x4add() { this.bytes.push(0xfd, ...uleb(0xe4)); return this; }
  f32x4mul() { this.bytes.push(0xfd, ...uleb(0xe6)); return this; }
  lane(l: number) { this.bytes.push(0xfd, 0x1f, l); return this; }
}

/** Builds the module bytes. */
export function buildSimModule(): Uint8Array<ArrayBuffer> {
  // params: 0 a, 1 na, 2 b, 3 nb, 4 d4, 5 out, 6 ostride
  const A = 0, NA = 1, B = 2, NB = 3, D4 = 4, OUT = 5, OS = 6;
  // i32 locals 7..18
  const I = 7, J = 8, T = 9, RB = 10, PA = 11, PB = 15, O = 17, OS4 = 18;
  // v128 locals 19..29: acc[r][c] = 19 + 2r + c, av = 27, b0 = 28, b1 = 29
  const ACC = 19, AV = 27, B0 = 28, B1 = 29;
  const c = new Code();
  c.get(D4).i32(2).shl().set(RB);
  c.get(OS).i32(2).shl().set(OS4);
  c.i32(0).set(I);
  c.block().loop(); // rows of A, 4 at a time
  c.get(I).get(NA).geU().brIf(1);
  // PA + r = a + (i + r) * rb
  c.get(A).get(I).get(RB).mul().add().set(PA);
  for (let r = 1; r < 4; r++) c.get(PA + r - 1).get(RB).add().set(PA + r);
  c.i32(0).set(J);
  c.block().loop(); // rows of B, 2 at a time
  c.get(J).get(NB).geU().brIf(1);
  c.get(B).get(J).get(RB).mul().add().set(PB);
  c.get(PB).get(RB).add().set(PB + 1);
  for (let k = 0; k < 8; k++) c.v128zero().set(ACC + k);
  c.i32(0).set(T);
  c.block().loop(); // t over the row, 16 bytes at a time
  c.get(T).get(RB).geU().brIf(1);
  c.get(PB).get(T).add().v128load(0).set(B0);
  c.get(PB + 1).get(T).add().v128load(0).set(B1);
  for (let r = 0; r < 4; r++) {
    c.get(PA + r).get(T).add().v128load(0).set(AV);
    c.get(ACC + 2 * r).get(AV).get(B0).f32x4mul().f32x4add().set(ACC + 2 * r);
    c.get(ACC + 2 * r + 1).get(AV).get(B1).f32x4mul().f32x4add().set(ACC + 2 * r + 1);
  }
  c.get(T).i32(16).add().set(T);
  c.br(0);
  c.end().end();
  // o = out + (i * ostride + j) * 4, then one output row per r
  c.get(OUT).get(I).get(OS).mul().get(J).add().i32(2).shl().add().set(O);
  for (let r = 0; r < 4; r++) {
    for (let col = 0; col < 2; col++) {
      const acc = ACC + 2 * r + col;
      c.get(O);
      c.get(acc).lane(0).get(acc).lane(1).f32add();
      c.get(acc).lane(2).get(acc).lane(3).f32add();
      c.f32add();
      c.f32store(col * 4);
    }
    if (r < 3) c.get(O).get(OS4).add().set(O);
  }
  c.get(J).i32(2).add().set(J);
  c.br(0);
  c.end().end();
  c.get(I).i32(4).add().set(I);
  c.br(0);
  c.end().end();
  c.end();

  const locals = [2, ...uleb(12), I32, ...uleb(11), V128];
  const body = [...locals, ...c.bytes];
  const typeSec = section(1, [1, 0x60, 7, I32, I32, I32, I32, I32, I32, I32, 0]);
  // import env.memory: shared, min 1 page, max 65536 pages
  const importSec = section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x03, ...uleb(1), ...uleb(65536)]);
  const funcSec = section(3, [1, 0]);
  const exportSec = section(7, [1, ...name('tile'), 0x00, 0]);
  const codeSec = section(10, [1, ...uleb(body.length), ...body]);
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...typeSec, ...importSec, ...funcSec, ...exportSec, ...codeSec]);
}

let compiled: WebAssembly.Module | null = null;

/** The compiled kernel module (compiled once per thread). */
export function simModule(): WebAssembly.Module {
  if (!compiled) compiled = new WebAssembly.Module(buildSimModule());
  return compiled;
}

export type TileFn = (a: number, na: number, b: number, nb: number, d4: number, out: number, ostride: number) => void;

/** Instantiates the kernel over a shared memory. */
export function instantiateSim(memory: WebAssembly.Memory): TileFn {
  const inst = new WebAssembly.Instance(simModule(), { env: { memory } });
  return inst.exports.tile as unknown as TileFn;
}
