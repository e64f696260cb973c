/**
 * Hidden variant pools: a built-in pool's recipe run again with another seed, so a strategy
 * (code, not a list of ids) can be re-run on data it has never seen and scored there too.
 * The evaluator builds them on demand (src/evaluate/variants.ts) into a cache and marks every
 * file evaluator-only; nothing here reads a file, so the evaluator hands each recipe its source.
 *
 * The committed repository holds 20,000 + 5,000 Fashion-MNIST images, not the full 70,000, so
 * the fashion variants draw from the built-in fashion-mnist pool (its train rows, and its test
 * rows as the variant's test split): another sample of the same source and, for the noisy
 * pools, another noise draw. synth-teach variants are the generator with another seed (new
 * train and test rows, another mix of noise, duplicates and group membership), their ids
 * prefixed `v<seed>-`.
 *
 * Variant ids are fresh (`row-00000`, … in a seeded order), so ids memorised on the public
 * pool name nothing in a variant.
 */
import { createRng, deriveSeed } from '../../compute/rng.ts';
import type { PoolManifest } from '../../src/pool/manifest.ts';
import { generateSynthPool, synthDraft } from '../../src/pool/synth.ts';
import type { PoolSplit } from '../../src/pool/types.ts';
import type { PoolDraft, TableData } from '../../src/pool/write.ts';
import { SieveError } from '../../src/util/errors.ts';
import { padId, stratifiedSample } from './common.ts';
import { DEBUG_TRAIN_ROWS, fashionDebugDraw } from './fashion-debug.ts';
import { FASHION_CLASSES, FASHION_MANIFEST_FIELDS, FASHION_SOURCE } from './fashion-mnist.ts';
import { fashionRelabelDraw, fashionRelabelManifest, truthTable } from './fashion-relabel.ts';
import { SYNTH_TEACH_MOTIVATION, SYNTH_TEACH_OPTIONS } from './synth-teach.ts';
import { SPAM_CLASSES } from './spam-assassin.ts';

/** The split of a source pool a recipe draws from (read by the evaluator, pixels included). */
export interface VariantSource {
  manifest: PoolManifest;
  train: PoolSplit;
  test: PoolSplit;
}

export interface VariantRecipe {
  name: string;
  /** Bump when the recipe's output changes: it is part of the cache key and the manifest. */
  version: number;
  /** Built-in pool the variants are drawn from; null when the recipe generates everything. */
  source: string | null;
  /** One line for `sieve challenge variants` and the docs. */
  summary: string;
  /** The variant's pool draft (manifest.variant is filled in by the caller). */
  draft(seed: number, source: VariantSource | null): PoolDraft;
}

/** Rows of a fashion-select variant: half the committed train rows, so two variants differ. */
export const FASHION_VARIANT_ROWS = 10_000;

/**
 * A pixel pool's table of `rows` of `split` in that order: train rows get fresh ids
 * `row-NNNNN`; test rows keep the source's ids (they are evaluator-only either way).
 */
function pixelTable(split: PoolSplit, rows: Int32Array, labels?: Int32Array, ids: 'fresh' | 'source' = 'fresh'): TableData {
  const px = split.pixels;
  if (!px) throw new SieveError('internal: a fashion variant needs the raw pixels of its source', { where: 'variant recipe' });
  const w = px.width * px.height * px.channels;
  const data = new Uint8Array(rows.length * w);
  for (let r = 0; r < rows.length; r++) data.set(px.data.subarray(rows[r] * w, (rows[r] + 1) * w), r * w);
  return {
    n: rows.length,
    columns: [
      { name: 'id', type: 'VARCHAR', values: Array.from(rows, (i, r) => (ids === 'fresh' ? padId('row', r, 5) : split.ids[i])) },
      { name: 'label', type: 'VARCHAR', values: Array.from(rows, (i, r) => FASHION_CLASSES[labels ? labels[r] : split.labels[i]]) },
      { name: 'pixels', type: 'BLOB', bytesPerRow: w, values: data },
    ],
  };
}

/** A seeded order of `pos` (which rows become row-00000, row-00001, …). */
function shuffled(pos: Int32Array, seed: number, tag: string): { rows: Int32Array; perm: Int32Array } {
  const perm = createRng(deriveSeed(seed, tag, 'order')).permutation(pos.length);
  return { rows: Int32Array.from(perm, (j) => pos[j]), perm };
}

