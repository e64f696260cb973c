/**
 * Binary tabular writers for the fuzzer: Arrow IPC (apache-arrow, file or stream format) and
 * Parquet (DuckDB COPY from SQL literals), each with its own type choices (dictionary strings,
 * 64-bit ids, fixed or variable lists, odd column types) and declared metadata.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import {
  Binary, Bool, DateDay, Dictionary, Field, FixedSizeList, Float32, Float64, Int32, Int64, Int8, List, Null, Struct, Table as ArrowTable, Utf8,
  RecordBatch, Schema, makeData, tableToIPC, vectorFromArray, type DataType, type Vector,
} from 'apache-arrow';
import { chance, pick, type Rng } from './random.ts';
import { isNested, isRaw, type Cell, type Column, type Table } from './table.ts';

/** Cell as a number when it is one (raw spellings carry their value in `num`). */
function asNumber(c: Cell): number | null | undefined {
  if (c === null) return null;
  if (typeof c === 'number') return c;
  if (isRaw(c)) return c.num;
  return undefined;
}

function asString(c: Cell): string | null {
  if (c === null) return null;
  if (isRaw(c)) return c.raw;
  if (isNested(c)) return '['.repeat(Math.min(c.nested, 1000)) + ']'.repeat(Math.min(c.nested, 1000));
  if (Array.isArray(c)) return `[${c.join(', ')}]`;
  if (typeof c === 'object') return '{}';
  return String(c);
}

const numericColumn = (c: Column) => c.values.every((v) => asNumber(v) !== undefined);
const listColumn = (c: Column) => c.values.every((v) => v === null || Array.isArray(v));

export type OddArrow = 'bool' | 'date' | 'struct' | 'binary-ragged' | 'null' | 'int64-huge' | 'nested-list';
export const ODD_ARROW: OddArrow[] = ['bool', 'date', 'struct', 'binary-ragged', 'null', 'int64-huge', 'nested-list'];

export interface ArrowOptions {
  stream: boolean;
  odd?: OddArrow;
  /** Schema metadata (e.g. a broken sieve.features) and per-field metadata. */
  metadata?: Record<string, string>;
  fieldMetadata?: Record<string, Record<string, string>>;
}

function arrowVector(rng: Rng, t: Table, c: Column): Vector {
  if (c.kind === 'embedding' && listColumn(c)) {
    const lens = new Set(c.values.map((v) => (v as number[] | null)?.length ?? -1));
    if (lens.size === 1 && !lens.has(-1) && chance(rng, 0.6)) {
      const dim = [...lens][0];
      return vectorFromArray(c.values as number[][], new FixedSizeList(dim, new Field('item', new Float32(), true)));
    }
    return vectorFromArray(c.values as (number[] | null)[], new List(new Field('item', new Float64(), true)));
  }
  if (c.kind !== 'embedding' && numericColumn(c) && !(c.kind === 'id' && !t.numericIds)) {
    const nums = c.values.map(asNumber) as (number | null)[];
    if (c.kind === 'id' || c.kind === 'integer') {
      if (nums.every((x) => x === null || Number.isSafeInteger(x))) {
        if (chance(rng, 0.3)) return vectorFromArray(nums.map((x) => (x === null ? null : BigInt(x))), new Int64());
        if (nums.every((x) => x === null || Math.abs(x) < 2 ** 31)) return vectorFromArray(nums, chance(rng, 0.2) && nums.every((x) => x === null || Math.abs(x) < 128) ? new Int8() : new Int32());
      }
    }
    return vectorFromArray(nums, chance(rng, 0.3) ? new Float32() : new Float64());
  }
  const strs = c.values.map(asString);
  return vectorFromArray(strs, chance(rng, 0.3) ? new Dictionary(new Utf8(), new Int32()) : new Utf8());
}

function oddArrowVector(rng: Rng, kind: OddArrow, n: number): Vector {
  switch (kind) {
    case 'bool':
      return vectorFromArray(Array.from({ length: n }, () => chance(rng, 0.5)), new Bool());
    case 'date':
      return vectorFromArray(Array.from({ length: n }, (_, i) => new Date(Date.UTC(2020, 0, 1 + i))), new DateDay());
    case 'struct':
      return vectorFromArray(Array.from({ length: n }, (_, i) => ({ a: i, b: `s${i}` })), new Struct([new Field('a', new Int32(), true), new Field('b', new Utf8(), true)]));
    case 'binary-ragged':
      return vectorFromArray(Array.from({ length: n }, (_, i) => new Uint8Array(1 + (i % 3))), new Binary());
    case 'null':
      return vectorFromArray(Array.from({ length: n }, () => null), new Null());
    case 'int64-huge':
      return vectorFromArray(Array.from({ length: n }, (_, i) => (i % 2 ? 9223372036854775807n : -9223372036854775808n)), new Int64());
    case 'nested-list':
      return vectorFromArray(Array.from({ length: n }, (_, i) => [[i], [i, i]]), new List(new Field('item', new List(new Field('item', new Int32(), true)), true)));
  }
}

