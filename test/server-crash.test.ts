/**
 * `sieve serve` killed with SIGKILL while it evaluates, twice, then restarted: every
 * submission is scored exactly once (one result, one finished attempt per job), none is lost,
 * and the interrupted attempts are on record. Runs the built command (bin/sieve.mjs) on a
 * tiny challenge with two workers. Then the same job killed in every one of its attempts: it
 * ends failed with its reason, off the participant's quota, and the jobs queued behind it are
 * scored exactly once. On both store backends (test/server-backends.ts): a server alone on its
 * DuckDB file takes back its interrupted jobs at start-up; on PostgreSQL (a database shared
 * with workers elsewhere) the killed server's jobs come back when their leases (3 s here) expire.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openPool, readSplit } from '../src/pool/read.ts';
import { MAX_ATTEMPTS } from '../src/server/queue.ts';
import { skipIfUnavailable, storeBackends, type StoreBackend } from './server-backends.ts';
import { writeTinyChallenge } from './fixtures/tiny-challenge.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SUBMISSIONS = 8;

let dir: string;
let challenges: string;
let ids: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sieve-server-crash-'));
  challenges = join(dir, 'challenges');
  await writeTinyChallenge(challenges, { name: 'tiny' });
  ids = (await readSplit(await openPool(join(challenges, 'tiny', 'pool')), 'train', { columns: [] })).ids;
}, 60_000);
/** Every process a test started: a failed test (a timeout) must not leave a sieve serve running. */
const procs = new Set<ChildProcess>();
afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

const BACKENDS = await storeBackends('server-crash');

function sieve(args: string[]): ChildProcess {
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'sieve.mjs'), ...args], { cwd: dir, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.add(proc);
  return proc;
}

interface Server {
  proc: ChildProcess;
  url: string;
  events: { event: string; job?: string; requeued?: number }[];
  lines: string[];
  exited: Promise<void>;
}

/** A short lease on PostgreSQL, where only its expiry hands a killed server's job out again. */
async function start(b: StoreBackend, database: string, workers = 2): Promise<Server> {
  const lease = b.name === 'postgres' ? ['--lease', '3'] : [];
  const proc = sieve(['serve', '--db', database, '--port', '0', '--challenges', challenges, '--workers', String(workers), ...lease, '--json']);
  const events: Server['events'] = [];
  const lines: string[] = [];
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<void>((ok) => proc.once('exit', () => ok()));
  const url = await new Promise<string>((ok, fail) => {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        if (!line.startsWith('{')) continue;
        const e = JSON.parse(line);
        events.push(e);
        // With --json the start-up line is an event too.
        if (e.event === 'server-started') ok(e.url);
      }
    });
    proc.once('exit', (code) => fail(new Error(`sieve serve exited (${code}): ${stderr}`)));
  });
  return { proc, url, events, lines, exited };
}

/** Polls `fn` every `everyMs` (10 by default: the servers' logs; HTTP polls go slower, see below). */
async function until(fn: () => boolean | Promise<boolean>, what: string, seconds = 40, everyMs = 10): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const done = (s: Server) => s.events.filter((e) => e.event === 'done').length;

/** SIGKILLs the server the moment it logs that a worker started a job. */
async function killAtNextStart(s: Server): Promise<void> {
  const seen = s.events.filter((e) => e.event === 'claimed').length;
  await until(() => s.events.filter((e) => e.event === 'claimed').length > seen, 'a job to start');
  s.proc.kill('SIGKILL');
  await s.exited;
}

