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
  type Message,
  MessageReader,
  RecordBatchReader,
  Type,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
  type Data,
  type DataType,
} from 'apache-arrow';
import { SieveError } from '../util/errors.ts';
import { writeFileAtomically } from '../util/atomic.ts';
import { checkFooterMetadata, checkStreamMessages } from './arrow-check.ts';
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
  return decodeArrowIpc(bytes, path);
}

const ARROW_FILE_MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // "ARROW1"

/**
 * Decodes Arrow IPC bytes (file or stream format) from a source that may be damaged or
 * hostile. apache-arrow trusts what the bytes declare: a file footer whose block points at a
 * message that is not a record batch makes its file reader loop for ever, and a record batch
 * may declare more rows than its buffers hold. So a file's footer blocks are checked first
 * (inside the file, each a record batch or dictionary message), and every column's declared
 * length is checked against its buffers before anyone iterates over it.
 */
export function decodeArrowIpc(bytes: Uint8Array, where: string): Table {
  let table: Table;
  try {
    checkMetadata(bytes, where);
    checkFooterBlocks(bytes, where);
    table = tableFromIPC(bytes);
  } catch (err) {
    if (err instanceof SieveError) throw err;
    throw new SieveError(`not a readable Arrow IPC file (truncated or another format?): ${(err as Error).message.split('\n')[0]}`, { where });
  }
  for (const batch of table.batches) {
    table.schema.fields.forEach((f, i) => {
      const data = batch.data.children[i];
      const problem = data ? bufferProblem(data) : 'no data';
      if (problem)
        throw new SieveError(`damaged Arrow file: column "${f.name}" ${problem}`, {
          where,
          examples: [`a record batch of ${batch.numRows} rows`],
        });
    });
  }
  return table;
}

/** Bounds of the flatbuffer metadata: a file's footer and each block's message, or every message of a stream. */
function checkMetadata(bytes: Uint8Array, where: string): void {
  try {
    if (!ARROW_FILE_MAGIC.every((b, i) => bytes[i] === b)) {
      checkStreamMessages(bytes, 0);
      return;
    }
    const n = bytes.length;
    if (n < 18) throw new RangeError(`${n} bytes cannot hold an Arrow file's magic, footer and trailer`);
    const footerLen = new DataView(bytes.buffer, bytes.byteOffset, n).getInt32(n - 10, true);
    if (!(footerLen > 0 && footerLen <= n - 18)) throw new RangeError(`the footer length ${footerLen} does not fit the file`);
    checkFooterMetadata(bytes.subarray(n - 10 - footerLen, n - 10));
    const reader = RecordBatchReader.from(bytes);
    reader.open();
    const footer = reader.footer;
    if (!footer) return;
    const blocks = [
      ...Array.from({ length: footer.numDictionaries }, (_, i) => footer.getDictionaryBatch(i)),
      ...Array.from({ length: footer.numRecordBatches }, (_, i) => footer.getRecordBatch(i)),
    ];
    for (const b of blocks) {
      if (!b) throw new RangeError('a footer block is missing');
      const start = Number(b.offset);
      if (!(start >= 8 && start + b.metaDataLength <= n)) throw new RangeError(`a block at byte ${start} runs past the end of the file`);
      checkStreamMessages(bytes.subarray(start, start + b.metaDataLength), 0);
    }
  } catch (err) {
    if (err instanceof SieveError) throw err;
    throw new SieveError(`damaged Arrow file: ${(err as Error).message}`, { where });
  }
}

