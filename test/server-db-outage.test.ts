/**
 * What an entrant sees when the machinery fails. A database that stops answering while the
 * server runs (PostgreSQL stopped or restarting):
 * the API answers 503 with Retry-After and no connection details (those go to the server's
 * log), and a client waiting for a job rides it out like an unreachable server.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/server/app.ts';
import { loadServedChallenges, syncChallenges } from '../src/server/challenges.ts';
import { initServer } from '../src/server/serve.ts';
import { openStore } from '../src/server/store/open.ts';
import { StoreUnavailable } from '../src/server/store/types.ts';
import { storeBackends } from './server-backends.ts';
import { writeTinyChallenge } from './fixtures/tiny-challenge.ts';

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'sieve-db-outage-')); });
afterAll(() => rm(dir, { recursive: true, force: true }));

const [duck] = (await storeBackends('db-outage')).filter((b) => b.name === 'duckdb');

it('answers 503 with Retry-After and without the database details while the store is unreachable', async () => {
  await writeTinyChallenge(join(dir, 'challenges'), { name: 'tiny' });
  const served = await loadServedChallenges(join(dir, 'challenges'));
  const db = await duck.newDb('outage');
  await initServer(db);
  const store = await openStore(db);
  await store.migrate();
  await syncChallenges(store, served);
  const app = createApp({ store, challenges: served, maxUploadBytes: 64 * 1024 });
  const down = new StoreUnavailable('cannot reach PostgreSQL at db.internal:5432: connection refused', { where: 'postgres://sieve@db.internal:5432/sieve', examples: ['pg_ctlcluster 15 main start'] });
  const real = store.getChallenge.bind(store);
  store.getChallenge = async () => { throw down; };
  const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    const r = await app.request('/api/challenges/tiny');
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('5');
    const text = await r.text();
    expect(JSON.parse(text).error).toMatchObject({ code: 'unavailable' });
    expect(text).not.toMatch(/db\.internal|postgres:|pg_ctlcluster/);
    expect(logged.mock.calls.flat().join(' ')).toContain('cannot reach PostgreSQL at db.internal:5432');
    // Back: the same request answers.
    store.getChallenge = real;
    expect((await app.request('/api/challenges/tiny')).status).toBe(200);
  } finally {
    logged.mockRestore();
    store.getChallenge = real;
    await store.close();
  }
}, 60_000);

it("an entrant's job status names no worker and no worker's reason for giving the job back; the organiser's does", async () => {
  const served = await loadServedChallenges(join(dir, 'challenges'));
  const db = await duck.newDb('entrant-view');
  const organiser = (await initServer(db)).token;
  const store = await openStore(db);
  await store.migrate();
  await syncChallenges(store, served);
  const app = createApp({ store, challenges: served, maxUploadBytes: 64 * 1024 });
  try {
    const { openPool, readSplit } = await import('../src/pool/read.ts');
    const ids = (await readSplit(await openPool(join(dir, 'challenges', 'tiny', 'pool')), 'train', { columns: [] })).ids;
    const reg = await (await app.request('/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ada' }) })).json();
    const form = new FormData();
    form.append('file', new File([`id\n${ids.slice(0, 30).join('\n')}\n`], 'ids.csv'));
    const sub = await (await app.request('/api/challenges/tiny/submissions', { method: 'POST', body: form, headers: { authorization: `Bearer ${reg.token}` } })).json();
    const claimed = (await store.claimJob('vm/4242/0-abc', 30_000))!;
    expect(await store.releaseJob({ job: claimed.job.id, attempt: claimed.attempt, worker: 'vm/4242/0-abc' }, undefined, "it could not get the job's files: ENOENT, mkdir '/srv/cache/challenges'")).toBe(true);
    const view = async (token: string) => (await app.request(`/api/jobs/${sub.job}`, { headers: { authorization: `Bearer ${token}` } })).json();
    const mine = await view(reg.token);
    expect(JSON.stringify(mine)).not.toMatch(/vm\/4242|\/srv\/cache/);
    expect(mine.attempt_log[0]).toMatchObject({ outcome: 'released', reason: 'a worker gave the job back (not a failed attempt; the job is run again)' });
    const theirs = await view(organiser);
    expect(theirs.attempt_log[0].worker).toBe('vm/4242/0-abc');
    expect(theirs.attempt_log[0].reason).toContain('/srv/cache/challenges');
  } finally {
    await store.close();
  }
}, 60_000);

it('a worker whose cache folder cannot be written is refused at start, before it claims a job', async () => {
  const { writeFileSync } = await import('node:fs');
  const { startWorker } = await import('../src/server/worker.ts');
  const file = join(dir, 'not-a-folder');
  writeFileSync(file, 'x');
  const err = await startWorker({ db: 'postgres://nobody@127.0.0.1:1/none', cache: join(file, 'cache'), server: 'http://127.0.0.1:1', concurrency: 1 }).catch((e) => e);
  expect(err.message).toMatch(/^cannot write this worker's cache folder \(--cache\): /);
  expect(err.where).toContain('not-a-folder');
});
