/**
 * The server store on both backends (test/server-backends.ts): migrations and the refusal of a
 * newer schema, tokens stored as salted hashes only, atomic claims, a result written once,
 * retries and failures, recovery after a crash; and what concurrency must not break — two
 * registrations of one name, two creations of one challenge, uploads racing for the last place
 * of a quota, several stores (machines) claiming from one PostgreSQL database. PostgreSQL's
 * connection errors say what to check.
 */
import { SCHEMA_CHECK_MS } from '../src/server/store/sql-store.ts';
import { StoreOutdated } from '../src/server/store/types.ts';
import { describe, expect, it } from 'vitest';
import { initServer } from '../src/server/serve.ts';
import { openStore } from '../src/server/store/open.ts';
import { MAX_INTERRUPTIONS } from '../src/server/store/jobs-sql.ts';
import { DIALECTS, MIGRATIONS, SCHEMA_VERSION_TABLE } from '../src/server/store/migrations.ts';
import type { ServerStore } from '../src/server/store/types.ts';
import { issueToken, parseToken, tokenMatches } from '../src/server/tokens.ts';
import { SieveError } from '../src/util/errors.ts';
import { skipIfUnavailable, storeBackends } from './server-backends.ts';

const BACKENDS = await storeBackends('server-store');
const P = 'par_000000000000000000000001';
const TINY = { name: 'tiny', ref: '/nowhere/tiny', version: 1, specSha256: 'ab'.repeat(32), title: 'tiny', task: 'selection', state: 'open', origin: 'dir' } as const;

async function withParticipant(store: ServerStore, id = P, name = 'p'): Promise<void> {
  const t = issueToken(id);
  expect(await store.addParticipant({ id, name, role: 'participant', tokenSalt: t.salt, tokenHash: t.hash, createdAt: 1 })).toBe(true);
}

const sub = (k: number | string, participant = P) => ({ id: `sub_${k}`, participant, challenge: 'tiny', fileName: 'a.csv', sha256: 'x', bytes: new Uint8Array([Number(k) % 256, 255, 0]), createdAt: typeof k === 'number' ? k : 1 });

