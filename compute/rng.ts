/**
 * Seeded pseudo-random numbers: xoshiro128** seeded through splitmix32. Pure 32-bit integer
 * arithmetic, so the same seed gives the same stream on every platform and Node version.
 * Every random choice in sieve (synthetic pools, splits, model initialisation, bootstrap)
 * goes through here; Math.random is never used.
 */
export interface Rng {
  /** Uniform 32-bit unsigned integer. */
  nextU32(): number;
  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number;
  /** Standard normal (Box–Muller, both values used). */
  normal(): number;
  /** Uniform integer in [0, n). Unbiased (rejection sampling). */
  int(n: number): number;
  /**
   * Fills `out` with uniform integers in [0, n): exactly the values (and the stream position)
   * of out.length calls of int(n), with the generator's state in local variables (several
   * times faster in a loop such as the bootstrap's draws).
   */
  fillInts(n: number, out: Int32Array | Uint32Array): void;
  /**
   * Adds one to `counts[x]` for each of `draws` calls of int(n): the same values and stream
   * position, without storing the draws (a bootstrap resample's multiplicities).
   */
  countInts(n: number, draws: number, counts: Int32Array): void;
  /**
   * Adds one to `counts[map[x]]` for each of `draws` calls of int(n): the same values and
   * stream position, tallied by a class of the drawn index (a bootstrap resample counted per
   * cell of alike rows) without storing the draws. `map` has at least n entries.
   */
  countMapped(n: number, draws: number, map: Int32Array | Uint16Array | Uint8Array, counts: Int32Array): void;
  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T extends { length: number; [i: number]: any }>(a: T): T;
  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Mixes a seed with string/number tags into a new 32-bit seed (independent sub-streams). */
export function deriveSeed(seed: number, ...tags: (string | number)[]): number {
  let h = (seed >>> 0) ^ 0x811c9dc5;
  const text = tags.map(String).join('\u0000');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const mix = splitmix32(h);
  mix();
  return mix();
}

export function createRng(seed: number): Rng {
  const sm = splitmix32(seed);
  // State lives in an Int32Array: uint32 values above 2^31 held in closure variables are
  // boxed heap numbers in V8, which made every draw allocate (about 6x slower). Same stream.
  const s = new Int32Array(4);
  s[0] = sm(); s[1] = sm(); s[2] = sm(); s[3] = sm();
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  // The spare normal of Box–Muller, kept unboxed for the same reason; hasSpare[0] = 1 when set.
  const spare = new Float64Array(1);
  const hasSpare = new Uint8Array(1);

  const nextU32 = (): number => {
    const s1 = s[1];
    const x = Math.imul(s1, 5);
    const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    const s3 = s[3];
    s[3] = (s3 << 11) | (s3 >>> 21);
    return result;
  };
  const uniform = (): number => {
    const hi = nextU32() >>> 5; // 27 bits
    const lo = nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  };
  const rng: Rng = {
    nextU32,
    uniform,
    normal() {
      if (hasSpare[0] === 1) { hasSpare[0] = 0; return spare[0]; }
      let u = 0;
      while (u === 0) u = uniform();
      const v = uniform();
      const r = Math.sqrt(-2 * Math.log(u));
      spare[0] = r * Math.sin(2 * Math.PI * v);
      hasSpare[0] = 1;
      return r * Math.cos(2 * Math.PI * v);
    },
    int(n: number) {
      if (!(n > 0) || n > 0x100000000) throw new RangeError(`int(n) needs 0 < n <= 2^32, got ${n}`);
      const limit = 0x100000000 - (0x100000000 % n);
      let x = nextU32();
      while (x >= limit) x = nextU32();
      return x % n;
    },
    fillInts(n: number, out: Int32Array | Uint32Array) {
      if (!(n > 0) || n > 0x100000000) throw new RangeError(`fillInts(n) needs 0 < n <= 2^32, got ${n}`);
      if (n > 0x80000000 && out instanceof Int32Array) throw new RangeError(`fillInts(n) into an Int32Array needs n <= 2^31, got ${n}`);
      const limit = 0x100000000 - (0x100000000 % n);
      // n as a uint32 lets the compiler take an integer remainder instead of a floating-point
      // one (several times slower); n = 2^32 keeps every draw as it is.
      const nn = n >>> 0;
      const whole = n === 0x100000000;
      // nextU32 with the state in int32 locals (same operations, same bits).
      let s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
      for (let i = 0; i < out.length; ) {
        const x = Math.imul(s1, 5);
        const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
        const t = s1 << 9;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        if (result < limit) out[i++] = whole ? result : (result % nn) >>> 0;
      }
      s[0] = s0; s[1] = s1; s[2] = s2; s[3] = s3;
    },
    countInts(n: number, draws: number, counts: Int32Array) {
      if (!(n > 0) || n > counts.length) throw new RangeError(`countInts(n) needs 0 < n <= counts.length (${counts.length}), got ${n}`);
      const limit = 0x100000000 - (0x100000000 % n);
      const nn = n >>> 0;
      let s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
      for (let i = 0; i < draws; ) {
        const x = Math.imul(s1, 5);
        const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
        const t = s1 << 9;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        if (result < limit) {
          counts[(result % nn) >>> 0]++;
          i++;
        }
      }
      s[0] = s0; s[1] = s1; s[2] = s2; s[3] = s3;
    },
    countMapped(n: number, draws: number, map: Int32Array | Uint16Array | Uint8Array, counts: Int32Array) {
      if (!(n > 0) || n > map.length) throw new RangeError(`countMapped(n) needs 0 < n <= map.length (${map.length}), got ${n}`);
      const limit = 0x100000000 - (0x100000000 % n);
      const nn = n >>> 0;
      let s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
      for (let i = 0; i < draws; ) {
        const x = Math.imul(s1, 5);
        const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
        const t = s1 << 9;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        if (result < limit) {
          counts[map[(result % nn) >>> 0]]++;
          i++;
        }
      }
      s[0] = s0; s[1] = s1; s[2] = s2; s[3] = s3;
    },
    shuffle(a) {
      for (let i = a.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = a[i]; a[i] = a[j]; a[j] = t;
      }
      return a;
    },
    permutation(n: number) {
      const p = new Int32Array(n);
      for (let i = 0; i < n; i++) p[i] = i;
      return rng.shuffle(p);
    },
  };
  return rng;
}
