/**
 * Starting the challenge server: `initServer` makes the database (schema, an organiser and
 * their token, shown once); `startServer` opens it, runs pending migrations, puts every job
 * an earlier process left running back in the queue, records the served challenges, starts the
 * evaluation workers and listens. `sieve serve` is a thin layer over these two.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { serve, type ServerType } from '@hono/node-server';
import { SieveError } from '../util/errors.ts';
import { createApp, DEFAULT_MAX_UPLOAD_BYTES } from './app.ts';
import { loadCreatedChallenges, loadServedChallenges, syncChallenges } from './challenges.ts';
import { leaderboard, Significance } from './leaderboard.ts';
import type { EventLogger } from './events.ts';
import { DEFAULT_LEASE_MS, EvaluationQueue } from './queue.ts';
import { dbLocation, openStore, pgTarget, storeKind } from './store/open.ts';
import type { ServerStore } from './store/types.ts';
import { issueToken, newId, WORKER_TOKEN_TTL_MS } from './tokens.ts';

export const DEFAULT_DB = 'sieve-server.duckdb';
/** Requests per minute per client address and per token: a class's browsers and scripts stay well under it. */
export const DEFAULT_RATE_PER_MINUTE = 600;

/**
 * Where challenges created through the API keep their challenge.yaml: a folder beside the
 * DuckDB file; for PostgreSQL (no file), `sieve-server-DATABASE.challenges` in the folder the
 * server is started from.
 */
function createdChallengesFolder(db: string): string {
  if (storeKind(db) === 'duckdb') return `${resolve(db)}.challenges`;
  return resolve(`sieve-server-${pgTarget(db).database.replace(/[^A-Za-z0-9._-]/g, '_')}.challenges`);
}

export async function initServer(db: string): Promise<{ token: string; organiser: string; path: string; schemaVersion: number }> {
  const path = dbLocation(db);
  // A new DuckDB file's folder is made, as `evaluate --out` makes its folder.
  if (storeKind(db) === 'duckdb') await mkdir(dirname(path), { recursive: true });
  const store = await openStore(db);
  try {
    const version = await store.migrate();
    if ((await store.countParticipants('organiser')) > 0) {
      throw new SieveError('this server database is already initialised (it has an organiser)', {
        where: path, examples: ['tokens are shown once and stored only as hashes; start a new database with another --db to get a new organiser token'],
      });
    }
    const id = newId('org');
    const t = issueToken(id);
    await store.addParticipant({ id, name: 'organiser', role: 'organiser', tokenSalt: t.salt, tokenHash: t.hash, createdAt: Date.now() });
    return { token: t.token, organiser: id, path, schemaVersion: version };
  } finally {
    await store.close();
  }
}

