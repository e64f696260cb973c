/**
 * Escape attempts through the server: each strategy is submitted with the API, run by the
 * queue's job child, and must fail with the sandbox's reason, charged to the entrant, with no
 * result stored and nothing leaked (no file written, no hidden row in any answer). The cases
 * are those of test/strategy-sql.test.ts and test/strategy-sandbox.test.ts, aimed at what a
 * server holds: the challenge's hidden test and truth Parquet (absolute and relative paths),
 * the variant cache, and the server's database: its DuckDB file, or on PostgreSQL the database
 * server's TCP port and Unix socket (and ATTACH of its URL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Hono } from 'hono';
import { createApp } from '../src/server/app.ts';
import { loadServedChallenges, syncChallenges, type ServedChallenge } from '../src/server/challenges.ts';
import { EvaluationQueue } from '../src/server/queue.ts';
import { openStore, pgTarget } from '../src/server/store/open.ts';
import type { ServerStore } from '../src/server/store/types.ts';
import { variantCacheDir } from '../src/pool/resolve.ts';
import { detectLayer } from '../src/strategy/sandbox/layers.ts';
import { skipIfUnavailable, storeBackends, type StoreBackend } from './server-backends.ts';
import { writeTinyChallenge } from './fixtures/tiny-challenge.ts';

let dir: string;
let pool: string;
let served: Map<string, ServedChallenge>;
const layer = detectLayer().layer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sieve-server-escapes-'));
  await writeTinyChallenge(join(dir, 'challenges'), { name: 'tiny', limits: '{ submissions_total: 100 }' });
  pool = join(dir, 'challenges', 'tiny', 'pool');
  served = await loadServedChallenges(join(dir, 'challenges'));
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const BACKENDS = await storeBackends('server-strategy-escapes');

const DISABLED = /file system operations are disabled|refused|is disabled/;
const SANDBOX = /the sandbox refused the strategy|imports something other than a Node built-in|network/;

/** A socket connection from a code strategy: it must never connect (a connected one returns a row id nobody has). */
const connectTs = (target: string) => `import { connect } from 'node:net';\nexport function select() {\n  return new Promise((resolve, reject) => {\n    const s = connect(${target});\n    s.on('connect', () => resolve(['connected']));\n    s.on('error', reject);\n  });\n}`;

/** Attempts at the server's own database: its DuckDB file, or PostgreSQL's port, socket and URL. */
function databaseCases(b: StoreBackend, db: string): { name: string; text: string; reason: RegExp }[] {
  if (b.name === 'duckdb') {
    return [
      { name: 'db.sql', text: `SELECT * FROM read_csv('${db}')`, reason: DISABLED },
      { name: 'attach.sql', text: `ATTACH '${db}' AS server`, reason: /an ATTACH statement/ },
      ...(layer ? [{ name: 'db.ts', text: `import { readFileSync } from 'node:fs';\nexport function select() { return [readFileSync(${JSON.stringify(db)}, 'latin1').slice(0, 10)]; }`, reason: SANDBOX }] : []),
    ];
  }
  const t = pgTarget(db);
  const socket = `/var/run/postgresql/.s.PGSQL.${t.port}`;
  return [
    { name: 'attach.sql', text: `ATTACH '${db}' AS server (TYPE postgres)`, reason: /an ATTACH statement/ },
    { name: 'scan.sql', text: `SELECT id FROM postgres_scan('${db}', 'public', 'participants')`, reason: /postgres_scan|does not exist|not found/i },
    ...(layer ? [{ name: 'db.ts', text: connectTs(`${t.port}, ${JSON.stringify(t.host)}`), reason: /ENETUNREACH|ECONNREFUSED|EACCES|network/ }] : []),
    ...(existsSync(socket) ? [{ name: 'socket.ts', text: connectTs(JSON.stringify(socket)), reason: /Unix-domain socket|refused|EACCES/ }] : []),
  ];
}

