/**
 * `sieve pool import`: any supported file → staged DuckDB table (text cleaned: trimmed,
 * missing markers to NULL) → every check in SQL over that table (ids, labels, feature values,
 * with source line numbers in every error; all problems of a run reported together) →
 * feature kinds inferred → optional test split → the pool's tables built in DuckDB and copied
 * to Parquet. Rows never pass through JavaScript one by one, so memory is bounded by DuckDB's
 * memory limit (it spills to disk), not by the file size. Nothing is written unless all
 * checks pass.
 */
import { availableParallelism } from 'node:os';
import { basename, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { SieveError } from '../../util/errors.ts';
import type { Progress } from '../../util/progress.ts';
import { createRng, deriveSeed } from '../../../compute/rng.ts';
import { appendTable, openDb, queryColumns, quoteIdent, sqlString } from '../duckdb.ts';
import type { FeatureKind, FeatureSpec, PoolManifest } from '../manifest.ts';
import { poolReplaceBlocker, writePoolFromTables } from '../write.ts';
import { checkOutputPath } from '../../util/outpath.ts';
import { DEFAULT_NA_VALUES } from '../choices.ts';
import {
  detectFormat,
  stagedName,
  stageArff,
  stageArrow,
  stageCsv,
  stageIdx,
  stageJsonl,
  stageParquet,
  type CleanOptions,
  type ImportFormat,
  type Staged,
} from './stage.ts';
import { ProblemList } from './problems.ts';
import { MAX_EXAMPLES } from './text-scan.ts';
import { NUMBER_RE } from './sniff.ts';
import { TEXT_FEATURISER } from '../../../compute/text-features.ts';

export { detectFormat, formatFromName, IMPORT_FORMATS, DEFAULT_NA_VALUES, type ImportFormat } from './stage.ts';
export { ImportProblems } from './problems.ts';

import { MISSING_POLICIES, type MissingPolicy } from '../choices.ts';
export { MISSING_POLICIES, type MissingPolicy } from '../choices.ts';

export interface ImportOptions {
  input: string;
  out: string;
  format?: ImportFormat;
  /** Pool name (default: the output directory's name). */
  name?: string;
  /** Column holding unique row ids (default "id"); "none" numbers rows as row-<n>. */
  idColumn?: string;
  /** Column holding class labels (default "label"). */
  labelColumn?: string;
  /** Feature columns (default: every column that is not the id, label or a group). */
  featureColumns?: string[];
  /** Group (sensitive attribute) columns, kept as strings. */
  groupColumns?: string[];
  /** Force a feature's kind instead of inferring it. */
  kinds?: Record<string, FeatureKind>;
  /** Class names in index order; labels outside them are an error. For IDX: names of label 0, 1, … */
  classes?: string[];
  /** IDX: the labels file of `input`. */
  labels?: string;
  /** A second file holding the test split (same columns). */
  testFile?: string;
  /** IDX: the labels file of `testFile`. */
  testLabels?: string;
  /** Or: hold out this fraction of each class as the test split, chosen with `seed`. */
  testFraction?: number;
  /**
   * Mark the test split evaluator-only (`--hidden-test`): for a challenge, whose score is on
   * those rows. Default: participant-visible, the user's own data to read (audits check leakage).
   */
  hiddenTest?: boolean;
  seed?: number;
  /** CSV field delimiter (default "," for CSV, tab for TSV, sniffed for other names). */
  delimiter?: string;
  /** CSV: whether line 1 is a header (default: yes for .csv/.tsv, sniffed for other names; no with `columns`). */
  header?: boolean;
  /** CSV: column names (for files without a header, or to rename a header's columns). */
  columns?: string[];
  /** CSV/TSV: the decimal separator of numbers (default "."); "," reads "1,5" as 1.5 (semicolon CSVs from European spreadsheets). */
  decimal?: '.' | ',';
  /** CSV: lines at the top of the input file to skip (a title or comment line). */
  skipLines?: number;
  /** CSV: lines at the top of the test file to skip (UCI adult.test's "|1x3 Cross validator"). */
  testSkipLines?: number;
  /** Keep surrounding whitespace of text values (default: trimmed). */
  keepWhitespace?: boolean;
  /** Extra values meaning "missing", added to DEFAULT_NA_VALUES unless `defaultNaValues` is false. */
  naValues?: string[];
  /** Use DEFAULT_NA_VALUES (default true). */
  defaultNaValues?: boolean;
  /** Missing numeric values: an error (default), drop the row, or impute the train median. */
  missing?: MissingPolicy;
  /** Geometry of binary pixel columns the file does not describe. */
  imageSize?: { width: number; height: number; channels: number };
  description?: string;
  licence?: string;
  source?: string;
  overwrite?: boolean;
  /** The option that named the output, for its errors: '--out' (default) or '--name'. */
  option?: string;
  progress?: Progress;
  /** Told about choices the import made for the user (sniffed format, column names, rows dropped). */
  onNote?: (note: string) => void;
  /** DuckDB memory limit for the import (default 512MB; it spills to a temporary directory beyond). */
  memoryLimit?: string;
}

/** A VARCHAR column with at most this many distinct values, none longer than… */
const MAX_CATEGORIES = 50;
/** …this many characters, is categorical; otherwise it is text. */
const MAX_CATEGORY_CHARS = 64;
/** Columns per statistics query (one query per batch keeps very wide files fast). */
const STATS_BATCH = 64;
/** A column at least this share numbers is numeric: other values in it are errors. */
const NUMERIC_SHARE = 0.5;

/**
 * A finite number in plain decimal or exponent notation. DuckDB's cast also reads "1_000",
 * which is refused; hex ("0x10") does not cast; infinities and NaN are `isInfNan`.
 */
const isNumber = (x: string, decimalComma = false) =>
  decimalComma ? `regexp_full_match(${x}, '${COMMA_NUMBER}')` : `(coalesce(isfinite(TRY_CAST(${x} AS DOUBLE)), false) AND NOT contains(${x}, '_'))`;
/** A number written with a decimal comma ("1,5", "-0,25", "3", "1,5e3"): what --decimal , reads. */
const COMMA_NUMBER = '[+-]?([0-9]+(,[0-9]*)?|,[0-9]+)([eE][+-]?[0-9]+)?';
/** The value of a numeric text column (with --decimal ",", its comma read as the decimal point). */
const numericCast = (x: string, decimalComma = false) => (decimalComma ? `CAST(replace(${x}, ',', '.') AS DOUBLE)` : `CAST(${x} AS DOUBLE)`);
/** Every spelling of infinity and NaN DuckDB's cast accepts (inf, -Infinity, NaN, …). */
const isInfNan = (x: string) => `(NOT isfinite(TRY_CAST(${x} AS DOUBLE)))`;

const NUMERIC_TYPE = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\))$/;
const FLOAT_TYPE = /^(FLOAT|DOUBLE)$/;
const LIST_TYPE = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\))\[\d*\]$/;

const q = quoteIdent;
/** A column of a staged table (`stagedName`: a column named rowid is staged under another name). */
const sq = (name: string) => quoteIdent(stagedName(name));

/** A column of a staged table as used by the pool. */
interface Plan {
  spec: FeatureSpec;
  /** SQL producing the pool's value from the staged column (before imputation). */
  expr: string;
}

interface Source {
  staged: Staged;
  /** SQL for the id of each row. */
  idExpr: string;
}

export async function importPool(opts: ImportOptions): Promise<PoolManifest> {
  if (opts.testFile && opts.testFraction !== undefined)
    throw new SieveError('give either a test file or a test fraction, not both', { where: '--test / --test-fraction' });
  if (opts.testFraction !== undefined && !(opts.testFraction > 0 && opts.testFraction < 1))
    throw new SieveError(`--test-fraction must be between 0 and 1 (exclusive), got ${opts.testFraction}`, { where: '--test-fraction' });
  for (const [option, n] of [['--skip-lines', opts.skipLines], ['--test-skip-lines', opts.testSkipLines]] as const)
    if (n !== undefined && !(Number.isInteger(n) && n >= 0))
      throw new SieveError(`${option} needs a whole number of lines (0 or more), got ${n}`, { where: option });
  if (opts.decimal !== undefined && opts.decimal !== '.' && opts.decimal !== ',')
    throw new SieveError(`--decimal must be "." or ",", got ${JSON.stringify(opts.decimal)}`, { where: '--decimal' });
  if (opts.testSkipLines && !opts.testFile) throw new SieveError('--test-skip-lines skips lines of the --test file; there is none', { where: '--test-skip-lines' });
  if (opts.missing !== undefined && !MISSING_POLICIES.includes(opts.missing))
    throw new SieveError(`--missing must be one of ${MISSING_POLICIES.join(', ')}, got "${opts.missing}"`, { where: '--missing' });
  const clean: CleanOptions = {
    keepWhitespace: opts.keepWhitespace,
    naValues: [...new Set([...(opts.defaultNaValues === false ? [] : DEFAULT_NA_VALUES), ...(opts.naValues ?? [])])],
  };

  // The output before the input: a wrong --out should not cost a scan of a large file first
  // (the writer checks it again, under its lock, when it writes).
  await checkOutputPath(opts.out, { kind: 'dir', overwrite: opts.overwrite, option: opts.option, replaceable: poolReplaceBlocker });

  const db = await openDb({ threads: Math.max(1, availableParallelism()), memoryLimit: opts.memoryLimit ?? '512MB' });
  try {
    const conn = db.conn;
    // DuckDB's common-subexpression pass costs time quadratic in a statement's expressions
    // (5,000 columns: seconds per statement); the import's statements repeat none worth sharing.
    await conn.run(`SET disabled_optimizers = 'common_subexpressions'`);
    const train = await stage(conn, opts.input, opts.format, opts.labels, 'src_train', opts, clean, [opts.skipLines, '--skip-lines']);
    const test = opts.testFile ? await stage(conn, opts.testFile, opts.format, opts.testLabels, 'src_test', opts, clean, [opts.testSkipLines, '--test-skip-lines']) : undefined;
    for (const note of [...train.notes, ...(test?.notes ?? [])]) opts.onNote?.(note);
    opts.progress?.start(0, 'checking ids, labels and feature values');
    return await build(conn, opts, clean, train, test);
  } finally {
    db.close();
  }
}

