/**
 * The challenge server's HTTP API (hono): a thin layer over the services the CLI uses. It
 * validates an upload with checkSubmission (the same strict rules as `sieve evaluate`, in a
 * worker thread: upload-check.ts), stores it with its job in one transaction within the
 * participant's caps, and answers 202 only then; evaluation happens in the queue's workers, outside the request path. Records leave the
 * server only through publicView. Every error is JSON of one shape:
 * `{ "error": { "code", "message", "where"?, "examples"? } }`.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { isClosed } from '../challenge/load.ts';
import { timeWithoutZone } from '../challenge/schema.ts';
import { coarseCurve, publicView, type PublicRecord, type ResultRecord } from '../evaluate/record.ts';
import { SUBMISSION_EXTENSIONS } from '../submission/parse.ts';
import { checkStrategyAccepted } from '../submission/sources/strategy.ts';
import { isStrategyPath, STRATEGY_EXTENSIONS, strategyFromBytes } from '../strategy/runners.ts';
import { detectLayer } from '../strategy/sandbox/layers.ts';
import type { StrategyKind } from '../strategy/types.ts';
import { taskOf } from '../tasks/index.ts';
import { SieveError } from '../util/errors.ts';
import { PACKAGE_ROOT } from '../util/package-root.ts';
import { createChallengeFolder, type ServedChallenge } from './challenges.ts';
import { DOWNLOAD_FORMATS, downloads, findDownload, parquetDownloads, type DownloadFormat } from './downloads.ts';
import { leaderboard, Significance } from './leaderboard.ts';
import { internalApp } from './internal.ts';
import { opsApp } from './ops.ts';
import { pagesApp } from './pages/index.tsx';
import { MAX_ATTEMPTS } from './queue.ts';
import { RateLimiter } from './rate-limit.ts';
import { StoreUnavailable, type ActionRow, type AuditRow, type ChallengeState, type JobRow, type ParticipantRow, type PhaseRow, type ServerStore } from './store/types.ts';
import { issueToken, newId, parseToken, tokenMatches } from './tokens.ts';
import { FormRefused, UPLOAD_FRAMING_BYTES, UploadChecks } from './upload-check.ts';
import { entrantVariantError } from '../evaluate/variants.ts';
import { isReservedName } from './names.ts';

export type ErrorCode =
  | 'bad-request' | 'unauthorized' | 'forbidden' | 'not-found' | 'conflict' | 'too-large' | 'quota-exceeded'
  | 'invalid-submission' | 'not-accepted' | 'challenge-closed' | 'not-cancellable' | 'rate-limited' | 'unavailable' | 'internal';

export class ApiError extends Error {
  constructor(readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 421 | 422 | 429 | 500 | 503, readonly code: ErrorCode, message: string, readonly where?: string, readonly examples: string[] = []) {
    super(message);
  }
}

export interface AppOptions {
  store: ServerStore;
  challenges: Map<string, ServedChallenge>;
  /** Called after a job is stored (wakes a worker; the server logs it). */
  onQueued?: (e: { job: string; submission: string; challenge: string; participant: string; kind: 'file' | 'strategy'; bytes: number }) => void;
  /** Called after a participant or organiser cancelled a queued job (the server logs it). */
  onCancelled?: (e: { job: string; submission: string; challenge: string; participant: string; by: string }) => void;
  /** Largest upload accepted, in bytes. */
  maxUploadBytes: number;
  /** Requests per minute per client address and per API token (0 or absent: no limit). */
  ratePerMinute?: number;
  /**
   * Host names (lower case, no port) the Host header must name, loopback names always allowed;
   * absent: any. A web page whose name an attacker re-points at this server's address (DNS
   * rebinding) sends its own name: refused with 421, it cannot use the server from a visitor's
   * browser (register, submit, read what the visitor's network can reach).
   */
  allowedHosts?: string[];
  /** The rate limiter's clock in ms (default Date.now; tests freeze it so no bucket refills mid-test). */
  rateClock?: () => number;
  now?: () => Date;
  /** The leaderboard's paired comparisons and their cache (shared with whoever warms it). */
  significance?: Significance;
  /** Where challenges created through the API are written (one folder each); absent: creating is refused. */
  createdChallengesDir?: string;
  /** Where uploaded submission files are validated (default: two threads of the worker pool). */
  uploadChecks?: UploadChecks;
}

/** The cap on every request body that is not an upload (JSON, the pages' forms). */
export const SMALL_BODY_BYTES = 64 * 1024;

/** Default upload cap: a submission of a million ids is about 10 MB as CSV. */
export const DEFAULT_MAX_UPLOAD_BYTES = 16 * 1024 * 1024;

const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;

function errorBody(e: ApiError) {
  return { error: { code: e.code, message: e.message, ...(e.where ? { where: e.where } : {}), ...(e.examples.length ? { examples: e.examples } : {}) } };
}

function dayStart(now: Date): number {
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
}

