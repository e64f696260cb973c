/**
 * The audit's pool cache (src/audit/pool-cache.ts over src/pool/entry-cache.ts): an entry reads
 * back exactly what was written (non-finite figures and float32 probabilities included); a
 * damaged, truncated or foreign file reads as absent; another pool or settings give another key.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poolAuditKey, readPoolAudit, writePoolAudit, type CachedPoolReport } from '../src/audit/pool-cache.ts';
import { openPool } from '../src/pool/read.ts';

let cache: string;
const before = process.env.SIEVE_CACHE;
beforeAll(() => {
  cache = mkdtempSync(join(tmpdir(), 'sieve-pool-audit-cache-'));
  process.env.SIEVE_CACHE = cache;
});
afterAll(() => {
  if (before === undefined) delete process.env.SIEVE_CACHE;
  else process.env.SIEVE_CACHE = before;
  rmSync(cache, { recursive: true, force: true });
});

describe('pool audit cache', () => {
  it('round-trips, refuses damaged and foreign entries, keys by pool and settings', async () => {
    const pool = await openPool('german-credit');
    const other = await openPool('synth-teach');
    const key = poolAuditKey(pool, { folds: 5, seed: 0 });
    expect(poolAuditKey(pool, { folds: 5, seed: 1 })).not.toBe(key);
    expect(poolAuditKey(other, { folds: 5, seed: 0 })).not.toBe(key);
    expect(readPoolAudit(pool, key)).toBeNull();

    const report = { figures: { a: Number.NaN, b: Number.POSITIVE_INFINITY, c: 0.25 }, text: 'x'.repeat(13) } as unknown as CachedPoolReport;
    const proba = Float32Array.from({ length: 3 * 2 }, (_, i) => i / 7);
    const oos = { proba, n: 3, k: 2, folds: 5, seed: 0, model: { kind: 'logistic-regression', params: {} } } as never;
    writePoolAudit(pool, key, { report, oos });
    const dir = join(cache, 'audit');
    expect(readdirSync(dir)).toEqual([`${key}.bin`]);
    const back = readPoolAudit(pool, key)!;
    expect(back.report).toEqual(report);
    expect(Object.is((back.report as never as { figures: { a: number } }).figures.a, Number.NaN)).toBe(true);
    expect(Buffer.from(back.oos!.proba.buffer)).toEqual(Buffer.from(proba.buffer));
    expect(back.oos!.proba.byteOffset).toBe(0);
    // The same key under another pool is another pool's entry: absent.
    expect(readPoolAudit(other, key)).toBeNull();

    const file = join(dir, `${key}.bin`);
    const good = readFileSync(file);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 1] ^= 1;
    writeFileSync(file, flipped);
    expect(readPoolAudit(pool, key)).toBeNull();
    writeFileSync(file, good.subarray(0, good.length - 3));
    expect(readPoolAudit(pool, key)).toBeNull();
    writeFileSync(file, Buffer.concat([Buffer.from('SIEVEFND'), good.subarray(8)]));
    expect(readPoolAudit(pool, key)).toBeNull();
    // Rewritten after damage, it reads again; a report without probabilities too.
    writePoolAudit(pool, key, { report });
    expect(readPoolAudit(pool, key)).toEqual({ report });
  });
});
