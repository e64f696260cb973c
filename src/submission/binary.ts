/**
 * Columnar submissions: Parquet (read through DuckDB) and Arrow IPC (file or stream, read
 * through apache-arrow). Both must hold an `id` column of strings or integers (and `label`
 * for relabel); nulls are kept as null so that validation can report their rows.
 */
import { DuckDBInstance, DuckDBTypeId } from '@duckdb/node-api';
import { DataType, type Table } from 'apache-arrow';
import { decodeArrowIpc } from '../pool/arrow.ts';
import { moreRowsThanPool, sniffBinary } from './text.ts';
import { SubmissionError, type RawSubmission } from './types.ts';

const STRING_OR_INTEGER_DUCK = new Set<number>([
  DuckDBTypeId.VARCHAR,
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.ENUM,
]);

function checkMagic(bytes: Uint8Array, expected: 'parquet' | 'arrow', where: string): void {
  if (bytes.length === 0) throw new SubmissionError('empty', 'the submission file is empty (0 bytes)', { where });
  const real = sniffBinary(bytes);
  const isArrowStream = bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xff && bytes[2] === 0xff && bytes[3] === 0xff;
  if (expected === 'arrow' && (real === 'arrow' || isArrowStream)) return;
  if (expected === 'parquet' && real === 'parquet') {
    const n = bytes.length;
    if (n >= 12 && bytes[n - 4] === 0x50 && bytes[n - 3] === 0x41 && bytes[n - 2] === 0x52 && bytes[n - 1] === 0x31) return;
    throw new SubmissionError('wrong-format', 'the Parquet file is truncated (no closing PAR1 footer)', { where });
  }
  const what = real ? `a ${real} file` : 'not one (no magic bytes at the start)';
  throw new SubmissionError('wrong-format', `the file claims to be ${expected === 'arrow' ? 'Arrow IPC' : 'Parquet'} but is ${what}`, { where });
}

/** Longest id or label a Parquet submission may hold, in bytes. */
const MAX_VALUE_BYTES = 4096;

/** Decoded bytes a submission's id or label column may average per pool row (ids are short strings). */
const DECODED_BYTES_PER_ROW = 1024;

