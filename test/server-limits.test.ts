/**
 * The server's smaller limits, each found by trying to break it: every request body that is
 * not an upload is capped before it is read (JSON and the pages' forms, with or without a
 * Content-Length); an upload holds one file; a day's cap answers 429 with when it resets and
 * Retry-After; an entrant's record carries no per-row replay (test labels row by row), an
 * organiser's does.
 */
import { rescoreRecord } from '../src/evaluate/rescore.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { openPool, readSplit } from '../src/pool/read.ts';
import { createApp, SMALL_BODY_BYTES } from '../src/server/app.ts';
import { loadServedChallenges, syncChallenges, type ServedChallenge } from '../src/server/challenges.ts';
import { EvaluationQueue } from '../src/server/queue.ts';
import { initServer } from '../src/server/serve.ts';
import { openStore } from '../src/server/store/open.ts';
import type { ServerStore } from '../src/server/store/types.ts';
import { skipIfUnavailable, storeBackends } from './server-backends.ts';
import { writeTinyChallenge } from './fixtures/tiny-challenge.ts';

let dir: string;
let ids: string[];
let served: Map<string, ServedChallenge>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sieve-server-limits-'));
  const tiny = await writeTinyChallenge(join(dir, 'challenges'), { name: 'tiny', limits: '{ submissions_per_day: 1 }' });
  served = await loadServedChallenges(join(dir, 'challenges'));
  ids = (await readSplit(await openPool(join(tiny.dir, 'pool')), 'train', { columns: [] })).ids;
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const BACKENDS = await storeBackends('server-limits');

/** A body of `bytes` bytes sent as a stream: no Content-Length, as `Transfer-Encoding: chunked` would. */
function chunked(bytes: number, head = '', tail = ''): { body: ReadableStream<Uint8Array>; duplex: 'half' } {
  const enc = new TextEncoder();
  let sent = 0;
  const chunk = new Uint8Array(16 * 1024).fill(0x61);
  return {
    duplex: 'half',
    body: new ReadableStream({
      start(c) { c.enqueue(enc.encode(head)); },
      pull(c) {
        if (sent >= bytes) { c.enqueue(enc.encode(tail)); c.close(); return; }
        c.enqueue(chunk);
        sent += chunk.length;
      },
    }),
  };
}

async function register(app: Hono, name: string): Promise<string> {
  const r = await app.request('/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
  expect(r.status).toBe(201);
  return (await r.json()).token;
}

describe.each(BACKENDS)('server limits ($name)', (b) => {
  if (skipIfUnavailable(b)) return;
  let store: ServerStore;
  let app: Hono;
  let queue: EvaluationQueue;
  let organiserToken: string;

  beforeAll(async () => {
    const db = await b.newDb('limits');
    organiserToken = (await initServer(db)).token;
    store = await openStore(db);
    await store.migrate();
    await syncChallenges(store, served);
    queue = new EvaluationQueue(store, { workers: 1, jobTimeoutSeconds: 120, pollMs: 100 });
    app = createApp({ store, challenges: served, onQueued: () => queue.notify(), maxUploadBytes: 64 * 1024 });
    queue.start();
  }, 60_000);
  afterAll(async () => {
    await queue?.stop();
    await store?.close();
  });

  it('caps every body that is not an upload, streamed or not, before reading it', async () => {
    const big = 1024 * 1024;
    const streamed = await app.request('/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, ...chunked(big, '{"name":"', '"}') } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await streamed.json()).error).toMatchObject({ code: 'too-large', where: 'body' });
    const sized = await app.request('/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'a'.repeat(SMALL_BODY_BYTES) }) });
    expect(sized.status).toBe(413);
    // The pages' forms and the organiser endpoints too (the cap comes before the token is checked).
    const form = await app.request('/register', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, ...chunked(big, 'name=') } as RequestInit);
    expect(form.status).toBe(413);
    const phase = await app.request('/api/challenges/tiny/phases/main', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: `{"x":"${'a'.repeat(2 * SMALL_BODY_BYTES)}"}` });
    expect(phase.status).toBe(413);
    // A body under the cap still works.
    expect((await app.request('/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'small' }) })).status).toBe(201);
  });

  it('takes one file per submission; a second one of the day is refused with when it resets', async () => {
    const token = await register(app, 'ada');
    const two = new FormData();
    two.append('file', new File([`id\n${ids[0]}\n`], 'a.csv'));
    two.append('file', new File([`id\n${ids[1]}\n`], 'b.csv'));
    const refused = await app.request('/api/challenges/tiny/submissions', { method: 'POST', body: two, headers: { authorization: `Bearer ${token}` } });
    expect(refused.status).toBe(400);
    expect((await refused.json()).error).toMatchObject({ code: 'bad-request', where: 'file', message: expect.stringContaining('one file per submission') });
    expect(await store.listSubmissions({})).toHaveLength(0);

    const one = new FormData();
    one.append('file', new File([`id\n${ids.slice(0, 60).join('\n')}\n`], 'ids.csv'));
    const ok = await app.request('/api/challenges/tiny/submissions', { method: 'POST', body: one, headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(202);
    const again = new FormData();
    again.append('file', new File([`id\n${ids.slice(0, 50).join('\n')}\n`], 'ids2.csv'));
    const capped = await app.request('/api/challenges/tiny/submissions', { method: 'POST', body: again, headers: { authorization: `Bearer ${token}` } });
    expect(capped.status).toBe(429);
    const wait = Number(capped.headers.get('retry-after'));
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(86_400);
    const reset = /taken from (\S+Z) \(in \d+ h \d+ min\)/.exec((await capped.json()).error.message);
    expect(reset).not.toBeNull();
    expect(Date.parse(reset![1]) % 86_400_000).toBe(0); // a UTC midnight
  });

  it("gives entrants every figure of their record but not its per-row replays; organisers get them", async () => {
    const token = await register(app, 'bo');
    const form = new FormData();
    form.append('file', new File([`id\n${ids.slice(100, 180).join('\n')}\n`], 'bo.csv'));
    const sub = await (await app.request('/api/challenges/tiny/submissions', { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } })).json();
    const until = Date.now() + 90_000;
    while ((await store.getJob(sub.job))?.state !== 'done') {
      if (Date.now() > until) throw new Error(`job ${sub.job} not done: ${JSON.stringify(await store.getJob(sub.job))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const mine = await (await app.request(`/api/submissions/${sub.submission}`, { headers: { authorization: `Bearer ${token}` } })).json();
    expect(mine.record.metrics.accuracy.ci95).toHaveLength(2);
    expect(JSON.stringify(mine.record)).not.toContain('"replay"');
    // Nor where the organiser keeps the challenge and its pool.
    expect(mine.record.challenge.ref).toBe('tiny');
    expect(mine.record.pool.ref).toBe(mine.record.pool.name);
    expect(JSON.stringify(mine.record)).not.toContain(dir);
    // verify --rescore of that copy says why it has no replay (not "an older record").
    const rescored = rescoreRecord(mine.record);
    expect(rescored.ok).toBe(true);
    expect(rescored.notes.join('\n')).toContain("(this is an entrant's copy of a server's record, which keeps the per-row replays");
    const theirs = await (await app.request(`/api/submissions/${sub.submission}`, { headers: { authorization: `Bearer ${organiserToken}` } })).json();
    expect(theirs.record.replay).toBeTruthy();
    expect(theirs.record.private.replay).toBeTruthy();
  }, 120_000);
});
