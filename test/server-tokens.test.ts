/**
 * Tokens that outlive their use (issue 10 item 4): a worker token opens the internal file
 * endpoint (evaluator-only files) only while its row exists and for WORKER_TOKEN_TTL_MS at most
 * after it was made, by the database's clock; a running sieve worker replaces its token every
 * rotation and deletes the one before; a stopping worker revokes its own; the expired rows of
 * killed workers are purged; an organiser lists and revokes worker tokens and replaces a lost
 * organiser token from the command line. Each is tried as an escape: the old token → 401.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { serve, type ServerType } from '@hono/node-server';
import { createApp } from '../src/server/app.ts';
import { loadServedChallenges } from '../src/server/challenges.ts';
import { initServer, startServer, type RunningServer } from '../src/server/serve.ts';
import { openStore } from '../src/server/store/open.ts';
import { issueToken, newId, WORKER_TOKEN_TTL_MS } from '../src/server/tokens.ts';
import { issueWorkerToken, purgeExpiredWorkerTokens, startWorker } from '../src/server/worker.ts';
import { writeTinyChallenge } from './fixtures/tiny-challenge.ts';
import { skipIfUnavailable, storeBackends } from './server-backends.ts';

const BACKENDS = await storeBackends('server-tokens');
const ROOT = resolve(import.meta.dirname, '..');
const execFileP = promisify(execFile);

let dir: string;
let challenges: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sieve-server-tokens-'));
  challenges = join(dir, 'challenges');
  await writeTinyChallenge(challenges, { name: 'tiny' });
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

async function sieve(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP(process.execPath, [join(ROOT, 'bin', 'sieve.mjs'), ...args], { cwd: dir, env: { ...process.env, CI: '1' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const internal = (url: string, token: string) => fetch(`${url}/internal/challenges/tiny`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

describe.each(BACKENDS)('worker and organiser tokens ($name)', (b) => {
  if (skipIfUnavailable(b)) return;
  let db: string;
  let server: RunningServer | undefined;
  let organiser: string;

  beforeAll(async () => {
    db = b.name === 'duckdb' ? join(dir, 'server.duckdb') : await b.newDb('tokens');
    organiser = (await initServer(db)).token;
  });
  afterAll(async () => { await server?.close(); });

  it('a lost organiser token is replaced from the command line: the new one works, the old one is refused', async () => {
    const r = await sieve(['serve', '--new-organiser-token', '--db', db, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.token).toMatch(/^sieve_org_[0-9a-f]{24}_/);
    expect(out.token.slice(0, 34)).toBe(organiser.slice(0, 34)); // the same organiser id, a new secret
    server = await startServer({ db, port: 0, challengesDir: challenges, workers: 0 });
    const jobs = (token: string) => fetch(`${server!.url}/api/jobs`, { headers: { authorization: `Bearer ${token}` } }).then((x) => x.status);
    expect(await jobs(organiser)).toBe(401);
    expect(await jobs(out.token)).toBe(200);
    const actions = await (await fetch(`${server.url}/api/actions`, { headers: { authorization: `Bearer ${out.token}` } })).json();
    expect(actions.actions.map((a: { action: string }) => a.action)).toContain('organiser.token');
    organiser = out.token;
  });

  it('a worker token is refused once revoked or past its life by the database clock; expired rows are purged', async () => {
    // The server's internal endpoint over a store of this test's own (a DuckDB file has one opener).
    await server?.close();
    server = undefined;
    const store = await openStore(db);
    const app = createApp({ store, challenges: await loadServedChallenges(challenges), maxUploadBytes: 1 << 20 });
    const { http, url } = await new Promise<{ http: ServerType; url: string }>((ok) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => ok({ http: s, url: `http://127.0.0.1:${info.port}` }));
    });
    try {
      const live = await issueWorkerToken(store, 'w1');
      expect(await internal(url, live.token)).toBe(200);
      // A token made just inside its life still works; one made just past it does not (a killed worker's).
      const now = await store.dbNow();
      const mk = async (age: number) => {
        const id = newId('wrk');
        const t = issueToken(id);
        await store.addParticipant({ id, name: `worker old ${id}`, role: 'worker', tokenSalt: t.salt, tokenHash: t.hash, createdAt: now - age });
        return { id, token: t.token };
      };
      const young = await mk(WORKER_TOKEN_TTL_MS - 120_000);
      const old = await mk(WORKER_TOKEN_TTL_MS + 1000);
      expect(await internal(url, young.token)).toBe(200);
      const refused = await fetch(`${url}/internal/files/${'0'.repeat(64)}`, { headers: { authorization: `Bearer ${old.token}` } });
      expect(refused.status).toBe(401);
      expect((await refused.json()).error.message).toMatch(/this worker token has expired/);
      // Its row removed (revoked, or its worker stopped): said as such, not "needs a worker token".
      await store.removeParticipant(young.id, 'worker');
      const gone = await fetch(`${url}/internal/challenges/tiny`, { headers: { authorization: `Bearer ${young.token}` } });
      expect(gone.status).toBe(401);
      expect((await gone.json()).error.message).toMatch(/^this worker token is not \(or no longer\) in the database: revoked/);
      const back = await mk(WORKER_TOKEN_TTL_MS - 120_000);
      Object.assign(young, back);
      expect(await purgeExpiredWorkerTokens(store)).toBe(1);
      expect((await store.listParticipants('worker')).map((p) => p.id).sort()).toEqual([live.id, young.id].sort());
      // Listed and revoked by the organiser from the command line (with DuckDB, the server must not hold the file).
      if (b.name === 'postgres') {
        const list = await sieve(['serve', '--list-worker-tokens', '--db', db, '--json']);
        expect(list.code, list.stderr).toBe(0);
        expect(JSON.parse(list.stdout).tokens.map((t: { id: string; state: string }) => [t.id, t.state]).sort()).toEqual([[live.id, 'valid'], [young.id, 'valid']].sort());
        const one = await sieve(['serve', '--revoke-worker-token', young.id, '--db', db, '--json']);
        expect(JSON.parse(one.stdout).revoked).toEqual([young.id]);
        expect(await internal(url, young.token)).toBe(401);
        expect(await internal(url, live.token)).toBe(200);
        const bad = await sieve(['serve', '--revoke-worker-token', 'wrk_nope', '--db', db]);
        expect(bad.code).toBe(2);
        expect(bad.stderr).toMatch(/no worker token "wrk_nope"/);
        expect(JSON.parse((await sieve(['serve', '--revoke-worker-token', 'all', '--db', db, '--json'])).stdout).revoked).toEqual([live.id]);
        expect(await internal(url, live.token)).toBe(401);
      } else {
        await store.removeParticipant(young.id, 'worker');
        expect(await internal(url, young.token)).toBe(401);
      }
    } finally {
      await new Promise<void>((ok) => http.close(() => ok()));
      await store.close();
    }
  });

  it('a running sieve worker replaces its token, deleting the one before; stopping revokes it', async () => {
    if (b.name !== 'postgres') return; // sieve worker runs against PostgreSQL only
    server = await startServer({ db, port: 0, challengesDir: challenges, workers: 0 });
    const events: Record<string, unknown>[] = [];
    const worker = await startWorker({ db, concurrency: 1, server: server!.url, cache: join(dir, 'wcache'), tokenRotateMs: 200, pollMs: 50, name: 'rot', log: (e) => events.push(e) });
    let stopped = false;
    try {
      const first = worker.token()!;
      expect(await internal(server!.url, first)).toBe(200);
      const until = async (fn: () => boolean) => { for (let i = 0; !fn(); i++) { if (i > 600) throw new Error('timed out'); await new Promise((r) => setTimeout(r, 25)); } };
      await until(() => events.filter((e) => e.event === 'token-rotated').length >= 2);
      // Two rotations on, the first token is gone: a leaked copy of it no longer opens anything.
      expect(await internal(server!.url, first)).toBe(401);
      const current = worker.token()!;
      expect(current).not.toBe(first);
      expect(await internal(server!.url, current)).toBe(200);
      const store = await openStore(db);
      try {
        expect((await store.listParticipants('worker')).length).toBeLessThanOrEqual(2);
        await worker.stop();
        stopped = true;
        expect(await internal(server!.url, current)).toBe(401);
        expect(await store.listParticipants('worker')).toEqual([]);
      } finally {
        await store.close();
      }
    } finally {
      if (!stopped) await worker.stop();
    }
  });
});
