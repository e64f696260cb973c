/**
 * bench/queue: the evaluation queue on one PostgreSQL database.
 *
 * 1. Evaluations per minute with 1, 2 and 4 `sieve worker` processes (bin/sieve.mjs, one
 *    evaluation slot each) on this machine, on a small challenge (a 400-row synthetic pool,
 *    logistic regression, two seeds): `--jobs` submissions queued, the workers started, the
 *    time from the first result to the last (steady state: worker start-up excluded) and from
 *    the start to the last result. The speed-up is against the 1-worker run of the same round;
 *    rounds alternate 1, 2, 4, 1, 2, 4, … and the median per count is reported.
 * 2. The queue's own ceiling: claims per second with a no-op job (claim under a lease, then
 *    complete with a one-byte record, each its own transaction), from 1, 4 and 8 concurrent
 *    claimers in this process over one connection pool. Divided by the evaluation rate of one
 *    worker, it says how many worker slots one database serves before it is the bottleneck.
 *
 * Needs a PostgreSQL role that may create databases: $SIEVE_BENCH_PG, else $SIEVE_TEST_PG
 * (e.g. postgres://sieve_test:sieve_test@127.0.0.1:5432/postgres); without one it says so and
 * exits 0. Runs at nice 10 and prints the load average before and after.
 *   npm run bench -- queue [--jobs 12] [--rounds 3] [--claims 2000]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, setPriority, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { ensureBuilt } from '../scripts/build.mjs';
import { openPool, readSplit } from '../src/pool/read.ts';
import { loadServedChallenges, syncChallenges } from '../src/server/challenges.ts';
import { openStore } from '../src/server/store/open.ts';
import type { ServerStore } from '../src/server/store/types.ts';
import { issueToken, newId } from '../src/server/tokens.ts';
import { printTable } from '../src/util/output.ts';
import { writeTinyChallenge } from '../test/fixtures/tiny-challenge.ts';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const JOBS = arg('--jobs', 12);
const ROUNDS = arg('--rounds', 3);
const CLAIMS = arg('--claims', 2000);
const ROOT = resolve(import.meta.dirname, '..');
const admin = process.env.SIEVE_BENCH_PG ?? process.env.SIEVE_TEST_PG;

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

async function reachable(url: string): Promise<string | null> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try { await c.connect(); await c.end(); return null; } catch (err) { return (err as Error).message.split('\n')[0]; }
}

const made: string[] = [];
async function newDb(tag: string): Promise<string> {
  const name = `sieve_bench_queue_${process.pid}_${tag}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${name}`);
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  made.push(name);
  const u = new URL(admin!);
  u.pathname = `/${name}`;
  return u.toString();
}
async function dropAll(): Promise<void> {
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  for (const n of made) await c.query(`DROP DATABASE IF EXISTS ${n} WITH (FORCE)`).catch(() => {});
  await c.end();
}

async function seed(store: ServerStore, served: Awaited<ReturnType<typeof loadServedChallenges>>, jobs: number, ids: string[]): Promise<string> {
  await store.migrate();
  await syncChallenges(store, served);
  const id = newId('par');
  const t = issueToken(id);
  await store.addParticipant({ id, name: `bench ${id.slice(-6)}`, role: 'participant', tokenSalt: t.salt, tokenHash: t.hash, createdAt: Date.now() });
  for (let k = 0; k < jobs; k++) {
    const bytes = new TextEncoder().encode(`id\n${ids.slice((k * 13) % 300, ((k * 13) % 300) + 60).join('\n')}\n`);
    const r = await store.submit({ id: newId('sub'), participant: id, challenge: 'tiny', fileName: `s${k}.csv`, sha256: 'bench', bytes, createdAt: Date.now() + k }, { id: newId('job'), maxAttempts: 3 }, { dayStart: 0 });
    if (!r.ok) throw new Error('submit refused');
  }
  return id;
}

/** One run: `workers` sieve worker processes drain `JOBS` jobs; seconds first→last result and start→last. */
async function evaluations(workers: number, round: number, served: Awaited<ReturnType<typeof loadServedChallenges>>, ids: string[], dir: string): Promise<{ steady: number; wall: number }> {
  const db = await newDb(`w${workers}_r${round}`);
  const store = await openStore(db);
  try {
    await seed(store, served, JOBS, ids);
    const t0 = performance.now();
    const doneAt: number[] = [];
    const procs = Array.from({ length: workers }, (_, i) => {
      const p = spawn(process.execPath, [join(ROOT, 'bin', 'sieve.mjs'), 'worker', '--db', db, '--json', '--name', `bench${i}`, '--grace', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
      let buf = '';
      p.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.includes('"event":"done"')) doneAt.push(performance.now());
          if (/"event":"(failed|retry)"/.test(line)) console.error(line);
        }
      });
      return p;
    });
    while (doneAt.length < JOBS) {
      if (procs.every((p) => p.exitCode !== null)) throw new Error('every worker exited');
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => new Promise((ok) => (p.exitCode !== null ? ok(null) : p.once('exit', ok)))));
    const c = await store.countJobs();
    if (c.done !== JOBS) throw new Error(`expected ${JOBS} jobs done, got ${JSON.stringify(c)}`);
    doneAt.sort((a, b) => a - b);
    return { steady: (doneAt[JOBS - 1] - doneAt[0]) / 1000, wall: (doneAt[JOBS - 1] - t0) / 1000 };
  } finally {
    await store.close();
  }
}

