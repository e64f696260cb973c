/**
 * The server tests run once per store backend: `describe.each(await storeBackends('name'))(…, (b) => …)`.
 * - duckdb: a file in a temporary folder per database.
 * - postgres: a new database per `b.newDb(name)`, created through $SIEVE_TEST_PG (a URL whose role
 *   may CREATE DATABASE, e.g. postgres://sieve_test:sieve_test@127.0.0.1:5432/postgres, what .ci/run
 *   sets up) and dropped when the file ends. With no $SIEVE_TEST_PG, or no PostgreSQL answering
 *   there, the postgres half is skipped and says why; under CI=true it fails instead, since CI
 *   starts a PostgreSQL for it.
 */
import { afterAll, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DuckDBInstance } from '@duckdb/node-api';
import { openStore } from '../src/server/store/open.ts';
import type { ServerStore } from '../src/server/store/types.ts';

export type BackendName = 'duckdb' | 'postgres';

export interface StoreBackend {
  name: BackendName;
  /** Why this backend's half is skipped (null: it runs). */
  skip: string | null;
  /**
   * A --db value naming a new, empty database (unique in this test file). `icuLocale`
   * (PostgreSQL): the database orders text by that ICU collation, as a deployment's might.
   */
  newDb(name: string, opts?: { icuLocale?: string }): Promise<string>;
  /** A new database, opened and migrated. */
  open(name: string): Promise<ServerStore>;
  /** Raw SQL on a database no store has open (tests that look under the store). */
  sql(db: string, statement: string): Promise<Record<string, unknown>[]>;
}

const PG_ENV = 'SIEVE_TEST_PG';

/** A name PostgreSQL takes unquoted: lower case letters, digits, underscores, at most 63. */
const pgName = (s: string) => s.toLowerCase().replace(/[^a-z0-9_]+/g, '_').slice(0, 63);

async function adminClient(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  c.on('error', () => {});
  await c.connect();
  return c;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function postgresBackend(file: string): Promise<StoreBackend> {
  const url = process.env[PG_ENV];
  const skipped = (why: string): StoreBackend => {
    if (process.env.CI) throw new Error(`CI runs the PostgreSQL half of the server tests, but ${why} (.ci/run starts PostgreSQL and sets ${PG_ENV})`);
    return { name: 'postgres', skip: why, newDb: unavailable, open: unavailable, sql: unavailable };
  };
  if (!url) return skipped(`${PG_ENV} is not set (e.g. ${PG_ENV}=postgres://sieve_test:sieve_test@127.0.0.1:5432/postgres; see docs/testing.md)`);
  let admin: pg.Client;
  try {
    admin = await adminClient(url);
  } catch (err) {
    return skipped(`no PostgreSQL answers at ${PG_ENV} (${(err as Error).message.split('\n')[0]})`);
  }
  await admin.end();
  const prefix = pgName(`sieve_t_${file}_`).slice(0, 40);
  // Databases a killed earlier run of this file left behind (its process is gone) are dropped first.
  await dropDatabases(url, prefix, (rest) => {
    const pid = Number(rest.split('_')[0]); // names are PREFIX + pid + _ + name
    return Number.isInteger(pid) && pid !== process.pid && !alive(pid);
  });
  const mine = `${prefix}${process.pid}_`;
  const made: string[] = [];
  afterAll(() => dropDatabases(url, mine, () => true), 60_000);
  const backend: StoreBackend = {
    name: 'postgres',
    skip: null,
    async newDb(name, opts = {}) {
      const database = pgName(`${mine}${name}`);
      if (made.includes(database)) throw new Error(`database ${name} made twice in ${file}`);
      made.push(database);
      const c = await adminClient(url);
      try {
        await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        const icu = opts.icuLocale ? ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '${opts.icuLocale.replace(/[^A-Za-z0-9_-]/g, '')}'` : '';
        await c.query(`CREATE DATABASE ${database}${icu}`);
      } finally {
        await c.end();
      }
      return withDatabase(url, database);
    },
    async open(name) {
      const store = await openStore(await backend.newDb(name));
      await store.migrate();
      return store;
    },
    async sql(db, statement) {
      const c = await adminClient(db);
      try {
        return (await c.query(statement)).rows;
      } finally {
        await c.end();
      }
    },
  };
  return backend;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Drops the databases named PREFIX + rest for which `drop(rest)` says so. */
async function dropDatabases(url: string, prefix: string, drop: (rest: string) => boolean): Promise<void> {
  const c = await adminClient(url);
  try {
    const { rows } = await c.query('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [prefix]);
    for (const { datname } of rows as { datname: string }[]) {
      if (drop(datname.slice(prefix.length))) await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    }
  } finally {
    await c.end();
  }
}

function duckdbBackend(file: string): StoreBackend {
  const dir = mkdtempSync(join(tmpdir(), `sieve-${file}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const backend: StoreBackend = {
    name: 'duckdb',
    skip: null,
    async newDb(name) {
      return join(dir, `${name}.duckdb`);
    },
    async open(name) {
      const store = await openStore(await backend.newDb(name));
      await store.migrate();
      return store;
    },
    async sql(db, statement) {
      const inst = await DuckDBInstance.create(db);
      const conn = await inst.connect();
      try {
        return (await conn.runAndReadAll(statement)).getRowObjectsJson() as Record<string, unknown>[];
      } finally {
        conn.closeSync();
        inst.closeSync();
      }
    },
  };
  return backend;
}

async function unavailable(): Promise<never> {
  throw new Error('this backend is skipped');
}

/**
 * Both backends for `describe.each`, the file's name naming its databases. A skipped backend's
 * describe should start with `if (skipIfUnavailable(b)) return;`, which registers one skipped
 * test that carries the reason.
 */
export async function storeBackends(file: string): Promise<StoreBackend[]> {
  const pgb = await postgresBackend(file);
  if (pgb.skip) console.warn(`${file}: the PostgreSQL half is skipped: ${pgb.skip}`);
  return [duckdbBackend(file), pgb];
}

/** In a backend's describe: true (and one skipped test naming the reason) when the backend is unavailable. */
export function skipIfUnavailable(b: StoreBackend): boolean {
  if (!b.skip) return false;
  it.skip(`skipped: ${b.skip}`, () => {});
  return true;
}
