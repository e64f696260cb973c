/** Small pools with known content for the pool tests, written with writePool into temp dirs. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '../compute/rng.ts';
import type { PoolDraft } from '../src/pool/write.ts';
import { importPool, type ImportOptions } from '../src/pool/import/index.ts';
import { SieveError } from '../src/util/errors.ts';
import { expect } from 'vitest';

export function tempDir(prefix = 'sieve-pool-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export const DATASHEET = {
  motivation: 'tests',
  composition: 'generated rows',
  collection: 'seeded generator',
  preprocessing: 'none',
  uses: 'unit tests',
  known_issues: [] as string[],
};

/**
 * A pool with every feature kind: emb FLOAT[4], img 2×3 pixels, age numeric, colour
 * categorical, note text; group "sex". Labels cycle a, b, c; truth flips train row 1.
 */
export function mixedDraft(nTrain = 10, nTest = 4, seed = 1): PoolDraft {
  const rng = createRng(seed);
  const table = (n: number, prefix: string) => {
    const emb = new Float32Array(n * 4);
    for (let i = 0; i < emb.length; i++) emb[i] = rng.normal();
    const img = new Uint8Array(n * 6);
    for (let i = 0; i < img.length; i++) img[i] = rng.int(256);
    return {
      n,
      columns: [
        { name: 'id', type: 'VARCHAR' as const, values: Array.from({ length: n }, (_, i) => `${prefix}${i}`) },
        { name: 'label', type: 'VARCHAR' as const, values: Array.from({ length: n }, (_, i) => 'abc'[i % 3]) },
        { name: 'emb', type: 'FLOAT[]' as const, dim: 4, values: emb },
        { name: 'img', type: 'BLOB' as const, bytesPerRow: 6, values: img },
        { name: 'age', type: 'DOUBLE' as const, values: Float64Array.from({ length: n }, (_, i) => 20 + i) },
        { name: 'colour', type: 'VARCHAR' as const, values: Array.from({ length: n }, (_, i) => (i % 4 === 3 ? null : ['red', 'green', 'blue'][i % 3])) },
        { name: 'note', type: 'VARCHAR' as const, values: Array.from({ length: n }, (_, i) => `row ${i} says ${'hi'.repeat(i)}`) },
        { name: 'sex', type: 'VARCHAR' as const, values: Array.from({ length: n }, (_, i) => (i % 5 === 4 ? null : i % 2 ? 'f' : 'm')) },
      ],
    };
  };
  return {
    manifest: {
      name: 'mixed',
      version: '1',
      description: 'every feature kind',
      source: 'generated',
      licence: 'CC0-1.0',
      citation: '',
      task: 'classification',
      id_column: 'id',
      label_column: 'label',
      classes: ['a', 'b', 'c'],
      features: [
        { name: 'emb', kind: 'embedding', dim: 4 },
        { name: 'img', kind: 'pixels', width: 3, height: 2, channels: 1 },
        { name: 'age', kind: 'numeric' },
        { name: 'colour', kind: 'categorical', categories: ['red', 'green', 'blue'] },
        { name: 'note', kind: 'text' },
      ],
      groups: [{ name: 'sex', description: 'synthetic' }],
      datasheet: DATASHEET,
    },
    tables: {
      train: table(nTrain, 'tr'),
      test: table(nTest, 'te'),
      truth: {
        n: 2,
        columns: [
          { name: 'id', type: 'VARCHAR', values: ['tr0', 'tr1'] },
          { name: 'clean_label', type: 'VARCHAR', values: ['a', 'a'] },
          { name: 'noisy', type: 'BOOLEAN', values: Uint8Array.from([0, 1]) },
        ],
      },
      duplicates: {
        n: 1,
        columns: [
          { name: 'a', type: 'VARCHAR', values: ['tr2'] },
          { name: 'b', type: 'VARCHAR', values: ['te1'] },
          { name: 'kind', type: 'VARCHAR', values: ['exact'] },
          { name: 'cross_split', type: 'BOOLEAN', values: Uint8Array.from([1]) },
        ],
      },
    },
  };
}

/** Writes `files` into a fresh directory; returns its path. */
export function fixture(files: Record<string, string | Uint8Array>, prefix = 'sieve-import-'): string {
  const dir = tempDir(prefix);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

/** Runs an import that must fail; checks the error and that no output (not even a temp dir) remains. */
export async function importFails(dir: string, opts: Omit<ImportOptions, 'out'>): Promise<SieveError> {
  const before = readdirSync(dir).sort();
  const err = await importPool({ ...opts, input: join(dir, opts.input), out: join(dir, 'pool') }).catch((e) => e);
  expect(err).toBeInstanceOf(SieveError);
  expect(readdirSync(dir).sort()).toEqual(before);
  return err as SieveError;
}

/** Runs the CLI (`bin/sieve.mjs`) with `args`. */
export function sieve(args: string[]) {
  return spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'sieve.mjs'), ...args], { encoding: 'utf8' });
}
