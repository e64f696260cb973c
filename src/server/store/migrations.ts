/**
 * The server database's schema, as numbered migrations, one list for both backends. A
 * migration runs once, in one transaction with the row that records it in `schema_version`;
 * a database with a higher version than the last one here is refused. Never edit a released
 * migration: add the next. The SQL is what DuckDB and PostgreSQL both take, except for the few
 * type names they spell differently, which come from the dialect (`d.blob`, `d.double`).
 */
import { SieveError } from '../../util/errors.ts';

export type DialectName = 'duckdb' | 'postgres';

/** What differs between the two SQL dialects in the schema. */
export interface Dialect {
  name: DialectName;
  /** Binary column type: BLOB (DuckDB), BYTEA (PostgreSQL). */
  blob: string;
  /** 64-bit float column type: DOUBLE (DuckDB), DOUBLE PRECISION (PostgreSQL). */
  double: string;
  /**
   * The database's clock as ms since the epoch (a BIGINT expression). Leases and worker tokens
   * are judged by it, so machines whose clocks disagree still agree on when a lease runs out.
   */
  nowMs: string;
}

export const DIALECTS: Record<DialectName, Dialect> = {
  duckdb: { name: 'duckdb', blob: 'BLOB', double: 'DOUBLE', nowMs: 'epoch_ms(get_current_timestamp())' },
  // clock_timestamp(), not now(): a call that waited for a row lock judges leases by the time it got it.
  postgres: { name: 'postgres', blob: 'BYTEA', double: 'DOUBLE PRECISION', nowMs: 'floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint' },
};

export interface Migration {
  version: number;
  description: string;
  statements: (d: Dialect) => string[];
}

/** Created (if missing) in the transaction of the first migration. */
export const SCHEMA_VERSION_TABLE = 'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'challenges, phases, participants, submissions, jobs and their attempts, results',
    statements: (d) => [
      `CREATE TABLE challenges (
        name VARCHAR PRIMARY KEY, ref VARCHAR NOT NULL, version INTEGER NOT NULL, spec_sha256 VARCHAR NOT NULL,
        title VARCHAR NOT NULL, task VARCHAR NOT NULL, state VARCHAR NOT NULL, added_at BIGINT NOT NULL)`,
      `CREATE TABLE phases (
        challenge VARCHAR NOT NULL, name VARCHAR NOT NULL, opens_at BIGINT, closes_at BIGINT, PRIMARY KEY (challenge, name))`,
      `CREATE TABLE participants (
        id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, role VARCHAR NOT NULL,
        token_salt VARCHAR NOT NULL, token_hash VARCHAR NOT NULL, created_at BIGINT NOT NULL)`,
      `CREATE TABLE submissions (
        id VARCHAR PRIMARY KEY, participant VARCHAR NOT NULL, challenge VARCHAR NOT NULL, file_name VARCHAR NOT NULL,
        sha256 VARCHAR NOT NULL, bytes ${d.blob} NOT NULL, size BIGINT NOT NULL, created_at BIGINT NOT NULL)`,
      `CREATE TABLE jobs (
        id VARCHAR PRIMARY KEY, submission VARCHAR NOT NULL, state VARCHAR NOT NULL, attempts INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL, error VARCHAR, created_at BIGINT NOT NULL, started_at BIGINT, finished_at BIGINT)`,
      `CREATE TABLE job_attempts (
        job VARCHAR NOT NULL, attempt INTEGER NOT NULL, started_at BIGINT NOT NULL, finished_at BIGINT,
        outcome VARCHAR, reason VARCHAR, PRIMARY KEY (job, attempt))`,
      // One result per submission: the key itself forbids scoring a submission twice.
      `CREATE TABLE results (
        submission VARCHAR PRIMARY KEY, job VARCHAR NOT NULL, attempt INTEGER NOT NULL, primary_public ${d.double},
        record VARCHAR NOT NULL, created_at BIGINT NOT NULL)`,
      // PostgreSQL serves many workers' claims at once: the queue's order without a scan of every job (DuckDB's
      // single writer scans).
      ...(d.name === 'postgres' ? [
        "CREATE INDEX jobs_queued ON jobs (created_at, id) WHERE state = 'queued'",
        'CREATE INDEX jobs_submission ON jobs (submission)',
        'CREATE INDEX submissions_participant ON submissions (participant, challenge)',
        'CREATE INDEX submissions_challenge ON submissions (challenge)',
      ] : []),
    ],
  },
  {
    version: 2,
    description: 'organiser actions log; where a challenge came from (a served folder, or created through the API); draft state',
    statements: () => [
      `ALTER TABLE challenges ADD COLUMN origin VARCHAR DEFAULT 'dir'`,
      // Who did what, when: written in the same transaction as the change it records.
      `CREATE TABLE actions (
        id VARCHAR PRIMARY KEY, acted_at BIGINT NOT NULL, actor VARCHAR NOT NULL, action VARCHAR NOT NULL,
        challenge VARCHAR, detail VARCHAR NOT NULL)`,
    ],
  },
  {
    version: 3,
    description: 'leases: the worker holding a running job and when its lease runs out; the worker of each attempt',
    statements: (d) => [
      'ALTER TABLE jobs ADD COLUMN worker VARCHAR',
      'ALTER TABLE jobs ADD COLUMN lease_expires_at BIGINT',
      'ALTER TABLE job_attempts ADD COLUMN worker VARCHAR',
      // Every claim first sweeps the expired leases: on PostgreSQL (many workers) without a scan of every job.
      // (Added to version 3 before any PostgreSQL database existed outside the tests; DuckDB's statements are unchanged.)
      ...(d.name === 'postgres' ? ["CREATE INDEX jobs_leased ON jobs (lease_expires_at) WHERE state = 'running'"] : []),
    ],
  },
  {
    version: 4,
    description: "failed jobs of the entrant's making (a strategy that failed) keep counting against the quota",
    statements: () => ['ALTER TABLE jobs ADD COLUMN charged BOOLEAN DEFAULT false'],
  },
  {
    version: 5,
    description: "the audit of a result's rows: its state (running until its deadline, done, not available), the stored audit or why there is none",
    statements: () => [
      // NULL state: a result scored before this version (never audited).
      'ALTER TABLE results ADD COLUMN audit_state VARCHAR',
      'ALTER TABLE results ADD COLUMN audit_deadline BIGINT',
      'ALTER TABLE results ADD COLUMN audit VARCHAR',
      'ALTER TABLE results ADD COLUMN audit_reason VARCHAR',
    ],
  },
  {
    version: 6,
    description: "retry back-off: a job queued again after a failed attempt is not claimed before retry_at (the database's clock)",
    // NULL: claimable now (every job queued before this version, and jobs queued again after an interruption).
    statements: () => ['ALTER TABLE jobs ADD COLUMN retry_at BIGINT'],
  },
];

/** The schema version this sieve writes (the last migration's). */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** The migrations a database at version `have` lacks, in order; a database newer than this sieve is refused. */
export function pendingMigrations(have: number, where: string): Migration[] {
  if (have > SCHEMA_VERSION) {
    throw new SieveError(`the server database has schema version ${have}; this sieve knows up to ${SCHEMA_VERSION}`, {
      where, examples: ['upgrade sieve, or use a database made by this version'],
    });
  }
  return MIGRATIONS.filter((m) => m.version > have);
}
