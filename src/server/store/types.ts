/**
 * The server's state behind one small interface: challenges and their phases, participants
 * (token hashes only), submissions (the uploaded bytes), evaluation jobs with their attempts,
 * and results. `duckdb.ts` implements it on one embedded DuckDB file; a PostgreSQL backend is
 * one more file implementing the same interface (issue 10). Every method is one transaction:
 * a caller never sees a half-written change, and a process killed at any moment leaves the
 * state of the last committed call.
 *
 * Times are milliseconds since the epoch (UTC); ids are opaque strings made by the caller.
 */

/** draft: created, not yet opened (no submissions); open; closed (private scores shown). */
export type ChallengeState = 'draft' | 'open' | 'closed';
/** Where the server loads a challenge from: a folder of --challenges, or one created through the API. */
export type ChallengeOrigin = 'dir' | 'api';
export type ParticipantRole = 'participant' | 'organiser';
/** queued → running → done | failed; queued → cancelled. A running job whose process died goes back to queued. */
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
}

/** A job handed to a worker: the attempt it runs as and what it evaluates. */
export interface ClaimedJob {
  job: JobRow;
  attempt: number;
  submission: SubmissionRow & { bytes: Uint8Array };
  challengeRef: string;
}

export interface AttemptRow {
  job: string;
  attempt: number;
  startedAt: number;
  finishedAt: number | null;
  /** null while running. */
  outcome: 'done' | 'failed' | 'interrupted' | null;
  reason: string | null;
}

export interface ResultRow {
  submission: string;
  job: string;
  attempt: number;
  /** The primary metric's mean on the public test part (what the leaderboard ranks by). */
  primaryPublic: number | null;
  /** The full result record as JSON (private scores included: shown only through publicView). */
  record: string;
  createdAt: number;
}

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

  /**
   * Stores a submission and its queued job in one transaction, if the participant's
   * submissions that count (queued, running or done) stay within `quota`.
   */
  submit(sub: NewSubmission, job: { id: string; maxAttempts: number }, quota: Quota): Promise<SubmitOutcome>;
  /** Submissions that count against the quota: total, and since `dayStart`. */
  quotaUsed(participant: string, challenge: string, dayStart: number): Promise<{ total: number; today: number }>;
  getSubmission(id: string): Promise<SubmissionRow | null>;
  listSubmissions(filter: { participant?: string; challenge?: string }): Promise<(SubmissionRow & { job: JobRow; primaryPublic: number | null })[]>;

  /**
   * Takes the oldest queued job, marks it running with its next attempt, and returns it; null
   * when none is queued. Atomic: two workers never get the same job.
   */
  claimJob(now: number): Promise<ClaimedJob | null>;
  /**
   * Writes the result and marks the job done, in one transaction, only if the job is running
   * as this attempt and the submission has no result yet; false otherwise (nothing written).
   */
  completeJob(jobId: string, attempt: number, result: Omit<ResultRow, 'job' | 'attempt'>, now: number): Promise<boolean>;
  /**
   * Ends a running attempt as failed: back to queued while attempts remain and `retry`, else
   * failed with the reason. 'stale' when the job is not running as this attempt (nothing changed).
   */
  failAttempt(jobId: string, attempt: number, reason: string, retry: boolean, now: number): Promise<FailOutcome>;
  /** Cancels a queued job of this participant (it stops counting against the quota). */
  cancelJob(jobId: string, participant: string, now: number): Promise<'cancelled' | 'not-queued' | 'not-found'>;
  /**
   * At start-up: every running job was interrupted (the process that ran it is gone). Each goes
   * back to queued, or to failed when it has used all its attempts.
   */
  recoverInterrupted(now: number): Promise<{ requeued: number; failed: number }>;
  getJob(id: string): Promise<JobRow | null>;
  listAttempts(job: string): Promise<AttemptRow[]>;
  countJobs(): Promise<Record<JobState, number>>;

  getResult(submission: string): Promise<ResultRow | null>;
  /** Every result of a challenge with who submitted it. */
  listResults(challenge: string): Promise<(ResultRow & { participant: string; participantName: string; submittedAt: number })[]>;
}
