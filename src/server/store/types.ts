/**
 * The server's state behind one small interface: challenges and their phases, participants
 * (token hashes only), submissions (the uploaded bytes), evaluation jobs with their attempts,
 * and results. `sql-store.ts` implements it once over the SQL both backends run; `duckdb.ts`
 * (one embedded DuckDB file) and `postgres.ts` add only connecting, transactions and locks. Every method is one transaction:
 * a caller never sees a half-written change, and a process killed at any moment leaves the
 * state of the last committed call.
 *
 * Times are milliseconds since the epoch (UTC); ids are opaque strings made by the caller.
 */
import { SieveError } from '../../util/errors.ts';

/**
 * The store's database could not be reached during a call (PostgreSQL stopped or restarting):
 * the request may succeed in a moment. The API answers 503 without the connection's details,
 * which are the operator's (the server's log has them).
 */
export class StoreUnavailable extends SieveError {}

/** The database's schema is newer than this sieve's (a newer sieve upgraded it while this process ran). */
export class StoreOutdated extends StoreUnavailable {}

/** draft: created, not yet opened (no submissions); open; closed (private scores shown). */
export type ChallengeState = 'draft' | 'open' | 'closed';
/** Where the server loads a challenge from: a folder of --challenges, or one created through the API. */
export type ChallengeOrigin = 'dir' | 'api';
/** worker: a `sieve worker`'s token, good only for the internal pool endpoint (never the API). */
export type ParticipantRole = 'participant' | 'organiser' | 'worker';
/**
 * queued → running → done | failed; queued → cancelled. A running job is leased to one worker
 * until its lease expires (renewed by heartbeats); a job whose lease expired, or whose server
 * process died, goes back to queued (or to failed once its attempts are used up).
 */
export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface ChallengeRow {
  name: string;
  /** What the server loads the challenge from (a challenge directory). */
  ref: string;
  version: number;
  specSha256: string;
  title: string;
  task: string;
  state: ChallengeState;
  origin: ChallengeOrigin;
}

export interface PhaseRow {
  challenge: string;
  name: string;
  opensAt: number | null;
  closesAt: number | null;
}

/** One organiser action, stored in the same transaction as the change it records. */
export interface ActionRow {
  id: string;
  at: number;
  /** The participant id of the organiser who acted. */
  actor: string;
  /** e.g. challenge.create, challenge.open, challenge.close, phase.put, phase.open, phase.close. */
  action: string;
  challenge: string | null;
  /** JSON: what changed (before and after). */
  detail: string;
}

export interface ParticipantRow {
  id: string;
  name: string;
  role: ParticipantRole;
  /** Hex salt and hex sha256(salt ‖ secret) of the participant's token (src/server/tokens.ts). */
  tokenSalt: string;
  tokenHash: string;
  createdAt: number;
}

export interface NewSubmission {
  id: string;
  participant: string;
  challenge: string;
  /** The upload's file name (its extension names the format). */
  fileName: string;
  sha256: string;
  bytes: Uint8Array;
  createdAt: number;
}

export interface SubmissionRow extends Omit<NewSubmission, 'bytes'> {
  size: number;
}

export interface JobRow {
  id: string;
  submission: string;
  challenge: string;
  participant: string;
  state: JobState;
  /** Attempts started so far (the running one included). */
  attempts: number;
  maxAttempts: number;
  /** Why the job failed (last attempt's reason), or why it was cancelled. */
  error: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** The worker holding the lease (while running). */
  worker: string | null;
  /** When the running attempt's lease runs out unless renewed (ms since the epoch). */
  leaseExpiresAt: number | null;
  /** A failed job of the entrant's making (their strategy failed): it counts against their quota. */
  charged: boolean;
  /**
   * A job queued again after a failed attempt is not claimed before this (the database's clock,
   * ms since the epoch; RetryBackoff); null: claimable now.
   */
  retryAt: number | null;
}