export function toArrow(rng: Rng, t: Table, opts: ArrowOptions): Uint8Array {
  const fields: Field[] = [];
  const data: Vector[] = [];
  for (const c of t.columns) {
    const v = arrowVector(rng, t, c);
    const md = opts.fieldMetadata?.[c.name];
    fields.push(new Field(c.name, v.type as DataType, true, md ? new Map(Object.entries(md)) : undefined));
    data.push(v);
  }
  if (opts.odd) {
    const v = oddArrowVector(rng, opts.odd, t.n);
    fields.push(new Field(`odd_${opts.odd}`, v.type as DataType, true));
    data.push(v);
  }
  const table = buildArrowTable(fields, data, t.n, opts.metadata);
  return tableToIPC(table, opts.stream ? 'stream' : 'file');
}

/** Builds a table from fields and vectors directly (so duplicate names survive). */
function buildArrowTable(fields: Field[], vectors: Vector[], n: number, metadata?: Record<string, string>): ArrowTable {
  // A record of vectors loses duplicate names; a Schema + RecordBatch keeps them.
  const schema = new Schema(fields, metadata ? new Map(Object.entries(metadata)) : undefined);
  const children = vectors.map((v) => v.data[0]);
  const structData = makeData({ type: new Struct(fields), length: n, nullCount: 0, children });
  return new ArrowTable([new RecordBatch(schema, structData)]);
}


// ---------------------------------------------------------------------------------------
// Parquet through DuckDB.

export type OddParquet =
  | 'hugeint' | 'decimal' | 'timestamp' | 'date' | 'interval' | 'uuid' | 'map' | 'struct' | 'nested-list' | 'deep-list'
  | 'boolean' | 'ubigint-max' | 'blob' | 'enum' | 'union' | 'bit' | 'tinyint' | 'double-id' | 'blob-id' | 'bool-id';
export const ODD_PARQUET: OddParquet[] = [
  'hugeint', 'decimal', 'timestamp', 'date', 'interval', 'uuid', 'map', 'struct', 'nested-list', 'deep-list',
  'boolean', 'ubigint-max', 'blob', 'enum', 'union', 'bit', 'tinyint', 'double-id', 'blob-id', 'bool-id',
];

const sqlStr = (s: string) => `'${s.replaceAll("'", "''").replaceAll('\u0000', "' || chr(0) || '")}'`;
const sqlIdent = (s: string) => `"${s.replaceAll('"', '""')}"`;

function sqlDouble(x: number): string {
  if (Number.isNaN(x)) return `'nan'::DOUBLE`;
  if (x === Infinity) return `'inf'::DOUBLE`;
  if (x === -Infinity) return `'-inf'::DOUBLE`;
  if (Object.is(x, -0)) return `'-0.0'::DOUBLE`;
  return `${x.toExponential()}::DOUBLE`;
}

function columnSql(t: Table, c: Column, rng: Rng): string[] {
  if (c.kind === 'embedding' && listColumn(c)) {
    const lens = new Set(c.values.map((v) => (v as number[] | null)?.length ?? -1));
    // FLOAT cannot hold values beyond ±3.4e38: such lists are written as DOUBLE.
    const fitsFloat = c.values.every((v) => v === null || (v as number[]).every((x) => !Number.isFinite(x) || Math.abs(x) < 3e38));
    const fixed = lens.size === 1 && !lens.has(-1) && chance(rng, 0.5) ? `${fitsFloat ? 'FLOAT' : 'DOUBLE'}[${[...lens][0]}]` : chance(rng, 0.5) || !fitsFloat ? 'DOUBLE[]' : 'FLOAT[]';
    return c.values.map((v) => (v === null ? `NULL::${fixed}` : `[${(v as number[]).map(sqlDouble).join(', ')}]::${fixed}`));
  }
  if (c.kind !== 'embedding' && numericColumn(c) && !(c.kind === 'id' && !t.numericIds)) {
    const nums = c.values.map(asNumber) as (number | null)[];
    const ints = nums.every((x) => x === null || (Number.isSafeInteger(x) && !Object.is(x, -0)));
    const type = ints && (c.kind === 'id' || c.kind === 'integer') ? pick(rng, ['INTEGER', 'BIGINT', 'SMALLINT']) : 'DOUBLE';
    return nums.map((x) => (x === null ? `NULL::${type}` : type === 'DOUBLE' ? sqlDouble(x) : `${x}::${Math.abs(x) >= 2 ** 15 && type === 'SMALLINT' ? 'BIGINT' : type}`));
  }
  return c.values.map((v) => {
    const s = asString(v);
    return s === null ? 'NULL::VARCHAR' : `${sqlStr(s)}::VARCHAR`;
  });
}

