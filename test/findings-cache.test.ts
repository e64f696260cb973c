/**
 * The findings' disk cache (src/strategy/findings-cache.ts): a later process reads back the
 * very bytes it computed; a damaged entry is ignored and rewritten; a variant pool's entry
 * lives under the evaluator-only variant cache; the key follows the pool's content hash.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPool } from '../src/pool/read.ts';
import { findingsKey, readCachedFindings, writeCachedFindings } from '../src/strategy/findings-cache.ts';
import { clearFindingsCache, poolFindings, type PoolFindings } from '../src/strategy/findings.ts';
import { strategyLimits } from '../src/strategy/limits.ts';
import { runStrategy } from '../src/strategy/runners.ts';

let cache: string;
const before = process.env.SIEVE_CACHE;
beforeAll(() => {
  cache = mkdtempSync(join(tmpdir(), 'sieve-findings-cache-'));
  process.env.SIEVE_CACHE = cache;
  clearFindingsCache();
});
afterAll(() => {
  if (before === undefined) delete process.env.SIEVE_CACHE;
  else process.env.SIEVE_CACHE = before;
  rmSync(cache, { recursive: true, force: true });
  clearFindingsCache();
});

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function expectSameFindings(a: PoolFindings, b: PoolFindings): void {
  const { oos: ao, seconds: _as, ...restA } = a;
  const { oos: bo, seconds: _bs, ...restB } = b;
  expect(bytes(bo.proba).equals(bytes(ao.proba))).toBe(true);
  expect({ ...bo, proba: null }).toEqual({ ...ao, proba: null });
  for (const [name, v] of Object.entries(restA)) {
    const w = (restB as Record<string, unknown>)[name];
    if (ArrayBuffer.isView(v)) {
      expect(w?.constructor, name).toBe(v.constructor);
      expect(bytes(w as ArrayBufferView).equals(bytes(v)), name).toBe(true);
    } else expect(w, name).toEqual(v);
  }
}

describe('findings on disk', () => {
  it('are read back bit for bit by a later run, and a strategy gives the same output with and without them', async () => {
    const pool = await openPool('german-credit');
    const sql = join(cache, 'fix.sql');
    writeFileSync(sql, 'SELECT id, suggested_label AS label FROM findings WHERE label_issue ORDER BY label_score DESC, id LIMIT 40');
    const run = () => runStrategy(sql, { task: 'relabel', budget: 40, seed: 0, pool, classNames: pool.manifest.classes, findings: () => poolFindings(pool), limits: strategyLimits() });

    const computed = await poolFindings(pool);
    const withoutCache = await run();
    const dir = join(cache, 'findings');
    expect(readdirSync(dir)).toHaveLength(1);

    clearFindingsCache(); // as a new process would start
    const key = findingsKey(pool, { seed: 0, analysers: ['label-errors', 'label-errors-knn', 'duplicates', 'outliers'] });
    expect(readdirSync(dir)).toEqual([`${key}.bin`]);
    const fromDisk = readCachedFindings(pool, key)!;
    expect(fromDisk).not.toBeNull();
    expectSameFindings(fromDisk, computed);
    const again = await poolFindings(pool);
    expect(again).not.toBe(computed);
    expectSameFindings(again, computed);
    const withCache = await run();
    expect(withCache.outputSha256).toBe(withoutCache.outputSha256);
    expect(withCache.output.ids.length).toBeGreaterThan(0);

    // A damaged entry is not used: the findings are computed again and the entry rewritten.
    const file = join(dir, `${key}.bin`);
    const buf = readFileSync(file);
    buf[buf.length - 3] ^= 0x5a;
    writeFileSync(file, buf);
    expect(readCachedFindings(pool, key)).toBeNull();
    writeFileSync(file, buf.subarray(0, 100));
    expect(readCachedFindings(pool, key)).toBeNull();
    clearFindingsCache();
    expectSameFindings(await poolFindings(pool), computed);
    expect(readCachedFindings(pool, key)).not.toBeNull();

    // Another pool content, another key; a variant pool's entry goes under the variant cache.
    const other = { ...pool, manifest: { ...pool.manifest, content_hash: '0'.repeat(64) } };
    const otherKey = findingsKey(other, { seed: 0, analysers: ['label-errors', 'label-errors-knn', 'duplicates', 'outliers'] });
    expect(otherKey).not.toBe(key);
    expect(readCachedFindings(other, key)).toBeNull(); // the header names the pool it is for
    const variant = { ...pool, manifest: { ...pool.manifest, variant: { recipe: 'r', recipe_version: 1, seed: 1, source: null } } };
    writeCachedFindings(variant, key, computed);
    expect(existsSync(join(cache, 'variants', '.findings', `${key}.bin`))).toBe(true);
    expectSameFindings(readCachedFindings(variant, key)!, computed);
  });
});
