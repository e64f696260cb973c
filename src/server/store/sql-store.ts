/**
 * The ServerStore both backends share: every store call written once, as the SQL of
 * store-sql.ts and jobs-sql.ts run in one transaction of the backend. A backend (duckdb.ts,
 * postgres.ts) gives only what truly differs: how it connects and closes, how it runs one call
 * in a transaction (`run`: DuckDB one call at a time under a mutex, PostgreSQL a pooled
 * connection with retries on deadlock), its locks (none on DuckDB; row locks and advisory locks
 * on PostgreSQL), its schema dialect, and whether the database is the process's alone.
 */
import * as jobs from './jobs-sql.ts';
import { SCHEMA_VERSION, type Dialect } from './migrations.ts';
import { StoreOutdated } from './types.ts';
import * as sql from './store-sql.ts';
import type {
  ActionRow, AttemptRef, AuditOutcome, AuditRow, AttemptRow, ChallengeRow, ClaimedJob, FailOutcome, JobRow, JobState, NewResult, NewSubmission, ParticipantRole, ParticipantRow, PhaseRow,
  QueueStats, Quota, ResultRow, RetryBackoff, ServerStore, SubmissionRow, SubmitOutcome,
} from './types.ts';

/** How often (ms) a store call checks that no newer sieve has upgraded the schema under it. */
export const SCHEMA_CHECK_MS = 2000;

export abstract class SqlStore implements ServerStore {
  readonly schemaVersion = SCHEMA_VERSION;
  abstract readonly exclusive: boolean;
  /** Where the database is, for messages (a file path, or a URL without its password). */
  abstract readonly location: string;

  /** What the backend's SQL calls need to hold while they check and write (see StoreLocks). */
  protected abstract readonly locks: sql.StoreLocks;
  /** The backend's spelling of the schema's types. */
  protected abstract readonly dialect: Dialect;
  /** Runs one store call: inside BEGIN … COMMIT unless `tx` is false (a read that needs none). */
  protected abstract readonly run: sql.RunTx;

  abstract close(): Promise<void>;

  currentVersion(): Promise<number> {
    return this.run((q) => sql.currentVersion(q), false);
  }

  async migrate(): Promise<number> {
    await sql.migrate(this.run, this.locks, this.dialect, this.location);
    return this.schemaVersion;
  }

  private schemaCheckedAt = -Infinity;
  /**
   * `run` for every call but the schema's own: a database a newer sieve has upgraded since this
   * process started (its schema_version above this sieve's) is written to no more. Checked at
   * most every SCHEMA_CHECK_MS; until a restart with the newer sieve, every call then fails.
   */
  protected readonly guarded: sql.RunTx = async (fn, tx = true) => {
    if (Date.now() - this.schemaCheckedAt >= SCHEMA_CHECK_MS) {
      const have = await this.run((q) => sql.currentVersion(q), false);
      if (have > this.schemaVersion)
        throw new StoreOutdated(`the database at ${this.location} has schema version ${have}, written by a newer sieve; this process (schema ${this.schemaVersion}) no longer reads or writes it: upgrade sieve here and restart`, {
          where: this.location,
        });
      this.schemaCheckedAt = Date.now();
    }
    return this.run(fn, tx);
  };

  putChallenge(row: ChallengeRow, phase: Omit<PhaseRow, 'challenge' | 'name'>): Promise<void> {
    return this.guarded((q) => sql.putChallenge(q, this.locks, row, phase));
  }
  createChallenge(row: ChallengeRow, phase: Omit<PhaseRow, 'challenge' | 'name'>, action: ActionRow): Promise<boolean> {
    return this.guarded((q) => sql.createChallenge(q, this.locks, row, phase, action));
  }
  setChallengeState(name: string, state: ChallengeRow['state'], action: ActionRow): Promise<'ok' | 'not-found'> {
    return this.guarded((q) => sql.setChallengeState(q, name, state, action));
  }
  putPhase(phase: PhaseRow, action: ActionRow): Promise<'ok' | 'not-found'> {
    return this.guarded((q) => sql.putPhase(q, this.locks, phase, action));
  }
  listActions(filter: { challenge?: string; limit?: number }): Promise<ActionRow[]> {
    return this.guarded((q) => sql.listActions(q, filter), false);
  }
  listChallenges(): Promise<ChallengeRow[]> {
    return this.guarded((q) => sql.listChallenges(q), false);
  }
  getChallenge(name: string): Promise<ChallengeRow | null> {
    return this.guarded((q) => sql.getChallenge(q, name), false);
  }
  listPhases(challenge: string): Promise<PhaseRow[]> {
    return this.guarded((q) => sql.listPhases(q, challenge), false);
  }

