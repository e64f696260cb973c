/**
 * A sample of fuzz cases through the real CLI (issue 13): every command must exit 0 or with
 * a SieveError's code, never print a JavaScript stack trace, and leave nothing behind. The
 * thousands of in-process cases are in fuzz-import / fuzz-submission / fuzz-challenge; a
 * spawn costs a second or two, so only ~20 cases run here.
 * Replay: SIEVE_FUZZ_SEED=<seed> SIEVE_FUZZ_CASES=1 npx vitest run test/fuzz-cli.test.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../src/pool/duckdb.ts';
import type { Family, FuzzCase } from './fuzz/cases.ts';
import { cliArgs } from './fuzz/cli.ts';
import { generateCase } from './fuzz/generate.ts';
import { knownFailure } from './fuzz/known-failures.ts';

const BIN = join(__dirname, '..', 'bin', 'sieve.mjs');
const first = Number(process.env.SIEVE_FUZZ_SEED ?? 1);
const perFamily = process.env.SIEVE_FUZZ_CASES !== undefined ? Number(process.env.SIEVE_FUZZ_CASES) : undefined;
// Seeds cycle through formats, so consecutive seeds cover every format of a family.
const PLAN: [Family, number][] = [['import', perFamily ?? 8], ['submission', perFamily ?? 7], ['challenge', perFamily ?? 5]];
const STACK_LINE = /^\s+at .+(:\d+:\d+\)?|\(node:.+\))$/m;

let root: string;
let db: Db;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sieve-fuzz-cli-'));
  for (const d of ['tmp', 'cwd', 'gen', 'cases']) mkdirSync(join(root, d));
  db = await openDb({ threads: 1 });
});
afterAll(() => {
  db?.close();
  rmSync(root, { recursive: true, force: true });
});

const cases = PLAN.flatMap(([family, n]) => Array.from({ length: n }, (_, i) => [family, first + i] as const));

describe('fuzz cases through the CLI', () => {
  it.each(cases)('%s seed %i: exit 0 or a SieveError, no stack trace, nothing left behind', async (family, seed) => {
    const c: FuzzCase = await generateCase(family, seed, { conn: db.conn, scratch: join(root, 'gen') });
    const known = knownFailure(c);
    if (known && process.env.SIEVE_FUZZ_KNOWN !== 'run') return; // listed in test/fuzz/known-failures.ts
    const dir = join(root, 'cases', `${family}-${seed}`);
    mkdirSync(dir);
    for (const f of c.files) writeFileSync(join(dir, f.name), f.bytes);
    const { args, extra } = await cliArgs(c, dir);
    const r = spawnSync(process.execPath, [BIN, ...args], {
      cwd: join(root, 'cwd'),
      env: { ...process.env, TMPDIR: join(root, 'tmp'), SIEVE_WORKSPACE: join(root, 'cwd', '.sieve'), CI: 'true' },
      encoding: 'utf8',
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    const what = `${family} seed ${seed} [${c.format}; ${c.mutations.join(', ')}]: sieve ${args.join(' ')}\n${r.stderr}`;
    expect(r.signal, what).toBeNull();
    expect(r.stderr, what).not.toMatch(STACK_LINE);
    expect(r.stderr, what).not.toMatch(/internal error/);
    expect([0, 2], what).toContain(r.status);
    if (c.expect.outcome === 'reject') expect(r.status, `${what}\nmust reject: ${c.expect.why}`).not.toBe(0);
    if (c.expect.outcome === 'accept') expect(r.status, `${what}\nmust accept`).toBe(0);
    const allowed = new Set([...c.files.map((f) => f.name), ...extra, ...(r.status === 0 && family === 'import' ? ['pool'] : [])]);
    expect(readdirSync(dir).filter((n) => !allowed.has(n)), what).toEqual([]);
    expect(readdirSync(join(root, 'cwd')), what).toEqual([]);
    expect(readdirSync(join(root, 'tmp')).filter((n) => !n.startsWith('tsx-')), what).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });
});