/**
 * How long a job waits after a failed attempt before it may run again: `firstMs` after the
 * first failure, doubling with each further one, at most `maxMs`. Interruptions (an expired
 * lease, a stopped server) and released jobs are queued again at once: the job did not fail.
 */
export interface RetryBackoff {
  firstMs: number;
  maxMs: number;
}

/** One attempt of a job as the worker running it names it: every write about it must present all three. */
export interface AttemptRef {
  job: string;
  attempt: number;
  /** The worker's id (opaque, unique per worker process and slot: host/pid/slot-random). */
  worker: string;
}

/** A job handed to a worker: the attempt it runs as and what it evaluates. */
export interface ClaimedJob {
  job: JobRow;
  attempt: number;
  /** The lease's end; the worker renews it (renewLease) well before. */
  leaseExpiresAt: number;
  submission: SubmissionRow & { bytes: Uint8Array };
  challengeRef: string;
  /** sha256 of the challenge.yaml the server serves (a worker fetching the spec checks it). */
  challengeSpecSha256: string;
}

export interface AttemptRow {
  job: string;
  attempt: number;
  startedAt: number;
  finishedAt: number | null;
  /** null while running; expired: its lease ran out (no heartbeat); released: given back by a stopping worker (not a failure). */
  outcome: AttemptOutcome | null;
  reason: string | null;
  /** The worker that ran it (null for attempts from before leases). */
  worker: string | null;
}

export type AttemptOutcome = 'done' | 'failed' | 'interrupted' | 'expired' | 'released';

/** What /metrics shows: the queue at one moment, and counters that only grow. */
export interface QueueStats {
  jobs: Record<JobState, number>;
  /** Running jobs whose worker's lease has run out (the worker died or lost the database): waiting to be claimed again. */
  leaseExpired: number;
  /** created_at of the oldest queued job (or running job with an expired lease). */
  oldestQueuedAt: number | null;
  /** Ended attempts by outcome, all time. */
  attempts: Record<AttemptOutcome, number>;
  resultsTotal: number;
  /** Results written in the minute before `now`. */
  resultsLastMinute: number;
  /** Distinct workers holding a live lease. */
  workersActive: number;
}

export interface ResultRow {
  submission: string;
  job: string;
  attempt: number;
  /** The primary metric's mean on the public test part (what the leaderboard ranks by). */
  primaryPublic: number | null;
  /** The full result record as JSON (private scores included: shown only through publicView). */
  record: string;
  /** When the result was written, by the database's clock (ms since the epoch). */
  createdAt: number;
}

/**
 * A result as a worker hands it to completeJob. Its time (`createdAt`) and its audit's deadline
 * are the database's clock at the write, never the worker's: workers on other machines, whose
 * clocks disagree, still order their results correctly. `auditMs`: the result's audit is
 * 'running' for that long after the write (what is left of the attempt's time limit).
 */
export type NewResult = Omit<ResultRow, 'job' | 'attempt' | 'createdAt'> & { auditMs?: number };

/**
 * The audit of a result's rows (src/server/job-child.ts): 'running' from the moment the score is
 * written until `deadline` (the attempt's time limit), then 'done' with the stored audit
 * (JSON, src/report/submission-audit.ts) or 'not available' with the reason. A result scored
 * before the server audited submissions has state null.
 */
export type AuditState = 'running' | 'done' | 'not available';

export interface AuditRow {
  submission: string;
  state: AuditState | null;
  /** Until when (the database's clock) a 'running' audit may still be stored. */
  deadline: number | null;
  /** The stored audit as JSON (state 'done'). */
  audit: string | null;
  reason: string | null;
  /** When the result was written. */
  scoredAt: number;
}

/** What ends a running audit. */
export type AuditOutcome = { state: 'done'; audit: string } | { state: 'not available'; reason: string };

