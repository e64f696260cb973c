/**
 * Scores only on verified files, and no laundering of evaluator-only files (issue 13, item 2):
 * the runner checks the pool files it reads against the manifest (cached by inode, size,
 * mtime and ctime; `rehash` reads them again), and participant readers and importers refuse
 * a pool's test/truth file, whether named directly, copied, or behind a crafted pool.json's
 * symbolic link.
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkSubmissionFile, evaluateFile } from '../src/evaluate/runner.ts';
import { assertParticipantSource } from '../src/pool/guard.ts';
import { exportPool } from '../src/pool/export.ts';
import { verifyPoolFiles } from '../src/pool/integrity.ts';
import { contentHash, loadManifest } from '../src/pool/manifest.ts';
import { openPool, readHead, readSplit } from '../src/pool/read.ts';
import { builtinPoolsDir } from '../src/pool/resolve.ts';
import { SieveError } from '../src/util/errors.ts';
import { hashCacheFile, hashFileCached, resetHashCacheMemory } from '../src/util/hash-cache.ts';
import { verifyRecord } from '../src/evaluate/verify.ts';
import { tempDir } from './pool-helpers.ts';

const dir = tempDir('sieve-integrity-');
process.env.SIEVE_CACHE = join(dir, 'cache');
const pool = join(dir, 'gc');
const spec = join(dir, 'challenge.yaml');
const sub = join(dir, 'ids.txt');

beforeAll(async () => {
  cpSync(join(builtinPoolsDir(), 'german-credit'), pool, { recursive: true });
  const text = readFileSync(join(__dirname, '..', 'challenges', 'credit-fair', 'challenge.yaml'), 'utf8')
    .replace('pool: german-credit', 'pool: ./gc')
    .replace('samples: 1000', 'samples: 50')
    .replace('seeds: [0, 1, 2, 3, 4]', 'seeds: [0]');
  writeFileSync(spec, text);
  const train = await readSplit(await openPool(pool), 'train', { columns: [] });
  writeFileSync(sub, train.ids.slice(0, 300).join('\n') + '\n');
});

async function refused(p: Promise<unknown>, pattern: RegExp): Promise<SieveError> {
  const err = await p.then(() => null, (e) => e);
  expect(err).toBeInstanceOf(SieveError);
  expect((err as SieveError).message).toMatch(pattern);
  return err as SieveError;
}

describe('the evaluator scores only on files that match the manifest', () => {
  it('scores an intact pool, then refuses once test.parquet is replaced, naming the file', async () => {
    const record = await evaluateFile(spec, sub);
    expect(record.pool.content_hash).toBe((await loadManifest(pool)).content_hash);

    const test = join(pool, 'test.parquet');
    const original = readFileSync(test);
    // Same size, one byte changed: only the hash can tell.
    const changed = Buffer.from(original);
    changed[changed.length >> 1] ^= 0xff;
    writeFileSync(test, changed);
    try {
      const e = await refused(evaluateFile(spec, sub), /does not match its manifest: test\.parquet: sha256/);
      expect(e.where).toBe(test);
      writeFileSync(test, original.subarray(0, 100));
      await refused(evaluateFile(spec, sub), /test\.parquet: 100 bytes, the manifest records/);
      rmSync(test);
      await refused(evaluateFile(spec, sub), /test\.parquet: missing/);
    } finally {
      writeFileSync(test, original);
    }
    const train = join(pool, 'train.parquet');
    const trainBytes = readFileSync(train);
    writeFileSync(train, Buffer.concat([trainBytes, Buffer.from('x')]));
    try {
      await refused(checkSubmissionFile(spec, sub), /train\.parquet: \d+ bytes/);
    } finally {
      writeFileSync(train, trainBytes);
    }
    await expect(checkSubmissionFile(spec, sub)).resolves.toBeTruthy();
  });

  it('caches hashes by inode, size, mtime and ctime; rehash and any change read the bytes again', async () => {
    const p = await openPool(pool);
    resetHashCacheMemory();
    await verifyPoolFiles(p, ['train', 'test'], { rehash: true });
    resetHashCacheMemory(); // a new process: the cache file on disk still knows the files
    const warm = await verifyPoolFiles(p, ['train', 'test']);
    expect(warm.every((f) => f.cached)).toBe(true);
    const again = await verifyPoolFiles(p, ['train', 'test'], { rehash: true });
    expect(again.every((f) => !f.cached)).toBe(true);
    const f = join(dir, 'f.bin');
    writeFileSync(f, 'aaaa');
    const a = await hashFileCached(f);
    expect((await hashFileCached(f)).cached).toBe(true);
    writeFileSync(f, 'bbbb'); // same size, same inode: mtime/ctime move
    const b = await hashFileCached(f);
    expect(b.cached).toBe(false);
    expect(b.sha256).not.toBe(a.sha256);
  });
});

describe('sieve verify re-hashes whatever the cache says', () => {
  it('a cache entry claiming another hash stops evaluate but not verify, which reads the bytes', async () => {
    const record = await evaluateFile(spec, sub);
    const recPath = join(dir, 'record.json');
    writeFileSync(recPath, JSON.stringify(record));
    const test = realpathSync(join(pool, 'test.parquet'));
    const st = statSync(test, { bigint: true });
    const cache = JSON.parse(readFileSync(hashCacheFile(), 'utf8'));
    cache[test] = { dev: String(st.dev), ino: String(st.ino), size: Number(st.size), mtime: String(st.mtimeNs), ctime: String(st.ctimeNs), sha256: 'f'.repeat(64), used: Date.now() };
    writeFileSync(hashCacheFile(), JSON.stringify(cache));
    resetHashCacheMemory();
    await refused(evaluateFile(spec, sub), /test\.parquet: sha256 ffffffffffffffff/);
    const outcome = await verifyRecord(recPath);
    expect(outcome.ok).toBe(true);
    resetHashCacheMemory();
    await expect(evaluateFile(spec, sub)).resolves.toBeTruthy();
  });
});

describe('evaluator-only files are never a participant source', () => {
  it('refuses importing a built-in pool test or truth file, directly, as a copy, or through a symbolic link', async () => {
    const truth = join(builtinPoolsDir(), 'fashion-debug', 'truth.parquet');
    await refused(assertParticipantSource(truth), /evaluator-only truth file of pool "fashion-debug" \(by its manifest/);
    await refused(assertParticipantSource(join(builtinPoolsDir(), 'german-credit', 'test.parquet')), /evaluator-only test file/);
    const copy = join(dir, 'innocent.parquet');
    copyFileSync(truth, copy);
    await refused(assertParticipantSource(copy), /same bytes as built-in fashion-debug\/truth\.parquet/);
    const link = join(dir, 'link.parquet');
    symlinkSync(truth, link);
    await refused(assertParticipantSource(link), /evaluator-only truth file/);
    await expect(assertParticipantSource(join(builtinPoolsDir(), 'german-credit', 'train.parquet'))).resolves.toBeUndefined();
  });

  it("refuses a crafted pool whose train.parquet links to another pool's test file", async () => {
    const crafted = join(dir, 'crafted');
    mkdirSync(crafted);
    const m = JSON.parse(readFileSync(join(pool, 'pool.json'), 'utf8'));
    const test = m.files.find((f: { role: string }) => f.role === 'test');
    m.files = [{ ...test, role: 'train', visibility: 'participant', path: 'train.parquet' }];
    m.splits = { train: m.splits.test };
    m.content_hash = contentHash(m);
    writeFileSync(join(crafted, 'pool.json'), JSON.stringify(m));
    symlinkSync(join(pool, 'test.parquet'), join(crafted, 'train.parquet'));
    const p = await openPool(crafted);
    await refused(readHead(p, 3), /evaluator-only test file of pool "german-credit"/);
    await refused(readSplit(p, 'train'), /evaluator-only test file/);
  });

  it('a pool folder without pool.json, or with a broken one, is a SieveError naming it', async () => {
    const bare = join(dir, 'bare');
    mkdirSync(bare);
    await refused(openPool(bare), /not a pool: .*bare has no pool\.json/);
    writeFileSync(join(bare, 'pool.json'), '{"format":');
    await refused(openPool(bare), /^pool\.json is not valid JSON/);
  });

  it('a pool whose train.parquet is missing or truncated is a SieveError saying what to do', async () => {
    const broken = join(dir, 'broken');
    cpSync(pool, broken, { recursive: true });
    const p = await openPool(broken);
    const train = join(broken, 'train.parquet');
    const bytes = readFileSync(train);
    writeFileSync(train, bytes.subarray(0, bytes.length >> 1));
    const t = await refused(readHead(p, 3), /train\.parquet cannot be read as the pool's Parquet file/);
    expect(t.examples.join(' ')).toMatch(/re-import or rebuild/);
    // pool export reads the file with DuckDB too: in every format a SieveError, and no output.
    for (const format of ['csv', 'arrow', 'parquet'] as const) {
      const out = join(dir, `broken-export.${format}`);
      await refused(exportPool(p, { format, out }), /train\.parquet cannot be read as the pool's Parquet file/);
      expect(existsSync(out)).toBe(false);
    }
    rmSync(train);
    await refused(readSplit(p, 'train'), /is incomplete: train\.parquet is listed in its manifest but missing/);
  });
});
