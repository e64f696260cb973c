import { deflateSync } from 'node:zlib';

/**
 * A minimal, exact PNG encoder for report thumbnails: 8-bit greyscale, RGB or RGBA, one IDAT
 * chunk, filter type 0 on every scanline. Deterministic (zlib level fixed), so the same pixels
 * always give the same bytes and the same data URI.
 */

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** PNG colour type per channel count: 1 = greyscale (0), 3 = RGB (2), 4 = RGBA (6). */
const COLOUR_TYPE: Record<number, number> = { 1: 0, 3: 2, 4: 6 };

let crcTable: Uint32Array | null = null;

function table(): Uint32Array {
  if (crcTable) return crcTable;
  crcTable = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crcTable[n] = c >>> 0;
  }
  return crcTable;
}

/** CRC-32 (ISO 3309, as PNG requires) over `bytes`. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const t = table();
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  // The CRC covers the chunk type and data, not the length.
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

/**
 * Encodes `data` (row-major height × width × channels bytes) as a PNG file.
 * Throws a RangeError when the sizes do not match, rather than drawing garbage.
 */
export function encodePng(width: number, height: number, channels: 1 | 3 | 4, data: Uint8Array): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`PNG size must be positive integers, got ${width}×${height}`);
  }
  const colourType = COLOUR_TYPE[channels];
  if (colourType === undefined) throw new RangeError(`PNG channels must be 1, 3 or 4, got ${channels}`);
  const stride = width * channels;
  if (data.length !== stride * height) {
    throw new RangeError(`PNG data has ${data.length} bytes, expected ${width}×${height}×${channels} = ${stride * height}`);
  }

  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = colourType;
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering (each line says its filter)
  ihdr[12] = 0; // no interlace

  // Every scanline starts with its filter byte; 0 = None keeps the encoder exact and tiny.
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0;
    raw.set(data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const idat = deflateSync(raw, { level: 9 });

  const parts = [SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** The PNG as a `data:` URI, to inline into a self-contained HTML page. */
export function pngDataUri(width: number, height: number, channels: 1 | 3 | 4, data: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(encodePng(width, height, channels, data)).toString('base64')}`;
}