async function stage(
  conn: DuckDBConnection,
  path: string,
  given: ImportFormat | undefined,
  labels: string | undefined,
  table: string,
  opts: ImportOptions,
  clean: CleanOptions,
  [skipLines, skipOption]: [number | undefined, string],
): Promise<Staged> {
  const abs = resolve(path);
  const { format, sniffed } = given ? { format: given, sniffed: false } : await detectFormat(abs);
  if (opts.columns && format !== 'csv' && format !== 'tsv')
    throw new SieveError(`--columns names the columns of CSV/TSV files without a header; ${basename(path)} is ${format}`, { where: '--columns' });
  if (opts.decimal === ',' && format !== 'csv' && format !== 'tsv')
    throw new SieveError(`--decimal , reads numbers written with decimal commas in CSV/TSV files; ${basename(path)} is ${format}`, { where: '--decimal' });
  if (skipLines && format !== 'csv' && format !== 'tsv')
    throw new SieveError(`${skipOption} skips lines at the top of CSV/TSV files; ${basename(path)} is ${format}`, { where: skipOption });
  const csv = { delimiter: opts.delimiter, header: opts.header, columns: opts.columns, sniffed, skipLines, skipOption };
  const staged = await (async () => {
    switch (format) {
      case 'csv':
      case 'tsv':
        return stageCsv(conn, abs, table, format, csv, clean, opts.progress);
      case 'jsonl':
        return stageJsonl(conn, abs, table, clean, opts.progress);
      case 'parquet':
        return stageParquet(conn, abs, table);
      case 'arrow':
        return stageArrow(conn, abs, table, opts.progress);
      case 'arff':
        return stageArff(conn, abs, table, opts.progress);
      case 'idx':
        return stageIdx(conn, abs, labels ? resolve(labels) : undefined, table, opts.classes);
    }
  })();
  if (sniffed && format !== 'csv') staged.notes.unshift(`${basename(path)}: read as ${format} (from its first bytes)`);
  return staged;
}

// ---------------------------------------------------------------------------------------
// Small SQL helpers that report offending rows by their place in the source file.

async function scalar(conn: DuckDBConnection, sql: string): Promise<unknown> {
  const r = await conn.runAndReadAll(sql);
  return r.getRows()[0]?.[0];
}

/** Count and first rows (1-based record numbers) of `s` where `cond` holds. */
async function offenders(conn: DuckDBConnection, s: Staged, cond: string, extra = 'NULL'): Promise<{ count: number; rows: { r: number; v: unknown }[] }> {
  const r = await conn.runAndReadAll(
    `SELECT (rowid + 1)::BIGINT, ${extra}, count(*) OVER () FROM ${q(s.table)} WHERE ${cond} ORDER BY rowid LIMIT ${MAX_EXAMPLES}`,
  );
  const rows = r.getRowsJS();
  return { count: rows.length ? Number(rows[0][2]) : 0, rows: rows.map(([row, v]) => ({ r: Number(row), v })) };
}

const fmtValue = (v: unknown) => (v === null || v === undefined ? 'missing' : JSON.stringify(v));
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Adds a problem when some rows of `s` meet `cond`; returns how many did. */
async function check(
  conn: DuckDBConnection,
  problems: ProblemList,
  s: Staged,
  cond: string,
  message: string,
  where: string,
  extra?: string,
  show?: (v: unknown) => string,
): Promise<number> {
  const o = await offenders(conn, s, cond, extra);
  if (o.count)
    problems.add({
      message: `${message} (${plural(o.count, 'row')})`,
      where: `${s.path}: ${where}`,
      count: o.count,
      examples: o.rows.map(({ r, v }) => `${s.describe(r)}${show ? `: ${show(v)}` : ''}`),
    });
  return o.count;
}

/**
 * The distinct labels of `s` meeting `cond` (over `l`, the label), each with its row count and
 * first line, in order of first occurrence: "all 4,000 rows: "<=50K." (3,337)…" rather than 20
 * identical line entries.
 */
async function labelValues(conn: DuckDBConnection, s: Staged, labelExpr: string, cond: string): Promise<{ rows: number; values: string[]; examples: string[] }> {
  const res = (
    await conn.runAndReadAll(
      `SELECT l, count(*), min(r), sum(count(*)) OVER (), count(*) OVER () FROM (SELECT ${labelExpr} AS l, rowid + 1 AS r FROM ${q(s.table)} WHERE trim(${labelExpr}) <> '') ` +
        `WHERE ${cond} GROUP BY l ORDER BY min(r) LIMIT ${MAX_EXAMPLES}`,
    )
  ).getRowsJS();
  if (!res.length) return { rows: 0, values: [], examples: [] };
  const total = Number(res[0][3]);
  const distinct = Number(res[0][4]);
  const examples = res.map(([l, n, r]) => `${JSON.stringify(l)} (${fmtCount(Number(n))} ${Number(n) === 1 ? 'row' : 'rows'}, first at ${s.describe(Number(r))})`);
  if (distinct > res.length) examples.push(`${distinct - res.length} more labels`);
  return { rows: total, values: res.map(([l]) => String(l)), examples };
}

const fmtCount = (n: number) => n.toLocaleString('en');

/** "all 4,000 rows of adult.test" or "3 rows". */
function rowsOf(n: number, s: Staged): string {
  return n === s.rows && n > 1 ? `all ${fmtCount(n)} rows of ${basename(s.path)}` : plural(n, 'row').replace(/^\d+/, fmtCount(n));
}

/**
 * Hints for labels that are a known class but for trailing punctuation or surrounding spaces
 * (">50K." for ">50K"), the commonest way a test file's labels drift from its train file's.
 */
function nearClasses(values: string[], classes: string[], what: string, path: string): string[] {
  const norm = (v: string) => v.trim().replace(/[\s.,;:!?]+$/, '').trim();
  const byNorm = new Map(classes.map((c) => [norm(c), c]));
  const hints: string[] = [];
  const tails = new Set<string>();
  for (const v of values) {
    const c = byNorm.get(norm(v));
    if (c === undefined || c === v) continue;
    hints.push(`${JSON.stringify(v)} is the ${what} ${JSON.stringify(c)} but for ${v.trim() === c.trim() ? 'spaces' : `a trailing ${JSON.stringify(v.trim().slice(norm(v).length))}`}`);
    if (v.trim() !== c.trim()) tails.add(v.trim().slice(norm(v).length));
  }
  if (hints.length && tails.size === 1) {
    const t = [...tails][0];
    const f = basename(path);
    hints.push(`if they are the same classes, remove the ${JSON.stringify(t)} from the labels of ${f} (when the label is the last field: sed 's/${t.replace(/[.[\]*^$\\/]/g, '\\$&')}$//' ${f} > fixed-${f})`);
  }
  return hints;
}

// ---------------------------------------------------------------------------------------

function checkColumnsExist(s: Staged, wanted: { option: string; names: string[] }[]): void {
  const have = new Set(s.columns.map((c) => c.name));
  const missing = wanted.flatMap(({ option, names }) => names.filter((n) => !have.has(n)).map((n) => `${n} (${option})`));
  if (missing.length)
    throw new SieveError(`unknown column${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`, {
      where: s.path,
      examples: [`available: ${s.columns.map((c) => c.name).join(', ')}`],
    });
}

/** Column types by name, per staged source (a search per call would be quadratic in the width). */
const stagedTypes = new WeakMap<Staged, Map<string, string>>();

function typeOf(s: Staged, col: string): string {
  let types = stagedTypes.get(s);
  if (!types) stagedTypes.set(s, (types = new Map(s.columns.map((c) => [c.name, c.type]))));
  return types.get(col)!;
}

/** Text of a column's values as the user wrote them (typed columns cast to text). */
function textExpr(s: Staged, col: string): string {
  return typeOf(s, col) === 'VARCHAR' ? sq(col) : `CAST(${sq(col)} AS VARCHAR)`;
}

/** JSON Lines text columns hold strings only: a number, boolean, list or object is named with where it first occurs. */
async function checkTextJsonTypes(conn: DuckDBConnection, problems: ProblemList, s: Staged, col: string): Promise<void> {
  const types = s.jsonTypes?.[col];
  if (!types) return;
  const others = Object.entries(types).filter(([t]) => t !== 'VARCHAR').sort((a, b) => a[1].first - b[1].first);
  if (!others.length) return;
  const name = (t: string) => (t === 'BOOLEAN' ? 'boolean' : t === 'ARRAY' ? 'list' : t === 'OBJECT' ? 'object' : 'number');
  const examples: string[] = [];
  for (const [t, v] of others) {
    const value = await scalar(conn, `SELECT CAST(${sq(col)} AS VARCHAR) FROM ${q(s.table)} WHERE rowid = ${v.first - 1}`);
    const shown = String(value);
    examples.push(`${name(t)} ${shown.length > 60 ? shown.slice(0, 57) + '...' : shown} (${plural(v.count, 'row')}) first at ${s.describe(v.first)}`);
  }
  const count = others.reduce((n, [, v]) => n + v.count, 0);
  problems.add({
    message: `text column "${col}" holds JSON values that are not strings (${plural(count, 'row')}): write every text as a JSON string`,
    where: `${s.path}: ${col}`,
    count,
    examples,
  });
}

