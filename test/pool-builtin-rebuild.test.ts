/**
 * Recipes are deterministic: rebuilding a built-in pool gives the committed bytes. synth-teach
 * needs no source data and always runs; german-credit runs where credit-g.arff is at hand
 * (SIEVE_CREDIT_ARFF, or the maintainers' copy) and is skipped elsewhere; fashion-relabel
 * likewise where the Fashion-MNIST IDX files are ($SIEVE_DATA/fashion-mnist).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadManifest } from '../src/pool/manifest.ts';
import { builtinPoolsDir } from '../src/pool/resolve.ts';
import { buildGermanCredit, CREDIT_DEFAULT_FROM } from '../pools/recipes/german-credit.ts';
import { buildSynthTeach } from '../pools/recipes/synth-teach.ts';
import { buildFashionRelabel } from '../pools/recipes/fashion-relabel.ts';
import { FASHION_DEFAULT_FROM } from '../pools/recipes/fashion-mnist.ts';

const creditArff = process.env.SIEVE_CREDIT_ARFF ?? CREDIT_DEFAULT_FROM;
const fashionIdx = existsSync(join(FASHION_DEFAULT_FROM, 'train-images-idx3-ubyte.gz')) || existsSync(join(FASHION_DEFAULT_FROM, 'train-images-idx3-ubyte'));
const tmp = await mkdtemp(join(tmpdir(), 'sieve-rebuild-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

async function expectSameAsCommitted(name: string, outDir: string) {
  const committed = await loadManifest(join(builtinPoolsDir(), name));
  const rebuilt = await loadManifest(outDir);
  expect(rebuilt.files.map((f) => [f.path, f.sha256])).toEqual(committed.files.map((f) => [f.path, f.sha256]));
  expect(rebuilt.content_hash).toBe(committed.content_hash);
}

describe('rebuilding built-in pools', () => {
  it('synth-teach: same content hash and file hashes as committed', async () => {
    const out = join(tmp, 'synth-teach');
    await buildSynthTeach({ out });
    await expectSameAsCommitted('synth-teach', out);
  });

  it.skipIf(!existsSync(creditArff))('german-credit: same content hash and file hashes as committed', async () => {
    const out = join(tmp, 'german-credit');
    await buildGermanCredit({ from: creditArff, out });
    await expectSameAsCommitted('german-credit', out);
  });

  it.skipIf(!fashionIdx)('fashion-relabel: same content hash and file hashes as committed', async () => {
    const out = join(tmp, 'fashion-relabel');
    await buildFashionRelabel({ out });
    await expectSameAsCommitted('fashion-relabel', out);
  });
});
