/**
 * The challenge server through its hono app (no sockets), on both store backends
 * (test/server-backends.ts; the store itself: server-store.test.ts, server-leases.test.ts): pool downloads (participant files only), submissions (202 only once the
 * job is stored; invalid ones refused with nothing stored), caps, cancel, the queue's
 * retries, the leaderboard and the participant-visible submission detail.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { openPool, readSplit } from '../src/pool/read.ts';
import { createApp } from '../src/server/app.ts';
import { pagesApp } from '../src/server/pages/index.tsx';
import { loadServedChallenges, syncChallenges, type ServedChallenge } from '../src/server/challenges.ts';
import { EvaluationQueue } from '../src/server/queue.ts';
import type { ServerStore } from '../src/server/store/types.ts';
import { issueToken } from '../src/server/tokens.ts';
import { skipIfUnavailable, storeBackends, type StoreBackend } from './server-backends.ts';
import { writeTinyChallenge } from './fixtures/tiny-challenge.ts';

let dir: string;
let challengesDir: string;
let ids: string[];
let served: Map<string, ServedChallenge>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sieve-server-api-'));
  challengesDir = join(dir, 'challenges');
  await writeTinyChallenge(challengesDir, { name: 'tiny', limits: '{ submissions_per_day: 3, submissions_total: 4 }' });
  await writeTinyChallenge(challengesDir, { name: 'tiny-closed', closes: '2001-01-01' });
  served = await loadServedChallenges(challengesDir);
  ids = (await readSplit(await openPool(join(challengesDir, 'tiny', 'pool')), 'train', { columns: [] })).ids;
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const BACKENDS = await storeBackends('server-api');

async function freshStore(b: StoreBackend, name: string): Promise<ServerStore> {
  const store = await b.open(name);
  await syncChallenges(store, served);
  return store;
}

function upload(text: string, name = 'ids.csv'): FormData {
  const form = new FormData();
  form.append('file', new File([text], name));
  return form;
}

async function register(app: Hono, name: string): Promise<string> {
  const r = await app.request('/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
  expect(r.status).toBe(201);
  return (await r.json()).token;
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, what: string, seconds = 60): Promise<T> {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each(BACKENDS)('$name', (b) => {
  if (skipIfUnavailable(b)) return;

  describe('server API', () => {
    let store: ServerStore;
    let app: Hono;
    let queued = 0;

    beforeAll(async () => {
      store = await freshStore(b, 'api');
      app = createApp({ store, challenges: served, onQueued: () => { queued++; }, maxUploadBytes: 64 * 1024 });
    });
    afterAll(() => store.close());

    it('lists challenges and shows one with its rules and datasheet; errors have one shape', async () => {
      const list = await (await app.request('/api/challenges')).json();
      expect(list.challenges.map((c: { name: string }) => c.name)).toEqual(['tiny', 'tiny-closed']);
      expect(list.challenges[1].state).toBe('closed');
      const detail = await (await app.request('/api/challenges/tiny')).json();
      expect(detail).toMatchObject({ name: 'tiny', task: 'selection', budget: '100 rows', rules: { columns: ['id'], limits: { submissions_per_day: 3, submissions_total: 4 } } });
      expect(detail.files.map((f: { name: string }) => f.name)).toEqual(['pool.json', 'train.parquet']);
      expect(detail.arrow.files).toEqual(['train.arrow']);
      const missing = await app.request('/api/challenges/nope');
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({ error: { code: 'not-found', message: 'no challenge "nope" on this server', where: 'challenge', examples: ['challenges: tiny, tiny-closed'] } });
      const unknown = await app.request('/api/nothing-here');
      expect((await unknown.json()).error.code).toBe('not-found');
    });

    it('serves the participant pool files, never test, truth or anything else', async () => {
      const pool = served.get('tiny')!.pool;
      expect(pool.manifest.files.map((f) => f.role).sort()).toEqual(['test', 'train', 'truth']);
      const train = await app.request('/api/challenges/tiny/pool/train.parquet');
      expect(train.status).toBe(200);
      const bytes = new Uint8Array(await train.arrayBuffer());
      expect(bytes.length).toBe(pool.manifest.files.find((f) => f.role === 'train')!.bytes);
      expect(train.headers.get('x-sha256')).toBe(pool.manifest.files.find((f) => f.role === 'train')!.sha256);
      for (const name of ['test.parquet', 'truth.parquet', '..%2Fchallenge.yaml', '..%2F..%2Ftiny%2Fpool%2Ftest.parquet', '%2Fetc%2Fpasswd', 'pool.json%00', 'TEST.PARQUET']) {
        const r = await app.request(`/api/challenges/tiny/pool/${name}`);
        expect(r.status, name).toBe(404);
        expect((await r.json()).error.code).toBe('not-found');
      }
      const listing = await (await app.request('/api/challenges/tiny/pool')).json();
      expect(JSON.stringify(listing)).not.toMatch(/test\.parquet|truth\.parquet/);
    });

    it('registers once per name; a token is needed and checked', async () => {
      let token = await register(app, 'ada');
      const again = await app.request('/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ada' }) });
      expect(again.status).toBe(409);
      // Names that a page shows alike, or that pass for the server's own accounts, are refused.
      const reg = (name: string) => app.request('/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
      for (const alike of ['Ada', 'ADA', 'ada.', '-ada', 'a d a', 'a-d.a']) {
        const r = await reg(alike);
        expect(r.status, alike).toBe(alike === '-ada' ? 400 : 409);
      }
      expect((await (await reg('Ada')).json()).error.message).toBe('the name "Ada" is taken (names differing only in case, spaces, ".", "_" or "-", or in look-alike characters such as 0/o and 1/l/I, count as one)');
      // ASCII look-alikes of a taken name (capital I for l, 0 for o; an adversary's tryout).
      expect((await reg('alice')).status).toBe(201);
      for (const alike of ['AIice', 'a1ice', 'al1ce']) expect((await reg(alike)).status, alike).toBe(409);
      expect((await reg('ada lovelace')).status).toBe(201);
      for (const alike of ['ada  lovelace', 'Ada_Lovelace', 'ada-lovelace']) expect((await reg(alike)).status, alike).toBe(409);
      for (const reserved of ['Organiser', 'organiser.', 'admin', 'Organizer', 'o r g a n i s e r', 'adm.in', '0rganiser', 'Adm1n', 'the organiser', 'organiser 2', 'sys-admin']) {
        const r = await reg(reserved);
        expect(r.status, reserved).toBe(409);
        expect((await r.json()).error.message, reserved).toMatch(/is reserved: it would pass for the server's own accounts$/);
      }
      expect((await reg('badminton')).status).toBe(201);
      // A participant replaces a token that may have leaked: the old one stops working at once.
      const replaced = await app.request('/api/me/token', { method: 'POST', headers: auth(token) });
      expect(replaced.status).toBe(201);
      const fresh = (await replaced.json()).token as string;
      expect(fresh).not.toBe(token);
      expect((await app.request('/api/me', { headers: auth(token) })).status).toBe(401);
      expect((await app.request('/api/me', { headers: auth(fresh) })).status).toBe(200);
      token = fresh;
      // --allowed-hosts: a request naming another host (a DNS-rebinding page's) is refused; loopback names always pass.
      const named = createApp({ store, challenges: served, maxUploadBytes: 1024, allowedHosts: ['sieve.example.org'] });
      for (const [host, status] of [['sieve.example.org', 200], ['SIEVE.example.org:8080', 200], ['localhost:8080', 200], ['[::1]:8080', 200], ['evil.example:8080', 421]] as const) {
        const r = await named.request(`http://${host}/api/challenges`, { headers: { host } });
        expect(r.status, host).toBe(status);
      }
      const evil = await named.request('http://evil.example:8080/api/challenges', { headers: { host: 'evil.example:8080' } });
      expect((await evil.json()).error.message).toBe('this server does not answer to the host name "evil.example"');
      // A compressed body is refused as such, not read as a missing name.
      const gz = await app.request('/api/register', { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(JSON.stringify({ name: 'zed' })) });
      expect(gz.status).toBe(415);
      expect((await gz.json()).error.message).toBe('the request body is gzip-encoded; this server reads bodies uncompressed');
      const bad = await app.request('/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: '../x' }) });
      expect((await bad.json()).error).toMatchObject({ code: 'bad-request', where: 'name' });
      expect((await app.request('/api/me')).status).toBe(401);
      const forged = token.replace(/_([^_]*)$/, (_m, s: string) => `_${s.slice(0, -1)}${s.endsWith('A') ? 'B' : 'A'}`);
      const r = await app.request('/api/me', { headers: auth(forged) });
      expect(r.status).toBe(401);
      expect((await r.json()).error.code).toBe('unauthorized');
      expect((await (await app.request('/api/me', { headers: auth(token) })).json()).participant.name).toBe('ada');
    });

    it('answers 202 only with the job stored; refuses invalid, oversized and late submissions storing nothing', async () => {
      const token = await register(app, 'bo');
      const before = queued;
      const r = await app.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: upload(`id\n${ids.slice(0, 50).join('\n')}\n`) });
      expect(r.status).toBe(202);
      const body = await r.json();
      expect(body).toMatchObject({ state: 'queued', rows: 50 });
      expect(await store.getJob(body.job)).toMatchObject({ state: 'queued', submission: body.submission });
      expect(queued).toBe(before + 1);

      const count = async () => (await store.listSubmissions({})).length;
      const n = await count();
      const invalid = await app.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: upload('id\nno-such-row\n') });
      expect(invalid.status).toBe(422);
      expect((await invalid.json()).error).toMatchObject({ code: 'invalid-submission' });
      const over = await app.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: upload(`id\n${ids.slice(0, 101).join('\n')}\n`) });
      expect((await over.json()).error.message).toMatch(/budget/);
      const big = await app.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: upload('id\n' + 'x'.repeat(70 * 1024)) });
      expect(big.status).toBe(413);
      expect((await big.json()).error.code).toBe('too-large');
      const closed = await app.request('/api/challenges/tiny-closed/submissions', { method: 'POST', headers: auth(token), body: upload(`id\n${ids[0]}\n`) });
      expect(closed.status).toBe(409);
      expect((await closed.json()).error.code).toBe('challenge-closed');
      const noFile = await app.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: new FormData() });
      expect((await noFile.json()).error).toMatchObject({ code: 'bad-request', where: 'file' });
      const anonymous = await app.request('/api/challenges/tiny/submissions', { method: 'POST', body: upload(`id\n${ids[0]}\n`) });
      expect(anonymous.status).toBe(401);
      expect(await count()).toBe(n);
    });

    it('enforces the daily and total caps; a cancelled job gives its submission back', async () => {
      const token = await register(app, 'cy');
      const send = () => app.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: upload(`id\n${ids.slice(0, 20).join('\n')}\n`) });
      const jobs: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await send();
        expect(r.status).toBe(202);
        jobs.push((await r.json()).job);
      }
      const fourth = await send();
      expect(fourth.status).toBe(429);
      expect((await fourth.json()).error).toMatchObject({ code: 'quota-exceeded', message: expect.stringMatching(/^you have used your 3 submissions of today \(UTC\) on tiny; the next one is taken from \S+Z \(in \d+ h \d+ min\)$/) });
      const cancel = await app.request(`/api/jobs/${jobs[0]}/cancel`, { method: 'POST', headers: auth(token) });
      expect(cancel.status).toBe(200);
      expect((await cancel.json()).state).toBe('cancelled');
      expect((await app.request(`/api/jobs/${jobs[0]}/cancel`, { method: 'POST', headers: auth(token) })).status).toBe(409);
      // Someone else's job is not theirs to see or cancel.
      const other = await register(app, 'dee');
      expect((await app.request(`/api/jobs/${jobs[1]}`, { headers: auth(other) })).status).toBe(404);
      expect((await app.request(`/api/jobs/${jobs[1]}/cancel`, { method: 'POST', headers: auth(other) })).status).toBe(404);
      // An id holding U+0000 finds nothing on either backend (PostgreSQL's text cannot hold one).
      for (const path of [`/api/jobs/${jobs[1]}%00`, `/api/submissions/a%00b`]) expect((await app.request(path, { headers: auth(other) })).status, path).toBe(404);
      expect((await send()).status).toBe(202);
      const me = await (await app.request('/api/me', { headers: auth(token) })).json();
      expect(me.quota.find((q: { challenge: string }) => q.challenge === 'tiny')).toMatchObject({ used_today: 3, left_today: 0, left_total: 1 });
      // The total cap (4) holds across days.
      const tomorrow = createApp({ store, challenges: served, maxUploadBytes: 64 * 1024, now: () => new Date(Date.now() + 86_400_000) });
      const fifth = await tomorrow.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: upload(`id\n${ids[0]}\n`) });
      expect(fifth.status).toBe(202);
      const sixth = await tomorrow.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: upload(`id\n${ids[0]}\n`) });
      expect((await sixth.json()).error.message).toBe('you have used all 4 submissions of tiny');
    });

    it('evaluates queued jobs in worker processes; the leaderboard and the submission show only public figures', async () => {
      const queue = new EvaluationQueue(store, { workers: 2, jobTimeoutSeconds: 120, pollMs: 100 });
      queue.start();
      try {
        await waitFor(async () => { const c = await store.countJobs(); return c.queued === 0 && c.running === 0; }, 'the queue to drain', 120);
      } finally {
        await queue.stop();
      }
      const counts = await store.countJobs();
      expect(counts).toMatchObject({ queued: 0, running: 0, failed: 0, cancelled: 1 });
      const token = await register(app, 'eve');
      const r = await app.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: upload(`id\n${ids.slice(100, 200).join('\n')}\n`) });
      const { job, submission } = await r.json();
      const q2 = new EvaluationQueue(store, { workers: 1, jobTimeoutSeconds: 120, pollMs: 100 });
      q2.start();
      try {
        await waitFor(async () => (await store.getJob(job))?.state === 'done', 'the job');
        // The score is written first; its audit follows within the job's time limit.
        await waitFor(async () => (await store.getAudit(submission))?.state !== 'running', 'the audit', 120);
      } finally {
        await q2.stop();
      }
      // The audit of the submitted rows: the same numbers as `sieve audit tiny --subset FILE` run here.
      const withAudit = await (await app.request(`/api/submissions/${submission}`, { headers: auth(token) })).json();
      expect(withAudit.audit).toMatchObject({ status: 'done', report: `/api/submissions/${submission}/audit`, summary: { rows: 100, pool_rows: ids.length } });
      const doc = await (await app.request(`/api/submissions/${submission}/audit`, { headers: auth(token) })).json();
      const subsetFile = join(dir, 'eve.csv');
      await writeFile(subsetFile, `id\n${ids.slice(100, 200).join('\n')}\n`);
      const { runAuditService } = await import('../src/audit/service.ts');
      const { auditToJson } = await import('../src/report/json.ts');
      const local = await runAuditService({ target: join(challengesDir, 'tiny', 'challenge.yaml'), seed: 0, subset: { file: subsetFile } });
      const figures = (j: { analysers: { name: string; severity: string; verdict: string; figures: unknown; findings: { total: number; flagged: number } }[] }) =>
        j.analysers.map((x) => ({ name: x.name, severity: x.severity, verdict: x.verdict, figures: x.figures, total: x.findings.total, flagged: x.findings.flagged }));
      expect(figures(doc.report.subset)).toEqual(figures(auditToJson(local.bundle.subset!)));
      expect(figures(doc.report.pool)).toEqual(figures(auditToJson(local.bundle.pool)));
      expect(withAudit.audit.summary.analysers.map((x: { name: string }) => x.name)).toEqual(doc.report.subset.analysers.map((x: { name: string }) => x.name));
      // Only the pool's participant rows went in: no test split was read, and no server path is shown.
      expect(doc.report.subset.pool.testRows).toBeNull();
      expect(JSON.stringify(doc)).not.toContain(dir);
      expect((await app.request(`/api/submissions/${submission}/audit`, { headers: auth(await register(app, 'gus')) })).status).toBe(404);
      const status = await (await app.request(`/api/jobs/${job}`, { headers: auth(token) })).json();
      expect(status).toMatchObject({ state: 'done', attempts: 1, result: `/api/submissions/${submission}` });
      const detail = await (await app.request(`/api/submissions/${submission}`, { headers: auth(token) })).json();
      expect(detail.record.private).toEqual({ hidden: true, until: null });
      expect(Object.keys(detail.record.counts.parts)).toEqual(['public']);
      const board = await (await app.request('/api/challenges/tiny/leaderboard')).json();
      expect(board.part).toBe('public');
      expect(board.entries.map((e: { participant: string }) => e.participant).sort()).toEqual(['bo', 'cy', 'eve']);
      const eve = board.entries.find((e: { participant: string }) => e.participant === 'eve');
      expect(eve).toMatchObject({ submission, primary: { name: 'accuracy', mean: detail.record.metrics.accuracy.mean, ci95: detail.record.metrics.accuracy.ci95 } });
      expect(JSON.stringify(board)).not.toMatch(/private/);
      expect(board.entries.map((e: { rank: number }) => e.rank)).toEqual([1, 2, 3]);
      const means = board.entries.map((e: { primary: { mean: number } }) => e.primary.mean);
      expect([...means].sort((a, b) => b - a)).toEqual(means);
    }, 180_000);

    it('marks a job that keeps failing as failed with its reason, after its attempts, outside the quota', async () => {
      const token = await register(app, 'fay');
      const r = await app.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: upload(`id\n${ids.slice(0, 10).join('\n')}\n`) });
      const { job } = await r.json();
      // A time limit no evaluation meets: every attempt fails the same way. Each retry waits out
      // its back-off (here 0.3 s, then 0.6 s; by default 10 s, then 20 s).
      const queue = new EvaluationQueue(store, { workers: 1, jobTimeoutSeconds: 0.05, pollMs: 50, retryBackoff: { firstMs: 300, maxMs: 600 } });
      queue.start();
      try {
        await waitFor(async () => (await store.getJob(job))?.state === 'failed', 'the job to fail');
      } finally {
        await queue.stop();
      }
      const status = await (await app.request(`/api/jobs/${job}`, { headers: auth(token) })).json();
      // The job's error gives every attempt's reason and the worker that ran it.
      const w = queue.workerId(0);
      const limit = 'the evaluation ran longer than the time limit of 0.05 s';
      expect(status).toMatchObject({ state: 'failed', attempts: 3, error: `failed in 3 attempts: #1 (${w}): ${limit}; #2 (${w}): ${limit}; #3 (${w}): ${limit}` });
      expect(status.attempt_log.map((a: { outcome: string }) => a.outcome)).toEqual(['failed', 'failed', 'failed']);
      const at = (s: string) => Date.parse(s);
      const log = status.attempt_log as { started_at: string; finished_at: string }[];
      expect(at(log[1].started_at) - at(log[0].finished_at)).toBeGreaterThanOrEqual(300);
      expect(at(log[2].started_at) - at(log[1].finished_at)).toBeGreaterThanOrEqual(600);
      expect(status.retry_at).toBeNull();
      const me = await (await app.request('/api/me', { headers: auth(token) })).json();
      expect(me.quota.find((q: { challenge: string }) => q.challenge === 'tiny')).toMatchObject({ used_total: 0 });

      // Organisers see every job; participants may not list them.
      expect((await app.request('/api/jobs', { headers: auth(token) })).status).toBe(403);
      const t = issueToken('org_0000000000000000000000ff');
      await store.addParticipant({ id: 'org_0000000000000000000000ff', name: 'the organiser', role: 'organiser', tokenSalt: t.salt, tokenHash: t.hash, createdAt: 1 });
      const failed = await (await app.request('/api/jobs?challenge=tiny&state=failed', { headers: auth(t.token) })).json();
      expect(failed.jobs.map((j: { id: string }) => j.id)).toEqual([job]);
      expect(failed.counts.failed).toBe(1);
      expect((await app.request(`/api/jobs/${job}`, { headers: auth(t.token) })).status).toBe(200);
      expect((await app.request('/api/jobs?state=lost', { headers: auth(t.token) })).status).toBe(400);
    }, 60_000);
  });

  describe('organiser endpoints', () => {
    it('create, open and close challenges and phases, organisers only, each change logged in its transaction', async () => {
      const store = await freshStore(b, 'organiser');
      const local = new Map(served);
      const created = join(dir, `created-${b.name}`);
      try {
        const app = createApp({ store, challenges: local, maxUploadBytes: 64 * 1024, createdChallengesDir: created });
        const t = issueToken('org_0000000000000000000000aa');
        await store.addParticipant({ id: 'org_0000000000000000000000aa', name: 'org', role: 'organiser', tokenSalt: t.salt, tokenHash: t.hash, createdAt: 1 });
        const org = auth(t.token);
        const par = auth(await register(app, 'pat'));
        const json = (h: Record<string, string>) => ({ ...h, 'content-type': 'application/json' });
        const poolDir = join(challengesDir, 'tiny', 'pool');
        const yaml = (name: string, extra = '') => [
          `name: ${name}`, 'version: 1', 'title: Made through the API', `pool: ${poolDir}`, 'task: selection', 'budget: { rows: 100 }',
          'metrics: { primary: accuracy, direction: max }', 'model: { kind: logistic-regression, params: { l2: 1, max_iter: 50 }, seeds: [0] }',
          'test: { public_fraction: 0.5, seed: 0 }', 'bootstrap: { samples: 20, seed: 0 }', extra, '',
        ].join('\n');

        // Roles: a participant may do none of it; nobody without a token.
        const tries = [
          ['POST', '/api/challenges', JSON.stringify({ yaml: yaml('made') })], ['POST', '/api/challenges/tiny/close', ''], ['POST', '/api/challenges/tiny/open', ''],
          ['PUT', '/api/challenges/tiny/phases/main', JSON.stringify({ closes_at: null })], ['POST', '/api/challenges/tiny/phases/main/close', ''], ['GET', '/api/actions', undefined],
        ] as const;
        for (const [method, path, body] of tries) {
          const r = await app.request(path, { method, headers: json(par), body });
          expect(r.status, `${method} ${path}`).toBe(403);
          expect((await r.json()).error.code).toBe('forbidden');
          expect((await app.request(path, { method, headers: json({}), body })).status).toBe(401);
        }
        expect(await store.listActions({})).toEqual([]);

        // A spec that fails the schema is refused with its problems, and leaves nothing behind.
        const bad = await app.request('/api/challenges', { method: 'POST', headers: json(org), body: JSON.stringify({ yaml: yaml('broken').replace('task: selection', 'task: juggling') }) });
        expect(bad.status).toBe(400);
        const badBody = await bad.json();
        expect(badBody.error.code).toBe('bad-request');
        expect(JSON.stringify(badBody)).toMatch(/task/);
        expect(JSON.stringify(badBody)).not.toContain(created);
        expect((await app.request('/api/challenges/broken')).status).toBe(404);
        const { readdir } = await import('node:fs/promises');
        expect(await readdir(created)).toEqual([]);

        // Created: a draft, refusing submissions until opened.
        const made = await app.request('/api/challenges', { method: 'POST', headers: json(org), body: JSON.stringify({ yaml: yaml('made') }) });
        expect(made.status).toBe(201);
        expect(await made.json()).toMatchObject({ name: 'made', state: 'draft', phases: [{ name: 'main', opens_at: null, closes_at: null }] });
        expect((await app.request('/api/challenges', { method: 'POST', headers: json(org), body: JSON.stringify({ yaml: yaml('made') }) })).status).toBe(409);
        const send = () => app.request('/api/challenges/made/submissions', { method: 'POST', headers: par, body: upload(`id\n${ids.slice(0, 20).join('\n')}\n`) });
        const early = await send();
        expect(early.status).toBe(409);
        expect((await early.json()).error.message).toMatch(/not open yet/);
        const opened = await app.request('/api/challenges/made/open', { method: 'POST', headers: org });
        expect(await opened.json()).toMatchObject({ state: 'open' });
        expect((await send()).status).toBe(202);

        // A phase closed: no submissions; another phase opened: submissions again.
        expect(await (await app.request('/api/challenges/made/phases/main/close', { method: 'POST', headers: org })).json()).toMatchObject({ state: 'closed' });
        expect((await send()).status).toBe(409);
        const put = await app.request('/api/challenges/made/phases/final', { method: 'PUT', headers: json(org), body: JSON.stringify({ opens_at: '2001-01-01T00:00:00Z', closes_at: '2999-01-01T00:00:00Z' }) });
        expect(await put.json()).toMatchObject({ state: 'open', phases: [{ name: 'final', closes_at: '2999-01-01T00:00:00.000Z' }, { name: 'main' }] });
        expect((await send()).status).toBe(202);
        const backwards = await app.request('/api/challenges/made/phases/final', { method: 'PUT', headers: json(org), body: JSON.stringify({ closes_at: '2000-01-01T00:00:00Z' }) });
        expect((await backwards.json()).error.where).toBe('closes_at');
        const zoneless = await app.request('/api/challenges/made/phases/final', { method: 'PUT', headers: json(org), body: JSON.stringify({ closes_at: '2999-01-01T00:00:00' }) });
        expect(zoneless.status).toBe(400);
        expect((await zoneless.json()).error).toMatchObject({ where: 'closes_at', message: 'closes_at needs its time zone (Z for UTC, or an offset such as +01:00)' });
        expect((await app.request('/api/challenges/made/phases/..%2Fx/open', { method: 'POST', headers: org })).status).toBe(400);

        // Closed by the organiser before its date: submissions refused, the private board shown.
        const closed = await app.request('/api/challenges/made/close', { method: 'POST', headers: org });
        expect(await closed.json()).toMatchObject({ state: 'closed' });
        expect((await send()).status).toBe(409);
        expect((await (await app.request('/api/challenges/made/leaderboard')).json()).part).toBe('public and private (closed)');
        expect((await (await app.request('/api/challenges/tiny/leaderboard')).json()).part).toBe('public');

        // The log: who, what, when, newest first, one row per change, none for refused requests.
        const log = (await (await app.request('/api/actions?challenge=made', { headers: org })).json()).actions;
        expect(log.map((a: { action: string }) => a.action)).toEqual(['challenge.close', 'phase.put', 'phase.close', 'challenge.open', 'challenge.create']);
        for (const a of log) expect(a).toMatchObject({ actor: 'org_0000000000000000000000aa', challenge: 'made' });
        expect(log[0].detail).toEqual({ from: 'open', to: 'closed' });
        expect(Date.parse(log[0].at)).toBeGreaterThanOrEqual(Date.parse(log.at(-1).at));

        // A change and its log row commit together: an action that cannot be written undoes the change.
        const dup = (await store.listActions({}))[0];
        await expect(store.setChallengeState('made', 'open', { ...dup, action: 'challenge.open' })).rejects.toThrow();
        expect((await store.getChallenge('made'))!.state).toBe('closed');
        await expect(store.putPhase({ challenge: 'made', name: 'extra', opensAt: null, closesAt: null }, dup)).rejects.toThrow();
        expect((await store.listPhases('made')).map((x) => x.name)).toEqual(['final', 'main']);

        // Restarted, the server serves the created challenge again from its folder, state kept.
        const again = new Map(served);
        const { loadCreatedChallenges } = await import('../src/server/challenges.ts');
        expect(await loadCreatedChallenges(store, again)).toEqual([]);
        await syncChallenges(store, again);
        const app2 = createApp({ store, challenges: again, maxUploadBytes: 64 * 1024 });
        expect(await (await app2.request('/api/challenges/made')).json()).toMatchObject({ name: 'made', state: 'closed' });
      } finally {
        await store.close();
      }
    });
  });

  describe('OpenAPI description', () => {
    it('is served and names every route the app answers', async () => {
      const store = await freshStore(b, 'openapi');
      try {
        const app = createApp({ store, challenges: served, maxUploadBytes: 1024 });
        const doc = await (await app.request('/openapi.json')).json();
        expect(doc.openapi).toBe('3.1.0');
        const described = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
          .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`)).sort();
        // The HTML pages (src/server/pages/) are not API routes: everything else must be described.
        const pages = new Set(pagesApp(app, { maxUploadBytes: 1024 }).routes.map((r) => `${r.method} ${r.path}`));
        const routes = [...new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`))].filter((r) => !pages.has(r)).sort();
        expect(described).toEqual(routes);
      } finally {
        await store.close();
      }
    });
  });

  describe('a submission read while its job finishes', () => {
    it('is never done without its record', async () => {
      const store = await freshStore(b, 'race');
      try {
        const plain = createApp({ store, challenges: served, maxUploadBytes: 64 * 1024 });
        const token = await register(plain, 'racer');
        const sent = await (await plain.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: upload(`id\n${ids.slice(0, 30).join('\n')}\n`) })).json();
        const claimed = (await store.claimJob('w', 60_000, Date.now()))!;
        expect(claimed.job.id).toBe(sent.job);
        // The job completes between the handler's reads, whichever comes first: the answer must hold together.
        let once = true;
        const finish = async () => {
          if (!once) return;
          once = false;
          expect(await store.completeJob({ job: sent.job, attempt: 1, worker: 'w' }, { submission: sent.submission, primaryPublic: 0.5, record: '{"metrics":{}}' }, Date.now())).toBe(true);
        };
        const racing = new Proxy(store, {
          get(target, key, receiver) {
            const v = Reflect.get(target, key, receiver);
            if (key !== 'getResult' && key !== 'listSubmissions') return typeof v === 'function' ? v.bind(target) : v;
            return async (...args: unknown[]) => { const out = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args); await finish(); return out; };
          },
        });
        const app = createApp({ store: racing, challenges: served, maxUploadBytes: 64 * 1024 });
        // Read as an organiser, who gets the stored record as it is (this one is no whole record).
        const org = issueToken('org_0000000000000000000000aa');
        await store.addParticipant({ id: 'org_0000000000000000000000aa', name: 'org', role: 'organiser', tokenSalt: org.salt, tokenHash: org.hash, createdAt: 1 });
        const detail = await (await app.request(`/api/submissions/${sent.submission}`, { headers: auth(org.token) })).json();
        expect(once).toBe(false);
        if (detail.job.state === 'done') expect(detail.record).not.toBeNull();
        const after = await (await app.request(`/api/submissions/${sent.submission}`, { headers: auth(org.token) })).json();
        expect(after).toMatchObject({ job: { state: 'done' }, record: { metrics: {} } });
      } finally {
        await store.close();
      }
    });
  });

  describe('a failed job waiting out its retry back-off', () => {
    it('shows retry_at in the job view until it is claimed again', async () => {
      const store = await freshStore(b, 'retry-at');
      try {
        const app = createApp({ store, challenges: served, maxUploadBytes: 64 * 1024 });
        const token = await register(app, 'retrier');
        const sent = await (await app.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: upload(`id\n${ids.slice(0, 30).join('\n')}\n`) })).json();
        const view = async () => (await app.request(`/api/jobs/${sent.job}`, { headers: auth(token) })).json();
        expect(await view()).toMatchObject({ state: 'queued', retry_at: null });
        await store.claimJob('w', 60_000);
        const before = await store.dbNow();
        expect(await store.failAttempt({ job: sent.job, attempt: 1, worker: 'w' }, 'disk full', true)).toBe('queued');
        const job = (await store.getJob(sent.job))!;
        expect(job.retryAt! - before).toBeGreaterThanOrEqual(10_000);
        expect(job.retryAt! - before).toBeLessThan(10_000 + 5_000);
        expect(await view()).toMatchObject({ state: 'queued', attempts: 1, error: 'disk full', retry_at: new Date(job.retryAt!).toISOString() });
        const me = await (await app.request('/api/me', { headers: auth(token) })).json();
        expect(me.submissions[0].job.retry_at).toBe(new Date(job.retryAt!).toISOString());
        // Not claimable before then (the database's clock); claimed after, the view has no retry_at.
        expect(await store.claimJob('w2', 60_000)).toBeNull();
        expect((await store.claimJob('w2', 60_000, job.retryAt!))!.attempt).toBe(2);
        expect(await view()).toMatchObject({ state: 'running', retry_at: null });
      } finally {
        await store.close();
      }
    });
  });

  describe("a result's audit deadline", () => {
    it("is the database's clock at the write plus what is left of the job's time limit, and is judged by that clock, not the server's", async () => {
      const store = await freshStore(b, 'audit-clock');
      try {
        // The server's own clock runs 10 minutes slow: it must not keep a lapsed audit 'running'.
        const app = createApp({ store, challenges: served, maxUploadBytes: 64 * 1024, now: () => new Date(Date.now() - 600_000) });
        const token = await register(app, 'clocked');
        const sent = await (await app.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: upload(`id\n${ids.slice(0, 30).join('\n')}\n`) })).json();
        const claimed = (await store.claimJob('w', 60_000))!;
        expect(claimed.job.id).toBe(sent.job);
        const before = await store.dbNow();
        expect(await store.completeJob({ job: sent.job, attempt: 1, worker: 'w' }, { submission: sent.submission, primaryPublic: 0.5, record: '{"metrics":{}}', auditMs: 300 })).toBe(true);
        const after = await store.dbNow();
        const row = (await store.getAudit(sent.submission))!;
        expect(row.scoredAt).toBeGreaterThanOrEqual(before);
        expect(row.scoredAt).toBeLessThanOrEqual(after);
        expect(row).toMatchObject({ state: 'running', deadline: row.scoredAt + 300 });
        // Read as an organiser, who gets the stored record as it is (this one is no whole record).
        const org = issueToken('org_0000000000000000000000ab');
        await store.addParticipant({ id: 'org_0000000000000000000000ab', name: 'org', role: 'organiser', tokenSalt: org.salt, tokenHash: org.hash, createdAt: 1 });
        const view = async () => (await (await app.request(`/api/submissions/${sent.submission}`, { headers: auth(org.token) })).json()).audit;
        const running = await view();
        // Read right after the write it is still running (unless this machine stalled past the 300 ms).
        if ((await store.dbNow()) < row.deadline! - 50) expect(running).toEqual({ status: 'running', deadline: new Date(row.deadline!).toISOString() });
        await waitFor(async () => (await store.dbNow()) > row.deadline!, 'the database clock to pass the deadline', 10);
        expect(await view()).toEqual({ status: 'not available', reason: "the audit did not finish within the job's time limit (its worker stopped or was cut off)" });
      } finally {
        await store.close();
      }
    });
  });

  describe('rate limiting', () => {
    it('limits each address and each token to its bucket, with Retry-After, one error shape', async () => {
      const store = await freshStore(b, 'rate');
      try {
        const app = createApp({ store, challenges: served, maxUploadBytes: 1024, ratePerMinute: 5 });
        const from = (address: string, token?: string) => app.request('/api/challenges', { headers: token ? auth(token) : {} }, { incoming: { socket: { remoteAddress: address } } });
        for (let i = 0; i < 5; i++) expect((await from('10.0.0.1')).status).toBe(200);
        const limited = await from('10.0.0.1');
        expect(limited.status).toBe(429);
        expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect((await limited.json()).error).toMatchObject({ code: 'rate-limited', where: 'address' });
        // Another address has its own bucket; a token is limited across addresses.
        expect((await from('10.0.0.2')).status).toBe(200);
        const t = issueToken('par_00000000000000000000abcd');
        await store.addParticipant({ id: 'par_00000000000000000000abcd', name: 'rate', role: 'participant', tokenSalt: t.salt, tokenHash: t.hash, createdAt: 1 });
        // A forged secret with this participant's id (the id is a token's visible part) drains
        // a bucket of its own, not theirs.
        const forged = `sieve_par_00000000000000000000abcd_${'A'.repeat(43)}`;
        for (let i = 0; i < 6; i++) await from(`10.3.0.${i}`, forged);
        expect((await from('10.3.0.9', forged)).status).toBe(429);
        for (let i = 0; i < 5; i++) expect((await from(`10.1.0.${i}`, t.token)).status).toBe(200);
        const byToken = await from('10.2.0.1', t.token);
        expect(byToken.status).toBe(429);
        expect((await byToken.json()).error.where).toBe('token');
      } finally {
        await store.close();
      }
    });
  });
});
