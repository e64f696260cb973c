/**
 * The store calls other than the job lifecycle (that is jobs-sql.ts): migrations, challenges and
 * their phases, the organiser actions, participants, submissions with their quota, cancelling,
 * recovery at start-up, and the reads, as SQL both backends run inside their own transaction,
 * so the two backends mean the same. A backend passes its transaction (`SqlTx`) and its locks:
 * PostgreSQL runs many calls at once, so a check-then-write (a name still free, a quota not yet
 * used up) first takes a lock on what it checks (`byKey`: an advisory lock held until commit,
 * or the row itself `FOR UPDATE`); DuckDB's store runs one call at a time and needs none.
 */
import { participantNameKey } from '../names.ts';
import { pendingMigrations, SCHEMA_VERSION_TABLE, type Dialect } from './migrations.ts';
import { endedAttempts, interruptedError, MAX_INTERRUPTIONS, type RowLocks, type SqlTx } from './jobs-sql.ts';
import {
  actionRow, actionsLimit, attemptRow, challengeRow, COUNTING, JOB_COLUMNS, jobRow, num, numOrNull, participantRow, phaseRow, resultRow, submissionRow,
} from './rows.ts';
import type {
  ActionRow, AttemptRow, AuditOutcome, AuditRow, AuditState, ChallengeRow, JobRow, JobState, NewSubmission, ParticipantRole, ParticipantRow, PhaseRow, Quota, ResultRow, SubmissionRow, SubmitOutcome,
} from './types.ts';

export interface StoreLocks extends RowLocks {
  /** Holds `key` until the transaction ends, so two calls checking the same thing run one after the other; null: not needed. */
  byKey: ((q: SqlTx, key: string) => Promise<void>) | null;
}

/** Every call in one transaction (`tx` false: a read that needs none). */
export type RunTx = <T>(fn: (q: SqlTx) => Promise<T>, tx?: boolean) => Promise<T>;

const lock = (q: SqlTx, locks: StoreLocks, key: string) => locks.byKey?.(q, `sieve:${key}`);

export async function currentVersion(q: SqlTx): Promise<number> {
  const t = await q.rows("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'schema_version' AND table_schema = current_schema()");
  if (num(t[0].n) === 0) return 0;
  const r = await q.rows('SELECT max(version) AS v FROM schema_version');
  return numOrNull(r[0].v) ?? 0;
}

/**
 * Runs the migrations the database lacks, each in its own transaction with its schema_version
 * row. Under `byKey` (two processes starting on one database) each transaction takes the same
 * lock and checks the version again inside, so a migration never runs twice.
 */
export async function migrate(run: RunTx, locks: StoreLocks, dialect: Dialect, where: string): Promise<void> {
  for (const m of pendingMigrations(await run((q) => currentVersion(q), false), where)) {
    await run(async (q) => {
      await lock(q, locks, 'migrate');
      if ((await currentVersion(q)) >= m.version) return;
      if (m.version === 1) await q.exec(SCHEMA_VERSION_TABLE);
      for (const stmt of m.statements(dialect)) await q.exec(stmt);
      await q.exec('INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)', [m.version, Date.now()]);
    });
  }
}

async function insertChallenge(q: SqlTx, row: ChallengeRow, phase: Omit<PhaseRow, 'challenge' | 'name'>): Promise<void> {
  await q.exec('INSERT INTO challenges (name, ref, version, spec_sha256, title, task, state, added_at, origin) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
    [row.name, row.ref, row.version, row.specSha256, row.title, row.task, row.state, Date.now(), row.origin]);
  await q.exec("INSERT INTO phases (challenge, name, opens_at, closes_at) VALUES ($1, 'main', $2, $3)", [row.name, phase.opensAt, phase.closesAt]);
}

async function logAction(q: SqlTx, a: ActionRow): Promise<void> {
  await q.exec('INSERT INTO actions (id, acted_at, actor, action, challenge, detail) VALUES ($1, $2, $3, $4, $5, $6)', [a.id, a.at, a.actor, a.action, a.challenge, a.detail]);
}

export async function putChallenge(q: SqlTx, locks: StoreLocks, row: ChallengeRow, phase: Omit<PhaseRow, 'challenge' | 'name'>): Promise<void> {
  await lock(q, locks, `challenge:${row.name}`);
  const had = await q.rows('SELECT name FROM challenges WHERE name = $1', [row.name]);
  if (had.length) {
    await q.exec('UPDATE challenges SET ref = $2, version = $3, spec_sha256 = $4, title = $5, task = $6 WHERE name = $1',
      [row.name, row.ref, row.version, row.specSha256, row.title, row.task]);
  } else {
    await insertChallenge(q, row, phase);
  }
}

