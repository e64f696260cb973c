/**
 * Staging: each input format is loaded into a DuckDB table in source order (so `rowid + 1`
 * is the 1-based record number), with a function that turns a record number back into
 * where it is in the file ("line 7", "row 3", "item 12") for error messages.
 *
 * Text values are cleaned as they are staged (surrounding whitespace trimmed unless asked
 * not to, missing-value markers such as "NA" or "?" turned into NULL), so every later check
 * runs in SQL over one table. CSV and JSON Lines are streamed: DuckDB reads them itself and
 * the byte scan before it keeps only a line map, so memory does not grow with the file.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, readlink, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { trackTemp } from '../../util/temps.ts';
import type { DuckDBConnection } from '@duckdb/node-api';
import { Type } from 'apache-arrow';
import { SieveError } from '../../util/errors.ts';
import type { Progress } from '../../util/progress.ts';
import { appendTable, quoteIdent, sqlString, type ColumnData, type TableData } from '../duckdb.ts';
import type { FeatureSpec, GroupSpec } from '../manifest.ts';
import { openArrowBatches } from '../arrow.ts';
import { MAX_IDX_BYTES, parseIdx } from '../formats/idx.ts';
import { ArffReader, type ArffRow } from '../formats/arff.ts';
import { LineMap, MAX_EXAMPLES, readHead, readTextLines, scanCsv, scanJsonl, assertNotUtf16, type CsvScan } from './text-scan.ts';
import { ProblemList } from './problems.ts';
import { SNIFF_BYTES, sniffCsv, sniffFormat, type ImportFormat } from './sniff.ts';

import { IMPORT_FORMATS } from '../choices.ts';
export type { ImportFormat } from './sniff.ts';
export { IMPORT_FORMATS, DEFAULT_NA_VALUES } from '../choices.ts';

/** How text values are cleaned while staging. */
export interface CleanOptions {
  /** Keep surrounding whitespace (default: trim it). */
  keepWhitespace?: boolean;
  /** Values that mean "missing" (compared after trimming). */
  naValues: string[];
}

/** CSV/TSV reading options (all optional: sniffed or defaulted). */
export interface CsvOptions {
  delimiter?: string;
  /** Whether line 1 is a header; undefined: yes for .csv/.tsv, sniffed otherwise. */
  header?: boolean;
  /** Column names for a file without a header (or to rename a header's columns). */
  columns?: string[];
  /** The format was sniffed, not named by the extension or --format. */
  sniffed?: boolean;
  /** Lines at the top of the file to skip before the header or data (a title or comment). */
  skipLines?: number;
  /** The option that set skipLines, for messages (--skip-lines, or --test-skip-lines for a test file). */
  skipOption?: string;
}

/** A staged input: a DuckDB table plus what the format itself says about its columns. */
export interface Staged {
  table: string;
  path: string;
  format: ImportFormat;
  rows: number;
  /** Column names and DuckDB types, in file order. */
  columns: { name: string; type: string }[];
  /** Where record `r` (1-based) is in the source file. */
  describe(r: number): string;
  /** Feature facts the format declares (ARFF nominal values, IDX image geometry, Arrow metadata). */
  declared: Record<string, Partial<FeatureSpec>>;
  /** Class order and group columns recorded by `sieve pool export` (Arrow/Parquet metadata). */
  declaredClasses?: string[];
  declaredGroups?: GroupSpec[];
  /** JSON Lines: per column, the JSON types of its values (count and first record of each). */
  jsonTypes?: Record<string, Record<string, { count: number; first: number }>>;
  /** Things the user should know about how the file was read (sniffed delimiter, made-up names). */
  notes: string[];
  /** CSV read without a header line: it cannot have named an id column. */
  headerless?: boolean;
}

/**
 * A column named `rowid` (in any case) would hide DuckDB's row number, which every check uses
 * to name source lines; such a column is staged under another name and keeps its own name in
 * the pool. Every staged-table reference to a column goes through `stagedName`.
 */
export function stagedName(name: string): string {
  return /^rowid$/i.test(name) ? `${name} (column)` : name;
}

/**
 * Column names every format must meet before any SQL names them: not empty, no NUL, and
 * distinct ignoring case (DuckDB compares identifiers without case, so "Age" and "age" are one
 * column to it). Every offending name is listed.
 */
export function checkColumnNames(names: string[], where: string): void {
  const problems: string[] = [];
  names.forEach((n, i) => {
    if (n.trim() === '') problems.push(`column ${i + 1} has an empty name`);
    else if (n.includes('\0')) problems.push(`column ${i + 1} ${JSON.stringify(n)} has a NUL character in its name`);
  });
  const seen = new Map<string, number>();
  const twice = new Map<string, Set<string>>();
  names.forEach((n, i) => {
    const key = stagedName(n).toLowerCase();
    const first = seen.get(key);
    if (first === undefined) seen.set(key, i);
    else twice.set(key, (twice.get(key) ?? new Set([names[first]])).add(n));
  });
  for (const spellings of twice.values()) {
    const list = [...spellings];
    const where = names.flatMap((n, i) => (spellings.has(n) ? [i + 1] : [])).join(', ');
    problems.push(
      list.length === 1
        ? `column name ${JSON.stringify(list[0])} occurs more than once (columns ${where})`
        : `column names ${list.map((x) => JSON.stringify(x)).join(' and ')} are one name to DuckDB, which ignores case (columns ${where})`,
    );
  }
  if (problems.length)
    throw new SieveError(`${problems.length === 1 ? 'a column name is' : `${problems.length} column names are`} unusable: each column needs a distinct, non-empty name`, {
      where,
      count: problems.length,
      examples: problems.slice(0, 20),
    });
}

