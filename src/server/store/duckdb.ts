/**
 * The server's state in one embedded DuckDB file (the default backend). One connection, and
 * every store call runs alone under a mutex as one transaction, so calls never interleave and
 * a process killed between two calls leaves the last committed state (DuckDB's write-ahead log
 * makes a commit durable). DuckDB lets one process open a file for writing, so a second server
 * on the same file is refused by DuckDB itself. The SQL is the one both backends run
 * (store-sql.ts, jobs-sql.ts); calls that never overlap need no row locks.
 */
import { blobValue, DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { SieveError } from '../../util/errors.ts';
import * as jobs from './jobs-sql.ts';
import { DIALECTS, SCHEMA_VERSION } from './migrations.ts';
import * as sql from './store-sql.ts';
import type { Row } from './rows.ts';
import type {
  ActionRow, AttemptRef, AttemptRow, ChallengeRow, ClaimedJob, FailOutcome, JobRow, JobState, NewSubmission, ParticipantRole, ParticipantRow, PhaseRow,
  QueueStats, Quota, ResultRow, ServerStore, SubmissionRow, SubmitOutcome,
} from './types.ts';

const LOCKS: sql.StoreLocks = { ...jobs.NO_LOCKS, byKey: null };

export class DuckDbStore implements ServerStore {
  readonly schemaVersion = SCHEMA_VERSION;
  /** No other process can open the file while this one has it: every job running at start-up was this server's. */
  readonly exclusive = true;
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(private readonly instance: DuckDBInstance, private readonly conn: DuckDBConnection, readonly path: string) {}

  static async open(path: string): Promise<DuckDbStore> {
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, { threads: '2' });
    } catch (err) {
      const msg = (err as Error).message.split('\n')[0];
      throw new SieveError(`cannot open the server database: ${msg}`, {
        where: path,
        examples: /lock/i.test(msg) ? ['another sieve serve (or another program) has this file open'] : [],
      });
    }
    return new DuckDbStore(instance, await instance.connect(), path);
  }

  /** Runs `fn` alone (no other store call in between), inside BEGIN … COMMIT unless `tx` is false. */
  private readonly run: sql.RunTx = <T>(fn: (q: jobs.SqlTx) => Promise<T>, tx = true): Promise<T> => {
    const go = async () => {
      const q = new Query(this.conn);
      if (!tx) return fn(q);
      await this.conn.run('BEGIN TRANSACTION');
      try {
        const out = await fn(q);
        await this.conn.run('COMMIT');
        return out;
      } catch (err) {
        await this.conn.run('ROLLBACK').catch(() => {});
        throw err;
      }
    };
    const p = this.tail.then(go, go);
    this.tail = p.catch(() => {});
    return p;
  };

  async currentVersion(): Promise<number> {
    return this.run((q) => sql.currentVersion(q), false);
  }

  async migrate(): Promise<number> {
    await sql.migrate(this.run, LOCKS, DIALECTS.duckdb, this.path);
    return this.schemaVersion;
  }

  async close(): Promise<void> {
    await this.tail.catch(() => {});
    this.conn.closeSync();
    this.instance.closeSync();
  }

  putChallenge(row: ChallengeRow, phase: Omit<PhaseRow, 'challenge' | 'name'>): Promise<void> {
    return this.run((q) => sql.putChallenge(q, LOCKS, row, phase));
  }
  createChallenge(row: ChallengeRow, phase: Omit<PhaseRow, 'challenge' | 'name'>, action: ActionRow): Promise<boolean> {
    return this.run((q) => sql.createChallenge(q, LOCKS, row, phase, action));
  }
  setChallengeState(name: string, state: ChallengeRow['state'], action: ActionRow): Promise<'ok' | 'not-found'> {
    return this.run((q) => sql.setChallengeState(q, name, state, action));
  }
  putPhase(phase: PhaseRow, action: ActionRow): Promise<'ok' | 'not-found'> {
    return this.run((q) => sql.putPhase(q, LOCKS, phase, action));
  }
  listActions(filter: { challenge?: string; limit?: number }): Promise<ActionRow[]> {
    return this.run((q) => sql.listActions(q, filter), false);
  }
  listChallenges(): Promise<ChallengeRow[]> {
    return this.run((q) => sql.listChallenges(q), false);
  }
  getChallenge(name: string): Promise<ChallengeRow | null> {
    return this.run((q) => sql.getChallenge(q, name), false);
  }
  listPhases(challenge: string): Promise<PhaseRow[]> {
    return this.run((q) => sql.listPhases(q, challenge), false);
  }

  addParticipant(row: ParticipantRow): Promise<boolean> {
    return this.run((q) => sql.addParticipant(q, LOCKS, row));
  }
  getParticipant(id: string): Promise<ParticipantRow | null> {
    return this.run((q) => sql.getParticipant(q, id), false);
  }
  countParticipants(role?: ParticipantRole): Promise<number> {
    return this.run((q) => sql.countParticipants(q, role), false);
  }

  submit(sub: NewSubmission, job: { id: string; maxAttempts: number }, quota: Quota): Promise<SubmitOutcome> {
    return this.run((q) => sql.submit(q, LOCKS, sub, job, quota));
  }
  quotaUsed(participant: string, challenge: string, dayStart: number): Promise<{ total: number; today: number }> {
    return this.run((q) => sql.quotaUsed(q, participant, challenge, dayStart), false);
  }
  getSubmission(id: string): Promise<SubmissionRow | null> {
    return this.run((q) => sql.getSubmission(q, id), false);
  }
  listSubmissions(filter: { participant?: string; challenge?: string }): Promise<(SubmissionRow & { job: JobRow; primaryPublic: number | null })[]> {
    return this.run((q) => sql.listSubmissions(q, filter), false);
  }

  claimJob(worker: string, leaseMs: number, now: number): Promise<ClaimedJob | null> {
    return this.run((q) => jobs.claimJob(q, LOCKS, worker, leaseMs, now));
  }
  renewLease(ref: AttemptRef, leaseMs: number, now: number): Promise<boolean> {
    return this.run((q) => jobs.renewLease(q, LOCKS, ref, leaseMs, now));
  }
  completeJob(ref: AttemptRef, result: Omit<ResultRow, 'job' | 'attempt'>, now: number): Promise<boolean> {
    return this.run((q) => jobs.completeJob(q, LOCKS, ref, result, now));
  }
  failAttempt(ref: AttemptRef, reason: string, retry: boolean, now: number, charge = false): Promise<FailOutcome> {
    return this.run((q) => jobs.failAttempt(q, LOCKS, ref, reason, retry, now, charge));
  }
  releaseJob(ref: AttemptRef, now: number): Promise<boolean> {
    return this.run((q) => jobs.releaseJob(q, LOCKS, ref, now));
  }
  queueStats(now: number): Promise<QueueStats> {
    return this.run((q) => jobs.queueStats(q, now), false);
  }
  cancelJob(jobId: string, participant: string, now: number): Promise<'cancelled' | 'not-queued' | 'not-found'> {
    return this.run((q) => sql.cancelJob(q, LOCKS, jobId, participant, now));
  }
  recoverInterrupted(now: number): Promise<{ requeued: number; failed: number }> {
    return this.run((q) => sql.recoverInterrupted(q, LOCKS, now));
  }
  getJob(id: string): Promise<JobRow | null> {
    return this.run((q) => sql.getJob(q, id), false);
  }
  listAttempts(job: string): Promise<AttemptRow[]> {
    return this.run((q) => sql.listAttempts(q, job), false);
  }
  countJobs(): Promise<Record<JobState, number>> {
    return this.run((q) => sql.countJobs(q), false);
  }

  getResult(submission: string): Promise<ResultRow | null> {
    return this.run((q) => sql.getResult(q, submission), false);
  }
  listResults(challenge: string): Promise<(ResultRow & { participant: string; participantName: string; submittedAt: number })[]> {
    return this.run((q) => sql.listResults(q, challenge), false);
  }
}

/** One store call's SQL: statements with $n parameters, bytes sent as a BLOB. */
class Query implements jobs.SqlTx {
  constructor(private readonly conn: DuckDBConnection) {}
  private static params(params: unknown[]): DuckDBValue[] {
    return params.map((v) => (v instanceof Uint8Array ? blobValue(v) : v)) as DuckDBValue[];
  }
  async exec(text: string, params: unknown[] = []): Promise<void> {
    await this.conn.run(text, Query.params(params));
  }
  async rows(text: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.conn.runAndReadAll(text, Query.params(params))).getRowObjects() as Row[];
  }
}