/** Claims (and completes) per second of no-op jobs from `claimers` concurrent loops. */
async function claimRate(claimers: number, served: Awaited<ReturnType<typeof loadServedChallenges>>, ids: string[]): Promise<number> {
  const db = await newDb(`c${claimers}`);
  const store = await openStore(db);
  try {
    await seed(store, served, CLAIMS, ids);
    let claimed = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: claimers }, async (_, i) => {
      const worker = `noop/${i}`;
      for (;;) {
        const c = await store.claimJob(worker, 30_000, Date.now());
        if (!c) return;
        await store.completeJob({ job: c.job.id, attempt: c.attempt, worker }, { submission: c.submission.id, primaryPublic: 0, record: '{}' }, Date.now());
        claimed++;
      }
    }));
    const s = (performance.now() - t0) / 1000;
    if (claimed !== CLAIMS) throw new Error(`claimed ${claimed} of ${CLAIMS}`);
    return claimed / s;
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  if (!admin) { console.log('bench/queue: skipped: set $SIEVE_BENCH_PG (or $SIEVE_TEST_PG) to a PostgreSQL URL whose role may create databases'); return; }
  const why = await reachable(admin);
  if (why) { console.log(`bench/queue: skipped: no PostgreSQL at $SIEVE_BENCH_PG/$SIEVE_TEST_PG (${why})`); return; }
  setPriority(10);
  await ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'sieve-bench-queue-'));
  try {
    await writeTinyChallenge(join(dir, 'challenges'), { name: 'tiny' });
    const served = await loadServedChallenges(join(dir, 'challenges'));
    const ids = (await readSplit(await openPool(join(dir, 'challenges', 'tiny', 'pool')), 'train', { columns: [] })).ids;
    console.log(`load average before: ${load()}`);
    const counts = [1, 2, 4];
    const runs: Record<number, { steady: number; wall: number }[]> = { 1: [], 2: [], 4: [] };
    const speedups: Record<number, number[]> = { 2: [], 4: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const w of counts) runs[w].push(await evaluations(w, r, served, ids, dir));
      for (const w of [2, 4]) speedups[w].push(runs[1][r].steady / runs[w][r].steady);
      console.log(`round ${r + 1}: ${counts.map((w) => `${w} worker(s) ${((JOBS - 1) / runs[w][r].steady * 60).toFixed(1)}/min`).join(', ')} (load ${load()})`);
    }
    const perMin = (w: number) => median(runs[w].map((x) => ((JOBS - 1) / x.steady) * 60));
    printTable(['workers', 'evaluations/min (steady, median)', 'wall s (start→last, median)', 'speed-up vs 1 worker (median of rounds)'], counts.map((w) => [
      String(w), perMin(w).toFixed(1), median(runs[w].map((x) => x.wall)).toFixed(1), w === 1 ? '1.00' : median(speedups[w]).toFixed(2),
    ]));
    const rates: [number, number][] = [];
    for (const c of [1, 4, 8]) rates.push([c, await claimRate(c, served, ids)]);
    printTable(['claimers', 'claims+completes per second (no-op job)'], rates.map(([c, r]) => [String(c), r.toFixed(0)]));
    const ceiling = Math.max(...rates.map(([, r]) => r));
    const perSlot = perMin(1) / 60;
    console.log(`one database: ${ceiling.toFixed(0)} claims/s at best; one worker slot needs ${perSlot.toFixed(2)}/s on this challenge, so the queue becomes the bottleneck near ${Math.floor(ceiling / perSlot)} busy slots (at ${(60 / perMin(1)).toFixed(1)} s per evaluation; longer evaluations: proportionally more).`);
    console.log(`load average after: ${load()}`);
  } finally {
    await dropAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