/** Guesses the format from the file name, or from its first bytes when the name does not say. */
export async function detectFormat(path: string): Promise<{ format: ImportFormat; sniffed: boolean }> {
  const byName = formatFromName(path);
  if (byName) return { format: byName, sniffed: false };
  await checkInputFile(path);
  const head = await readHead(path, SNIFF_BYTES);
  assertNotUtf16(head, path);
  const format = sniffFormat(head);
  if (!format)
    throw new SieveError(`cannot tell the format of "${basename(path)}" from its name or its first bytes`, {
      where: path,
      examples: [`pass --format ${IMPORT_FORMATS.join('|')}`],
    });
  return { format, sniffed: true };
}

export function formatFromName(path: string): ImportFormat | undefined {
  const name = basename(path).toLowerCase().replace(/\.gz$/, '');
  const ext = extname(name);
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  if (ext === '.arrow' || ext === '.feather' || ext === '.ipc') return 'arrow';
  if (ext === '.arff') return 'arff';
  if (ext === '.idx' || /-ubyte$/.test(name) || /idx\d/.test(name)) return 'idx';
  return undefined;
}

/**
 * Only regular files are read: a device (/dev/zero), FIFO or socket has no end or no size,
 * so it is refused before anything reads from it. Returns the size in bytes.
 */
export async function checkInputFile(path: string): Promise<number> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A link whose target is gone is there to see (ls lists it): say where it points.
    const target = code === 'ENOENT' ? await readlink(path).catch(() => null) : null;
    if (target !== null) throw new SieveError(`the path is a symbolic link to "${target}", which does not exist`, { where: path });
    throw new SieveError(code === 'ENOENT' ? 'file not found' : `cannot read file (${code})`, { where: path });
  }
  if (st.isDirectory()) throw new SieveError('is a directory, not a file', { where: path });
  if (!st.isFile())
    throw new SieveError('not a regular file (a device, FIFO or socket): sieve imports only files it can read to the end', {
      where: path,
      examples: ['save the data to a file first'],
    });
  if (st.size === 0) throw new SieveError('file is empty (0 bytes)', { where: path });
  return st.size;
}

async function readBytes(path: string): Promise<Uint8Array> {
  await checkInputFile(path);
  try {
    return await readFile(path);
  } catch (err) {
    throw new SieveError(`cannot read file (${(err as NodeJS.ErrnoException).code})`, { where: path });
  }
}

/** The staged table's columns under the names the file gave them (see `stagedName`). */
async function describeTable(conn: DuckDBConnection, table: string): Promise<{ name: string; type: string }[]> {
  const r = await conn.runAndReadAll(`SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ${sqlString(table)} ORDER BY column_index`);
  return r.getRows().map(([name, type]) => ({ name: unstagedName(String(name)), type: String(type) }));
}

function unstagedName(staged: string): string {
  const m = /^(rowid) \(column\)$/i.exec(staged);
  return m ? m[1] : staged;
}

async function describeQuery(conn: DuckDBConnection, sql: string): Promise<{ name: string; type: string }[]> {
  const r = await conn.runAndReadAll(`DESCRIBE ${sql}`);
  return r.getRows().map(([name, type]) => ({ name: String(name), type: String(type) }));
}

async function countRows(conn: DuckDBConnection, table: string): Promise<number> {
  const r = await conn.runAndReadAll(`SELECT count(*)::BIGINT FROM ${quoteIdent(table)}`);
  return Number(r.getRows()[0][0]);
}

/** Wraps a DuckDB reader error (malformed or truncated file) in a SieveError for `path`. */
function readerError(err: unknown, path: string, what: string): SieveError {
  if (err instanceof SieveError) return err;
  const msg = String((err as Error).message ?? err)
    .split('\n')
    .filter((l) => l.trim() && !/^\s*(LINE \d+:|\^|Possible (fix|Solution)|\* )/.test(l))
    .slice(0, 4)
    .join(' ');
  return new SieveError(`cannot read ${what}: ${msg}`, { where: path });
}

/**
 * Typed formats (Parquet, Arrow) mark missing values themselves and keep whitespace on
 * purpose; ARFF has its own `?`; IDX has no text. Only CSV, TSV and JSON Lines are cleaned.
 */
const VERBATIM: CleanOptions = { keepWhitespace: true, naValues: [] };

/** SQL turning a raw text value into a cleaned one (trimmed, missing markers to NULL). */
export function cleanExpr(x: string, clean: CleanOptions): string {
  // trim() without a character list: the same result for spaces, three times faster.
  const t = clean.keepWhitespace ? x : `trim(${x})`;
  if (!clean.naValues.length) return t;
  // list_contains, not IN: DuckDB's IN over many columns at once is far slower.
  return `CASE WHEN list_contains([${clean.naValues.map(sqlString).join(', ')}], ${t}) THEN NULL ELSE ${t} END`;
}

/**
 * Expressions per CREATE TABLE: DuckDB plans a projection in time that grows faster than its
 * width, so a 5,000-column file is built as tables of this many columns joined by position.
 */
const COLUMNS_PER_STATEMENT = 64;

/**
 * CREATE TABLE `table` AS SELECT `exprs` FROM `source` [WHERE `where`], in row order. Wide
 * selections are split into narrow tables over the same rows, then joined by position.
 */
export async function createTableAs(conn: DuckDBConnection, table: string, exprs: string[], source: string, where?: string): Promise<void> {
  const filter = where ? ` WHERE ${where}` : '';
  if (exprs.length <= COLUMNS_PER_STATEMENT) {
    await conn.run(`CREATE TABLE ${quoteIdent(table)} AS SELECT ${exprs.join(', ')} FROM ${source}${filter}`);
    return;
  }
  const parts: string[] = [];
  for (let b = 0; b < exprs.length; b += COLUMNS_PER_STATEMENT) {
    const part = `${table}__${parts.length}`;
    await conn.run(`CREATE TABLE ${quoteIdent(part)} AS SELECT ${exprs.slice(b, b + COLUMNS_PER_STATEMENT).join(', ')} FROM ${source}${filter}`);
    parts.push(part);
  }
  await conn.run(`CREATE TABLE ${quoteIdent(table)} AS SELECT * FROM ${parts.map(quoteIdent).join(' POSITIONAL JOIN ')}`);
  for (const part of parts) await conn.run(`DROP TABLE ${quoteIdent(part)}`);
}