/** Parquet through DuckDB. The file is read in row order, one thread. */
export async function parseParquet(bytes: Uint8Array, path: string, where: string, limits: { maxRows?: number } = {}): Promise<RawSubmission> {
  checkMagic(bytes, 'parquet', where);
  // DuckDB's messages name the file it read: name it as the caller does (an upload's temporary copy is nobody's business).
  const said = (err: unknown) => (err as Error).message.split('\n')[0].split(path).join(where);
  // A second bound, for a footer that lies about its sizes: DuckDB's own memory limit.
  const instance = await DuckDBInstance.create(':memory:', { threads: '1', memory_limit: '512MB' });
  const conn = await instance.connect();
  try {
    const src = `read_parquet('${path.replaceAll("'", "''")}')`;
    let columns: string[];
    let types: number[];
    let typeNames: string[];
    try {
      const probe = await conn.run(`SELECT * FROM ${src} LIMIT 0`);
      columns = probe.columnNames();
      types = probe.columnTypes().map((t) => t.typeId);
      typeNames = probe.columnTypes().map((t) => t.toString());
    } catch (err) {
      throw new SubmissionError('wrong-format', `DuckDB cannot read the Parquet file: ${said(err)}`, { where });
    }
    // The footer says how many rows the pages hold. A few KB of compressed Parquet can hold
    // tens of millions of rows (a tryout's 39 KB file held 20 M ids, 100 s and 1.3 GB to read):
    // more rows than the pool has cannot be a valid submission, so it is refused unread.
    if (limits.maxRows !== undefined) {
      const meta = await conn.runAndReadAll(`SELECT coalesce(sum(num_rows), 0)::BIGINT FROM parquet_file_metadata('${path.replaceAll("'", "''")}')`).catch(() => null);
      const rows = meta ? Number(meta.getColumns()[0][0]) : NaN;
      if (rows > limits.maxRows) {
        throw new SubmissionError('over-budget', `the Parquet file holds ${rows} rows (from its footer); the pool has ${limits.maxRows} train rows, so no valid submission has more; it was not read`, {
          where,
          examples: [`rows in the file: ${rows}`, `train rows in the pool: ${limits.maxRows}`],
        });
      }
    }
    // The footer also says how large the id and label columns are once decompressed: 47 KB of
    // zstd held 1.5 GB of strings (a 3.3 GB peak to refuse it). A submission's column holds
    // short ids, so one past DECODED_BYTES_PER_ROW a pool row (or 64 MiB) is refused unread.
    const decodedCap = Math.max(64 << 20, (limits.maxRows ?? 0) * DECODED_BYTES_PER_ROW);
    const sizes = await conn.runAndReadAll(
      `SELECT path_in_schema, sum(total_uncompressed_size)::BIGINT FROM parquet_metadata('${path.replaceAll("'", "''")}') GROUP BY ALL`,
    ).catch(() => null);
    for (const [name, size] of (sizes?.getRows() ?? []) as [string, bigint][]) {
      if ((name === 'id' || name === 'label') && Number(size) > decodedCap)
        throw new SubmissionError('wrong-format', `the Parquet file's "${name}" column is ${Number(size)} bytes once decompressed (from its footer), more than a submission's ${decodedCap}; it was not read`, {
          where,
          examples: [`a submission's ids and labels are short strings: at most ${DECODED_BYTES_PER_ROW} bytes a row on average`],
        });
    }
    // Dictionary pages: the footer counts each distinct string once, so 1.4 KB holding 20,000
    // references to a 1 MB string passed the size check and decoded to 20 GB. The longest value
    // is measured in DuckDB (references, not copies) before any row is handed over.
    for (const name of ['id', 'label']) {
      if (!columns.includes(name) || !STRING_OR_INTEGER_DUCK.has(types[columns.indexOf(name)])) continue;
      const longest = await conn.runAndReadAll(`SELECT max(strlen(CAST("${name}" AS VARCHAR)))::BIGINT FROM ${src}`).catch(() => null);
      const chars = longest ? Number(longest.getColumns()[0][0] ?? 0) : 0;
      if (chars > MAX_VALUE_BYTES)
        throw new SubmissionError('wrong-format', `the Parquet file's "${name}" column holds a value of ${chars} bytes; a submission's ids and labels are at most ${MAX_VALUE_BYTES}; it was not read`, { where });
    }
    for (const name of ['id', 'label']) {
      const c = columns.indexOf(name);
      if (c >= 0 && !STRING_OR_INTEGER_DUCK.has(types[c])) {
        throw new SubmissionError('syntax', `column "${name}" has type ${typeNames[c]}; use VARCHAR or an integer type`, { where });
      }
    }
    const wanted = ['id', 'label'].filter((c) => columns.includes(c));
    const ids: (string | null)[] = [];
    const labels: (string | null)[] = [];
    let n = 0;
    // The probe reads only the footer; damaged pages (bad compression, invalid UTF-8 strings,
    // lengths past the end) surface while the rows are read.
    try {
      if (wanted.length) {
        const sel = wanted.map((c) => `CAST("${c}" AS VARCHAR)`).join(', ');
        const result = await conn.stream(`SELECT ${sel} FROM ${src}`);
        for (;;) {
          const chunk = await result.fetchChunk();
          if (!chunk || chunk.rowCount === 0) break;
          for (let c = 0; c < wanted.length; c++) {
            const v = chunk.getColumnVector(c);
            const out = wanted[c] === 'id' ? ids : labels;
            for (let i = 0; i < chunk.rowCount; i++) out.push(v.getItem(i) as string | null);
          }
          n += chunk.rowCount;
        }
      } else {
        const r = await conn.runAndReadAll(`SELECT count(*)::INTEGER FROM ${src}`);
        n = Number(r.getColumns()[0][0]);
      }
    } catch (err) {
      throw new SubmissionError('wrong-format', `DuckDB cannot read the Parquet file (damaged or truncated?): ${said(err)}`, { where });
    }
    if (n === 0) throw new SubmissionError('empty', 'the Parquet file has no rows', { where });
    return {
      format: 'parquet',
      columns,
      ids,
      labels: columns.includes('label') ? labels : null,
      origins: Int32Array.from({ length: n }, (_, i) => i + 1),
      originKind: 'row',
    };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

function arrowColumn(table: Table, name: string, where: string): (string | null)[] | null {
  const col = table.getChild(name);
  if (!col) return null;
  let type = col.type as DataType;
  if (DataType.isDictionary(type)) type = type.dictionary;
  if (!(DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isInt(type))) {
    throw new SubmissionError('syntax', `column "${name}" has Arrow type ${String(col.type)}; use a string or integer type`, { where });
  }
  const out: (string | null)[] = new Array(col.length);
  for (let i = 0; i < col.length; i++) {
    const v = col.get(i);
    out[i] = v === null || v === undefined ? null : String(v);
  }
  return out;
}

/** Arrow IPC, file ("ARROW1") or stream format. */
export function parseArrow(bytes: Uint8Array, where: string, limits: { maxRows?: number } = {}): RawSubmission {
  checkMagic(bytes, 'arrow', where);
  let table: Table;
  try {
    table = decodeArrowIpc(bytes, where);
  } catch (err) {
    throw new SubmissionError('wrong-format', `apache-arrow cannot read the file: ${(err as Error).message.split('\n')[0]}`, { where });
  }
  const columns = table.schema.fields.map((f) => f.name);
  const n = table.numRows;
  if (n === 0) throw new SubmissionError('empty', 'the Arrow file has no rows', { where });
  // Rows are counted from the batches' headers: more than the pool has are refused before any value is read.
  if (limits.maxRows !== undefined && n > limits.maxRows) throw moreRowsThanPool('Arrow', where, limits.maxRows, { rows: n });
  return {
    format: 'arrow',
    columns,
    ids: arrowColumn(table, 'id', where) ?? [],
    labels: arrowColumn(table, 'label', where),
    origins: Int32Array.from({ length: n }, (_, i) => i + 1),
    originKind: 'row',
  };
}