  addParticipant(row: ParticipantRow): Promise<boolean> {
    return this.guarded((q) => sql.addParticipant(q, this.locks, row));
  }
  getParticipant(id: string): Promise<ParticipantRow | null> {
    return this.guarded((q) => sql.getParticipant(q, id), false);
  }
  countParticipants(role?: ParticipantRole): Promise<number> {
    return this.guarded((q) => sql.countParticipants(q, role), false);
  }
  listParticipants(role?: ParticipantRole): Promise<ParticipantRow[]> {
    return this.guarded((q) => sql.listParticipants(q, role), false);
  }
  removeParticipant(id: string, role: ParticipantRole): Promise<boolean> {
    return this.guarded((q) => sql.removeParticipant(q, id, role));
  }
  setParticipantToken(id: string, salt: string, hash: string, action: ActionRow): Promise<boolean> {
    return this.guarded((q) => sql.setParticipantToken(q, id, salt, hash, action));
  }

  dbNow(): Promise<number> {
    return this.guarded((q) => this.clock(q), false);
  }
  /** `now` when a caller (a test) gives one, else the database's clock. */
  private async clock(q: jobs.SqlTx, now?: number): Promise<number> {
    if (now !== undefined) return now;
    const r = await q.rows(`SELECT ${this.dialect.nowMs} AS t`);
    return Number(r[0].t);
  }

  submit(sub: NewSubmission, job: { id: string; maxAttempts: number }, quota: Quota): Promise<SubmitOutcome> {
    return this.guarded((q) => sql.submit(q, this.locks, sub, job, quota));
  }
  quotaUsed(participant: string, challenge: string, dayStart: number): Promise<{ total: number; today: number }> {
    return this.guarded((q) => sql.quotaUsed(q, participant, challenge, dayStart), false);
  }
  getSubmission(id: string): Promise<SubmissionRow | null> {
    return this.guarded((q) => sql.getSubmission(q, id), false);
  }
  listSubmissions(filter: { participant?: string; challenge?: string }): Promise<(SubmissionRow & { job: JobRow; primaryPublic: number | null })[]> {
    return this.guarded((q) => sql.listSubmissions(q, filter), false);
  }

  // The lease calls judge leases by the database's clock unless a test passes its own `now`.
  claimJob(worker: string, leaseMs: number, now?: number): Promise<ClaimedJob | null> {
    return this.guarded(async (q) => jobs.claimJob(q, this.locks, worker, leaseMs, await this.clock(q, now)));
  }
  renewLease(ref: AttemptRef, leaseMs: number, now?: number): Promise<boolean> {
    return this.guarded(async (q) => jobs.renewLease(q, this.locks, ref, leaseMs, await this.clock(q, now)));
  }
  completeJob(ref: AttemptRef, result: NewResult, now?: number): Promise<boolean> {
    return this.guarded(async (q) => jobs.completeJob(q, this.locks, ref, result, await this.clock(q, now)));
  }
  failAttempt(ref: AttemptRef, reason: string, retry: boolean, now?: number, charge = false, backoff?: RetryBackoff): Promise<FailOutcome> {
    return this.guarded(async (q) => jobs.failAttempt(q, this.locks, ref, reason, retry, await this.clock(q, now), charge, backoff));
  }
  releaseJob(ref: AttemptRef, now?: number, why?: string): Promise<boolean> {
    return this.guarded(async (q) => jobs.releaseJob(q, this.locks, ref, await this.clock(q, now), why));
  }
  queueStats(now?: number): Promise<QueueStats> {
    return this.guarded(async (q) => jobs.queueStats(q, await this.clock(q, now)), false);
  }
  cancelJob(jobId: string, participant: string, now: number): Promise<'cancelled' | 'not-queued' | 'not-found'> {
    return this.guarded((q) => sql.cancelJob(q, this.locks, jobId, participant, now));
  }
  recoverInterrupted(now: number): Promise<{ requeued: number; failed: number }> {
    return this.guarded((q) => sql.recoverInterrupted(q, this.locks, now));
  }
  getJob(id: string): Promise<JobRow | null> {
    return this.guarded((q) => sql.getJob(q, id), false);
  }
  listAttempts(job: string): Promise<AttemptRow[]> {
    return this.guarded((q) => sql.listAttempts(q, job), false);
  }
  countJobs(): Promise<Record<JobState, number>> {
    return this.guarded((q) => sql.countJobs(q), false);
  }

  getResult(submission: string): Promise<ResultRow | null> {
    return this.guarded((q) => sql.getResult(q, submission), false);
  }
  setAudit(submission: string, outcome: AuditOutcome): Promise<boolean> {
    return this.guarded((q) => sql.setAudit(q, submission, outcome));
  }
  getAudit(submission: string): Promise<AuditRow | null> {
    return this.guarded((q) => sql.getAudit(q, submission), false);
  }
  listResults(challenge: string): Promise<(ResultRow & { participant: string; participantName: string; submittedAt: number })[]> {
    return this.guarded((q) => sql.listResults(q, challenge), false);
  }
}
