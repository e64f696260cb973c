/**
 * KNOWN FAILURES: fuzz cases that currently crash, hang, blow memory, leave files behind or
 * give a wrong answer, each with what happens. Cases matching an entry are skipped (counted as
 * "known") so the suite stays green while the fixes land; run them anyway with
 * SIEVE_FUZZ_KNOWN=run. Every fix removes its entry: this list must end up empty (issue 13).
 */
import type { FuzzCase } from './cases.ts';

export interface KnownFailure {
  id: string;
  /** What goes wrong today. */
  what: string;
  matches(c: FuzzCase): boolean;
}

const has = (c: FuzzCase, ...names: string[]) => c.mutations.some((m) => names.includes(m));
const TABULAR = ['csv', 'tsv', 'jsonl', 'parquet', 'arrow', 'arff'];

export const KNOWN_FAILURES: KnownFailure[] = [
  // --- importers ---------------------------------------------------------------------
  // --- submissions -------------------------------------------------------------------
];

export function knownFailure(c: FuzzCase): KnownFailure | undefined {
  return KNOWN_FAILURES.find((k) => k.matches(c));
}