export function createApp(opts: AppOptions): Hono {
  const { store, challenges } = opts;
  const now = opts.now ?? (() => new Date());
  const app = new Hono();
  const significance = opts.significance ?? new Significance();
  const uploadChecks = opts.uploadChecks ?? new UploadChecks();

  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json(errorBody(err), err.status);
    if (err instanceof StoreUnavailable) {
      // The database's host, role and name are the operator's: logged here, not answered.
      console.error(`sieve serve: ${c.req.method} ${c.req.path}: ${err.message}`);
      c.header('Retry-After', '5');
      return c.json(errorBody(new ApiError(503, 'unavailable', "the server's database is unreachable for the moment; try again shortly (a stored submission is kept and scored)")), 503);
    }
    if (err instanceof SieveError) {
      return c.json(errorBody(new ApiError(400, 'bad-request', err.message, err.where, err.examples)), 400);
    }
    console.error(`sieve serve: internal error on ${c.req.method} ${c.req.path}:`, err);
    return c.json(errorBody(new ApiError(500, 'internal', 'internal server error (logged on the server)')), 500);
  });
  app.notFound((c) => c.json(errorBody(new ApiError(404, 'not-found', `no such endpoint: ${c.req.method} ${c.req.path}`)), 404));

  if (opts.allowedHosts) {
    const allowed = new Set([...opts.allowedHosts.map((h) => h.toLowerCase()), 'localhost', '127.0.0.1', '::1']);
    app.use('*', async (c, next) => {
      const env = c.env as { sieveInProcess?: boolean } | undefined;
      if (env?.sieveInProcess === true) return next();
      const header = (c.req.header('host') ?? '').toLowerCase();
      // "name:port", "[v6]:port" or a bare name.
      const name = header.startsWith('[') ? header.slice(1, header.indexOf(']')) : header.replace(/:\d+$/, '');
      if (!allowed.has(name)) {
        return c.json(errorBody(new ApiError(421, 'bad-request', `this server does not answer to the host name "${name || '(none)'}"`, 'Host', [`its names: ${[...allowed].join(', ')} (sieve serve --allowed-hosts)`])), 421);
      }
      await next();
    });
  }

  // Per address and, for requests bearing a token, per token: both must have room.
  if (opts.ratePerMinute) {
    const byAddress = new RateLimiter(opts.ratePerMinute);
    const byToken = new RateLimiter(opts.ratePerMinute);
    app.use('*', async (c, next) => {
      const env = c.env as { incoming?: { socket?: { remoteAddress?: string } }; sieveInProcess?: boolean } | undefined;
      // The pages' in-process calls to this API (src/server/pages/): the page request itself was
      // already limited; @hono/node-server's env ({ incoming, outgoing }) never carries this marker.
      if (env?.sieveInProcess === true) return next();
      const address = env?.incoming?.socket?.remoteAddress ?? 'unknown';
      const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
      // Keyed by the whole token, not the id it names: the id is the visible part of a token,
      // and a forged secret with someone's id drained their bucket (an adversary's tryout kept
      // a participant at 429 from another address). A forged token gets a bucket of its own.
      const id = bearer && parseToken(bearer) ? createHash('sha256').update(bearer).digest('base64url') : undefined;
      const t = (opts.rateClock ?? Date.now)();
      for (const r of [byAddress.take(address, t), ...(id ? [byToken.take(id, t)] : [])]) {
        if (!r.ok) {
          c.header('retry-after', String(r.retryAfterSeconds));
          return c.json(errorBody(new ApiError(429, 'rate-limited', `too many requests; try again in ${r.retryAfterSeconds} s`, id ? 'token' : 'address')), 429);
        }
      }
      await next();
    });
  }

  // Every other body (JSON, the pages' forms) is small: a cap before anything reads it, chunked or not.
  // Uploads (a submission, a challenge spec) have their own caps at their routes.
  const smallBody = bodyLimit({
    maxSize: SMALL_BODY_BYTES,
    onError: (c) => c.json(errorBody(new ApiError(413, 'too-large', `the request body is larger than ${SMALL_BODY_BYTES / 1024} KB`, 'body')), 413),
  });
  app.use('*', async (c, next) => {
    const m = c.req.method;
    if (m === 'GET' || m === 'HEAD' || m === 'OPTIONS') return next();
    // A compressed body is read by no route (a gzip JSON body read as "no name given"): say so.
    const encoding = (c.req.header('content-encoding') ?? 'identity').trim().toLowerCase();
    if (encoding !== 'identity') throw new ApiError(415, 'bad-request', `the request body is ${encoding}-encoded; this server reads bodies uncompressed`, 'Content-Encoding');
    const path = c.req.path;
    if (/^\/(api\/)?challenges\/[^/]+\/(submissions|submit)$/.test(path) || (path === '/api/challenges' && m === 'POST')) return next();
    return smallBody(c, next);
  });

  const served = (name: string): ServedChallenge => {
    const s = challenges.get(name);
    if (!s) throw new ApiError(404, 'not-found', `no challenge "${name}" on this server`, 'challenge', [`challenges: ${[...challenges.keys()].join(', ')}`]);
    return s;
  };

  const caller = async (c: Context): Promise<ParticipantRow | null> => {
    const h = c.req.header('authorization');
    if (!h) return null;
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    const parsed = m ? parseToken(m[1]) : null;
    const bad = new ApiError(401, 'unauthorized', 'the API token is not valid', 'Authorization', ['send "Authorization: Bearer <token>" with the token POST /api/register gave you']);
    if (!parsed) throw bad;
    const p = await store.getParticipant(parsed.id);
    if (!p || !tokenMatches(parsed.secret, p.tokenSalt, p.tokenHash)) throw bad;
    // A worker token opens the internal pool endpoint only (src/server/internal.ts), never the API.
    if (p.role === 'worker') throw new ApiError(403, 'forbidden', 'a worker token is not an API token', 'Authorization', ['use a participant or organiser token']);
    return p;
  };
  const requireCaller = async (c: Context): Promise<ParticipantRow> => {
    const p = await caller(c);
    if (!p) throw new ApiError(401, 'unauthorized', 'this endpoint needs an API token', 'Authorization', ['send "Authorization: Bearer <token>"; get one with POST /api/register']);
    return p;
  };

  /**
   * A challenge's state as the server enforces it: draft until an organiser opens a challenge
   * created through the API; closed once an organiser closed it, its `closes` date passed,
   * or every phase has closed; else open. Submissions need it open and a phase open now.
   */
  const stateOf = async (s: ServedChallenge): Promise<{ state: ChallengeState; phases: PhaseRow[]; phaseOpen: PhaseRow | null }> => {
    const row = await store.getChallenge(s.challenge.name);
    const phases = await store.listPhases(s.challenge.name);
    const t = now().getTime();
    const phaseOpen = phases.find((p) => (p.opensAt === null || p.opensAt <= t) && (p.closesAt === null || t < p.closesAt)) ?? null;
    const allClosed = phases.length > 0 && phases.every((p) => p.closesAt !== null && p.closesAt <= t);
    const stored = row?.state ?? 'open';
    const state: ChallengeState = stored === 'draft' ? 'draft' : stored === 'closed' || isClosed(s.challenge, now()) || allClosed ? 'closed' : 'open';
    return { state, phases, phaseOpen };
  };
  const phaseJson = (p: PhaseRow) => ({
    name: p.name,
    opens_at: p.opensAt === null ? null : new Date(p.opensAt).toISOString(),
    closes_at: p.closesAt === null ? null : new Date(p.closesAt).toISOString(),
  });

  const summary = async (s: ServedChallenge) => {
    const c = s.challenge;
    const st = await stateOf(s);
    return {
      name: c.name,
      title: c.title,
      version: c.version,
      task: c.task,
      state: st.state,
      closes: c.closes ?? null,
      phases: st.phases.map(phaseJson),
      pool: s.pool.name,
      budget: taskOf(c.task).budgetText(c.budget),
      primary: { name: c.metrics.primary, direction: c.metrics.direction },
      limits: c.limits,
    };
  };

  // /healthz and /metrics for monitors; /internal for sieve worker processes (worker tokens only).
  app.route('/', opsApp(store));
  app.route('/internal', internalApp(store, challenges));

  app.get('/api/challenges', async (c) => c.json({ challenges: await Promise.all([...challenges.values()].map(summary)) }));

  app.get('/api/challenges/:name', async (c) => {
    const s = served(c.req.param('name'));
    const ch = s.challenge;
    const readme = await readFile(join(ch.dir, 'README.md'), 'utf8').catch(() => null);
    const m = s.pool.manifest;
    return c.json({
      ...(await summary(s)),
      description: ch.description ?? null,
      story: readme,
      rules: {
        submission: taskOf(ch.task).summary,
        columns: taskOf(ch.task).columns,
        budget: ch.budget,
        model: ch.model,
        metrics: ch.metrics,
        test: ch.test,
        limits: ch.limits,
        bootstrap: ch.bootstrap,
      },
      datasheet: m.datasheet ?? null,
      classes: m.classes,
      groups: m.groups.map((g) => g.name),
      baselines: ch.baselines,
      files: (await parquetDownloads(s.pool)).map(({ path: _p, ...f }) => f),
      // The same splits as Arrow IPC, converted on first download (their sizes and sha256: the listing).
      arrow: { listing: `/api/challenges/${encodeURIComponent(ch.name)}/pool?format=arrow`, files: (await parquetDownloads(s.pool)).filter((f) => f.format === 'parquet').map((f) => `${f.role}.arrow`) },
    });
  });

  // ?format=parquet (default: pool.json and the splits as stored) or ?format=arrow (the splits as Arrow IPC).
  app.get('/api/challenges/:name/pool', async (c) => {
    const s = served(c.req.param('name'));
    const format = c.req.query('format') ?? 'parquet';
    if (!(DOWNLOAD_FORMATS as readonly string[]).includes(format)) throw new ApiError(400, 'bad-request', `unknown download format "${format}"`, 'format', [`formats: ${DOWNLOAD_FORMATS.join(', ')}`]);
    const files = await downloads(s.pool, format as DownloadFormat);
    return c.json({ pool: s.pool.name, content_hash: s.pool.manifest.content_hash, format, files: files.map(({ path: _p, ...f }) => f) });
  });

  app.get('/api/challenges/:name/pool/:file', async (c) => {
    const s = served(c.req.param('name'));
    const name = c.req.param('file');
    // Looked up by exact name in the lists of participant files: nothing from the request reaches a path.
    // A pool file the guard refuses (a split that is a link to an evaluator-only file, or has its bytes) is not served either.
    const f = await findDownload(s.pool, name).catch((err) => {
      if (err instanceof SieveError) {
        // The reason names server paths: it goes to the server's log, the client gets the fact.
        console.error(`sieve serve: refused to serve ${s.challenge.name}/${name}: ${err.message}`);
        throw new ApiError(404, 'not-found', `"${name}" cannot be served: the pool's checks refuse it (an evaluator-only file, or a link to one); the reason is in the server's log`, 'file');
      }
      throw err;
    });
    if (!f) {
      const names = [...(await parquetDownloads(s.pool)).map((x) => x.name), ...(await parquetDownloads(s.pool)).filter((x) => x.format === 'parquet').map((x) => `${x.role}.arrow`)];
      throw new ApiError(404, 'not-found', `"${name}" is not a participant file of pool ${s.pool.name}`, 'file', [`files: ${names.join(', ')}`]);
    }
    const bytes = await readFile(f.path);
    return c.body(bytes, 200, {
      'content-type': f.format === 'json' ? 'application/json' : f.format === 'arrow' ? 'application/vnd.apache.arrow.file' : 'application/vnd.apache.parquet',
      'content-disposition': `attachment; filename="${f.name}"`,
      ...(f.sha256 ? { 'x-sha256': f.sha256 } : {}),
    });
  });

  app.post('/api/register', async (c) => {
    const body = await c.req.json().catch(() => null) as { name?: unknown } | null;
    // Runs of spaces are one space: a page shows them so, and two names must look different.
    const name = typeof body?.name === 'string' ? body.name.trim().replace(/ {2,}/g, ' ') : '';
    if (!NAME.test(name)) throw new ApiError(400, 'bad-request', 'a name of 1-64 letters, digits, spaces, ".", "_" or "-" (starting with a letter or digit) is needed', 'name', ['POST {"name": "ada"}']);
    if (isReservedName(name)) throw new ApiError(409, 'conflict', `the name "${name}" is reserved: it would pass for the server's own accounts`, 'name');
    const id = newId('par');
    const t = issueToken(id);
    const added = await store.addParticipant({ id, name, role: 'participant', tokenSalt: t.salt, tokenHash: t.hash, createdAt: Date.now() });
    if (!added) throw new ApiError(409, 'conflict', `the name "${name}" is taken (names differing only in case, spaces, ".", "_" or "-", or in look-alike characters such as 0/o and 1/l/I, count as one)`, 'name');
    return c.json({ participant: { id, name }, token: t.token, note: 'the token is shown once; the server keeps only a salted hash of it' }, 201);
  });

  // A new token for the caller: the old one (a copy in a lost laptop's cookie, a leaked
  // SIEVE_TOKEN) stops working at once. Participants only: the organiser's is replaced with
  // `sieve serve --new-organiser-token`, a worker's with `sieve worker token`.
  app.post('/api/me/token', async (c) => {
    const p = await requireCaller(c);
    if (p.role !== 'participant') throw new ApiError(403, 'forbidden', `${/^[aeiou]/.test(p.role) ? 'an' : 'a'} ${p.role}'s token is replaced from the server's command line`, 'token', ['sieve serve --new-organiser-token']);
    const t = issueToken(p.id);
    const ok = await store.setParticipantToken(p.id, t.salt, t.hash, {
      id: newId('act'), at: Date.now(), actor: p.id, action: 'participant.token', challenge: null,
      detail: JSON.stringify({ what: 'the participant replaced their token; the old one no longer works' }),
    });
    if (!ok) throw new ApiError(401, 'unauthorized', 'the participant is gone', 'token');
    return c.json({ participant: { id: p.id, name: p.name }, token: t.token, note: 'the token is shown once; the old token no longer works' }, 201);
  });

  app.get('/api/me', async (c) => {
    const p = await requireCaller(c);
    const subs = await store.listSubmissions({ participant: p.id });
    const quota = await Promise.all([...challenges.values()].map(async (s) => {
      const used = await store.quotaUsed(p.id, s.challenge.name, dayStart(now()));
      const l = s.challenge.limits;
      return {
        challenge: s.challenge.name, used_today: used.today, used_total: used.total,
        left_today: l.submissions_per_day !== undefined ? Math.max(0, l.submissions_per_day - used.today) : null,
        left_total: l.submissions_total !== undefined ? Math.max(0, l.submissions_total - used.total) : null,
      };
    }));
    return c.json({
      participant: { id: p.id, name: p.name, role: p.role },
      submissions: subs.map((s) => ({ id: s.id, challenge: s.challenge, file: s.fileName, created_at: new Date(s.createdAt).toISOString(), job: jobJson(s.job), primary_public: s.primaryPublic })),
      quota,
    });
  });

  app.post('/api/challenges/:name/submissions',
    bodyLimit({
      // The cap is on the file; the multipart framing and a form field or two come on top (a file
      // of exactly the cap must pass). The file's own size is checked once the form is read.
      maxSize: opts.maxUploadBytes + UPLOAD_FRAMING_BYTES,
      onError: (c) => c.json(errorBody(new ApiError(413, 'too-large', `the upload is larger than this server's limit of ${opts.maxUploadBytes} bytes`, 'file')), 413),
    }),
    async (c) => {
      const p = await requireCaller(c);
      const s = served(c.req.param('name'));
      const ch = s.challenge;
      const st = await stateOf(s);
      if (st.state === 'closed') throw new ApiError(409, 'challenge-closed', `challenge ${ch.name} is closed${ch.closes && isClosed(ch, now()) ? ` (closed at ${ch.closes})` : ''}`, 'challenge');
      if (st.state === 'draft') throw new ApiError(409, 'challenge-closed', `challenge ${ch.name} is not open yet (an organiser opens it)`, 'challenge');
      if (!st.phaseOpen) throw new ApiError(409, 'challenge-closed', `no phase of ${ch.name} is open now`, 'challenge', st.phases.map((p) => `${p.name}: ${JSON.stringify(phaseJson(p))}`));
      // Read in a worker thread (upload-check.ts), as is the file's validation below.
      const body = await uploadChecks.readForm(c.req.raw).catch((err: unknown) => {
        if (err instanceof FormRefused) throw new ApiError(400, 'bad-request', err.message, 'body', ['curl -F file=@ids.csv …']);
        throw err;
      });
      if (!body) throw new ApiError(400, 'bad-request', 'the body is not multipart/form-data', 'body', ['curl -F file=@ids.csv …', 'curl -F strategy=@mine.sql …']);
      // A submission file in the field "file"; a strategy (.sql, .ts, .mts, .mjs, .js) in "file" or "strategy". One of them, once.
      for (const f of ['file', 'strategy'] as const) {
        const v = body[f];
        if (Array.isArray(v)) throw new ApiError(400, 'bad-request', `one file per submission: the upload has ${v.length} "${f}" fields`, f, ['curl -F file=@ids.csv …']);
      }
      if (body.file !== undefined && body.strategy !== undefined) throw new ApiError(400, 'bad-request', 'send either the form field "file" or "strategy", not both', 'file');
      const field = body.strategy !== undefined ? 'strategy' : 'file';
      const file = body[field];
      if (!(file instanceof File)) throw new ApiError(400, 'bad-request', `no file in the upload: send it as the form field "${field}"`, field, ['curl -F file=@ids.csv …', 'curl -F strategy=@mine.sql …']);
      const bytes = new Uint8Array(await file.arrayBuffer());
      if (bytes.length > opts.maxUploadBytes) throw new ApiError(413, 'too-large', `the upload is larger than this server's limit of ${opts.maxUploadBytes} bytes`, field);
      const fileName = (file.name || (field === 'strategy' ? 'strategy.sql' : 'submission.csv')).replace(/[\\/]/g, '_').slice(0, 200);
      const invalid = (err: unknown): never => {
        if (err instanceof SieveError) throw new ApiError(422, 'invalid-submission', err.message, err.where, err.examples);
        throw err;
      };
      let checked: { sha256: string; rows: number | null; strategy: StrategyKind | null };
      if (field === 'strategy' || isStrategyPath(fileName)) {
        if (!isStrategyPath(fileName)) {
          throw new ApiError(422, 'invalid-submission', `a strategy's file name ends in ${Object.keys(STRATEGY_EXTENSIONS).join(', ')}; "${fileName}" does not`, 'strategy', ['the extension picks the kind: .sql is an SQL strategy, .ts / .mts / .mjs / .js a code strategy']);
        }
        // Cheap checks only (kind, size, UTF-8): the strategy runs in the job, under its sandbox, like every evaluation.
        let source;
        try {
          source = strategyFromBytes(fileName, bytes);
        } catch (err) {
          invalid(err);
        }
        try {
          checkStrategyAccepted(ch, source!.kind, fileName);
        } catch (err) {
          if (err instanceof SieveError) throw new ApiError(422, 'not-accepted', err.message, 'strategy', err.examples);
          throw err;
        }
        if (source!.kind === 'code') {
          const { layer, reason } = detectLayer();
          if (!layer) throw new ApiError(503, 'unavailable', 'this server cannot run code strategies: it cannot isolate them from the network', 'strategy', [reason, 'SQL strategies and submission files are still accepted']);
        }
        checked = { sha256: source!.sha256, rows: null, strategy: source!.kind };
      } else {
        const ext = extname(fileName).toLowerCase();
        if (!(ext in SUBMISSION_EXTENSIONS)) {
          throw new ApiError(422, 'invalid-submission', `cannot tell what "${fileName}" is from its extension "${ext || '(none)'}"`, 'file', [
            `submission files: ${Object.keys(SUBMISSION_EXTENSIONS).join(' ')}`,
            `strategies: ${Object.keys(STRATEGY_EXTENSIONS).join(' ')} (run on the server)`,
            'the upload\'s file name picks its format: rename it, e.g. ids.csv',
          ]);
        }
        // In a worker thread (upload-check.ts): a large file's parse must not hold up every other request.
        const r = await uploadChecks.check(ch, fileName, bytes).catch(invalid);
        checked = { sha256: r.sha256, rows: r.rows, strategy: null };
      }
      const at = now();
      const submission = newId('sub');
      const job = newId('job');
      const outcome = await store.submit(
        { id: submission, participant: p.id, challenge: ch.name, fileName, sha256: checked.sha256, bytes, createdAt: at.getTime() },
        { id: job, maxAttempts: MAX_ATTEMPTS },
        { perDay: ch.limits.submissions_per_day, total: ch.limits.submissions_total, dayStart: dayStart(at) },
      );
      if (!outcome.ok) {
        // A day's cap comes back at the next UTC midnight: say when, and send Retry-After.
        const reset = dayStart(at) + 86_400_000;
        const wait = Math.max(1, Math.ceil((reset - at.getTime()) / 1000));
        if (outcome.limit === 'per-day') c.header('retry-after', String(wait));
        throw new ApiError(429, 'quota-exceeded',
          outcome.limit === 'per-day'
            ? `you have used your ${outcome.cap} submissions of today (UTC) on ${ch.name}; the next one is taken from ${new Date(reset).toISOString()} (in ${Math.floor(wait / 3600)} h ${Math.ceil((wait % 3600) / 60)} min)`
            : `you have used all ${outcome.cap} submissions of ${ch.name}`,
          'limits', ["cancelled submissions and those that failed through no fault of yours do not count (a strategy of yours that failed does); cancel a queued one with POST /api/jobs/<id>/cancel"]);
      }
      opts.onQueued?.({ job, submission, challenge: ch.name, participant: p.id, kind: checked.strategy ? 'strategy' : 'file', bytes: bytes.length });
      return c.json({
        submission, job, state: 'queued', kind: checked.strategy ? 'strategy' : 'file', ...(checked.strategy ? { strategy: checked.strategy } : {}),
        rows: checked.rows, sha256: checked.sha256, status: `/api/jobs/${job}`,
      }, 202);
    });

  /** Participant ids → names, for the organisers' lists (the pages show names, as the leaderboard does). */
  const participantNames = async (): Promise<Map<string, string>> => new Map((await store.listParticipants()).map((p) => [p.id, p.name]));

  const ownJob = async (c: Context): Promise<{ p: ParticipantRow; job: JobRow }> => {
    const p = await requireCaller(c);
    const job = await store.getJob(c.req.param('id')!);
    // Someone else's job is "not found": ids are not confirmed to those who do not own them.
    if (!job || (job.participant !== p.id && p.role !== 'organiser')) throw new ApiError(404, 'not-found', `no job "${c.req.param('id')}" of yours`, 'job');
    return { p, job };
  };

  // Organisers: every submission's job, oldest first (?challenge=NAME, ?state=queued|running|done|failed|cancelled).
  app.get('/api/jobs', async (c) => {
    const p = await requireCaller(c);
    if (p.role !== 'organiser') throw new ApiError(403, 'forbidden', 'listing every job is for organisers', 'Authorization');
    const challenge = c.req.query('challenge');
    const state = c.req.query('state');
    if (challenge !== undefined) served(challenge);
    const STATES = ['queued', 'running', 'done', 'failed', 'cancelled'];
    if (state !== undefined && !STATES.includes(state)) throw new ApiError(400, 'bad-request', `unknown job state "${state}"`, 'state', [`states: ${STATES.join(', ')}`]);
    const subs = await store.listSubmissions(challenge ? { challenge } : {});
    const names = await participantNames();
    return c.json({
      counts: await store.countJobs(),
      jobs: subs.filter((x) => state === undefined || x.job.state === state).map((x) => ({ ...jobJson(x.job), participant: x.participant, participant_name: names.get(x.participant) ?? null, file: x.fileName, primary_public: x.primaryPublic })),
    });
  });

  app.get('/api/jobs/:id', async (c) => {
    const { p, job } = await ownJob(c);
    const attempts = await store.listAttempts(job.id);
    // Which machine ran an attempt, and why a worker gave a job back (its cache path, a network
    // error), is the organiser's business; an entrant sees what happened to the job.
    const organiser = p.role === 'organiser';
    const entrantReason = (outcome: string | null, reason: string | null) =>
      outcome === 'released' ? 'a worker gave the job back (not a failed attempt; the job is run again)'
        : outcome === 'expired' ? 'the worker running it stopped answering (not a failed attempt; the job is run again)'
          : reason;
    return c.json({
      ...jobJson(job),
      attempt_log: attempts.map((a) => ({
        attempt: a.attempt, outcome: a.outcome ?? 'running',
        reason: organiser ? a.reason : entrantReason(a.outcome, a.reason),
        ...(organiser ? { worker: a.worker } : {}),
        started_at: new Date(a.startedAt).toISOString(), finished_at: a.finishedAt ? new Date(a.finishedAt).toISOString() : null,
      })),
      ...(job.state === 'done' ? { result: `/api/submissions/${job.submission}` } : {}),
    });
  });

  app.post('/api/jobs/:id/cancel', async (c) => {
    const { p, job } = await ownJob(c);
    const r = await store.cancelJob(job.id, job.participant === p.id ? p.id : job.participant, Date.now());
    if (r === 'not-queued') throw new ApiError(409, 'not-cancellable', `job ${job.id} is ${job.state}; only a queued job can be cancelled`, 'job');
    if (r === 'not-found') throw new ApiError(404, 'not-found', `no job "${job.id}" of yours`, 'job');
    opts.onCancelled?.({ job: job.id, submission: job.submission, challenge: job.challenge, participant: job.participant, by: p.id });
    return c.json(jobJson((await store.getJob(job.id))!));
  });

  const ownSubmission = async (c: Context) => {
    const p = await requireCaller(c);
    const sub = await store.getSubmission(c.req.param('id') ?? '');
    if (!sub || (sub.participant !== p.id && p.role !== 'organiser')) throw new ApiError(404, 'not-found', `no submission "${c.req.param('id')}" of yours`, 'submission');
    return { p, sub };
  };

  /**
   * The audit of a submission's rows as the API shows it (docs/server.md "The audit of a
   * submission"): its status and, once done, the summary (each analyser's severity, verdict,
   * counts and figures next to the whole pool's) and where the whole audit is. Entrants see it
   * while the challenge is open: it is computed from the pool's train split and the
   * challenge's public model only (src/server/job-child.ts auditRows).
   */
  const auditJson = async (row: AuditRow | null, id: string) => {
    if (!row) return null;
    if (row.state === null) return { status: 'not available', reason: 'scored before this server audited submissions' };
    if (row.state === 'running') {
      // The deadline is the database's clock (the store wrote it), so it is judged by that clock.
      return row.deadline !== null && (await store.dbNow()) > row.deadline
        ? { status: 'not available', reason: "the audit did not finish within the job's time limit (its worker stopped or was cut off)" }
        : { status: 'running', ...(row.deadline !== null ? { deadline: new Date(row.deadline).toISOString() } : {}) };
    }
    if (row.state === 'not available' || row.audit === null) return { status: 'not available', reason: row.reason ?? 'no audit was stored' };
    const a = JSON.parse(row.audit) as { seconds: number; pool_cached: boolean; summary: unknown };
    return { status: 'done', seconds: a.seconds, pool_cached: a.pool_cached, summary: a.summary, report: `/api/submissions/${id}/audit` };
  };

  app.get('/api/submissions/:id/audit', async (c) => {
    const { sub } = await ownSubmission(c);
    const row = await store.getAudit(sub.id);
    const view = await auditJson(row, sub.id);
    if (!view) throw new ApiError(404, 'not-found', `submission "${sub.id}" has no result yet`, 'submission');
    if (view.status !== 'done' || !row?.audit) throw new ApiError(404, 'not-found', `the audit of submission "${sub.id}" is ${view.status}${'reason' in view ? `: ${view.reason}` : ''}`, 'audit');
    return c.body(row.audit, 200, { 'content-type': 'application/json' });
  });

  app.get('/api/submissions/:id', async (c) => {
    const { p, sub } = await ownSubmission(c);
    // The job before its result: a result is written in the transaction that marks its job done, so
    // a job read as done always finds its result. The other way round, a job finishing between the
    // two reads showed as done with no record (the page then drew no plots).
    const jobs = await store.listSubmissions({ participant: sub.participant });
    const job = jobs.find((x) => x.id === sub.id)?.job;
    const result = await store.getResult(sub.id);
    return c.json({
      id: sub.id, challenge: sub.challenge, file: sub.fileName, sha256: sub.sha256, bytes: sub.size,
      created_at: new Date(sub.createdAt).toISOString(),
      job: job ? jobJson(job) : null,
      // Organisers see the whole record; everyone else its participant-visible view, without the per-row replays.
      record: result ? (p.role === 'organiser' ? JSON.parse(result.record) : await (async () => {
        const closed = (await stateOf(served(sub.challenge))).state === 'closed';
        return entrantView(publicView(JSON.parse(result.record) as ResultRecord, { now: now(), showPrivate: closed }), { closed });
      })()) : null,
      audit: result ? await auditJson(await store.getAudit(sub.id), sub.id) : null,
    });
  });

  // A board changes only when a result is written (results are only ever added, each with its
  // job marked done in the same transaction) or the challenge closes: the count of done jobs and
  // the state version each board, so a read of an unchanged board skips reading and parsing
  // every record (bench/server-load).
  const boards = new Map<string, { key: string; body: unknown }>();
  app.get('/api/challenges/:name/leaderboard', async (c) => {
    const s = served(c.req.param('name'));
    const ch = s.challenge;
    const closed = (await stateOf(s)).state === 'closed';
    const key = `${closed}|${(await store.countJobs()).done}`;
    const hit = boards.get(ch.name);
    if (hit?.key === key) return c.json(hit.body);
    const body = await leaderboard(ch, await store.listResults(ch.name), now(), significance, closed);
    boards.set(ch.name, { key, body });
    return c.json(body);
  });

  app.get('/openapi.json', async (c) => {
    const text = await readFile(join(PACKAGE_ROOT, 'docs', 'openapi.json'), 'utf8').catch(() => null);
    if (text === null) throw new ApiError(404, 'not-found', 'the OpenAPI description is not installed (docs/openapi.json)');
    return c.body(text, 200, { 'content-type': 'application/json' });
  });

  // ---- Organisers: create, open and close challenges and their phases; every change logged with it.
  const requireOrganiser = async (c: Context): Promise<ParticipantRow> => {
    const p = await requireCaller(c);
    if (p.role !== 'organiser') throw new ApiError(403, 'forbidden', 'this endpoint is for organisers', 'Authorization', ['organiser tokens come from sieve serve --init']);
    return p;
  };
  const action = (p: ParticipantRow, what: string, challenge: string | null, detail: Record<string, unknown>): ActionRow =>
    ({ id: newId('act'), at: now().getTime(), actor: p.id, action: what, challenge, detail: JSON.stringify(detail) });
  const jsonBody = async (c: Context): Promise<Record<string, unknown>> => {
    const b = await c.req.json().catch(() => null);
    if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new ApiError(400, 'bad-request', 'the body must be a JSON object', 'body');
    return b as Record<string, unknown>;
  };

  app.post('/api/challenges', bodyLimit({ maxSize: 256 * 1024, onError: (c) => c.json(errorBody(new ApiError(413, 'too-large', 'a challenge spec is at most 256 KB', 'yaml')), 413) }), async (c) => {
    const p = await requireOrganiser(c);
    const body = await jsonBody(c);
    if (typeof body.yaml !== 'string' || !body.yaml.trim()) throw new ApiError(400, 'bad-request', 'send the challenge spec as {"yaml": "<challenge.yaml text>"}', 'yaml', ['its pool: names a pool this server can open (a built-in or workspace pool)']);
    if (body.open !== undefined && typeof body.open !== 'boolean') throw new ApiError(400, 'bad-request', '"open" must be true or false', 'open');
    if (!opts.createdChallengesDir) throw new ApiError(403, 'forbidden', 'this server does not take new challenges (no folder for them)', 'challenge');
    const created = await createChallengeFolder(opts.createdChallengesDir, body.yaml, (name) => challenges.has(name));
    if ('taken' in created) throw new ApiError(409, 'conflict', `a challenge named "${created.taken}" exists`, 'name');
    const ch = created.challenge;
    const state: ChallengeState = body.open === true ? (isClosed(ch, now()) ? 'closed' : 'open') : 'draft';
    const ok = await store.createChallenge(
      { name: ch.name, ref: ch.dir, version: ch.version, specSha256: ch.specSha256, title: ch.title ?? ch.name, task: ch.task, state, origin: 'api' },
      { opensAt: null, closesAt: ch.closes ? Date.parse(ch.closes) : null },
      action(p, 'challenge.create', ch.name, { state, version: ch.version, spec_sha256: ch.specSha256, pool: created.pool.name }),
    );
    if (!ok) {
      await created.discard();
      throw new ApiError(409, 'conflict', `a challenge named "${ch.name}" exists`, 'name');
    }
    challenges.set(ch.name, { challenge: ch, pool: created.pool });
    return c.json(await summary(challenges.get(ch.name)!), 201);
  });

  const setState = (to: 'open' | 'closed') => async (c: Context) => {
    const p = await requireOrganiser(c);
    const s = served(c.req.param('name')!);
    const before = await stateOf(s);
    if (to === 'open' && isClosed(s.challenge, now())) {
      throw new ApiError(409, 'conflict', `challenge ${s.challenge.name} closed at ${s.challenge.closes} by its spec`, 'closes', ['a new version of the challenge with a later closes: date can be created']);
    }
    const r = await store.setChallengeState(s.challenge.name, to, action(p, `challenge.${to === 'open' ? 'open' : 'close'}`, s.challenge.name, { from: before.state, to }));
    if (r === 'not-found') throw new ApiError(404, 'not-found', `challenge ${s.challenge.name} is not in the database`, 'challenge');
    return c.json(await summary(s));
  };
  app.post('/api/challenges/:name/open', setState('open'));
  app.post('/api/challenges/:name/close', setState('closed'));

  const PHASE = /^[a-z0-9][a-z0-9_-]{0,31}$/;
  const timeField = (v: unknown, field: string): number | null | undefined => {
    if (v === undefined) return undefined;
    if (v === null) return null;
    const t = typeof v === 'string' ? Date.parse(v) : NaN;
    if (!Number.isFinite(t)) throw new ApiError(400, 'bad-request', `${field} must be an ISO date-time or null`, field, [`"${field}": "2026-12-24T12:00:00Z"`]);
    if (timeWithoutZone(v as string)) throw new ApiError(400, 'bad-request', `${field} needs its time zone (Z for UTC, or an offset such as +01:00)`, field, [`"${field}": "2026-12-24T12:00:00Z"`]);
    return t;
  };
  const putPhase = async (c: Context, p: ParticipantRow, name: string, change: { opensAt?: number | null; closesAt?: number | null }, what: string) => {
    const s = served(c.req.param('name')!);
    if (!PHASE.test(name)) throw new ApiError(400, 'bad-request', 'a phase name is 1-32 lower-case letters, digits, "_" or "-"', 'phase');
    const had = (await store.listPhases(s.challenge.name)).find((x) => x.name === name);
    const next: PhaseRow = { challenge: s.challenge.name, name, opensAt: change.opensAt !== undefined ? change.opensAt : had?.opensAt ?? null, closesAt: change.closesAt !== undefined ? change.closesAt : had?.closesAt ?? null };
    if (next.opensAt !== null && next.closesAt !== null && next.closesAt < next.opensAt) throw new ApiError(400, 'bad-request', 'a phase cannot close before it opens', 'closes_at');
    const r = await store.putPhase(next, action(p, what, s.challenge.name, { phase: name, before: had ? phaseJson(had) : null, after: phaseJson(next) }));
    if (r === 'not-found') throw new ApiError(404, 'not-found', `challenge ${s.challenge.name} is not in the database`, 'challenge');
    return c.json(await summary(s));
  };
  app.put('/api/challenges/:name/phases/:phase', async (c) => {
    const p = await requireOrganiser(c);
    const body = await jsonBody(c);
    return putPhase(c, p, c.req.param('phase'), { opensAt: timeField(body.opens_at, 'opens_at'), closesAt: timeField(body.closes_at, 'closes_at') }, 'phase.put');
  });
  app.post('/api/challenges/:name/phases/:phase/open', async (c) => {
    const p = await requireOrganiser(c);
    return putPhase(c, p, c.req.param('phase'), { opensAt: now().getTime(), closesAt: null }, 'phase.open');
  });
  app.post('/api/challenges/:name/phases/:phase/close', async (c) => {
    const p = await requireOrganiser(c);
    return putPhase(c, p, c.req.param('phase'), { closesAt: now().getTime() }, 'phase.close');
  });

  app.get('/api/actions', async (c) => {
    await requireOrganiser(c);
    const challenge = c.req.query('challenge');
    const rows = await store.listActions({ challenge: challenge || undefined });
    const names = await participantNames();
    return c.json({
      actions: rows.map((a) => ({ id: a.id, at: new Date(a.at).toISOString(), actor: a.actor, actor_name: names.get(a.actor) ?? null, action: a.action, challenge: a.challenge, detail: JSON.parse(a.detail) })),
    });
  });

  // The web pages (src/server/pages/): HTML over this same API, called in-process.
  app.route('/', pagesApp(app, { maxUploadBytes: opts.maxUploadBytes, uploadChecks }));
  return app;
}

