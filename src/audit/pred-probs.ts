/**
 * `sieve audit --pred-probs FILE`: out-of-sample class probabilities the user computed with a
 * model of their own, as cleanlab takes `pred_probs`. The file (CSV with a header, Parquet or
 * Arrow IPC) holds an `id` column and one column per class, named exactly as the pool's
 * classes; one row per train row of the pool, in any order. It is validated strictly and
 * every problem found is reported at once (with the first offending rows of each kind):
 * missing, extra or duplicate columns; empty, duplicate or unknown ids; pool rows without a
 * row; values that are not numbers, not finite or negative; rows whose probabilities do not
 * sum to 1 within `PRED_PROBS_TOLERANCE`. Nothing is dropped or guessed.
 *
 * The analysers never read the file: the audit hands them the n × k matrix (in pool row order,
 * each row rescaled to sum exactly to 1) through the audit context, with the file's sha256 for
 * the report header.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { tableFromIPC, type Table } from 'apache-arrow';
import { queryColumns, sqlString, withDb } from '../pool/duckdb.ts';
import { decodeText, otherDelimiter, sniffBinary, splitCsv } from '../submission/text.ts';
import { SieveError } from '../util/errors.ts';
import type { PredictionsSource } from '../analysers/types.ts';

/** Largest |row sum − 1| accepted (rows are then rescaled to sum to 1 exactly). */
export const PRED_PROBS_TOLERANCE = 1e-3;
/** Offending rows quoted per kind of problem. */
const FIRST = 5;

const EXTENSIONS: Record<string, PredictionsSource['format']> = {
  '.csv': 'csv', '.parquet': 'parquet', '.pq': 'parquet', '.arrow': 'arrow', '.feather': 'arrow', '.ipc': 'arrow', '.arrows': 'arrow',
};

export interface PredProbs {
  /** n × k, row-major, in the order of the pool's train rows; every row sums to 1. */
  proba: Float32Array;
  n: number;
  k: number;
  source: PredictionsSource;
}

/** A table as read from the file, before any check against the pool. */
interface RawTable {
  columns: string[];
  n: number;
  /** Cell of column c, row i: a number, the text as written (CSV), or null (missing). */
  cell(c: number, i: number): number | string | null;
}

function formatOf(path: string, explicit?: string): PredictionsSource['format'] {
  if (explicit) {
    if (explicit === 'csv' || explicit === 'parquet' || explicit === 'arrow') return explicit;
    throw new SieveError(`unknown pred-probs format "${explicit}"; choose csv, parquet or arrow`, { where: '--pred-probs' });
  }
  const f = EXTENSIONS[extname(path).toLowerCase()];
  if (!f) {
    throw new SieveError(`cannot tell the format of the pred-probs file from its extension "${extname(path) || '(none)'}"`, {
      where: path, examples: [`known: ${Object.keys(EXTENSIONS).join(' ')}`],
    });
  }
  return f;
}

function readCsv(bytes: Uint8Array, where: string): RawTable {
  const records = splitCsv(decodeText(bytes, 'csv', where), where);
  if (records.length === 0) throw new SieveError('the pred-probs file is empty', { where });
  const columns = records[0].fields;
  const rows = records.slice(1);
  const ragged = rows.filter((r) => r.fields.length !== columns.length);
  if (ragged.length) {
    const other = otherDelimiter(columns);
    throw new SieveError(`${ragged.length} CSV line(s) have a different number of fields than the header (${columns.length})`, {
      where, count: ragged.length, examples: [
        ...ragged.slice(0, FIRST).map((r) => `line ${r.line}: ${r.fields.length} fields`),
        ...(other ? [`the header looks separated by ${other}: the pred-probs CSV is comma-separated (pandas: to_csv(path, index=False))`] : []),
      ],
    });
  }
  return { columns, n: rows.length, cell: (c, i) => { const v = rows[i].fields[c]; return v.trim() === '' ? null : v; } };
}

async function readParquet(path: string, bytes: Uint8Array, where: string): Promise<RawTable> {
  if (sniffBinary(bytes) !== 'parquet') throw new SieveError('the file is named as Parquet but is not a Parquet file', { where });
  const r = await withDb((conn) => queryColumns(conn, `SELECT * FROM read_parquet(${sqlString(path)})`)).catch((err) => {
    if (err instanceof SieveError) throw err;
    throw new SieveError(`DuckDB cannot read the Parquet file: ${(err as Error).message.split('\n')[0]}`, { where });
  });
  const cols = r.columns;
  return {
    columns: cols.map((c) => c.name),
    n: r.n,
    cell(c, i) {
      const col = cols[c];
      if (col.type === 'VARCHAR') return col.values[i];
      if (col.type === 'DOUBLE' || col.type === 'INTEGER') return col.nulls?.[i] ? null : col.values[i];
      return `(${col.type} value)`;
    },
  };
}

