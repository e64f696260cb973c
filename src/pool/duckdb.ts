/**
 * DuckDB access for pools: opening instances, filling tables from typed arrays and reading
 * query results back into typed arrays, both a data chunk (2048 rows) at a time.
 *
 * Why raw bindings: the high-level vector classes of @duckdb/node-api copy values one by
 * one; `copy_data_to_vector` moves a whole chunk of a Float32Array in one memcpy, which is
 * what makes a million 64-dim embeddings append in seconds rather than minutes.
 * `@duckdb/node-bindings` is the exact package @duckdb/node-api wraps (same pinned version).
 */
import {
  ARRAY,
  BIGINT,
  BLOB,
  BOOLEAN,
  DOUBLE,
  DuckDBArrayType,
  DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  DuckDBTypeId,
  FLOAT,
  INTEGER,
  UBIGINT,
  VARCHAR,
  type DuckDBType,
} from '@duckdb/node-api';
import bindings from '@duckdb/node-bindings';
import { duckdbSpillDir } from '../util/temps.ts';
import { quoteIdent, sqlString } from './sql-text.ts';
import { SieveError } from '../util/errors.ts';
import type { Progress } from '../util/progress.ts';

/** Rows per data chunk (DuckDB's standard vector size). */
export const CHUNK_ROWS = 2048;

// ---------------------------------------------------------------------------------------
// Column data: the in-memory form tables are written from (see docs/architecture.md).

export type ColumnData =
  | { name: string; type: 'VARCHAR'; values: (string | null)[] }
  | { name: string; type: 'DOUBLE'; values: Float64Array | (number | null)[] }
  | { name: string; type: 'INTEGER'; values: Int32Array }
  /** 64-bit integers, exact (through a double an id above 2^53 would change). */
  | { name: string; type: 'BIGINT'; values: BigInt64Array | (bigint | null)[] }
  | { name: string; type: 'UBIGINT'; values: BigUint64Array | (bigint | null)[] }
  | { name: string; type: 'BOOLEAN'; values: Uint8Array }
  /** n × dim, row-major. Stored as DuckDB FLOAT[dim]. */
  | { name: string; type: 'FLOAT[]'; dim: number; values: Float32Array }
  /** n × bytesPerRow, row-major (e.g. image pixels). */
  | { name: string; type: 'BLOB'; bytesPerRow: number; values: Uint8Array };

export interface TableData {
  n: number;
  columns: ColumnData[];
}

/** How many rows a column's values hold (for shape checks). */
export function columnRows(c: ColumnData): number {
  switch (c.type) {
    case 'FLOAT[]':
      return c.dim > 0 ? c.values.length / c.dim : 0;
    case 'BLOB':
      return c.bytesPerRow > 0 ? c.values.length / c.bytesPerRow : 0;
    default:
      return c.values.length;
  }
}

export function columnSqlType(c: ColumnData): string {
  return c.type === 'FLOAT[]' ? `FLOAT[${c.dim}]` : c.type;
}

function columnDuckType(c: ColumnData): DuckDBType {
  switch (c.type) {
    case 'VARCHAR':
      return VARCHAR;
    case 'DOUBLE':
      return DOUBLE;
    case 'INTEGER':
      return INTEGER;
    case 'BIGINT':
      return BIGINT;
    case 'UBIGINT':
      return UBIGINT;
    case 'BOOLEAN':
      return BOOLEAN;
    case 'FLOAT[]':
      return ARRAY(FLOAT, c.dim);
    case 'BLOB':
      return BLOB;
  }
}

// ---------------------------------------------------------------------------------------
// Instances and SQL text.

export interface Db {
  instance: DuckDBInstance;
  conn: DuckDBConnection;
  close(): void;
}

/**
 * Opens a DuckDB instance (in memory unless `path`) and one connection. `threads: 1` makes
 * COPY ... TO parquet byte-deterministic; readers may use more.
 */