/** Opens the server database for an organiser's command on its tokens: initialised, with this sieve's schema. */
async function openInitialised(db: string): Promise<{ store: ServerStore; path: string }> {
  const path = dbLocation(db);
  if (storeKind(db) === 'duckdb' && !existsSync(path)) throw new SieveError(`no server database at ${path}`, { where: '--db', examples: [`sieve serve --init --db ${db}`] });
  const store = await openStore(db);
  try {
    const have = await store.currentVersion();
    if (have === 0) throw new SieveError(`the database at ${path} holds no sieve server`, { where: '--db', examples: [`sieve serve --init --db ${storeKind(db) === 'duckdb' ? db : path}`] });
    if (have !== store.schemaVersion) {
      throw new SieveError(`the database at ${path} has schema version ${have}; this sieve needs ${store.schemaVersion}`, {
        where: '--db', examples: have < store.schemaVersion ? ['start the server once with this sieve (it upgrades the schema), then run this again'] : ['use the sieve the server runs'],
      });
    }
    return { store, path };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/**
 * A new token for the organiser (the one `--init` made), shown once; the old token stops
 * working at once, on running servers too (they check every request against the database).
 * Recorded in the action log as `organiser.token`.
 */
export async function newOrganiserToken(db: string): Promise<{ token: string; organiser: string; path: string }> {
  const { store, path } = await openInitialised(db);
  try {
    const organisers = await store.listParticipants('organiser');
    if (organisers.length !== 1) {
      throw new SieveError(organisers.length ? `the server database has ${organisers.length} organisers; expected the one sieve serve --init made` : 'the server database has no organiser', {
        where: path, examples: organisers.map((o) => o.id),
      });
    }
    const org = organisers[0];
    const t = issueToken(org.id);
    const at = Date.now();
    const ok = await store.setParticipantToken(org.id, t.salt, t.hash, {
      id: newId('act'), at, actor: org.id, action: 'organiser.token', challenge: null,
      detail: JSON.stringify({ what: 'the organiser token was replaced (sieve serve --new-organiser-token); the old one no longer works' }),
    });
    if (!ok) throw new SieveError('the organiser disappeared while its token was replaced', { where: path });
    return { token: t.token, organiser: org.id, path };
  } finally {
    await store.close();
  }
}

export interface WorkerTokenInfo {
  id: string;
  name: string;
  createdAt: number;
  /** When it stops working by age (WORKER_TOKEN_TTL_MS after it was made); a running worker replaces it before. */
  expiresAt: number;
  expired: boolean;
}

/** The worker tokens in the database, by the database's clock. */
export async function listWorkerTokens(db: string): Promise<{ path: string; tokens: WorkerTokenInfo[] }> {
  const { store, path } = await openInitialised(db);
  try {
    const now = await store.dbNow();
    const tokens = (await store.listParticipants('worker')).map((p) => ({
      id: p.id, name: p.name, createdAt: p.createdAt, expiresAt: p.createdAt + WORKER_TOKEN_TTL_MS, expired: p.createdAt + WORKER_TOKEN_TTL_MS <= now,
    }));
    return { path, tokens };
  } finally {
    await store.close();
  }
}

/**
 * Revokes worker tokens: one by id, or `all` (a running worker then cannot fetch files until
 * its next rotation makes it a new token: stop those workers first), or `expired`.
 */
export async function revokeWorkerTokens(db: string, which: string): Promise<{ path: string; revoked: string[] }> {
  const { store, path } = await openInitialised(db);
  try {
    const now = await store.dbNow();
    const all = await store.listParticipants('worker');
    const chosen = which === 'all' ? all : which === 'expired' ? all.filter((p) => p.createdAt + WORKER_TOKEN_TTL_MS <= now) : all.filter((p) => p.id === which);
    if (!chosen.length && which !== 'all' && which !== 'expired') {
      throw new SieveError(`no worker token "${which}" in the database`, { where: '--revoke-worker-token', examples: ['sieve serve --list-worker-tokens lists them; or pass all, or expired'] });
    }
    const revoked: string[] = [];
    for (const p of chosen) if (await store.removeParticipant(p.id, 'worker')) revoked.push(p.id);
    return { path, revoked };
  } finally {
    await store.close();
  }
}

export interface ServeOptions {
  db: string;
  port: number;
  host?: string;
  challengesDir?: string;
  workers?: number;
  jobTimeoutSeconds?: number;
  /** Lease of a job this server's own slots claim (ms); default DEFAULT_LEASE_MS. */
  leaseMs?: number;
  maxUploadBytes?: number;
  /** Requests per minute per address and per token (0: off). */
  ratePerMinute?: number;
  /** Host names requests may name in their Host header (app.ts AppOptions.allowedHosts); absent: any. */
  allowedHosts?: string[];
  /** One line per job event (queued, cancelled, and the own slots' claimed, done, …) and server event. */
  log?: EventLogger;
}

export interface RunningServer {
  url: string;
  /** The database (a path, or the URL with its password as ***). */
  location: string;
  port: number;
  recovered: { requeued: number; failed: number };
  challenges: string[];
  workers: number;
  /** Jobs this server's own slots are evaluating now. */
  busy(): number;
  /**
   * Stops listening, lets the own slots' running jobs finish for up to `graceMs`, releases the
   * rest to the queue, closes the database.
   */
  close(graceMs?: number): Promise<void>;
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const path = dbLocation(opts.db);
  const init = `create it first: sieve serve --init --db ${storeKind(opts.db) === 'duckdb' ? opts.db : path}`;
  if (storeKind(opts.db) === 'duckdb' && !existsSync(path)) throw new SieveError(`no server database at ${path}`, { where: '--db', examples: [init] });
  const challenges = await loadServedChallenges(opts.challengesDir);
  const store: ServerStore = await openStore(opts.db);
  try {
    if ((await store.currentVersion()) === 0) throw new SieveError(`the database at ${path} holds no sieve server`, { where: '--db', examples: [init] });
    await store.migrate();
    if ((await store.countParticipants('organiser')) === 0) {
      throw new SieveError('the server database has no organiser', { where: path, examples: [init.replace('create it first: ', '')] });
    }
  } catch (err) {
    await store.close();
    throw err;
  }
  // Only a server alone on its database may take every running job for its own interrupted one;
  // on a shared database the jobs of workers elsewhere come back when their leases expire.
  const recovered = store.exclusive ? await store.recoverInterrupted(Date.now()) : { requeued: 0, failed: 0 };
  await syncChallenges(store, challenges);
  const createdChallengesDir = createdChallengesFolder(opts.db);
  for (const problem of await loadCreatedChallenges(store, challenges)) opts.log?.({ event: 'challenge-skipped', reason: problem });
  const workers = opts.workers ?? availableParallelism();
  let closed = false;
  const significance = new Significance();
  // After each result, that challenge's leaderboard comparisons are computed in the background
  // (one run per challenge at a time; a result arriving meanwhile triggers one more run), so a
  // read rarely waits for them.
  const warming = new Map<string, { running: boolean; again: boolean }>();
  const warm = (name: string): void => {
    const s = challenges.get(name);
    if (!s) return;
    const w = warming.get(name) ?? { running: false, again: false };
    warming.set(name, w);
    if (w.running) { w.again = true; return; }
    w.running = true;
    void (async () => {
      do {
        w.again = false;
        await leaderboard(s.challenge, await store.listResults(name), new Date(), significance)
          .catch((err: Error) => opts.log?.({ event: 'leaderboard-error', challenge: name, error: err.message }));
      } while (w.again && !closed);
      w.running = false;
    })();
  };
  const queue = new EvaluationQueue(store, { workers, jobTimeoutSeconds: opts.jobTimeoutSeconds ?? 600, leaseMs: opts.leaseMs ?? DEFAULT_LEASE_MS, log: opts.log, onResult: warm });
  const app = createApp({
    store, challenges, significance, createdChallengesDir,
    onQueued: (e) => { opts.log?.({ event: 'queued', ...e }); queue.notify(); },
    onCancelled: (e) => opts.log?.({ event: 'cancelled', ...e }),
    maxUploadBytes: opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES, ratePerMinute: opts.ratePerMinute ?? DEFAULT_RATE_PER_MINUTE,
    ...(opts.allowedHosts ? { allowedHosts: opts.allowedHosts } : {}),
  });
  const host = opts.host ?? '127.0.0.1';
  const { server, port } = await new Promise<{ server: ServerType; port: number }>((ok, fail) => {
    const s = serve({ fetch: app.fetch, port: opts.port, hostname: host }, (info) => ok({ server: s, port: info.port }));
    s.once('error', (err: NodeJS.ErrnoException) => fail(new SieveError(`cannot listen on ${host}:${opts.port} (${err.code ?? err.message})`, { where: '--port' })));
    // A flood of half-open connections must not take the file descriptors the server needs to
    // read its own modules and files (20,000 of them broke every upload until a restart): at
    // most half the process's limit, and a client has HEADERS_TIMEOUT_MS to send its headers.
    const http = s as unknown as { maxConnections?: number; headersTimeout?: number };
    http.maxConnections = connectionCap();
    http.headersTimeout = HEADERS_TIMEOUT_MS;
  });
  queue.start();
  return {
    url: `http://${host}:${port}`,
    location: path,
    port,
    recovered,
    challenges: [...challenges.keys()],
    workers,
    busy: () => queue.busy,
    async close(graceMs = 0) {
      if (closed) return;
      closed = true;
      await new Promise<void>((ok) => server.close(() => ok()));
      await queue.stop(graceMs);
      await store.close();
    },
  };
}

/** How long a client may take to send its request headers. */
const HEADERS_TIMEOUT_MS = 20_000;

/** Half the process's soft limit on open files (Linux: /proc/self/limits), 1,000 elsewhere. */
function connectionCap(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) return Math.max(64, Math.floor(Number(m[1]) / 2));
  } catch { /* not Linux */ }
  return 1000;
}
