/**
 * The server database's schema, as numbered migrations. A migration runs once, in one
 * transaction with the row that records it in `schema_version`; a database with a higher
 * version than the last one here is refused. Never edit a released migration: add the next.
 * The SQL is kept to what DuckDB and PostgreSQL both take (issue 10: the PostgreSQL backend
 * runs the same list).
 */
export interface Migration {
  version: number;
  description: string;
  statements: string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'challenges, phases, participants, submissions, jobs and their attempts, results',
    statements: [
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
        sha256 VARCHAR NOT NULL, bytes BLOB NOT NULL, size BIGINT NOT NULL, created_at BIGINT NOT NULL)`,
      `CREATE TABLE jobs (
        id VARCHAR PRIMARY KEY, submission VARCHAR NOT NULL, state VARCHAR NOT NULL, attempts INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL, error VARCHAR, created_at BIGINT NOT NULL, started_at BIGINT, finished_at BIGINT)`,
      `CREATE TABLE job_attempts (
        job VARCHAR NOT NULL, attempt INTEGER NOT NULL, started_at BIGINT NOT NULL, finished_at BIGINT,
        outcome VARCHAR, reason VARCHAR, PRIMARY KEY (job, attempt))`,
      // One result per submission: the key itself forbids scoring a submission twice.
      `CREATE TABLE results (
        submission VARCHAR PRIMARY KEY, job VARCHAR NOT NULL, attempt INTEGER NOT NULL, primary_public DOUBLE,
        record VARCHAR NOT NULL, created_at BIGINT NOT NULL)`,
    ],
  },
  {
    version: 2,
    description: 'organiser actions log; where a challenge came from (a served folder, or created through the API); draft state',
    statements: [
      `ALTER TABLE challenges ADD COLUMN origin VARCHAR DEFAULT 'dir'`,
      // Who did what, when: written in the same transaction as the change it records.
      `CREATE TABLE actions (
        id VARCHAR PRIMARY KEY, acted_at BIGINT NOT NULL, actor VARCHAR NOT NULL, action VARCHAR NOT NULL,
        challenge VARCHAR, detail VARCHAR NOT NULL)`,
    ],
  },
];