function allRows(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

function needSource(source: VariantSource | null, name: string): VariantSource {
  if (!source) throw new SieveError(`internal: variant recipe ${name} needs its source pool`, { where: 'variant recipe' });
  return source;
}

const fashionMnist: VariantRecipe = {
  name: 'fashion-mnist',
  version: 1,
  source: 'fashion-mnist',
  summary: `another stratified ${FASHION_VARIANT_ROWS.toLocaleString('en')} of the pool's 20,000 train images, fresh ids in a seeded order; the same test images`,
  draft(seed, source) {
    const s = needSource(source, this.name);
    const pos = stratifiedSample(s.train.labels, FASHION_CLASSES.length, FASHION_VARIANT_ROWS, createRng(deriveSeed(seed, 'fashion-mnist', 'train')));
    const { rows } = shuffled(pos, seed, 'fashion-mnist');
    return {
      manifest: {
        ...FASHION_MANIFEST_FIELDS,
        name: `fashion-mnist-variant-${seed}`,
        version: '1',
        description: `Hidden variant of fashion-mnist (seed ${seed}): ${this.summary}.`,
        source: `${FASHION_SOURCE}; drawn from the built-in fashion-mnist pool (pools/recipes/variants.ts)`,
        datasheet: {
          ...s.manifest.datasheet,
          composition: `${FASHION_VARIANT_ROWS} train rows drawn stratified (seed ${seed}) from the fashion-mnist pool's train rows; its ${s.test.n} test rows.`,
        },
        recipe: 'pools/recipes/variants.ts',
      },
      tables: { train: pixelTable(s.train, rows), test: pixelTable(s.test, allRows(s.test.n), undefined, 'source') },
    };
  },
};

const fashionDebug: VariantRecipe = {
  name: 'fashion-debug',
  version: 1,
  source: 'fashion-mnist',
  summary: `another stratified ${DEBUG_TRAIN_ROWS.toLocaleString('en')} of fashion-mnist's train images and another 30% noise draw (fashion-debug's recipe); the same test images`,
  draft(seed, source) {
    const s = needSource(source, this.name);
    const d = fashionDebugDraw(s.train.labels, seed);
    const { rows, perm } = shuffled(d.pos, seed, 'fashion-debug');
    const noisy = Int32Array.from(perm, (j) => d.noisy[j]);
    const clean = Int32Array.from(perm, (j) => d.clean[j]);
    const flipped = Uint8Array.from(perm, (j) => d.flipped[j]);
    const train = pixelTable(s.train, rows, noisy);
    const nFlipped = flipped.reduce((a, b) => a + b, 0);
    return {
      manifest: {
        ...FASHION_MANIFEST_FIELDS,
        name: `fashion-debug-variant-${seed}`,
        version: '1',
        description: `Hidden variant of fashion-debug (seed ${seed}): ${this.summary}.`,
        source: `${FASHION_SOURCE}; drawn from the built-in fashion-mnist pool (pools/recipes/variants.ts)`,
        datasheet: {
          ...s.manifest.datasheet,
          composition: `${rows.length} train rows drawn stratified (seed ${seed}) from the fashion-mnist pool's train rows, ${nFlipped} labels flipped; its ${s.test.n} test rows.`,
          injected: { kind: 'symmetric label noise', rows_flipped: nFlipped, seed },
        },
        recipe: 'pools/recipes/variants.ts',
      },
      tables: {
        train,
        test: pixelTable(s.test, allRows(s.test.n), undefined, 'source'),
        truth: truthTable((train.columns[0] as { values: string[] }).values, clean, flipped),
      },
    };
  },
};

const fashionRelabel: VariantRecipe = {
  name: 'fashion-relabel',
  version: 1,
  source: 'fashion-mnist',
  summary: "another stratified 2,000 train and 2,000 test images of fashion-mnist and another 20% noise draw (fashion-relabel's recipe)",
  draft(seed, source) {
    const s = needSource(source, this.name);
    const d = fashionRelabelDraw(s.train.labels, s.test.labels, seed);
    const { rows, perm } = shuffled(d.trainPos, seed, 'fashion-relabel');
    const noisy = Int32Array.from(perm, (j) => d.noisy[j]);
    const clean = Int32Array.from(perm, (j) => d.clean[j]);
    const flipped = Uint8Array.from(perm, (j) => d.flipped[j]);
    const train = pixelTable(s.train, rows, noisy);
    const manifest = fashionRelabelManifest(
      `fashion-relabel-variant-${seed}`,
      seed,
      flipped.reduce((a, b) => a + b, 0),
      `${FASHION_SOURCE}; drawn from the built-in fashion-mnist pool (pools/recipes/variants.ts)`,
    );
    return {
      manifest: { ...manifest, description: `Hidden variant of fashion-relabel (seed ${seed}): ${this.summary}.`, recipe: 'pools/recipes/variants.ts' },
      tables: {
        train,
        test: pixelTable(s.test, d.testPos, undefined, 'source'),
        truth: truthTable((train.columns[0] as { values: string[] }).values, clean, flipped),
      },
    };
  },
};

/** Rows of a spam-select variant: two thirds of the committed 4,534 train messages. */
export const SPAM_VARIANT_ROWS = 3_000;

/** A text pool's table (text and collection columns) of `rows` of `split`; fresh or source ids as pixelTable. */
function textTable(split: PoolSplit, rows: Int32Array, ids: 'fresh' | 'source' = 'fresh'): TableData {
  const text = split.text?.text;
  const collection = split.groups.collection;
  if (!text || !collection) throw new SieveError('internal: a spam-assassin variant needs the text and collection of its source', { where: 'variant recipe' });
  return {
    n: rows.length,
    columns: [
      { name: 'id', type: 'VARCHAR', values: Array.from(rows, (i, r) => (ids === 'fresh' ? padId('row', r, 5) : split.ids[i])) },
      { name: 'label', type: 'VARCHAR', values: Array.from(rows, (i) => SPAM_CLASSES[split.labels[i]]) },
      { name: 'text', type: 'VARCHAR', values: Array.from(rows, (i) => text[i]) },
      { name: 'collection', type: 'VARCHAR', values: Array.from(rows, (i) => collection[i]) },
    ],
  };
}

const spamAssassin: VariantRecipe = {
  name: 'spam-assassin',
  version: 1,
  source: 'spam-assassin',
  summary: `another stratified ${SPAM_VARIANT_ROWS.toLocaleString('en')} of the pool's 4,534 train messages, fresh ids in a seeded order; the same test messages`,
  draft(seed, source) {
    const s = needSource(source, this.name);
    const pos = stratifiedSample(s.train.labels, SPAM_CLASSES.length, SPAM_VARIANT_ROWS, createRng(deriveSeed(seed, 'spam-assassin', 'train')));
    const { rows } = shuffled(pos, seed, 'spam-assassin');
    const m = s.manifest;
    return {
      manifest: {
        name: `spam-assassin-variant-${seed}`,
        version: '1',
        description: `Hidden variant of spam-assassin (seed ${seed}): ${this.summary}.`,
        source: `${m.source}; drawn from the built-in spam-assassin pool (pools/recipes/variants.ts)`,
        licence: m.licence,
        citation: m.citation,
        task: m.task,
        id_column: 'id',
        label_column: 'label',
        classes: m.classes,
        features: m.features,
        groups: m.groups,
        datasheet: { ...m.datasheet, composition: `${SPAM_VARIANT_ROWS} train rows drawn stratified (seed ${seed}) from the spam-assassin pool's train rows; its ${s.test.n} test rows.` },
        recipe: 'pools/recipes/variants.ts',
      },
      tables: { train: textTable(s.train, rows), test: textTable(s.test, allRows(s.test.n), 'source') },
    };
  },
};

/**
 * The generator names rows train-00000, test-00000, … whatever the seed, so a variant's ids
 * would be the public pool's: a memorised list of public ids then scored on every variant, a
 * "generalisation" of no rule (an adversary's tryout: 0.8486 [0.7763, 0.9209]). Every id of a
 * variant, in every table (splits, truth, duplicate pairs), gets the prefix `v<seed>-`.
 */
function freshIds(tables: PoolDraft['tables'], seed: number): PoolDraft['tables'] {
  const idColumns = new Set(['id', 'a', 'b']);
  const renamed = (t: TableData): TableData => ({
    ...t,
    columns: t.columns.map((c) => (idColumns.has(c.name) && c.type === 'VARCHAR' ? { ...c, values: (c.values as (string | null)[]).map((v) => (v === null ? v : `v${seed}-${v}`)) } : c)),
  });
  return Object.fromEntries(Object.entries(tables).map(([name, t]) => [name, t ? renamed(t) : t])) as PoolDraft['tables'];
}

const synthTeach: VariantRecipe = {
  name: 'synth-teach',
  version: 2,
  source: null,
  summary: "synth-teach's generator with another seed: new train and test rows (ids v<seed>-train-…), another draw of noise, duplicates, leakage and groups",
  draft(seed) {
    const p = synthDraft(generateSynthPool({ ...SYNTH_TEACH_OPTIONS, name: `synth-teach-variant-${seed}`, seed }));
    return {
      ...p,
      tables: freshIds(p.tables, seed),
      manifest: {
        ...p.manifest,
        description: `Hidden variant of synth-teach (seed ${seed}): ${p.manifest.description}`,
        datasheet: { ...p.manifest.datasheet, motivation: SYNTH_TEACH_MOTIVATION },
        recipe: 'pools/recipes/variants.ts',
      },
    };
  },
};

/** Every variant recipe, by the name a challenge.yaml's `variants.recipe` gives. */
export const VARIANT_RECIPES: Record<string, VariantRecipe> = Object.fromEntries(
  [fashionMnist, fashionDebug, fashionRelabel, spamAssassin, synthTeach].map((r) => [r.name, r]),
);
