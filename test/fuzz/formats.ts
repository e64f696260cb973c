/** Which format each family's seeds cycle through: seed s is format s mod the list's length. */
import type { Family } from './cases.ts';

export const FUZZ_FORMATS: Record<Family, readonly string[]> = {
  import: ['csv', 'tsv', 'jsonl', 'parquet', 'arrow', 'idx', 'idx-gz', 'arff'],
  submission: ['csv', 'txt', 'json', 'parquet', 'arrow'],
  challenge: ['yaml-text', 'yaml-file'],
};

export function formatOfSeed(family: Family, seed: number): string {
  const f = FUZZ_FORMATS[family];
  return f[((seed % f.length) + f.length) % f.length];
}
