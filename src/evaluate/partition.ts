/**
 * The public/private partition of a challenge's hidden test rows: stratified by class and
 * seeded, so it is the same on every machine and both halves keep the class mix. Public
 * scores are shown while the challenge is open; private ones only once it has closed.
 */
import { createRng, deriveSeed } from '../../compute/rng.ts';

export interface TestPartition {
  /** Test row indices, ascending. */
  public: Int32Array;
  private: Int32Array;
}

/**
 * Within each class, a seeded shuffle puts round(fraction × count) rows in the public part.
 * Fraction 1 leaves the private part empty.
 */
export function partitionTestRows(labels: Int32Array, k: number, fraction: number, seed: number): TestPartition {
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`public fraction must be in (0, 1], got ${fraction}`);
  const byClass: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  const isPublic = new Uint8Array(labels.length);
  for (let c = 0; c < k; c++) {
    const rows = Int32Array.from(byClass[c]);
    createRng(deriveSeed(seed, 'public-private', c)).shuffle(rows);
    const take = Math.round(fraction * rows.length);
    for (let j = 0; j < take; j++) isPublic[rows[j]] = 1;
  }
  const pub: number[] = [], priv: number[] = [];
  for (let i = 0; i < labels.length; i++) (isPublic[i] ? pub : priv).push(i);
  return { public: Int32Array.from(pub), private: Int32Array.from(priv) };
}
