/**
 * Recipe of the built-in `fashion-mnist` pool: a stratified, seeded subset of Fashion-MNIST
 * (20,000 of the 60,000 training images, 5,000 of the 10,000 test images), raw 28×28 pixels
 * as a BLOB, ids that name the original index (`train-00042` is image 42 of the training IDX
 * file). With `full: true` it keeps every image (what `sieve pool build fashion-mnist` does).
 *
 *   node --import tsx pools/recipes/fashion-mnist.ts [--from DIR] [--out DIR]
 *
 * DIR holds the four IDX files, gzipped or not (Debian package dataset-fashion-mnist).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createRng, deriveSeed } from '../../compute/rng.ts';
import { readIdxFile, type IdxArray } from '../../src/pool/formats/idx.ts';
import type { ManifestDraft } from '../../src/pool/manifest.ts';
import { type PoolDraft, type TableData } from '../../src/pool/write.ts';
import { SieveError } from '../../src/util/errors.ts';
import { progressBar, type Progress } from '../../src/util/progress.ts';
import { DEV_DATA, padId, recipeMain, stratifiedSample, writeBuiltin } from './common.ts';

export const FASHION_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];
export const FASHION_SUBSET = { train: 20_000, test: 5_000 };
/** Seed of the subset draw; changing it changes the built-in pool. */
export const FASHION_SEED = 20170825;
export const FASHION_DEFAULT_FROM = join(DEV_DATA, 'fashion-mnist');
const SIDE = 28;
const PIXELS = SIDE * SIDE;

/** One split of the source: n images of 784 bytes and their class indices. */
export interface FashionSplit {
  n: number;
  pixels: Uint8Array;
  labels: Uint8Array;
}

export interface FashionSource {
  train: FashionSplit;
  test: FashionSplit;
}

/** The IDX file `base` in `dir`, gzipped or not. */
function findIdx(dir: string, base: string): string {
  for (const name of [`${base}.gz`, base]) if (existsSync(join(dir, name))) return join(dir, name);
  throw new SieveError(`Fashion-MNIST file ${base}[.gz] not found`, {
    where: dir,
    examples: ['the folder needs train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each optionally .gz)'],
  });
}

function checkShape(a: IdxArray, path: string, dims: number): void {
  if (a.type !== 'ubyte') throw new SieveError(`expected unsigned bytes, file holds ${a.type}`, { where: path });
  if (a.dims.length !== dims) throw new SieveError(`expected ${dims} dimensions, file has ${a.dims.length} (${a.dims.join('×')})`, { where: path });
}

async function readSplitIdx(dir: string, prefix: 'train' | 't10k'): Promise<FashionSplit> {
  const imgPath = findIdx(dir, `${prefix}-images-idx3-ubyte`);
  const lblPath = findIdx(dir, `${prefix}-labels-idx1-ubyte`);
  const [img, lbl] = await Promise.all([readIdxFile(imgPath), readIdxFile(lblPath)]);
  checkShape(img, imgPath, 3);
  checkShape(lbl, lblPath, 1);
  if (img.dims[1] !== SIDE || img.dims[2] !== SIDE)
    throw new SieveError(`expected 28×28 images, file has ${img.dims[1]}×${img.dims[2]}`, { where: imgPath });
  if (img.dims[0] !== lbl.dims[0])
    throw new SieveError(`${img.dims[0]} images but ${lbl.dims[0]} labels`, { where: `${imgPath}, ${lblPath}` });
  const labels = lbl.data as Uint8Array;
  const bad: string[] = [];
  for (let i = 0; i < labels.length && bad.length < 5; i++) if (labels[i] >= FASHION_CLASSES.length) bad.push(`row ${i}: ${labels[i]}`);
  if (bad.length) throw new SieveError('labels outside 0-9', { where: lblPath, examples: bad });
  return { n: img.dims[0], pixels: img.data as Uint8Array, labels };
}

/** Reads and checks the four IDX files in `dir`. */
export async function loadFashionSource(dir: string): Promise<FashionSource> {
  if (!existsSync(dir)) throw new SieveError('Fashion-MNIST folder not found (pass --from DIR holding the four IDX files)', { where: dir });
  return { train: await readSplitIdx(dir, 'train'), test: await readSplitIdx(dir, 't10k') };
}

/** Row indices of the built-in subset: stratified by class, seeded, ascending. */
export function fashionSubsetRows(src: FashionSource): { train: Int32Array; test: Int32Array } {
  const k = FASHION_CLASSES.length;
  return {
    train: stratifiedSample(src.train.labels, k, FASHION_SUBSET.train, createRng(deriveSeed(FASHION_SEED, 'fashion-mnist', 'train'))),
    test: stratifiedSample(src.test.labels, k, FASHION_SUBSET.test, createRng(deriveSeed(FASHION_SEED, 'fashion-mnist', 'test'))),
  };
}