/** Submission caps of a challenge (challenge.yaml `limits`). */
export interface Quota {
  perDay?: number;
  total?: number;
  /** Start of the current day (UTC midnight), for perDay. */
  dayStart: number;
}

export type SubmitOutcome =
  | { ok: true }
  | { ok: false; limit: 'per-day' | 'total'; used: number; cap: number };

export type FailOutcome = 'queued' | 'failed' | 'stale';

export interface ServerStore {
  /**
   * True when no other process can open the database while this one has it (DuckDB): every job
   * still running at start-up was this server's. False for a database shared with workers on
   * other machines (PostgreSQL), where only an expired lease says a worker is gone.
   */
  readonly exclusive: boolean;
  /** The schema version this backend writes (the last migration's). */
  readonly schemaVersion: number;
  /** Runs the migrations the database lacks, each in a transaction; returns the version now. */
  migrate(): Promise<number>;
  /** The database's schema version (0 when it holds no schema). */
  currentVersion(): Promise<number>;
  close(): Promise<void>;

  /**
   * Records a challenge served from a folder at start-up: inserted with its phase `main` when
   * new; an existing row gets the spec's fields again but keeps its state and phases (an
   * organiser's open or close outlives restarts).
   */
  putChallenge(row: ChallengeRow, phase: Omit<PhaseRow, 'challenge' | 'name'>): Promise<void>;
  /** Inserts a challenge created through the API with its phase `main`, and the action, in one transaction; false when the name is taken. */
  createChallenge(row: ChallengeRow, phase: Omit<PhaseRow, 'challenge' | 'name'>, action: ActionRow): Promise<boolean>;
  /**
   * Sets a challenge's state and, when given, its phase's times, with the action, in one
   * transaction; 'not-found' when there is no such challenge or phase.
   */
  setChallengeState(name: string, state: ChallengeState, action: ActionRow): Promise<'ok' | 'not-found'>;
  /** Inserts or updates one phase (its opening and closing times), with the action, in one transaction. */
  putPhase(phase: PhaseRow, action: ActionRow): Promise<'ok' | 'not-found'>;
  /** The organiser actions, newest first (optionally of one challenge). */
  listActions(filter: { challenge?: string; limit?: number }): Promise<ActionRow[]>;
  listChallenges(): Promise<ChallengeRow[]>;
  getChallenge(name: string): Promise<ChallengeRow | null>;
  listPhases(challenge: string): Promise<PhaseRow[]>;

  /** Adds a participant; false when the name is taken. */
  addParticipant(row: ParticipantRow): Promise<boolean>;
  getParticipant(id: string): Promise<ParticipantRow | null>;
  countParticipants(role?: ParticipantRole): Promise<number>;
  /** Participants, oldest first (optionally of one role). */
  listParticipants(role?: ParticipantRole): Promise<ParticipantRow[]>;
  /** Deletes a participant of `role`, its token with it (a worker's token revoked); false when there is none. */
  removeParticipant(id: string, role: ParticipantRole): Promise<boolean>;
  /** Replaces a participant's token hash (the old token stops working at once) and records `action`, in one transaction. */
  setParticipantToken(id: string, salt: string, hash: string, action: ActionRow): Promise<boolean>;
  /**
   * The database's clock (ms since the epoch). Leases are judged by it: every lease call below
   * takes its `now` from it unless the caller passes one (tests do, to move time by hand), so
   * workers whose clocks disagree still agree on when a lease runs out.
   */
  dbNow(): Promise<number>;

  /**
   * Stores a submission and its queued job in one transaction, if the participant's
   * submissions that count (queued, running, done, or failed and charged) stay within `quota`.
   */
  submit(sub: NewSubmission, job: { id: string; maxAttempts: number }, quota: Quota): Promise<SubmitOutcome>;
  /** Submissions that count against the quota (queued, running, done, failed and charged): total, and since `dayStart`. */
  quotaUsed(participant: string, challenge: string, dayStart: number): Promise<{ total: number; today: number }>;
  getSubmission(id: string): Promise<SubmissionRow | null>;
  listSubmissions(filter: { participant?: string; challenge?: string }): Promise<(SubmissionRow & { job: JobRow; primaryPublic: number | null })[]>;

