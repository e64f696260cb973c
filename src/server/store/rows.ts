/**
 * Database rows (snake_case columns, as both backends read them) to the store's row types, and
 * the SQL fragments both backends' queries share. Integers may arrive as bigint (DuckDB) or
 * number (PostgreSQL, whose int8 the store parses to number: times in ms fit in 2^53).
 */
import type { ActionRow, AttemptRow, ChallengeRow, JobRow, JobState, ParticipantRole, ParticipantRow, PhaseRow, ResultRow, SubmissionRow } from './types.ts';

export type Row = Record<string, unknown>;

/**
 * A statement parameter as both backends write it: a string's U+0000 characters as the six
 * characters \u0000 (as JSON writes them). PostgreSQL's text cannot hold U+0000 and refuses the
 * whole statement, so an entrant's strategy throwing an error whose message holds one could not
 * be failed (its job came back after each lease, never charged), and a lookup by such a name
 * failed instead of finding nothing; DuckDB writes the same, so both backends read back the same.
 */
export function storable(v: unknown): unknown {
  return typeof v === 'string' && v.includes('\0') ? v.replaceAll('\0', '\\u0000') : v;
}

export const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : typeof v === 'string' ? Number(v) : (v as number));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));

/** The jobs (alias j) that count against a participant's quota: queued, running, done, and failed of the entrant's making (charged). */
export const COUNTING = "(j.state IN ('queued', 'running', 'done') OR (j.state = 'failed' AND j.charged))";

/** A job's columns with its submission's challenge and participant (FROM jobs j JOIN submissions s). */
export const JOB_COLUMNS =
  'j.id, j.submission, s.challenge, s.participant, j.state, j.attempts, j.max_attempts, j.error, j.created_at, j.started_at, j.finished_at, j.worker, j.lease_expires_at, j.charged, j.retry_at';

export function jobRow(r: Row): JobRow {
  return {
    id: r.id as string,
    submission: r.submission as string,
    challenge: r.challenge as string,
    participant: r.participant as string,
    state: r.state as JobState,
    attempts: num(r.attempts),
    maxAttempts: num(r.max_attempts),
    error: (r.error as string | null) ?? null,
    createdAt: num(r.created_at),
    startedAt: numOrNull(r.started_at),
    finishedAt: numOrNull(r.finished_at),
    worker: (r.worker as string | null) ?? null,
    leaseExpiresAt: numOrNull(r.lease_expires_at),
    charged: r.charged === true,
    retryAt: numOrNull(r.retry_at),
  };
}

/** A BLOB/BYTEA value as bytes: DuckDB gives { bytes }, pg a Buffer. */
export function bytesOf(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return new Uint8Array(v);
  const b = (v as { bytes?: Uint8Array } | null)?.bytes;
  return b ? new Uint8Array(b) : new Uint8Array(0);
}

export function submissionRow(r: Row): SubmissionRow {
  return {
    id: r.id as string,
    participant: r.participant as string,
    challenge: r.challenge as string,
    fileName: r.file_name as string,
    sha256: r.sha256 as string,
    size: num(r.size),
    createdAt: num(r.created_at),
  };
}

export function resultRow(r: Row): ResultRow {
  return {
    submission: r.submission as string,
    job: r.job as string,
    attempt: num(r.attempt),
    primaryPublic: r.primary_public === null ? null : (r.primary_public as number),
    record: r.record as string,
    createdAt: num(r.created_at),
  };
}

export function challengeRow(r: Row): ChallengeRow {
  return {
    name: r.name as string, ref: r.ref as string, version: num(r.version), specSha256: r.spec_sha256 as string,
    title: r.title as string, task: r.task as string, state: r.state as ChallengeRow['state'],
    origin: ((r.origin as string | null) ?? 'dir') as ChallengeRow['origin'],
  };
}

export function phaseRow(r: Row): PhaseRow {
  return { challenge: r.challenge as string, name: r.name as string, opensAt: numOrNull(r.opens_at), closesAt: numOrNull(r.closes_at) };
}

export function actionRow(r: Row): ActionRow {
  return {
    id: r.id as string, at: num(r.acted_at), actor: r.actor as string, action: r.action as string,
    challenge: (r.challenge as string | null) ?? null, detail: r.detail as string,
  };
}

export function participantRow(p: Row): ParticipantRow {
  return {
    id: p.id as string, name: p.name as string, role: p.role as ParticipantRole,
    tokenSalt: p.token_salt as string, tokenHash: p.token_hash as string, createdAt: num(p.created_at),
  };
}

export function attemptRow(r: Row): AttemptRow {
  return {
    job: r.job as string, attempt: num(r.attempt), startedAt: num(r.started_at), finishedAt: numOrNull(r.finished_at),
    outcome: (r.outcome as AttemptRow['outcome']) ?? null, reason: (r.reason as string | null) ?? null, worker: (r.worker as string | null) ?? null,
  };
}

/** The largest number of organiser actions one listActions call returns (and the default). */
export function actionsLimit(limit: number | undefined): number {
  return Math.max(1, Math.min(limit ?? 1000, 10000));
}
