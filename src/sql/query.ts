/**
 * `sieve sql`: one read-only DuckDB SELECT over an audit database (`sieve audit --db FILE`)
 * or over a pool's participant files, in the sandbox of src/sql/sandbox.ts, so no DuckDB
 * command line tool is needed to look at findings.
 *
 * - A DuckDB file is opened read-only (no statement can change it), then locked down: the
 *   query sees its tables and views and nothing else (a view the file holds that reads
 *   another file fails like any other file access).
 * - A pool: its participant-visible splits are copied into an in-memory database as tables
 *   `train` (and `test` where the test split is participant-visible, i.e. your own imported
 *   data) through src/pool/read.ts, which refuses evaluator-only files; then locked down, so
 *   no path the query names (the pool's test.parquet, truth.parquet, /etc/passwd) is read.
 */
import { open, stat } from 'node:fs/promises';
import { DuckDBTypeId, type DuckDBType } from '@duckdb/node-api';
import { assertParticipantSource } from '../pool/guard.ts';
import { copyParticipantSplit, openPool } from '../pool/read.ts';
import { SieveError } from '../util/errors.ts';
import { firstLine, lockDown, openSandbox, prepareOneSelect, type Sandbox } from './sandbox.ts';

export interface SqlTarget {
  kind: 'database' | 'pool';
  /** The file, or the pool's name. */
  name: string;
  /** Tables and views the query can name. */
  tables: string[];
}

export interface SqlResult {
  target: SqlTarget;
  columns: { name: string; type: string }[];
  /** Rows as JSON values: integers as numbers (as strings beyond 2^53), BLOBs as base64, nested types as arrays / objects. */
  rows: Record<string, unknown>[];
}

/** DuckDB files start with a 8-byte checksum, then "DUCK". */
async function isDuckDbFile(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(12);
    const { bytesRead } = await fh.read(buf, 0, 12, 0);
    return bytesRead === 12 && buf.subarray(8, 12).toString('latin1') === 'DUCK';
  } finally {
    await fh.close();
  }
}

/** Opens the sandbox over `target` (a DuckDB file, else a pool name or directory) and locks it down. */
async function openTarget(target: string): Promise<{ box: Sandbox; info: SqlTarget }> {
  const st = await stat(target).catch(() => null);
  if (st?.isFile()) {
    // A challenge's test or truth file never becomes a query source, even renamed (exit 3).
    await assertParticipantSource(target);
    if (!(await isDuckDbFile(target)))
      throw new SieveError(`${target} is not a DuckDB database`, {
        where: target,
        examples: ['give an audit database (sieve audit POOL --db audit.duckdb) or a pool name or directory'],
      });
    let box: Sandbox;
    try {
      box = await openSandbox({ file: target, threads: 2 });
    } catch (err) {
      throw new SieveError(`${target} cannot be opened as a DuckDB database`, { where: target, examples: [firstLine(err)] });
    }
    try {
      await lockDown(box.conn);
      const r = await box.conn.runAndReadAll(`SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() ORDER BY table_name`);
      return { box, info: { kind: 'database', name: target, tables: r.getRows().map((x) => String(x[0])) } };
    } catch (err) {
      box.close();
      throw err;
    }
  }
  const pool = await openPool(target);
  const box = await openSandbox({ threads: 2 });
  try {
    const tables = ['train'];
    await copyParticipantSplit(box.conn, pool, 'train');
    const test = pool.manifest.files.find((f) => f.role === 'test');
    if (test?.visibility === 'participant') {
      await copyParticipantSplit(box.conn, pool, 'test', 'test');
      tables.push('test');
    }
    await lockDown(box.conn);
    return { box, info: { kind: 'pool', name: pool.name, tables } };
  } catch (err) {
    box.close();
    throw err;
  }
}

function hints(msg: string, info: SqlTarget): string[] {
  const tables = `tables: ${info.tables.join(', ') || '(none)'}`;
  if (/file system operations are disabled|disabled by configuration|external/i.test(msg))
    return ['sieve sql reads only the database or pool it was given: no other files, no extensions, no network', tables];
  if (/configuration has been locked/i.test(msg)) return ['the settings of sieve sql cannot be changed from SQL'];
  if (/read-only mode/i.test(msg)) return ['sieve sql is read-only: only a SELECT runs'];
  if (/Catalog Error/i.test(msg)) {
    const evaluatorOnly = info.kind === 'pool' && !info.tables.includes('test') && /\btest\b/.test(msg)
      ? ["the pool's test split is evaluator-only: it is not a table here"] : [];
    return [...evaluatorOnly, tables];
  }
  return [tables];
}

const INTEGER_TYPES = new Set<number>([
  DuckDBTypeId.TINYINT, DuckDBTypeId.SMALLINT, DuckDBTypeId.INTEGER, DuckDBTypeId.BIGINT, DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UTINYINT, DuckDBTypeId.USMALLINT, DuckDBTypeId.UINTEGER, DuckDBTypeId.UBIGINT, DuckDBTypeId.UHUGEINT,
]);

/** A cell as JSON: integers as numbers while exact, BLOBs as base64, the rest as DuckDB's JSON form. */
function jsonCell(type: DuckDBType, raw: unknown, json: unknown): unknown {
  if (raw === null || raw === undefined) return null;
  if (INTEGER_TYPES.has(type.typeId)) {
    const n = Number(json);
    return Number.isSafeInteger(n) ? n : String(json);
  }
  if (type.typeId === DuckDBTypeId.BLOB) {
    const bytes = (raw as { bytes?: Uint8Array }).bytes;
    return bytes ? Buffer.from(bytes).toString('base64') : json;
  }
  return json;
}

/** Runs one read-only SELECT over `target`; see the module comment. */
export async function runSql(target: string, sql: string): Promise<SqlResult> {
  const { box, info } = await openTarget(target);
  try {
    let prepared;
    try {
      prepared = await prepareOneSelect(box.conn, sql, 'the query', 'SQL');
    } catch (err) {
      if (err instanceof SieveError) throw err;
      const msg = firstLine(err);
      // The sandbox's refusals are Permission Errors; a parse or binder error is the query's own.
      const what = /Permission Error/i.test(msg) ? 'the query was refused' : 'the query is not valid here';
      throw new SieveError(`${what}: ${msg}`, { where: 'SQL', examples: hints(msg, info) });
    }
    let reader;
    try {
      reader = await prepared.runAndReadAll();
    } catch (err) {
      const msg = firstLine(err);
      throw new SieveError(`the query failed: ${msg}`, { where: 'SQL', examples: hints(msg, info) });
    }
    const names = reader.columnNames();
    const types = reader.columnTypes();
    const raw = reader.getRows();
    const json = reader.getRowsJson();
    const rows = raw.map((r, i) => {
      const o: Record<string, unknown> = {};
      names.forEach((n, j) => { o[n] = jsonCell(types[j], r[j], json[i][j]); });
      return o;
    });
    return { target: info, columns: names.map((n, j) => ({ name: n, type: types[j].toString() })), rows };
  } finally {
    box.close();
  }
}

/** A cell for a terminal table: BLOBs by their size, nested values as compact JSON. */
export function displayCell(type: string, v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (type === 'BLOB' && typeof v === 'string') return `<${Buffer.from(v, 'base64').length} bytes>`;
  if (typeof v === 'object') return JSON.stringify(v).replace(/,/g, ', ');
  return String(v);
}

/** A cell for CSV: nested values as JSON, quoted where needed (RFC 4180). */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}
