/**
 * `sieve worker`: the evaluation queue's worker side (src/server/queue.ts, the same code as the
 * server's own workers) in a process of its own, on any machine that reaches the server's
 * PostgreSQL database. It claims jobs under leases, fetches each job's challenge and pool by
 * content hash (src/server/worker-files.ts: a shared folder, else the server's internal
 * endpoint with a worker token it registers itself in the database, replaces every few minutes
 * and revokes when it stops: src/server/tokens.ts), and writes results and
 * failures straight to the database. It never migrates the schema (the server does) and refuses
 * a database whose schema is not this sieve's.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { cacheDir } from '../util/cache-dir.ts';
import { SieveError, withFsErrors } from '../util/errors.ts';
import type { EventLogger } from './events.ts';
import { DEFAULT_LEASE_MS, EvaluationQueue } from './queue.ts';
import { dbLocation, openStore, storeKind } from './store/open.ts';
import type { ServerStore } from './store/types.ts';
import { issueToken, newId, WORKER_TOKEN_ROTATE_MS, WORKER_TOKEN_TTL_MS } from './tokens.ts';
import { WorkerFiles } from './worker-files.ts';

export interface WorkerOptions {
  db: string;
  concurrency: number;
  /** The server's address, for the job files (absent: challenge folders must exist here at the server's paths). */
  server?: string;
  /** A shared folder of pool folders, tried before the server. */
  pools?: string;
  /** This worker's cache folder: fetched pools, and its job children's SIEVE_CACHE (default: `worker/` in sieve's cache folder). */
  cache?: string;
  cacheMaxBytes?: number;
  jobTimeoutSeconds?: number;
  leaseMs?: number;
  pollMs?: number;
  /** Names this worker in the store and the logs (default host/pid). */
  name?: string;
  /** How often the worker replaces its token (default WORKER_TOKEN_ROTATE_MS; tests shorten it). */
  tokenRotateMs?: number;
  log?: EventLogger;
}

export interface RunningWorker {
  name: string;
  location: string;
  cache: string;
  queue: EvaluationQueue;
  /** The worker's current token for the server's internal endpoint (none without --server). */
  token(): string | undefined;
  /** Stops claiming, lets running jobs finish for up to `graceMs`, releases the rest, revokes its tokens, closes the database. */
  stop(graceMs?: number): Promise<void>;
}

interface WorkerToken {
  id: string;
  token: string;
}

/** A new worker token in the store, stamped with the database's clock (its age is judged by it). */
export async function issueWorkerToken(store: ServerStore, name: string): Promise<WorkerToken> {
  const id = newId('wrk');
  const t = issueToken(id);
  await store.addParticipant({ id, name: `worker ${name} ${id.slice(-6)}`, role: 'worker', tokenSalt: t.salt, tokenHash: t.hash, createdAt: await store.dbNow() });
  return { id, token: t.token };
}

/** Deletes the worker tokens past their life (of workers killed without revoking them); how many. */
export async function purgeExpiredWorkerTokens(store: ServerStore): Promise<number> {
  const oldest = (await store.dbNow()) - WORKER_TOKEN_TTL_MS;
  let n = 0;
  for (const p of await store.listParticipants('worker')) {
    if (p.createdAt < oldest && (await store.removeParticipant(p.id, 'worker'))) n++;
  }
  return n;
}

export const DEFAULT_CACHE_MAX_BYTES = 20 * 1024 ** 3;

