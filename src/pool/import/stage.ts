/**
 * Staging: each input format is loaded into a DuckDB table in source order (so `rowid + 1`
 * is the 1-based record number), with a function that turns a record number back into
 * where it is in the file ("line 7", "row 3", "image 12") for error messages.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { Type, type Table as ArrowTable } from 'apache-arrow';
import { SieveError } from '../../util/errors.ts';
import { appendTable, quoteIdent, sqlString, type ColumnData } from '../duckdb.ts';
import type { FeatureSpec, GroupSpec } from '../manifest.ts';
import { readArrowIpc } from '../arrow.ts';
import { parseIdx } from '../formats/idx.ts';
import { parseArff } from '../formats/arff.ts';
import { assertUtf8, scanCsv } from './text-scan.ts';

export type ImportFormat = 'csv' | 'tsv' | 'parquet' | 'jsonl' | 'arrow' | 'idx' | 'arff';
export const IMPORT_FORMATS: ImportFormat[] = ['csv', 'tsv', 'parquet', 'jsonl', 'arrow', 'idx', 'arff'];

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
}

/** Guesses the format from the file name. */
export function detectFormat(path: string): ImportFormat {
  const name = basename(path).toLowerCase().replace(/\.gz$/, '');
  const ext = extname(name);
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  if (ext === '.arrow' || ext === '.feather' || ext === '.ipc') return 'arrow';
  if (ext === '.arff') return 'arff';
  if (ext === '.idx' || /-ubyte$/.test(name) || /idx\d/.test(name)) return 'idx';
  throw new SieveError(`cannot tell the format of "${basename(path)}" from its name`, {
    where: path,
    examples: [`pass --format ${IMPORT_FORMATS.join('|')}`],
  });
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SieveError(code === 'ENOENT' ? 'file not found' : `cannot read file (${code})`, { where: path });
  }
}

async function describeTable(conn: DuckDBConnection, table: string): Promise<{ name: string; type: string }[]> {
  const r = await conn.runAndReadAll(`SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ${sqlString(table)} ORDER BY column_index`);
  return r.getRows().map(([name, type]) => ({ name: String(name), type: String(type) }));
}

async function countRows(conn: DuckDBConnection, table: string): Promise<number> {
  const r = await conn.runAndReadAll(`SELECT count(*)::INTEGER FROM ${quoteIdent(table)}`);
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

/** CSV/TSV: checked byte by byte first (encoding, quotes, field counts), then parsed by DuckDB as text. */
export async function stageCsv(conn: DuckDBConnection, path: string, table: string, delimiter: string, format: 'csv' | 'tsv'): Promise<Staged> {
  const bytes = await readBytes(path);
  const scan = scanCsv(bytes, delimiter, path);
  // Every column as VARCHAR: type inference happens later, over all rows, with row numbers.
  const columns = `{${scan.header.map((h) => `${sqlString(h)}: 'VARCHAR'`).join(', ')}}`;
  try {
    await conn.run(
      `CREATE TABLE ${quoteIdent(table)} AS SELECT * FROM read_csv(${sqlString(path)}, header = true, auto_detect = false, ` +
        `columns = ${columns}, delim = ${sqlString(delimiter)}, quote = '"', escape = '"', strict_mode = true, encoding = 'utf-8')`,
    );
  } catch (err) {
    throw readerError(err, path, format.toUpperCase());
  }
  const rows = await countRows(conn, table);
  if (rows !== scan.records)
    throw new SieveError(`internal: DuckDB read ${rows} records, the scan found ${scan.records}`, { where: path });
  const lines = scan.lineOfRecord;
  return {
    table,
    path,
    format,
    rows,
    columns: await describeTable(conn, table),
    describe: (r) => `line ${lines[r - 1]}`,
    declared: {},
  };
}

/** JSON Lines: one object per line; blank lines skipped. */
export async function stageJsonl(conn: DuckDBConnection, path: string, table: string): Promise<Staged> {
  const bytes = await readBytes(path);
  if (bytes.length === 0) throw new SieveError('file is empty (0 bytes)', { where: path });
  assertUtf8(bytes, path);
  // Start line of each non-blank line: DuckDB's record k is the k-th of them.
  const lines: number[] = [];
  let line = 1;
  let blank = true;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 10) {
      if (!blank) lines.push(line);
      line++;
      blank = true;
    } else if (c !== 13 && c !== 32 && c !== 9) blank = false;
  }
  if (!blank) lines.push(line);
  if (lines.length === 0) throw new SieveError('file has no records (only blank lines)', { where: path });
  try {
    await conn.run(
      `CREATE TABLE ${quoteIdent(table)} AS SELECT * FROM read_json(${sqlString(path)}, format = 'newline_delimited', records = true, sample_size = -1, maximum_object_size = 134217728)`,
    );
  } catch (err) {
    throw readerError(err, path, 'JSON Lines');
  }
  const rows = await countRows(conn, table);
  if (rows !== lines.length)
    throw new SieveError(`expected ${lines.length} JSON records (one per non-blank line), DuckDB read ${rows}`, { where: path });
  return { table, path, format: 'jsonl', rows, columns: await describeTable(conn, table), describe: (r) => `line ${lines[r - 1]}`, declared: {} };
}

