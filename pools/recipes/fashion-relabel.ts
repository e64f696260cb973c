/**
 * Recipe of the built-in `fashion-relabel` pool (the fashion-relabel challenge: send up to
 * 300 label corrections). 2,000 training rows of the built-in fashion-mnist pool, drawn
 * stratified and seeded, with 20% of their labels flipped on purpose (exactly 400 rows, each
 * to the class annotators confuse it with, RELABEL_CONFUSED_WITH), and a stratified 2,000 of
 * its 5,000 test rows, so the committed pools stay within their size budget. Participants see the noisy labels;
 * truth.parquet and the test split are evaluator-only. Ids are those of fashion-mnist.
 *
 *   node --import tsx pools/recipes/fashion-relabel.ts [--from DIR] [--out DIR]
 */
import { createRng, deriveSeed } from '../../compute/rng.ts';
import type { ManifestDraft } from '../../src/pool/manifest.ts';
import { type PoolDraft, type TableData } from '../../src/pool/write.ts';
import { type BuiltinOptions, padId, recipeMain, stratifiedSample, writeBuiltin } from './common.ts';
import {
  FASHION_CLASSES,
  FASHION_DEFAULT_FROM,
  FASHION_MANIFEST_FIELDS,
  FASHION_SOURCE,
  fashionSubsetRows,
  fashionTable,
  loadFashionSource,
  type FashionSource,
} from './fashion-mnist.ts';

export const RELABEL_TRAIN_ROWS = 2000;
export const RELABEL_TEST_ROWS = 2000;
export const RELABEL_NOISE_RATE = 0.2;
/**
 * The class a flipped label goes to: the one annotators confuse it with (Fashion-MNIST's
 * well-known confusions: tops among themselves, footwear among itself). Class-conditional
 * noise like this moves the decision boundaries, where uniform flips mostly add blur.
 */
export const RELABEL_CONFUSED_WITH: Record<string, string> = {
  'T-shirt/top': 'Shirt',
  Shirt: 'T-shirt/top',
  Pullover: 'Coat',
  Coat: 'Pullover',
  Trouser: 'Dress',
  Dress: 'Trouser',
  Sandal: 'Sneaker',
  Sneaker: 'Ankle boot',
  'Ankle boot': 'Sandal',
  Bag: 'Pullover',
};

/**
 * Flips exactly round(rate × n) labels, chosen uniformly, each to its class's confusable
 * partner (RELABEL_CONFUSED_WITH). Returns the noisy labels and a 0/1 flag per row.
 */
export function confusableNoise(clean: Int32Array, rate: number, seed: number): { noisy: Int32Array; flipped: Uint8Array } {
  const partner = FASHION_CLASSES.map((c) => FASHION_CLASSES.indexOf(RELABEL_CONFUSED_WITH[c]));
  const order = createRng(seed).permutation(clean.length);
  const flips = Math.round(rate * clean.length);
  const noisy = clean.slice();
  const flipped = new Uint8Array(clean.length);
  for (let i = 0; i < flips; i++) {
    noisy[order[i]] = partner[clean[order[i]]];
    flipped[order[i]] = 1;
  }
  return { noisy, flipped };
}
/** Seed of the row draws and of the noise; changing it changes the built-in pool. */
export const RELABEL_SEED = 20240607;

export interface RelabelDraw {
  /** Positions (ascending) into the candidate train / test rows. */
  trainPos: Int32Array;
  testPos: Int32Array;
  clean: Int32Array;
  noisy: Int32Array;
  flipped: Uint8Array;
}

/**
 * The fashion-relabel draw among the rows of the fashion-mnist pool (labels in pool order):
 * the built-in pool uses RELABEL_SEED, its hidden variants (pools/recipes/variants.ts) others.
 */
export function fashionRelabelDraw(trainLabels: ArrayLike<number>, testLabels: ArrayLike<number>, seed: number): RelabelDraw {
  const k = FASHION_CLASSES.length;
  const trainPos = stratifiedSample(trainLabels, k, RELABEL_TRAIN_ROWS, createRng(deriveSeed(seed, 'fashion-relabel', 'train')));
  const testPos = stratifiedSample(testLabels, k, RELABEL_TEST_ROWS, createRng(deriveSeed(seed, 'fashion-relabel', 'test')));
  const clean = Int32Array.from(trainPos, (p) => trainLabels[p]);
  const { noisy, flipped } = confusableNoise(clean, RELABEL_NOISE_RATE, deriveSeed(seed, 'fashion-relabel', 'noise'));
  return { trainPos, testPos, clean, noisy, flipped };
}

