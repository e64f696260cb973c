/**
 * The job lifecycle (claim under a lease, heartbeat, complete, fail, release) as SQL that both
 * backends run inside their own transaction, so leases mean exactly the same on the embedded
 * DuckDB file and on PostgreSQL. A backend passes its transaction (`SqlTx`, `$n` parameters)
 * and its row locks: PostgreSQL locks the rows a call reads (`FOR UPDATE`, and `SKIP LOCKED`
 * where a claim should pass over a job another worker is taking); DuckDB needs none, since its
 * store runs one call at a time.
 *
 * A write about an attempt is accepted only while its lease is live: the job running as that
 * attempt, held by that worker, and the lease not yet past. So a worker that was paused or cut
 * off past its lease can never write a result or a failure, even before another worker has
 * taken the job over; and `results` has one row per submission, so nothing is scored twice.
 */
import { bytesOf, JOB_COLUMNS, jobRow, num, numOrNull, type Row } from './rows.ts';
import type { AttemptOutcome, AttemptRef, ClaimedJob, FailOutcome, JobState, NewResult, QueueStats, RetryBackoff } from './types.ts';


/** One store call's transaction, as the job SQL needs it. */
export interface SqlTx {
  exec(sql: string, params?: unknown[]): Promise<void>;
  rows(sql: string, params?: unknown[]): Promise<Row[]>;
}

/** Row locks of the backend: ' FOR UPDATE' and ' FOR UPDATE SKIP LOCKED' on PostgreSQL, '' on DuckDB. */
export interface RowLocks {
  forUpdate: string;
  skipLocked: string;
}

export const NO_LOCKS: RowLocks = { forUpdate: '', skipLocked: '' };
export const PG_LOCKS: RowLocks = { forUpdate: ' FOR UPDATE', skipLocked: ' FOR UPDATE SKIP LOCKED' };

/**
 * Attempts that end a job, by kind. A failure is the job's own (an evaluation error, the time
 * limit, the job child crashing) and counts toward the job's max_attempts. An interruption is
 * the machine's (the server stopped mid-evaluation, or a worker's lease ran out: killed,
 * paused, a laptop suspended in class) and does not: a submission is not lost because the
 * server crashed three times. MAX_INTERRUPTIONS still ends a job that keeps taking its server
 * or worker down with it. A released attempt (a worker stopping cleanly) is neither.
 */
const FAILED = "('failed')";
const INTERRUPTED = "('interrupted', 'expired')";
export const MAX_INTERRUPTIONS = 10;

/** A failed job's retry waits 10 s, then 20 s, 40 s, … at most 5 minutes (RetryBackoff). */
export const DEFAULT_RETRY_BACKOFF: RetryBackoff = { firstMs: 10_000, maxMs: 300_000 };

/** The wait before the retry that follows the `failed`-th failed attempt (1, 2, …). */
export function retryDelayMs(failed: number, backoff: RetryBackoff = DEFAULT_RETRY_BACKOFF): number {
  return Math.min(backoff.maxMs, backoff.firstMs * 2 ** Math.max(0, failed - 1));
}

/** A job's failed and interrupted attempts, in order. */
export async function endedAttempts(q: SqlTx, jobId: string): Promise<{ failed: number; interrupted: number; list: string }> {
  const rows = await q.rows(`SELECT attempt, worker, reason, outcome FROM job_attempts WHERE job = $1 AND (outcome IN ${FAILED} OR outcome IN ${INTERRUPTED}) ORDER BY attempt`, [jobId]);
  const failed = rows.filter((a) => a.outcome === 'failed').length;
  return {
    failed,
    interrupted: rows.length - failed,
    list: rows.map((a) => `#${num(a.attempt)} (${(a.worker as string | null) ?? 'server'}): ${a.reason as string}`).join('; '),
  };
}

/** The error of a job that stops after too many interruptions. */
export function interruptedError(interrupted: number, list: string): string {
  return `interrupted ${interrupted} times, the most one job may be (its server or worker stopped during the evaluation each time): ${list}`;
}

/**
 * Ends the job's current attempt (already marked with its outcome) and sends the job back to
 * the queue while it may run again, else to failed with the reasons of all its failing attempts.
 */
/**
 * `charge`: a failure of the entrant's making (their strategy failed): failed at once, and it keeps counting against the quota.
 * `backoff`: the attempt failed (null: it was interrupted): the job is queued again with retry_at = now + the back-off for
 * its failures so far, so a failure that comes from something passing (a full disk, a database hiccup) is not retried
 * into the same state at once; an interrupted job is claimable at once.
 */
