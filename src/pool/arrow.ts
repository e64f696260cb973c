/**
 * Arrow exchange: PoolSplit and pool columns to apache-arrow Tables (built straight from
 * the typed arrays, no row objects) and Arrow IPC files in and out.
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
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
import {
  MESSAGE_DICTIONARY_BATCH,
  MESSAGE_RECORD_BATCH,
  checkFooterMetadata,
  checkMessage,
  checkStreamMessages,
  footerBlocks,
} from './arrow-check.ts';
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
  for (const batch of table.batches) checkBatchBuffers(table.schema, batch, where);
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

/**
 * A record batch (or dictionary) body larger than this is refused before it is read: the
 * streaming reader holds one batch at a time, so this bounds its memory whatever the file's size.
 */
export const MAX_ARROW_BATCH_BYTES = 1 << 30;

/** An Arrow IPC file or stream opened for reading one record batch at a time. */
export interface ArrowBatches {
  schema: Schema;
  /** The record batches in file order, each checked against its buffers. */
  batches: AsyncIterable<RecordBatch>;
  close(): Promise<void>;
}

/**
 * Opens an Arrow IPC file (random-access format) or stream from disk and reads its record
 * batches one at a time, so memory holds one batch, not the file. Before anything is decoded,
 * the layout is checked from the metadata alone (a file's footer and every block it lists, or
 * every message of a stream: bounds, kinds, body sizes; see decodeArrowIpc for why), and each
 * batch's columns are checked against their buffers as it is read.
 */
