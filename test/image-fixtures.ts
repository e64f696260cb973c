/** Image folders for the image-import and image-embedding tests, from real Fashion-MNIST images. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openPool, readSplit } from '../src/pool/read.ts';

/**
 * A folder of class folders holding real Fashion-MNIST images (the built-in pool's first
 * `perClass` rows of three classes), written as grey PNG, colour JPEG (the grey repeated
 * over R, G, B) and WebP with an alpha channel, so the importer sees three formats and modes.
 */
export async function fashionImageFolder(dir: string, opts: { perClass?: number } = {}): Promise<string> {
  const { default: sharp } = await import('sharp');
  const pool = await openPool('fashion-mnist');
  const split = await readSplit(pool, 'train', { limit: 2000 });
  const px = split.pixels!;
  const size = px.width * px.height * px.channels;
  const root = join(dir, 'fashion-images');
  const wanted: [string, 'png' | 'jpeg' | 'webp'][] = [['Trouser', 'png'], ['Bag', 'jpeg'], ['Sneaker', 'webp']];
  for (const [cls, format] of wanted) {
    const k = split.classNames.indexOf(cls);
    mkdirSync(join(root, cls), { recursive: true });
    let written = 0;
    for (let i = 0; i < split.n && written < (opts.perClass ?? 20); i++) {
      if (split.labels[i] !== k) continue;
      const grey = px.data.subarray(i * size, (i + 1) * size);
      const name = join(root, cls, `${split.ids[i]}.${format === 'jpeg' ? 'jpg' : format}`);
      if (format === 'png') await sharp(Buffer.from(grey), { raw: { width: px.width, height: px.height, channels: 1 } }).toColourspace('b-w').png().toFile(name);
      else if (format === 'jpeg') {
        const rgb = new Uint8Array(size * 3);
        for (let p = 0; p < size; p++) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = grey[p];
        await sharp(Buffer.from(rgb), { raw: { width: px.width, height: px.height, channels: 3 } }).jpeg({ quality: 95 }).toFile(name);
      } else {
        const rgba = new Uint8Array(size * 4);
        for (let p = 0; p < size; p++) [rgba[4 * p], rgba[4 * p + 1], rgba[4 * p + 2], rgba[4 * p + 3]] = [grey[p], grey[p], grey[p], 255];
        await sharp(Buffer.from(rgba), { raw: { width: px.width, height: px.height, channels: 4 } }).webp({ lossless: true }).toFile(name);
      }
      written++;
    }
  }
  return root;
}
