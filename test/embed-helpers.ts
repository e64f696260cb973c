/**
 * Shared by the embedding tests: whether the optional embedding stack is installed (they skip
 * with the install command when it is not, and fail under CI, which must install it), the
 * committed tiny models, and a small real text pool (SpamAssassin messages from the built-in
 * pool, re-imported as a user would).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { embeddingStackInstalled, installCommand } from '../src/embed/runtime.ts';
import { queryRows, withDb } from '../src/pool/duckdb.ts';
import { importPool } from '../src/pool/import/index.ts';
import { sqlString } from '../src/pool/sql-text.ts';
import { openPool, readSplit } from '../src/pool/read.ts';

export const ROOT = join(import.meta.dirname, '..');
export const TINY_BERT = join(ROOT, 'test', 'fixtures', 'models', 'tiny-bert');
export const TINY_VIT = join(ROOT, 'test', 'fixtures', 'models', 'tiny-vit');

export const EMBED_STACK = embeddingStackInstalled();
if (!EMBED_STACK) {
  if (process.env.CI)
    throw new Error(`CI runs the embedding tests: the embedding stack is not installed (.ci/run installs it: ${installCommand()})`);
  console.warn(`skipping the embedding tests: the optional embedding stack is not installed; install it with: ${installCommand()}`);
}

/**
 * `ham` + `spam` messages of the built-in spam-assassin pool (the first of each class in file
 * order) as a JSON Lines file, imported with a stratified 25% test split.
 */
export async function spamTextPool(dir: string, opts: { ham?: number; spam?: number } = {}): Promise<string> {
  const file = join(ROOT, 'pools', 'spam-assassin', 'train.parquet');
  const rows = await withDb((conn) =>
    queryRows(
      conn,
      `SELECT id, label, text FROM (
         (SELECT id, label, text, file_row_number FROM read_parquet(${sqlString(file)}, file_row_number = true) WHERE label = 'ham' ORDER BY file_row_number LIMIT ${opts.ham ?? 120})
         UNION ALL
         (SELECT id, label, text, file_row_number FROM read_parquet(${sqlString(file)}, file_row_number = true) WHERE label = 'spam' ORDER BY file_row_number LIMIT ${opts.spam ?? 60})
       ) ORDER BY file_row_number`,
    ),
  );
  const jsonl = join(dir, 'messages.jsonl');
  writeFileSync(jsonl, rows.map((r) => JSON.stringify({ id: r.id, label: r.label, text: r.text })).join('\n') + '\n');
  const out = join(dir, 'spam-small');
  await importPool({ input: jsonl, out, kinds: { text: 'text' }, testFraction: 0.25, seed: 1 });
  return out;
}

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