/**
 * JSON Lines ids, labels and groups must have one JSON type: 7 and "7" (or 1, "1", 1.0 and
 * true) would otherwise become the same or confusingly similar strings.
 */
async function checkJsonTypes(conn: DuckDBConnection, problems: ProblemList, s: Staged, col: string, role: string): Promise<void> {
  const types = s.jsonTypes?.[col];
  if (!types) return;
  // A feature's numbers may be integers and fractions alike; an id's or label's may not (7 and 7.0).
  const numbers = role === 'feature' ? 'number' : undefined;
  const family = (t: string) => (t === 'VARCHAR' ? 'string' : t === 'BOOLEAN' ? 'boolean' : t === 'DOUBLE' ? numbers ?? 'number with a fraction or exponent' : t === 'ARRAY' ? 'list' : t === 'OBJECT' ? 'object' : numbers ?? 'integer');
  const byFamily = new Map<string, { count: number; first: number }>();
  for (const [t, v] of Object.entries(types)) {
    const f = family(t);
    const prev = byFamily.get(f);
    byFamily.set(f, prev ? { count: prev.count + v.count, first: Math.min(prev.first, v.first) } : v);
  }
  if (byFamily.size < 2) return;
  const examples: string[] = [];
  for (const [f, v] of [...byFamily].sort((a, b) => a[1].first - b[1].first)) {
    const value = await scalar(conn, `SELECT ${textExpr(s, col)} FROM ${q(s.table)} WHERE rowid = ${v.first - 1}`);
    const shown = f === 'string' ? JSON.stringify(value) : String(value);
    examples.push(`${shown} (${f}, ${plural(v.count, 'row')}) first at ${s.describe(v.first)}`);
  }
  problems.add({
    message: role === 'feature'
      ? `feature column "${col}" mixes JSON types (${[...byFamily.keys()].join(', ')}): a feature holds one kind of value (numbers, strings for categories or text, or lists of numbers for an embedding)`
      : `${role} column "${col}" mixes JSON types (${[...byFamily.keys()].join(', ')}): write every ${role === 'id' ? 'id' : 'value'} the same way, e.g. all as strings`,
    where: `${s.path}: ${col}`,
    count: byFamily.size,
    examples,
  });
}

interface TextStats {
  rows: number;
  nonNull: number;
  nul: number;
  numbers: number;
  infNan: number;
  lists: number;
  approxDistinct: number;
  maxLen: number;
  /** Categorical columns: the distinct values, sorted. */
  categories?: string[];
}

/** One pass per batch of columns: how many values are numbers, inf/nan spellings, lists; distinct count; longest value. */
async function textStats(conn: DuckDBConnection, sources: Staged[], cols: string[], dec = false): Promise<Map<string, TextStats>> {
  const out = new Map<string, TextStats>();
  if (cols.length > STATS_BATCH) return packedTextStats(conn, sources, cols, dec);
  for (let b = 0; b < cols.length; b += STATS_BATCH) {
    const batch = cols.slice(b, b + STATS_BATCH);
    const union = sources.map((s) => `SELECT ${batch.map(sq).join(', ')} FROM ${q(s.table)}`).join(' UNION ALL ');
    const aggs = batch
      .map((c) => {
        const x = sq(c);
        return (
          `count(${x}), count(*) FILTER (WHERE ${isNumber(x, dec)}), ` +
          `count(*) FILTER (WHERE ${isInfNan(x)}), count(*) FILTER (WHERE starts_with(${x}, '[')), ` +
          `approx_count_distinct(${x}), coalesce(max(length(${x})), 0), count(*) FILTER (WHERE contains(${x}, chr(0)))`
        );
      })
      .join(', ');
    const row = (await conn.runAndReadAll(`SELECT count(*), ${aggs} FROM (${union})`)).getRows()[0].map(Number);
    batch.forEach((c, i) => {
      const [nonNull, numbers, infNan, lists, approxDistinct, maxLen, nul] = row.slice(1 + i * 7, 1 + i * 7 + 7);
      out.set(c, { rows: row[0], nonNull, numbers, infNan, lists, approxDistinct, maxLen, nul });
    });
  }
  return out;
}

/**
 * textStats for a wide file. DuckDB plans a query in time that grows faster than its number of
 * expressions (seven aggregates per column: 35,000 for 5,000 columns), so the columns are
 * packed into one list per row, unnested with their position and aggregated GROUP BY position:
 * the same figures from one query of constant size.
 */
async function packedTextStats(conn: DuckDBConnection, sources: Staged[], cols: string[], dec: boolean): Promise<Map<string, TextStats>> {
  const union = sources.map((s) => `SELECT [${cols.map(sq).join(', ')}] AS v FROM ${q(s.table)}`).join(' UNION ALL ');
  const x = 'x';
  const rows = (
    await conn.runAndReadAll(
      `SELECT k, count(*), count(${x}), count(*) FILTER (WHERE ${isNumber(x, dec)}), count(*) FILTER (WHERE ${isInfNan(x)}), ` +
        `count(*) FILTER (WHERE starts_with(${x}, '[')), approx_count_distinct(${x}), coalesce(max(length(${x})), 0), ` +
        `count(*) FILTER (WHERE contains(${x}, chr(0))) FROM (SELECT unnest(range(${cols.length})) AS k, unnest(v) AS ${x} FROM (${union})) GROUP BY k`,
    )
  ).getRows();
  const out = new Map<string, TextStats>();
  for (const r of rows) {
    const [k, n, nonNull, numbers, infNan, lists, approxDistinct, maxLen, nul] = r.map(Number);
    out.set(cols[k], { rows: n, nonNull, numbers, infNan, lists, approxDistinct, maxLen, nul });
  }
  for (const c of cols) if (!out.has(c)) out.set(c, { rows: 0, nonNull: 0, numbers: 0, infNan: 0, lists: 0, approxDistinct: 0, maxLen: 0, nul: 0 });
  return out;
}

/**
 * For typed numeric columns: rows, values present and non-finite values (NaN, ±Inf) per
 * column over every source, in one query of constant size (packed as in packedTextStats), so
 * that the per-column checks run only where there is something to report.
 */
async function numericStats(conn: DuckDBConnection, sources: Staged[], cols: string[]): Promise<Map<string, TextStats>> {
  const out = new Map<string, TextStats>();
  if (!cols.length) return out;
  const union = sources.map((s) => `SELECT [${cols.map((c) => `CAST(${sq(c)} AS DOUBLE)`).join(', ')}] AS v FROM ${q(s.table)}`).join(' UNION ALL ');
  const rows = (
    await conn.runAndReadAll(
      `SELECT k, count(*), count(x), count(*) FILTER (WHERE isnan(x) OR isinf(x)) FROM (SELECT unnest(range(${cols.length})) AS k, unnest(v) AS x FROM (${union})) GROUP BY k`,
    )
  ).getRows();
  for (const r of rows) {
    const [k, n, nonNull, infNan] = r.map(Number);
    out.set(cols[k], { rows: n, nonNull, numbers: nonNull - infNan, infNan, lists: 0, approxDistinct: 0, maxLen: 0, nul: 0 });
  }
  return out;
}

/** Count of values holding a NUL character, per VARCHAR column, in one pass per batch. */
async function checkNul(conn: DuckDBConnection, problems: ProblemList, s: Staged, cols: string[]): Promise<void> {
  const text = cols.filter((c) => typeOf(s, c) === 'VARCHAR');
  for (let b = 0; b < text.length; b += STATS_BATCH) {
    const batch = text.slice(b, b + STATS_BATCH);
    const row = (await conn.runAndReadAll(`SELECT ${batch.map((c) => `count(*) FILTER (WHERE contains(${sq(c)}, chr(0)))`).join(', ')} FROM ${q(s.table)}`)).getRows()[0].map(Number);
    for (let i = 0; i < batch.length; i++)
      if (row[i]) await check(conn, problems, s, `contains(${sq(batch[i])}, chr(0))`, `NUL characters in column "${batch[i]}"`, batch[i]);
  }
}