/** Parquet via DuckDB; field metadata written by `sieve pool export` restores feature kinds. */
export async function stageParquet(conn: DuckDBConnection, path: string, table: string): Promise<Staged> {
  const size = await stat(path).then((s) => s.size, () => -1);
  if (size < 0) throw new SieveError('file not found', { where: path });
  if (size === 0) throw new SieveError('file is empty (0 bytes)', { where: path });
  try {
    await conn.run(`CREATE TABLE ${quoteIdent(table)} AS SELECT * FROM read_parquet(${sqlString(path)})`);
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

/** Arrow IPC: columns converted from Arrow vectors and appended chunk-wise. */
export async function stageArrow(conn: DuckDBConnection, path: string, table: string): Promise<Staged> {
  const t: ArrowTable = await readArrowIpc(path);
  const n = t.numRows;
  if (n === 0) throw new SieveError('Arrow file has no rows', { where: path });
  const cols: ColumnData[] = [];
  const fromMeta = fromSieveMetadata(t.schema.metadata);
  const declared = fromMeta.declared;
  for (const field of t.schema.fields) {
    const vec = t.getChild(field.name)!;
    const type = field.type;
    const where = `${path}: column ${field.name}`;
    const nullRows = () => {
      const rows: number[] = [];
      for (let i = 0; i < n && rows.length < 5; i++) if (!vec.isValid(i)) rows.push(i + 1);
      return rows;
    };
    switch (type.typeId) {
      case Type.Utf8:
      case Type.LargeUtf8:
      case Type.Dictionary: {
        const values = Array.from({ length: n }, (_, i) => {
          const v = vec.get(i);
          return v === null || v === undefined ? null : String(v);
        });
        cols.push({ name: field.name, type: 'VARCHAR', values });
        break;
      }
      case Type.Int:
      case Type.Float:
      case Type.Decimal:
      case Type.Bool: {
        const values: (number | null)[] = new Array(n);
        for (let i = 0; i < n; i++) {
          const v = vec.get(i);
          values[i] = v === null || v === undefined ? null : Number(v);
        }
        cols.push({ name: field.name, type: 'DOUBLE', values });
        break;
      }
      case Type.FixedSizeList:
      case Type.List:
      case Type.LargeList: {
        const nulls = vec.nullCount > 0 ? nullRows() : [];
        if (nulls.length) throw new SieveError(`missing embeddings in column "${field.name}"`, { where, examples: nulls.map((r) => `row ${r}`) });
        const first = vec.get(0)!.length as number;
        const ragged: string[] = [];
        let raggedCount = 0;
        for (let i = 0; i < n; i++) {
          const len = vec.get(i)!.length as number;
          if (len !== first) {
            raggedCount++;
            if (ragged.length < 5) ragged.push(`row ${i + 1}: ${len} values`);
          }
        }
        if (raggedCount)
          throw new SieveError(`ragged embedding "${field.name}": row 1 has ${first} values, ${raggedCount} other rows differ`, {
            where,
            count: raggedCount,
            examples: ragged,
          });
        const values = new Float32Array(n * first);
        for (let i = 0; i < n; i++) {
          const row = vec.get(i)!;
          for (let j = 0; j < first; j++) {
            const x = row.get(j);
            values[i * first + j] = x === null || x === undefined ? NaN : Number(x);
          }
        }
        cols.push({ name: field.name, type: 'FLOAT[]', dim: first, values });
        if (!declared[field.name]) declared[field.name] = { kind: 'embedding', dim: first };
        break;
      }
      case Type.Binary:
      case Type.LargeBinary:
      case Type.FixedSizeBinary: {
        const nulls = vec.nullCount > 0 ? nullRows() : [];
        if (nulls.length) throw new SieveError(`missing values in binary column "${field.name}"`, { where, examples: nulls.map((r) => `row ${r}`) });
        const w = (vec.get(0) as Uint8Array).length;
        const values = new Uint8Array(n * w);
        for (let i = 0; i < n; i++) {
          const b = vec.get(i) as Uint8Array;
          if (b.length !== w)
            throw new SieveError(`binary column "${field.name}" has rows of different sizes`, { where, examples: [`row 1: ${w} bytes`, `row ${i + 1}: ${b.length} bytes`] });
          values.set(b, i * w);
        }
        cols.push({ name: field.name, type: 'BLOB', bytesPerRow: w, values });
        const md = field.metadata;
        if (md.get('sieve.kind') === 'pixels')
          declared[field.name] ??= {
            kind: 'pixels',
            width: Number(md.get('sieve.width')),
            height: Number(md.get('sieve.height')),
            channels: Number(md.get('sieve.channels') ?? 1),
          };
        break;
      }
      default:
        throw new SieveError(`column "${field.name}" has Arrow type ${type}, which sieve cannot import`, {
          where,
          examples: ['supported: strings, numbers, booleans, lists of numbers (embeddings), binary (pixels)'],
        });
    }
  }
  await appendTable(conn, table, { n, columns: cols });
  return { table, path, format: 'arrow', rows: n, columns: await describeTable(conn, table), describe: (r) => `row ${r}`, ...fromMeta, declared };
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
  const images = parseIdx(await readBytes(imagesPath), imagesPath);
  const labels = parseIdx(await readBytes(labelsPath), labelsPath);
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
  await appendTable(conn, table, {
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
  };
}

/** ARFF (Weka): nominal attributes keep their declared value order as categories. */
export async function stageArff(conn: DuckDBConnection, path: string, table: string): Promise<Staged> {
  const bytes = await readBytes(path);
  if (bytes.length === 0) throw new SieveError('file is empty (0 bytes)', { where: path });
  assertUtf8(bytes, path);
  const data = parseArff(new TextDecoder().decode(bytes), path);
  if (data.rows === 0) throw new SieveError('ARFF file has no @data rows', { where: path });
  const declared: Staged['declared'] = {};
  const cols: ColumnData[] = data.columns.map((c): ColumnData => {
    if (c.type === 'numeric') {
      const values: (number | null)[] = Array.from(c.values, (v, i) => (c.missing[i] ? null : v));
      return { name: c.name, type: 'DOUBLE', values };
    }
    if (c.type === 'nominal') declared[c.name] = { kind: 'categorical', categories: c.categories };
    return { name: c.name, type: 'VARCHAR', values: c.values };
  });
  await appendTable(conn, table, { n: data.rows, columns: cols });
  const lines = data.lineOfRow;
  return { table, path, format: 'arff', rows: data.rows, columns: await describeTable(conn, table), describe: (r) => `line ${lines[r - 1]}`, declared };
}
