/**
 * Leases in the server store (src/server/store/jobs-sql.ts): a claim leases a job to one
 * worker; heartbeats extend the lease; results and failures are accepted only on a live lease
 * (the job's current attempt, its worker, not expired), so a late result is written nowhere;
 * an expired lease is handed out again; a job failing on several workers ends failed with every
 * reason; a released job goes back without counting as a failure; queueStats counts it all.
 * Times are given explicitly, so nothing here depends on the clock. Both backends (test/server-backends.ts).
 */
import { describe, expect, it } from 'vitest';
import type { ServerStore } from '../src/server/store/types.ts';
import { issueToken } from '../src/server/tokens.ts';
import { skipIfUnavailable, storeBackends, type StoreBackend } from './server-backends.ts';

const BACKENDS = await storeBackends('server-leases');

const P = 'par_000000000000000000000001';

async function storeWithJobs(b: StoreBackend, name: string, jobs: number, maxAttempts = 3): Promise<ServerStore> {
  const store = await b.open(name);
  await store.putChallenge({ name: 'tiny', ref: '/nowhere/tiny', version: 1, specSha256: 'ab'.repeat(32), title: 'tiny', task: 'selection', state: 'open', origin: 'dir' }, { opensAt: null, closesAt: null });
  const t = issueToken(P);
  await store.addParticipant({ id: P, name: 'p', role: 'participant', tokenSalt: t.salt, tokenHash: t.hash, createdAt: 0 });
  for (let k = 1; k <= jobs; k++) {
    const r = await store.submit({ id: `sub_${k}`, participant: P, challenge: 'tiny', fileName: 'a.csv', sha256: 'x', bytes: new Uint8Array([k]), createdAt: k }, { id: `job_${k}`, maxAttempts }, { dayStart: 0 });
    expect(r.ok).toBe(true);
  }
  return store;
}

const result = (k: number) => ({ submission: `sub_${k}`, primaryPublic: 0.5, record: `{"k":${k}}` });

