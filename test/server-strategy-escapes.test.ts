/**
 * Escape attempts through the server: each strategy is submitted with the API, run by the
 * queue's job child, and must fail with the sandbox's reason, charged to the entrant, with no
 * result stored and nothing leaked (no file written, no hidden row in any answer). The cases
 * are those of test/strategy-sql.test.ts and test/strategy-sandbox.test.ts, aimed at what a
 * server holds: the challenge's hidden test and truth Parquet (absolute and relative paths),
 * the server's own DuckDB file and the variant cache.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Hono } from 'hono';
import { createApp } from '../src/server/app.ts';
import { loadServedChallenges, syncChallenges } from '../src/server/challenges.ts';
import { EvaluationQueue } from '../src/server/queue.ts';
import { DuckDbStore } from '../src/server/store/duckdb.ts';
import { variantCacheDir } from '../src/pool/resolve.ts';
import { detectLayer } from '../src/strategy/sandbox/layers.ts';
import { writeTinyChallenge } from './fixtures/tiny-challenge.ts';

let dir: string;
let store: DuckDbStore;
let app: Hono;
let dbFile: string;
let pool: string;
const layer = detectLayer().layer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sieve-server-escapes-'));
  await writeTinyChallenge(join(dir, 'challenges'), { name: 'tiny', limits: '{ submissions_total: 100 }' });
  pool = join(dir, 'challenges', 'tiny', 'pool');
  const served = await loadServedChallenges(join(dir, 'challenges'));
  dbFile = join(dir, 'server.duckdb');
  store = await DuckDbStore.open(dbFile);
  await store.migrate();
  await syncChallenges(store, served);
  app = createApp({ store, challenges: served, maxUploadBytes: 1 << 20 });
}, 60_000);
afterAll(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

const DISABLED = /file system operations are disabled|refused|is disabled/;
const SANDBOX = /the sandbox refused the strategy|imports something other than a Node built-in|network/;

describe('strategy escapes through the server', () => {
  it('every attempt fails in the job child with the sandbox reason, charged, with nothing stored or written', async () => {
    const test = join(pool, 'test.parquet');
    const truth = join(pool, 'truth.parquet');
    expect(existsSync(truth)).toBe(true);
    const relTest = relative(process.cwd(), test);
    const leak = join(dir, 'leak.csv');
    const cases: { name: string; text: string; reason: RegExp }[] = [
      { name: 'abs.sql', text: `SELECT id FROM read_parquet('${test}')`, reason: DISABLED },
      { name: 'rel.sql', text: `SELECT id FROM read_parquet('${relTest}')`, reason: DISABLED },
      { name: 'truth.sql', text: `SELECT id FROM read_parquet('${truth}') WHERE noisy`, reason: DISABLED },
      { name: 'db.sql', text: `SELECT * FROM read_csv('${dbFile}')`, reason: DISABLED },
      { name: 'variants.sql', text: `SELECT file AS id FROM glob('${variantCacheDir()}/**')`, reason: DISABLED },
      { name: 'attach.sql', text: `ATTACH '${dbFile}' AS server`, reason: /a ATTACH statement/ },
      { name: 'copy.sql', text: `COPY (SELECT id FROM pool) TO '${leak}'`, reason: /a COPY statement/ },
      { name: 'install.sql', text: 'INSTALL httpfs', reason: /an? INSTALL statement/ },
      { name: 'load.sql', text: 'LOAD httpfs', reason: /a LOAD statement/ },
      { name: 'loop.sql', text: 'SELECT a.id FROM pool a, pool b, pool c, pool d WHERE a.id || b.id || c.id || d.id = \'never\'', reason: /ran longer than \d+ s and was stopped/ },
      ...(layer ? [
        { name: 'fs.ts', text: `import { readFileSync } from 'node:fs';\nexport function select() { return [readFileSync(${JSON.stringify(test)}, 'latin1').slice(0, 10)]; }`, reason: SANDBOX },
        { name: 'db.ts', text: `import { readFileSync } from 'node:fs';\nexport function select() { return [readFileSync(${JSON.stringify(dbFile)}, 'latin1').slice(0, 10)]; }`, reason: SANDBOX },
        { name: 'write.ts', text: `import { writeFileSync } from 'node:fs';\nexport function select() { writeFileSync(${JSON.stringify(leak)}, 'x'); return [0]; }`, reason: SANDBOX },
        { name: 'spawn.ts', text: `import { execSync } from 'node:child_process';\nexport function select() { return [String(execSync('cat ${test}')).slice(0, 5)]; }`, reason: SANDBOX },
        { name: 'import.ts', text: `export async function select() { const cp = await import('node:child_process'); return [String(cp.execSync('id'))]; }`, reason: SANDBOX },
        { name: 'require.ts', text: `import { createRequire } from 'node:module';\nexport function select() { const r = createRequire(import.meta.url); return [String(r(${JSON.stringify(join(process.cwd(), 'package.json'))}).name)]; }`, reason: SANDBOX },
        { name: 'pkg.ts', text: `import duckdb from '@duckdb/node-api';\nexport function select() { return [String(duckdb)]; }`, reason: SANDBOX },
        { name: 'fetch.ts', text: `export async function select() { await fetch('http://127.0.0.1:9/'); return [0]; }`, reason: /network|fetch failed|the strategy failed/ },
        { name: 'env.ts', text: `export function select() { const k = Object.keys(process.env).filter((k) => /SIEVE|TOKEN|PG/.test(k)); if (k.length) throw new Error('sees ' + k.join(',')); return [0, 0]; }`, reason: /repeated id/ },
        { name: 'loop.ts', text: 'export function select() { for (;;) {} }', reason: /wall-clock limit|CPU-time limit|SIGKILL/ },
      ] : []),
    ];
    const r = await app.request('/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'mallory' }) });
    const token = (await r.json()).token as string;
    const jobs: { job: string; submission: string }[] = [];
    for (const c of cases) {
      const form = new FormData();
      form.append('strategy', new File([c.text], c.name));
      const up = await app.request('/api/challenges/tiny/submissions', { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
      expect(up.status, c.name).toBe(202);
      jobs.push(await up.json());
    }
    // A short job limit: each strategy run gets half of it (6 s), so the loops stop as the strategy's fault.
    const queue = new EvaluationQueue(store, { workers: 2, jobTimeoutSeconds: 12, pollMs: 100 });
    queue.start();
    try {
      const until = Date.now() + 400_000;
      for (;;) {
        const n = await store.countJobs();
        if (n.queued === 0 && n.running === 0) break;
        if (Date.now() > until) throw new Error('timed out waiting for the queue');
        await new Promise((res) => setTimeout(res, 200));
      }
    } finally {
      await queue.stop();
    }
    for (const [i, c] of cases.entries()) {
      const job = (await store.getJob(jobs[i].job))!;
      expect(job.state, `${c.name}: ${job.error}`).toBe('failed');
      expect(job.charged, c.name).toBe(true);
      expect(job.attempts, c.name).toBe(1);
      expect(job.error, c.name).toMatch(/^the strategy failed: /);
      expect(job.error, c.name).toMatch(c.reason);
      expect(await store.getResult(jobs[i].submission), c.name).toBeNull();
    }
    expect(existsSync(leak)).toBe(false);
    const board = await (await app.request('/api/challenges/tiny/leaderboard')).json();
    expect(board.entries).toEqual([]);
  }, 480_000);
});
