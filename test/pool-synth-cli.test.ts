/** `sieve pool synth` and `sieve pool build` as a user runs them. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadManifest } from '../src/pool/manifest.ts';
import { builtinPoolsDir } from '../src/pool/resolve.ts';

const BIN = resolve(import.meta.dirname, '..', 'bin', 'sieve.mjs');
const tmp = await mkdtemp(join(tmpdir(), 'sieve-synth-cli-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

function sieve(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: tmp });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sieve pool synth', () => {
  it('says when the asked imbalance cannot be met with so few rows', () => {
    const r = sieve('pool', 'synth', '--rows', '60', '--classes', '3', '--imbalance', '1000', '--dim', '2', '--out', join(tmp, 'tiny-imb'));
    expect(r.code).toBe(0);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('note: --imbalance 1000 cannot be met with 48 train rows in 3 classes: the clean train class sizes are 46 1 1 (ratio 46.0, not 1000: the smallest class has 1 row)');
    const ok = sieve('pool', 'synth', '--rows', '2000', '--classes', '3', '--imbalance', '4', '--dim', '2', '--out', join(tmp, 'ok-imb'));
    expect(ok.stdout).not.toContain('cannot be met');
  });

  it('writes a pool and reports what it planted as JSON', () => {
    const out = join(tmp, 'synth');
    const r = sieve('pool', 'synth', '--rows', '2000', '--dim', '8', '--classes', '3', '--noise', '0.1', '--noise-type', 'asymmetric',
      '--exact-dups', '10', '--near-dups', '5', '--imbalance', '3', '--group-noise-factor', '2', '--seed', '9', '--out', out, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.rows).toEqual({ train: 1600, test: 400 });
    expect(s.noisy_rows).toBe(160);
    expect(s.duplicate_pairs).toEqual({ exact: 10, near: 5, cross_split: 3 });
    expect(s.options).toMatchObject({ noiseType: 'asymmetric', imbalance: 3, groupNoiseFactor: 2, seed: 9 });
    expect(readdirSync(out).sort()).toEqual(['duplicates.parquet', 'pool.json', 'test.parquet', 'train.parquet', 'truth.parquet']);
  });

  it('rejects impossible options with exit code 2, naming the flag, and writes nothing', () => {
    const out = join(tmp, 'bad');
    const r = sieve('pool', 'synth', '--rows', '100', '--exact-dups', '80', '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/80 duplicate pairs need 160 distinct rows; only 80 train rows/);
    expect(r.stderr).toMatch(/--exact-dups/);
    expect(existsSync(out)).toBe(false);
    const r2 = sieve('pool', 'synth', '--rows', 'many', '--out', out);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/--rows needs a whole number/);
    expect(readdirSync(tmp).filter((f) => f.startsWith('.bad'))).toEqual([]);
  });
});

describe('sieve pool build', () => {
  it('rebuilds synth-teach byte for byte', async () => {
    const out = join(tmp, 'teach');
    const r = sieve('pool', 'build', 'synth-teach', '--out', out, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).content_hash).toBe((await loadManifest(join(builtinPoolsDir(), 'synth-teach'))).content_hash);
  });

  it('asks for --from where a recipe needs source data, and refuses unknown pools', () => {
    const r = sieve('pool', 'build', 'german-credit');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/german-credit needs --from: the credit-g\.arff file/);
    const r2 = sieve('pool', 'build', 'fashion-mnist', '--from', join(tmp, 'nowhere'));
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/Fashion-MNIST folder not found/);
    const r3 = sieve('pool', 'build', 'mnist');
    expect(r3.code).toBe(2);
    expect(r3.stderr).toMatch(/no recipe for "mnist"/);
    expect(existsSync(join(tmp, 'fashion-mnist-full'))).toBe(false);
  });
});