async function build(conn: DuckDBConnection, opts: ImportOptions, clean: CleanOptions, train: Staged, test?: Staged): Promise<PoolManifest> {
  const sources = test ? [train, test] : [train];
  const problems = new ProblemList();
  // --- which columns play which part --------------------------------------------------
  // IDX files have no ids; a file without a header has none unless --columns names "id".
  const headerlessNoId = opts.idColumn === undefined && train.headerless === true && !train.columns.some((c) => c.name === 'id');
  if (headerlessNoId) opts.onNote?.(`${basename(train.path)} has no id column: rows numbered row-1, row-2, … (name one with --columns … and --id-column)`);
  const have = new Set(train.columns.map((c) => c.name));
  // ARFF (Weka) has no id attribute by convention and its class is the last attribute: without
  // --id-column / --label-column, rows are numbered and a nominal last attribute is the label (said in notes).
  const arffNoId = opts.idColumn === undefined && train.format === 'arff' && !have.has('id');
  if (arffNoId) opts.onNote?.(`${basename(train.path)} has no "id" attribute: rows numbered row-1, row-2, … (name one with --id-column)`);
  const lastAttr = train.columns[train.columns.length - 1]?.name;
  const arffLabel =
    opts.labelColumn === undefined && train.format === 'arff' && !have.has('label') && lastAttr !== undefined && train.declared[lastAttr]?.kind === 'categorical' ? lastAttr : undefined;
  if (arffLabel) opts.onNote?.(`${basename(train.path)}: the label is the last attribute, "${arffLabel}" (the ARFF convention; choose another with --label-column)`);
  const noIds = opts.idColumn === 'none' || (opts.idColumn === undefined && train.format === 'idx') || headerlessNoId || arffNoId;
  const idCol = noIds ? undefined : opts.idColumn ?? 'id';
  const labelCol = opts.labelColumn ?? arffLabel ?? 'label';
  const declaredGroups = train.declaredGroups?.filter((g) => have.has(g.name));
  const groupCols = opts.groupColumns ?? declaredGroups?.map((g) => g.name) ?? [];
  const taken = new Set([idCol, labelCol, ...groupCols].filter((x): x is string => !!x));
  for (const s of sources) {
    checkColumnsExist(s, [
      ...(idCol ? [{ option: opts.idColumn ? '--id-column' : 'the default id column; pass --id-column NAME, or --id-column none to number rows', names: [idCol] }] : []),
      { option: opts.labelColumn ? '--label-column' : 'the default label column; pass --label-column NAME', names: [labelCol] },
      { option: '--group-columns', names: groupCols },
      { option: '--feature-columns', names: opts.featureColumns ?? [] },
      { option: '--kind', names: Object.keys(opts.kinds ?? {}) },
    ]);
  }
  const featureCols = opts.featureColumns ?? train.columns.map((c) => c.name).filter((c) => !taken.has(c));
  // Features default to the train file's columns: the test file must have them too.
  if (test) checkColumnsExist(test, [{ option: `a column of ${basename(train.path)}`, names: featureCols }]);
  const clash = featureCols.filter((c) => taken.has(c));
  if (clash.length) throw new SieveError('a column cannot be a feature and the id, label or a group', { where: '--feature-columns', examples: clash });
  for (const c of [...featureCols, ...groupCols])
    if (c === 'id' || c === 'label')
      throw new SieveError(`column "${c}" would be a ${groupCols.includes(c) ? 'group' : 'feature'}, but "${c}" is reserved in pools`, {
        where: c,
        examples: [`pass --${c}-column ${c} if it holds the ${c}s, or leave it out with --feature-columns`],
      });
  if (featureCols.length === 0) throw new SieveError('no feature columns left after id, label and groups', { where: train.path });
  if (test) {
    for (const c of featureCols) {
      const a = typeOf(train, c);
      const b = typeOf(test, c);
      if (a !== b && !(NUMERIC_TYPE.test(a) && NUMERIC_TYPE.test(b)) && !(LIST_TYPE.test(a) && LIST_TYPE.test(b)))
        throw new SieveError(`column "${c}" is ${a} in the train file but ${b} in the test file`, { where: test.path });
    }
  }
  for (const s of sources) await checkNul(conn, problems, s, [...(idCol ? [idCol] : []), labelCol, ...groupCols]); // features: in textStats

  // --- ids ----------------------------------------------------------------------------
  const srcs: Source[] = sources.map((s, i) => ({
    staged: s,
    idExpr: idCol ? textExpr(s, idCol) : `'${i === 0 ? 'row' : 'test-row'}-' || (${q(s.table)}.rowid + 1)`,
  }));
  for (const { staged: s, idExpr } of srcs) {
    if (!idCol) continue;
    await checkJsonTypes(conn, problems, s, idCol, 'id');
    // Empty counts as missing in every format (Parquet and Arrow values are not cleaned).
    await check(conn, problems, s, `${idExpr} IS NULL OR trim(${idExpr}) = ''`, `missing ids in column "${idCol}"`, idCol);
    // Counting first (a plain hash aggregate); the rows of the first repeated ids only then.
    const repeated = (
      await conn.runAndReadAll(
        `SELECT k, count(*) OVER () FROM (SELECT ${idExpr} AS k, rowid FROM ${q(s.table)} WHERE trim(${idExpr}) <> '') ` +
          `GROUP BY k HAVING count(*) > 1 ORDER BY min(rowid) LIMIT ${MAX_EXAMPLES}`,
      )
    ).getRowsJS();
    const keys = `[${repeated.map(([k]) => sqlString(String(k))).join(', ')}]::VARCHAR[]`;
    const rows = repeated.length
      ? (
          await conn.runAndReadAll(
            `SELECT k, list(rowid + 1 ORDER BY rowid)[1:2], ${Number(repeated[0][1])} FROM (SELECT ${idExpr} AS k, rowid FROM ${q(s.table)} WHERE list_contains(${keys}, ${idExpr})) GROUP BY k ORDER BY min(rowid)`,
          )
        ).getRowsJS()
      : [];
    if (rows.length) {
      const total = Number(rows[0][2]);
      problems.add({
        message: `duplicate ids: ${total} id${total > 1 ? 's occur' : ' occurs'} more than once`,
        where: `${s.path}: ${idCol}`,
        count: total,
        examples: rows.map(([k, rs]) => `"${k}" at ${(rs as bigint[]).map((r) => s.describe(Number(r))).join(' and ')}`),
      });
    }
  }
  if (test) {
    const [a, b] = srcs;
    const shared = await conn.runAndReadAll(
      `SELECT x.k, x.r, y.r, count(*) OVER () FROM (SELECT ${a.idExpr} AS k, rowid + 1 AS r FROM ${q(a.staged.table)}) x ` +
        `JOIN (SELECT ${b.idExpr} AS k, rowid + 1 AS r FROM ${q(b.staged.table)}) y USING (k) ORDER BY x.r LIMIT ${MAX_EXAMPLES}`,
    );
    const rows = shared.getRowsJS();
    if (rows.length)
      problems.add({
        message: 'ids occur in both the train and the test file',
        where: `${test.path}: ${idCol}`,
        count: Number(rows[0][3]),
        examples: rows.map(([k, r1, r2]) => `"${k}" at ${train.describe(Number(r1))} of ${basename(train.path)} and ${test.describe(Number(r2))} of ${basename(test.path)}`),
      });
  }

  // --- labels and classes -------------------------------------------------------------
  const labelExprs = sources.map((s) => textExpr(s, labelCol));
  for (const [i, s] of sources.entries()) {
    await checkJsonTypes(conn, problems, s, labelCol, 'label');
    await check(conn, problems, s, `${labelExprs[i]} IS NULL OR trim(${labelExprs[i]}) = ''`, `missing labels in column "${labelCol}"`, labelCol);
  }
  let classes: string[];
  const given = opts.classes ?? train.declared[labelCol]?.categories ?? train.declaredClasses;
  if (given) {
    const origin = opts.classes ? '--classes' : 'the classes the file declares';
    const dup = given.filter((c, i) => given.indexOf(c) !== i);
    if (dup.length) throw new SieveError(`${origin} list a class twice`, { where: opts.classes ? '--classes' : train.path, examples: dup });
    classes = given;
    const list = `[${classes.map(sqlString).join(', ')}]::VARCHAR[]`;
    for (const [i, s] of sources.entries()) {
      const stray = await labelValues(conn, s, labelExprs[i], `NOT list_contains(${list}, l)`);
      if (stray.rows)
        problems.add({
          message: `labels not among ${origin} (${classes.join(', ')}) (${rowsOf(stray.rows, s)})`,
          where: `${s.path}: ${labelCol}`,
          count: stray.rows,
          examples: [...stray.examples, ...nearClasses(stray.values, classes, 'class', s.path)],
        });
    }
  } else {
    const union = sources.map((s, i) => `SELECT DISTINCT ${labelExprs[i]} AS l FROM ${q(s.table)} WHERE trim(${labelExprs[i]}) <> ''`).join(' UNION ');
    classes = sortLabels((await conn.runAndReadAll(union)).getRowsJS().map(([l]) => String(l)));
  }
  // A test class that never occurs in train (UCI adult.test writes ">50K." where adult.data
  // has ">50K") would make a pool whose models can never predict it: refused unless --classes
  // lists it, with a hint when it is a train class but for trailing punctuation or spaces.
  // (With --classes, every test label is a listed class or already refused above.)
  if (test && !opts.classes) {
    // Labels outside classes the file declares are refused above.
    const declared = given ? ` AND list_contains([${given.map(sqlString).join(', ')}]::VARCHAR[], l)` : '';
    const trainLabels = `SELECT DISTINCT ${labelExprs[0]} FROM ${q(train.table)} WHERE ${labelExprs[0]} IS NOT NULL`;
    const unseen = await labelValues(conn, test, labelExprs[1], `l NOT IN (${trainLabels})${declared}`);
    if (unseen.rows) {
      const trainClasses = sortLabels((await conn.runAndReadAll(trainLabels)).getRowsJS().map(([l]) => String(l)));
      const n = unseen.values.length;
      problems.add({
        message:
          `${n === 1 ? 'a test class never occurs' : `${n} test classes never occur`} in the train file ${basename(train.path)} (${rowsOf(unseen.rows, test)}); ` +
          `train has ${trainClasses.slice(0, MAX_EXAMPLES).map((c) => JSON.stringify(c)).join(', ')}${trainClasses.length > MAX_EXAMPLES ? ` and ${trainClasses.length - MAX_EXAMPLES} more` : ''}. If ${n === 1 ? 'it is' : 'they are'} meant, list every class with --classes`,
        where: `${test.path}: ${labelCol}`,
        count: unseen.rows,
        examples: [...unseen.examples, ...nearClasses(unseen.values, trainClasses, 'train class', test.path)],
      });
    }
  }
  if (classes.length < 2)
    problems.add({
      message: `a classification pool needs at least two classes; column "${labelCol}" has ${classes.length}`,
      where: `${train.path}: ${labelCol}`,
      examples: classes,
    });
  // Many classes of a row or two each: most likely a continuous value (a price, a count) given
  // as the label; the import goes on (it may be meant) but says so, as the audit cannot help.
  const labelNotes: string[] = [];
  if (classes.length >= 20) {
    const counted = sources.map((s, i) => `SELECT count(*) AS n FROM ${q(s.table)} WHERE trim(${labelExprs[i]}) <> ''`).join(' UNION ALL ');
    const rows = Number((await conn.runAndReadAll(`SELECT sum(n) FROM (${counted})`)).getRowsJS()[0][0]);
    if (rows / classes.length < 5) {
      labelNotes.push(
        `column "${labelCol}" has ${classes.length.toLocaleString('en-US')} classes for ${rows.toLocaleString('en-US')} labelled rows ` +
          `(${(rows / classes.length).toFixed(1)} rows per class): if it is a continuous value, bin it into classes first ` +
          '(sieve\'s pools are for classification; models, label errors and fairness need several rows per class)',
      );
    }
  }
  // Labels are text: "1" and "1.0" (or "01") are two classes. Said when they parse as one number.
  const byNumber = new Map<number, string[]>();
  for (const c of classes) if (NUMBER_RE.test(c)) byNumber.set(Number(c), [...(byNumber.get(Number(c)) ?? []), c]);
  const spellings = [...byNumber.values()].filter((v) => v.length > 1);
  if (spellings.length)
    labelNotes.push(
      `classes ${spellings.slice(0, MAX_EXAMPLES).map((v) => v.map((c) => JSON.stringify(c)).join(' and ')).join('; ')} are the same number written differently, and ${spellings.length === 1 ? 'they are' : 'each set is'} ` +
        'separate classes (labels are text): if they mean one class, write them the same way',
    );
  for (const g of groupCols) for (const s of sources) await checkJsonTypes(conn, problems, s, g, 'group');

  // --- features -----------------------------------------------------------------------
  const { kinds, stats, strays, commaNotes: decimalNotes } = await inferKinds(conn, opts, problems, sources, featureCols);
  const importNotes = [...labelNotes, ...decimalNotes, ...(await kindHints(conn, sources, kinds, opts.kinds ?? {}))];
  const plans: Plan[] = [];
  /** Numeric (or mostly numeric) columns refused for other values: their missing values are reported in the same run. */
  const refusedNumeric: string[] = [...strays];
  for (const col of featureCols) {
    if (!kinds[col]) continue; // its problem is already listed
    const plan = await planFeature(conn, opts, problems, sources, col, kinds[col], stats.get(col), clean);
    if (plan) plans.push(plan);
    else if (kinds[col] === 'numeric') refusedNumeric.push(col);
  }
  const numeric = plans.filter((p) => p.spec.kind === 'numeric');
  const policy = opts.missing ?? 'error';
  // Rows kept: with drop-row, those whose every numeric feature has a value and every text feature some text.
  const texts = plans.filter((p) => p.spec.kind === 'text');
  const keepCond =
    policy === 'drop-row' && numeric.length + texts.length
      ? [...numeric.map((p) => `${p.expr} IS NOT NULL`), ...texts.map((p) => `coalesce(trim(${p.expr}), '') <> ''`)].join(' AND ')
      : 'true';
  const missingCounts: Record<string, number> = {};
  // Refused numeric columns too, so that a column's stray values, inf/nan and missing values
  // are one report, not three runs (their counts only matter when missing values are errors).
  const missingChecks = [
    ...numeric.map((p) => ({ name: p.spec.name, expr: p.expr })),
    ...(policy === 'error' ? refusedNumeric.filter((c) => featureCols.includes(c)).map((c) => ({ name: c, expr: sq(c) })) : []),
  ];
  for (const p of missingChecks)
    for (const s of sources) {
      const st = stats.get(p.name);
      if (st && st.nonNull === st.rows) continue; // no missing value anywhere
      const n = await check(
        conn,
        policy === 'error' ? problems : new ProblemList(),
        s,
        `${p.expr} IS NULL`,
        // A typed column (Parquet, Arrow) is missing where it is NULL; a text one where it holds a marker.
        `missing values in numeric feature "${p.name}" (${NUMERIC_TYPE.test(typeOf(s, p.name)) ? 'NULL in the file' : `missing: ${clean.naValues.map((v) => JSON.stringify(v)).join(', ')}`}); pass --missing drop-row or --missing impute to accept them`,
        p.name,
      );
      missingCounts[p.name] = (missingCounts[p.name] ?? 0) + n;
    }
  if (policy === 'drop-row')
    for (const p of texts)
      for (const s of sources) {
        const n = Number(await scalar(conn, `SELECT count(*) FROM ${q(s.table)} WHERE coalesce(trim(${textExpr(s, p.spec.name)}), '') = ''`));
        missingCounts[p.spec.name] = (missingCounts[p.spec.name] ?? 0) + n;
      }
  // Columns with one value in every train row tell a model nothing: said, not refused.
  if (!problems.list.length) {
    const constant: string[] = plans.filter((p) => p.spec.kind === 'categorical' && (p.spec.categories?.length ?? 0) === 1).map((p) => p.spec.name);
    for (let at = 0; at < numeric.length; at += 500) {
      const batch = numeric.slice(at, at + 500);
      const row = (await conn.runAndReadAll(`SELECT ${batch.map((p) => `(min(${p.expr}) IS NOT DISTINCT FROM max(${p.expr}))`).join(', ')} FROM ${q(sources[0].table)}`)).getRowsJS()[0];
      batch.forEach((p, i) => { if (row[i] === true) constant.push(p.spec.name); });
    }
    if (constant.length) {
      const shown = constant.slice(0, 20).map((c) => `"${c}"`).join(', ');
      importNotes.push(`${constant.length === 1 ? 'column' : `${constant.length} columns`} ${shown}${constant.length > 20 ? ', …' : ''} ${constant.length === 1 ? 'has' : 'have'} the same value in every train row: ${constant.length === 1 ? 'it tells' : 'they tell'} a model nothing (leave ${constant.length === 1 ? 'it' : 'them'} out with --feature-columns)`);
    }
  }
  for (const note of importNotes) opts.onNote?.(note);
  problems.throwIfAny();

  // --- rows kept, test split ----------------------------------------------------------
  const groupExprs = groupCols.map((g) => ({ name: g, exprs: sources.map((s) => textExpr(s, g)) }));
  const dropped: number[] = [];
  for (const s of sources) dropped.push(keepCond === 'true' ? 0 : Number(await scalar(conn, `SELECT count(*) FILTER (WHERE NOT (${keepCond})) FROM ${q(s.table)}`)));
  for (const [i, s] of sources.entries())
    if (dropped[i] === s.rows) throw new SieveError(`--missing drop-row drops every row of ${basename(s.path)}`, { where: s.path });
  const droppedNote = dropped.some((d) => d > 0)
    ? `--missing drop-row dropped ${sources.map((s, i) => `${plural(dropped[i], 'row')} of ${basename(s.path)}`).join(' and ')} with missing numeric values or empty text (${Object.entries(missingCounts)
        .filter(([, n]) => n)
        .map(([c, n]) => `${c}: ${n}`)
        .join(', ')})`
    : undefined;
  if (droppedNote) opts.onNote?.(droppedNote);

  // part: 0 train, 1 test, -1 dropped; per staged row. A source read whole into one split
  // needs only keepCond (SQL, no per-row array in JavaScript: 18 million rows would hold two
  // 74 MB arrays); a split by --test-fraction is drawn in JavaScript and joined by position.
  const partTables: (string | undefined)[] = [];
  let splitNote = test ? `test split from ${basename(test.path)}` : 'no test split';
  for (const [i, s] of sources.entries()) {
    if (!(i === 0 && opts.testFraction !== undefined)) {
      partTables.push(undefined);
      continue;
    }
    const classList = `[${classes.map(sqlString).join(', ')}]::VARCHAR[]`;
    const r = await queryColumns(conn, `SELECT (CASE WHEN ${keepCond} THEN list_position(${classList}, ${labelExprs[i]}) - 1 ELSE -1 END)::INTEGER AS k FROM ${q(s.table)} ORDER BY rowid`);
    const seed = opts.seed ?? 0;
    const part = stratifiedParts(r.columns[0].values as Int32Array, classes, opts.testFraction, seed);
    splitNote = `test split: ${opts.testFraction} of each class held out at random (stratified, seed ${seed})`;
    const name = `${s.table}_part`;
    await appendTable(conn, name, { n: part.length, columns: [{ name: 'part', type: 'INTEGER', values: part }] });
    partTables.push(name);
  }
  const parts = (i: number) => (partTables[i] ? `${q(sources[i].table)} POSITIONAL JOIN ${q(partTables[i]!)}` : q(sources[i].table));
  /** SQL for the part of each row of parts(i). */
  const partOf = (i: number) => (partTables[i] ? 'part' : `(CASE WHEN ${keepCond} THEN ${i} ELSE -1 END)`);

  // --- imputation (train medians), output tables ---------------------------------------
  const imputed: Record<string, number> = {};
  if (policy === 'impute') {
    for (const p of numeric) {
      if (!missingCounts[p.spec.name]) continue;
      // median() of no values is NULL, and Number(null) would be a median of 0.
      const raw = await scalar(conn, `SELECT median(${p.expr}) FROM ${parts(0)} WHERE ${partOf(0)} = 0`);
      const median = raw === null || raw === undefined ? NaN : Number(raw);
      if (!Number.isFinite(median))
        throw new SieveError(`cannot impute "${p.spec.name}": it has no values in the train split`, { where: `${train.path}: ${p.spec.name}` });
      imputed[p.spec.name] = median;
    }
  }
  const valueExpr = (p: Plan) => (imputed[p.spec.name] !== undefined ? `coalesce(${p.expr}, ${imputed[p.spec.name]}::DOUBLE)` : p.expr);
  const imputeNote = Object.keys(imputed).length
    ? `--missing impute filled ${Object.entries(imputed)
        .map(([c, v]) => `${plural(missingCounts[c], 'missing value')} of "${c}" with the train median ${v}`)
        .join('; ')}`
    : undefined;
  if (imputeNote) opts.onNote?.(imputeNote);
  // A hidden test split drawn from the file by --test-fraction, with ids made from line numbers:
  // the train ids' gaps would name the test lines. Each split is numbered on its own instead.
  const renumber = !idCol && opts.hiddenTest === true && opts.testFraction !== undefined;
  const select = (i: number, part: number) => [
    renumber ? `'${part === 0 ? 'row' : 'test-row'}-' || row_number() OVER (ORDER BY ${q(sources[i].table)}.rowid) AS id` : `${srcs[i].idExpr} AS id`,
    `${labelExprs[i]} AS label`,
    ...plans.map((p) => `${valueExpr(p)} AS ${q(p.spec.name)}`),
    ...groupExprs.map((g) => `${g.exprs[i]} AS ${q(g.name)}`),
  ];
  // The pool's splits are views over the staged tables, not copies: the writer's checks and its
  // COPY to Parquet read them once each, and a copy would hold a second version of every row
  // (a 1 GB CSV: twice the memory DuckDB may use, so it spilled) or of every column (a
  // 5,000-column file: as long as reading it). Ids, labels and groups as staged, features cast.
  const makeView = async (name: string, i: number, part: number) => {
    await conn.run(`CREATE VIEW ${q(name)} AS SELECT ${select(i, part).join(', ')} FROM ${parts(i)} WHERE ${partOf(i)} = ${part}`);
    return name;
  };
  const trainTable = await makeView('pool_train', 0, 0);
  const testTable = test ? await makeView('pool_test', 1, 1) : opts.testFraction !== undefined ? await makeView('pool_test', 0, 1) : undefined;
  if (testTable && Number(await scalar(conn, `SELECT count(*) FROM ${q(testTable)}`)) === 0)
    throw new SieveError(`--test-fraction ${opts.testFraction} leaves the test split empty (${train.rows} rows)`, { where: '--test-fraction' });

  // A class declared (--classes) or seen only in the test file, with no train row: the model
  // never sees it (the audit says so later; said here, where it can still be fixed).
  const trainClasses = new Set((await conn.runAndReadAll(`SELECT DISTINCT label FROM ${q(trainTable)}`)).getRowsJS().map(([l]) => String(l)));
  const absent = classes.filter((c) => !trainClasses.has(c));
  if (absent.length) {
    const note = `${absent.length === 1 ? 'class' : 'classes'} ${absent.slice(0, MAX_EXAMPLES).map((c) => JSON.stringify(c)).join(', ')}${absent.length > MAX_EXAMPLES ? ', …' : ''} ${absent.length === 1 ? 'has' : 'have'} no train row: a model fitted on this pool never sees ${absent.length === 1 ? 'it' : 'them'}`;
    importNotes.push(note);
    opts.onNote?.(note);
  }
  const features = plans.map((p) => p.spec);
  const name = poolNameFor(opts);
  const inputs = [opts.input, opts.labels, opts.testFile, opts.testLabels].filter((x): x is string => !!x).map((p) => basename(p));
  const kindSummary = features.map((f) => `${f.name} (${f.kind})`).join(', ');
  const trainRows = Number(await scalar(conn, `SELECT count(*) FROM ${q(trainTable)}`));
  const testRows = testTable ? Number(await scalar(conn, `SELECT count(*) FROM ${q(testTable)}`)) : 0;
  const cleaning =
    `text values ${clean.keepWhitespace ? 'kept as written (--keep-whitespace)' : 'trimmed of surrounding whitespace'}; ` +
    `missing-value markers: ${clean.naValues.length ? clean.naValues.map((v) => JSON.stringify(v)).join(', ') : 'none'}`;
  const rowsNote = droppedNote ?? imputeNote ?? 'no row was dropped';
  const textNote = texts.length
    ? `; text columns ${texts.map((p) => `"${p.spec.name}"`).join(', ')} kept as UTF-8 strings (every row non-empty), turned by the pool reader into hashed TF-IDF features (${TEXT_FEATURISER}, IDF fitted on the train split)`
    : '';
  return writePoolFromTables(
    opts.out,
    {
      conn,
      manifest: {
        name,
        version: '1',
        description: opts.description ?? `Imported from ${inputs.join(', ')}`,
        source: opts.source ?? inputs.join(', '),
        licence: opts.licence ?? 'not stated (imported data; check the licence of the source)',
        citation: '',
        task: 'classification',
        id_column: 'id',
        label_column: 'label',
        classes,
        features,
        groups: groupCols.map((g) => declaredGroups?.find((d) => d.name === g) ?? { name: g }),
        datasheet: {
          motivation: `Imported with sieve pool import from ${inputs.join(', ')} (${train.format}).`,
          composition: `${trainRows} train rows${testTable ? `, ${testRows} test rows` : ''}; ${classes.length} classes; features: ${kindSummary}${groupCols.length ? `; groups: ${groupCols.join(', ')}` : ''}.`,
          collection: 'Not recorded: the importer only knows the file it was given.',
          preprocessing:
            `${[...train.notes, ...(test?.notes ?? [])].map((n) => n + '; ').join('')}${cleaning}; ` +
            `feature kinds ${opts.kinds ? 'partly set by --kind, otherwise ' : ''}inferred from column types and values${textNote}; ids ${idCol ? `from column "${idCol}"` : renumber ? 'numbered within each split (row-N, test-row-N), so that the train ids do not name the lines of the hidden test rows' : 'generated from row numbers'}; labels from column "${labelCol}"; ${splitNote}. Rows kept in file order; ${[droppedNote, imputeNote].filter(Boolean).join('; ') || rowsNote}.`,
          uses: 'Auditing and data-centric experiments with sieve.',
          known_issues: [...importNotes],
        },
      },
      tables: { train: trainTable, ...(testTable ? { test: testTable } : {}) },
      // An imported pool is the user's own data: its test split is theirs to read, unless it
      // is to score a challenge (--hidden-test).
      testVisibility: opts.hiddenTest ? 'evaluator' : 'participant',
    },
    { overwrite: opts.overwrite, progress: opts.progress, option: opts.option },
  );
}