describe.each(BACKENDS)('strategy escapes through the server ($name)', (b) => {
  if (skipIfUnavailable(b)) return;
  let store: ServerStore;
  let app: Hono;
  let db: string;
  beforeAll(async () => {
    db = await b.newDb('escapes');
    store = await openStore(db);
    await store.migrate();
    await syncChallenges(store, served);
    app = createApp({ store, challenges: served, maxUploadBytes: 1 << 20 });
  }, 60_000);
  afterAll(() => store?.close());

  it('every attempt fails in the job child with the sandbox reason, charged, with nothing stored or written', async () => {
    const test = join(pool, 'test.parquet');
    const truth = join(pool, 'truth.parquet');
    expect(existsSync(truth)).toBe(true);
    const relTest = relative(process.cwd(), test);
    const leak = join(dir, 'leak.csv');
    const every: { name: string; text: string; reason: RegExp }[] = [
      { name: 'abs.sql', text: `SELECT id FROM read_parquet('${test}')`, reason: DISABLED },
      { name: 'rel.sql', text: `SELECT id FROM read_parquet('${relTest}')`, reason: DISABLED },
      { name: 'truth.sql', text: `SELECT id FROM read_parquet('${truth}') WHERE noisy`, reason: DISABLED },
      { name: 'variants.sql', text: `SELECT file AS id FROM glob('${variantCacheDir()}/**')`, reason: DISABLED },
      ...databaseCases(b, db),
      { name: 'copy.sql', text: `COPY (SELECT id FROM pool) TO '${leak}'`, reason: /a COPY statement/ },
      { name: 'install.sql', text: 'INSTALL httpfs', reason: /an? INSTALL statement/ },
      { name: 'load.sql', text: 'LOAD httpfs', reason: /a LOAD statement/ },
      { name: 'loop.sql', text: 'SELECT a.id FROM pool a, pool b, pool c, pool d WHERE a.id || b.id || c.id || d.id = \'never\'', reason: /ran longer than \d+ s and was stopped/ },
      ...(layer ? [
        { name: 'fs.ts', text: `import { readFileSync } from 'node:fs';\nexport function select() { return [readFileSync(${JSON.stringify(test)}, 'latin1').slice(0, 10)]; }`, reason: SANDBOX },
        { name: 'write.ts', text: `import { writeFileSync } from 'node:fs';\nexport function select() { writeFileSync(${JSON.stringify(leak)}, 'x'); return [0]; }`, reason: SANDBOX },
        { name: 'spawn.ts', text: `import { execSync } from 'node:child_process';\nexport function select() { return [String(execSync('cat ${test}')).slice(0, 5)]; }`, reason: SANDBOX },
        { name: 'import.ts', text: `export async function select() { const cp = await import('node:child_process'); return [String(cp.execSync('id'))]; }`, reason: SANDBOX },
        { name: 'require.ts', text: `import { createRequire } from 'node:module';\nexport function select() { const r = createRequire(import.meta.url); return [String(r(${JSON.stringify(join(process.cwd(), 'package.json'))}).name)]; }`, reason: SANDBOX },
        { name: 'pkg.ts', text: `import duckdb from '@duckdb/node-api';\nexport function select() { return [String(duckdb)]; }`, reason: SANDBOX },
        // (Not port 9: fetch refuses it as a "bad port" before opening any socket.)
        { name: 'fetch.ts', text: `export async function select() { await fetch('http://127.0.0.1:18080/'); return [0]; }`, reason: /tried to use the network/ },
        { name: 'env.ts', text: `export function select() { const k = Object.keys(process.env).filter((k) => /SIEVE|TOKEN|PG/.test(k)); if (k.length) throw new Error('sees ' + k.join(',')); return [0, 0]; }`, reason: /repeated id/ },
        { name: 'loop.ts', text: 'export function select() { for (;;) {} }', reason: /wall-clock limit|CPU-time limit|SIGKILL/ },
      ] : []),
    ];
    // The job child never touches the database, so a sandbox case means the same on either backend:
    // PostgreSQL's half runs its own database cases and one case per way a strategy is stopped
    // (a file read, a refused statement, the code sandbox, the environment), each through its
    // submit, claim and charged failure on PostgreSQL.
    const database = new Set(databaseCases(b, db).map((c) => c.name));
    const cases = b.name === 'duckdb' ? every : every.filter((c) => database.has(c.name) || ['abs.sql', 'copy.sql', 'fs.ts', 'env.ts'].includes(c.name));
    const r = await app.request('/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'mallory' }) });
    const token = (await r.json()).token as string;
    const jobs = new Map<string, { job: string; submission: string }>();
    /** Submits `batch` and runs the queue until it is empty, with a job limit of `seconds`. */
    const run = async (batch: typeof cases, seconds: number) => {
      for (const c of batch) {
        const form = new FormData();
        form.append('strategy', new File([c.text], c.name));
        const up = await app.request('/api/challenges/tiny/submissions', { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
        expect(up.status, c.name).toBe(202);
        jobs.set(c.name, await up.json());
      }
      const queue = new EvaluationQueue(store, { workers: 2, jobTimeoutSeconds: seconds, pollMs: 100 });
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
    };
    // The refusals under a roomy job limit (a loaded machine takes many seconds just to start a job
    // child); then the endless loops under 60 s: each strategy run gets half of it (30 s), so they
    // stop as the strategy's fault with the other half left for the job child (at load 12 it
    // needed more than 15 s).
    const loops = (c: { name: string }) => c.name.startsWith('loop.');
    await run(cases.filter((c) => !loops(c)), 120);
    await run(cases.filter(loops), 60);
    for (const c of cases) {
      const job = (await store.getJob(jobs.get(c.name)!.job))!;
      // Every attempt's outcome and reason, should one not be the strategy's (a time limit under load, say).
      const attempts = (await store.listAttempts(job.id)).map((a) => `#${a.attempt} ${a.outcome}: ${a.reason}`).join('; ');
      expect(job.state, `${c.name}: ${job.error}`).toBe('failed');
      expect(job.charged, `${c.name}: ${attempts}`).toBe(true);
      expect(job.attempts, `${c.name}: ${attempts}`).toBe(1);
      expect(job.error, c.name).toMatch(/^the strategy failed: /);
      expect(job.error, c.name).toMatch(c.reason);
      // The entrant reads this reason: it names none of the server's folders.
      for (const folder of [dir, homedir(), tmpdir()]) expect(job.error, c.name).not.toContain(folder);
      expect(await store.getResult(jobs.get(c.name)!.submission), c.name).toBeNull();
    }
    expect(existsSync(leak)).toBe(false);
    const board = await (await app.request('/api/challenges/tiny/leaderboard')).json();
    expect(board.entries).toEqual([]);
  }, 480_000);
});