/**
 * CREATE TABLE `table` from `source` (a table function or subquery), cleaning its VARCHAR
 * columns. Each column is `name` in the table, read from the source's column `from` (default
 * `name`) or computed by `expr`.
 */
async function materialize(
  conn: DuckDBConnection,
  table: string,
  source: string,
  columns: { name: string; type: string; from?: string; expr?: string }[],
  clean: CleanOptions,
): Promise<void> {
  const select = (c: (typeof columns)[number], x: string) => `${c.type === 'VARCHAR' ? cleanExpr(x, clean) : x} AS ${quoteIdent(c.name)}`;
  if (columns.length <= COLUMNS_PER_STATEMENT || columns.some((c) => c.expr)) {
    await createTableAs(conn, table, columns.map((c) => select(c, c.expr ?? quoteIdent(c.from ?? c.name))), source);
    return;
  }
  // A wide file: read once into a plain table, which becomes the staged table itself. Only the
  // columns that cleaning changes are rewritten, in place and a slice at a time: each cleaning
  // expression costs DuckDB ~1 ms to plan (5,000 of them in one statement take minutes), and
  // every copy of a wide table costs as much as reading the file (~0.5 ms per column).
  const raw = `${table}__raw`;
  await conn.run(`CREATE TABLE ${quoteIdent(raw)} AS SELECT * FROM ${source}`);
  const have = (await conn.runAndReadAll(`SELECT column_name FROM duckdb_columns() WHERE table_name = ${sqlString(raw)} ORDER BY column_index`)).getRows().map(([n]) => String(n));
  if (have.length !== columns.length || columns.some((c, i) => have[i] !== (c.from ?? c.name))) {
    // Not the source's columns as they come: the general path (never taken by today's callers).
    await createTableAs(conn, table, columns.map((c) => select(c, quoteIdent(c.from ?? c.name))), quoteIdent(raw));
    await conn.run(`DROP TABLE ${quoteIdent(raw)}`);
    return;
  }
  const text = columns.filter((c) => c.type === 'VARCHAR').map((c) => c.from ?? c.name);
  const changed = await columnsCleaningChanges(conn, raw, text, clean);
  for (let b = 0; b < changed.length; b += COLUMNS_PER_STATEMENT) {
    const slice = changed.slice(b, b + COLUMNS_PER_STATEMENT);
    await conn.run(`UPDATE ${quoteIdent(raw)} SET ${slice.map((c) => `${quoteIdent(c)} = ${cleanExpr(quoteIdent(c), clean)}`).join(', ')}`);
  }
  for (const c of columns) if (c.from !== undefined && c.from !== c.name) await conn.run(`ALTER TABLE ${quoteIdent(raw)} RENAME COLUMN ${quoteIdent(c.from)} TO ${quoteIdent(c.name)}`);
  await conn.run(`ALTER TABLE ${quoteIdent(raw)} RENAME TO ${quoteIdent(table)}`);
}

/**
 * The VARCHAR columns of `table` holding a value that cleaning changes (surrounding whitespace
 * to trim, or a missing-value marker), in their order: one query of constant size, the
 * columns packed into one list per row and unnested with their position.
 */
async function columnsCleaningChanges(conn: DuckDBConnection, table: string, cols: string[], clean: CleanOptions): Promise<string[]> {
  if (!cols.length) return [];
  // Cleaning changes x when trimming does, or when x (then as trimmed) is a marker. IN, not
  // list_contains: one expression here, which DuckDB evaluates faster.
  const conds = [...(clean.keepWhitespace ? [] : ['trim(x) <> x']), ...(clean.naValues.length ? [`x IN (${clean.naValues.map(sqlString).join(', ')})`] : [])];
  if (!conds.length) return [];
  const rows = (
    await conn.runAndReadAll(
      `SELECT k FROM (SELECT unnest(range(${cols.length})) AS k, unnest(v) AS x FROM (SELECT [${cols.map(quoteIdent).join(', ')}] AS v FROM ${quoteIdent(table)})) ` +
        `WHERE x IS NOT NULL AND (${conds.join(' OR ')}) GROUP BY k ORDER BY k`,
    )
  ).getRows();
  return rows.map(([k]) => cols[Number(k)]);
}