/** File format only: every block the footer lists lies inside the file and holds the message it should. */
function checkFooterBlocks(bytes: Uint8Array, where: string): void {
  if (!ARROW_FILE_MAGIC.every((b, i) => bytes[i] === b)) return; // the stream format has no footer
  const reader = RecordBatchReader.from(bytes);
  reader.open();
  const footer = reader.footer;
  if (!footer) return;
  const check = (kind: 'record batch' | 'dictionary', count: number, block: (i: number) => { offset: number; metaDataLength: number; bodyLength: number | bigint } | null, ok: (m: Message) => boolean) => {
    // A block takes 24 bytes of footer: a count beyond the file's size is a damaged length.
    if (!(count >= 0 && count * 24 <= bytes.length)) throw new SieveError(`damaged Arrow file: the footer lists ${count} ${kind} blocks`, { where });
    for (let i = 0; i < count; i++) {
      const b = block(i);
      const end = b ? Number(b.offset) + b.metaDataLength + Number(b.bodyLength) : NaN;
      const m = b && end <= bytes.length && b.offset >= 0 ? new MessageReader(bytes.subarray(Number(b.offset), end)).readMessage() : null;
      if (!m || !ok(m)) throw new SieveError(`damaged Arrow file: ${kind} block ${i} of the footer does not hold a ${kind}`, { where });
    }
  };
  check('record batch', footer.numRecordBatches, (i) => footer.getRecordBatch(i), (m) => m.isRecordBatch());
  check('dictionary', footer.numDictionaries, (i) => footer.getDictionaryBatch(i), (m) => m.isDictionaryBatch());
}

/** Why `data` cannot hold the values it declares, or null when its buffers are big enough. */
function bufferProblem(data: Data): string | null {
  const end = data.offset + data.length;
  const type = data.type;
  if (!(data.length >= 0 && data.offset >= 0)) return `declares a length of ${data.length}`;
  if (type.typeId === Type.Null) return null;
  if (data.nullCount > 0 && (!data.nullBitmap || data.nullBitmap.length * 8 < end)) return `declares ${data.length} values but its validity bitmap holds fewer`;
  const short = (have: number) => `declares ${data.length} values but its buffers hold ${Math.max(0, Math.floor(have))}`;
  switch (type.typeId) {
    case Type.Utf8:
    case Type.Binary:
    case Type.LargeUtf8:
    case Type.LargeBinary: {
      const off = data.valueOffsets;
      if (!off || off.length < end + 1) return short((off?.length ?? 1) - 1);
      const last = Number(off[end]);
      if (!(last >= 0 && last <= (data.values?.length ?? 0))) return `has value offsets past the end of its data (${last} > ${data.values?.length ?? 0})`;
      return null;
    }
    case Type.List:
    case Type.LargeList: {
      const off = data.valueOffsets;
      if (!off || off.length < end + 1) return short((off?.length ?? 1) - 1);
      const child = data.children[0];
      const last = Number(off[end]);
      if (!child || !(last >= 0 && last <= child.offset + child.length)) return 'has list offsets past the end of its values';
      return bufferProblem(child);
    }
    case Type.FixedSizeList: {
      const child = data.children[0];
      const size = (type as unknown as { listSize: number }).listSize;
      if (!child || child.offset + child.length < end * size) return short(child ? (child.offset + child.length) / Math.max(1, size) : 0);
      return bufferProblem(child);
    }
    case Type.Struct:
      for (const child of data.children) {
        if (child.offset + child.length < end) return short(child.offset + child.length);
        const p = bufferProblem(child);
        if (p) return p;
      }
      return null;
    case Type.Bool:
      return (data.values?.length ?? 0) * 8 < end ? short((data.values?.length ?? 0) * 8) : null;
    case Type.Dictionary: {
      if ((data.values?.length ?? 0) < end) return short(data.values?.length ?? 0);
      const dict = data.dictionary;
      return dict ? dict.data.map(bufferProblem).find((p) => p) ?? null : 'has no dictionary';
    }
    default: {
      // Fixed-width values (ints, floats, dates, times, decimals, fixed-size binary): `stride` elements per value.
      const stride = (data as unknown as { stride?: number }).stride ?? 1;
      const have = data.values?.length ?? 0;
      return have < end * stride ? short(have / Math.max(1, stride)) : null;
    }
  }
}