describe.each(BACKENDS)('leases ($name)', (b) => {
  if (skipIfUnavailable(b)) return;

  it('a claim leases the job to one worker; heartbeats extend it; only the live lease may complete', async () => {
    const store = await storeWithJobs(b, 'live', 1);
    try {
      const c = (await store.claimJob('A', 1000, 100))!;
      expect(c).toMatchObject({ attempt: 1, leaseExpiresAt: 1100, challengeSpecSha256: 'ab'.repeat(32), challengeRef: '/nowhere/tiny' });
      expect(c.job).toMatchObject({ state: 'running', worker: 'A', leaseExpiresAt: 1100 });
      const a = { job: 'job_1', attempt: 1, worker: 'A' };
      // Another worker's name, another attempt: not this lease.
      expect(await store.renewLease({ ...a, worker: 'B' }, 1000, 500)).toBe(false);
      expect(await store.completeJob({ ...a, worker: 'B' }, result(1), 500)).toBe(false);
      expect(await store.completeJob({ ...a, attempt: 2 }, result(1), 500)).toBe(false);
      // A heartbeat at 1000 carries the lease to 2000: at 1500 it is still live, nobody else gets the job.
      expect(await store.renewLease(a, 1000, 1000)).toBe(true);
      expect((await store.getJob('job_1'))!.leaseExpiresAt).toBe(2000);
      expect(await store.claimJob('B', 1000, 1500)).toBeNull();
      expect(await store.completeJob(a, result(1), 1500)).toBe(true);
      expect(await store.getJob('job_1')).toMatchObject({ state: 'done', worker: null, leaseExpiresAt: null, attempts: 1 });
      expect((await store.getResult('sub_1'))!.record).toBe('{"k":1}');
      // Done: no more heartbeats, results or failures for it.
      expect(await store.renewLease(a, 1000, 1600)).toBe(false);
      expect(await store.completeJob(a, result(1), 1600)).toBe(false);
      expect(await store.failAttempt(a, 'late', true, 1600)).toBe('stale');
      expect((await store.listAttempts('job_1')).map((x) => [x.outcome, x.worker])).toEqual([['done', 'A']]);
    } finally {
      await store.close();
    }
  });

  it('an expired lease is handed out again and the late result of the old lease is written nowhere', async () => {
    const store = await storeWithJobs(b, 'expired', 1);
    try {
      expect((await store.claimJob('A', 1000, 0))!.attempt).toBe(1);
      const a = { job: 'job_1', attempt: 1, worker: 'A' };
      // Past the lease, before anyone took the job over: A's heartbeat and result are refused already.
      expect(await store.renewLease(a, 1000, 1001)).toBe(false);
      expect(await store.completeJob(a, result(1), 1001)).toBe(false);
      expect(await store.getResult('sub_1')).toBeNull();
      const b = (await store.claimJob('B', 1000, 1002))!;
      expect(b).toMatchObject({ attempt: 2, job: { worker: 'B', attempts: 2 } });
      expect((await store.listAttempts('job_1')).map((x) => [x.attempt, x.outcome, x.worker, x.reason])).toEqual([
        [1, 'expired', 'A', 'the lease of worker A expired (no heartbeat)'],
        [2, null, 'B', null],
      ]);
      // A wakes up (its lease long gone) and reports again: still refused, even while B is live.
      expect(await store.completeJob(a, { ...result(1), record: '{"from":"A"}' }, 1500)).toBe(false);
      expect(await store.failAttempt(a, 'A failed late', true, 1500)).toBe('stale');
      expect(await store.releaseJob(a, 1500)).toBe(false);
      expect(await store.completeJob({ job: 'job_1', attempt: 2, worker: 'B' }, { ...result(1), record: '{"from":"B"}' }, 1600)).toBe(true);
      expect((await store.getResult('sub_1'))!).toMatchObject({ attempt: 2, record: '{"from":"B"}' });
      expect(await store.getJob('job_1')).toMatchObject({ state: 'done', attempts: 2 });
    } finally {
      await store.close();
    }
  });

  it('a job failing on several workers ends failed with every reason; a released attempt is not a failure', async () => {
    const store = await storeWithJobs(b, 'fails', 2, 3);
    try {
      // job_1: fails on A, is released by B (stopping), its lease expires on C (an interruption, not
      // a failure), fails on D and on E: three failures of its own end it, every reason listed.
      // Each failure's retry waits out its back-off (10 s, then 20 s); the release and the expiry do not.
      const claim = async (w: string, now: number) => (await store.claimJob(w, 1000, now))!;
      expect((await claim('A', 0)).job.id).toBe('job_1');
      expect(await store.failAttempt({ job: 'job_1', attempt: 1, worker: 'A' }, 'out of memory', true, 10)).toBe('queued');
      expect(await store.getJob('job_1')).toMatchObject({ error: 'out of memory', retryAt: 10_010 });
      expect((await claim('B', 10_010)).job.id).toBe('job_1');
      expect(await store.releaseJob({ job: 'job_1', attempt: 2, worker: 'B' }, 10_020)).toBe(true);
      expect(await store.getJob('job_1')).toMatchObject({ state: 'queued', worker: null, leaseExpiresAt: null, retryAt: null });
      expect((await claim('C', 10_030)).job.id).toBe('job_1');
      // C goes silent; D's claim at 12000 first expires C's lease, then takes job_1 again at once (the oldest queued).
      const d = await claim('D', 12_000);
      expect(d).toMatchObject({ attempt: 4, job: { id: 'job_1' } });
      expect(await store.failAttempt({ job: 'job_1', attempt: 4, worker: 'D' }, 'segfault', true, 12_010)).toBe('queued');
      expect((await store.getJob('job_1'))!.retryAt).toBe(12_010 + 20_000);
      expect((await claim('E', 32_010)).job.id).toBe('job_1');
      expect(await store.failAttempt({ job: 'job_1', attempt: 5, worker: 'E' }, 'segfault again', true, 32_020)).toBe('failed');
      const job = (await store.getJob('job_1'))!;
      expect(job).toMatchObject({ state: 'failed', attempts: 5, worker: null, finishedAt: 32_020 });
      expect(job.error).toBe('failed in 3 attempts (and interrupted in 1): #1 (A): out of memory; #3 (C): the lease of worker C expired (no heartbeat); #4 (D): segfault; #5 (E): segfault again');
      expect((await store.listAttempts('job_1')).map((x) => x.outcome)).toEqual(['failed', 'released', 'expired', 'failed', 'failed']);
      // A failure that would repeat (retry false) ends the job at once, with that reason alone.
      expect((await claim('F', 33_000)).job.id).toBe('job_2');
      expect(await store.failAttempt({ job: 'job_2', attempt: 1, worker: 'F' }, 'invalid submission', false, 33_010)).toBe('failed');
      expect((await store.getJob('job_2'))!.error).toBe('invalid submission');
      expect(await store.quotaUsed(P, 'tiny', 0)).toEqual({ total: 0, today: 0 });
    } finally {
      await store.close();
    }
  });

  it('an expired lease does not use up the attempts; queueStats counts jobs, attempts, results and live workers', async () => {
    const store = await storeWithJobs(b, 'stats', 4, 1);
    try {
      const empty = await store.queueStats(0);
      expect(empty).toMatchObject({ jobs: { queued: 4, running: 0 }, oldestQueuedAt: 1, resultsTotal: 0, workersActive: 0 });
      await store.claimJob('A', 1000, 100); // job_1, will expire
      await store.claimJob('B', 10_000, 100); // job_2, will be done
      await store.claimJob('B2', 10_000, 100); // job_3, stays running
      expect(await store.completeJob({ job: 'job_2', attempt: 1, worker: 'B' }, result(2), 200)).toBe(true);
      expect(await store.queueStats(300)).toMatchObject({
        jobs: { queued: 1, running: 2, done: 1, failed: 0 }, oldestQueuedAt: 4, resultsTotal: 1, resultsLastMinute: 1, workersActive: 2,
        attempts: { done: 1, failed: 0, expired: 0 },
      });
      expect((await store.queueStats(300)).leaseExpired).toBe(0);
      // At 5000 A's lease has run out (not yet swept): A no longer counts as active, and its job
      // counts as waiting for a claim (the oldest such: job_1, created at 1), not as running.
      expect(await store.queueStats(5000)).toMatchObject({ workersActive: 1, leaseExpired: 1, oldestQueuedAt: 1 });
      const { metricsText } = await import('../src/server/ops.ts');
      const text = metricsText(await store.queueStats(5000), 5000, store.schemaVersion);
      expect(text).toMatch(/^sieve_queue_depth 2$/m);
      expect(text).toMatch(/^sieve_jobs_running 1$/m);
      expect(text).toMatch(/^sieve_jobs_lease_expired 1$/m);
      // The next claim sweeps it: job_1 goes back to the queue even with one attempt allowed (the
      // worker was lost, the job did not fail), and the claim gets the oldest queued: job_1 again.
      expect((await store.claimJob('C', 1000, 5000))!).toMatchObject({ attempt: 2, job: { id: 'job_1' } });
      expect(await store.getJob('job_1')).toMatchObject({ state: 'running', worker: 'C', error: 'the lease of worker A expired (no heartbeat)' });
      // By then both running jobs' leases have run out: they wait for a claim too (job_1 the oldest).
      expect(await store.queueStats(200 + 60_001)).toMatchObject({
        jobs: { queued: 1, running: 2, done: 1, failed: 0 }, leaseExpired: 2, oldestQueuedAt: 1, resultsTotal: 1, resultsLastMinute: 0,
        attempts: { done: 1, expired: 1 },
      });
    } finally {
      await store.close();
    }
  });

  it('a failed job waits out its retry back-off (10 s, doubling, capped) before any claim takes it; others pass it by', async () => {
    const store = await storeWithJobs(b, 'backoff', 2, 7);
    try {
      const j1 = { job: 'job_1', worker: 'A' };
      expect((await store.claimJob('A', 1000, 0))!.job.id).toBe('job_1');
      expect(await store.failAttempt({ ...j1, attempt: 1 }, 'disk full', true, 100)).toBe('queued');
      expect(await store.getJob('job_1')).toMatchObject({ state: 'queued', retryAt: 10_100, error: 'disk full' });
      // While job_1 waits, a claim takes the younger job_2 instead, and then finds nothing.
      // (B holds job_2 on a long lease, 2,000 s, so that it stays out of the way below.)
      expect((await store.claimJob('B', 2_000_000, 200))!.job.id).toBe('job_2');
      expect(await store.claimJob('B', 60_000, 10_099)).toBeNull();
      // Each further failure doubles the wait: 20 s, 40 s, 80 s, 160 s, then the 5-minute cap.
      let t = 10_100;
      for (const [attempt, wait] of [[2, 20_000], [3, 40_000], [4, 80_000], [5, 160_000], [6, 300_000]] as const) {
        expect((await store.claimJob('A', 1000, t))).toMatchObject({ attempt, job: { id: 'job_1', retryAt: null } });
        expect(await store.failAttempt({ ...j1, attempt }, 'disk full', true, t + 10)).toBe('queued');
        expect((await store.getJob('job_1'))!.retryAt).toBe(t + 10 + wait);
        expect(await store.claimJob('A', 1000, t + 10 + wait - 1)).toBeNull();
        t += 10 + wait;
      }
      // The seventh failure ends it (max 7 attempts): no retry, no retry_at.
      expect((await store.claimJob('A', 1000, t))!.attempt).toBe(7);
      expect(await store.failAttempt({ ...j1, attempt: 7 }, 'disk full', true, t + 10)).toBe('failed');
      expect(await store.getJob('job_1')).toMatchObject({ state: 'failed', retryAt: null });
      // An interruption (job_2's lease expires) goes back at once; a caller's own back-off is used as given.
      expect(t).toBeLessThan(2_000_200);
      const c = (await store.claimJob('C', 1000, 2_000_300))!;
      expect(c).toMatchObject({ attempt: 2, job: { id: 'job_2', retryAt: null } });
      expect((await store.listAttempts('job_2')).map((x) => x.outcome)).toEqual(['expired', null]);
      expect(await store.failAttempt({ job: 'job_2', attempt: 2, worker: 'C' }, 'boom', true, 2_000_400, false, { firstMs: 50, maxMs: 60 })).toBe('queued');
      expect((await store.getJob('job_2'))!.retryAt).toBe(2_000_450);
    } finally {
      await store.close();
    }
  });

  it("without an explicit time, the back-off runs on the database's clock, whatever the worker's clock says", async () => {
    const store = await storeWithJobs(b, 'backoffclock', 1);
    const realNow = Date.now;
    try {
      const c = (await store.claimJob('A', 60_000))!;
      // The failing worker's clock runs an hour fast, the next one's an hour slow: neither moves the retry.
      Date.now = () => realNow() + 3_600_000;
      const before = await store.dbNow();
      expect(await store.failAttempt({ job: c.job.id, attempt: 1, worker: 'A' }, 'boom', true, undefined, false, { firstMs: 1500, maxMs: 1500 })).toBe('queued');
      const after = await store.dbNow();
      const retryAt = (await store.getJob(c.job.id))!.retryAt!;
      expect(retryAt).toBeGreaterThanOrEqual(before + 1500);
      expect(retryAt).toBeLessThanOrEqual(after + 1500);
      Date.now = () => realNow() - 3_600_000;
      if ((await store.dbNow()) < retryAt - 100) expect(await store.claimJob('B', 60_000)).toBeNull();
      Date.now = realNow;
      while ((await store.dbNow()) <= retryAt) await new Promise((r) => setTimeout(r, 50));
      expect(await store.claimJob('B', 60_000)).toMatchObject({ attempt: 2, job: { id: c.job.id } });
    } finally {
      Date.now = realNow;
      await store.close();
    }
  });

  it("a result's time and its audit's deadline are the database's clock at the write, whatever the worker's clock says", async () => {
    const store = await storeWithJobs(b, 'resultclock', 2);
    const realNow = Date.now;
    try {
      const a = (await store.claimJob('A', 60_000))!;
      const c = (await store.claimJob('B', 60_000))!;
      // A's machine runs a day fast and completes first; B's runs a day slow and completes second.
      Date.now = () => realNow() + 86_400_000;
      const t0 = await store.dbNow();
      expect(await store.completeJob({ job: a.job.id, attempt: 1, worker: 'A' }, { ...result(1), auditMs: 5000 })).toBe(true);
      const t1 = await store.dbNow();
      await new Promise((r) => setTimeout(r, 5));
      Date.now = () => realNow() - 86_400_000;
      expect(await store.completeJob({ job: c.job.id, attempt: 1, worker: 'B' }, result(2))).toBe(true);
      const t2 = await store.dbNow();
      Date.now = realNow;
      const r1 = (await store.getResult('sub_1'))!;
      const r2 = (await store.getResult('sub_2'))!;
      expect(r1.createdAt).toBeGreaterThanOrEqual(t0);
      expect(r1.createdAt).toBeLessThanOrEqual(t1);
      expect(r2.createdAt).toBeGreaterThan(r1.createdAt);
      expect(r2.createdAt).toBeLessThanOrEqual(t2);
      // In the order they were written (by the workers' clocks sub_2 would come a day before sub_1), and both in the last minute.
      expect((await store.listResults('tiny')).map((r) => r.submission)).toEqual(['sub_1', 'sub_2']);
      expect((await store.queueStats()).resultsLastMinute).toBe(2);
      // The audit of sub_1 runs until 5 s after the write, by the same clock; sub_2 has no audit.
      expect(await store.getAudit('sub_1')).toMatchObject({ state: 'running', deadline: r1.createdAt + 5000, scoredAt: r1.createdAt });
      expect(await store.getAudit('sub_2')).toMatchObject({ state: null, deadline: null, scoredAt: r2.createdAt });
    } finally {
      Date.now = realNow;
      await store.close();
    }
  });

  it('without an explicit time, leases are judged by the database\'s clock, whatever this machine\'s clock says', async () => {
    const store = await storeWithJobs(b, 'dbclock', 2);
    const realNow = Date.now;
    try {
      const before = await store.dbNow();
      const c = (await store.claimJob('A', 60_000))!;
      const after = await store.dbNow();
      expect(c.leaseExpiresAt).toBeGreaterThanOrEqual(before + 60_000);
      expect(c.leaseExpiresAt).toBeLessThanOrEqual(after + 60_000);
      const a = { job: c.job.id, attempt: 1, worker: 'A' };
      // A worker whose clock runs 10 minutes fast neither takes A's job over nor finds A's lease gone,
      // and one whose clock runs 10 minutes slow cannot keep a lease alive past its end by it.
      Date.now = () => realNow() + 600_000;
      const b2 = (await store.claimJob('B', 60_000))!;
      expect(b2.job.id).not.toBe(c.job.id);
      expect(await store.renewLease(a, 60_000)).toBe(true);
      Date.now = () => realNow() - 600_000;
      expect(await store.renewLease({ job: b2.job.id, attempt: 1, worker: 'B' }, 1)).toBe(true);
      Date.now = realNow;
      // A 1 ms lease is over by the database's clock after a short wait: the next claim sweeps it.
      await new Promise((r) => setTimeout(r, 30));
      expect(await store.completeJob({ job: b2.job.id, attempt: 1, worker: 'B' }, result(2))).toBe(false);
      expect(await store.claimJob('C', 60_000)).toMatchObject({ job: { id: b2.job.id }, attempt: 2 });
      expect((await store.listAttempts(b2.job.id)).map((x) => x.outcome)).toEqual(['expired', null]);
      expect(await store.completeJob(a, result(1))).toBe(true);
      expect((await store.queueStats()).workersActive).toBe(1);
    } finally {
      Date.now = realNow;
      await store.close();
    }
  });
});