/** CSV/TSV: checked byte by byte first (encoding, quotes, field counts), then read by DuckDB as text. */
export async function stageCsv(
  conn: DuckDBConnection,
  path: string,
  table: string,
  format: 'csv' | 'tsv',
  csv: CsvOptions,
  clean: CleanOptions,
  progress?: Progress,
): Promise<Staged> {
  const size = await checkInputFile(path);
  const notes: string[] = [];
  const skipLines = csv.skipLines ?? 0;
  if (skipLines) notes.push(`${basename(path)}: the first ${skipLines === 1 ? 'line' : `${skipLines} lines`} skipped (${csv.skipOption ?? '--skip-lines'} ${skipLines})`);
  let delimiter = csv.delimiter ?? (format === 'tsv' ? '\t' : csv.sniffed ? undefined : ',');
  let header = csv.header ?? (csv.sniffed ? undefined : true);
  if (delimiter === undefined || header === undefined) {
    const sniff = sniffCsv(await readHead(path, SNIFF_BYTES), path, size <= SNIFF_BYTES, skipLines);
    delimiter ??= sniff.delimiter;
    header ??= csv.columns ? false : sniff.header;
    notes.push(`${basename(path)}: ${sniff.reason}${csv.header !== undefined || csv.columns ? ' (header as given)' : ''}`);
  }
  progress?.start(size, `scanning ${basename(path)}`, 'bytes');
  let scan: CsvScan;
  try {
    scan = await scanCsv(path, delimiter, header, progress, skipLines, csv.skipOption);
  } catch (err) {
    // A .csv whose fields are separated by ";" (or tabs, "|"): say so rather than blame its lines.
    if (csv.delimiter === undefined && err instanceof SieveError && /wrong number of fields|title or comment line/.test(err.message))
      throw (await otherDelimiter(path, size, delimiter, skipLines)) ?? err;
    throw err;
  }
  if (csv.delimiter === undefined && scan.fields === 1) {
    const hint = await otherDelimiter(path, size, delimiter, skipLines);
    if (hint) throw hint;
  }
  progress?.start(0, `reading ${basename(path)} into DuckDB (${scan.records.toLocaleString('en')} records)`);
  let names: string[];
  if (csv.columns) {
    if (csv.columns.length !== scan.fields)
      throw new SieveError(`--columns names ${csv.columns.length} column${csv.columns.length === 1 ? '' : 's'}, the file has ${scan.fields}`, {
        where: '--columns',
        examples: [`first ${header ? 'line (header)' : 'record'}: ${scan.fields} fields`],
      });
    const seen = new Set<string>();
    const dup = csv.columns.filter((c) => seen.size === seen.add(c).size);
    if (dup.length) throw new SieveError('--columns names a column twice', { where: '--columns', examples: [...new Set(dup)] });
    names = csv.columns;
  } else if (scan.header) names = scan.header;
  else {
    names = Array.from({ length: scan.fields }, (_, i) => `col${i + 1}`);
    notes.push(`${basename(path)} has no header line: columns named col1..col${scan.fields} (name them with --columns a,b,c)`);
  }
  checkColumnNames(names, csv.columns ? '--columns' : `${path}: header`);
  // DuckDB keeps at least one storage block per column in flight: a very wide file needs
  // more than the default limit, in proportion to its width (5,000 columns: about 3 GB).
  if (names.length > 800) await conn.run(`SET memory_limit = '${Math.ceil((names.length * 600) / 1024)}MB'`);
  // Every column as VARCHAR: types are decided later, over all rows, with row numbers.
  const columns = `{${names.map((h) => `${sqlString(stagedName(h))}: 'VARCHAR'`).join(', ')}}`;
  const source =
    `read_csv(${sqlString(path)}, header = ${header}, auto_detect = false, columns = ${columns}, delim = ${sqlString(delimiter)}, ` +
    `quote = '"', escape = '"', strict_mode = true, encoding = 'utf-8'${skipLines ? `, skip = ${skipLines}` : ''})`;
  try {
    await materialize(conn, table, source, names.map((name) => ({ name: stagedName(name), type: 'VARCHAR' })), clean);
  } catch (err) {
    throw readerError(err, path, format.toUpperCase());
  }
  const rows = await countRows(conn, table);
  const lines = scan.lines;
  // The scan splits records as DuckDB's strict reader does; should they still disagree, the
  // file is one whose quoting the two read differently: say so, and where reading diverged.
  if (rows !== scan.records)
    throw new SieveError(
      `sieve's line scan and DuckDB's CSV reader split this file into different records (${scan.records} and ${rows}): its quoting is ambiguous; ` +
        'quote every field that holds a quote, delimiter or line break in full, doubling the quotes inside it',
      { where: path, examples: [`records ${Math.min(rows, scan.records) + 1} on (from line ${lines.line(Math.min(rows, scan.records - 1))}) are read differently, or earlier`] },
    );
  return { table, path, format, rows, columns: await describeTable(conn, table), describe: (r) => `line ${lines.line(r - 1)}`, declared: {}, notes, headerless: !header };
}

/**
 * The error for a file read with the default delimiter whose lines another delimiter splits
 * consistently into more fields (a semicolon CSV named .csv), or undefined when none does.
 */
async function otherDelimiter(path: string, size: number, delimiter: string, skipLines: number): Promise<SieveError | undefined> {
  let sniff;
  try {
    sniff = sniffCsv(await readHead(path, SNIFF_BYTES), path, size <= SNIFF_BYTES, skipLines);
  } catch {
    return undefined;
  }
  if (sniff.delimiter === delimiter || sniff.share < 0.9 || sniff.fields < 2) return undefined;
  const shown = (d: string) => (d === '\t' ? 'tabs' : `"${d}"`);
  const arg = sniff.delimiter === '\t' ? "$'\\t'" : `'${sniff.delimiter}'`;
  const first = new TextDecoder('utf-8', { fatal: false }).decode(await readHead(path, 4096)).replace(/^\uFEFF/, '').split(/\r\n|\n|\r/)[skipLines] ?? '';
  return new SieveError(
    `the fields of ${basename(path)} look separated by ${shown(sniff.delimiter)}, not ${shown(delimiter)}: ${sniff.share === 1 ? 'every line' : `${Math.round(sniff.share * 100)}% of the first lines`} splits into ${sniff.fields} fields by ${shown(sniff.delimiter)}; pass --delimiter ${arg}`,
    {
      where: path,
      examples: [`line ${skipLines + 1}: ${JSON.stringify(first.length > 80 ? first.slice(0, 77) + '...' : first)}`],
    },
  );
}

/** A JSON pointer to key `k` of an object. */
const pointer = (k: string) => sqlString('/' + k.replaceAll('~', '~0').replaceAll('/', '~1'));

/**
 * JSON Lines: one object per line; blank lines skipped. Read as raw JSON first, so that each
 * column's JSON types are known (7 and "7" are different values, and mixing them is reported);
 * scalar values become the text they hold (strings without quotes), lists stay JSON.
 */
