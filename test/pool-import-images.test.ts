/**
 * `sieve pool import` of image folders (one sub-folder per class) and image lists (a CSV of
 * paths, `--kind COL=image`), decoded with sharp, on real Fashion-MNIST images written as PNG,
 * JPEG and WebP; and every kind of bad file reported in one run, with nothing written.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { importImages } from '../src/pool/import/images.ts';
import type { ImportProblems } from '../src/pool/import/problems.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { SieveError } from '../src/util/errors.ts';
import { fashionImageFolder } from './image-fixtures.ts';
import { sieve, tempDir } from './pool-helpers.ts';

const problemsOf = (err: unknown) => ((err as ImportProblems).problems ?? [{ message: (err as SieveError).message, examples: (err as SieveError).examples }]) as { message: string; count?: number; examples: string[] }[];

describe('image folder and image list import', () => {
  let dir: string;
  let folder: string;
  beforeAll(async () => {
    dir = tempDir('sieve-images-');
    folder = await fashionImageFolder(dir, { perClass: 12 });
  });

  it('imports a folder of class folders at the declared size, with ids from the paths and a stratified test split', async () => {
    const out = join(dir, 'grey');
    const notes: string[] = [];
    const m = await importImages({ input: folder, out, imageSize: { width: 28, height: 28, channels: 1 }, testFraction: 0.25, seed: 3, onNote: (n) => notes.push(n) });
    expect(m.classes).toEqual(['Bag', 'Sneaker', 'Trouser']);
    expect(m.features).toEqual([{ name: 'image', kind: 'pixels', width: 28, height: 28, channels: 1, description: 'grey pixels, 28×28×1' }]);
    expect(m.splits.train.rows + m.splits.test!.rows).toBe(36);
    expect(m.splits.test!.class_counts).toEqual({ Bag: 3, Sneaker: 3, Trouser: 3 });
    expect(notes.join('\n')).toMatch(/decoded 36 images \(.*png grey: 12.*\) to 28×28×1/);
    expect(m.datasheet.preprocessing).toMatch(/sharp 0\.35\.5 \(libvips [\d.]+\)/);
    // At its own size a lossless PNG comes back byte for byte: compare with the pool it came from.
    const pool = await openPool(out);
    const train = await readSplit(pool, 'train');
    const row = train.ids.findIndex((id) => id.startsWith('Trouser/') && id.endsWith('.png'));
    const sourceId = train.ids[row].slice('Trouser/'.length, -'.png'.length);
    const fashion = await readSplit(await openPool('fashion-mnist'), 'train', { ids: [sourceId] });
    expect(Array.from(train.pixels!.data.subarray(row * 784, (row + 1) * 784))).toEqual(Array.from(fashion.pixels!.data));
  });

  it('stores colour at another size, from the command line, and reads an image list', async () => {
    const out = join(dir, 'rgb');
    const r = sieve(['pool', 'import', folder, '--out', out, '--image-size', '16x16x3']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/image\s+│ pixels │ 16×16×3/);
    const train = await readSplit(await openPool(out), 'train');
    expect(train.n).toBe(36);
    expect(train.d).toBe(16 * 16 * 3);
    // A CSV of paths relative to it, with its own ids.
    const files = readdirSync(join(folder, 'Bag')).slice(0, 3).map((f) => `Bag/${f}`).concat(readdirSync(join(folder, 'Trouser')).slice(0, 3).map((f) => `Trouser/${f}`));
    writeFileSync(join(folder, 'list.csv'), 'id,label,file\n' + files.map((f, i) => `img-${i},${f.split('/')[0]},${f}`).join('\n') + '\n');
    const m = await importImages({ input: join(folder, 'list.csv'), pathColumn: 'file', out: join(dir, 'listed'), imageSize: { width: 28, height: 28, channels: 1 } });
    expect(m.splits.train).toEqual({ rows: 6, class_counts: { Bag: 3, Trouser: 3 } });
    expect((await readSplit(await openPool(join(dir, 'listed')), 'train', { columns: [] })).ids).toEqual(files.map((_, i) => `img-${i}`));
  });

  it('reports every bad file at once and writes nothing', async () => {
    const { default: sharp } = await import('sharp');
    const bad = join(dir, 'bad');
    mkdirSync(join(bad, 'a'), { recursive: true });
    mkdirSync(join(bad, 'b', 'deeper'), { recursive: true });
    mkdirSync(join(bad, 'c-empty'));
    for (const f of readdirSync(join(folder, 'Bag')).slice(0, 2)) copyFileSync(join(folder, 'Bag', f), join(bad, 'a', f));
    for (const f of readdirSync(join(folder, 'Sneaker')).slice(0, 2)) copyFileSync(join(folder, 'Sneaker', f), join(bad, 'b', f));
    const red = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#ff0000' } }).png().toBuffer();
    const blue = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#0000ff' } }).png().toBuffer();
    writeFileSync(join(bad, 'a', 'truncated.png'), red.subarray(0, 60));
    writeFileSync(join(bad, 'a', 'notes.png'), 'not an image at all\n');
    writeFileSync(join(bad, 'a', 'empty.jpg'), '');
    writeFileSync(join(bad, 'a', 'really-a-gif.png'), await sharp(red).gif().toBuffer());
    writeFileSync(join(bad, 'b', 'animated.webp'), await sharp([red, blue], { join: { animated: true } }).webp().toBuffer());
    writeFileSync(join(bad, 'b', 'red.png'), red);
    writeFileSync(join(bad, 'b', 'readme.txt'), 'x');
    writeFileSync(join(bad, 'stray.png'), red);
    writeFileSync(join(bad, 'a', '.DS_Store'), 'x');
    writeFileSync(join(dir, 'outside.png'), red);
    symlinkSync(join(dir, 'outside.png'), join(bad, 'b', 'link.png'));
    symlinkSync(join(bad, 'no-such-file.png'), join(bad, 'b', 'dangling.png'));
    const out = join(dir, 'bad-pool');
    const err = await importImages({ input: bad, out, imageSize: { width: 28, height: 28, channels: 1 } }).catch((e) => e);
    expect(err).toBeInstanceOf(SieveError);
    const found = Object.fromEntries(problemsOf(err).map((p) => [p.message, p.examples]));
    expect(found['files directly in the folder (every image goes in the folder of its class)']).toEqual(['stray.png']);
    expect(found['folders inside class folders (one level of class folders only)']).toEqual(['b/deeper/']);
    expect(found['class folders without an image (remove them, or declare every class with --classes to keep a class of no rows)']).toEqual(['c-empty/']);
    expect(found['files without an image extension (.png, .jpg, .jpeg, .webp)']).toEqual(['b/readme.txt']);
    expect(found['symbolic links to files outside the folder']).toEqual([`b/link.png → ${join(dir, 'outside.png')}`]);
    expect(found['unreadable files']).toEqual(['b/dangling.png (no such file)']);
    expect(found['empty files (0 bytes)']).toEqual(['a/empty.jpg']);
    expect(found['files that are not images sieve can read (PNG, JPEG, WebP)']).toEqual(['a/notes.png']);
    expect(found['corrupt or truncated images']).toEqual([expect.stringMatching(/^a\/truncated\.png \(corrupt header/)]);
    expect(found['images in a format other than PNG, JPEG or WebP']).toEqual(['a/really-a-gif.png (gif)']);
    expect(found['animated or multi-page images (give one still image per file)']).toEqual(['b/animated.webp (2 frames)']);
    expect(found['colour images, but --image-size declares 1 channel (grey): give WxHx3, or convert them first']).toEqual(['b/red.png (png rgb)']);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('bad-pool'))).toEqual([]);
  });

  it('refuses image-list paths outside the list\'s folder and names the lines', async () => {
    const list = join(folder, 'escape.csv');
    const one = `Bag/${readdirSync(join(folder, 'Bag'))[0]}`;
    writeFileSync(list, ['label,file', `Bag,${one}`, 'Bag,../outside.png', `Trouser,${join(dir, 'outside.png')}`, 'Trouser,Trouser/missing.png', `Bag,${one}`, ''].join('\n'));
    const err = await importImages({ input: list, pathColumn: 'file', out: join(dir, 'escape'), imageSize: { width: 8, height: 8, channels: 1 } }).catch((e) => e);
    const found = Object.fromEntries(problemsOf(err).map((p) => [p.message, p.examples]));
    expect(found[`image paths outside the list's folder (${folder})`]).toEqual(['line 3: "../outside.png"', `line 4: ${JSON.stringify(join(dir, 'outside.png'))}`]);
    expect(found['unreadable files']).toEqual(['line 5: Trouser/missing.png (no such file)']);
    expect(found['duplicate ids']).toEqual([`${JSON.stringify(one)} at line 2 and line 6`]);
    expect(existsSync(join(dir, 'escape'))).toBe(false);
    // Without --image-size the importer asks for it.
    await expect(importImages({ input: folder, out: join(dir, 'nosize') })).rejects.toThrow(/--image-size WIDTHxHEIGHTxCHANNELS/);
  });
});