/** All indices 0..n−1. */
export function allRows(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/**
 * A pool table of the chosen rows: ids name the original index, `labels` overrides the
 * source labels (fashion-debug passes noisy ones).
 */
export function fashionTable(split: FashionSplit, rows: Int32Array, idPrefix: 'train' | 'test', labels?: Int32Array): TableData {
  const pixels = new Uint8Array(rows.length * PIXELS);
  for (let r = 0; r < rows.length; r++) pixels.set(split.pixels.subarray(rows[r] * PIXELS, (rows[r] + 1) * PIXELS), r * PIXELS);
  return {
    n: rows.length,
    columns: [
      { name: 'id', type: 'VARCHAR', values: Array.from(rows, (i) => padId(idPrefix, i, 5)) },
      { name: 'label', type: 'VARCHAR', values: Array.from(rows, (i, r) => FASHION_CLASSES[labels ? labels[r] : split.labels[i]]) },
      { name: 'pixels', type: 'BLOB', bytesPerRow: PIXELS, values: pixels },
    ],
  };
}

export const FASHION_PIXELS_FEATURE = {
  name: 'pixels',
  kind: 'pixels' as const,
  width: SIDE,
  height: SIDE,
  channels: 1,
  description: '28×28 greyscale, row-major, one byte per pixel (0 = background); the reader scales to [0, 1]',
};

export const FASHION_CITATION =
  'Han Xiao, Kashif Rasul, Roland Vollgraf. Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms. arXiv:1708.07747, 2017.';
export const FASHION_SOURCE =
  'Fashion-MNIST by Zalando Research (https://github.com/zalandoresearch/fashion-mnist), IDX files as packaged by Debian (dataset-fashion-mnist)';

/** Manifest fields shared by every pool made of Fashion-MNIST images (fashion-mnist, fashion-debug). */
export const FASHION_MANIFEST_FIELDS = {
  licence: 'MIT',
  citation: FASHION_CITATION,
  task: 'classification' as const,
  id_column: 'id',
  label_column: 'label',
  classes: FASHION_CLASSES,
  features: [FASHION_PIXELS_FEATURE],
  groups: [],
} satisfies Partial<ManifestDraft>;

export function fashionManifest(full: boolean): ManifestDraft {
  const train = full ? 60_000 : FASHION_SUBSET.train;
  const test = full ? 10_000 : FASHION_SUBSET.test;
  return {
    name: full ? 'fashion-mnist-full' : 'fashion-mnist',
    version: '1',
    description: full
      ? 'Fashion-MNIST, all 60,000 training and 10,000 test images (28×28 greyscale, 10 clothing classes).'
      : 'Fashion-MNIST, a stratified seeded subset: 20,000 training and 5,000 test images (28×28 greyscale, 10 clothing classes).',
    source: FASHION_SOURCE,
    ...FASHION_MANIFEST_FIELDS,
    datasheet: {
      motivation: 'A drop-in, harder replacement for MNIST; here the default image pool for selection and label-debugging challenges.',
      composition:
        `${train} train rows from the 60,000-image training file and ${test} test rows from the 10,000-image test file; ` +
        (full ? 'every image, in file order. ' : `${train / 10} / ${test / 10} per class (the source is balanced), drawn with seed ${FASHION_SEED}, kept in file order. `) +
        'Ids train-NNNNN / test-NNNNN give the index in the original IDX file.',
      collection: "Zalando's article images, converted to 28×28 greyscale by the dataset authors.",
      preprocessing: 'None: raw bytes as in the IDX files. Labels are the class names of the dataset documentation.',
      uses: 'Data selection (fashion-select), label-error ranking (fashion-debug), duplicate and imbalance audits.',
      known_issues: [
        'Shirt, T-shirt/top, Pullover and Coat are easily confused; some original labels are debatable.',
        'No group (sensitive attribute) columns: the images carry no information about people.',
      ],
    },
    recipe: 'pools/recipes/fashion-mnist.ts',
  };
}

/** The draft of the built-in subset (default) or the full data set. */
export function fashionMnistDraft(src: FashionSource, opts: { full?: boolean } = {}): PoolDraft {
  const rows = opts.full ? { train: allRows(src.train.n), test: allRows(src.test.n) } : fashionSubsetRows(src);
  return {
    manifest: fashionManifest(!!opts.full),
    tables: { train: fashionTable(src.train, rows.train, 'train'), test: fashionTable(src.test, rows.test, 'test') },
  };
}

export interface BuildOptions {
  from?: string;
  out?: string;
  full?: boolean;
  overwrite?: boolean;
  progress?: Progress;
}

/**
 * zstd level: 19 for the committed subset (size counts against the 15 MB budget of pools/),
 * 9 for the full set, which users build locally and where speed matters more.
 */
export const FASHION_ZSTD_LEVEL = { subset: 19, full: 9 };

export async function buildFashionMnist(opts: BuildOptions = {}) {
  const src = await loadFashionSource(opts.from ?? FASHION_DEFAULT_FROM);
  const draft = fashionMnistDraft(src, { full: opts.full });
  return writeBuiltin(draft, opts, opts.full ? FASHION_ZSTD_LEVEL.full : FASHION_ZSTD_LEVEL.subset);
}

await recipeMain(import.meta.url, buildFashionMnist, progressBar);
