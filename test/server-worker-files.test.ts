/**
 * Pools reach workers by content hash: the internal endpoint answers worker tokens only (the
 * API refuses them; participant and organiser tokens get 403 there, so evaluator-only files
 * never reach participants); a worker's file cache fetches a job's spec and pool, checks every
 * sha256, prefers a shared folder whose files match, refuses a server sending wrong bytes
 * (keeping nothing), and evicts the least recently used pool beyond its size limit; a job run
 * through it scores with the server's refs in its record. /healthz and /metrics read the store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { openPool, readSplit } from '../src/pool/read.ts';
import { createApp } from '../src/server/app.ts';
import { loadServedChallenges, syncChallenges, type ServedChallenge } from '../src/server/challenges.ts';
import type { ChallengeBundle } from '../src/server/internal.ts';
import { EvaluationQueue } from '../src/server/queue.ts';
import type { ClaimedJob, ServerStore } from '../src/server/store/types.ts';
import { issueToken, newId } from '../src/server/tokens.ts';
import { WorkerFiles } from '../src/server/worker-files.ts';
import { skipIfUnavailable, storeBackends } from './server-backends.ts';
import { writeTinyChallenge } from './fixtures/tiny-challenge.ts';

let dir: string;
let served: Map<string, ServedChallenge>;
/** The backend's store and server (set by its describe); `work` its own folder for caches. */
let store: ServerStore;
let work: string;
let http: ServerType;
let url: string;
let ids: string[];
const tokens: Record<'worker' | 'participant' | 'organiser', string> = { worker: '', participant: '', organiser: '' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sieve-worker-files-'));
  await writeTinyChallenge(join(dir, 'challenges'), { name: 'tiny' });
  await writeTinyChallenge(join(dir, 'challenges'), { name: 'tiny2' });
  served = await loadServedChallenges(join(dir, 'challenges'));
  ids = (await readSplit(await openPool(join(dir, 'challenges', 'tiny', 'pool')), 'train', { columns: [] })).ids;
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const BACKENDS = await storeBackends('server-worker-files');

const get = (path: string, token?: string) => fetch(`${url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

async function submitAndClaim(challenge: string, worker: string): Promise<ClaimedJob> {
  const k = newId('sub');
  const r = await store.submit({ id: k, participant: parseId(tokens.participant), challenge, fileName: 'ids.csv', sha256: 'x', bytes: new TextEncoder().encode(`id\n${ids.slice(0, 100).join('\n')}\n`), createdAt: Date.now() }, { id: newId('job'), maxAttempts: 3 }, { dayStart: 0 });
  expect(r.ok).toBe(true);
  return (await store.claimJob(worker, 60_000, Date.now()))!;
}
const parseId = (token: string) => /^sieve_([a-z]{3}_[0-9a-f]{24})_/.exec(token)![1];

describe.each(BACKENDS)('$name', (b) => {
  if (skipIfUnavailable(b)) return;
  beforeAll(async () => {
    work = join(dir, b.name);
    store = await b.open('files');
    await syncChallenges(store, served);
    for (const role of ['worker', 'participant', 'organiser'] as const) {
      const id = newId(role === 'worker' ? 'wrk' : role === 'organiser' ? 'org' : 'par');
      const t = issueToken(id);
      // A worker token is good for a bounded time after it was made (src/server/tokens.ts): stamp it now.
      await store.addParticipant({ id, name: role, role, tokenSalt: t.salt, tokenHash: t.hash, createdAt: await store.dbNow() });
      tokens[role] = t.token;
    }
    const app = createApp({ store, challenges: served, maxUploadBytes: 1 << 20 });
    ({ http, url } = await new Promise<{ http: ServerType; url: string }>((ok) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => ok({ http: s, url: `http://127.0.0.1:${info.port}` }));
    }));
  }, 60_000);
  afterAll(async () => {
    await new Promise<void>((ok) => http?.close(() => ok()));
    await store?.close();
  });

  describe('the internal pool endpoint', () => {
    it('answers worker tokens only, and the API refuses worker tokens', async () => {
      const truth = served.get('tiny')!.pool.manifest.files.find((f) => f.visibility === 'evaluator')!;
      for (const path of ['/internal/challenges/tiny', `/internal/files/${truth.sha256}`]) {
        expect((await get(path)).status).toBe(401);
        expect((await get(path, tokens.participant)).status).toBe(403);
        expect((await get(path, tokens.organiser)).status).toBe(403);
        expect((await get(path, `${tokens.worker.slice(0, -4)}AAAA`)).status).toBe(401);
      }
      const b = await (await get('/internal/challenges/tiny', tokens.worker)).json() as ChallengeBundle;
      expect(b.spec_sha256).toBe(served.get('tiny')!.challenge.specSha256);
      expect(sha(b.spec)).toBe(b.spec_sha256);
      expect(b.pool.files.map((f) => f.role).sort()).toEqual(['test', 'train', 'truth']);
      const bytes = new Uint8Array(await (await get(`/internal/files/${truth.sha256}`, tokens.worker)).arrayBuffer());
      expect(bytes.length).toBe(truth.bytes);
      expect(sha(bytes)).toBe(truth.sha256);
      expect((await get(`/internal/files/${'0'.repeat(64)}`, tokens.worker)).status).toBe(404);
      expect((await get('/internal/files/..%2Fpool.json', tokens.worker)).status).toBe(404);
      const me = await get('/api/me', tokens.worker);
      expect(me.status).toBe(403);
      expect((await me.json()).error.message).toBe('a worker token is not an API token');
      // The participant API lists no evaluator file.
      const listing = JSON.stringify(await (await get('/api/challenges/tiny')).json());
      expect(listing).not.toContain(truth.sha256);
    });
  });

  describe('a worker\'s file cache', () => {
    it('fetches and checks a job\'s spec and pool once, prefers a matching shared folder, refuses wrong bytes, evicts the least recently used pool', async () => {
      const events: Record<string, unknown>[] = [];
      const poolBytes = (name: string) => served.get(name)!.pool.manifest.files.reduce((a, f) => a + f.bytes, 0) + 10_000;
      const cache = join(work, 'cache');
      const files = new WorkerFiles({ server: url, token: tokens.worker, cacheDir: cache, maxBytes: poolBytes('tiny') + 1, log: (e) => events.push(e) });
      const claimed = await submitAndClaim('tiny', 'W');
      const p1 = await files.prepare(claimed);
      p1.done();
      const tiny = served.get('tiny')!;
      expect(p1.poolDir).toBe(join(cache, 'pools', tiny.pool.manifest.content_hash));
      expect(await readFile(join(p1.challengeRef, 'challenge.yaml'), 'utf8')).toBe(await readFile(tiny.challenge.specPath, 'utf8'));
      expect(p1.recordRefs).toEqual({ challenge: tiny.challenge.specPath, pool: tiny.challenge.poolRef });
      for (const f of tiny.pool.manifest.files) expect(sha(await readFile(join(p1.poolDir!, f.path)))).toBe(f.sha256);
      expect(events.filter((e) => e.event === 'pool-fetched')).toHaveLength(1);
      // Again: from the cache, nothing fetched.
      (await files.prepare(claimed)).done();
      expect(events.filter((e) => e.event === 'pool-fetched')).toHaveLength(1);
      // A second pool beyond the limit evicts the first (not in use any more).
      const p2 = await files.prepare(await submitAndClaim('tiny2', 'W'));
      expect(events.filter((e) => e.event === 'cache-evicted').map((e) => e.content_hash)).toEqual([tiny.pool.manifest.content_hash]);
      expect((await readdir(join(cache, 'pools'))).sort()).toEqual([served.get('tiny2')!.pool.manifest.content_hash]);
      p2.done();

      // A shared folder holding the pool with the right bytes is used in place; one wrong file and the server's copy is fetched instead.
      const shared = join(work, 'shared');
      await cp(tiny.pool.dir, join(shared, tiny.pool.name), { recursive: true });
      const viaShared = new WorkerFiles({ server: url, token: tokens.worker, pools: shared, cacheDir: join(work, 'cache2'), maxBytes: 1e9, log: (e) => events.push(e) });
      const fetchedBefore = events.filter((e) => e.event === 'pool-fetched').length;
      expect((await viaShared.prepare(claimed)).poolDir).toBe(join(shared, tiny.pool.name));
      const train = tiny.pool.manifest.files.find((f) => f.role === 'train')!;
      const trainPath = join(shared, tiny.pool.name, train.path);
      const good = await readFile(trainPath);
      const bad = Buffer.from(good);
      bad[bad.length >> 1] ^= 0xff;
      await writeFile(trainPath, bad);
      expect((await new WorkerFiles({ server: url, token: tokens.worker, pools: shared, cacheDir: join(work, 'cache3'), maxBytes: 1e9, log: (e) => events.push(e) }).prepare(claimed)).poolDir)
        .toBe(join(work, 'cache3', 'pools', tiny.pool.manifest.content_hash));
      expect(events.filter((e) => e.event === 'pool-fetched').length).toBe(fetchedBefore + 1);

      // A server that sends wrong bytes (one flipped byte, or none): refused, naming the file; the cache keeps nothing.
      const bundle = await (await get('/internal/challenges/tiny', tokens.worker)).text();
      const liar: Server = createServer((req, res) => {
        if (req.url === '/internal/challenges/tiny') { res.setHeader('content-type', 'application/json'); res.end(bundle); return; }
        const f = tiny.pool.manifest.files.find((x) => req.url === `/internal/files/${x.sha256}`);
        if (!f) { res.statusCode = 404; res.end('{}'); return; }
        res.end(f.role === 'train' ? bad : good.subarray(0, 0));
      });
      await new Promise<void>((ok) => liar.listen(0, '127.0.0.1', () => ok()));
      try {
        const port = (liar.address() as { port: number }).port;
        const lied = new WorkerFiles({ server: `http://127.0.0.1:${port}`, token: tokens.worker, cacheDir: join(work, 'cache4'), maxBytes: 1e9 });
        await expect(lied.prepare(claimed)).rejects.toThrow(/pool file (train|test|truth)\.parquet from the server does not match its manifest/);
        expect(await readdir(join(work, 'cache4', 'pools'))).toEqual([]);
      } finally {
        await new Promise<void>((ok) => liar.close(() => ok()));
      }
    }, 60_000);

    it('a job run through the cache scores with the server\'s refs in its record; /metrics and /healthz read the store', async () => {
      const events: Record<string, unknown>[] = [];
      const files = new WorkerFiles({ server: url, token: tokens.worker, cacheDir: join(work, 'cache5'), maxBytes: 1e9, log: (e) => events.push(e) });
      // Earlier tests left claimed jobs: release them so this queue finds them.
      // The server is unreachable for the first two claims: each job goes back to the queue (released,
      // not a failed attempt) and the slot backs off, then the files come and every job is scored.
      let outage = 2;
      const prepare = (c: ClaimedJob) => (outage-- > 0 ? Promise.reject(new Error('cannot reach the server (ECONNREFUSED)')) : files.prepare(c));
      // As sieve worker does: the job children's caches go into the worker's own cache folder.
      const queue = new EvaluationQueue(store, { workers: 1, jobTimeoutSeconds: 120, pollMs: 50, filesBackoffMs: 50, log: (e) => events.push(e), prepare, childEnv: { SIEVE_CACHE: join(work, 'cache5') } });
      for (const s of await store.listSubmissions({})) {
        if (s.job.state === 'running') await store.releaseJob({ job: s.job.id, attempt: s.job.attempts, worker: s.job.worker! }, Date.now());
      }
      const before = await store.countJobs();
      expect(before.queued).toBeGreaterThan(0);
      queue.start();
      try {
        for (const end = Date.now() + 90_000; ;) {
          const c = await store.countJobs();
          if (c.queued === 0 && c.running === 0) break;
          if (Date.now() > end) throw new Error('timed out waiting for the queue');
          await new Promise((r) => setTimeout(r, 100));
        }
      } finally {
        await queue.stop();
      }
      const done = await store.countJobs();
      expect(done).toMatchObject({ done: before.queued, failed: 0 });
      const tiny = served.get('tiny')!.challenge;
      const result = (await store.listResults('tiny'))[0];
      const record = JSON.parse(result.record);
      expect(record.challenge).toMatchObject({ ref: tiny.specPath, spec_sha256: tiny.specSha256 });
      expect(record.pool).toMatchObject({ ref: tiny.poolRef, content_hash: served.get('tiny')!.pool.manifest.content_hash });
      expect(events.filter((e) => e.event === 'done')).toHaveLength(before.queued);
      const released = events.filter((e) => e.event === 'released');
      expect(released).toHaveLength(2);
      for (const e of released) expect(e.reason).toMatch(/could not get the job's files: cannot reach the server/);
      // The attempt's stored reason says why (what `sieve status` shows), not "stopping".
      const releasedAttempts = (await Promise.all((await store.listSubmissions({})).map((s) => store.listAttempts(s.job.id)))).flat().filter((x) => x.outcome === 'released');
      expect(releasedAttempts.filter((x) => /^released by worker .+ \(it could not get the job's files: cannot reach the server/.test(x.reason ?? '')).length).toBeGreaterThanOrEqual(2);
      expect(events.filter((e) => e.event === 'retry' || e.event === 'failed')).toEqual([]);
      // The evaluation cache the children wrote is in that folder (where its size limit applies), not in sieve's own.
      expect((await readdir(join(work, 'cache5', 'evaluate'))).filter((f) => f.endsWith('.arr')).length).toBeGreaterThan(0);

      const health = await get('/healthz');
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ ok: true, schema_version: store.schemaVersion });
      const m = await get('/metrics');
      expect(m.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await m.text();
      const value = (line: string) => Number(new RegExp(`^${line.replace(/[{}"]/g, (x) => `\\${x}`)} (\\S+)$`, 'm').exec(text)?.[1]);
      expect(value('sieve_queue_depth')).toBe(0);
      expect(value('sieve_jobs_running')).toBe(0);
      expect(value('sieve_oldest_queued_job_age_seconds')).toBe(0);
      expect(value('sieve_results_total')).toBe(before.queued);
      expect(value('sieve_results_last_minute')).toBe(before.queued);
      expect(value('sieve_jobs{state="done"}')).toBe(before.queued);
      expect(value('sieve_attempts_total{outcome="released"}')).toBeGreaterThan(0);
      expect(text).toMatch(/^# TYPE sieve_results_total counter$/m);
    }, 120_000);

    it('bounds the whole cache folder: evaluate entries at any time, variant pools and findings only while no job runs', async () => {
      const cache = join(work, 'cache6');
      const put = async (path: string, bytes: number, age: number) => {
        await mkdir(join(cache, path, '..'), { recursive: true });
        await writeFile(join(cache, path), Buffer.alloc(bytes));
        const t = new Date(Date.now() - age * 1000);
        await utimes(join(cache, path), t, t);
      };
      await put('variants/recipe-1-abc/train.parquet', 4000, 50);
      await utimes(join(cache, 'variants/recipe-1-abc'), new Date(Date.now() - 50_000), new Date(Date.now() - 50_000));
      await put('variants/.findings/k1.bin', 1000, 40);
      await put('evaluate/split-old.arr', 3000, 30);
      await put('evaluate/features-new.arr', 3000, 1);
      await put('findings/k2.bin', 500, 20);
      const events: Record<string, unknown>[] = [];
      const files = new WorkerFiles({ server: url, token: tokens.worker, cacheDir: cache, maxBytes: 5000, log: (e) => events.push(e) });
      // While a job runs (not idle): only evaluate entries may go; 11,500 bytes over 5,000 cannot be met.
      await files.evict(false);
      expect(await readdir(join(cache, 'evaluate'))).toEqual([]);
      expect(await readdir(join(cache, 'variants'))).toContain('recipe-1-abc');
      expect(events.at(-1)).toMatchObject({ event: 'cache-over-limit', bytes: 5500 });
      // Idle: the oldest variant pool goes first, then it fits (1,500 bytes left).
      await files.evict(true);
      expect(await readdir(join(cache, 'variants'))).toEqual(['.findings']);
      expect(await readdir(join(cache, 'findings'))).toEqual(['k2.bin']);
      expect(events.filter((e) => e.event === 'cache-evicted').map((e) => String(e.path).slice(cache.length + 1))).toEqual(['evaluate/split-old.arr', 'evaluate/features-new.arr', 'variants/recipe-1-abc']);
    });
  });
});
