/**
 * The internal endpoint workers on other machines fetch a job's files from, by content hash:
 * a challenge's spec (its exact bytes, whose sha256 the store records with each job) and its
 * pool's manifest, then each pool file by its sha256 — evaluator-only files (hidden test
 * labels, truth) included. Only worker tokens (role `worker`, which `sieve worker` makes
 * itself in the database it was given, good for a bounded time: src/server/tokens.ts) may call
 * it; an expired or revoked one gets 401, participant and organiser tokens get 403,
 * and the public API refuses worker tokens, so evaluator-only files reach workers and never
 * participants. The worker checks every byte against the manifest (src/server/worker-files.ts).
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Hono, type Context } from 'hono';
import type { ServedChallenge } from './challenges.ts';
import type { ServerStore } from './store/types.ts';
import { parseToken, tokenMatches, WORKER_TOKEN_TTL_MS } from './tokens.ts';

/** What GET /internal/challenges/NAME answers. */
export interface ChallengeBundle {
  name: string;
  spec_sha256: string;
  /** challenge.yaml, byte for byte (UTF-8). */
  spec: string;
  /** What a result record names as the challenge's and the pool's ref on the server. */
  refs: { challenge: string; pool: string };
  pool: { name: string; content_hash: string; manifest: string; files: { path: string; role: string; visibility: string; bytes: number; sha256: string }[] };
}

function fail(c: Context, status: 401 | 403 | 404, code: string, message: string) {
  return c.json({ error: { code, message } }, status);
}

export function internalApp(store: ServerStore, challenges: Map<string, ServedChallenge>): Hono {
  const app = new Hono();
  app.use('*', async (c, next) => {
    const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
    const parsed = m ? parseToken(m[1]) : null;
    const p = parsed ? await store.getParticipant(parsed.id) : null;
    // A well-formed worker token whose row is gone was revoked (or deleted by its stopping worker).
    if (parsed && !p && parsed.id.startsWith('wrk_'))
      return fail(c, 401, 'unauthorized', 'this worker token is not (or no longer) in the database: revoked (sieve serve --revoke-worker-token) or removed when its worker stopped; restart the worker for a new one');
    if (!parsed || !p || !tokenMatches(parsed.secret, p.tokenSalt, p.tokenHash)) return fail(c, 401, 'unauthorized', 'this endpoint needs a worker token');
    if (p.role !== 'worker') return fail(c, 403, 'forbidden', 'this endpoint is for sieve worker processes only');
    // A worker token lives WORKER_TOKEN_TTL_MS at most (src/server/tokens.ts), by the database's clock (the worker stamped it so).
    if (p.createdAt < (await store.dbNow()) - WORKER_TOKEN_TTL_MS) {
      return fail(c, 401, 'unauthorized', `this worker token has expired (worker tokens live ${WORKER_TOKEN_TTL_MS / 60_000} min; a running sieve worker replaces its own)`);
    }
    await next();
  });

  app.get('/challenges/:name', async (c) => {
    const s = challenges.get(c.req.param('name'));
    if (!s) return fail(c, 404, 'not-found', `no challenge "${c.req.param('name')}" on this server`);
    const ch = s.challenge;
    const bundle: ChallengeBundle = {
      name: ch.name,
      spec_sha256: ch.specSha256,
      spec: await readFile(ch.specPath, 'utf8'),
      refs: { challenge: ch.builtin ? ch.name : ch.specPath, pool: ch.poolRef },
      pool: {
        name: s.pool.name,
        content_hash: s.pool.manifest.content_hash,
        manifest: await readFile(join(s.pool.dir, 'pool.json'), 'utf8'),
        files: s.pool.manifest.files.map((f) => ({ path: f.path, role: f.role, visibility: f.visibility, bytes: f.bytes, sha256: f.sha256 })),
      },
    };
    return c.json(bundle);
  });

  app.get('/files/:sha256', async (c) => {
    const sha = c.req.param('sha256');
    if (!/^[0-9a-f]{64}$/.test(sha)) return fail(c, 404, 'not-found', 'a file is named by its sha256 (64 lowercase hex digits)');
    for (const s of challenges.values()) {
      const f = s.pool.manifest.files.find((x) => x.sha256 === sha);
      if (!f) continue;
      const path = join(s.pool.dir, f.path);
      const st = await stat(path).catch(() => null);
      if (!st?.isFile()) continue;
      return new Response(Readable.toWeb(createReadStream(path)) as ReadableStream, {
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(st.size) },
      });
    }
    return fail(c, 404, 'not-found', `no pool file of a served challenge has sha256 ${sha}`);
  });
  return app;
}
