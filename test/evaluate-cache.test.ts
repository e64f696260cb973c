/**
 * The evaluation cache (src/pool/split-cache.ts, src/evaluate/context.ts preparedFeatures)
 * changes no bit of a result: the same record with a cold cache, a warm one and none; the
 * warm run really reads it; a damaged entry reads as a miss; the folder is evaluator-only.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPool, readSplit } from '../src/pool/read.ts';
import { evaluateFile } from '../src/evaluate/runner.ts';
import { evalCacheDir, evalCacheEnabled } from '../src/pool/split-cache.ts';
import { assertParticipantSource } from '../src/pool/guard.ts';
import { openArrayFile, readArrayFile, writeArrayFile } from '../src/util/array-file.ts';
import { openEvaluation } from '../src/evaluate/service.ts';
import type { ResultRecord } from '../src/evaluate/record.ts';

const dir = mkdtempSync(join(tmpdir(), 'sieve-eval-cache-'));
const before = process.env.SIEVE_CACHE;
beforeAll(() => { process.env.SIEVE_CACHE = join(dir, 'cache'); });
afterAll(() => {
  if (before === undefined) delete process.env.SIEVE_CACHE;
  else process.env.SIEVE_CACHE = before;
  rmSync(dir, { recursive: true, force: true });
});

/** What a re-run must reproduce: everything but where and when it ran. */
function scored(r: ResultRecord): unknown {
  const { system: _s, created_at: _c, fits, ...rest } = r;
  const timeless = Array.isArray(fits) ? fits.map(({ seed, iterations }) => ({ seed, iterations })) : { ...fits, seconds: 0 };
  return JSON.parse(JSON.stringify({ ...rest, fits: timeless }));
}

describe('array files', () => {
  it('round-trip typed arrays bit for bit, read a subset, and read a damaged file as absent', () => {
    const path = join(dir, 'a.arr');
    const f = Float32Array.from([1.5, -0, NaN, Infinity, 3.4e38, 1e-45]);
    const d = Float64Array.from([Math.PI, -0, Number.MIN_VALUE]);
    const i = Int32Array.from([-(2 ** 31), 7, 2 ** 31 - 1]);
    const u = Uint8Array.from([0, 255, 3]);
    writeArrayFile(path, { n: 3, ids: ['a', 'ü'] }, { f, d, i, u, empty: new Float32Array(0) });
    const all = readArrayFile(path)!;
    expect(all.meta).toEqual({ n: 3, ids: ['a', 'ü'] });
    const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, k) => Object.is(v, b[k]));
    expect(same(all.arrays.f, f) && same(all.arrays.d, d) && same(all.arrays.i, i) && same(all.arrays.u, u)).toBe(true);
    expect(all.arrays.f).toBeInstanceOf(Float32Array);
    expect(all.arrays.empty).toHaveLength(0);
    const some = readArrayFile(path, ['i'])!;
    expect(Object.keys(some.arrays)).toEqual(['i']);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
    // One value changed on disk, size and header intact: its array no longer hashes to the header's sha256.
    const bytes = readFileSync(path);
    bytes[bytes.length - 8] ^= 0x80; // u[0] (the last array but the empty one, padded to 8 bytes)
    writeFileSync(path, bytes);
    expect(readArrayFile(path)).toBeNull();
    expect(readArrayFile(path, ['f'])).not.toBeNull(); // the other arrays still read
    truncateSync(path, statSync(path).size - 1);
    expect(readArrayFile(path)).toBeNull();
    writeFileSync(path, 'not an array file at all');
    expect(readArrayFile(path)).toBeNull();
    expect(readArrayFile(join(dir, 'missing.arr'))).toBeNull();
  });

  it('read array by array through the descriptor opened, even after the file is replaced or removed', () => {
    const path = join(dir, 'b.arr');
    const x = Float32Array.from([1, 2, 3, 4]);
    writeArrayFile(path, { v: 1 }, { x, y: Int32Array.from([9]) });
    const file = openArrayFile(path)!;
    expect(file.arrays).toEqual([{ name: 'x', dtype: 'f32', length: 4 }, { name: 'y', dtype: 'i32', length: 1 }]);
    writeArrayFile(path, { v: 2 }, { x: Float32Array.from([5, 6, 7, 8]), y: Int32Array.from([0]) });
    expect(Array.from(file.read('x')!)).toEqual([1, 2, 3, 4]);
    rmSync(path);
    expect(Array.from(file.read('y')!)).toEqual([9]);
    expect(file.read('z')).toBeNull();
    file.close();
    expect(file.read('x')).toBeNull();
    expect(openArrayFile(path)).toBeNull();
  });
});

