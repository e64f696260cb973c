/**
 * IDX files (the MNIST family): a big-endian header — two zero bytes, a type byte, the number
 * of dimensions, then one uint32 size per dimension — followed by the raw values, row-major.
 * Files may be gzipped (as distributed); we detect that from the gzip magic, not the name.
 */
import { readFile } from 'node:fs/promises';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { SieveError } from '../../util/errors.ts';

export type IdxType = 'ubyte' | 'byte' | 'short' | 'int' | 'float' | 'double';
export type IdxValues = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  type: IdxType;
  /** Sizes per dimension, e.g. [60000, 28, 28] for an image file, [60000] for labels. */
  dims: number[];
  /** All values, row-major; for `ubyte` this is a view on the (decompressed) buffer. */
  data: IdxValues;
}

/** Type byte → element type and width (bytes), from the IDX specification. */
const TYPES: Record<number, { type: IdxType; width: number }> = {
  0x08: { type: 'ubyte', width: 1 },
  0x09: { type: 'byte', width: 1 },
  0x0b: { type: 'short', width: 2 },
  0x0c: { type: 'int', width: 4 },
  0x0d: { type: 'float', width: 4 },
  0x0e: { type: 'double', width: 8 },
};

/** More dimensions than this is certainly not an IDX file (MNIST uses 1 or 3). */
const MAX_DIMS = 8;

/** The largest IDX file (header + data, decompressed) sieve holds in memory: 2 GiB. */
export const MAX_IDX_BYTES = 2 ** 31;

/** Header + data bytes an IDX header declares, or undefined when `head` holds no complete header. */
function declaredBytes(head: Uint8Array): number | undefined {
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0 || !TYPES[head[2]] || head[3] < 1 || head[3] > MAX_DIMS) return undefined;
  const ndim = head[3];
  if (head.length < 4 + 4 * ndim) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let count = TYPES[head[2]].width;
  for (let i = 0; i < ndim; i++) count *= view.getUint32(4 + 4 * i, false);
  return 4 + 4 * ndim + count;
}

/**
 * Gunzips at most what the IDX header inside says the file holds: the header is read from
 * the first few kilobytes, and decompression stops as soon as the output would exceed it, so
 * a small gzip bomb is refused after a few megabytes, not gigabytes.
 */
function gunzipBounded(input: Uint8Array, source: string): Uint8Array {
  let head: Uint8Array;
  try {
    head = gunzipSync(input.subarray(0, 4096), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch {
    head = new Uint8Array(0);
  }
  const declared = declaredBytes(head);
  if (declared !== undefined && declared > MAX_IDX_BYTES)
    throw new SieveError(`IDX header declares ${declared} bytes of data; sieve reads IDX files of at most ${MAX_IDX_BYTES} bytes`, { where: source });
  // Without a readable header the file is not IDX; a little output is enough to say why.
  const limit = declared ?? 1 << 16;
  try {
    return gunzipSync(input, { maxOutputLength: Math.max(1, limit) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      if (declared === undefined) return head; // not IDX: the header checks below say so
      throw new SieveError(
        `gzip data decompresses to more than the ${declared} bytes its IDX header declares (trailing data, or a gzip bomb): refused`,
        { where: source },
      );
    }
    throw new SieveError(`gzip data is corrupt or truncated (${(err as Error).message})`, { where: source });
  }
}

/** True when the buffer starts with the gzip magic bytes 1f 8b. */
export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/**
 * Parses an IDX file held in memory (gzipped or not). `source` names the file in errors.
 * Rejects bad magic, unknown types, truncated data and trailing bytes with a SieveError that
 * says what was expected and what was found.
 */
export function parseIdx(input: Uint8Array, source = 'IDX input'): IdxArray {
  let buf = input;
  if (isGzip(buf)) buf = gunzipBounded(buf, source);
  if (buf.length < 4) {
    throw new SieveError(`file is too short for an IDX header: ${buf.length} bytes, need at least 4`, {
      where: source,
    });
  }
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new SieveError(
      `not an IDX file: magic starts with 0x${hex(buf[0])} 0x${hex(buf[1])}, expected 0x00 0x00`,
      { where: `${source}, byte 0` },
    );
  }
  const spec = TYPES[buf[2]];
  if (!spec) {
    throw new SieveError(
      `unknown IDX element type 0x${hex(buf[2])} (known: 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double)`,
      { where: `${source}, byte 2` },
    );
  }
  const ndim = buf[3];
  if (ndim < 1 || ndim > MAX_DIMS) {
    throw new SieveError(`IDX header declares ${ndim} dimensions; expected 1 to ${MAX_DIMS}`, {
      where: `${source}, byte 3`,
    });
  }
  const headerBytes = 4 + 4 * ndim;
  if (buf.length < headerBytes) {
    throw new SieveError(
      `truncated IDX header: ${ndim} dimensions need ${headerBytes} header bytes, file has ${buf.length}`,
      { where: source },
    );
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const size = view.getUint32(4 + 4 * i, false);
    dims.push(size);
    count *= size;
  }
  const expected = headerBytes + count * spec.width;
  if (!Number.isSafeInteger(expected)) {
    throw new SieveError(`IDX dimensions ${dims.join('×')} are implausibly large`, { where: source });
  }
  if (buf.length < expected) {
    throw new SieveError(
      `truncated IDX data: dimensions ${dims.join('×')} of ${spec.type} need ${expected} bytes ` +
        `(${headerBytes} header + ${count * spec.width} data), file has ${buf.length} ` +
        `(${expected - buf.length} missing)`,
      { where: source },
    );
  }
  if (buf.length > expected) {
    throw new SieveError(
      `trailing bytes after IDX data: dimensions ${dims.join('×')} of ${spec.type} need ${expected} bytes, ` +
        `file has ${buf.length} (${buf.length - expected} extra)`,
      { where: `${source}, byte ${expected}` },
    );
  }
  return { type: spec.type, dims, data: decode(buf, headerBytes, count, spec.type, view) };
}

/** Reads and parses an IDX file from disk. */
export async function readIdxFile(path: string): Promise<IdxArray> {
  let buf: Uint8Array;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new SieveError(`cannot read IDX file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
      where: path,
    });
  }
  return parseIdx(buf, path);
}

function decode(buf: Uint8Array, offset: number, count: number, type: IdxType, view: DataView): IdxValues {
  switch (type) {
    case 'ubyte':
      return buf.subarray(offset, offset + count);
    case 'byte':
      return new Int8Array(buf.buffer, buf.byteOffset + offset, count);
    case 'short': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case 'int': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case 'float': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case 'double': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0').toUpperCase();
}

/** Encodes values as an IDX file (uncompressed); used by tests and fixtures. */
export function encodeIdx(type: IdxType, dims: number[], values: ArrayLike<number>): Uint8Array {
  const code = Number(Object.keys(TYPES).find((k) => TYPES[Number(k)].type === type));
  const width = TYPES[code].width;
  const count = dims.reduce((a, b) => a * b, 1);
  if (values.length !== count) throw new RangeError(`encodeIdx: ${values.length} values for dims ${dims.join('×')}`);
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + count * width);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < count; i++) {
    const at = header + i * width, v = values[i];
    if (type === 'ubyte') view.setUint8(at, v);
    else if (type === 'byte') view.setInt8(at, v);
    else if (type === 'short') view.setInt16(at, v, false);
    else if (type === 'int') view.setInt32(at, v, false);
    else if (type === 'float') view.setFloat32(at, v, false);
    else view.setFloat64(at, v, false);
  }
  return out;
}
