/**
 * The fixed choices of pool commands (feature kinds, import and export formats, missing-value
 * policies, default missing markers), in a module that imports nothing, so the CLI can list
 * them in its options and `sieve --help` without loading DuckDB, Arrow or zod. The modules
 * that implement each choice import these lists from here.
 */

export const FEATURE_KINDS = ['embedding', 'pixels', 'numeric', 'categorical', 'text'] as const;

export type ImportFormat = 'csv' | 'tsv' | 'parquet' | 'jsonl' | 'arrow' | 'idx' | 'arff';
export const IMPORT_FORMATS: ImportFormat[] = ['csv', 'tsv', 'parquet', 'jsonl', 'arrow', 'idx', 'arff'];

/** Missing-value markers when none are given (as pandas' defaults, shortened). */
export const DEFAULT_NA_VALUES = ['', 'NA', 'N/A', 'NaN', 'null'];

export type MissingPolicy = 'error' | 'drop-row' | 'impute';
export const MISSING_POLICIES: MissingPolicy[] = ['error', 'drop-row', 'impute'];

export type ExportFormat = 'arrow' | 'parquet' | 'csv';
export const EXPORT_FORMATS: ExportFormat[] = ['arrow', 'parquet', 'csv'];
