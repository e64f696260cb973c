/**
 * Recipe of the built-in `fashion-debug` pool (the fashion-debug ranking challenge, after
 * DataPerf's data-debugging task): 1,000 training rows of the built-in fashion-mnist pool,
 * drawn stratified and seeded, with 30% of their labels flipped on purpose (symmetric noise:
 * exactly 300 rows, each to a uniformly chosen other class). Participants see the noisy
 * labels; truth.parquet (clean label + noisy flag) and the test split — the same 5,000 test
 * rows as fashion-mnist — are evaluator-only.
 *
 * It starts from the same IDX files and the same seeded subset as pools/recipes/fashion-mnist.ts,
 * so every row here is the fashion-mnist row with the same id.
 *
 *   node --import tsx pools/recipes/fashion-debug.ts [--from DIR] [--out DIR]
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

export const DEBUG_TRAIN_ROWS = 1000;
export const DEBUG_NOISE_RATE = 0.3;
/** Seed of the row draw and of the noise; changing it changes the built-in pool. */
export const DEBUG_SEED = 20230301;

/**
 * Flips exactly round(rate × n) labels, chosen uniformly, each to a uniformly chosen other
 * class. Returns the noisy labels and a 0/1 flag per row.
 */
export function symmetricNoise(clean: Int32Array, k: number, rate: number, seed: number): { noisy: Int32Array; flipped: Uint8Array } {
  const rng = createRng(seed);
  const n = clean.length;
  const flips = Math.round(rate * n);
  const order = rng.permutation(n);
  const noisy = clean.slice();
  const flipped = new Uint8Array(n);
  for (let i = 0; i < flips; i++) {
    const row = order[i];
    noisy[row] = (clean[row] + 1 + rng.int(k - 1)) % k;
    flipped[row] = 1;
  }
  return { noisy, flipped };
}

/**
 * The fashion-debug draw among the rows of the fashion-mnist pool (their labels, in pool
 * order): stratified positions (ascending) and the noise on their labels. The built-in pool
 * uses DEBUG_SEED; its hidden variants (pools/recipes/variants.ts) other seeds.
 */
export function fashionDebugDraw(poolLabels: ArrayLike<number>, seed: number): { pos: Int32Array; clean: Int32Array; noisy: Int32Array; flipped: Uint8Array } {
  const k = FASHION_CLASSES.length;
  const pos = stratifiedSample(poolLabels, k, DEBUG_TRAIN_ROWS, createRng(deriveSeed(seed, 'fashion-debug', 'rows')));
  const clean = Int32Array.from(pos, (p) => poolLabels[p]);
  const { noisy, flipped } = symmetricNoise(clean, k, DEBUG_NOISE_RATE, deriveSeed(seed, 'fashion-debug', 'noise'));
  return { pos, clean, noisy, flipped };
}

export function fashionDebugDraft(src: FashionSource): PoolDraft {
  const k = FASHION_CLASSES.length;
  const subset = fashionSubsetRows(src);
  // Stratified draw among the fashion-mnist train subset: positions into subset.train.
  const subsetLabels = Int32Array.from(subset.train, (i) => src.train.labels[i]);
  const { pos, clean, noisy, flipped } = fashionDebugDraw(subsetLabels, DEBUG_SEED);
  const rows = Int32Array.from(pos, (p) => subset.train[p]);
  const nFlipped = flipped.reduce((a, b) => a + b, 0);

  const truth: TableData = {
    n: rows.length,
    columns: [
      { name: 'id', type: 'VARCHAR', values: Array.from(rows, (i) => padId('train', i, 5)) },
      { name: 'clean_label', type: 'VARCHAR', values: Array.from(clean, (c) => FASHION_CLASSES[c]) },
      { name: 'noisy', type: 'BOOLEAN', values: flipped },
    ],
  };
  const manifest: ManifestDraft = {
    name: 'fashion-debug',
    version: '1',
    description: `1,000 Fashion-MNIST training images with ${DEBUG_NOISE_RATE * 100}% of the labels flipped on purpose; rank the rows to fix (fashion-debug challenge).`,
    source: `${FASHION_SOURCE}; rows and noise from the built-in fashion-mnist pool (pools/recipes/fashion-debug.ts)`,
    ...FASHION_MANIFEST_FIELDS,
    datasheet: {
      motivation: 'A label-debugging benchmark in the style of DataPerf: find the corrupted labels with as few inspections as possible.',
      composition:
        `${rows.length} train rows (${rows.length / k} per class by clean label), drawn with seed ${DEBUG_SEED} from the 20,000 train rows of the fashion-mnist pool; ` +
        `test: the same ${subset.test.length} test rows as fashion-mnist (clean labels). Ids are those of fashion-mnist.`,
      collection: 'As fashion-mnist.',
      preprocessing: `Labels of ${nFlipped} train rows replaced by a uniformly chosen other class.`,
      uses: 'Ranking submissions: order the train rows by how likely their label is wrong; the evaluator fixes labels in that order and retrains.',
      known_issues: [
        `${nFlipped} of ${rows.length} train labels are wrong on purpose; truth.parquet (evaluator-only) has the clean labels.`,
        'Some clean labels of Fashion-MNIST itself are debatable; those count as clean here.',
      ],
      injected: {
        kind: 'symmetric label noise',
        rate: DEBUG_NOISE_RATE,
        rows_flipped: nFlipped,
        seed: DEBUG_SEED,
        rows_seed_tag: 'fashion-debug/rows',
        noise_seed_tag: 'fashion-debug/noise',
      },
    },
    recipe: 'pools/recipes/fashion-debug.ts',
  };
  return {
    manifest,
    tables: {
      train: fashionTable(src.train, rows, 'train', noisy),
      test: fashionTable(src.test, subset.test, 'test'),
      truth,
    },
  };
}

export async function buildFashionDebug(opts: BuiltinOptions = {}) {
  const src = await loadFashionSource(opts.from ?? FASHION_DEFAULT_FROM);
  return writeBuiltin(fashionDebugDraft(src), opts);
}

await recipeMain(import.meta.url, buildFashionDebug);
