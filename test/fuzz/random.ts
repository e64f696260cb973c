/** Small helpers over the seeded Rng of compute/rng.ts (the fuzzer never uses Math.random). */
import type { Rng } from '../../compute/rng.ts';

export type { Rng };

export function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

export function chance(rng: Rng, p: number): boolean {
  return rng.uniform() < p;
}

/** Uniform integer in [lo, hi]. */
export function between(rng: Rng, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

/** Picks one of `choices` with probability proportional to its weight. */
export function weighted<T>(rng: Rng, choices: readonly [T, number][]): T {
  const total = choices.reduce((s, [, w]) => s + w, 0);
  let u = rng.uniform() * total;
  for (const [x, w] of choices) {
    u -= w;
    if (u < 0) return x;
  }
  return choices[choices.length - 1][0];
}

const enc = new TextEncoder();
export const utf8 = (s: string): Uint8Array => enc.encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