/** Numeric-looking labels in numeric order, others alphabetically. */
function sortLabels(labels: string[]): string[] {
  const numeric = labels.every((l) => l.trim() !== '' && Number.isFinite(Number(l)));
  return numeric ? labels.sort((a, b) => Number(a) - Number(b)) : labels.sort();
}

/**
 * The pool's name from --name or the output folder's name: letters, digits, ".", "_" and "-"
 * (other characters become "-"), starting with a letter or digit. A changed name is said in a
 * note: the pool is found by it (`sieve pool list`, `--name`).
 */
export function poolNameFor(opts: Pick<ImportOptions, 'name' | 'out' | 'onNote'>): string {
  const given = opts.name ?? basename(resolve(opts.out));
  const n = given.replace(/[^a-zA-Z0-9._-]+/g, '-').replace(/^[^a-zA-Z0-9]+/, '') || 'imported';
  if (n !== given) opts.onNote?.(`pool named "${n}" (from ${opts.name !== undefined ? '--name' : 'the folder name'} "${given}": a pool name holds only letters, digits, ".", "_" and "-")`);
  return n;
}

/** Decides each feature column's kind from its DuckDB type and, for text, its values. */
async function inferKinds(
  conn: DuckDBConnection,
  opts: ImportOptions,
  problems: ProblemList,
  sources: Staged[],
  cols: string[],
): Promise<{ kinds: Record<string, FeatureKind>; stats: Map<string, TextStats>; strays: string[]; commaNotes: string[] }> {
  const out: Record<string, FeatureKind> = {};
  /** Mostly numeric columns refused for their stray values (their other problems are reported too). */
  const strays: string[] = [];
  const train = sources[0];
  const text: string[] = [];
  for (const c of cols) {
    const forced = opts.kinds?.[c] ?? train.declared[c]?.kind;
    const t = typeOf(train, c);
    if (forced) out[c] = forced;
    else if (NUMERIC_TYPE.test(t)) out[c] = 'numeric';
    // A yes/no column is two categories, not a number (and can then be a group column).
    else if (t === 'BOOLEAN') out[c] = 'categorical';
    else if (LIST_TYPE.test(t) || t === 'JSON') out[c] = 'embedding';
    else if (t === 'BLOB') out[c] = 'pixels';
    else if (t === 'VARCHAR') text.push(c);
    else
      problems.add({
        message: `column "${c}" has type ${t}, which sieve cannot use as a feature`,
        where: `${train.path}: ${c}`,
        examples: ['leave it out with --feature-columns, or convert it to numbers or text first'],
      });
  }
  const dec = opts.decimal === ',';
  const stats = await textStats(conn, sources, text, dec);
  // Typed numeric columns (Parquet, Arrow, ARFF): missing and non-finite counts, one packed query.
  const typed = cols.filter((c) => out[c] === 'numeric' && NUMERIC_TYPE.test(typeOf(train, c)));
  for (const [c, st] of await numericStats(conn, sources, typed)) stats.set(c, st);
  for (const c of text) {
    const st = stats.get(c)!;
    if (st.nul) for (const s of sources) await check(conn, problems, s, `contains(${sq(c)}, chr(0))`, `NUL characters in column "${c}"`, c);
    const other = st.nonNull - st.numbers - st.infNan;
    if (st.nonNull === 0) {
      problems.add({
        message: `column "${c}" has no values (every row is missing)`,
        where: `${train.path}: ${c}`,
        examples: ['leave it out with --feature-columns'],
      });
    } else if (st.numbers > 0 && other === 0) out[c] = 'numeric'; // inf/nan spellings are reported by planFeature
    else if (st.lists === st.nonNull) out[c] = 'embedding'; // "[0.1, 0.2, …]" in every row
    else if (st.numbers > 0 && st.numbers + st.infNan >= NUMERIC_SHARE * st.nonNull) {
      // Mostly numbers with a few other values ("n/a", "?", "0x10"): refuse rather than guess.
      await strayValues(conn, problems, sources, c, other, dec);
      // And the column's inf/nan spellings in the same run, not one kind of problem per run
      // (its missing values are counted with the other numeric features').
      if (st.infNan) for (const s of sources) await check(conn, problems, s, isInfNan(sq(c)), infNanMessage(c), c, sq(c), fmtValue);
      strays.push(c);
    } else if (st.approxDistinct <= MAX_CATEGORIES * 1.2 && st.maxLen <= MAX_CATEGORY_CHARS) out[c] = 'categorical'; // settled exactly in planFeature
    else out[c] = 'text';
  }
  for (const c of text) if (out[c] === undefined) delete out[c];
  // Categories of every categorical text column, a batch of columns per query.
  const cats = text.filter((c) => out[c] === 'categorical' && !train.declared[c]?.categories);
  for (let b = 0; b < cats.length; b += STATS_BATCH) {
    const batch = cats.slice(b, b + STATS_BATCH);
    const union = sources.map((s) => `SELECT ${batch.map(sq).join(', ')} FROM ${q(s.table)}`).join(' UNION ALL ');
    const row = (await conn.runAndReadAll(`SELECT ${batch.map((c) => `list(DISTINCT ${sq(c)}) FILTER (WHERE ${sq(c)} IS NOT NULL)`).join(', ')} FROM (${union})`)).getRowsJS()[0];
    batch.forEach((c, i) => {
      const values = (row[i] as string[] | null) ?? [];
      // approx_count_distinct let it through; the exact count decides.
      if (values.length > MAX_CATEGORIES && opts.kinds?.[c] !== 'categorical') out[c] = 'text';
      else stats.get(c)!.categories = sortLabels(values.map(String));
    });
  }
  return { kinds: out, stats, strays, commaNotes: await otherDecimalColumns(conn, sources, text.filter((c) => (out[c] === 'categorical' || out[c] === 'text') && !opts.kinds?.[c]), stats, dec) };
}

