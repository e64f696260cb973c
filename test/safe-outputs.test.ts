/**
 * Outputs that never destroy (issue 13, item 1), in process: what the pool writer and the
 * file writers refuse, that a refused write changes nothing, the lock between two writers and
 * the removal of temporaries a killed process left behind.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinPoolsDir, validatePoolName, workspacePoolDir } from '../src/pool/resolve.ts';
import { writePool } from '../src/pool/write.ts';
import { exportPool } from '../src/pool/export.ts';
import { importPool } from '../src/pool/import/index.ts';
import { openPool } from '../src/pool/read.ts';
import { withFileAtomically, writeFileAtomically } from '../src/util/atomic.ts';
import { SieveError, fsError } from '../src/util/errors.ts';
import { checkOutputPath } from '../src/util/outpath.ts';
import { duckdbSpillDir, hostTag, lockPath, removeStaleSpillDirs, trackedTemps } from '../src/util/temps.ts';
import { mixedDraft, tempDir } from './pool-helpers.ts';

async function refused(p: Promise<unknown>, pattern: RegExp): Promise<SieveError> {
  const err = await p.then(() => null, (e) => e);
  expect(err).toBeInstanceOf(SieveError);
  expect((err as SieveError).message).toMatch(pattern);
  return err as SieveError;
}

const draft = (name = 'tiny') => {
  const d = mixedDraft(6, 3);
  d.manifest.name = name;
  return d;
};

describe('--overwrite replaces only a sieve pool', () => {
  it('refuses an ordinary folder, a file and a pool folder holding other files, changing nothing', async () => {
    const dir = tempDir('sieve-safe-');
    const folder = join(dir, 'mine');
    mkdirSync(folder);
    writeFileSync(join(folder, 'thesis.tex'), 'precious');
    await refused(writePool(folder, draft(), { overwrite: true }), /not a sieve pool/);
    expect(readFileSync(join(folder, 'thesis.tex'), 'utf8')).toBe('precious');

    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'precious');
    await refused(writePool(file, draft(), { overwrite: true }), /is a file, not a pool directory/);
    expect(readFileSync(file, 'utf8')).toBe('precious');

    const pool = join(dir, 'pool');
    await writePool(pool, draft());
    writeFileSync(join(pool, 'notes.txt'), 'precious');
    await refused(writePool(pool, draft(), { overwrite: true }), /not part of its pool \(notes\.txt\)/);
    expect(readFileSync(join(pool, 'notes.txt'), 'utf8')).toBe('precious');
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('replaces a pool, and refuses without --overwrite', async () => {
    const dir = tempDir('sieve-safe-');
    const pool = join(dir, 'pool');
    await writePool(pool, draft('first'));
    await refused(writePool(pool, draft('second')), /already exists/);
    const m = await writePool(pool, draft('second'), { overwrite: true });
    expect(m.name).toBe('second');
    expect(JSON.parse(readFileSync(join(pool, 'pool.json'), 'utf8')).name).toBe('second');
    expect(readdirSync(dir)).toEqual(['pool']);
  });

  it('refuses the working directory and its ancestors even when they are pools', async () => {
    const dir = tempDir('sieve-safe-');
    const pool = join(dir, 'pool');
    await writePool(pool, draft());
    const cwd = process.cwd();
    process.chdir(pool);
    try {
      await refused(writePool(pool, draft(), { overwrite: true }), /is the working directory/);
      await refused(writePool('.', draft(), { overwrite: true }), /is the working directory/);
      await refused(checkOutputPath(dir, { kind: 'dir', overwrite: true }), /holds the working directory/);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('nothing is written inside built-in pools, challenges or any pool', () => {
  it('refuses the package pools/ and challenges/ for directories and files', async () => {
    await refused(writePool(join(builtinPoolsDir(), 'fashion-debug'), draft(), { overwrite: true }), /built-in pools/);
    await refused(writePool(join(builtinPoolsDir(), 'brand-new'), draft()), /built-in pools/);
    await refused(writeFileAtomically(join(builtinPoolsDir(), 'fashion-debug', 'truth.parquet'), 'x'), /built-in pools/);
    await refused(writeFileAtomically(join(builtinPoolsDir(), '..', 'challenges', 'fashion-select', 'challenge.yaml'), 'x'), /built-in challenges/);
    const pool = await openPool('fashion-debug');
    await refused(exportPool(pool, { format: 'csv', out: join(pool.dir, 'test.parquet') }), /built-in pools/);
  });

  it("refuses a file inside any pool directory, and a pool's own file as an export target", async () => {
    const dir = tempDir('sieve-safe-');
    const pool = join(dir, 'p');
    await writePool(pool, draft());
    const before = readFileSync(join(pool, 'test.parquet'));
    await refused(writeFileAtomically(join(pool, 'test.parquet'), 'x'), /inside the pool directory/);
    await refused(writeFileAtomically(join(pool, 'report.html'), 'x'), /inside the pool directory/);
    await refused(writePool(join(pool, 'nested'), draft()), /inside the pool directory/);
    await refused(exportPool(await openPool(pool), { format: 'csv', out: join(pool, 'train.parquet') }), /inside the pool directory/);
    expect(readFileSync(join(pool, 'test.parquet')).equals(before)).toBe(true);
  });
});

describe('paths a user can get wrong are SieveErrors', () => {
  it('empty, NUL, a file as parent, too long, /proc, /dev/null, a directory for a file, an input as output', async () => {
    const dir = tempDir('sieve-safe-');
    writeFileSync(join(dir, 'f'), 'x');
    await refused(writePool('', draft()), /--out is empty/);
    await refused(writeFileAtomically('  ', 'x'), /is empty/);
    await refused(writeFileAtomically(join(dir, 'a\0b'), 'x'), /NUL/);
    await refused(writePool(join(dir, 'f', 'pool'), draft()), /is a file, not a directory/);
    await refused(writeFileAtomically(join(dir, 'f', 'deeper', 'r.json'), 'x'), /is a file, not a directory/);
    await refused(writePool(join(dir, 'n'.repeat(300)), draft()), /file systems allow 255/);
    await refused(writePool(join(dir, 'n'.repeat(230)), draft()), /temporary sibling/);
    await refused(writePool('/proc/sieve-pool', draft()), /special file system/);
    await refused(writeFileAtomically('/proc/self/sieve.json', 'x'), /special file system/);
    await refused(writeFileAtomically('/sys/kernel/sieve.json', 'x'), /special file system/);
    await refused(writeFileAtomically('/dev/null', 'x'), /special file system/);
    await refused(writeFileAtomically(dir, 'x'), /is a directory/);
    await refused(writeFileAtomically(join(dir, 'f'), 'y', { inputs: [join(dir, 'f')] }), /one of this command's inputs/);
    expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('x');
    expect(readdirSync(dir)).toEqual(['f']);
  });

  it('pool import checks --out before it reads the input (a wrong --out costs no scan of a large file)', async () => {
    const dir = tempDir('sieve-safe-');
    mkdirSync(join(dir, 'mine'));
    const absent = join(dir, 'not-read.csv'); // never opened: the output is refused first
    await refused(importPool({ input: absent, out: '/proc/sieve-pool' }), /special file system/);
    await refused(importPool({ input: absent, out: join(dir, 'mine'), overwrite: true }), /not a sieve pool/);
    const e = await refused(importPool({ input: absent, out: join(dir, 'mine'), option: '--name' }), /already exists/);
    expect(e.where).toBe('--name');
  });

  it('file-system error codes become SieveErrors with what to do', () => {
    for (const code of ['EACCES', 'EROFS', 'ENOSPC', 'ENAMETOOLONG', 'ENOTDIR', 'ENOENT']) {
      const e = fsError(Object.assign(new Error(code), { code, path: '/x/y' }), 'write the report');
      expect(e).toBeInstanceOf(SieveError);
      expect(e!.message).toContain(code);
      expect(e!.where).toBe('/x/y');
      expect(e!.examples.length).toBe(1);
    }
    expect(fsError(new TypeError('bug'))).toBeNull();
  });

  it('pool names: characters and length; a workspace name of a built-in is refused', () => {
    expect(() => validatePoolName('../../evil')).toThrow(/letters, digits/);
    expect(() => validatePoolName('a'.repeat(65))).toThrow(/at most 64/);
    expect(() => validatePoolName('-x')).toThrow(SieveError);
    expect(() => validatePoolName('my-data.v2')).not.toThrow();
    expect(() => workspacePoolDir('fashion-mnist')).toThrow(/built-in pool/);
  });
});

describe('locks and leftovers', () => {
  it('two writers of one file (export --out, evaluate --out, audit --db/--html): the second gets "in use"', async () => {
    const dir = tempDir('sieve-safe-');
    const out = join(dir, 'result.json');
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const first = withFileAtomically(out, async (tmp) => {
      await gate;
      writeFileSync(tmp, 'first');
    });
    while (!existsSync(lockPath(out))) await new Promise((r) => setImmediate(r)); // the first holds the lock
    const e = await refused(writeFileAtomically(out, 'second'), /is in use/);
    expect(e.examples[0]).toContain(`pid ${process.pid}`);
    open();
    await first;
    expect(readFileSync(out, 'utf8')).toBe('first');
    expect(readdirSync(dir)).toEqual(['result.json']); // lock released, no temporary left

    // A pool export to a file another writer holds changes nothing.
    const pool = join(dir, 'p');
    await writePool(pool, draft());
    const csv = join(dir, 'train.csv');
    writeFileSync(lockPath(csv), `${process.pid} ${hostTag()} here\n`);
    await refused(exportPool(await openPool(pool), { format: 'csv', out: csv }), /is in use/);
    expect(existsSync(csv)).toBe(false);
  });


  it('two writers to one pool: one writes, the other gets "in use"', async () => {
    const dir = tempDir('sieve-safe-');
    const out = join(dir, 'p');
    const results = await Promise.allSettled([writePool(out, draft('a')), writePool(out, draft('b'))]);
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
    expect(failed.length).toBe(1);
    expect(failed[0].reason).toBeInstanceOf(SieveError);
    expect(failed[0].reason.message).toMatch(/is in use|already exists/);
    expect(readdirSync(dir)).toEqual(['p']);
  });

  it('a live lock refuses with "in use"; temporaries and a lock of a dead process are removed by the next write', async () => {
    const dir = tempDir('sieve-safe-');
    const out = join(dir, 'p');
    writeFileSync(lockPath(out), `${process.pid} ${hostTag()} here\n`);
    const e = await refused(writePool(out, draft()), /is in use/);
    expect(e.examples[0]).toContain(`pid ${process.pid}`);

    const dead = spawnSync('true').pid!;
    writeFileSync(lockPath(out), `${dead} ${hostTag()} here\n`);
    const leftover = join(dir, `.p.tmp-${dead}-${hostTag()}-0badc0de`);
    mkdirSync(leftover);
    writeFileSync(join(leftover, 'train.parquet'), 'partial');
    const otherHost = join(dir, `.p.tmp-${dead}-00000000-0badc0de`);
    mkdirSync(otherHost);
    await writePool(out, draft());
    expect(existsSync(leftover)).toBe(false);
    expect(existsSync(lockPath(out))).toBe(false);
    // Another machine's temporary (a shared file system) is not ours to judge.
    expect(existsSync(otherHost)).toBe(true);
  });

  it("DuckDB spill folders of dead processes are removed; a live process's and another host's are kept", () => {
    const base = tempDir('sieve-spill-');
    const dead = spawnSync('true').pid!;
    const names = [`sieve-duckdb-${dead}-${hostTag()}`, `sieve-duckdb-${dead}`, `sieve-duckdb-${process.pid}-${hostTag()}`, `sieve-duckdb-${dead}-00000000`, 'sieve-duckdb-notes'];
    for (const n of names) mkdirSync(join(base, n));
    writeFileSync(join(base, names[0], 'spill.tmp'), 'x');
    expect(removeStaleSpillDirs(base).sort()).toEqual([names[0], names[1]].sort());
    expect(readdirSync(base).sort()).toEqual(names.slice(2).sort());
    // The folder openDb gives DuckDB is this process's, tagged with the host, and tracked for the signal handler.
    const mine = duckdbSpillDir(base);
    expect(mine).toBe(join(base, names[2]));
    expect(trackedTemps()).toContain(mine);
  });
});