export async function stageJsonl(conn: DuckDBConnection, path: string, table: string, clean: CleanOptions, progress?: Progress): Promise<Staged> {
  const size = await checkInputFile(path);
  progress?.start(size, `scanning ${basename(path)}`, 'bytes');
  const scan = await scanJsonl(path, progress);
  progress?.start(0, `reading ${basename(path)} into DuckDB (${scan.records.toLocaleString('en')} records)`);
  const raw = `${table}_json`;
  // DuckDB's JSON reader refuses a UTF-8 byte-order mark (CSV and submissions accept one): it
  // reads a copy without those three bytes, which moves no line.
  const bom = (await readHead(path, 3)).every((b, i) => b === [0xef, 0xbb, 0xbf][i]) && size >= 3;
  const source = bom ? join(tmpdir(), `sieve-jsonl-${process.pid}-${randomBytes(4).toString('hex')}.jsonl`) : path;
  const untrack = bom ? trackTemp(source) : () => {};
  try {
    if (bom) await pipeline(createReadStream(path, { start: 3 }), createWriteStream(source));
    await conn.run(`CREATE TABLE ${quoteIdent(raw)} AS SELECT json FROM read_ndjson_objects(${sqlString(source)}, maximum_object_size = 33554432)`);
  } catch (err) {
    throw readerError(err, path, 'JSON Lines');
  } finally {
    if (bom) {
      await rm(source, { force: true });
      untrack();
    }
  }
  const rows = await countRows(conn, raw);
  if (rows !== scan.records)
    throw new SieveError(`expected ${scan.records} JSON records (one per non-blank line), DuckDB read ${rows}`, { where: path });
  const describe = (r: number) => `line ${scan.lines.line(r - 1)}`;
  const notObjects = (await conn.runAndReadAll(`SELECT rowid + 1, count(*) OVER () FROM ${quoteIdent(raw)} WHERE json_type(json) <> 'OBJECT' ORDER BY rowid LIMIT 20`)).getRowsJS();
  if (notObjects.length)
    throw new SieveError(`every line must be a JSON object ({"id": …, "label": …}); ${notObjects[0][1]} line${Number(notObjects[0][1]) > 1 ? 's are' : ' is'} not`, {
      where: path,
      count: Number(notObjects[0][1]),
      examples: notObjects.map(([r]) => describe(Number(r))),
    });
  const twice = (
    await conn.runAndReadAll(
      `SELECT rowid + 1, (SELECT min(k) FROM unnest(json_keys(json)) t(k) GROUP BY k HAVING count(*) > 1 LIMIT 1), count(*) OVER () ` +
        `FROM ${quoteIdent(raw)} WHERE len(json_keys(json)) <> len(list_distinct(json_keys(json))) ORDER BY rowid LIMIT 20`,
    )
  ).getRowsJS();
  if (twice.length)
    throw new SieveError(`${twice[0][2]} record${Number(twice[0][2]) > 1 ? 's name' : ' names'} a key twice (which value counts is not clear)`, {
      where: path,
      count: Number(twice[0][2]),
      examples: twice.map(([r, k]) => `${describe(Number(r))}: "${k}"`),
    });
  const keyRows = (
    await conn.runAndReadAll(
      `SELECT k FROM (SELECT rowid AS r, unnest(json_keys(json)) AS k, unnest(range(len(json_keys(json)))) AS p FROM ${quoteIdent(raw)}) GROUP BY k ORDER BY min(r * 1000000 + p)`,
    )
  ).getRowsJS();
  const keys = keyRows.map(([k]) => String(k));
  if (keys.length === 0) throw new SieveError('the JSON objects have no keys', { where: path });
  checkColumnNames(keys, `${path}: keys`);
  const jsonTypes: NonNullable<Staged['jsonTypes']> = {};
  for (const k of keys) jsonTypes[k] = {};
  const typeRows = (
    await conn.runAndReadAll(
      `SELECT k, json_type(json, '/' || replace(replace(k, '~', '~0'), '/', '~1')) AS t, count(*), min(r) + 1 ` +
        `FROM (SELECT rowid AS r, json, unnest(json_keys(json)) AS k FROM ${quoteIdent(raw)}) GROUP BY k, t`,
    )
  ).getRowsJS();
  for (const [k, t, n, first] of typeRows) if (t !== 'NULL') jsonTypes[String(k)][String(t)] = { count: Number(n), first: Number(first) };
  const cols = keys.map((k) => {
    const types = Object.keys(jsonTypes[k]);
    const structured = types.some((t) => t === 'ARRAY' || t === 'OBJECT');
    return structured
      ? { name: stagedName(k), type: 'JSON', expr: `json_extract(json, ${pointer(k)})` }
      : { name: stagedName(k), type: 'VARCHAR', expr: `json_extract_string(json, ${pointer(k)})` };
  });
  try {
    await materialize(conn, table, quoteIdent(raw), cols, clean);
  } catch (err) {
    throw readerError(err, path, 'JSON Lines');
  }
  await conn.run(`DROP TABLE ${quoteIdent(raw)}`);
  return { table, path, format: 'jsonl', rows, columns: await describeTable(conn, table), describe, declared: {}, jsonTypes, notes: [] };
}

/** Parquet via DuckDB; field metadata written by `sieve pool export` restores feature kinds. */
export async function stageParquet(conn: DuckDBConnection, path: string, table: string): Promise<Staged> {
  await checkInputFile(path);
  try {
    const source = `read_parquet(${sqlString(path)})`;
    const columns = await describeQuery(conn, `SELECT * FROM ${source}`);
    checkColumnNames(columns.map((c) => c.name), path);
    await materialize(conn, table, source, columns.map((c) => ({ name: stagedName(c.name), type: c.type, from: c.name })), VERBATIM);
  } catch (err) {
    throw readerError(err, path, 'Parquet (truncated or not Parquet?)');
  }
  const meta = new Map<string, string>();
  try {
    const r = await conn.runAndReadAll(`SELECT decode(key), decode(value) FROM parquet_kv_metadata(${sqlString(path)})`);
    for (const [k, v] of r.getRows()) meta.set(String(k), String(v));
  } catch {
    /* no key-value metadata: nothing declared */
  }
  return {
    table,
    path,
    format: 'parquet',
    rows: await countRows(conn, table),
    columns: await describeTable(conn, table),
    describe: (r) => `row ${r}`,
    ...fromSieveMetadata(meta),
    notes: [],
  };
}

function parseJson<T>(json: string | undefined, ok: (x: unknown) => boolean): T | undefined {
  if (json === undefined) return undefined;
  try {
    const x = JSON.parse(json);
    return ok(x) ? (x as T) : undefined;
  } catch {
    return undefined; // malformed metadata is ignored; kinds are inferred instead
  }
}

