/**
 * The store factory: a --db value names the backend. `postgres://…` (or `postgresql://…`) is a
 * PostgreSQL database, shared by a server and workers on other machines; anything else is the
 * path of an embedded DuckDB file (the default, no set-up). Each backend's module (and its
 * client library) is loaded only when chosen.
 */
import { resolve } from 'node:path';
import { SieveError } from '../../util/errors.ts';
import type { ServerStore } from './types.ts';

export type StoreKind = 'duckdb' | 'postgres';

export function storeKind(db: string): StoreKind {
  return /^postgres(ql)?:\/\//i.test(db) ? 'postgres' : 'duckdb';
}

/** A --db value as messages show it: the DuckDB file's absolute path, or the PostgreSQL URL with its password as ***. */
export function dbLocation(db: string): string {
  return storeKind(db) === 'duckdb' ? resolve(db) : pgTarget(db).redacted;
}

/** Where a postgres:// URL points, for messages (never the password). */
export interface PgTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  hasPassword: boolean;
  /** The URL with its password shown as ***. */
  redacted: string;
}

export function pgTarget(url: string): PgTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SieveError('--db is not a valid PostgreSQL URL', { where: '--db', examples: ['postgres://USER:PASSWORD@HOST:5432/DATABASE'] });
  }
  const user = decodeURIComponent(u.username) || process.env.PGUSER || process.env.USER || 'postgres';
  const hasPassword = u.password !== '';
  if (hasPassword) u.password = '***';
  return {
    host: u.searchParams.get('host') ?? (u.hostname || process.env.PGHOST || 'localhost'),
    port: Number(u.port || process.env.PGPORT || 5432),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || process.env.PGDATABASE || user,
    user,
    hasPassword,
    redacted: u.toString(),
  };
}

/** Opens the store a --db value names (not migrated: call migrate()); a SieveError says what to check when it cannot. */
export async function openStore(db: string): Promise<ServerStore> {
  if (storeKind(db) === 'postgres') {
    const { PostgresStore } = await import('./postgres.ts');
    return PostgresStore.open(db);
  }
  const { DuckDbStore } = await import('./duckdb.ts');
  return DuckDbStore.open(resolve(db));
}