/** A number written with a decimal point, as a regular expression for DuckDB and JavaScript. */
const POINT_NUMBER = '[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?';

/**
 * Text columns every value of which is a number written with the other decimal separator
 * ("1,5" without --decimal , or "1.5" with it), some with that separator: they were read as
 * categories or text, which is seldom what was meant (tryout F11); a note for each says so.
 */
async function otherDecimalColumns(conn: DuckDBConnection, sources: Staged[], cols: string[], stats: Map<string, TextStats>, dec: boolean): Promise<string[]> {
  const pattern = dec ? POINT_NUMBER : COMMA_NUMBER;
  const sep = dec ? '.' : ',';
  const re = new RegExp(`^${pattern}$`);
  const found: { c: string; example: string }[] = [];
  const text: string[] = [];
  for (const c of cols) {
    const cats = stats.get(c)?.categories;
    if (!cats) text.push(c);
    else if (cats.every((v) => re.test(v)) && cats.some((v) => v.includes(sep))) found.push({ c, example: cats.find((v) => v.includes(sep))! });
  }
  for (let b = 0; b < text.length; b += STATS_BATCH) {
    const batch = text.slice(b, b + STATS_BATCH);
    const union = sources.map((s) => `SELECT ${batch.map(sq).join(', ')} FROM ${q(s.table)}`).join(' UNION ALL ');
    const aggs = batch.map((c) => `count(${sq(c)}), count(*) FILTER (WHERE regexp_full_match(${sq(c)}, '${pattern}')), min(${sq(c)}) FILTER (WHERE contains(${sq(c)}, '${sep}'))`);
    const row = (await conn.runAndReadAll(`SELECT ${aggs.join(', ')} FROM (${union})`)).getRowsJS()[0];
    batch.forEach((c, i) => {
      const [n, matching, example] = row.slice(i * 3, i * 3 + 3);
      if (Number(n) > 0 && Number(matching) === Number(n) && example !== null) found.push({ c, example: String(example) });
    });
  }
  return found.map(
    ({ c, example }) =>
      `column "${c}" holds numbers written with decimal ${dec ? 'points' : 'commas'} (${JSON.stringify(example)}) and was read as ${stats.get(c)?.categories ? 'categories' : 'text'}; ` +
      (dec ? 'with --decimal , only "1,5" is a number' : 'pass --decimal , to read them as numbers'),
  );
}