export async function openDb(opts: { path?: string; threads?: number; memoryLimit?: string } = {}): Promise<Db> {
  // Spill files go to the OS temp dir, not a .tmp/ in the user's working directory; the
  // signal handler removes the folder, and the next sieve process one a SIGKILL left.
  const spill = duckdbSpillDir();
  const config: Record<string, string> = { threads: String(opts.threads ?? 1), temp_directory: spill };
  if (opts.memoryLimit) config.memory_limit = opts.memoryLimit;
  const instance = await DuckDBInstance.create(opts.path ?? ':memory:', config);
  const conn = await instance.connect();
  let closed = false;
  return {
    instance,
    conn,
    close() {
      if (closed) return;
      closed = true;
      conn.closeSync();
      instance.closeSync();
    },
  };
}

/** Runs `fn` with a fresh database and always closes it. */
export async function withDb<T>(fn: (conn: DuckDBConnection) => Promise<T>, opts: Parameters<typeof openDb>[0] = {}): Promise<T> {
  const db = await openDb(opts);
  try {
    return await fn(db.conn);
  } finally {
    db.close();
  }
}

export { quoteIdent, sqlString };

// ---------------------------------------------------------------------------------------
// Appending.

/** Validity bitmask for one chunk: one bit per row, 1 = valid, in 64-bit words. */
const VALIDITY_BYTES = (CHUNK_ROWS / 64) * 8;

function setValidity(vector: bindings.Vector, mask: Uint8Array): void {
  bindings.vector_ensure_validity_writable(vector);
  bindings.copy_data_to_vector_validity(vector, 0, mask.buffer as ArrayBuffer, mask.byteOffset, VALIDITY_BYTES);
}

/**
 * Creates table `tableName` with the columns' types (unless `create: false`) and fills it
 * from typed arrays, one data chunk at a time, in row order.
 */
export async function appendTable(
  conn: DuckDBConnection,
  tableName: string,
  table: TableData,
  opts: { create?: boolean; progress?: Progress } = {},
): Promise<void> {
  const { n, columns } = table;
  for (const c of columns) {
    const rows = columnRows(c);
    if (rows !== n)
      throw new SieveError(`column "${c.name}" holds ${rows} rows, table "${tableName}" has ${n}`, { where: c.name });
  }
  if (opts.create !== false) {
    const cols = columns.map((c) => `${quoteIdent(c.name)} ${columnSqlType(c)}`).join(', ');
    await conn.run(`CREATE TABLE ${quoteIdent(tableName)} (${cols})`);
  }
  const types = columns.map(columnDuckType);
  const appender = await conn.createAppender(tableName);
  const mask = new Uint8Array(VALIDITY_BYTES);
  const scratch64 = new Float64Array(CHUNK_ROWS);
  const scratchBool = new Uint8Array(CHUNK_ROWS);
  try {
    for (let start = 0; start < n; start += CHUNK_ROWS) {
      const m = Math.min(CHUNK_ROWS, n - start);
      // A fresh chunk per batch: reset chunks can keep a writable validity mask from the
      // previous batch, and creating one costs microseconds.
      const chunk = DuckDBDataChunk.create(types);
      for (let ci = 0; ci < columns.length; ci++) {
        const vector = bindings.data_chunk_get_vector(chunk.chunk, ci);
        fillVector(vector, columns[ci], start, m, mask, scratch64, scratchBool);
      }
      chunk.rowCount = m;
      appender.appendDataChunk(chunk);
      opts.progress?.tick(m);
    }
    appender.closeSync();
  } catch (err) {
    try {
      appender.closeSync();
    } catch {
      /* already failing */
    }
    throw err;
  }
}