function oddParquetSql(kind: OddParquet, i: number): { name: string; expr: string; replacesId?: boolean } {
  switch (kind) {
    case 'hugeint': return { name: 'h', expr: `${i % 2 ? '' : '-'}170141183460469231731687303715884105727::HUGEINT` };
    case 'decimal': return { name: 'dec', expr: `${i}.123456789::DECIMAL(38,10)` };
    case 'timestamp': return { name: 'ts', expr: `TIMESTAMP '2020-01-01 00:00:00' + INTERVAL ${i} HOUR` };
    case 'date': return { name: 'dt', expr: `DATE '2020-01-01' + ${i}` };
    case 'interval': return { name: 'iv', expr: `INTERVAL ${i} DAY` };
    case 'uuid': return { name: 'u', expr: `'00000000-0000-0000-0000-${String(i).padStart(12, '0')}'::UUID` };
    case 'map': return { name: 'm', expr: `MAP {'k': ${i}}` };
    case 'struct': return { name: 's', expr: `{'a': ${i}, 'b': 'x'}` };
    case 'nested-list': return { name: 'nl', expr: `[[${i}], [${i}, 1]]` };
    case 'deep-list': return { name: 'dl', expr: '['.repeat(40) + String(i) + ']'.repeat(40) };
    case 'boolean': return { name: 'b', expr: i % 2 ? 'true' : 'false' };
    case 'ubigint-max': return { name: 'ub', expr: '18446744073709551615::UBIGINT' };
    case 'blob': return { name: 'bl', expr: `'\\x00\\xFF${i}'::BLOB` };
    case 'enum': return { name: 'en', expr: `'${i % 2 ? 'a' : 'b'}'::ENUM('a', 'b')` };
    case 'union': return { name: 'un', expr: `union_value(num := ${i})::UNION(num INTEGER, str VARCHAR)` };
    case 'bit': return { name: 'bt', expr: `'0101'::BIT` };
    case 'tinyint': return { name: 'ti', expr: `${(i * 37) % 128}::TINYINT` };
    case 'double-id': return { name: 'id', expr: `${i % 3 === 0 ? i + 0.5 : i}::DOUBLE`, replacesId: true };
    case 'blob-id': return { name: 'id', expr: `'id${i}'::BLOB`, replacesId: true };
    case 'bool-id': return { name: 'id', expr: i % 2 ? 'true' : 'false', replacesId: true };
  }
}

export interface ParquetOptions {
  odd?: OddParquet;
  metadata?: Record<string, string>;
}

/** Writes `t` as Parquet through DuckDB into `scratch` and returns the bytes. */
export async function toParquet(conn: DuckDBConnection, scratch: string, name: string, rng: Rng, t: Table, opts: ParquetOptions): Promise<Uint8Array> {
  const cols = t.columns.map((c) => ({ name: c.name, cells: columnSql(t, c, rng) }));
  if (opts.odd) {
    const first = oddParquetSql(opts.odd, 0);
    const cells = Array.from({ length: t.n }, (_, i) => oddParquetSql(opts.odd!, i).expr);
    if (first.replacesId) {
      const idCol = cols.find((c) => c.name === 'id');
      if (idCol) idCol.cells = cells;
      else cols.push({ name: 'id', cells });
    } else cols.push({ name: first.name, cells });
  }
  // Duplicate column names are renamed by DuckDB's CREATE; COPY from a SELECT keeps them.
  // DuckDB has no empty identifiers, so it cannot write a column without a name.
  for (const c of cols) if (c.name === '') c.name = 'unnamed';
  const rows = Array.from({ length: t.n }, (_, i) => `(${cols.map((c) => c.cells[i]).join(', ')})`);
  const path = join(scratch, name);
  const select =
    cols.length === 0
      ? 'SELECT 1 AS one LIMIT 0'
      : rows.length === 0
        ? `SELECT ${cols.map((c) => `NULL AS ${sqlIdent(c.name)}`).join(', ')} LIMIT 0`
        : `SELECT ${cols.map((c, j) => `col${j} AS ${sqlIdent(c.name)}`).join(', ')} FROM (VALUES ${rows.join(', ')}) v(${cols.map((_, j) => `col${j}`).join(', ')})`;
  const kv = opts.metadata ? `, KV_METADATA {${Object.entries(opts.metadata).map(([k, v]) => `${sqlStr(k)}: ${sqlStr(v)}`).join(', ')}}` : '';
  await conn.run(`COPY (${select}) TO ${sqlStr(path)} (FORMAT parquet, COMPRESSION ${pick(rng, ['zstd', 'snappy', 'uncompressed'])}${kv})`);
  const bytes = new Uint8Array(readFileSync(path));
  rmSync(path);
  return bytes;
}