function readArrow(bytes: Uint8Array, where: string): RawTable {
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (err) {
    throw new SieveError(`apache-arrow cannot read the file: ${(err as Error).message.split('\n')[0]}`, { where });
  }
  const columns = table.schema.fields.map((f) => f.name);
  const vectors = columns.map((_, c) => table.getChildAt(c)!);
  return {
    columns,
    n: table.numRows,
    cell(c, i) {
      const v = vectors[c].get(i);
      if (v === null || v === undefined) return null;
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(v);
      return String(v);
    },
  };
}

function quote(s: string | null): string {
  return s === null ? 'null' : JSON.stringify(s);
}

/**
 * Reads and validates a pred-probs file against the audited rows (`ids`, `classNames`).
 * Throws one SieveError listing every problem found.
 */
export async function readPredProbs(
  file: string,
  pool: { ids: readonly string[]; classNames: readonly string[]; name?: string },
  opts: { format?: string; tolerance?: number } = {},
): Promise<PredProbs> {
  const path = resolve(file);
  const where = `--pred-probs ${file}`;
  const st = await stat(path).catch(() => null);
  if (!st || !st.isFile()) throw new SieveError(`pred-probs file not found: ${file}`, { where: '--pred-probs' });
  const format = formatOf(file, opts.format);
  const bytes = new Uint8Array(await readFile(path));
  if (bytes.length === 0) throw new SieveError('the pred-probs file is empty (0 bytes)', { where });
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const raw = format === 'csv' ? readCsv(bytes, where) : format === 'parquet' ? await readParquet(path, bytes, where) : readArrow(bytes, where);
  const tol = opts.tolerance ?? PRED_PROBS_TOLERANCE;
  const k = pool.classNames.length;
  const problems: { what: string; count: number; first: string[] }[] = [];
  const add = (what: string, items: string[], count = items.length) => { if (count) problems.push({ what, count, first: items.slice(0, FIRST) }); };

  // Columns: exactly `id` and the class names, each once.
  const seen = new Map<string, number>();
  raw.columns.forEach((c, j) => seen.set(c, (seen.get(c) ?? 0) + 1));
  add('duplicate column names', [...seen].filter(([, m]) => m > 1).map(([c, m]) => `${quote(c)} × ${m}`));
  if (!seen.has('id')) add('no "id" column', ['(the first column should be id)'], 1);
  add(`missing class columns (the pool's classes are ${pool.classNames.map((c) => quote(c)).join(', ')})`, pool.classNames.filter((c) => !seen.has(c)).map(quote));
  const known = new Set(['id', ...pool.classNames]);
  const extra = raw.columns.filter((c) => !known.has(c));
  // pandas writes its index as a first column without a name (or "Unnamed: 0" read back).
  const pandasIndex = extra.some((c) => c === '' || /^Unnamed: \d+$/.test(c)) ? ['(a column without a name is pandas\' index: write the file with index=False)'] : [];
  add('extra columns (neither id nor a class of the pool)', [...pandasIndex, ...extra.map(quote)], extra.length);
  if (raw.n === 0) add('no rows', ['(the file has a header only)'], 1);
  // Without the id or a class column nothing below can be checked; extra or repeated columns
  // don't stop the checks of ids and values (every problem is reported in one go).
  if (!seen.has('id') || pool.classNames.some((c) => !seen.has(c)) || raw.n === 0) throw reject(problems, where);

  // Ids: every train row exactly once, nothing else.
  const idCol = raw.columns.indexOf('id');
  const classCol = pool.classNames.map((c) => raw.columns.indexOf(c));
  const rowOf = new Map<string, number>();
  pool.ids.forEach((id, i) => rowOf.set(id, i));
  const fileRowOf = new Int32Array(pool.ids.length).fill(-1);
  const emptyIds: string[] = [], unknown: string[] = [], dups: string[] = [];
  let unknownCount = 0, dupCount = 0, emptyCount = 0;
  const rowName = (i: number) => (format === 'csv' ? `line ${i + 2}` : `row ${i + 1}`);
  const firstAt = new Map<string, number>();
  for (let i = 0; i < raw.n; i++) {
    const v = raw.cell(idCol, i);
    const id = v === null ? null : String(v);
    if (id === null || id === '') { emptyCount++; if (emptyIds.length < FIRST) emptyIds.push(rowName(i)); continue; }
    const before = firstAt.get(id);
    if (before !== undefined) { dupCount++; if (dups.length < FIRST) dups.push(`${rowName(i)}: ${quote(id)} (first at ${rowName(before)})`); continue; }
    firstAt.set(id, i);
    const r = rowOf.get(id);
    if (r === undefined) { unknownCount++; if (unknown.length < FIRST) unknown.push(`${rowName(i)}: ${quote(id)}`); continue; }
    fileRowOf[r] = i;
  }
  add('empty ids', emptyIds, emptyCount);
  add(`unknown ids (not train rows of ${pool.name ?? 'the pool'})`, unknown, unknownCount);
  add('duplicate ids', dups, dupCount);
  const missing: string[] = [];
  let missingCount = 0;
  for (let r = 0; r < pool.ids.length; r++) if (fileRowOf[r] < 0) { missingCount++; if (missing.length < FIRST) missing.push(quote(pool.ids[r])); }
  add('train rows with no row in the file (missing ids)', missing, missingCount);

  // Values.
  const proba = new Float32Array(pool.ids.length * k);
  const bad: Record<'nan' | 'inf' | 'neg' | 'over' | 'sum' | 'missing', { first: string[]; count: number }> = {
    missing: { first: [], count: 0 }, nan: { first: [], count: 0 }, inf: { first: [], count: 0 }, neg: { first: [], count: 0 }, over: { first: [], count: 0 }, sum: { first: [], count: 0 },
  };
  const note = (kind: keyof typeof bad, text: string) => { bad[kind].count++; if (bad[kind].first.length < FIRST) bad[kind].first.push(text); };
  const row = new Float64Array(k);
  for (let i = 0; i < raw.n; i++) {
    let ok = true;
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const v = raw.cell(classCol[j], i);
      const x = v === null ? NaN : typeof v === 'number' ? v : strictNumber(v);
      const at = `${rowName(i)}, ${quote(pool.classNames[j])}`;
      if (v === null) { note('missing', at); ok = false; continue; }
      const isNanValue = typeof v === 'number' ? Number.isNaN(v) : /^\s*[+-]?nan\s*$/i.test(v);
      if (Number.isNaN(x) && !isNanValue) { note('nan', `${at}: ${quote(String(v))}`); ok = false; continue; }
      if (!Number.isFinite(x)) { note('inf', `${at}: ${String(v).trim()}`); ok = false; continue; }
      if (x < 0) { note('neg', `${at}: ${x}`); ok = false; continue; }
      if (x > 1 + tol) { note('over', `${at}: ${x}`); ok = false; continue; }
      row[j] = x;
      sum += x;
    }
    if (!ok) continue;
    if (!(Math.abs(sum - 1) <= tol)) { note('sum', `${rowName(i)}: sums to ${sum.toPrecision(6)}`); continue; }
    // Rows of ids rejected above are checked too (every problem is reported) but not stored.
    const id = raw.cell(idCol, i);
    const r = id === null ? undefined : rowOf.get(String(id));
    if (r === undefined || fileRowOf[r] !== i) continue;
    for (let j = 0; j < k; j++) proba[r * k + j] = row[j] / sum;
  }
  add('missing values', bad.missing.first, bad.missing.count);
  add('values that are not numbers', bad.nan.first, bad.nan.count);
  add('values that are not finite', bad.inf.first, bad.inf.count);
  add('negative values', bad.neg.first, bad.neg.count);
  add('values over 1', bad.over.first, bad.over.count);
  add(`rows whose probabilities do not sum to 1 (within ${tol})`, bad.sum.first, bad.sum.count);
  if (problems.length) throw reject(problems, where);
  return { proba, n: pool.ids.length, k, source: { file, format, sha256 } };
}

/** A decimal number as written (no hex, no empty string, no trailing junk); NaN otherwise. Infinity spelled out is kept. */
function strictNumber(s: string): number {
  const t = s.trim();
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return NaN;
  return Number(t);
}

function reject(problems: { what: string; count: number; first: string[] }[], where: string): SieveError {
  const total = problems.reduce((a, p) => a + p.count, 0);
  const lines = problems.map((p) => `  - ${p.count.toLocaleString('en-US')} ${p.what}: ${p.first.join('; ')}${p.count > p.first.length ? '; …' : ''}`);
  return new SieveError(`the pred-probs file was rejected (${problems.length} kind${problems.length > 1 ? 's' : ''} of problem):\n${lines.join('\n')}`, {
    where, count: total, examples: problems.map((p) => `${p.what}: ${p.first[0]}`),
  });
}