export async function createChallenge(q: SqlTx, locks: StoreLocks, row: ChallengeRow, phase: Omit<PhaseRow, 'challenge' | 'name'>, action: ActionRow): Promise<boolean> {
  await lock(q, locks, `challenge:${row.name}`);
  if ((await q.rows('SELECT name FROM challenges WHERE name = $1', [row.name])).length) return false;
  await insertChallenge(q, row, phase);
  await logAction(q, action);
  return true;
}

export async function setChallengeState(q: SqlTx, name: string, state: ChallengeRow['state'], action: ActionRow): Promise<'ok' | 'not-found'> {
  const upd = await q.rows('UPDATE challenges SET state = $2 WHERE name = $1 RETURNING name', [name, state]);
  if (!upd.length) return 'not-found';
  await logAction(q, action);
  return 'ok';
}

export async function putPhase(q: SqlTx, locks: StoreLocks, phase: PhaseRow, action: ActionRow): Promise<'ok' | 'not-found'> {
  if (!(await q.rows(`SELECT name FROM challenges WHERE name = $1${locks.forUpdate}`, [phase.challenge])).length) return 'not-found';
  const upd = await q.rows('UPDATE phases SET opens_at = $3, closes_at = $4 WHERE challenge = $1 AND name = $2 RETURNING name',
    [phase.challenge, phase.name, phase.opensAt, phase.closesAt]);
  if (!upd.length) {
    await q.exec('INSERT INTO phases (challenge, name, opens_at, closes_at) VALUES ($1, $2, $3, $4)', [phase.challenge, phase.name, phase.opensAt, phase.closesAt]);
  }
  await logAction(q, action);
  return 'ok';
}

export async function listActions(q: SqlTx, filter: { challenge?: string; limit?: number }): Promise<ActionRow[]> {
  const limit = actionsLimit(filter.limit);
  const rows = filter.challenge
    ? await q.rows(`SELECT * FROM actions WHERE challenge = $1 ORDER BY acted_at DESC, id DESC LIMIT ${limit}`, [filter.challenge])
    : await q.rows(`SELECT * FROM actions ORDER BY acted_at DESC, id DESC LIMIT ${limit}`);
  return rows.map(actionRow);
}

/**
 * Names in code-point order, sorted here rather than by ORDER BY: PostgreSQL orders text by the
 * database's collation (en_US.UTF-8 or ICU put 'a_b' and 'a-b', 'B' and 'a' the other way round
 * from DuckDB's byte order), so the same server would list its challenges and phases differently
 * on the two backends.
 */
