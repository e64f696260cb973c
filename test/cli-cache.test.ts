import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', 'bin', 'sieve.mjs');
// Its own cache folder: the suite's shared one is in use by other test files.
const run = (cache: string, args: string[]) => spawnSync(process.execPath, [BIN, 'cache', ...args], { encoding: 'utf8', env: { ...process.env, SIEVE_CACHE: cache } });

describe('sieve cache', () => {
  it('shows each part and clears only the parts it knows', () => {
    const cache = mkdtempSync(join(tmpdir(), 'sieve-cache-'));
    mkdirSync(join(cache, 'evaluate', 'ab'), { recursive: true });
    writeFileSync(join(cache, 'evaluate', 'ab', 'entry.bin'), Buffer.alloc(3000));
    mkdirSync(join(cache, 'variants', 'v-1'), { recursive: true });
    writeFileSync(join(cache, 'variants', 'v-1', 'train.parquet'), Buffer.alloc(1000));
    writeFileSync(join(cache, 'file-hashes.json'), '{}');
    writeFileSync(join(cache, 'notes.txt'), 'not sieve’s'); // must survive a full clear

    const shown = run(cache, ['--json']);
    expect(shown.status, shown.stderr).toBe(0);
    const info = JSON.parse(shown.stdout);
    const byName = Object.fromEntries(info.parts.map((p: { name: string }) => [p.name, p]));
    expect(byName.evaluate).toMatchObject({ bytes: 3000, files: 1 });
    expect(byName.variants).toMatchObject({ bytes: 1000, files: 1 });
    expect(byName.findings).toMatchObject({ bytes: 0, files: 0 });
    // A worker's pools and challenges (sieve worker --cache) are parts too (tryout: they were not shown).
    expect(Object.keys(byName)).toEqual(expect.arrayContaining(['audit', 'downloads', 'pools', 'challenges', 'worker']));
    expect(info.bytes).toBe(4002);
    const table = run(cache, []);
    expect(table.stdout).toContain(`cache folder: ${cache}`);
    expect(table.stdout).toMatch(/total 0\.0 MB/);

    const one = run(cache, ['clear', 'evaluate']);
    expect(one.status, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/removed evaluate \(0\.0 MB\)/);
    expect(existsSync(join(cache, 'evaluate'))).toBe(false);
    expect(existsSync(join(cache, 'variants', 'v-1', 'train.parquet'))).toBe(true);

    const bad = run(cache, ['clear', 'evaluate', 'models']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown cache part "models": the parts are evaluate, variants, findings, embed, file-hashes, audit, downloads, pools, challenges, worker/);
    expect(existsSync(join(cache, 'variants'))).toBe(true); // a bad call removes nothing

    const all = run(cache, ['clear', '--json']);
    expect(all.status, all.stderr).toBe(0);
    expect(JSON.parse(all.stdout).bytes).toBe(1002);
    expect(existsSync(join(cache, 'variants'))).toBe(false);
    expect(existsSync(join(cache, 'file-hashes.json'))).toBe(false);
    expect(readFileSync(join(cache, 'notes.txt'), 'utf8')).toBe('not sieve’s');
  });
});