/**
 * What an entrant gets of a record: everything but the per-row replays (each test row's true
 * label, prediction, confidence and group, which the leaderboard's paired tests and `sieve verify
 * --rescore` use). With them an entrant could read the public test rows' labels one by one;
 * platforms show entrants scores, not rows. Organisers get the whole record. While the challenge
 * is open a ranking curve is cut to its coarse points (coarseCurve): its point after every fix
 * would name the mislabelled rows; after close the whole curve is shown.
 */
function entrantView(record: PublicRecord, opts: { closed: boolean }): PublicRecord {
  const { replay: _r, ...rest } = record;
  const view = { ...rest, replay_withheld: 'they hold each public test row\'s label, prediction and group' } as PublicRecord;
  // Where the challenge and its pool lie on the server is the organiser's business: an
  // absolute path becomes the name (a built-in challenge's ref is its name already).
  const named = (ref: string, name: string) => (ref.startsWith('/') || /^[A-Za-z]:[\\/]/.test(ref) ? name : ref);
  view.challenge = { ...view.challenge, ref: named(view.challenge.ref, view.challenge.name) };
  view.pool = { ...view.pool, ref: named(view.pool.ref, view.pool.name) };
  if (view.curve && !opts.closed) view.curve = coarseCurve(view.curve);
  // How many planted errors the ranking reached is a count of wrong labels among the rows the
  // entrant chose (a ranking of 10 ids: "5 of 300"), as is the count of warm fits (one after each
  // such fix): withheld while open, like the fine curve (an adversary's tryout read it off).
  if (view.ranking && !opts.closed) {
    const { noisy_fixed: _n, ...ranking } = view.ranking;
    view.ranking = ranking as typeof view.ranking;
    if (view.fits && !Array.isArray(view.fits)) {
      const { cold: _c, warm: _w, ...fits } = view.fits;
      view.fits = fits as typeof view.fits;
    }
    view.ranking_withheld = 'how many rows with a wrong label the ranking reached, and the fits that count them, are withheld while the challenge is open';
  }
  // A strategy's error on a hidden variant can carry the variant's rows (its own error text).
  const g = view.generalisation;
  // Its time on a variant too (a busy-wait of 1 + 3 × the first label, read back from `seconds`).
  if (g && 'variants' in g) {
    view.generalisation = {
      ...g,
      variants: g.variants.map(({ seconds: _s, ...v }) => (v.error ? { ...v, error: entrantVariantError(v.error) } : v)) as typeof g.variants,
    };
  }
  if (view.private && !('hidden' in view.private)) {
    const { replay: _p, ...priv } = view.private;
    view.private = priv as typeof view.private;
  }
  return view;
}

function jobJson(j: JobRow) {
  return {
    id: j.id, submission: j.submission, challenge: j.challenge, state: j.state, attempts: j.attempts, max_attempts: j.maxAttempts,
    error: j.error,
    // A failed job of the entrant's making (their strategy failed) counts against their quota.
    charged: j.charged,
    created_at: new Date(j.createdAt).toISOString(),
    started_at: j.startedAt ? new Date(j.startedAt).toISOString() : null,
    finished_at: j.finishedAt ? new Date(j.finishedAt).toISOString() : null,
    // A job queued again after a failed attempt is not run before this (its retry back-off); null otherwise.
    retry_at: j.retryAt !== null && j.state === 'queued' ? new Date(j.retryAt).toISOString() : null,
    // Running, but its worker's lease ran out (the worker died): the next claim takes it again.
    // By this server's clock (leases themselves are judged by the database's); display only.
    lease_expired: j.state === 'running' && j.leaseExpiresAt !== null && j.leaseExpiresAt < Date.now(),
  };
}