export async function openArrowBatches(path: string): Promise<ArrowBatches> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new SieveError(`cannot read Arrow file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { where: path });
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await fh.close().catch(() => undefined);
  };
  const unreadable = (err: unknown) =>
    err instanceof SieveError ? err : new SieveError(`not a readable Arrow IPC file (truncated or another format?): ${String((err as Error)?.message ?? err).split('\n')[0]}`, { where: path });
  try {
    const { size } = await fh.stat();
    if (size === 0) throw new SieveError('file is empty (0 bytes)', { where: path });
    await checkIpcLayout(fh, size, path);
    const reader = await RecordBatchReader.from(fh).catch((err: unknown) => {
      throw unreadable(err);
    });
    try {
      await reader.open();
    } catch (err) {
      throw unreadable(err);
    }
    const schema = reader.schema;
    if (!schema) throw new SieveError('not a readable Arrow IPC file: it has no schema', { where: path });
    async function* batches(): AsyncGenerator<RecordBatch> {
      const it = reader[Symbol.asyncIterator]();
      for (;;) {
        let r: IteratorResult<RecordBatch>;
        try {
          r = await it.next();
        } catch (err) {
          throw unreadable(err);
        }
        if (r.done) return;
        checkBatchBuffers(schema, r.value, path);
        yield r.value;
      }
    }
    return { schema, batches: batches(), close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Reads `n` bytes at `pos` of an open file. */
async function readAt(fh: FileHandle, pos: number, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const { bytesRead } = await fh.read(buf, got, n - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** The metadata checks of checkMetadata and checkFooterBlocks, reading only the metadata from disk. */
async function checkIpcLayout(fh: FileHandle, size: number, where: string): Promise<void> {
  const damaged = (msg: string) => new SieveError(`damaged Arrow file: ${msg}`, { where });
  const tooBig = (kind: string, bytes: number) =>
    new SieveError(`an Arrow ${kind} of ${bytes} bytes is larger than sieve reads at once (${MAX_ARROW_BATCH_BYTES} bytes)`, {
      where,
      examples: ['write the file in smaller record batches (e.g. pyarrow: write_feather(df, path, chunksize=65536))'],
    });
  /** The message whose metadata (with its length prefix) is `meta`: type and body size, bounds checked. */
  const message = (meta: Uint8Array) => {
    const v = new DataView(meta.buffer, meta.byteOffset, meta.byteLength);
    let pos = 0;
    if (meta.length < 4) throw new RangeError('a message too short for its length prefix');
    let len = v.getInt32(0, true);
    pos = 4;
    if (len === -1) {
      if (meta.length < 8) throw new RangeError('a message too short for its length prefix');
      len = v.getInt32(4, true);
      pos = 8;
    }
    if (!(len > 0 && pos + len <= meta.length)) throw new RangeError(`a message of ${len} metadata bytes runs past its block`);
    return { ...checkMessage(meta.subarray(pos, pos + len)), metaBytes: pos + len };
  };
  const head = await readAt(fh, 0, 8);
  try {
    if (ARROW_FILE_MAGIC.every((b, i) => head[i] === b)) {
      if (size < 18) throw new RangeError(`${size} bytes cannot hold an Arrow file's magic, footer and trailer`);
      const trailer = await readAt(fh, size - 10, 10);
      const footerLen = new DataView(trailer.buffer, trailer.byteOffset, 10).getInt32(0, true);
      if (!(footerLen > 0 && footerLen <= size - 18)) throw new RangeError(`the footer length ${footerLen} does not fit the file`);
      const footer = await readAt(fh, size - 10 - footerLen, footerLen);
      checkFooterMetadata(footer);
      const { dictionaries, recordBatches } = footerBlocks(footer);
      const end = size - 10 - footerLen;
      for (const [kind, blocks, want] of [
        ['dictionary', dictionaries, MESSAGE_DICTIONARY_BATCH],
        ['record batch', recordBatches, MESSAGE_RECORD_BATCH],
      ] as const) {
        for (const [i, b] of blocks.entries()) {
          const { offset, metaDataLength, bodyLength } = b;
          if (!(offset >= 8 && metaDataLength > 0 && bodyLength >= 0 && offset + metaDataLength + bodyLength <= end))
            throw damaged(`${kind} block ${i} of the footer runs past the end of the file`);
          const m = message(await readAt(fh, offset, metaDataLength));
          if (m.type !== want) throw damaged(`${kind} block ${i} of the footer does not hold a ${kind}`);
          if (m.body > MAX_ARROW_BATCH_BYTES) throw tooBig(kind, m.body);
        }
      }
      return;
    }
    // The stream format: message after message up to the end-of-stream marker or the end.
    let pos = 0;
    while (pos + 4 <= size) {
      const prefix = await readAt(fh, pos, 8);
      const v = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
      let len = v.getInt32(0, true);
      let at = pos + 4;
      if (len === -1) {
        if (prefix.length < 8) return;
        len = v.getInt32(4, true);
        at = pos + 8;
      }
      if (len === 0) return; // end of stream
      if (len < 0 || at + len > size) throw new RangeError(`a message of ${len} metadata bytes runs past the end of the file`);
      const { type, body } = checkMessage(await readAt(fh, at, len));
      if ((type === MESSAGE_RECORD_BATCH || type === MESSAGE_DICTIONARY_BATCH) && body > MAX_ARROW_BATCH_BYTES)
        throw tooBig(type === MESSAGE_RECORD_BATCH ? 'record batch' : 'dictionary', body);
      if (at + len + body > size) throw new RangeError(`a message body of ${body} bytes runs past the end of the file`);
      pos = at + len + body;
    }
  } catch (err) {
    if (err instanceof SieveError) throw err;
    throw damaged((err as Error).message);
  }
}

/** Every column of `batch` holds the values it declares (see bufferProblem). */
function checkBatchBuffers(schema: Schema, batch: RecordBatch, where: string): void {
  schema.fields.forEach((f, i) => {
    const data = batch.data.children[i];
    const problem = data ? bufferProblem(data) : 'no data';
    if (problem)
      throw new SieveError(`damaged Arrow file: column "${f.name}" ${problem}`, {
        where,
        examples: [`a record batch of ${batch.numRows} rows`],
      });
  });
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
