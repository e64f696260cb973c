/**
 * The server's state in one embedded DuckDB file (the default backend). One connection, and
 * every store call runs alone under a mutex as one transaction, so calls never interleave and
 * a process killed between two calls leaves the last committed state (DuckDB's write-ahead log
 * makes a commit durable). DuckDB lets one process open a file for writing, so a second server
 * on the same file is refused by DuckDB itself.
 */
import { blobValue, DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { SieveError } from '../../util/errors.ts';
import { DIALECTS, pendingMigrations, SCHEMA_VERSION, SCHEMA_VERSION_TABLE } from './migrations.ts';
import {
  actionRow, actionsLimit, attemptRow, challengeRow, COUNTING, JOB_COLUMNS, jobRow, num, numOrNull, participantRow, phaseRow, resultRow, submissionRow, type Row,
} from './rows.ts';
import * as jobs from './jobs-sql.ts';
import { NO_LOCKS } from './jobs-sql.ts';
import type {
  ActionRow, AttemptRef, AttemptRow, ChallengeRow, ClaimedJob, FailOutcome, JobRow, JobState, NewSubmission, ParticipantRole, ParticipantRow, PhaseRow,
  QueueStats, Quota, ResultRow, ServerStore, SubmissionRow, SubmitOutcome,
} from './types.ts';

export class DuckDbStore implements ServerStore {
  readonly schemaVersion = SCHEMA_VERSION;
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
  private run<T>(fn: (q: Query) => Promise<T>, tx = true): Promise<T> {
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
  }

  async currentVersion(): Promise<number> {
    return this.run(async (q) => {
      const t = await q.rows("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'schema_version'");
      if (num(t[0].n) === 0) return 0;
      const r = await q.rows('SELECT max(version) AS v FROM schema_version');
      return numOrNull(r[0].v) ?? 0;
    }, false);
  }

  async migrate(): Promise<number> {
    for (const m of pendingMigrations(await this.currentVersion(), this.path)) {
      await this.run(async (q) => {
        if (m.version === 1) await q.exec(SCHEMA_VERSION_TABLE);
        for (const stmt of m.statements(DIALECTS.duckdb)) await q.exec(stmt);
        await q.exec('INSERT INTO schema_version VALUES ($1, $2)', [m.version, Date.now()]);
      });
    }
    return this.schemaVersion;
  }

  async close(): Promise<void> {
    await this.tail.catch(() => {});
    this.conn.closeSync();
    this.instance.closeSync();
  }

  putChallenge(row: ChallengeRow, phase: Omit<PhaseRow, 'challenge' | 'name'>): Promise<void> {
    return this.run(async (q) => {
      const had = await q.rows('SELECT name FROM challenges WHERE name = $1', [row.name]);
      if (had.length) {
        await q.exec('UPDATE challenges SET ref = $2, version = $3, spec_sha256 = $4, title = $5, task = $6 WHERE name = $1',
          [row.name, row.ref, row.version, row.specSha256, row.title, row.task]);
      } else {
        await DuckDbStore.insertChallenge(q, row, phase);
      }
    });
  }

  private static async insertChallenge(q: Query, row: ChallengeRow, phase: Omit<PhaseRow, 'challenge' | 'name'>): Promise<void> {
    await q.exec('INSERT INTO challenges (name, ref, version, spec_sha256, title, task, state, added_at, origin) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
      [row.name, row.ref, row.version, row.specSha256, row.title, row.task, row.state, Date.now(), row.origin]);
    await q.exec("INSERT INTO phases VALUES ($1, 'main', $2, $3)", [row.name, phase.opensAt, phase.closesAt]);
  }

  private static async logAction(q: Query, a: ActionRow): Promise<void> {
    await q.exec('INSERT INTO actions VALUES ($1, $2, $3, $4, $5, $6)', [a.id, a.at, a.actor, a.action, a.challenge, a.detail]);
  }

  createChallenge(row: ChallengeRow, phase: Omit<PhaseRow, 'challenge' | 'name'>, action: ActionRow): Promise<boolean> {
    return this.run(async (q) => {
      if ((await q.rows('SELECT name FROM challenges WHERE name = $1', [row.name])).length) return false;
      await DuckDbStore.insertChallenge(q, row, phase);
      await DuckDbStore.logAction(q, action);
      return true;
    });
  }

  setChallengeState(name: string, state: ChallengeRow['state'], action: ActionRow): Promise<'ok' | 'not-found'> {
    return this.run(async (q) => {
      const upd = await q.rows('UPDATE challenges SET state = $2 WHERE name = $1 RETURNING name', [name, state]);
      if (!upd.length) return 'not-found';
      await DuckDbStore.logAction(q, action);
      return 'ok';
    });
  }

  putPhase(phase: PhaseRow, action: ActionRow): Promise<'ok' | 'not-found'> {
    return this.run(async (q) => {
      if (!(await q.rows('SELECT name FROM challenges WHERE name = $1', [phase.challenge])).length) return 'not-found';
      const upd = await q.rows('UPDATE phases SET opens_at = $3, closes_at = $4 WHERE challenge = $1 AND name = $2 RETURNING name',
        [phase.challenge, phase.name, phase.opensAt, phase.closesAt]);
      if (!upd.length) await q.exec('INSERT INTO phases VALUES ($1, $2, $3, $4)', [phase.challenge, phase.name, phase.opensAt, phase.closesAt]);
      await DuckDbStore.logAction(q, action);
      return 'ok';
    });
  }

  listActions(filter: { challenge?: string; limit?: number }): Promise<ActionRow[]> {
    return this.run(async (q) => {
      const limit = actionsLimit(filter.limit);
      const rows = filter.challenge
        ? await q.rows(`SELECT * FROM actions WHERE challenge = $1 ORDER BY acted_at DESC, id DESC LIMIT ${limit}`, [filter.challenge])
        : await q.rows(`SELECT * FROM actions ORDER BY acted_at DESC, id DESC LIMIT ${limit}`);
      return rows.map(actionRow);
    }, false);
  }

  listChallenges(): Promise<ChallengeRow[]> {
    return this.run(async (q) => (await q.rows('SELECT * FROM challenges ORDER BY name')).map(challengeRow), false);
  }

  getChallenge(name: string): Promise<ChallengeRow | null> {
    return this.run(async (q) => {
      const r = await q.rows('SELECT * FROM challenges WHERE name = $1', [name]);
      return r.length ? challengeRow(r[0]) : null;
    }, false);
  }

  listPhases(challenge: string): Promise<PhaseRow[]> {
    return this.run(async (q) => (await q.rows('SELECT * FROM phases WHERE challenge = $1 ORDER BY name', [challenge]))
      .map(phaseRow), false);
  }

  addParticipant(row: ParticipantRow): Promise<boolean> {
    return this.run(async (q) => {
      const taken = await q.rows('SELECT id FROM participants WHERE name = $1', [row.name]);
      if (taken.length) return false;
      await q.exec('INSERT INTO participants VALUES ($1, $2, $3, $4, $5, $6)', [row.id, row.name, row.role, row.tokenSalt, row.tokenHash, row.createdAt]);
      return true;
    });
  }

  getParticipant(id: string): Promise<ParticipantRow | null> {
    return this.run(async (q) => {
      const r = await q.rows('SELECT * FROM participants WHERE id = $1', [id]);
      return r.length ? participantRow(r[0]) : null;
    }, false);
  }

  countParticipants(role?: ParticipantRole): Promise<number> {
    return this.run(async (q) => {
      const r = role ? await q.rows('SELECT count(*) AS n FROM participants WHERE role = $1', [role]) : await q.rows('SELECT count(*) AS n FROM participants');
      return num(r[0].n);
    }, false);
  }

  private static async used(q: Query, participant: string, challenge: string, dayStart: number): Promise<{ total: number; today: number }> {
    const r = await q.rows(
      `SELECT count(*) AS total, count(*) FILTER (WHERE s.created_at >= $3) AS today
       FROM submissions s JOIN jobs j ON j.submission = s.id
       WHERE s.participant = $1 AND s.challenge = $2 AND j.state IN ${COUNTING}`,
      [participant, challenge, dayStart],
    );
    return { total: num(r[0].total), today: num(r[0].today) };
  }

  quotaUsed(participant: string, challenge: string, dayStart: number): Promise<{ total: number; today: number }> {
    return this.run((q) => DuckDbStore.used(q, participant, challenge, dayStart), false);
  }

  submit(sub: NewSubmission, job: { id: string; maxAttempts: number }, quota: Quota): Promise<SubmitOutcome> {
    return this.run(async (q) => {
      const used = await DuckDbStore.used(q, sub.participant, sub.challenge, quota.dayStart);
      if (quota.total !== undefined && used.total >= quota.total) return { ok: false, limit: 'total', used: used.total, cap: quota.total };
      if (quota.perDay !== undefined && used.today >= quota.perDay) return { ok: false, limit: 'per-day', used: used.today, cap: quota.perDay };
      await q.exec('INSERT INTO submissions VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [sub.id, sub.participant, sub.challenge, sub.fileName, sub.sha256, blobValue(sub.bytes), sub.bytes.length, sub.createdAt]);
      await q.exec("INSERT INTO jobs (id, submission, state, attempts, max_attempts, error, created_at, started_at, finished_at) VALUES ($1, $2, 'queued', 0, $3, NULL, $4, NULL, NULL)",
        [job.id, sub.id, job.maxAttempts, sub.createdAt]);
      return { ok: true };
    });
  }

  getSubmission(id: string): Promise<SubmissionRow | null> {
    return this.run(async (q) => {
      const r = await q.rows('SELECT id, participant, challenge, file_name, sha256, size, created_at FROM submissions WHERE id = $1', [id]);
      return r.length ? submissionRow(r[0]) : null;
    }, false);
  }

  listSubmissions(filter: { participant?: string; challenge?: string }): Promise<(SubmissionRow & { job: JobRow; primaryPublic: number | null })[]> {
    return this.run(async (q) => {
      const where: string[] = [];
      const params: DuckDBValue[] = [];
      if (filter.participant) { params.push(filter.participant); where.push(`s.participant = $${params.length}`); }
      if (filter.challenge) { params.push(filter.challenge); where.push(`s.challenge = $${params.length}`); }
      const rows = await q.rows(
        `SELECT s.id AS sid, s.participant AS sp, s.challenge AS sc, s.file_name, s.sha256, s.size, s.created_at AS screated, r.primary_public, ${JOB_COLUMNS}
         FROM submissions s JOIN jobs j ON j.submission = s.id LEFT JOIN results r ON r.submission = s.id
         ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY s.created_at, s.id`, params);
      return rows.map((r) => ({
        ...submissionRow({ ...r, id: r.sid, participant: r.sp, challenge: r.sc, created_at: r.screated }),
        job: jobRow(r),
        primaryPublic: r.primary_public === null ? null : (r.primary_public as number),
      }));
    }, false);
  }

  claimJob(worker: string, leaseMs: number, now: number): Promise<ClaimedJob | null> {
    return this.run((q) => jobs.claimJob(q, NO_LOCKS, worker, leaseMs, now));
  }

  renewLease(ref: AttemptRef, leaseMs: number, now: number): Promise<boolean> {
    return this.run((q) => jobs.renewLease(q, NO_LOCKS, ref, leaseMs, now));
  }

  completeJob(ref: AttemptRef, result: Omit<ResultRow, 'job' | 'attempt'>, now: number): Promise<boolean> {
    return this.run((q) => jobs.completeJob(q, NO_LOCKS, ref, result, now));
  }

  failAttempt(ref: AttemptRef, reason: string, retry: boolean, now: number): Promise<FailOutcome> {
    return this.run((q) => jobs.failAttempt(q, NO_LOCKS, ref, reason, retry, now));
  }

  releaseJob(ref: AttemptRef, now: number): Promise<boolean> {
    return this.run((q) => jobs.releaseJob(q, NO_LOCKS, ref, now));
  }

  queueStats(now: number): Promise<QueueStats> {
    return this.run((q) => jobs.queueStats(q, now), false);
  }

  cancelJob(jobId: string, participant: string, now: number): Promise<'cancelled' | 'not-queued' | 'not-found'> {
    return this.run(async (q) => {
      const r = await q.rows('SELECT j.state FROM jobs j JOIN submissions s ON s.id = j.submission WHERE j.id = $1 AND s.participant = $2', [jobId, participant]);
      if (!r.length) return 'not-found';
      if (r[0].state !== 'queued') return 'not-queued';
      await q.exec("UPDATE jobs SET state = 'cancelled', error = 'cancelled by the participant', finished_at = $2 WHERE id = $1", [jobId, now]);
      return 'cancelled';
    });
  }

  recoverInterrupted(now: number): Promise<{ requeued: number; failed: number }> {
    return this.run(async (q) => {
      const running = await q.rows("SELECT id, attempts, max_attempts FROM jobs WHERE state = 'running'");
      let requeued = 0, failed = 0;
      for (const r of running) {
        const id = r.id as string, attempts = num(r.attempts);
        await q.exec("UPDATE job_attempts SET finished_at = $3, outcome = 'interrupted', reason = 'the server stopped during the evaluation' WHERE job = $1 AND attempt = $2", [id, attempts, now]);
        if (attempts < num(r.max_attempts)) {
          await q.exec("UPDATE jobs SET state = 'queued', worker = NULL, lease_expires_at = NULL WHERE id = $1", [id]);
          requeued++;
        } else {
          await q.exec("UPDATE jobs SET state = 'failed', error = $2, finished_at = $3, worker = NULL, lease_expires_at = NULL WHERE id = $1",
            [id, `interrupted in each of its ${attempts} attempts (the server stopped during the evaluation)`, now]);
          failed++;
        }
      }
      return { requeued, failed };
    });
  }

  getJob(id: string): Promise<JobRow | null> {
    return this.run(async (q) => {
      const r = await q.rows(`SELECT ${JOB_COLUMNS} FROM jobs j JOIN submissions s ON s.id = j.submission WHERE j.id = $1`, [id]);
      return r.length ? jobRow(r[0]) : null;
    }, false);
  }

  listAttempts(job: string): Promise<AttemptRow[]> {
    return this.run(async (q) => (await q.rows('SELECT * FROM job_attempts WHERE job = $1 ORDER BY attempt', [job])).map(attemptRow), false);
  }

  countJobs(): Promise<Record<JobState, number>> {
    return this.run(async (q) => {
      const out: Record<JobState, number> = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
      for (const r of await q.rows('SELECT state, count(*) AS n FROM jobs GROUP BY state')) out[r.state as JobState] = num(r.n);
      return out;
    }, false);
  }

  getResult(submission: string): Promise<ResultRow | null> {
    return this.run(async (q) => {
      const r = await q.rows('SELECT * FROM results WHERE submission = $1', [submission]);
      return r.length ? resultRow(r[0]) : null;
    }, false);
  }

  listResults(challenge: string): Promise<(ResultRow & { participant: string; participantName: string; submittedAt: number })[]> {
    return this.run(async (q) => (await q.rows(
      `SELECT r.*, s.participant, s.created_at AS submitted_at, p.name AS participant_name FROM results r JOIN submissions s ON s.id = r.submission
       JOIN participants p ON p.id = s.participant WHERE s.challenge = $1 ORDER BY r.created_at, r.submission`, [challenge],
    )).map((r) => ({ ...resultRow(r), participant: r.participant as string, participantName: r.participant_name as string, submittedAt: num(r.submitted_at) })), false);
  }
}

/** One store call's SQL: statements with $n parameters. */
class Query implements jobs.SqlTx {
  constructor(private readonly conn: DuckDBConnection) {}
  async exec(sql: string, params: unknown[] = []): Promise<void> {
    await this.conn.run(sql, params as DuckDBValue[]);
  }
  async rows(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.conn.runAndReadAll(sql, params as DuckDBValue[])).getRowObjects() as Row[];
  }
}
