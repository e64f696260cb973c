import { describe, expect, it } from 'vitest';
import { inflateSync } from 'node:zlib';
import { crc32, encodePng, pngDataUri } from '../src/report/png.ts';
import { createRng } from '../compute/rng.ts';

/** Independent PNG reader for the test: walks chunks, checks CRCs, inflates, un-filters type 0. */
function decode(png: Uint8Array) {
  expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let at = 8;
  const chunks: { type: string; data: Uint8Array }[] = [];
  while (at < png.length) {
    const len = view.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    const data = png.subarray(at + 8, at + 8 + len);
    expect(view.getUint32(at + 8 + len)).toBe(crc32(png, at + 4, at + 8 + len));
    chunks.push({ type, data });
    at += 12 + len;
  }
  expect(at).toBe(png.length);
  expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
  const ihdr = new DataView(chunks[0].data.buffer, chunks[0].data.byteOffset, 13);
  const width = ihdr.getUint32(0), height = ihdr.getUint32(4);
  const colourType = chunks[0].data[9];
  const channels = { 0: 1, 2: 3, 6: 4 }[colourType as 0 | 2 | 6];
  const raw = inflateSync(chunks[1].data);
  const stride = width * channels;
  expect(raw.length).toBe((stride + 1) * height);
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (stride + 1)]).toBe(0);
    pixels.set(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)), y * stride);
  }
  return { width, height, channels, bitDepth: chunks[0].data[8], pixels };
}

describe('PNG encoder', () => {
  it('computes the standard CRC-32 check values', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    // The CRC of an empty IEND chunk is fixed by the PNG spec: AE 42 60 82.
    expect(crc32(new TextEncoder().encode('IEND'))).toBe(0xae426082);
  });

  it.each([1, 3, 4] as const)('round-trips %i-channel images exactly', (channels) => {
    const rng = createRng(channels);
    const width = 28, height = 17;
    const data = new Uint8Array(width * height * channels);
    for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
    const out = decode(encodePng(width, height, channels, data));
    expect(out).toMatchObject({ width, height, channels, bitDepth: 8 });
    expect(Buffer.from(out.pixels).equals(Buffer.from(data))).toBe(true);
  });

  it('is deterministic and makes a base64 data URI', () => {
    const data = Uint8Array.from({ length: 64 }, (_, i) => i * 4);
    const a = pngDataUri(8, 8, 1, data);
    expect(a).toBe(pngDataUri(8, 8, 1, data));
    expect(a.startsWith('data:image/png;base64,')).toBe(true);
    const bytes = Buffer.from(a.slice('data:image/png;base64,'.length), 'base64');
    expect(Buffer.from(decode(bytes).pixels).equals(Buffer.from(data))).toBe(true);
  });

  it('refuses sizes that do not match the data', () => {
    expect(() => encodePng(4, 4, 1, new Uint8Array(15))).toThrow(/15 bytes, expected 4×4×1 = 16/);
    expect(() => encodePng(0, 4, 1, new Uint8Array(0))).toThrow(/positive/);
    expect(() => encodePng(2, 2, 2 as 1, new Uint8Array(8))).toThrow(/channels/);
  });
});