const stringArray = (x: unknown) => Array.isArray(x) && x.every((s) => typeof s === 'string');

/** What `sieve pool export` recorded: feature specs, class order, group columns. */
export function fromSieveMetadata(meta: Map<string, string>): Pick<Staged, 'declared' | 'declaredClasses' | 'declaredGroups'> {
  const declared: Staged['declared'] = {};
  const features = parseJson<FeatureSpec[]>(meta.get('sieve.features'), Array.isArray) ?? [];
  for (const f of features) if (f && typeof f.name === 'string') declared[f.name] = f;
  return {
    declared,
    declaredClasses: parseJson<string[]>(meta.get('sieve.classes'), stringArray),
    declaredGroups: parseJson<GroupSpec[]>(meta.get('sieve.groups'), (x) => Array.isArray(x) && x.every((g) => g && typeof g.name === 'string')),
  };
}

/** How an Arrow field is staged, decided from the schema before any batch is read. */
type ArrowKind = 'text' | 'number' | 'list' | 'binary';

function arrowKind(type: { typeId: Type }): ArrowKind | undefined {
  switch (type.typeId) {
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Dictionary:
      return 'text';
    case Type.Int:
    case Type.Float:
    case Type.Decimal:
    case Type.Bool:
      return 'number';
    case Type.FixedSizeList:
    case Type.List:
    case Type.LargeList:
      return 'list';
    case Type.Binary:
    case Type.LargeBinary:
    case Type.FixedSizeBinary:
      return 'binary';
    default:
      return undefined;
  }
}

/** Rows of one Arrow column that break a rule, counted over every batch, the first ones named. */
class RowProblem {
  count = 0;
  readonly rows: string[] = [];
  add(row: number, detail?: string): void {
    this.count++;
    if (this.rows.length < MAX_EXAMPLES) this.rows.push(`row ${row}${detail ? `: ${detail}` : ''}`);
  }
}

/**
 * Arrow IPC (file or stream), streamed: one record batch at a time is converted from Arrow
 * vectors and appended to DuckDB, so memory holds one batch whatever the file's size. The
 * schema decides each column's type; an embedding's length and a binary column's width come
 * from its first row. Every problem of every batch is found before the import fails.
 */
