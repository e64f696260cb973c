/**
 * `sieve worker` processes against one PostgreSQL database (skipped without $SIEVE_TEST_PG,
 * failing under CI): three workers, one SIGKILLed mid-job and the server SIGKILLed and
 * restarted while they work, every submission scored exactly once; a worker SIGSTOPped past
 * its lease has its job taken over by another, and its late result, once it runs again, is
 * written nowhere. Short leases (2 s) keep it quick; nothing here waits on a fixed time. On the
 * DuckDB backend (a file one process opens) sieve worker is refused, saying what to run instead.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openPool, readSplit } from '../src/pool/read.ts';
import { openStore } from '../src/server/store/open.ts';
import type { ServerStore } from '../src/server/store/types.ts';
import { skipIfUnavailable, storeBackends } from './server-backends.ts';
import { writeTinyChallenge } from './fixtures/tiny-challenge.ts';

const ROOT = resolve(import.meta.dirname, '..');
const BACKENDS = await storeBackends('server-worker');
const pgb = BACKENDS.find((b) => b.name === 'postgres')!;
const duck = BACKENDS.find((b) => b.name === 'duckdb')!;

let dir: string;
let challenges: string;
let ids: string[];
const procs = new Set<ChildProcess>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sieve-server-worker-'));
  challenges = join(dir, 'challenges');
  await writeTinyChallenge(challenges, { name: 'tiny' });
  ids = (await readSplit(await openPool(join(challenges, 'tiny', 'pool')), 'train', { columns: [] })).ids;
}, 60_000);
afterAll(async () => {
  for (const p of procs) if (p.exitCode === null) { p.kill('SIGCONT'); p.kill('SIGKILL'); }
  await rm(dir, { recursive: true, force: true });
});

interface Proc {
  proc: ChildProcess;
  events: { event: string; job?: string; worker?: string; attempt?: number }[];
  lines: string[];
  exited: Promise<number | null>;
}

function sieve(args: string[]): Proc {
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'sieve.mjs'), ...args], { cwd: dir, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.add(proc);
  const p: Proc = { proc, events: [], lines: [], exited: new Promise((ok) => proc.once('exit', (code) => ok(code))) };
  let buf = '';
  const take = (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      p.lines.push(line);
      if (line.startsWith('{"time"')) p.events.push(JSON.parse(line));
    }
  };
  proc.stdout!.on('data', take);
  proc.stderr!.on('data', take);
  return p;
}

async function until(fn: () => boolean | Promise<boolean>, what: string, seconds = 90, p?: Proc): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${p ? `:\n${p.lines.slice(-20).join('\n')}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function startServer(db: string): Promise<Proc & { url: string }> {
  const s = sieve(['serve', '--db', db, '--port', '0', '--challenges', challenges, '--workers', '0', '--json']);
  let url = '';
  // With --json the start-up line is an event: {"event":"server-started","url":…}.
  const started = () => s.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((e) => e.event === 'server-started');
  await until(() => { const e = started(); if (e) url = e.url; return !!e || s.proc.exitCode !== null; }, 'the server to listen', 60, s);
  if (!url) throw new Error(`sieve serve did not start:\n${s.lines.join('\n')}`);
  return { ...s, url };
}

async function submit(url: string, token: string, k: number): Promise<string> {
  const form = new FormData();
  form.append('file', new File([`id\n${ids.slice(k * 7, k * 7 + 60).join('\n')}\n`], `s${k}.csv`));
  const r = await fetch(`${url}/api/challenges/tiny/submissions`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  expect(r.status).toBe(202);
  return (await r.json()).job as string;
}

async function setUp(name: string): Promise<{ db: string; store: ServerStore; server: Proc & { url: string }; token: string }> {
  const db = await pgb.newDb(name);
  const init = sieve(['serve', '--init', '--db', db, '--json']);
  expect(await init.exited).toBe(0);
  const server = await startServer(db);
  const reg = await fetch(`${server.url}/api/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ada' }) });
  const { token } = await reg.json();
  return { db, store: await openStore(db), server, token };
}

const worker = (db: string, url: string, name: string) =>
  sieve(['worker', '--db', db, '--server', url, '--lease', '2', '--grace', '0', '--name', name, '--cache', join(dir, `cache-${name}`), '--json']);

describe('sieve worker on PostgreSQL', () => {
  if (skipIfUnavailable(pgb)) return;

  it('three workers, one SIGKILLed mid-job, the server SIGKILLed and restarted: every submission scored exactly once', async () => {
    const { db, store, token, ...rest } = await setUp('three');
    let server = rest.server;
    try {
      const jobs: string[] = [];
      for (let k = 0; k < 6; k++) jobs.push(await submit(server.url, token, k));
      const workers = ['a', 'b', 'c'].map((n) => worker(db, server.url, n));
      const [a] = workers;
      // Kill a the moment it has a job (its child is still loading the evaluator: mid-job).
      await until(() => a.events.some((e) => e.event === 'claimed'), 'worker a to claim a job', 90, a);
      const killedJob = a.events.find((e) => e.event === 'claimed')!.job!;
      a.proc.kill('SIGKILL');
      await a.exited;
      // The server goes down hard while b and c work, and comes back; more submissions arrive.
      await until(async () => (await store.countJobs()).done >= 1, 'a first result');
      server.proc.kill('SIGKILL');
      await server.exited;
      server = await startServer(db);
      for (let k = 6; k < 9; k++) jobs.push(await submit(server.url, token, k));
      await until(async () => { const c = await store.countJobs(); return c.done === jobs.length || c.failed > 0; }, 'every job done', 150);
      const counts = await store.countJobs();
      expect(counts).toMatchObject({ queued: 0, running: 0, done: jobs.length, failed: 0 });
      const results = await store.listResults('tiny');
      expect(results).toHaveLength(jobs.length);
      expect(new Set(results.map((r) => r.submission)).size).toBe(jobs.length);
      for (const job of jobs) {
        const attempts = await store.listAttempts(job);
        expect(attempts.filter((x) => x.outcome === 'done')).toHaveLength(1);
        const j = (await store.getJob(job))!;
        expect(results.find((r) => r.submission === j.submission)!.attempt).toBe(attempts.find((x) => x.outcome === 'done')!.attempt);
      }
      // a's job: its lease expired, another worker scored it.
      const killed = await store.listAttempts(killedJob);
      expect(killed[0]).toMatchObject({ outcome: 'expired', worker: expect.stringMatching(/^a\//) });
      expect(killed.at(-1)).toMatchObject({ outcome: 'done', worker: expect.stringMatching(/^[bc]\//) });
      const doneBy = new Set(workers.flatMap((w) => w.events.filter((e) => e.event === 'done').map((e) => e.job)));
      expect(doneBy.size).toBe(jobs.length);
      for (const w of workers.slice(1)) w.proc.kill('SIGTERM');
      for (const w of workers.slice(1)) expect(await w.exited).toBe(0);
    } finally {
      server.proc.kill('SIGKILL');
      await store.close();
    }
  }, 300_000);

  it('a worker paused (SIGSTOP) past its lease: another takes the job over, the late result is written nowhere', async () => {
    const { db, store, server, token } = await setUp('paused');
    try {
      const job = await submit(server.url, token, 0);
      const p = worker(db, server.url, 'p');
      await until(() => p.events.some((e) => e.event === 'claimed'), 'worker p to claim', 90, p);
      p.proc.kill('SIGSTOP');
      const q = worker(db, server.url, 'q');
      await until(async () => (await store.getJob(job))?.state === 'done', 'worker q to score the job', 120, q);
      p.proc.kill('SIGCONT');
      // p wakes with its child's result (or its heartbeat) and learns the lease is gone: nothing written.
      await until(() => p.events.some((e) => e.event === 'lease-lost' || e.event === 'stale-result'), 'worker p to notice', 60, p);
      expect(p.events.some((e) => e.event === 'done')).toBe(false);
      const attempts = await store.listAttempts(job);
      expect(attempts.map((x) => [x.attempt, x.outcome, x.worker?.split('/')[0]])).toEqual([[1, 'expired', 'p'], [2, 'done', 'q']]);
      const result = (await store.listResults('tiny'))[0];
      expect(result).toMatchObject({ job, attempt: 2 });
      expect(await store.listResults('tiny')).toHaveLength(1);
      // SIGTERM with nothing running: both exit 0.
      p.proc.kill('SIGTERM');
      q.proc.kill('SIGTERM');
      expect(await p.exited).toBe(0);
      expect(await q.exited).toBe(0);
    } finally {
      server.proc.kill('SIGKILL');
      await store.close();
    }
  }, 240_000);
});

describe('sieve worker on a DuckDB file', () => {
  it('is refused, saying why and what to run instead; the file is left as it was', async () => {
    const db = await duck.newDb('refused');
    const init = sieve(['serve', '--init', '--db', db, '--json']);
    expect(await init.exited).toBe(0);
    const w = sieve(['worker', '--db', db, '--server', 'http://127.0.0.1:9', '--json']);
    expect(await w.exited).not.toBe(0);
    const said = w.lines.join('\n');
    expect(said).toMatch(/sieve worker needs the server's PostgreSQL database \(--db postgres:\/\/…\)/);
    expect(said).toMatch(/sieve serve --workers N/);
    // The server's database is untouched: still its schema, its organiser, no job.
    const store = await openStore(db);
    try {
      expect(await store.currentVersion()).toBe(store.schemaVersion);
      expect(await store.countParticipants('organiser')).toBe(1);
      expect(await store.countJobs()).toEqual({ queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 });
    } finally {
      await store.close();
    }
  }, 60_000);
});
