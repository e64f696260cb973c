/**
 * `sieve sql`: read-only SQL over an audit database and over a pool's participant splits, and
 * every way out of the sandbox refused (files, COPY, writes, ATTACH, settings, extensions,
 * evaluator-only files, views in a database file that read other files).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeAuditDb } from '../src/report/tables.ts';
import { runSql } from '../src/sql/query.ts';
import { SieveError } from '../src/util/errors.ts';
import { tempDir } from './pool-helpers.ts';
import { makeSplit, reportFor } from './report-fixtures.ts';

const root = join(import.meta.dirname, '..');
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

async function refused(p: Promise<unknown>, pattern: RegExp, exitCode = 2): Promise<SieveError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err, `expected a refusal matching ${pattern}`).toBeInstanceOf(SieveError);
  const e = err as SieveError;
  expect(`${e.message} ${e.examples.join(' ')}`).toMatch(pattern);
  expect(e.exitCode).toBe(exitCode);
  return e;
}

describe('sieve sql', () => {
  const dir = tempDir('sieve-sql-');
  const db = join(dir, 'audit.duckdb');
  const fx = makeSplit();

  beforeAll(async () => {
    await writeAuditDb(db, { pool: reportFor(fx) });
  });

  it('queries an audit database: tables, typed values, integers as numbers', async () => {
    const r = await runSql(db, `SELECT analyser, flagged, count(*) OVER () AS n FROM summary WHERE scope = 'pool' AND status = 'ran' ORDER BY analyser`);
    expect(r.target).toMatchObject({ kind: 'database', name: db });
    expect(r.target.tables).toContain('findings_label_errors');
    expect(r.columns.map((c) => c.name)).toEqual(['analyser', 'flagged', 'n']);
    expect(r.rows.map((x) => x.analyser)).toEqual(['class-imbalance', 'duplicates', 'fairness', 'label-errors']);
    expect(r.rows.every((x) => x.n === 4)).toBe(true);
    const flagged = await runSql(db, `SELECT count(*) AS n FROM findings_label_errors WHERE flagged AND scope = 'pool'`);
    expect(flagged.rows).toEqual([{ n: fx.flipped.size }]);
  });

  it('queries a pool: train as a table, pixels as bytes, no test table for a challenge pool', async () => {
    const counts = await runSql('german-credit', 'SELECT label, count(*) AS n FROM train GROUP BY label ORDER BY label');
    expect(counts.target).toEqual({ kind: 'pool', name: 'german-credit', tables: ['train'] });
    expect(counts.rows).toEqual([{ label: 'bad', n: 210 }, { label: 'good', n: 490 }]);
    const px = await runSql('fashion-debug', 'SELECT id, pixels FROM train LIMIT 1');
    expect(Buffer.from(px.rows[0].pixels as string, 'base64')).toHaveLength(784);
    await refused(runSql('german-credit', 'SELECT * FROM test'), /test split is evaluator-only/);
    // A mistake in the query is the query's, not a refusal by the sandbox.
    await refused(runSql('german-credit', 'SELECT no_such_column FROM train'), /^the query is not valid here: Binder Error/);
    await refused(runSql('german-credit', `SELECT * FROM read_csv('/etc/passwd')`), /^the query was refused: .*Permission Error/);
  });

  it('refuses files, COPY, writes, ATTACH, settings, extensions and more than one statement', async () => {
    const before = sha(db);
    const out = join(dir, 'leak.csv');
    for (const target of [db, 'german-credit']) {
      await refused(runSql(target, `SELECT * FROM read_csv('/etc/passwd')`), /file system operations are disabled/);
      await refused(runSql(target, `SELECT * FROM read_text('/etc/passwd')`), /file system operations are disabled/);
      await refused(runSql(target, `SELECT * FROM glob('/etc/*')`), /file system operations are disabled/);
      await refused(runSql(target, `COPY (SELECT 42) TO '${out}'`), /refused|only a SELECT/);
      await refused(runSql(target, `ATTACH '${join(dir, 'other.duckdb')}' AS other`), /refused|only a SELECT/);
      await refused(runSql(target, `CREATE TABLE t AS SELECT 1`), /only a SELECT/);
      await refused(runSql(target, `SET enable_external_access = true`), /only a SELECT/);
      await refused(runSql(target, `INSTALL httpfs`), /only a SELECT/);
      await refused(runSql(target, `SELECT 1; DROP TABLE summary`), /2 statements/);
    }
    await refused(runSql(db, `INSERT INTO summary SELECT * FROM summary`), /only a SELECT/);
    await refused(runSql(db, `DELETE FROM findings_label_errors`), /only a SELECT/);
    await refused(runSql(db, `DROP TABLE summary`), /only a SELECT/);
    await refused(runSql(db, `UPDATE summary SET verdict = 'fine'`), /only a SELECT/);
    await refused(runSql('german-credit', `SELECT * FROM read_parquet('${join(root, 'pools', 'german-credit', 'test.parquet')}')`), /file system operations are disabled/);
    await refused(runSql('fashion-debug', `SELECT * FROM read_parquet('${join(root, 'pools', 'fashion-debug', 'truth.parquet')}')`), /file system operations are disabled/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(dir, 'other.duckdb'))).toBe(false);
    expect(sha(db)).toBe(before);
  });

  it('refuses evaluator-only files as targets and views that read them', async () => {
    await refused(runSql(join(root, 'pools', 'fashion-debug', 'truth.parquet'), 'SELECT 1'), /evaluator-only truth file/, 3);
    const csv = join(dir, 'x.csv');
    writeFileSync(csv, 'a\n1\n');
    await refused(runSql(csv, 'SELECT 1'), /is not a DuckDB database/);
    // A database someone else made, holding a view over a challenge's answer key.
    const crafted = join(dir, 'crafted.duckdb');
    const inst = await DuckDBInstance.create(crafted);
    const conn = await inst.connect();
    await conn.run(`CREATE VIEW leak AS SELECT * FROM read_parquet('${join(root, 'pools', 'fashion-debug', 'truth.parquet')}')`);
    conn.closeSync();
    inst.closeSync();
    await refused(runSql(crafted, 'SELECT * FROM leak'), /file system operations are disabled/);
  });

  it('prints a table, --json and --csv from the command line', () => {
    const sieve = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin', 'sieve.mjs'), 'sql', ...args], { encoding: 'utf8' });
    const table = sieve(db, `SELECT id, given_label, suggested_label FROM findings_label_errors WHERE flagged ORDER BY id`, '--max-rows', '2');
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/│ id +│ given_label +│ suggested_label +│/);
    expect(table.stdout).toContain(`${fx.flipped.size - 2} more rows`);
    const csv = sieve('german-credit', 'SELECT label, count(*) AS n FROM train GROUP BY label ORDER BY label', '--csv');
    expect(csv.stdout).toBe('label,n\nbad,210\ngood,490\n');
    const bad = sieve('german-credit', `COPY train TO '${join(dir, 'train.csv')}'`, '--json');
    expect(bad.status).toBe(2);
    expect(JSON.parse(bad.stdout).error).toMatch(/refused|only a SELECT/);
  });
});