describe.each(BACKENDS)('server store ($name)', (b) => {
  if (skipIfUnavailable(b)) return;

  it('migrates once, refuses a newer schema, claims atomically, writes a result once', async () => {
    const db = await b.newDb('store');
    const store = await openStore(db);
    try {
      expect(await store.currentVersion()).toBe(0);
      expect(await store.migrate()).toBe(MIGRATIONS.at(-1)!.version);
      expect(await store.currentVersion()).toBe(MIGRATIONS.at(-1)!.version);
      expect(await store.migrate()).toBe(MIGRATIONS.at(-1)!.version); // a second run changes nothing
      await store.putChallenge(TINY, { opensAt: null, closesAt: null });
      await withParticipant(store);
      const t = issueToken('par_000000000000000000000002');
      expect(await store.addParticipant({ id: 'par_000000000000000000000002', name: 'p', role: 'participant', tokenSalt: t.salt, tokenHash: t.hash, createdAt: 1 })).toBe(false);
      for (const k of [1, 2, 3]) expect((await store.submit(sub(k), { id: `job_${k}`, maxAttempts: 2 }, { dayStart: 0 })).ok).toBe(true);
      // Concurrent claims never hand out the same job.
      const claims = await Promise.all(['w1', 'w2', 'w3', 'w4'].map((w) => store.claimJob(w, 60_000, 10)));
      const got = claims.filter((c) => c !== null).map((c) => c!.job.id);
      expect(got.sort()).toEqual(['job_1', 'job_2', 'job_3']);
      // The bytes come back as they went in (BLOB / BYTEA), as a plain Uint8Array.
      expect(claims.find((c) => c?.job.id === 'job_2')!.submission.bytes).toEqual(new Uint8Array([2, 255, 0]));
      const result = { submission: 'sub_1', primaryPublic: 0.5, record: '{}' };
      const w1 = claims.find((c) => c?.job.id === 'job_1')!.job.worker!;
      const w2 = claims.find((c) => c?.job.id === 'job_2')!.job.worker!;
      expect(await store.completeJob({ job: 'job_1', attempt: 1, worker: w1 }, result, 11)).toBe(true);
      expect(await store.completeJob({ job: 'job_1', attempt: 1, worker: w1 }, result, 12)).toBe(false); // idempotent: once only
      expect(await store.completeJob({ job: 'job_2', attempt: 2, worker: w2 }, { ...result, submission: 'sub_2' }, 12)).toBe(false); // not this attempt
      expect(await store.getResult('sub_1')).toEqual({ submission: 'sub_1', job: 'job_1', attempt: 1, primaryPublic: 0.5, record: '{}', createdAt: 11 });
      // A failing job is retried, then failed with its reasons; failed jobs stop counting.
      // (The retry waits out its back-off, 10 s: test/server-leases.test.ts.)
      expect(await store.failAttempt({ job: 'job_2', attempt: 1, worker: w2 }, 'boom', true, 13)).toBe('queued');
      expect(await store.claimJob('w5', 60_000, 14)).toBeNull();
      expect((await store.claimJob('w5', 60_000, 10_013))!.attempt).toBe(2);
      expect(await store.failAttempt({ job: 'job_2', attempt: 2, worker: 'w5' }, 'boom again', true, 10_015)).toBe('failed');
      expect(await store.getJob('job_2')).toMatchObject({ state: 'failed', error: `failed in 2 attempts: #1 (${w2}): boom; #2 (w5): boom again`, attempts: 2, finishedAt: 10_015 });
      expect(await store.quotaUsed(P, 'tiny', 0)).toEqual({ total: 2, today: 2 });
      expect(await store.countJobs()).toEqual({ queued: 0, running: 1, done: 1, failed: 1, cancelled: 0 });
      // job_3 is left running: a restart puts it back in the queue, keeping its attempt log.
      expect(await store.recoverInterrupted(16)).toEqual({ requeued: 1, failed: 0 });
      expect((await store.listAttempts('job_3'))[0]).toMatchObject({ attempt: 1, outcome: 'interrupted' });
      expect(await store.getJob('job_3')).toMatchObject({ state: 'queued' });
      // Restarts do not use up the job's attempts (max 2 here): a crash is the server's, not the
      // submission's. Only MAX_INTERRUPTIONS of them end the job, with every attempt's reason.
      for (let a = 2; a < MAX_INTERRUPTIONS; a++) {
        expect((await store.claimJob('w6', 60_000, 16 + a))!.attempt).toBe(a);
        expect(await store.recoverInterrupted(16 + a)).toEqual({ requeued: 1, failed: 0 });
      }
      expect((await store.claimJob('w6', 60_000, 40))!.attempt).toBe(MAX_INTERRUPTIONS);
      expect(await store.recoverInterrupted(41)).toEqual({ requeued: 0, failed: 1 });
      const j3 = (await store.getJob('job_3'))!;
      expect(j3).toMatchObject({ state: 'failed', attempts: MAX_INTERRUPTIONS });
      expect(j3.error).toMatch(new RegExp(`^interrupted ${MAX_INTERRUPTIONS} times, the most one job may be .*#1 \\(w\\d\\): the server stopped during the evaluation; #2 `));
      expect((await store.listAttempts('job_3')).map((a) => a.outcome)).toEqual(Array(MAX_INTERRUPTIONS).fill('interrupted'));
      expect(await store.claimJob('w7', 60_000, 50)).toBeNull();
      const subs = await store.listSubmissions({ participant: P });
      expect(subs.map((s) => [s.id, s.job.state, s.primaryPublic, s.size])).toEqual([['sub_1', 'done', 0.5, 3], ['sub_2', 'failed', null, 3], ['sub_3', 'failed', null, 3]]);
      expect((await store.listResults('tiny')).map((r) => [r.submission, r.participantName, r.submittedAt])).toEqual([['sub_1', 'p', 1]]);
    } finally {
      await store.close();
    }
    // A database from a newer sieve is refused, and left as it was.
    const v = MIGRATIONS.at(-1)!.version;
    await b.sql(db, `INSERT INTO schema_version VALUES (${v + 1}, 0)`);
    const newer = await openStore(db);
    try {
      await expect(newer.migrate()).rejects.toThrow(`schema version ${v + 1}; this sieve knows up to ${v}`);
      expect(await newer.currentVersion()).toBe(v + 1);
    } finally {
      await newer.close();
    }
  });

  it.skipIf(b.name !== 'postgres')('a running process stops reading and writing once a newer sieve upgrades the schema under it', async () => {
    // PostgreSQL only: a DuckDB file has one opener, so nothing can upgrade it under a running server.
    const db = await b.newDb('upgraded-under');
    const store = await openStore(db);
    try {
      await store.migrate();
      await store.putChallenge(TINY, { opensAt: null, closesAt: null });
      const v = MIGRATIONS.at(-1)!.version;
      await b.sql(db, `INSERT INTO schema_version VALUES (${v + 1}, 0)`);
      await new Promise((r) => setTimeout(r, SCHEMA_CHECK_MS + 100));
      const err = await store.countJobs().catch((e) => e);
      expect(err).toBeInstanceOf(StoreOutdated);
      expect(err.message).toMatch(new RegExp(`has schema version ${v + 1}, written by a newer sieve; this process \\(schema ${v}\\) no longer reads or writes it`));
      await expect(withParticipant(store)).rejects.toBeInstanceOf(StoreOutdated);
      expect(await store.currentVersion()).toBe(v + 1);
    } finally {
      await store.close();
    }
  });

  it('upgrades a version 5 database to 6: jobs.retry_at added, a retry queued under 5 runs at once, later failures back off', async () => {
    const db = await b.newDb('from5');
    // The database as sieve with schema version 5 left it: the same migrations, 1 to 5, as they ran then.
    await b.sql(db, SCHEMA_VERSION_TABLE);
    for (const m of MIGRATIONS.filter((x) => x.version <= 5)) {
      for (const stmt of m.statements(DIALECTS[b.name])) await b.sql(db, stmt);
      await b.sql(db, `INSERT INTO schema_version (version, applied_at) VALUES (${m.version}, 0)`);
    }
    const old = await openStore(db);
    try {
      expect(await old.currentVersion()).toBe(5);
      await old.putChallenge(TINY, { opensAt: null, closesAt: null });
      await withParticipant(old);
      for (const k of [1, 2]) expect((await old.submit(sub(k), { id: `job_${k}`, maxAttempts: 3 }, { dayStart: 0 })).ok).toBe(true);
    } finally {
      await old.close();
    }
    // job_1 failed once under version 5 and was queued again at once (no back-off then).
    await b.sql(db, "UPDATE jobs SET attempts = 1, error = 'boom' WHERE id = 'job_1'");
    await b.sql(db, "INSERT INTO job_attempts (job, attempt, started_at, finished_at, outcome, reason, worker) VALUES ('job_1', 1, 5, 6, 'failed', 'boom', 'A')");
    const hasRetryAt = async () => Number((await b.sql(db, "SELECT count(*) AS n FROM information_schema.columns WHERE table_name = 'jobs' AND column_name = 'retry_at'"))[0].n);
    expect(await hasRetryAt()).toBe(0);
    const store = await openStore(db);
    try {
      expect(await store.migrate()).toBe(6);
      expect(await store.currentVersion()).toBe(6);
    } finally {
      await store.close();
    }
    expect(await hasRetryAt()).toBe(1);
    expect((await b.sql(db, 'SELECT version FROM schema_version ORDER BY version')).map((r) => Number(r.version))).toEqual([1, 2, 3, 4, 5, 6]);
    const up = await openStore(db);
    try {
      expect(await up.migrate()).toBe(6); // nothing left to do
      expect(await up.getJob('job_1')).toMatchObject({ state: 'queued', attempts: 1, error: 'boom', retryAt: null });
      // Claimable at once: it was queued before back-off existed.
      expect((await up.claimJob('B', 60_000, 100))!).toMatchObject({ attempt: 2, job: { id: 'job_1' } });
      // Its next failure (its second) waits 20 s, and job_2 is claimed meanwhile.
      expect(await up.failAttempt({ job: 'job_1', attempt: 2, worker: 'B' }, 'boom again', true, 200)).toBe('queued');
      expect((await up.getJob('job_1'))!.retryAt).toBe(20_200);
      expect((await up.claimJob('C', 60_000, 300))!.job.id).toBe('job_2');
      expect(await up.claimJob('C', 60_000, 20_199)).toBeNull();
      expect((await up.claimJob('C', 60_000, 20_200))!).toMatchObject({ attempt: 3, job: { id: 'job_1', retryAt: null } });
    } finally {
      await up.close();
    }
  });

  it("a failure of the entrant's making (charged) ends the job at once and keeps counting against the quota", async () => {
    const store = await openStore(await b.newDb('charged'));
    try {
      await store.migrate();
      await store.putChallenge(TINY, { opensAt: null, closesAt: null });
      await withParticipant(store);
      for (const k of [1, 2]) expect((await store.submit(sub(k), { id: `job_${k}`, maxAttempts: 3 }, { dayStart: 0 })).ok).toBe(true);
      const a = (await store.claimJob('w1', 60_000, 10))!;
      const c = (await store.claimJob('w2', 60_000, 10))!;
      // retry = true is overridden: the same strategy would fail the same way.
      expect(await store.failAttempt({ job: a.job.id, attempt: 1, worker: a.job.worker! }, 'the strategy failed: it does not parse', true, 11, true)).toBe('failed');
      expect(await store.getJob(a.job.id)).toMatchObject({ state: 'failed', attempts: 1, charged: true, error: 'the strategy failed: it does not parse' });
      expect(await store.failAttempt({ job: c.job.id, attempt: 1, worker: c.job.worker! }, 'no space left', false, 11)).toBe('failed');
      expect(await store.getJob(c.job.id)).toMatchObject({ state: 'failed', charged: false });
      expect(await store.quotaUsed(P, 'tiny', 0)).toEqual({ total: 1, today: 1 });
      // The charged one still takes its place in a cap of 2; the system's failure does not.
      expect((await store.submit(sub(3), { id: 'job_3', maxAttempts: 3 }, { dayStart: 0, total: 2 })).ok).toBe(true);
      expect(await store.submit(sub(4), { id: 'job_4', maxAttempts: 3 }, { dayStart: 0, total: 2 })).toMatchObject({ ok: false, limit: 'total', used: 2 });
    } finally {
      await store.close();
    }
  });

  it('text holding U+0000 (an entrant\'s error message, a file name, a title, a looked-up id) is stored and read back the same on both backends', async () => {
    // PostgreSQL's text cannot hold U+0000: before, the whole statement failed there, so a strategy
    // throwing such a message could never be failed (its job came back after every lease, uncharged).
    const store = await b.open('nul');
    try {
      await store.putChallenge({ ...TINY, title: 'tiny\0title' }, { opensAt: null, closesAt: null });
      expect((await store.getChallenge('tiny'))!.title).toBe('tiny\\u0000title');
      await withParticipant(store);
      expect((await store.submit({ ...sub(1), fileName: 'a\0.sql' }, { id: 'job_1', maxAttempts: 3 }, { dayStart: 0 })).ok).toBe(true);
      expect((await store.getSubmission('sub_1'))!.fileName).toBe('a\\u0000.sql');
      const c = (await store.claimJob('w1', 60_000, 10))!;
      expect(await store.failAttempt({ job: c.job.id, attempt: 1, worker: 'w1' }, 'the strategy failed: Error: a\0b', true, 11, true)).toBe('failed');
      expect(await store.getJob('job_1')).toMatchObject({ state: 'failed', charged: true, error: 'the strategy failed: Error: a\\u0000b' });
      expect((await store.listAttempts('job_1'))[0]).toMatchObject({ outcome: 'failed', reason: 'the strategy failed: Error: a\\u0000b' });
      // A lookup by an id or name holding one finds nothing (it used to throw on PostgreSQL: a 500 for GET /api/jobs/a%00b).
      expect(await store.getJob('job_1\0')).toBeNull();
      expect(await store.getChallenge('tiny\0')).toBeNull();
      expect(await store.getParticipant('\0')).toBeNull();
    } finally {
      await store.close();
    }
  });

  it("lists challenges and phases in the same order on both backends, whatever PostgreSQL's collation", async () => {
    // A deployment's database may order text by en_US or ICU rules ('p_1' before 'p-1'); the lists must not follow.
    const store = await openStore(await b.newDb('collation', { icuLocale: 'en-US' }));
    try {
      await store.migrate();
      for (const name of ['tiny-b', 'tiny', 'tiny-a']) await store.putChallenge({ ...TINY, name }, { opensAt: null, closesAt: null });
      const act = (k: number) => ({ id: `act_${k}`, at: k, actor: 'org', action: 'phase.put', challenge: 'tiny', detail: '{}' });
      for (const [k, name] of ['p_1', 'p-1', 'Late'].entries()) expect(await store.putPhase({ challenge: 'tiny', name, opensAt: null, closesAt: null }, act(k))).toBe('ok');
      expect((await store.listChallenges()).map((c) => c.name)).toEqual(['tiny', 'tiny-a', 'tiny-b']);
      expect((await store.listPhases('tiny')).map((p) => p.name)).toEqual(['Late', 'main', 'p-1', 'p_1']);
    } finally {
      await store.close();
    }
  });

  it('tokens: stored only as a salted hash, checked against it', async () => {
    const db = await b.newDb('init');
    const init = await initServer(db);
    const parsed = parseToken(init.token)!;
    expect(parsed.id).toBe(init.organiser);
    await expect(initServer(db)).rejects.toThrow(/already initialised/);
    const store = await openStore(db);
    try {
      const p = (await store.getParticipant(init.organiser))!;
      expect(p.role).toBe('organiser');
      expect(p.tokenHash).not.toContain(parsed.secret);
      expect(tokenMatches(parsed.secret, p.tokenSalt, p.tokenHash)).toBe(true);
      expect(tokenMatches(parsed.secret.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), p.tokenSalt, p.tokenHash)).toBe(false);
      expect(await store.countParticipants('organiser')).toBe(1);
    } finally {
      await store.close();
    }
    const dump = JSON.stringify(await b.sql(db, 'SELECT * FROM participants'));
    expect(dump).toContain(init.organiser);
    expect(dump).not.toContain(parsed.secret);
  });

  it('under concurrent calls: one registration per name, one creation per challenge, never past a quota', async () => {
    const store = await b.open('race');
    try {
      await store.putChallenge(TINY, { opensAt: null, closesAt: null });
      // Eight registrations of one name at once: exactly one succeeds, the others are told the name is taken.
      const regs = await Promise.all(Array.from({ length: 8 }, (_, i) => {
        const id = `par_0000000000000000000000${(10 + i).toString()}`;
        const t = issueToken(id);
        return store.addParticipant({ id, name: 'same-name', role: 'participant', tokenSalt: t.salt, tokenHash: t.hash, createdAt: i });
      }));
      expect(regs.filter(Boolean)).toHaveLength(1);
      expect(await store.countParticipants('participant')).toBe(1);
      // Four creations of one challenge at once: one true, three false, one action logged.
      const action = (i: number) => ({ id: `act_${i}`, at: i, actor: 'org', action: 'challenge.create', challenge: 'made', detail: '{}' });
      const made = await Promise.all([0, 1, 2, 3].map((i) => store.createChallenge({ ...TINY, name: 'made', origin: 'api', state: 'draft' }, { opensAt: null, closesAt: null }, action(i))));
      expect(made.filter(Boolean)).toHaveLength(1);
      expect((await store.listActions({ challenge: 'made' })).length).toBe(1);
      expect((await store.listPhases('made')).map((p) => p.name)).toEqual(['main']);
      // Ten uploads at once against a total cap of 4: exactly 4 stored, 6 refused with the cap.
      const winner = regs.findIndex(Boolean);
      const who = `par_0000000000000000000000${(10 + winner).toString()}`;
      const outcomes = await Promise.all(Array.from({ length: 10 }, (_, k) => store.submit(sub(100 + k, who), { id: `job_${100 + k}`, maxAttempts: 1 }, { dayStart: 0, total: 4 })));
      expect(outcomes.filter((o) => o.ok)).toHaveLength(4);
      for (const o of outcomes.filter((x) => !x.ok)) expect(o).toEqual({ ok: false, limit: 'total', used: 4, cap: 4 });
      expect(await store.quotaUsed(who, 'tiny', 0)).toEqual({ total: 4, today: 4 });
      // A cancelled job gives its place back; a second cancel is refused.
      const [first] = (await store.listSubmissions({ participant: who })).map((s) => s.job.id);
      expect(await store.cancelJob(first, who, 50)).toBe('cancelled');
      expect(await store.cancelJob(first, who, 51)).toBe('not-queued');
      expect(await store.cancelJob(first, 'par_nobody', 51)).toBe('not-found');
      expect((await store.submit(sub(200, who), { id: 'job_200', maxAttempts: 1 }, { dayStart: 0, total: 4 })).ok).toBe(true);
      expect((await store.submit(sub(201, who), { id: 'job_201', maxAttempts: 1 }, { dayStart: 0, total: 4 })).ok).toBe(false);
    } finally {
      await store.close();
    }
  });

  it.runIf(b.name === 'postgres')('several stores on one database (machines) claim every job exactly once', async () => {
    const db = await b.newDb('machines');
    const stores = await Promise.all([0, 1, 2].map(() => openStore(db)));
    try {
      await Promise.all(stores.map((s) => s.migrate())); // at once: the migrations run once
      expect(await b.sql(db, 'SELECT version FROM schema_version ORDER BY version')).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
      const [s0] = stores;
      await s0.putChallenge(TINY, { opensAt: null, closesAt: null });
      await withParticipant(s0);
      for (let k = 1; k <= 30; k++) expect((await s0.submit(sub(k), { id: `job_${k}`, maxAttempts: 1 }, { dayStart: 0 })).ok).toBe(true);
      // Three machines, two claim loops each, claiming and completing until the queue is empty.
      const done: string[] = [];
      await Promise.all(stores.flatMap((s, m) => [0, 1].map(async (slot) => {
        const worker = `m${m}-${slot}`;
        for (let c = await s.claimJob(worker, 60_000, 100); c; c = await s.claimJob(worker, 60_000, 100)) {
          expect(await s.completeJob({ job: c.job.id, attempt: c.attempt, worker }, { submission: c.submission.id, primaryPublic: 1, record: worker }, 100)).toBe(true);
          done.push(c.job.id);
        }
      })));
      expect(done.sort()).toEqual(Array.from({ length: 30 }, (_, i) => `job_${i + 1}`).sort());
      expect(await s0.countJobs()).toMatchObject({ queued: 0, running: 0, done: 30 });
      expect(await b.sql(db, 'SELECT count(*)::int AS n, count(DISTINCT submission)::int AS d FROM results')).toEqual([{ n: 30, d: 30 }]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it.runIf(b.name === 'postgres')('a database it cannot reach or enter is a SieveError saying what to check, never the password', async () => {
    const base = new URL(await b.newDb('errors'));
    const attempt = async (change: (u: URL) => void): Promise<SieveError> => {
      const u = new URL(base.toString());
      change(u);
      const err = await openStore(u.toString()).then(async (s) => { await s.close(); return null; }, (e: unknown) => e);
      expect(err).toBeInstanceOf(SieveError);
      const e = err as SieveError;
      expect(`${e.message} ${e.where} ${e.examples.join(' ')}`).not.toContain('sieve-secret-pw');
      return e;
    };
    // A port where nothing listens (port 1 on the loopback address).
    const refused = await attempt((u) => { u.hostname = '127.0.0.1'; u.port = '1'; u.password = 'sieve-secret-pw'; });
    expect(refused.message).toBe('cannot reach PostgreSQL at 127.0.0.1:1: connection refused');
    expect(refused.where).toContain('***');
    expect(refused.examples.join(' ')).toMatch(/pg_ctlcluster/);
    const noDb = await attempt((u) => { u.pathname = '/sieve_no_such_database'; });
    expect(noDb.message).toMatch(/^there is no database "sieve_no_such_database" on PostgreSQL at /);
    expect(noDb.examples[0]).toMatch(/^create it: createdb -O \S+ sieve_no_such_database$/);
    if (base.password) {
      const badPw = await attempt((u) => { u.password = 'sieve-secret-pw'; });
      expect(badPw.message).toMatch(/refused the password of role|refused role/);
    }
    const notUrl = await openStore('postgres://[bad').then(() => null, (e: unknown) => e);
    expect(notUrl).toBeInstanceOf(SieveError);
    expect((notUrl as SieveError).message).toBe('--db is not a valid PostgreSQL URL');
  });
});
