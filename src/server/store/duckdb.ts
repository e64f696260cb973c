/**
 * The server's state in one embedded DuckDB file (the default backend). One connection, and
 * every store call runs alone under a mutex as one transaction, so calls never interleave and
 * a process killed between two calls leaves the last committed state (DuckDB's write-ahead log
 * makes a commit durable). DuckDB lets one process open a file for writing, so a second server
 * on the same file is refused by DuckDB itself. The SQL is the one both backends run
 * (store-sql.ts, jobs-sql.ts, through sql-store.ts); calls that never overlap need no row locks.
 */
import { blobValue, DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { SieveError } from '../../util/errors.ts';
import * as jobs from './jobs-sql.ts';
import { DIALECTS } from './migrations.ts';
import { storable, type Row } from './rows.ts';
import { SqlStore } from './sql-store.ts';
import type * as sql from './store-sql.ts';

export class DuckDbStore extends SqlStore {
  /** No other process can open the file while this one has it: every job running at start-up was this server's. */
  readonly exclusive = true;
  /** Calls never overlap: no locks needed. */
  protected readonly locks: sql.StoreLocks = { ...jobs.NO_LOCKS, byKey: null };
  protected readonly dialect = DIALECTS.duckdb;
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(private readonly instance: DuckDBInstance, private readonly conn: DuckDBConnection, readonly location: string) {
    super();
  }

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
  protected readonly run: sql.RunTx = <T>(fn: (q: jobs.SqlTx) => Promise<T>, tx = true): Promise<T> => {
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

  async close(): Promise<void> {
    await this.tail.catch(() => {});
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

/** One store call's SQL: statements with $n parameters, bytes sent as a BLOB, strings as storable() writes them. */
class Query implements jobs.SqlTx {
  constructor(private readonly conn: DuckDBConnection) {}
  private static params(params: unknown[]): DuckDBValue[] {
    return params.map((v) => (v instanceof Uint8Array ? blobValue(v) : storable(v))) as DuckDBValue[];
  }
  async exec(text: string, params: unknown[] = []): Promise<void> {
    await this.conn.run(text, Query.params(params));
  }
  async rows(text: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.conn.runAndReadAll(text, Query.params(params))).getRowObjects() as Row[];
  }
}