function fillVector(
  vector: bindings.Vector,
  c: ColumnData,
  start: number,
  m: number,
  mask: Uint8Array,
  scratch64: Float64Array,
  scratchBool: Uint8Array,
): void {
  switch (c.type) {
    case 'VARCHAR': {
      let nulls = false;
      mask.fill(0xff);
      for (let i = 0; i < m; i++) {
        const v = c.values[start + i];
        if (v === null || v === undefined) {
          nulls = true;
          mask[i >> 3] &= ~(1 << (i & 7));
        } else bindings.vector_assign_string_element(vector, i, v);
      }
      if (nulls) setValidity(vector, mask);
      return;
    }
    case 'DOUBLE': {
      if (c.values instanceof Float64Array) {
        const v = c.values;
        bindings.copy_data_to_vector(vector, 0, v.buffer as ArrayBuffer, v.byteOffset + start * 8, m * 8);
        return;
      }
      let nulls = false;
      mask.fill(0xff);
      for (let i = 0; i < m; i++) {
        const v = c.values[start + i];
        if (v === null || v === undefined) {
          nulls = true;
          scratch64[i] = 0;
          mask[i >> 3] &= ~(1 << (i & 7));
        } else scratch64[i] = v;
      }
      bindings.copy_data_to_vector(vector, 0, scratch64.buffer as ArrayBuffer, 0, m * 8);
      if (nulls) setValidity(vector, mask);
      return;
    }
    case 'INTEGER': {
      const v = c.values;
      bindings.copy_data_to_vector(vector, 0, v.buffer as ArrayBuffer, v.byteOffset + start * 4, m * 4);
      return;
    }
    case 'BIGINT':
    case 'UBIGINT': {
      const typed = c.type === 'BIGINT' ? BigInt64Array : BigUint64Array;
      if (c.values instanceof typed) {
        bindings.copy_data_to_vector(vector, 0, c.values.buffer as ArrayBuffer, c.values.byteOffset + start * 8, m * 8);
        return;
      }
      const out = new typed(m);
      let nulls = false;
      mask.fill(0xff);
      for (let i = 0; i < m; i++) {
        const v = (c.values as (bigint | null)[])[start + i];
        if (v === null || v === undefined) {
          nulls = true;
          mask[i >> 3] &= ~(1 << (i & 7));
        } else out[i] = v;
      }
      bindings.copy_data_to_vector(vector, 0, out.buffer as ArrayBuffer, 0, m * 8);
      if (nulls) setValidity(vector, mask);
      return;
    }
    case 'BOOLEAN': {
      // DuckDB booleans must be exactly 0 or 1.
      for (let i = 0; i < m; i++) scratchBool[i] = c.values[start + i] ? 1 : 0;
      bindings.copy_data_to_vector(vector, 0, scratchBool.buffer as ArrayBuffer, 0, m);
      return;
    }
    case 'FLOAT[]': {
      const child = bindings.array_vector_get_child(vector);
      const v = c.values;
      bindings.copy_data_to_vector(child, 0, v.buffer as ArrayBuffer, v.byteOffset + start * c.dim * 4, m * c.dim * 4);
      return;
    }
    case 'BLOB': {
      const w = c.bytesPerRow;
      for (let i = 0; i < m; i++) {
        const off = (start + i) * w;
        bindings.vector_assign_string_element_len(vector, i, c.values.subarray(off, off + w));
      }
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Reading.

export type ReadColumn =
  | { name: string; type: 'VARCHAR'; values: (string | null)[] }
  /** Any numeric DuckDB type except INTEGER/BOOLEAN, widened to double. nulls[i] = 1 where NULL. */
  | { name: string; type: 'DOUBLE'; values: Float64Array; nulls: Uint8Array | null }
  | { name: string; type: 'INTEGER'; values: Int32Array; nulls: Uint8Array | null }
  | { name: string; type: 'BOOLEAN'; values: Uint8Array; nulls: Uint8Array | null }
  /** ARRAY(FLOAT|DOUBLE, dim) as n × dim float32; a NULL array reads as NaNs with nulls[i] = 1. */
  | { name: string; type: 'FLOAT[]'; dim: number; values: Float32Array; nulls: Uint8Array | null }
  | { name: string; type: 'BLOB'; values: (Uint8Array | null)[] };

export interface ReadResult {
  n: number;
  columns: ReadColumn[];
}

type Reader = {
  read(vector: bindings.Vector, chunk: DuckDBDataChunk, ci: number, m: number, rowBase: number): void;
  finish(n: number): ReadColumn;
};

/** Byte size and typed-array view for fixed-width numeric DuckDB types. */
const NUMERIC: Partial<Record<DuckDBTypeId, { size: number; view: (b: ArrayBuffer, o: number, n: number) => ArrayLike<number | bigint> }>> = {
  [DuckDBTypeId.TINYINT]: { size: 1, view: (b, o, n) => new Int8Array(b, o, n) },
  [DuckDBTypeId.SMALLINT]: { size: 2, view: (b, o, n) => new Int16Array(b, o, n) },
  [DuckDBTypeId.BIGINT]: { size: 8, view: (b, o, n) => new BigInt64Array(b, o, n) },
  [DuckDBTypeId.UTINYINT]: { size: 1, view: (b, o, n) => new Uint8Array(b, o, n) },
  [DuckDBTypeId.USMALLINT]: { size: 2, view: (b, o, n) => new Uint16Array(b, o, n) },
  [DuckDBTypeId.UINTEGER]: { size: 4, view: (b, o, n) => new Uint32Array(b, o, n) },
  [DuckDBTypeId.UBIGINT]: { size: 8, view: (b, o, n) => new BigUint64Array(b, o, n) },
  [DuckDBTypeId.FLOAT]: { size: 4, view: (b, o, n) => new Float32Array(b, o, n) },
  [DuckDBTypeId.DOUBLE]: { size: 8, view: (b, o, n) => new Float64Array(b, o, n) },
};

/** Copies a vector's data buffer out (the binding returns a fresh, aligned copy). */
function vectorBytes(vector: bindings.Vector, bytes: number): Uint8Array {
  return bindings.vector_get_data(vector, bytes);
}

/** Null flags for m rows, or null when the vector has no NULLs. */
function readNulls(vector: bindings.Vector, m: number): Uint8Array | null {
  const words = Math.ceil(m / 64);
  const bits = bindings.vector_get_validity(vector, words * 8);
  if (!bits) return null;
  let out: Uint8Array | null = null;
  for (let i = 0; i < m; i++) {
    if ((bits[i >> 3] & (1 << (i & 7))) === 0) {
      out ??= new Uint8Array(m);
      out[i] = 1;
    }
  }
  return out;
}

/** Growable typed storage: chunks appended, concatenated once at the end. */
class Pieces<T extends Float64Array | Float32Array | Int32Array | Uint8Array> {
  parts: T[] = [];
  nullParts: { at: number; flags: Uint8Array }[] = [];
  constructor(private readonly make: (n: number) => T) {}
  push(p: T) {
    this.parts.push(p);
  }
  concat(total: number): T {
    if (this.parts.length === 1 && this.parts[0].length === total) return this.parts[0];
    const out = this.make(total);
    let off = 0;
    for (const p of this.parts) {
      out.set(p as any, off);
      off += p.length;
    }
    return out;
  }
  nulls(n: number): Uint8Array | null {
    if (!this.nullParts.length) return null;
    const out = new Uint8Array(n);
    for (const { at, flags } of this.nullParts) out.set(flags, at);
    return out;
  }
}

function makeReader(name: string, type: DuckDBType): Reader {
  const id = type.typeId;
  if (id === DuckDBTypeId.VARCHAR) {
    const values: (string | null)[] = [];
    return {
      read(_v, chunk, ci, m) {
        const vec = chunk.getColumnVector(ci);
        for (let i = 0; i < m; i++) values.push(vec.getItem(i) as string | null);
      },
      finish: () => ({ name, type: 'VARCHAR', values }),
    };
  }
  if (id === DuckDBTypeId.BLOB) {
    const values: (Uint8Array | null)[] = [];
    return {
      read(_v, chunk, ci, m) {
        const vec = chunk.getColumnVector(ci) as unknown as { getItemBytes(i: number): Uint8Array | null };
        // getItemBytes may return a view into the chunk: copy so it outlives the chunk.
        for (let i = 0; i < m; i++) {
          const b = vec.getItemBytes(i);
          values.push(b ? b.slice() : null);
        }
      },
      finish: () => ({ name, type: 'BLOB', values }),
    };
  }
  if (id === DuckDBTypeId.INTEGER || id === DuckDBTypeId.BOOLEAN) {
    const isInt = id === DuckDBTypeId.INTEGER;
    const pieces = isInt ? new Pieces<Int32Array>((n) => new Int32Array(n)) : new Pieces<Uint8Array>((n) => new Uint8Array(n));
    return {
      read(vector, _c, _ci, m, rowBase) {
        const b = vectorBytes(vector, m * (isInt ? 4 : 1));
        (pieces as Pieces<any>).push(isInt ? new Int32Array(b.buffer as ArrayBuffer, b.byteOffset, m) : new Uint8Array(b.buffer as ArrayBuffer, b.byteOffset, m));
        const nulls = readNulls(vector, m);
        if (nulls) pieces.nullParts.push({ at: rowBase, flags: nulls });
      },
      finish: (n) =>
        isInt
          ? { name, type: 'INTEGER', values: (pieces as Pieces<Int32Array>).concat(n), nulls: pieces.nulls(n) }
          : { name, type: 'BOOLEAN', values: (pieces as Pieces<Uint8Array>).concat(n), nulls: pieces.nulls(n) },
    };
  }
  const numeric = NUMERIC[id];
  if (numeric) {
    const pieces = new Pieces<Float64Array>((n) => new Float64Array(n));
    return {
      read(vector, _c, _ci, m, rowBase) {
        const b = vectorBytes(vector, m * numeric.size);
        const src = numeric.view(b.buffer as ArrayBuffer, b.byteOffset, m);
        const out = new Float64Array(m);
        for (let i = 0; i < m; i++) out[i] = Number(src[i]);
        pieces.push(out);
        const nulls = readNulls(vector, m);
        if (nulls) {
          for (let i = 0; i < m; i++) if (nulls[i]) out[i] = NaN;
          pieces.nullParts.push({ at: rowBase, flags: nulls });
        }
      },
      finish: (n) => ({ name, type: 'DOUBLE', values: pieces.concat(n), nulls: pieces.nulls(n) }),
    };
  }
  if (id === DuckDBTypeId.ARRAY) {
    const at = type as DuckDBArrayType;
    const vt = at.valueType.typeId;
    if (vt === DuckDBTypeId.FLOAT || vt === DuckDBTypeId.DOUBLE) {
      const dim = at.length;
      const pieces = new Pieces<Float32Array>((n) => new Float32Array(n));
      return {
        read(vector, _c, _ci, m, rowBase) {
          const child = bindings.array_vector_get_child(vector);
          let out: Float32Array;
          if (vt === DuckDBTypeId.FLOAT) {
            const b = vectorBytes(child, m * dim * 4);
            out = new Float32Array(b.buffer as ArrayBuffer, b.byteOffset, m * dim);
          } else {
            const b = vectorBytes(child, m * dim * 8);
            out = Float32Array.from(new Float64Array(b.buffer as ArrayBuffer, b.byteOffset, m * dim));
          }
          const nulls = readNulls(vector, m);
          if (nulls) {
            for (let i = 0; i < m; i++) if (nulls[i]) out.fill(NaN, i * dim, (i + 1) * dim);
            pieces.nullParts.push({ at: rowBase, flags: nulls });
          }
          pieces.push(out);
        },
        finish: (n) => ({ name, type: 'FLOAT[]', dim, values: pieces.concat(n * dim), nulls: pieces.nulls(n) }),
      };
    }
  }
  throw new SieveError(`cannot read column "${name}" of type ${type.toString()} into typed arrays (cast it in SQL)`, {
    where: name,
  });
}

/**
 * Runs `sql` and copies every column out chunk by chunk into typed arrays (strings into
 * string arrays). Lists must be cast to fixed-size arrays (`col::FLOAT[d]`) first.
 */
export async function queryColumns(conn: DuckDBConnection, sql: string, opts: { progress?: Progress } = {}): Promise<ReadResult> {
  const result = await conn.stream(sql);
  const names = result.columnNames();
  const readers = result.columnTypes().map((t, i) => makeReader(names[i], t));
  let n = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const m = chunk.rowCount;
    for (let ci = 0; ci < readers.length; ci++) {
      readers[ci].read(bindings.data_chunk_get_vector(chunk.chunk, ci), chunk, ci, m, n);
    }
    n += m;
    opts.progress?.tick(m);
  }
  return { n, columns: readers.map((r) => r.finish(n)) };
}

/** Runs a query returning one row and gives that row as a plain object (JSON-safe values). */
export async function queryRow(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown> | null> {
  const reader = await conn.runAndReadAll(sql);
  const rows = reader.getRowObjectsJS();
  return (rows[0] as Record<string, unknown>) ?? null;
}

/** Runs a query and returns all rows as plain objects (for small results only). */
export async function queryRows(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJS() as Record<string, unknown>[];
}