export async function stageArrow(conn: DuckDBConnection, path: string, table: string, progress?: Progress): Promise<Staged> {
  const size = await checkInputFile(path);
  const file = await openArrowBatches(path);
  try {
    const { schema } = file;
    const fields = schema.fields;
    checkColumnNames(fields.map((f) => f.name), path);
    const kinds = fields.map((f) => arrowKind(f.type));
    const unsupported = fields.filter((_, i) => !kinds[i]);
    if (unsupported.length)
      throw new SieveError(
        `${unsupported.length === 1 ? `column "${unsupported[0].name}" has Arrow type ${unsupported[0].type}` : `${unsupported.length} columns have Arrow types`}, which sieve cannot import`,
        {
          where: unsupported.length === 1 ? `${path}: column ${unsupported[0].name}` : path,
          count: unsupported.length,
          examples: [
            ...(unsupported.length > 1 ? unsupported.map((f) => `${f.name}: ${f.type}`) : []),
            'supported: strings, numbers, booleans, lists of numbers (embeddings), binary (pixels)',
          ],
        },
      );
    const fromMeta = fromSieveMetadata(schema.metadata);
    const declared = fromMeta.declared;
    // Per column: the embedding length or binary width (from its first row), and what is wrong.
    const width: (number | undefined)[] = fields.map(() => undefined);
    const missing = fields.map(() => new RowProblem());
    const ragged = fields.map(() => new RowProblem());
    let n = 0;
    let created = false;
    progress?.start(0, `reading ${basename(path)} (${(size / 1e6).toFixed(0)} MB)`);
    for await (const batch of file.batches) {
      const m = batch.numRows;
      if (m === 0) continue;
      const cols: ColumnData[] = [];
      for (const [fi, field] of fields.entries()) {
        const vec = batch.getChildAt(fi)!;
        switch (kinds[fi]!) {
          case 'text': {
            const values: (string | null)[] = new Array(m);
            const data = vec.data.length === 1 ? vec.data[0] : undefined;
            if (data && data.type.typeId === Type.Dictionary && data.dictionary) {
              // Each dictionary entry decoded once, not once per row.
              const names = Array.from(data.dictionary as Iterable<unknown>, (v) => (v === null || v === undefined ? null : String(v)));
              const index = data.values as ArrayLike<number | bigint>;
              for (let i = 0; i < m; i++) values[i] = vec.isValid(i) ? names[Number(index[data.offset + i])] ?? null : null;
            } else
              for (let i = 0; i < m; i++) {
                const v = vec.get(i);
                values[i] = v === null || v === undefined ? null : String(v);
              }
            cols.push({ name: field.name, type: 'VARCHAR', values });
            break;
          }
          case 'number': {
            const t = field.type as { typeId: Type; bitWidth?: number; precision?: number; isSigned?: boolean };
            if (t.typeId === Type.Int) {
              // Integers stay integers, as from Parquet: through a double an id above 2^53 changes
              // (and two distinct ones can collide), and every id or label reads "1.0".
              const unsigned64 = t.isSigned === false && (t.bitWidth ?? 64) === 64;
              const values: (bigint | null)[] = new Array(m);
              for (let i = 0; i < m; i++) {
                const v = vec.get(i) as number | bigint | null | undefined;
                values[i] = v === null || v === undefined ? null : BigInt(v);
              }
              cols.push(unsigned64 ? { name: field.name, type: 'UBIGINT', values } : { name: field.name, type: 'BIGINT', values });
              break;
            }
            // (Float precision 0 is half precision, whose typed array holds raw bits.)
            if (vec.nullCount === 0 && t.typeId === Type.Float && t.precision !== 0) {
              // Plain numbers without nulls: the typed array as it is, widened to doubles.
              const arr = vec.toArray() as Float64Array | Float32Array;
              cols.push({ name: field.name, type: 'DOUBLE', values: arr instanceof Float64Array ? arr : Float64Array.from(arr) });
              break;
            }
            const values: (number | null)[] = new Array(m);
            for (let i = 0; i < m; i++) {
              const v = vec.get(i);
              values[i] = v === null || v === undefined ? null : Number(v);
            }
            cols.push({ name: field.name, type: 'DOUBLE', values });
            break;
          }
          case 'list': {
            let dim = width[fi];
            for (let i = 0; i < m; i++) {
              const row = vec.isValid(i) ? vec.get(i) : null;
              if (!row) {
                missing[fi].add(n + i + 1);
                continue;
              }
              const len = row.length as number;
              if (dim === undefined) dim = width[fi] = len;
              else if (len !== dim) ragged[fi].add(n + i + 1, `${len} values`);
            }
            if (dim === undefined || missing[fi].count || ragged[fi].count) break;
            const values = new Float32Array(m * dim);
            for (let i = 0; i < m; i++) {
              const row = vec.get(i)!;
              for (let j = 0; j < dim; j++) {
                const x = row.get(j);
                values[i * dim + j] = x === null || x === undefined ? NaN : Number(x);
              }
            }
            cols.push({ name: field.name, type: 'FLOAT[]', dim, values });
            break;
          }
          case 'binary': {
            let w = width[fi];
            for (let i = 0; i < m; i++) {
              const b = vec.isValid(i) ? (vec.get(i) as Uint8Array | null) : null;
              if (!b) missing[fi].add(n + i + 1);
              else if (w === undefined) w = width[fi] = b.length;
              else if (b.length !== w) ragged[fi].add(n + i + 1, `${b.length} bytes`);
            }
            if (w === undefined || missing[fi].count || ragged[fi].count) break;
            const values = new Uint8Array(m * w);
            for (let i = 0; i < m; i++) values.set(vec.get(i) as Uint8Array, i * w);
            cols.push({ name: field.name, type: 'BLOB', bytesPerRow: w, values });
            break;
          }
        }
      }
      n += m;
      // Once a column has a problem nothing more is staged; the rest of the file is still read for problems.
      if (cols.length === fields.length && !missing.some((p) => p.count) && !ragged.some((p) => p.count)) {
        await stageColumns(conn, table, { n: m, columns: cols }, { create: !created });
        created = true;
      }
      progress?.tick(m);
    }
    if (n === 0) throw new SieveError('Arrow file has no rows', { where: path });
    const problems = new ProblemList();
    for (const [fi, field] of fields.entries()) {
      const where = `${path}: column ${field.name}`;
      const what = kinds[fi] === 'list' ? 'embeddings' : 'values';
      if (missing[fi].count)
        problems.add({ message: `missing ${what} in ${kinds[fi] === 'list' ? '' : 'binary '}column "${field.name}" (${missing[fi].count} rows)`, where, count: missing[fi].count, examples: missing[fi].rows });
      if (ragged[fi].count)
        problems.add({
          message:
            kinds[fi] === 'list'
              ? `ragged embedding "${field.name}": its first row has ${width[fi]} values, ${ragged[fi].count} other rows differ`
              : `binary column "${field.name}" has rows of different sizes: its first row has ${width[fi]} bytes, ${ragged[fi].count} other rows differ`,
          where,
          count: ragged[fi].count,
          examples: ragged[fi].rows,
        });
    }
    problems.throwIfAny();
    for (const [fi, field] of fields.entries()) {
      if (kinds[fi] === 'list' && !declared[field.name]) declared[field.name] = { kind: 'embedding', dim: width[fi] };
      const md = field.metadata;
      if (kinds[fi] === 'binary' && md.get('sieve.kind') === 'pixels')
        declared[field.name] ??= {
          kind: 'pixels',
          width: Number(md.get('sieve.width')),
          height: Number(md.get('sieve.height')),
          channels: Number(md.get('sieve.channels') ?? 1),
        };
    }
    return { table, path, format: 'arrow', rows: n, columns: await describeTable(conn, table), describe: (r) => `row ${r}`, ...fromMeta, declared, notes: [] };
  } finally {
    await file.close();
  }
}

/** An IDX file's bytes, refusing files larger than any IDX sieve holds in memory before reading them. */
async function readIdxBytes(path: string): Promise<Uint8Array> {
  const size = await checkInputFile(path);
  if (size > MAX_IDX_BYTES)
    throw new SieveError(`file is ${size} bytes; sieve reads IDX files of at most ${MAX_IDX_BYTES} bytes`, { where: path });
  return readBytes(path);
}

/** IDX (MNIST family): an images file and a labels file; class names by label index. */
export async function stageIdx(
  conn: DuckDBConnection,
  imagesPath: string,
  labelsPath: string | undefined,
  table: string,
  classNames: string[] | undefined,
): Promise<Staged> {
  if (!labelsPath)
    throw new SieveError('an IDX images file needs its labels file', { where: '--labels', examples: ['--labels train-labels-idx1-ubyte.gz'] });
  const images = parseIdx(await readIdxBytes(imagesPath), imagesPath);
  const labels = parseIdx(await readIdxBytes(labelsPath), labelsPath);
  if (images.dims.length < 2 || images.dims.length > 4)
    throw new SieveError(`IDX images must have 2–4 dimensions (n, height, width[, channels]), found ${images.dims.length}`, { where: imagesPath });
  if (images.type !== 'ubyte')
    throw new SieveError(`IDX images must be unsigned bytes (type 0x08), found ${images.type}`, { where: imagesPath });
  if (labels.dims.length !== 1) throw new SieveError(`IDX labels must be one-dimensional, found ${labels.dims.length} dimensions`, { where: labelsPath });
  const n = images.dims[0];
  if (labels.dims[0] !== n)
    throw new SieveError(`${n} images but ${labels.dims[0]} labels`, { where: labelsPath, examples: [`images: ${imagesPath}`] });
  if (n === 0) throw new SieveError('IDX file holds no items', { where: imagesPath });
  const height = images.dims[1];
  const width = images.dims[2] ?? 1;
  const channels = images.dims[3] ?? 1;
  const lab = labels.data;
  const names: string[] = new Array(n);
  const badLabels: string[] = [];
  let badCount = 0;
  for (let i = 0; i < n; i++) {
    const k = Number(lab[i]);
    const name = classNames ? classNames[k] : Number.isInteger(k) && k >= 0 ? String(k) : undefined;
    if (name === undefined) {
      badCount++;
      if (badLabels.length < 5) badLabels.push(`item ${i}: ${k}`);
    } else names[i] = name;
  }
  if (badCount)
    throw new SieveError(
      classNames ? `IDX labels outside the ${classNames.length} names given by --classes` : 'IDX labels must be non-negative integers',
      { where: labelsPath, count: badCount, examples: badLabels },
    );
  await stageColumns(conn, table, {
    n,
    columns: [
      { name: 'label', type: 'VARCHAR', values: names },
      { name: 'pixels', type: 'BLOB', bytesPerRow: width * height * channels, values: images.data as Uint8Array },
    ],
  });
  return {
    table,
    path: imagesPath,
    format: 'idx',
    rows: n,
    columns: await describeTable(conn, table),
    describe: (r) => `item ${r - 1}`,
    declared: { pixels: { kind: 'pixels', width, height, channels } },
    notes: [],
  };
}