async function afterFailingAttempt(
  q: SqlTx, jobId: string, maxAttempts: number, retry: boolean, reason: string, now: number, charge: boolean, backoff: RetryBackoff | null,
): Promise<'queued' | 'failed'> {
  const ended = await endedAttempts(q, jobId);
  if (retry && !charge && ended.failed < maxAttempts && ended.interrupted < MAX_INTERRUPTIONS) {
    const retryAt = backoff && ended.failed > 0 ? now + retryDelayMs(ended.failed, backoff) : null;
    await q.exec("UPDATE jobs SET state = 'queued', error = $2, worker = NULL, lease_expires_at = NULL, retry_at = $3 WHERE id = $1", [jobId, reason, retryAt]);
    return 'queued';
  }
  const error = !retry || charge || ended.failed + ended.interrupted <= 1
    ? reason
    : ended.interrupted >= MAX_INTERRUPTIONS
      ? interruptedError(ended.interrupted, ended.list)
      : `failed in ${ended.failed} attempts${ended.interrupted ? ` (and interrupted in ${ended.interrupted})` : ''}: ${ended.list}`;
  await q.exec("UPDATE jobs SET state = 'failed', error = $2, finished_at = $3, worker = NULL, lease_expires_at = NULL, charged = $4 WHERE id = $1", [jobId, error, now, charge]);
  return 'failed';
}

/** Every running job whose lease has run out: the attempt ends 'expired', the job is queued again or failed. */
async function expireLeases(q: SqlTx, locks: RowLocks, now: number): Promise<void> {
  const expired = await q.rows(`SELECT id, attempts, max_attempts, worker, lease_expires_at FROM jobs WHERE state = 'running' AND lease_expires_at < $1${locks.skipLocked}`, [now]);
  for (const r of expired) {
    const id = r.id as string;
    const reason = `the lease of worker ${(r.worker as string | null) ?? '?'} expired (no heartbeat)`;
    await q.exec("UPDATE job_attempts SET finished_at = $3, outcome = 'expired', reason = $4 WHERE job = $1 AND attempt = $2", [id, num(r.attempts), now, reason]);
    await afterFailingAttempt(q, id, num(r.max_attempts), true, reason, now, false, null);
  }
}

export async function claimJob(q: SqlTx, locks: RowLocks, worker: string, leaseMs: number, now: number): Promise<ClaimedJob | null> {
  await expireLeases(q, locks, now);
  // A job waiting out its retry back-off is passed over until its retry_at, by the same clock as the leases.
  const next = await q.rows(`SELECT id FROM jobs WHERE state = 'queued' AND (retry_at IS NULL OR retry_at <= $1) ORDER BY created_at, id LIMIT 1${locks.skipLocked}`, [now]);
  if (!next.length) return null;
  const id = next[0].id as string;
  const leaseExpiresAt = now + leaseMs;
  const upd = await q.rows(
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = $2, worker = $3, lease_expires_at = $4, retry_at = NULL WHERE id = $1 AND state = 'queued' RETURNING attempts",
    [id, now, worker, leaseExpiresAt],
  );
  if (!upd.length) return null;
  const attempt = num(upd[0].attempts);
  await q.exec('INSERT INTO job_attempts (job, attempt, started_at, finished_at, outcome, reason, worker) VALUES ($1, $2, $3, NULL, NULL, NULL, $4)', [id, attempt, now, worker]);
  const r = await q.rows(
    `SELECT ${JOB_COLUMNS}, s.file_name, s.sha256, s.bytes, s.size, s.created_at AS screated, c.ref, c.spec_sha256
     FROM jobs j JOIN submissions s ON s.id = j.submission JOIN challenges c ON c.name = s.challenge WHERE j.id = $1`, [id]);
  const row = r[0];
  const job = jobRow(row);
  return {
    job,
    attempt,
    leaseExpiresAt,
    challengeRef: row.ref as string,
    challengeSpecSha256: row.spec_sha256 as string,
    submission: {
      id: job.submission, participant: job.participant, challenge: job.challenge, fileName: row.file_name as string,
      sha256: row.sha256 as string, size: num(row.size), createdAt: num(row.screated), bytes: bytesOf(row.bytes),
    },
  };
}

/** The job row of a live lease (locked on PostgreSQL), or null. */
async function live(q: SqlTx, locks: RowLocks, ref: AttemptRef, now: number): Promise<Row | null> {
  const r = await q.rows(
    `SELECT submission, max_attempts FROM jobs WHERE id = $1 AND state = 'running' AND attempts = $2 AND worker = $3 AND lease_expires_at >= $4${locks.forUpdate}`,
    [ref.job, ref.attempt, ref.worker, now],
  );
  return r[0] ?? null;
}