  /**
   * Hands a job to `worker` under a lease of `leaseMs`, in one transaction: first every running
   * job whose lease has expired ends that attempt as 'expired' and goes back to queued (or to
   * failed, with every failing attempt's reason, once it has failed maxAttempts times); then the
   * oldest queued job becomes running with its next attempt, leased to `worker` until
   * now + leaseMs. null when none is queued. Two workers never get the same job.
   */
  claimJob(worker: string, leaseMs: number, now?: number): Promise<ClaimedJob | null>;
  /**
   * A heartbeat: extends the lease to now + leaseMs if the lease is live (the job running as
   * this attempt, held by this worker, not expired); false when the lease is lost (the worker
   * must stop: the job is or will be handed to another).
   */
  renewLease(ref: AttemptRef, leaseMs: number, now?: number): Promise<boolean>;
  /**
   * Writes the result and marks the job done, in one transaction, only if the lease is live
   * and the submission has no result yet; false otherwise (nothing written). A late result
   * from an expired lease is rejected even when no other worker has taken the job yet. The
   * result's created_at is `now` (the database's clock unless a test passes its own). With
   * `auditMs` the result's audit is 'running' until now + auditMs (setAudit ends it).
   */
  completeJob(ref: AttemptRef, result: NewResult, now?: number): Promise<boolean>;
  /**
   * Ends a live attempt as failed: back to queued while `retry` and the job has failed fewer
   * than maxAttempts times, else failed (the reason; after several failing attempts, each
   * one's reason). `charge` (the entrant's own failure: their strategy failed) fails it at
   * once and keeps it counting against the quota. 'stale' when the lease is not live (nothing changed).
   * A job queued again waits out `backoff` (default DEFAULT_RETRY_BACKOFF, jobs-sql.ts) from `now`:
   * claimJob passes over it until its retryAt.
   */
  failAttempt(ref: AttemptRef, reason: string, retry: boolean, now?: number, charge?: boolean, backoff?: RetryBackoff): Promise<FailOutcome>;
  /**
   * A worker gives a live job back: the attempt ends 'released' (not a failure), the job is
   * queued. `why` says why in the attempt's reason (default 'stopping').
   */
  releaseJob(ref: AttemptRef, now?: number, why?: string): Promise<boolean>;
  /** Cancels a queued job of this participant (it stops counting against the quota). */
  cancelJob(jobId: string, participant: string, now: number): Promise<'cancelled' | 'not-queued' | 'not-found'>;
  /**
   * At start-up of a server on an exclusive store: every running job was interrupted (the
   * process that ran it is gone). Each goes back to queued, or to failed when it has used all
   * its attempts. Never called on a shared store (other machines' workers hold leases there).
   */
  recoverInterrupted(now: number): Promise<{ requeued: number; failed: number }>;
  getJob(id: string): Promise<JobRow | null>;
  listAttempts(job: string): Promise<AttemptRow[]>;
  countJobs(): Promise<Record<JobState, number>>;
  queueStats(now?: number): Promise<QueueStats>;

  getResult(submission: string): Promise<ResultRow | null>;
  /**
   * Ends a result's running audit (the state becomes 'done' or 'not available'); false when the
   * result has no running audit (none, or already ended): an audit is written once.
   */
  setAudit(submission: string, outcome: AuditOutcome): Promise<boolean>;
  /** A result's audit (null when the submission has no result). */
  getAudit(submission: string): Promise<AuditRow | null>;
  /** Every result of a challenge with who submitted it. */
  listResults(challenge: string): Promise<(ResultRow & { participant: string; participantName: string; submittedAt: number })[]>;
}
