/**
 * Arrow exchange: PoolSplit and pool columns to apache-arrow Tables (built straight from
 * the typed arrays, no row objects) and Arrow IPC files in and out.
 */
import { readFile } from 'node:fs/promises';
import {
  Field,
  FixedSizeBinary,
  FixedSizeList,
  Float32,
  Float64,
  Int32,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Utf8,
  makeData,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
  type Data,
  type DataType,
} from 'apache-arrow';
import { SieveError } from '../util/errors.ts';
import { writeFileAtomically } from '../util/atomic.ts';
import type { PoolSplit } from './types.ts';

export interface ArrowColumn {
  name: string;
  data: Data;
  nullable?: boolean;
  /** Field metadata (e.g. sieve.kind=pixels, sieve.width=28). */
  metadata?: Record<string, string>;
}

export function utf8Data(values: (string | null)[]): Data {
  return vectorFromArray(values, new Utf8()).data[0];
}

export function float64Data(values: Float64Array): Data {
  return makeData({ type: new Float64(), length: values.length, data: values });
}

export function int32Data(values: Int32Array): Data {
  return makeData({ type: new Int32(), length: values.length, data: values });
}

/** n × dim row-major floats as FixedSizeList<Float32>[dim]. */
export function float32ListData(values: Float32Array, dim: number): Data {
  const n = dim > 0 ? values.length / dim : 0;
  const child = makeData({ type: new Float32(), length: values.length, data: values });
  return makeData({ type: new FixedSizeList(dim, new Field('item', new Float32(), false)), length: n, nullCount: 0, child });
}

/** n × width row-major bytes as FixedSizeBinary[width]. */
export function fixedBinaryData(values: Uint8Array, width: number): Data {
  return makeData({ type: new FixedSizeBinary(width), length: values.length / width, nullCount: 0, data: values });
}

/** Assembles columns of equal length into one Table (a single record batch). */
export function columnsToTable(columns: ArrowColumn[], metadata?: Record<string, string>): Table {
  const n = columns[0]?.data.length ?? 0;
  for (const c of columns)
    if (c.data.length !== n) throw new SieveError(`arrow column "${c.name}" has ${c.data.length} rows, expected ${n}`);
  const fields = columns.map(
    (c) => new Field(c.name, c.data.type as DataType, c.nullable ?? c.data.nullCount > 0, c.metadata ? new Map(Object.entries(c.metadata)) : undefined),
  );
  const schema = new Schema(fields, metadata ? new Map(Object.entries(metadata)) : undefined);
  const struct = makeData({ type: new Struct(fields), length: n, nullCount: 0, children: columns.map((c) => c.data) });
  return new Table(schema, [new RecordBatch(schema, struct)]);
}

/**
 * A split as an Arrow table: `id`, `label` (class name), `label_index` (Int32), `features`
 * (FixedSizeList<Float32>[d], names in the field metadata), one Utf8 column per group, and
 * `pixels` (FixedSizeBinary) when the split has raw images.
 */
export function splitToArrow(split: PoolSplit): Table {
  const labelNames = Array.from(split.labels, (k) => split.classNames[k]);
  const cols: ArrowColumn[] = [
    { name: 'id', data: utf8Data(split.ids) },
    { name: 'label', data: utf8Data(labelNames) },
    { name: 'label_index', data: int32Data(split.labels) },
    {
      name: 'features',
      data: float32ListData(split.features, split.d),
      metadata: { 'sieve.feature_names': JSON.stringify(split.featureNames) },
    },
  ];
  if (split.pixels) {
    const p = split.pixels;
    cols.push({
      name: 'pixels',
      data: fixedBinaryData(p.data, p.width * p.height * p.channels),
      metadata: { 'sieve.kind': 'pixels', 'sieve.width': String(p.width), 'sieve.height': String(p.height), 'sieve.channels': String(p.channels) },
    });
  }
  for (const [g, values] of Object.entries(split.groups)) cols.push({ name: g, data: utf8Data(values), metadata: { 'sieve.role': 'group' } });
  return columnsToTable(cols, { 'sieve.split': split.split, 'sieve.classes': JSON.stringify(split.classNames) });
}

/** Writes a table as an Arrow IPC file (the random-access "file" format, .arrow). */
export async function writeArrowIpc(path: string, table: Table): Promise<void> {
  await writeFileAtomically(path, tableToIPC(table, 'file'));
}

/** Reads an Arrow IPC file or stream. */
export async function readArrowIpc(path: string): Promise<Table> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new SieveError(`cannot read Arrow file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { where: path });
  }
  if (bytes.length === 0) throw new SieveError('file is empty (0 bytes)', { where: path });
  try {
    return tableFromIPC(bytes);
  } catch (err) {
    throw new SieveError(`not a readable Arrow IPC file (truncated or another format?): ${(err as Error).message}`, { where: path });
  }
}