/** ARFF rows buffered before they go to DuckDB: about this many values at a time. */
const ARFF_BATCH_VALUES = 1 << 20;

/**
 * Problems of data lines, grouped by what is wrong: each with how many lines and the first
 * MAX_EXAMPLES of them, so one run reports everything a file gets wrong.
 */
class LineProblems {
  private readonly groups = new Map<string, { count: number; lines: number[]; hint?: string[] }>();
  private other = 0;
  constructor(private readonly path: string) {}
  get any(): boolean {
    return this.groups.size > 0;
  }
  add(err: SieveError, line: number): void {
    const g = this.groups.get(err.message);
    if (g) {
      g.count++;
      if (g.lines.length < MAX_EXAMPLES) g.lines.push(line);
    } else if (this.groups.size < MAX_EXAMPLES) this.groups.set(err.message, { count: 1, lines: [line], hint: err.examples?.length ? err.examples : undefined });
    else this.other++;
  }
  throwIfAny(): void {
    if (!this.any) return;
    const list = new ProblemList();
    for (const [message, g] of this.groups)
      list.add({
        message: g.count === 1 ? message : `${message} (${g.count} lines)`,
        where: g.count === 1 ? `${this.path}, line ${g.lines[0]}` : this.path,
        count: g.count,
        examples: [...g.lines.map((l) => `line ${l}`), ...(g.hint ? [`declared: ${g.hint.join(', ')}`] : [])],
      });
    if (this.other) list.add({ message: `${this.other} more lines with other problems`, where: this.path, count: this.other, examples: [] });
    list.throwIfAny();
  }
}

/**
 * ARFF (Weka), streamed: read line by line through ArffReader and appended to DuckDB a batch
 * of rows at a time, so memory does not grow with the file. Nominal attributes keep their
 * declared value order as categories. Every bad data line is found before anything is staged.
 */
export async function stageArff(conn: DuckDBConnection, path: string, table: string, progress?: Progress, opts: { batchValues?: number } = {}): Promise<Staged> {
  const size = await checkInputFile(path);
  const reader = new ArffReader(path);
  const problems = new LineProblems(path);
  const lines = new LineMap();
  let rows = 0;
  let created = false;
  let batchRows = 0;
  let buf: ArffRow[] = [];
  const flush = async () => {
    if (!buf.length || problems.any) return void (buf = []);
    const batch = buf;
    buf = [];
    const columns = reader.attributes.map((a, k): ColumnData => {
      const values = batch.map((r) => r[k]);
      return a.type === 'numeric'
        ? { name: a.name, type: 'DOUBLE', values: values as (number | null)[] }
        : { name: a.name, type: 'VARCHAR', values: values as (string | null)[] };
    });
    await stageColumns(conn, table, { n: batch.length, columns }, { create: !created });
    created = true;
  };
  progress?.start(size, `reading ${basename(path)}`, 'bytes');
  await readTextLines(
    path,
    async (chunk, first) => {
      for (let i = 0; i < chunk.length; i++) {
        const lineNo = first + i;
        let row: ArffRow | null;
        if (!reader.inData) {
          reader.line(chunk[i], lineNo); // header errors end the read: nothing after them can be parsed
          if (reader.inData) {
            checkColumnNames(reader.attributes.map((a) => a.name), path);
            batchRows = Math.max(1, Math.floor((opts.batchValues ?? ARFF_BATCH_VALUES) / reader.attributes.length));
          }
          continue;
        }
        try {
          row = reader.line(chunk[i], lineNo);
        } catch (err) {
          if (!(err instanceof SieveError)) throw err;
          problems.add(err, lineNo);
          continue;
        }
        if (!row) continue;
        lines.add(rows, lineNo);
        rows++;
        if (!problems.any) buf.push(row);
        if (buf.length >= batchRows) await flush();
      }
    },
    progress,
  );
  reader.finish();
  await flush();
  problems.throwIfAny();
  if (rows === 0) throw new SieveError('ARFF file has no @data rows', { where: path });
  const declared: Staged['declared'] = {};
  for (const a of reader.attributes) if (a.type === 'nominal') declared[a.name] = { kind: 'categorical', categories: a.values };
  return { table, path, format: 'arff', rows, columns: await describeTable(conn, table), describe: (r) => `line ${lines.line(r - 1)}`, declared, notes: [] };
}

/** Appends columns built in memory (Arrow, IDX, ARFF), in order, values as the format gives them. */
async function stageColumns(conn: DuckDBConnection, table: string, data: TableData, opts: { create?: boolean } = {}): Promise<void> {
  await appendTable(conn, table, { n: data.n, columns: data.columns.map((c) => ({ ...c, name: stagedName(c.name) })) }, opts);
}