describe('the evaluation cache', () => {
  it('gives the same record cold, warm and off; the warm run reads it; a damaged entry is a miss', async () => {
    const train = await readSplit(await openPool('german-credit'), 'train', { columns: [] });
    const sub = join(dir, 'ids.csv');
    writeFileSync(sub, 'id\n' + train.ids.filter((_, k) => k % 3 !== 1).slice(0, 380).join('\n') + '\n');
    const cache = evalCacheDir();
    expect(cache.startsWith(join(dir, 'cache'))).toBe(true);

    const cold = await evaluateFile('credit-fair', sub);
    const entries = readdirSync(cache).sort();
    // The train and test splits decoded, and the standardised features (credit-fair standardises).
    expect(entries.filter((n) => n.startsWith('split-'))).toHaveLength(2);
    expect(entries.filter((n) => n.startsWith('features-'))).toHaveLength(1);
    for (const n of entries) utimesSync(join(cache, n), new Date(0), new Date(0));

    const warm = await evaluateFile('credit-fair', sub);
    for (const n of entries) expect(statSync(join(cache, n)).mtimeMs, n).toBeGreaterThan(0); // each entry was read
    const off = await evaluateFile('credit-fair', sub, { cache: false });
    expect(scored(warm)).toEqual(scored(cold));
    expect(scored(off)).toEqual(scored(cold));
    expect(JSON.stringify(scored(warm))).toBe(JSON.stringify(scored(cold)));

    // A feature entry changed on disk (the test features' signs flipped: accuracy 0.56 instead
    // of 0.75 in a verify tryout) is a miss, recomputed: the same figures.
    const feat = join(cache, entries.find((n) => n.startsWith('features-'))!);
    const raw = readFileSync(feat);
    const f32 = new Float32Array(raw.buffer, raw.byteOffset + raw.length - 4000, 1000);
    for (let k = 0; k < f32.length; k++) f32[k] = -f32[k];
    writeFileSync(feat, raw);
    expect(JSON.stringify(scored(await evaluateFile('credit-fair', sub)))).toBe(JSON.stringify(scored(cold)));
    // A truncated feature entry is recomputed (and rewritten), not half-read.
    truncateSync(feat, 1000);
    const repaired = await evaluateFile('credit-fair', sub);
    expect(JSON.stringify(scored(repaired))).toBe(JSON.stringify(scored(cold)));
    expect(statSync(feat).size).toBeGreaterThan(1000);
  });

  it('reads a cached split\'s raw features only when used: a warm loop with cached prepared features never does', async () => {
    const train = await readSplit(await openPool('german-credit'), 'train', { columns: [] });
    const sub = join(dir, 'ids-lazy.csv');
    writeFileSync(sub, 'id\n' + train.ids.slice(0, 300).join('\n') + '\n');
    const reference = await evaluateFile('credit-fair', sub, { cache: false });
    await evaluateFile('credit-fair', sub); // fills the cache
    const service = await openEvaluation('credit-fair');
    const unread = (o: object, prop: string) => typeof Object.getOwnPropertyDescriptor(o, prop)?.get === 'function';
    expect(unread(service.context.train, 'features')).toBe(true);
    expect(unread(service.context.test, 'features')).toBe(true);
    const warm = await service.evaluateFile(sub);
    expect(JSON.stringify(scored(warm))).toBe(JSON.stringify(scored(reference)));
    expect(unread(service.context.train, 'features')).toBe(true);
    expect(unread(service.context.test, 'features')).toBe(true);
    // Read when used, bit for bit what a read without the cache decodes, even with the entries gone.
    for (const n of readdirSync(evalCacheDir())) if (n.startsWith('split-')) rmSync(join(evalCacheDir(), n));
    const decoded = await readSplit(service.context.pool, 'train', { cache: false });
    const features = service.context.train.features;
    expect(unread(service.context.train, 'features')).toBe(false);
    expect(features.length).toBe(decoded.features.length);
    expect(Buffer.from(features.buffer).equals(Buffer.from(decoded.features.buffer))).toBe(true);
    await evaluateFile('credit-fair', sub); // the entries again, for the next test
  });

  it('is evaluator-only (refused as a participant source) and off with SIEVE_EVAL_CACHE=off', async () => {
    const entry = readdirSync(evalCacheDir()).find((n) => n.startsWith('split-'));
    expect(entry).toBeDefined();
    await expect(assertParticipantSource(join(evalCacheDir(), entry!))).rejects.toThrow(/evaluation cache/);
    const was = process.env.SIEVE_EVAL_CACHE;
    try {
      expect(evalCacheEnabled()).toBe(true);
      process.env.SIEVE_EVAL_CACHE = 'off';
      expect(evalCacheEnabled()).toBe(false);
    } finally {
      if (was === undefined) delete process.env.SIEVE_EVAL_CACHE;
      else process.env.SIEVE_EVAL_CACHE = was;
    }
  });
});
