/**
 * The one way sieve runs SQL it did not write (a SQL strategy, `sieve sql`): a DuckDB
 * instance of its own, locked down in layers before the text is even parsed.
 *
 *  1. its own instance: in memory (holding only copies of participant data the caller put
 *     there), or one DuckDB file opened with `access_mode = READ_ONLY`, so the file cannot
 *     be written whatever the statement;
 *  2. no extension autoloading or installing, no community extensions, no spill directory;
 *  3. `enable_external_access = false`: no file (read_csv('/etc/passwd'), read_parquet of a
 *     pool's test or truth file, glob, COPY ... TO, ATTACH of a file), no extension, no network;
 *  4. `lock_configuration = true`: the SQL cannot SET any of this back;
 *  5. exactly one statement, and a SELECT (checked on the prepared statement before it runs).
 */
import { DuckDBInstance, StatementType, type DuckDBConnection, type DuckDBPreparedStatement } from '@duckdb/node-api';
import { SieveError } from '../util/errors.ts';

export interface Sandbox {
  instance: DuckDBInstance;
  conn: DuckDBConnection;
  close(): void;
}

/** Opens the sandbox's instance: in memory, or `file` read-only. Call lockDown once its data is in. */
export async function openSandbox(opts: { memoryMb?: number; threads?: number; file?: string } = {}): Promise<Sandbox> {
  const config: Record<string, string> = {
    threads: String(opts.threads ?? 1),
    // No spill files: a query that needs more memory fails instead of writing to disk.
    temp_directory: '',
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    allow_community_extensions: 'false',
  };
  if (opts.memoryMb) config.memory_limit = `${opts.memoryMb}MB`;
  if (opts.file) config.access_mode = 'READ_ONLY';
  const instance = await DuckDBInstance.create(opts.file ?? ':memory:', config);
  const conn = await instance.connect();
  let closed = false;
  return {
    instance,
    conn,
    close() {
      if (closed) return;
      closed = true;
      conn.closeSync();
      instance.closeSync();
    },
  };
}

/** External access off and the configuration locked: from here on SQL reaches only what is loaded. */
export async function lockDown(conn: DuckDBConnection): Promise<void> {
  await conn.run('SET enable_external_access = false');
  await conn.run('SET lock_configuration = true');
}

/** The first line of a DuckDB error, at most 300 characters. */
export function firstLine(err: unknown): string {
  const msg = (err as Error)?.message ?? String(err);
  const line = msg.split('\n')[0];
  return line.length > 300 ? line.slice(0, 297) + '...' : line;
}

/** The offset of a statement's first token, after whitespace and comments (the length when there is none). */
export function firstToken(sql: string): number {
  let i = 0;
  for (;;) {
    while (i < sql.length && /\s/.test(sql[i])) i++;
    if (sql.startsWith('--', i)) {
      const e = sql.indexOf('\n', i);
      i = e < 0 ? sql.length : e + 1;
    } else if (sql.startsWith('/*', i)) {
      const e = sql.indexOf('*/', i + 2);
      i = e < 0 ? sql.length : e + 2;
    } else break;
  }
  return i;
}

/** The first keyword of a statement, after whitespace and comments. */
export function leadingKeyword(sql: string): string {
  const i = firstToken(sql);
  if (sql[i] === '(') return '(';
  return /^[A-Za-z_]+/.exec(sql.slice(i))?.[0].toUpperCase() ?? '';
}

/**
 * Prepares `sql` after checking it is exactly one statement and a SELECT (DuckDB types
 * DESCRIBE, SHOW, SUMMARIZE and `FROM t` as SELECTs too). `what` names the SQL in messages
 * ("the query", "the SQL strategy"); a DuckDB error at prepare time is rethrown as is.
 */
export async function prepareOneSelect(conn: DuckDBConnection, sql: string, what: string, where: string): Promise<DuckDBPreparedStatement> {
  let extracted;
  try {
    extracted = await conn.extractStatements(sql);
  } catch (err) {
    throw new SieveError(`${what} does not parse`, { where, examples: [firstLine(err)] });
  }
  if (extracted.count === 0) throw new SieveError(`${what} holds no statement`, { where });
  if (extracted.count > 1) {
    throw new SieveError(`${what} holds ${extracted.count} statements; it must be exactly one SELECT`, {
      where,
      examples: ['remove the other statements (a ";" between two statements makes two)'],
    });
  }
  const keyword = leadingKeyword(sql);
  // conn.prepare reports DuckDB's own message (the extracted statement's prepare does not).
  const prepared = await conn.prepare(sql);
  if (prepared.statementType !== StatementType.SELECT) {
    throw new SieveError(`${what} is ${keyword ? `a ${keyword} statement` : 'not a SELECT'}; only a SELECT runs here (read-only)`, {
      where,
      examples: ['it may start with SELECT, WITH, FROM, DESCRIBE, SHOW or SUMMARIZE'],
    });
  }
  return prepared;
}
