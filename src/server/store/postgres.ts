/**
 * The server's state in PostgreSQL (`sieve serve --db postgres://…`), for a server whose
 * evaluation workers run on several machines. Same interface, same SQL (jobs-sql.ts and
 * store-sql.ts, through sql-store.ts) and same meaning as the DuckDB file; what differs is concurrency: a pool of
 * connections runs many store calls at once, each in its own transaction (READ COMMITTED), so
 * a job's row is locked while a call decides about it (`FOR UPDATE`), a claim passes over jobs
 * another worker is taking (`FOR UPDATE SKIP LOCKED`), and a check-then-write (a name still
 * free, a quota with room left) first takes an advisory lock on what it checks. A transaction
 * PostgreSQL aborts for a deadlock or a serialisation conflict is run again (a few times).
 *
 * The store never prints or stores the URL's password: `location` shows it as ***.
 */
import pg from 'pg';
import { SieveError } from '../../util/errors.ts';
import { StoreUnavailable } from './types.ts';
import * as jobs from './jobs-sql.ts';
import { DIALECTS } from './migrations.ts';
import { pgTarget, type PgTarget } from './open.ts';
import { storable } from './rows.ts';
import { SqlStore } from './sql-store.ts';
import type * as sql from './store-sql.ts';

/** int8 (count(*), BIGINT times in ms) as a number: every value the schema holds fits in 2^53. */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/** SQLSTATEs after which the whole transaction is run again: serialization_failure, deadlock_detected. */
const RETRY = new Set(['40001', '40P01']);
const ATTEMPTS = 4;

/** A connection or login failure as a SieveError that says what to check (no stack, no password). */
export function connectionError(err: unknown, t: PgTarget): SieveError {
  const e = err as NodeJS.ErrnoException & { errors?: NodeJS.ErrnoException[]; code?: string };
  const code = e.code ?? e.errors?.find((x) => x.code)?.code;
  const at = `${t.host}:${t.port}`;
  const opts = (examples: string[]) => ({ where: t.redacted, examples });
  switch (code) {
    case 'ECONNREFUSED':
      return new SieveError(`cannot reach PostgreSQL at ${at}: connection refused`, opts([
        'is PostgreSQL running there? (Debian: pg_lsclusters; pg_ctlcluster 15 main start)', 'check the host and port in --db',
      ]));
    case 'ENOTFOUND': case 'EAI_AGAIN':
      return new SieveError(`cannot reach PostgreSQL: the host "${t.host}" is not known`, opts(['check the host in --db']));
    case 'ETIMEDOUT': case 'EHOSTUNREACH': case 'ENETUNREACH':
      return new SieveError(`cannot reach PostgreSQL at ${at} (${code})`, opts(['a firewall, or PostgreSQL listening elsewhere (listen_addresses in postgresql.conf)']));
    case '28P01':
      return new SieveError(`PostgreSQL at ${at} refused the password of role "${t.user}"`, opts(['check the user and password: in --db, or PGPASSWORD, or ~/.pgpass (whichever gave it)']));
    case '28000':
      return new SieveError(`PostgreSQL at ${at} refused role "${t.user}" on database "${t.database}": ${e.message}`, opts([
        'pg_hba.conf needs a line for this host, database and user; or the role does not exist (CREATE ROLE … LOGIN)',
      ]));
    case '3D000':
      return new SieveError(`there is no database "${t.database}" on PostgreSQL at ${at}`, opts([`create it: createdb -O ${t.user} ${t.database}`]));
    case '53300':
      return new SieveError(`PostgreSQL at ${at} has no connection left (too many clients)`, opts(['raise max_connections, or run fewer workers']));
    case '57P03':
      return new SieveError(`PostgreSQL at ${at} is starting up or shutting down`, opts(['try again in a moment']));
    default:
      break;
  }
  if (/password must be a string|SASL|no password/i.test(e.message ?? '')) {
    return new SieveError(`PostgreSQL at ${at} asks role "${t.user}" for a password and --db gives none`, opts([
      'postgres://USER:PASSWORD@HOST:PORT/DATABASE', 'or PGPASSWORD, or a ~/.pgpass line',
    ]));
  }
  if (/timeout/i.test(e.message ?? '')) {
    return new SieveError(`no answer from PostgreSQL at ${at} within 10 s`, opts(['a firewall, or PostgreSQL listening elsewhere (listen_addresses in postgresql.conf)']));
  }
  return new SieveError(`cannot connect to PostgreSQL at ${at} (database "${t.database}", role "${t.user}"): ${(e.message ?? String(err)).split('\n')[0]}`, opts([]));
}