/** truth.parquet of a noisy draw: every train row's clean label and whether it was flipped. */
export function truthTable(ids: string[], clean: Int32Array, flipped: Uint8Array): TableData {
  return {
    n: ids.length,
    columns: [
      { name: 'id', type: 'VARCHAR', values: ids },
      { name: 'clean_label', type: 'VARCHAR', values: Array.from(clean, (c) => FASHION_CLASSES[c]) },
      { name: 'noisy', type: 'BOOLEAN', values: flipped },
    ],
  };
}

/** The manifest of a fashion-relabel pool (the built-in one, or a variant with `seed`). */
export function fashionRelabelManifest(name: string, seed: number, flipped: number, source: string): ManifestDraft {
  return {
    name,
    version: '1',
    description: `${RELABEL_TRAIN_ROWS.toLocaleString('en')} Fashion-MNIST training images with ${RELABEL_NOISE_RATE * 100}% of the labels flipped on purpose; send up to 300 corrections (fashion-relabel challenge).`,
    source,
    ...FASHION_MANIFEST_FIELDS,
    datasheet: {
      motivation: 'A label-correction benchmark: find wrong labels and say what they should be, under a budget smaller than the number of errors.',
      composition:
        `${RELABEL_TRAIN_ROWS} train rows (${RELABEL_TRAIN_ROWS / 10} per class by clean label) and ${RELABEL_TEST_ROWS} test rows (clean labels), ` +
        `drawn stratified with seed ${seed} from the 20,000 train and 5,000 test rows of the fashion-mnist pool.`,
      collection: 'As fashion-mnist.',
      preprocessing: `Labels of ${flipped} train rows replaced by the class each is most confused with (${Object.entries(RELABEL_CONFUSED_WITH).map(([a, b]) => `${a} → ${b}`).join(', ')}).`,
      uses: 'Relabel submissions: (id, label) corrections; the evaluator applies them, trains on every row and scores on the test split.',
      known_issues: [
        `${flipped} of ${RELABEL_TRAIN_ROWS} train labels are wrong on purpose, more than the 300 corrections a submission may send; truth.parquet (evaluator-only) has the clean labels.`,
        'Some clean labels of Fashion-MNIST itself are debatable; those count as clean here.',
      ],
      injected: {
        kind: 'class-conditional label noise (each flip to a confusable class)',
        rate: RELABEL_NOISE_RATE,
        confused_with: RELABEL_CONFUSED_WITH,
        rows_flipped: flipped,
        seed,
        seed_tags: 'fashion-relabel/train, fashion-relabel/test, fashion-relabel/noise',
      },
    },
    recipe: 'pools/recipes/fashion-relabel.ts',
  };
}

export function fashionRelabelDraft(src: FashionSource): PoolDraft {
  const subset = fashionSubsetRows(src);
  const trainLabels = Int32Array.from(subset.train, (i) => src.train.labels[i]);
  const testLabels = Int32Array.from(subset.test, (i) => src.test.labels[i]);
  const d = fashionRelabelDraw(trainLabels, testLabels, RELABEL_SEED);
  const rows = Int32Array.from(d.trainPos, (p) => subset.train[p]);
  const testRows = Int32Array.from(d.testPos, (p) => subset.test[p]);
  const nFlipped = d.flipped.reduce((a, b) => a + b, 0);
  return {
    manifest: fashionRelabelManifest(
      'fashion-relabel',
      RELABEL_SEED,
      nFlipped,
      `${FASHION_SOURCE}; rows and noise from the built-in fashion-mnist pool (pools/recipes/fashion-relabel.ts)`,
    ),
    tables: {
      train: fashionTable(src.train, rows, 'train', d.noisy),
      test: fashionTable(src.test, testRows, 'test'),
      truth: truthTable(Array.from(rows, (i) => padId('train', i, 5)), d.clean, d.flipped),
    },
  };
}

export async function buildFashionRelabel(opts: BuiltinOptions = {}) {
  const src = await loadFashionSource(opts.from ?? FASHION_DEFAULT_FROM);
  return writeBuiltin(fashionRelabelDraft(src), opts);
}

await recipeMain(import.meta.url, buildFashionRelabel);