/** A date or date-time as written in ISO 8601 (2015-03-01, 2015-03-01T10:20:30Z) or as day/month/year. */
const DATE_PATTERN = '([0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?|[0-9]{1,2}[/.][0-9]{1,2}[/.][0-9]{4})';
/** At most this many distinct whole numbers in a numeric column: perhaps the codes of categories. */
const CODE_MAX_VALUES = 12;
/** …each held by this many rows on average: a few rows of small integers are just a few rows. */
const CODE_MIN_ROWS_PER_VALUE = 10;

/**
 * Notes on kinds the data suggest but the rules did not pick (every one overridable with
 * --kind): text or categorical columns whose every value is a date (hashed as words, a date
 * says nothing of its order: a tryout's harvest_date became 2,048 TF-IDF columns), and numeric
 * columns of a few whole numbers, which may be the codes of categories (region_code 1–5).
 */
async function kindHints(conn: DuckDBConnection, sources: Staged[], kinds: Record<string, FeatureKind>, declared: Record<string, FeatureKind>): Promise<string[]> {
  const notes: string[] = [];
  // Kinds the user or the format declared (an ARFF attribute's type) are not second-guessed.
  const cols = Object.keys(kinds).filter((c) => !declared[c] && !sources.some((s) => s.declared[c]?.kind) && (kinds[c] === 'text' || kinds[c] === 'categorical' || kinds[c] === 'numeric'));
  for (let b = 0; b < cols.length; b += STATS_BATCH) {
    const batch = cols.slice(b, b + STATS_BATCH);
    const union = sources.map((s) => `SELECT ${batch.map((c) => `${sq(c)}::VARCHAR AS ${sq(c)}`).join(', ')} FROM ${q(s.table)}`).join(' UNION ALL ');
    const aggs = batch.map((c) => kinds[c] === 'numeric'
      ? `count(${sq(c)}), count(DISTINCT ${sq(c)}), count(*) FILTER (WHERE regexp_full_match(${sq(c)}, '[+-]?[0-9]+([.]0*)?')), min(TRY_CAST(${sq(c)} AS DOUBLE)), max(TRY_CAST(${sq(c)} AS DOUBLE))`
      : `count(${sq(c)}), count(*) FILTER (WHERE regexp_full_match(${sq(c)}, '${DATE_PATTERN}')), min(${sq(c)}), NULL, NULL`);
    const row = (await conn.runAndReadAll(`SELECT ${aggs.join(', ')} FROM (${union})`)).getRowsJS()[0];
    batch.forEach((c, i) => {
      const [n, a, x, lo, hi] = row.slice(i * 5, i * 5 + 5).map((v) => (v === null ? null : typeof v === 'bigint' ? Number(v) : v));
      if (!n) return;
      if (kinds[c] !== 'numeric') {
        if (a === n) notes.push(`column "${c}" holds dates (${JSON.stringify(String(x))} …) and was read as ${kinds[c] === 'text' ? 'text (hashed TF-IDF of the date\'s characters)' : 'categories'}, which knows nothing of their order; convert it to a number (days since a date, a year) first, or leave it out with --feature-columns`);
      } else if (x === n && (a as number) >= 3 && (a as number) <= CODE_MAX_VALUES && (n as number) >= CODE_MIN_ROWS_PER_VALUE * (a as number)) {
        notes.push(`column "${c}" holds only ${a} distinct whole numbers (${lo}–${hi}) and was read as numeric; if they are the codes of categories, pass --kind ${c}=categorical`);
      }
    });
  }
  return notes;
}

const infNanMessage = (col: string) => `NaN or infinite values in numeric feature "${col}"`;


/** The non-numbers of a mostly numeric column, distinct, each with where it first occurs. */
async function strayValues(conn: DuckDBConnection, problems: ProblemList, sources: Staged[], c: string, count: number, dec: boolean): Promise<void> {
  const x = sq(c);
  const cond = `${x} IS NOT NULL AND NOT ${isNumber(x, dec)} AND NOT coalesce(${isInfNan(x)}, false)`;
  const examples: string[] = [];
  for (const s of sources) {
    if (examples.length >= MAX_EXAMPLES) break;
    const res = await conn.runAndReadAll(
      `SELECT v, min(r), count(*) FROM (SELECT ${x} AS v, rowid + 1 AS r FROM ${q(s.table)} WHERE ${cond}) GROUP BY v ORDER BY min(r) LIMIT ${MAX_EXAMPLES - examples.length}`,
    );
    for (const [v, r, n] of res.getRowsJS()) examples.push(`${s.describe(Number(r))}: ${JSON.stringify(v)}${Number(n) > 1 ? ` (${n} rows)` : ''}`);
  }
  problems.add({
    message:
      `column "${c}" is numeric except for ${plural(count, 'value')} that ${count === 1 ? 'is not a number' : 'are not numbers'}${dec ? ' written with a decimal comma (--decimal ,)' : ''}; ` +
      `if they mean "missing", add them with --na-values, or keep the column as text with --kind ${c}=categorical`,
    where: `${sources[0].path}: ${c}`,
    count,
    examples,
  });
}

