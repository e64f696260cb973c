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
  {
    id: 'import-wide',
    what: 'a file with 1,000-5,000 columns runs past 60 s or 1.5 GB (issue 13: the 5,000-column CSV)',
    matches: (c) => c.family === 'import' && has(c, 'wide'),
  },
  {
    id: 'import-scan-count',
    what: 'another format\'s bytes as CSV/TSV: the byte scan and DuckDB count records differently ("internal: DuckDB read N records")',
    matches: (c) => c.family === 'import' && (c.format === 'csv' || c.format === 'tsv') && c.mutations.some((m) => m.startsWith('as-')),
  },
  {
    id: 'import-column-names',
    what: 'a column named rowid (or with a NUL, or empty from Arrow) breaks the importer\'s SQL (Binder/Parser Error)',
    matches: (c) => c.family === 'import' && has(c, 'column-named-weirdly'),
  },
  {
    id: 'arrow-duplicate-names',
    what: 'an Arrow file with two columns of one name (or a damaged schema) crashes appendTable (Catalog/Parser Error)',
    matches: (c) => c.family === 'import' && c.format === 'arrow' && (has(c, 'duplicate-column', 'flip-tail') || c.mutations.filter((m) => m === 'wide').length > 1),
  },
  // --- submissions -------------------------------------------------------------------
];

export function knownFailure(c: FuzzCase): KnownFailure | undefined {
  return KNOWN_FAILURES.find((k) => k.matches(c));
}