describe.each(BACKENDS)('$name', (b) => {
  if (skipIfUnavailable(b)) return;
  /** How a killed server's attempt ends: taken back at start-up (DuckDB), or its lease expired (PostgreSQL). */
  const lost = b.name === 'duckdb' ? 'interrupted' : 'expired';

  describe('sieve serve under SIGKILL', () => {
    it('resumes queued and interrupted jobs after restarts and scores every submission exactly once', async () => {
      const db = await b.newDb('crash');
      const init = sieve(['serve', '--init', '--db', db, '--json']);
      let out = '';
      init.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
      await new Promise((ok) => init.once('exit', ok));
      expect(JSON.parse(out).token).toMatch(/^sieve_org_/);

      let server = await start(b, db);
      const reg = await fetch(`${server.url}/api/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ada' }) });
      const { token } = await reg.json();
      const auth = { authorization: `Bearer ${token}` };
      const jobs: string[] = [];
      for (let i = 0; i < SUBMISSIONS; i++) {
        const form = new FormData();
        form.append('file', new File([`id\n${ids.slice(i * 10, i * 10 + 60).join('\n')}\n`], `s${i}.csv`));
        const r = await fetch(`${server.url}/api/challenges/tiny/submissions`, { method: 'POST', headers: auth, body: form });
        expect(r.status).toBe(202);
        jobs.push((await r.json()).job);
      }

      // First kill: some jobs done, one just started (a child takes far longer than this to even
      // load the evaluator, so it is mid-evaluation), the rest queued.
      await until(() => done(server) >= 1, 'a job done');
      await killAtNextStart(server);

      // Second kill, right after the restart picked up work again.
      server = await start(b, db);
      // Alone on its file, the server takes its interrupted jobs back at once; on a shared database
      // it must not (a running job may be another machine's worker's): the lease says when.
      if (b.name === 'duckdb') expect(server.events.find((e) => e.event === 'recovered')?.requeued).toBeGreaterThanOrEqual(1);
      else expect(server.events.some((e) => e.event === 'recovered')).toBe(false);
      await killAtNextStart(server);

      server = await start(b, db);
      // One look a second: 8 job reads per look stay under the server's 600 requests a minute per
      // token (polling every 10 ms ran into 429s, read as "not done", while the PostgreSQL half
      // waited out its leases).
      const states = async () => {
        await new Promise((r) => setTimeout(r, 1000));
        return Promise.all(jobs.map(async (j) => {
          const r = await fetch(`${server.url}/api/jobs/${j}`, { headers: auth });
          return r.ok ? (await r.json()).state as string : `HTTP ${r.status}`;
        }));
      };
      // A bound on liveness, not a speed target (each job also audits its rows after the score,
      // its worker slot held, and CI's 2 cores are loaded).
      await until(async () => (await states()).every((s) => s === 'done'), 'every job done', 240)
        .catch(async (err) => { throw new Error(`${(err as Error).message}: ${(await states()).join(', ')}; server log: ${server.lines.slice(-30).join(' | ')}`); });
      const board = await (await fetch(`${server.url}/api/challenges/tiny/leaderboard`)).json();
      expect(board.entries).toHaveLength(1);
      expect(board.entries[0].submissions).toBe(SUBMISSIONS);
      server.proc.kill('SIGTERM');
      await server.exited;

      const q = (sql: string) => b.sql(db, sql);
      {
        expect(await q('SELECT count(*) AS n FROM submissions')).toEqual([{ n: String(SUBMISSIONS) }]);
        // One result per submission, from the job's one finished attempt.
        const per = await q(`SELECT s.id, count(r.submission) AS results,
            (SELECT count(*) FROM job_attempts a WHERE a.job = j.id AND a.outcome = 'done') AS done_attempts
          FROM submissions s JOIN jobs j ON j.submission = s.id LEFT JOIN results r ON r.submission = s.id GROUP BY s.id, j.id`);
        expect(per).toHaveLength(SUBMISSIONS);
        for (const row of per) expect(row).toMatchObject({ results: '1', done_attempts: '1' });
        const mismatched = await q('SELECT count(*) AS n FROM results r JOIN jobs j ON j.id = r.job WHERE j.attempts <> r.attempt OR j.submission <> r.submission');
        expect(mismatched).toEqual([{ n: '0' }]);
        // The kills interrupted attempts, and those were run again.
        const interrupted = await q(`SELECT count(*) AS n FROM job_attempts WHERE outcome = '${lost}'`);
        expect(Number(interrupted[0].n)).toBeGreaterThanOrEqual(2);
        expect(await q("SELECT count(*) AS n FROM job_attempts WHERE outcome IS NULL OR outcome = 'failed'")).toEqual([{ n: '0' }]);
        // Each stored record is whole and names its own submission.
        for (const r of await q('SELECT r.record, s.sha256 FROM results r JOIN submissions s ON s.id = r.submission')) {
          const record = JSON.parse(r.record as string);
          expect(record.submission.sha256).toBe(r.sha256);
          expect(record.private.metrics.accuracy.mean).toBeTypeOf('number');
        }
      }
    }, 360_000);
  });

  describe('sieve serve killed in every attempt of one job', () => {
    it(`still scores the job after ${MAX_ATTEMPTS} interrupted attempts (crashes are not the submission's failures), and every other job once`, async () => {
      const db2 = await b.newDb('killed');
      const init = sieve(['serve', '--init', '--db', db2, '--json']);
      await new Promise((ok) => init.once('exit', ok));
      // Every submission first, on a server with no worker (so none can start, let alone finish,
      // before the kills are armed); then servers with one worker, each SIGKILLed the moment it
      // claims the victim, the oldest job (on PostgreSQL once its lease has expired: the others
      // may run meanwhile).
      let server = await start(b, db2, 0);
      const { token } = await (await fetch(`${server.url}/api/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bo' }) })).json();
      const auth = { authorization: `Bearer ${token}` };
      const submit = async (i: number) => {
        const form = new FormData();
        form.append('file', new File([`id\n${ids.slice(i * 7, i * 7 + 50).join('\n')}\n`], `k${i}.csv`));
        const r = await fetch(`${server.url}/api/challenges/tiny/submissions`, { method: 'POST', headers: auth, body: form });
        expect(r.status).toBe(202);
        return (await r.json()).job as string;
      };
      const victim = await submit(0);
      const others = [await submit(1), await submit(2)];
      server.proc.kill('SIGTERM');
      await server.exited;
      /** SIGKILLs the server the moment its worker claims `job` (each server logs its own events). */
      const killWhenClaimed = async (job: string) => {
        await until(() => server.events.some((e) => e.event === 'claimed' && e.job === job), `job ${job} claimed`, 90);
        server.proc.kill('SIGKILL');
        await server.exited;
      };
      for (let kill = 1; kill <= MAX_ATTEMPTS; kill++) {
        server = await start(b, db2, 1);
        await killWhenClaimed(victim);
      }
      server = await start(b, db2, 1);
      const job = async (id: string) => (await fetch(`${server.url}/api/jobs/${id}`, { headers: auth })).json();
      // Polled as a client should (the API's per-token rate limit answers a 10 ms poll of three
      // jobs with 429 until it slows down: the jobs were done, the answers "rate-limited").
      await until(async () => (await Promise.all([victim, ...others].map(job))).every((j) => j.state === 'done'), 'every job done', 90, 250);
      const v = await job(victim);
      expect(v).toMatchObject({ state: 'done', attempts: MAX_ATTEMPTS + 1 });
      expect(v.attempt_log.map((a: { outcome: string }) => a.outcome)).toEqual([...Array(MAX_ATTEMPTS).fill(lost), 'done']);
      const me = await (await fetch(`${server.url}/api/me`, { headers: auth })).json();
      expect(me.quota.find((q: { challenge: string }) => q.challenge === 'tiny')).toMatchObject({ used_total: 3, used_today: 3 });
      server.proc.kill('SIGTERM');
      await server.exited;

      const q = (sql: string) => b.sql(db2, sql);
      {
        const per = await q(`SELECT j.id, j.state, count(r.submission) AS results,
            (SELECT count(*) FROM job_attempts a WHERE a.job = j.id AND a.outcome = 'done') AS done_attempts
          FROM jobs j LEFT JOIN results r ON r.submission = j.submission GROUP BY j.id, j.state ORDER BY j.id`);
        expect(per).toHaveLength(3);
        for (const row of per) {
          expect(row).toMatchObject({ state: 'done', results: '1', done_attempts: '1' });
        }
      }
    }, 240_000);
  });
});