export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  if (storeKind(opts.db) !== 'postgres') {
    throw new SieveError('sieve worker needs the server\'s PostgreSQL database (--db postgres://…)', {
      where: '--db', examples: ['a DuckDB file is opened by one process only: its server runs the evaluations itself (sieve serve --workers N)'],
    });
  }
  const cache = resolve(opts.cache ?? join(cacheDir(), 'worker'));
  // A cache folder it cannot write would make the worker claim every job and give each back
  // ("could not get the job's files"), taking jobs from workers that can run them: refused at start.
  await withFsErrors("write this worker's cache folder (--cache)", cache, async () => {
    await mkdir(cache, { recursive: true });
    const probe = join(cache, `.write-check-${process.pid}`);
    await writeFile(probe, '');
    await rm(probe, { force: true });
  });
  const location = dbLocation(opts.db);
  const store: ServerStore = await openStore(opts.db);
  try {
    const have = await store.currentVersion();
    if (have !== store.schemaVersion) {
      throw new SieveError(`the database at ${location} has schema version ${have}; this sieve worker needs ${store.schemaVersion}`, {
        where: '--db',
        examples: have < store.schemaVersion
          ? ['start the server once with this sieve (sieve serve --db …), which upgrades the schema, then the workers']
          : ['upgrade sieve on this machine to the server\'s version'],
      });
    }
    const name = opts.name ?? `${hostname()}/${process.pid}`;
    // A worker token of its own, made in the database it was given (which it may write to anyway),
    // replaced every rotation and deleted when the worker stops (src/server/tokens.ts).
    const tokens: WorkerToken[] = [];
    if (opts.server) {
      await purgeExpiredWorkerTokens(store);
      tokens.push(await issueWorkerToken(store, name));
    }
    const files = new WorkerFiles({ server: opts.server, token: tokens[0]?.token, pools: opts.pools, cacheDir: cache, maxBytes: opts.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES, log: opts.log });
    // Rotations run one at a time (a slow database must not let two overlap) and delete the token
    // before last *before* issuing the next, so this worker never holds more than two rows.
    let rotating: Promise<void> | undefined;
    const rotate = async () => {
      try {
        // Keep the current one (a request may be on its way with it); delete the one it replaced.
        while (tokens.length > 1) await store.removeParticipant(tokens.shift()!.id, 'worker');
        const next = await issueWorkerToken(store, name);
        files.setToken(next.token);
        tokens.push(next);
        const purged = await purgeExpiredWorkerTokens(store);
        opts.log?.({ event: 'token-rotated', worker: name, token: next.id, ...(purged ? { purged } : {}) });
      } catch (err) {
        opts.log?.({ event: 'token-error', worker: name, error: (err as Error).message });
      }
    };
    const tick = () => {
      if (rotating) return; // the last rotation is still running: skip this tick
      rotating = rotate().finally(() => { rotating = undefined; });
    };
    const rotation = opts.server ? setInterval(tick, opts.tokenRotateMs ?? WORKER_TOKEN_ROTATE_MS) : undefined;
    rotation?.unref();
    const queue = new EvaluationQueue(store, {
      workers: opts.concurrency,
      jobTimeoutSeconds: opts.jobTimeoutSeconds ?? 600,
      leaseMs: opts.leaseMs ?? DEFAULT_LEASE_MS,
      pollMs: opts.pollMs ?? 500,
      workerName: name,
      log: opts.log,
      prepare: (claimed) => files.prepare(claimed),
      // The job children's hidden variant pools and evaluation caches go into this worker's own
      // cache folder too, under its size limit (worker-files.ts), not into a folder shared with
      // other workers on the machine.
      childEnv: { SIEVE_CACHE: cache },
    });
    queue.start();
    let stopped: Promise<void> | undefined;
    return {
      name,
      location,
      cache,
      queue,
      token: () => tokens.at(-1)?.token,
      stop(graceMs = 0) {
        stopped ??= (async () => {
          clearInterval(rotation);
          await rotating; // a rotation under way finishes first, so its token is revoked below too
          await queue.stop(graceMs);
          // Revoked: nobody can use this worker's tokens once it is gone.
          for (const t of tokens.splice(0)) {
            await store.removeParticipant(t.id, 'worker').catch((err: Error) => opts.log?.({ event: 'token-error', worker: name, error: `could not revoke ${t.id}: ${err.message} (it expires by itself)` }));
          }
          await store.close();
        })();
        return stopped;
      },
    };
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
}