export async function renewLease(q: SqlTx, locks: RowLocks, ref: AttemptRef, leaseMs: number, now: number): Promise<boolean> {
  if (!(await live(q, locks, ref, now))) return false;
  await q.exec('UPDATE jobs SET lease_expires_at = $2 WHERE id = $1', [ref.job, now + leaseMs]);
  return true;
}

/** The result's time and its audit's deadline are `now`, the clock the lease is judged by (the database's): never the worker's. */
export async function completeJob(q: SqlTx, locks: RowLocks, ref: AttemptRef, result: NewResult, now: number): Promise<boolean> {
  const j = await live(q, locks, ref, now);
  if (!j || j.submission !== result.submission) return false;
  if ((await q.rows('SELECT job FROM results WHERE submission = $1', [result.submission])).length) return false;
  const audit = result.auditMs !== undefined;
  await q.exec('INSERT INTO results (submission, job, attempt, primary_public, record, created_at, audit_state, audit_deadline) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [result.submission, ref.job, ref.attempt, result.primaryPublic, result.record, now, audit ? 'running' : null, audit ? now + Math.max(0, Math.round(result.auditMs!)) : null]);
  await q.exec("UPDATE jobs SET state = 'done', error = NULL, finished_at = $2, worker = NULL, lease_expires_at = NULL WHERE id = $1", [ref.job, now]);
  await q.exec("UPDATE job_attempts SET finished_at = $3, outcome = 'done' WHERE job = $1 AND attempt = $2", [ref.job, ref.attempt, now]);
  return true;
}

export async function failAttempt(
  q: SqlTx, locks: RowLocks, ref: AttemptRef, reason: string, retry: boolean, now: number, charge = false, backoff: RetryBackoff = DEFAULT_RETRY_BACKOFF,
): Promise<FailOutcome> {
  const j = await live(q, locks, ref, now);
  if (!j) return 'stale';
  await q.exec("UPDATE job_attempts SET finished_at = $3, outcome = 'failed', reason = $4 WHERE job = $1 AND attempt = $2", [ref.job, ref.attempt, now, reason]);
  return afterFailingAttempt(q, ref.job, num(j.max_attempts), retry, reason, now, charge, backoff);
}

export async function releaseJob(q: SqlTx, locks: RowLocks, ref: AttemptRef, now: number, why = 'stopping'): Promise<boolean> {
  if (!(await live(q, locks, ref, now))) return false;
  await q.exec("UPDATE job_attempts SET finished_at = $3, outcome = 'released', reason = $4 WHERE job = $1 AND attempt = $2",
    [ref.job, ref.attempt, now, `released by worker ${ref.worker} (${why})`]);
  await q.exec("UPDATE jobs SET state = 'queued', worker = NULL, lease_expires_at = NULL WHERE id = $1", [ref.job]);
  return true;
}

export async function queueStats(q: SqlTx, now: number): Promise<QueueStats> {
  const jobs: Record<JobState, number> = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
  for (const r of await q.rows('SELECT state, count(*) AS n FROM jobs GROUP BY state')) jobs[r.state as JobState] = num(r.n);
  const attempts: Record<AttemptOutcome, number> = { done: 0, failed: 0, interrupted: 0, expired: 0, released: 0 };
  for (const r of await q.rows('SELECT outcome, count(*) AS n FROM job_attempts WHERE outcome IS NOT NULL GROUP BY outcome')) {
    if ((r.outcome as string) in attempts) attempts[r.outcome as AttemptOutcome] = num(r.n);
  }
  // A running job whose lease ran out (its worker died) waits to be claimed again, like a queued one.
  const expired = await q.rows("SELECT count(*) AS n FROM jobs WHERE state = 'running' AND lease_expires_at < $1", [now]);
  const oldest = await q.rows("SELECT min(created_at) AS t FROM jobs WHERE state = 'queued' OR (state = 'running' AND lease_expires_at < $1)", [now]);
  const results = await q.rows('SELECT count(*) AS total, count(*) FILTER (WHERE created_at >= $1) AS recent FROM results', [now - 60_000]);
  const workers = await q.rows("SELECT count(DISTINCT worker) AS n FROM jobs WHERE state = 'running' AND lease_expires_at >= $1", [now]);
  return {
    jobs,
    leaseExpired: num(expired[0].n),
    oldestQueuedAt: numOrNull(oldest[0]?.t),
    attempts,
    resultsTotal: num(results[0].total),
    resultsLastMinute: num(results[0].recent),
    workersActive: num(workers[0].n),
  };
}