function byName<T extends { name: string }>(rows: T[]): T[] {
  return rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function listChallenges(q: SqlTx): Promise<ChallengeRow[]> {
  return byName((await q.rows('SELECT * FROM challenges')).map(challengeRow));
}

export async function getChallenge(q: SqlTx, name: string): Promise<ChallengeRow | null> {
  const r = await q.rows('SELECT * FROM challenges WHERE name = $1', [name]);
  return r.length ? challengeRow(r[0]) : null;
}

export async function listPhases(q: SqlTx, challenge: string): Promise<PhaseRow[]> {
  return byName((await q.rows('SELECT * FROM phases WHERE challenge = $1', [challenge])).map(phaseRow));
}

export async function addParticipant(q: SqlTx, locks: StoreLocks, row: ParticipantRow): Promise<boolean> {
  const key = participantNameKey(row.name);
  await lock(q, locks, `participant-name:${key}`);
  // Compared in JavaScript, the one definition of the key for both backends (a few thousand names at most).
  const names = await q.rows('SELECT name FROM participants');
  if (names.some((r) => participantNameKey(String(r.name)) === key)) return false;
  await q.exec('INSERT INTO participants (id, name, role, token_salt, token_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
    [row.id, row.name, row.role, row.tokenSalt, row.tokenHash, row.createdAt]);
  return true;
}

export async function getParticipant(q: SqlTx, id: string): Promise<ParticipantRow | null> {
  const r = await q.rows('SELECT * FROM participants WHERE id = $1', [id]);
  return r.length ? participantRow(r[0]) : null;
}

/** Participants, oldest first (optionally of one role). */
export async function listParticipants(q: SqlTx, role?: ParticipantRole): Promise<ParticipantRow[]> {
  const r = role
    ? await q.rows('SELECT * FROM participants WHERE role = $1 ORDER BY created_at, id', [role])
    : await q.rows('SELECT * FROM participants ORDER BY created_at, id');
  return r.map(participantRow);
}

/** Deletes a participant of `role` (its token with it); false when there is none. */
export async function removeParticipant(q: SqlTx, id: string, role: ParticipantRole): Promise<boolean> {
  const r = await q.rows('DELETE FROM participants WHERE id = $1 AND role = $2 RETURNING id', [id, role]);
  return r.length > 0;
}

/** Replaces a participant's token (the old one stops working at once), with the action that records it. */
export async function setParticipantToken(q: SqlTx, id: string, salt: string, hash: string, action: ActionRow): Promise<boolean> {
  const r = await q.rows('UPDATE participants SET token_salt = $2, token_hash = $3 WHERE id = $1 RETURNING id', [id, salt, hash]);
  if (!r.length) return false;
  await logAction(q, action);
  return true;
}

export async function countParticipants(q: SqlTx, role?: ParticipantRole): Promise<number> {
  const r = role ? await q.rows('SELECT count(*) AS n FROM participants WHERE role = $1', [role]) : await q.rows('SELECT count(*) AS n FROM participants');
  return num(r[0].n);
}

export async function quotaUsed(q: SqlTx, participant: string, challenge: string, dayStart: number): Promise<{ total: number; today: number }> {
  const r = await q.rows(
    `SELECT count(*) AS total, count(*) FILTER (WHERE s.created_at >= $3) AS today
     FROM submissions s JOIN jobs j ON j.submission = s.id
     WHERE s.participant = $1 AND s.challenge = $2 AND ${COUNTING}`,
    [participant, challenge, dayStart],
  );
  return { total: num(r[0].total), today: num(r[0].today) };
}

/** Quota check and insert under one lock per participant and challenge: two uploads at once never both take the last place. */
export async function submit(q: SqlTx, locks: StoreLocks, sub: NewSubmission, job: { id: string; maxAttempts: number }, quota: Quota): Promise<SubmitOutcome> {
  await lock(q, locks, `quota:${sub.participant}/${sub.challenge}`);
  const used = await quotaUsed(q, sub.participant, sub.challenge, quota.dayStart);
  if (quota.total !== undefined && used.total >= quota.total) return { ok: false, limit: 'total', used: used.total, cap: quota.total };
  if (quota.perDay !== undefined && used.today >= quota.perDay) return { ok: false, limit: 'per-day', used: used.today, cap: quota.perDay };
  await q.exec('INSERT INTO submissions (id, participant, challenge, file_name, sha256, bytes, size, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [sub.id, sub.participant, sub.challenge, sub.fileName, sub.sha256, sub.bytes, sub.bytes.length, sub.createdAt]);
  await q.exec("INSERT INTO jobs (id, submission, state, attempts, max_attempts, created_at) VALUES ($1, $2, 'queued', 0, $3, $4)",
    [job.id, sub.id, job.maxAttempts, sub.createdAt]);
  return { ok: true };
}

export async function getSubmission(q: SqlTx, id: string): Promise<SubmissionRow | null> {
  const r = await q.rows('SELECT id, participant, challenge, file_name, sha256, size, created_at FROM submissions WHERE id = $1', [id]);
  return r.length ? submissionRow(r[0]) : null;
}

export async function listSubmissions(q: SqlTx, filter: { participant?: string; challenge?: string }): Promise<(SubmissionRow & { job: JobRow; primaryPublic: number | null })[]> {
  const where: string[] = [];
  const params: unknown[] = [];
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
}

export async function cancelJob(q: SqlTx, locks: StoreLocks, jobId: string, participant: string, now: number): Promise<'cancelled' | 'not-queued' | 'not-found'> {
  const r = await q.rows(`SELECT j.state FROM jobs j JOIN submissions s ON s.id = j.submission WHERE j.id = $1 AND s.participant = $2${locks.forUpdate ? `${locks.forUpdate} OF j` : ''}`, [jobId, participant]);
  if (!r.length) return 'not-found';
  if (r[0].state !== 'queued') return 'not-queued';
  await q.exec("UPDATE jobs SET state = 'cancelled', error = 'cancelled by the participant', finished_at = $2 WHERE id = $1", [jobId, now]);
  return 'cancelled';
}

export async function recoverInterrupted(q: SqlTx, locks: StoreLocks, now: number): Promise<{ requeued: number; failed: number }> {
  const running = await q.rows(`SELECT id, attempts, max_attempts FROM jobs WHERE state = 'running'${locks.forUpdate}`);
  let requeued = 0, failed = 0;
  for (const r of running) {
    const id = r.id as string, attempts = num(r.attempts);
    await q.exec("UPDATE job_attempts SET finished_at = $3, outcome = 'interrupted', reason = 'the server stopped during the evaluation' WHERE job = $1 AND attempt = $2", [id, attempts, now]);
    // Interruptions are the machine's, not the job's: they do not use up its max_attempts.
    const ended = await endedAttempts(q, id);
    if (ended.interrupted < MAX_INTERRUPTIONS) {
      await q.exec("UPDATE jobs SET state = 'queued', worker = NULL, lease_expires_at = NULL WHERE id = $1", [id]);
      requeued++;
    } else {
      await q.exec("UPDATE jobs SET state = 'failed', error = $2, finished_at = $3, worker = NULL, lease_expires_at = NULL WHERE id = $1",
        [id, interruptedError(ended.interrupted, ended.list), now]);
      failed++;
    }
  }
  return { requeued, failed };
}

export async function getJob(q: SqlTx, id: string): Promise<JobRow | null> {
  const r = await q.rows(`SELECT ${JOB_COLUMNS} FROM jobs j JOIN submissions s ON s.id = j.submission WHERE j.id = $1`, [id]);
  return r.length ? jobRow(r[0]) : null;
}

export async function listAttempts(q: SqlTx, job: string): Promise<AttemptRow[]> {
  return (await q.rows('SELECT * FROM job_attempts WHERE job = $1 ORDER BY attempt', [job])).map(attemptRow);
}

export async function countJobs(q: SqlTx): Promise<Record<JobState, number>> {
  const out: Record<JobState, number> = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
  for (const r of await q.rows('SELECT state, count(*) AS n FROM jobs GROUP BY state')) out[r.state as JobState] = num(r.n);
  return out;
}

/** A result's columns without its audit (which only getAudit reads: it is large, and no board needs it). */
const RESULT_COLUMNS = 'submission, job, attempt, primary_public, record, created_at';

export async function getResult(q: SqlTx, submission: string): Promise<ResultRow | null> {
  const r = await q.rows(`SELECT ${RESULT_COLUMNS} FROM results WHERE submission = $1`, [submission]);
  return r.length ? resultRow(r[0]) : null;
}

export async function setAudit(q: SqlTx, submission: string, outcome: AuditOutcome): Promise<boolean> {
  const r = await q.rows("SELECT submission FROM results WHERE submission = $1 AND audit_state = 'running'", [submission]);
  if (!r.length) return false;
  await q.exec('UPDATE results SET audit_state = $2, audit = $3, audit_reason = $4 WHERE submission = $1',
    [submission, outcome.state, outcome.state === 'done' ? outcome.audit : null, outcome.state === 'not available' ? outcome.reason : null]);
  return true;
}

export async function getAudit(q: SqlTx, submission: string): Promise<AuditRow | null> {
  const r = await q.rows('SELECT submission, audit_state, audit_deadline, audit, audit_reason, created_at FROM results WHERE submission = $1', [submission]);
  if (!r.length) return null;
  const x = r[0];
  return {
    submission: x.submission as string,
    state: (x.audit_state as AuditState | null) ?? null,
    deadline: x.audit_deadline === null || x.audit_deadline === undefined ? null : num(x.audit_deadline),
    audit: (x.audit as string | null) ?? null,
    reason: (x.audit_reason as string | null) ?? null,
    scoredAt: num(x.created_at),
  };
}

export async function listResults(q: SqlTx, challenge: string): Promise<(ResultRow & { participant: string; participantName: string; submittedAt: number })[]> {
  return (await q.rows(
    `SELECT ${RESULT_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')}, s.participant, s.created_at AS submitted_at, p.name AS participant_name FROM results r JOIN submissions s ON s.id = r.submission
     JOIN participants p ON p.id = s.participant WHERE s.challenge = $1 ORDER BY r.created_at, r.submission`, [challenge],
  )).map((r) => ({ ...resultRow(r), participant: r.participant as string, participantName: r.participant_name as string, submittedAt: num(r.submitted_at) }));
}
