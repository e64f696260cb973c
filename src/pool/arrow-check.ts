/**
 * Bounds checks of Arrow IPC metadata before apache-arrow decodes it. The metadata are
 * flatbuffers, read without bounds checks: a damaged vector length makes apache-arrow build
 * billions of field nodes or fields from whatever bytes follow (minutes of CPU, gigabytes).
 * This walks each message (and a file's footer) and checks that every table, vector and
 * string it holds lies inside the metadata, so a damaged file is refused in microseconds.
 * Layout: https://arrow.apache.org/docs/format/Columnar.html#serialization-and-interprocess-communication-ipc
 */

/** Why the flatbuffer `b` is not a well-formed Arrow Message (or Footer), or null. */
class Flatbuffer {
  private readonly v: DataView;
  constructor(private readonly b: Uint8Array) {
    this.v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  private fits(pos: number, n: number): boolean {
    return Number.isInteger(pos) && pos >= 0 && n >= 0 && pos + n <= this.b.length;
  }
  u32(pos: number): number {
    if (!this.fits(pos, 4)) throw new RangeError(`offset ${pos} outside the metadata`);
    return this.v.getUint32(pos, true);
  }
  /** Position of the table an offset at `pos` points to, with its vtable checked. */
  table(pos: number): number {
    const t = pos + this.u32(pos);
    const vt = t - this.v.getInt32(t, true);
    if (!this.fits(vt, 4)) throw new RangeError('vtable outside the metadata');
    const vtLen = this.v.getUint16(vt, true);
    const tLen = this.v.getUint16(vt + 2, true);
    if (!this.fits(vt, vtLen) || !this.fits(t, tLen)) throw new RangeError('table outside the metadata');
    return t;
  }
  /** Position of field `k` of the table at `t`, or 0 when absent. */
  field(t: number, k: number): number {
    const vt = t - this.v.getInt32(t, true);
    const vtLen = this.v.getUint16(vt, true);
    const at = 4 + 2 * k;
    if (at + 2 > vtLen) return 0;
    const off = this.v.getUint16(vt + at, true);
    return off ? t + off : 0;
  }
  u8(t: number, k: number): number {
    const p = this.field(t, k);
    if (!p) return 0;
    if (!this.fits(p, 1)) throw new RangeError('field outside the metadata');
    return this.b[p];
  }
  i64(t: number, k: number): number {
    const p = this.field(t, k);
    if (!p) return 0;
    if (!this.fits(p, 8)) throw new RangeError('field outside the metadata');
    return Number(this.v.getBigInt64(p, true));
  }
  /** Start and length of vector field `k` of elements `size` bytes each, bounds checked; null when absent. */
  vector(t: number, k: number, size: number): { start: number; length: number } | null {
    const p = this.field(t, k);
    if (!p) return null;
    const vec = p + this.u32(p);
    const length = this.u32(vec);
    if (!this.fits(vec + 4, length * size)) throw new RangeError(`a vector of ${length} elements runs past the metadata`);
    return { start: vec + 4, length };
  }
  /** Every table of vector-of-tables field `k`. */
  tables(t: number, k: number): number[] {
    const v = this.vector(t, k, 4);
    return v ? Array.from({ length: v.length }, (_, i) => this.table(v.start + 4 * i)) : [];
  }
  string(t: number, k: number): void {
    this.vector(t, k, 1);
  }
  /** The sub-table of field `k`, or 0 when absent. */
  sub(t: number, k: number): number {
    const p = this.field(t, k);
    return p ? this.table(p) : 0;
  }
}

const MAX_FIELD_DEPTH = 64;

function checkKeyValues(fb: Flatbuffer, t: number, k: number): void {
  for (const kv of fb.tables(t, k)) {
    fb.string(kv, 0);
    fb.string(kv, 1);
  }
}

function checkFields(fb: Flatbuffer, t: number, k: number, depth: number): void {
  if (depth > MAX_FIELD_DEPTH) throw new RangeError(`fields nested more than ${MAX_FIELD_DEPTH} deep`);
  for (const f of fb.tables(t, k)) {
    fb.string(f, 0); // name
    fb.sub(f, 3); // type
    const dict = fb.sub(f, 4);
    if (dict) fb.sub(dict, 1); // index type
    checkFields(fb, f, 5, depth + 1); // children
    checkKeyValues(fb, f, 6);
  }
}

function checkSchema(fb: Flatbuffer, s: number): void {
  checkFields(fb, s, 1, 0);
  checkKeyValues(fb, s, 2);
  fb.vector(s, 3, 8); // features
}

function checkRecordBatch(fb: Flatbuffer, rb: number): void {
  fb.vector(rb, 1, 16); // nodes: FieldNode structs
  fb.vector(rb, 2, 16); // buffers: Buffer structs
  fb.sub(rb, 3); // compression
  fb.vector(rb, 4, 8); // variadic buffer counts
}

/** Arrow's MessageHeader union tags. */
export const MESSAGE_SCHEMA = 1;
export const MESSAGE_DICTIONARY_BATCH = 2;
export const MESSAGE_RECORD_BATCH = 3;

/** Checks one IPC Message flatbuffer; returns its body length. */
export function checkMessageMetadata(meta: Uint8Array): number {
  return checkMessage(meta).body;
}

/** Checks one IPC Message flatbuffer; returns its header type (MESSAGE_*) and body length. */
export function checkMessage(meta: Uint8Array): { type: number; body: number } {
  const fb = new Flatbuffer(meta);
  const m = fb.table(0);
  const type = fb.u8(m, 1);
  const header = fb.sub(m, 2);
  if (header) {
    if (type === 1) checkSchema(fb, header);
    else if (type === 2) {
      const data = fb.sub(header, 1);
      if (data) checkRecordBatch(fb, data);
    } else if (type === 3) checkRecordBatch(fb, header);
  }
  checkKeyValues(fb, m, 4);
  const body = fb.i64(m, 3);
  if (!(body >= 0)) throw new RangeError(`a message body of ${body} bytes`);
  return { type, body };
}

/** A file footer's block: where a message starts, its metadata (with length prefix) and body sizes. */
export interface IpcBlock {
  offset: number;
  metaDataLength: number;
  bodyLength: number;
}

/** The dictionary and record batch blocks of a file Footer flatbuffer (checked with checkFooterMetadata first). */
export function footerBlocks(footer: Uint8Array): { dictionaries: IpcBlock[]; recordBatches: IpcBlock[] } {
  const fb = new Flatbuffer(footer);
  const v = new DataView(footer.buffer, footer.byteOffset, footer.byteLength);
  const f = fb.table(0);
  const blocks = (k: number): IpcBlock[] => {
    const vec = fb.vector(f, k, 24);
    if (!vec) return [];
    return Array.from({ length: vec.length }, (_, i) => {
      const at = vec.start + 24 * i;
      return { offset: Number(v.getBigInt64(at, true)), metaDataLength: v.getInt32(at + 8, true), bodyLength: Number(v.getBigInt64(at + 16, true)) };
    });
  };
  return { dictionaries: blocks(2), recordBatches: blocks(3) };
}

/** Checks a file Footer flatbuffer (schema and block vectors). */
export function checkFooterMetadata(footer: Uint8Array): void {
  const fb = new Flatbuffer(footer);
  const f = fb.table(0);
  const schema = fb.sub(f, 1);
  if (schema) checkSchema(fb, schema);
  fb.vector(f, 2, 24); // dictionary blocks
  fb.vector(f, 3, 24); // record batch blocks
  checkKeyValues(fb, f, 4);
}

/**
 * Walks the messages of an IPC stream starting at `pos` (continuation marker, metadata length,
 * metadata, body) and checks each one's metadata, up to the end-of-stream marker or the end.
 */
export function checkStreamMessages(b: Uint8Array, pos: number): void {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  while (pos + 4 <= b.length) {
    let len = v.getInt32(pos, true);
    pos += 4;
    if (len === -1) {
      if (pos + 4 > b.length) return;
      len = v.getInt32(pos, true);
      pos += 4;
    }
    if (len === 0) return; // end of stream
    if (len < 0 || pos + len > b.length) throw new RangeError(`a message of ${len} metadata bytes runs past the end of the file`);
    const body = checkMessageMetadata(b.subarray(pos, pos + len));
    pos += len + body;
  }
}