export class PostgresStore extends SqlStore {
  /** Shared with workers on other machines: only an expired lease says a worker is gone. */
  readonly exclusive = false;
  readonly location: string;
  /** Row locks, and an advisory lock (held until commit) on what a check-then-write checks. */
  protected readonly locks: sql.StoreLocks = {
    ...jobs.PG_LOCKS,
    byKey: async (q, key) => { await q.exec('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]); },
  };
  protected readonly dialect = DIALECTS.postgres;

  private constructor(private readonly pool: pg.Pool, readonly target: PgTarget) {
    super();
    this.location = target.redacted;
  }

  /** Connects (one round trip to check the URL, the login and the database), or a SieveError saying what to check. */
  static async open(url: string, opts: { maxConnections?: number } = {}): Promise<PostgresStore> {
    const target = pgTarget(url);
    const pool = new pg.Pool({
      connectionString: url, max: opts.maxConnections ?? 10, connectionTimeoutMillis: 10_000, types: TYPES,
      application_name: 'sieve',
    });
    // An idle connection the server closed (a restart, a terminated backend) must not end the process:
    // the pool drops it and the next call opens another.
    pool.on('error', () => {});
    try {
      const c = await pool.connect();
      c.release();
    } catch (err) {
      await pool.end().catch(() => {});
      throw connectionError(err, target);
    }
    return new PostgresStore(pool, target);
  }

  /** One store call: a connection of the pool, inside BEGIN … COMMIT unless `tx` is false; run again on a deadlock or serialisation failure. */
  protected readonly run: sql.RunTx = async <T>(fn: (q: jobs.SqlTx) => Promise<T>, tx = true): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        const e = connectionError(err, this.target);
        throw new StoreUnavailable(e.message, { where: e.where, examples: e.examples });
      }
      const q = new PgQuery(client);
      let broken = false;
      try {
        if (!tx) return await fn(q);
        await client.query('BEGIN');
        try {
          const out = await fn(q);
          await client.query('COMMIT');
          return out;
        } catch (err) {
          await client.query('ROLLBACK').catch(() => { broken = true; });
          throw err;
        }
      } catch (err) {
        if (tx && attempt < ATTEMPTS && RETRY.has((err as { code?: string }).code ?? '')) continue;
        throw err;
      } finally {
        client.release(broken);
      }
    }
  };

  /** The migrations, with what to do when the role may not create tables. */
  override async migrate(): Promise<number> {
    try {
      return await super.migrate();
    } catch (err) {
      if ((err as { code?: string }).code === '42501') {
        const t = this.target;
        throw new SieveError(`role "${t.user}" may not create the server's tables in database "${t.database}"`, {
          where: this.location, examples: [`as the database owner: GRANT CREATE ON SCHEMA public TO ${t.user}`, `or a database of its own: createdb -O ${t.user} DATABASE`],
        });
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** One store call's SQL on one connection: $n parameters, bytes sent as bytea, strings as storable() writes them. */
class PgQuery implements jobs.SqlTx {
  constructor(private readonly client: pg.PoolClient) {}
  private static params(params: unknown[]): unknown[] {
    return params.map((v) => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : storable(v)));
  }
  async exec(text: string, params: unknown[] = []): Promise<void> {
    await this.client.query(text, PgQuery.params(params));
  }
  async rows(text: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    return (await this.client.query(text, PgQuery.params(params))).rows as Record<string, unknown>[];
  }
}
