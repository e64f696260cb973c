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
    id: 'idx-gzip-bomb',
    what: 'a gzipped IDX file that inflates to gigabytes is read whole before its header is checked (memory > 1.5 GB)',
    matches: (c) => c.family === 'import' && has(c, 'gzip-bomb'),
  },
  {
    id: 'jsonl-mixed-types',
    what: 'JSON Lines ids 7 and "7" (and labels 1, "1", 1.0, true) are accepted as one value',
    matches: (c) => c.family === 'import' && c.format === 'jsonl' && has(c, 'mixed-id-types', 'mixed-label-types'),
  },
  {
    id: 'import-float-range',
    what: 'an embedding value beyond ±3.4e38 crashes the FLOAT cast (DuckDB Conversion Error)',
    matches: (c) => c.family === 'import' && has(c, 'huge-number'),
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
    id: 'import-nul',
    what: 'a NUL byte in a name or category breaks the importer\'s SQL; in a numeric column it turns the column categorical',
    matches: (c) => c.family === 'import' && TABULAR.includes(c.format) && has(c, 'nul-in-cell', 'insert-nul'),
  },
  {
    id: 'arrow-duplicate-names',
    what: 'an Arrow file with two columns of one name (or a damaged schema) crashes appendTable (Catalog/Parser Error)',
    matches: (c) => c.family === 'import' && c.format === 'arrow' && (has(c, 'duplicate-column', 'flip-tail') || c.mutations.filter((m) => m === 'wide').length > 1),
  },
  {
    id: 'import-test-file-columns',
    what: 'a --test file lacking one of the train file\'s columns crashes typeOf (TypeError)',
    matches: (c) => c.family === 'import' && c.call.kind === 'import' && c.call.testFile !== undefined && c.mutations.some((m) => /^(arrow|parquet)-/.test(m)),
  },
  // --- submissions -------------------------------------------------------------------
  {
    id: 'submission-trim',
    what: 'TXT and CSV ids with surrounding spaces are rejected (issue 13: trim them)',
    matches: (c) => c.family === 'submission' && (c.format === 'csv' || c.format === 'txt') && has(c, 'whitespace-id'),
  },
  {
    id: 'submission-json-duplicate-keys',
    what: 'a JSON submission with a key twice is accepted (the last value wins)',
    matches: (c) => c.family === 'submission' && c.format === 'json' && has(c, 'json-duplicate-key'),
  },
  {
    id: 'submission-json-depth',
    what: 'a deeply nested JSON submission overflows the stack (RangeError)',
    matches: (c) => c.family === 'submission' && c.format === 'json' && has(c, 'json-deep'),
  },
  {
    id: 'submission-parquet-read',
    what: 'damaged Parquet data pages throw DuckDB errors while rows are read (after the schema probe), not SieveErrors',
    matches: (c) => c.family === 'submission' && c.format === 'parquet' && c.mutations.some((m) => !['valid', 'crlf'].includes(m) && !/^[a-z]+-(id|ids|label|budget|column|rows|option|file|forms|odd|int)$/.test(m)),
  },
  {
    id: 'arrow-damaged',
    what: 'a damaged Arrow IPC file makes apache-arrow loop for minutes or allocate gigabytes',
    matches: (c) => c.format === 'arrow' && c.mutations.some((m) => ['byte-flip', 'flip-head', 'flip-tail', 'ff-range', 'zero-range', 'insert-nul', 'insert-junk', 'repeat-chunk', 'truncate', 'truncate-footer', 'truncate-half', 'footer-length-huge'].includes(m)),
  },
  // --- challenge.yaml ----------------------------------------------------------------
  {
    id: 'yaml-aliases',
    what: 'an alias bomb or an alias to no anchor escapes as a ReferenceError from yaml\'s toJS',
    matches: (c) => c.family === 'challenge' && has(c, 'alias-bomb', 'alias-undefined', 'alias-recursive'),
  },
  {
    id: 'yaml-unknown-tags',
    what: 'unknown YAML tags (!!js/function, !evil) are accepted',
    matches: (c) => c.family === 'challenge' && has(c, 'tag-unknown'),
  },
  {
    id: 'yaml-invalid-utf8',
    what: 'loadChallenge decodes invalid UTF-8 with replacement characters and accepts the file',
    matches: (c) => c.family === 'challenge' && c.format === 'yaml-file' && has(c, 'invalid-utf8', 'utf16-bom', 'utf16le'),
  },
];

export function knownFailure(c: FuzzCase): KnownFailure | undefined {
  return KNOWN_FAILURES.find((k) => k.matches(c));
}