/** Checks a feature column's values in every source and says how to read it out (undefined: problems listed). */
async function planFeature(
  conn: DuckDBConnection,
  opts: ImportOptions,
  problems: ProblemList,
  sources: Staged[],
  col: string,
  kind: FeatureKind,
  st: TextStats | undefined,
  clean: CleanOptions,
): Promise<Plan | undefined> {
  const x = sq(col);
  const train = sources[0];
  const declared = train.declared[col] ?? {};
  const t = typeOf(train, col);
  const before = problems.list.length;
  // A JSON key holding numbers on some lines and a list on another is neither a numeric column
  // nor an embedding: said as such, with the first line of each type (text has its own check).
  if (t === 'JSON' && kind !== 'text') {
    for (const s of sources) await checkJsonTypes(conn, problems, s, col, 'feature');
    if (problems.list.length > before) return undefined;
  }
  switch (kind) {
    case 'numeric': {
      if (!(NUMERIC_TYPE.test(t) || t === 'VARCHAR')) {
        problems.add({ message: `column "${col}" (${t}) cannot be numeric`, where: `${train.path}: ${col}`, examples: [] });
        return undefined;
      }
      if (t === 'VARCHAR') {
        const infNan = isInfNan(x);
        for (const s of sources) {
          if (!st || st.infNan) await check(conn, problems, s, infNan, infNanMessage(col), col, x, fmtValue);
          if (opts.kinds?.[col] === 'numeric' && (!st || st.nonNull > st.numbers + st.infNan))
            await check(conn, problems, s, `${x} IS NOT NULL AND NOT ${isNumber(x, opts.decimal === ',')} AND NOT coalesce(${infNan}, false)`, `values that are not numbers in numeric feature "${col}" (--kind ${col}=numeric)`, col, x, fmtValue);
        }
        return problems.list.length > before ? undefined : { spec: { name: col, kind: 'numeric' }, expr: numericCast(x, opts.decimal === ',') };
      }
      if (FLOAT_TYPE.test(t) && (!st || st.infNan))
        for (const s of sources)
          await check(conn, problems, s, `isnan(${x}) OR isinf(${x})`, infNanMessage(col), col, `CAST(${x} AS VARCHAR)`, fmtValue);
      return problems.list.length > before ? undefined : { spec: { name: col, kind: 'numeric' }, expr: `CAST(${x} AS DOUBLE)` };
    }
    case 'categorical': {
      const exprs = sources.map((s) => textExpr(s, col));
      let categories = declared.categories ?? st?.categories;
      if (declared.categories) {
        const list = `[${declared.categories.map(sqlString).join(', ')}]::VARCHAR[]`;
        for (const [i, s] of sources.entries())
          await check(conn, problems, s, `${exprs[i]} IS NOT NULL AND NOT list_contains(${list}, ${exprs[i]})`, `values of "${col}" outside its declared categories`, col, exprs[i], fmtValue);
      } else if (!categories) {
        const union = sources.map((s, i) => `SELECT DISTINCT ${exprs[i]} AS v FROM ${q(s.table)} WHERE ${exprs[i]} IS NOT NULL`).join(' UNION ');
        const distinct = (await conn.runAndReadAll(`SELECT v FROM (${union})${opts.kinds?.[col] === 'categorical' ? '' : ` LIMIT ${MAX_CATEGORIES + 1}`}`)).getRowsJS();
        // approx_count_distinct let it through; the exact count decides.
        if (distinct.length > MAX_CATEGORIES && opts.kinds?.[col] !== 'categorical') return { spec: { name: col, kind: 'text' }, expr: exprs[0] };
        categories = sortLabels(distinct.map(([v]) => String(v)));
      }
      return problems.list.length > before ? undefined : { spec: { name: col, kind: 'categorical', categories }, expr: exprs[0] };
    }
    case 'text': {
      // Text is words: typed columns (numbers, lists, binary) are not silently printed as strings.
      if (t !== 'VARCHAR' && t !== 'JSON') {
        problems.add({ message: `column "${col}" (${t}) cannot be text: it needs strings`, where: `${train.path}: ${col}`, examples: [`leave it out with --feature-columns, or drop --kind ${col}=text`] });
        return undefined;
      }
      for (const s of sources) {
        await checkTextJsonTypes(conn, problems, s, col);
        const e = textExpr(s, col);
        if (!st || st.nul) await check(conn, problems, s, `contains(${e}, chr(0))`, `NUL characters in text column "${col}"`, col);
        if (opts.missing !== 'drop-row')
          await check(
            conn, problems, s, `${e} IS NULL OR trim(${e}) = ''`,
            `missing or empty text in column "${col}" (missing: ${clean.naValues.map((v) => JSON.stringify(v)).join(', ')}); pass --missing drop-row to drop these rows`,
            col,
          );
      }
      return problems.list.length > before ? undefined : { spec: { name: col, kind: 'text' }, expr: textExpr(train, col) };
    }
    case 'embedding': {
      if (!LIST_TYPE.test(t) && t !== 'VARCHAR' && t !== 'JSON') {
        problems.add({ message: `column "${col}" (${t}) cannot be an embedding: it needs lists of numbers`, where: `${train.path}: ${col}`, examples: [] });
        return undefined;
      }
      // Text columns may hold lists written as "[0.1, 0.2, …]" (CSV has no list type).
      const list = LIST_TYPE.test(t) ? `CAST(${x} AS DOUBLE[])` : `TRY_CAST(${x} AS DOUBLE[])`;
      const dim = Number(await scalar(conn, `SELECT len(${list}) FROM ${q(train.table)} WHERE ${list} IS NOT NULL ORDER BY rowid LIMIT 1`));
      for (const s of sources) {
        const bad = await check(conn, problems, s, `${list} IS NULL`, `missing or unreadable embeddings in "${col}"`, col, `CAST(${x} AS VARCHAR)`, fmtValue);
        await check(conn, problems, s, `len(${list}) <> ${dim}`, `ragged embedding "${col}": the first row has ${dim} values`, col, `len(${list})`, (v) => `${v} values`);
        if (!bad)
          await check(
            conn,
            problems,
            s,
            `coalesce(list_bool_or(list_transform(${list}, lambda v: v IS NULL OR isnan(v) OR isinf(v))), false)`,
            `NaN, infinite or missing values in embedding "${col}"`,
            col,
          );
        // Embeddings are stored as FLOAT: a finite DOUBLE beyond ±3.4e38 would not cast.
        if (!bad)
          await check(
            conn,
            problems,
            s,
            `coalesce(list_bool_or(list_transform(${list}, lambda v: abs(v) > 3.4028234663852886e38)), false)`,
            `values of embedding "${col}" beyond the 32-bit float range (±3.4e38)`,
            col,
          );
      }
      if (!(dim > 0)) {
        if (problems.list.length === before) problems.add({ message: `embedding "${col}" has zero dimensions`, where: `${train.path}: ${col}`, examples: [] });
        return undefined;
      }
      return problems.list.length > before ? undefined : { spec: { name: col, kind: 'embedding', dim }, expr: `CAST(${list} AS FLOAT[${dim}])` };
    }
    case 'pixels': {
      if (t !== 'BLOB') {
        problems.add({ message: `column "${col}" (${t}) cannot be pixels: it needs binary image bytes`, where: `${train.path}: ${col}`, examples: [] });
        return undefined;
      }
      const geometry =
        declared.width && declared.height
          ? { width: declared.width, height: declared.height, channels: declared.channels ?? 1 }
          : opts.imageSize;
      if (!geometry) {
        problems.add({ message: `binary column "${col}" needs an image size`, where: `${train.path}: ${col}`, examples: ['pass --image-size 28x28 (or WxHxC)'] });
        return undefined;
      }
      const w = geometry.width * geometry.height * geometry.channels;
      for (const s of sources)
        await check(conn, problems, s, `${x} IS NULL OR octet_length(${x}) <> ${w}`, `pixels "${col}" are not ${w} bytes (${geometry.width}×${geometry.height}×${geometry.channels})`, col, `octet_length(${x})`, (v) => `${v ?? 'no'} bytes`);
      return problems.list.length > before ? undefined : { spec: { name: col, kind: 'pixels', ...geometry }, expr: x };
    }
  }
}

/**
 * Holds out round(fraction × count) rows of each class (at least one row stays in train),
 * chosen by a seeded shuffle per class; both parts keep file order. `labelIdx[i]` is row i's
 * class index, or -1 for a dropped row. Returns per row 0 (train), 1 (test) or -1 (dropped).
 */
export function stratifiedParts(labelIdx: Int32Array, classes: string[], fraction: number, seed: number): Int32Array {
  const n = labelIdx.length;
  const part = new Int32Array(n);
  const counts = new Int32Array(classes.length);
  for (let i = 0; i < n; i++) {
    if (labelIdx[i] < 0) part[i] = -1;
    else counts[labelIdx[i]]++;
  }
  const members = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(classes.length);
  for (let i = 0; i < n; i++) if (labelIdx[i] >= 0) members[labelIdx[i]][fill[labelIdx[i]]++] = i;
  for (const [k, cls] of classes.entries()) {
    const rows = members[k];
    const take = Math.min(Math.round(fraction * rows.length), Math.max(0, rows.length - 1));
    const rng = createRng(deriveSeed(seed, 'import-test-split', cls));
    rng.shuffle(rows);
    for (let j = 0; j < take; j++) part[rows[j]] = 1;
  }
  return part;
}
