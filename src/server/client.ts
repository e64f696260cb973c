/**
 * The server's API from the command line (`sieve submit`, `sieve status`): plain fetch, the
 * upload streamed as multipart/form-data so its progress can be shown, and the server's JSON
 * errors turned back into SieveErrors with the server's message, field and examples.
 */
import { randomBytes } from 'node:crypto';
import { SieveError } from '../util/errors.ts';
import type { Progress } from '../util/progress.ts';

export interface ClientOptions {
  server: string;
  /** Empty for the endpoints that need none (register, leaderboard, pool files). */
  token: string;
}

export interface JobStatus {
  id: string;
  submission: string;
  challenge: string;
  state: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  attempts: number;
  max_attempts: number;
  error: string | null;
  /** A failed job of the entrant's making (their strategy failed): it counts against the quota. */
  charged?: boolean;
  /** A job queued again after a failed attempt is not run before this (its retry back-off). */
  retry_at?: string | null;
  /** Running, but its worker's lease ran out: the next claim takes it again. */
  lease_expired?: boolean;
}

function base(server: string): string {
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    throw new SieveError(`not a server URL: "${server}"`, { where: '--server', examples: ['http://127.0.0.1:8080'] });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new SieveError(`the server URL must be http or https, not ${u.protocol}`, { where: '--server' });
  return u.toString().replace(/\/+$/, '');
}

/** The server could not be reached at all (connection refused, reset, DNS): a waiting client may try again. */
export class ServerUnreachable extends SieveError {}

async function call<T>(opts: ClientOptions, path: string, init: RequestInit & { duplex?: 'half' } = {}): Promise<T> {
  const url = `${base(opts.server)}${path}`;
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) } });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    // Exit 1, as for a job that could not be seen through: 2 says the server refused the submission.
    throw new ServerUnreachable(`cannot reach the server at ${base(opts.server)} (${cause?.code ?? cause?.message ?? (err as Error).message})`, { where: '--server', exitCode: 1 });
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    throw new SieveError(`the server answered ${res.status} with something that is not JSON`, { where: url, examples: [text.slice(0, 200)] });
  }
  if (!res.ok) {
    const e = (body as { error?: { code?: string; message?: string; where?: string; examples?: string[] } } | null)?.error;
    // The server is up but its database is not (503): a short outage to ride out, as an
    // unreachable server is, not a refusal.
    if (res.status === 503) throw new ServerUnreachable(`server: ${e?.message ?? 'unavailable for the moment'} (503)`, { where: url, exitCode: 1 });
    throw new SieveError(e?.message ? `server: ${e.message} (${res.status}${e.code ? ` ${e.code}` : ''})` : `the server answered ${res.status}`, {
      where: e?.where ?? url, examples: e?.examples ?? [],
      exitCode: res.status === 401 || res.status === 403 ? 3 : 2,
    });
  }
  return body as T;
}

/**
 * Uploads a submission file or a strategy (.sql, .ts, .mts, .mjs, .js: the server tells them
 * apart by the name's extension); resolves with the server's 202 answer once the job is stored.
 */
export async function submitFile(
  opts: ClientOptions,
  challenge: string,
  file: { name: string; bytes: Uint8Array },
  progress?: Progress,
): Promise<{ submission: string; job: string; state: string; kind: 'file' | 'strategy'; strategy?: string; rows: number | null; sha256: string }> {
  const boundary = `sieve-${randomBytes(12).toString('hex')}`;
  const safeName = file.name.replace(/["\r\n\\]/g, '_');
  const head = new TextEncoder().encode(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${safeName}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = new TextEncoder().encode(`\r\n--${boundary}--\r\n`);
  const CHUNK = 64 * 1024;
  let at = 0;
  progress?.start(file.bytes.length, 'upload', 'bytes');
  const body = new ReadableStream<Uint8Array>({
    start(controller) { controller.enqueue(head); },
    pull(controller) {
      if (at >= file.bytes.length) {
        controller.enqueue(tail);
        controller.close();
        return;
      }
      const piece = file.bytes.subarray(at, Math.min(at + CHUNK, file.bytes.length));
      at += piece.length;
      progress?.tick(piece.length);
      controller.enqueue(piece);
    },
  });
  try {
    return await call(opts, `/api/challenges/${encodeURIComponent(challenge)}/submissions`, {
      method: 'POST', body, duplex: 'half', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
  } finally {
    progress?.stop();
  }
}

export function jobStatus(opts: ClientOptions, job: string): Promise<JobStatus & { attempt_log: { attempt: number; outcome: string; reason: string | null }[] }> {
  return call(opts, `/api/jobs/${encodeURIComponent(job)}`);
}

export function submissionDetail(opts: ClientOptions, submission: string): Promise<{ id: string; record: unknown }> {
  return call(opts, `/api/submissions/${encodeURIComponent(submission)}`);
}

/**
 * What a waiting `sieve submit` says about its job: a queued job how long it has waited, a
 * running one how long its attempt has run (both as seen from here, from when this command
 * first saw that state); a job queued again after an attempt says which attempt comes next.
 */
export function jobWaitLine(s: Pick<JobStatus, 'state' | 'attempts'>, seconds: number): string {
  const t = `${Math.round(seconds)} s`;
  if (s.state === 'queued') return s.attempts > 0 ? `queued again for attempt ${s.attempts + 1}: waiting for ${t}` : `queued: waiting for ${t}`;
  if (s.state === 'running') return `running attempt ${Math.max(1, s.attempts)}: evaluating for ${t}`;
  return `${s.state} after ${t}`;
}

export interface JobWaitOptions {
  /** false: nothing at all (--json). */
  enabled?: boolean;
  /** Default stderr (stdout is the result's). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Off a terminal: a line every this often while a state lasts (default 10 s; under CI 60 s). */
  intervalMs?: number;
  now?: () => number;
}

/**
 * The waiting job's state on stderr, as src/util/progress.ts shows a step: on a terminal one
 * line rewritten every second; elsewhere (a pipe, a log, CI) a plain line every interval while
 * a state lasts, so a short wait prints nothing. A new state (or attempt) counts from zero.
 */
export function jobWaitReporter(o: JobWaitOptions = {}): { update(s: Pick<JobStatus, 'state' | 'attempts'>): void; stop(): void } {
  const stream = o.stream ?? process.stderr;
  const enabled = o.enabled ?? true;
  const ci = !!process.env.CI;
  const tty = stream.isTTY === true && !ci;
  const interval = o.intervalMs ?? (ci ? 60_000 : 10_000);
  const now = o.now ?? Date.now;
  let key = '';
  let since = 0;
  let last = 0;
  let drawn = false;
  return {
    update(s) {
      if (!enabled) return;
      const t = now();
      const k = `${s.state}/${s.attempts}`;
      if (k !== key) { key = k; since = last = t; }
      const line = jobWaitLine(s, (t - since) / 1000);
      if (tty) {
        stream.write(`\r\x1b[K${line}`);
        drawn = true;
      } else if (t - last >= interval) {
        last = t;
        stream.write(`${line}\n`);
      }
    },
    stop() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}

/** Polls a job until it is done, failed or cancelled (or `timeoutSeconds` pass). */
/** How long a waiting client keeps trying an unreachable server (a restart takes seconds). */
export const OUTAGE_MS = 120_000;

export async function waitForJob(opts: ClientOptions, job: string, o: { timeoutSeconds: number; pollMs?: number; outageMs?: number; report?: ReturnType<typeof jobWaitReporter> }): Promise<JobStatus> {
  const end = Date.now() + o.timeoutSeconds * 1000;
  // The job is stored: a server restart (or a short outage) is waited out, not reported as a
  // refused submission; past OUTAGE_MS the wait ends with the job id to look up later.
  let downSince: number | null = null;
  try {
    for (;;) {
      let s: JobStatus;
      try {
        s = await jobStatus(opts, job);
        downSince = null;
      } catch (err) {
        if (!(err instanceof ServerUnreachable)) throw err;
        downSince ??= Date.now();
        if (Date.now() - downSince > (o.outageMs ?? OUTAGE_MS) || Date.now() > end) {
          throw new SieveError(`lost contact with the server while waiting for job ${job} (${err.message}); the submission is stored and is scored when the server is back`, {
            where: '--server', examples: [`see it later with: sieve status ${job}`], exitCode: 1,
          });
        }
        await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
        continue;
      }
      if (s.state === 'done' || s.state === 'failed' || s.state === 'cancelled') return s;
      o.report?.update(s);
      if (Date.now() > end) {
        throw new SieveError(`job ${job} is still ${s.state} after ${o.timeoutSeconds} s`, { where: '--timeout', examples: [`see later: sieve status ${job}`] });
      }
      await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
    }
  } finally {
    o.report?.stop();
  }
}

/** Registers a participant; the answer holds their token, shown this once. */
export function registerParticipant(server: string, name: string): Promise<{ participant: { id: string; name: string }; token: string }> {
  return call({ server, token: '' }, '/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
}

/** A challenge's leaderboard as the server shows it to everyone (docs/server.md). */
export function fetchLeaderboard(server: string, challenge: string): Promise<{
  challenge: string; part: string; primary: { name: string; direction: string }; columns: string[];
  entries: ({ rank: number; participant: string; submissions: number; primary: { mean: number | null; ci95: [number, number] | null }; metrics: Record<string, number | null> } & Record<string, unknown>)[];
} & Record<string, unknown>> {
  return call({ server, token: '' }, `/api/challenges/${encodeURIComponent(challenge)}/leaderboard`);
}

export interface PoolFileInfo { name: string; bytes: number; sha256: string | null; role: string; format?: string }

/** The participant files of a challenge's pool: pool.json and the splits as Parquet, or the splits as Arrow IPC. */
export function poolFiles(server: string, challenge: string, format: 'parquet' | 'arrow' = 'parquet'): Promise<{ pool: string; content_hash: string; files: PoolFileInfo[] }> {
  return call({ server, token: '' }, `/api/challenges/${encodeURIComponent(challenge)}/pool${format === 'arrow' ? '?format=arrow' : ''}`);
}

/** One participant file's bytes (the caller checks its sha256 against poolFiles). */
export async function downloadPoolFile(server: string, challenge: string, file: string): Promise<Uint8Array> {
  const url = `${base(server)}/api/challenges/${encodeURIComponent(challenge)}/pool/${encodeURIComponent(file)}`;
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new SieveError(`cannot reach the server at ${base(server)} (${cause?.code ?? cause?.message ?? (err as Error).message})`, { where: '--server' });
  }
  if (!res.ok) {
    const e = ((await res.json().catch(() => null)) as { error?: { message?: string; examples?: string[] } } | null)?.error;
    throw new SieveError(e?.message ? `server: ${e.message}` : `the server answered ${res.status}`, { where: url, examples: e?.examples ?? [] });
  }
  return new Uint8Array(await res.arrayBuffer());
}

/** What the server answers about one challenge after an organiser's change. */
export interface ChallengeSummary {
  name: string;
  state: 'draft' | 'open' | 'closed';
  phases: { name: string; opens_at: string | null; closes_at: string | null }[];
}

/** Organisers: open or close a challenge (logged on the server with who and when). */
export function setChallengeState(opts: ClientOptions, challenge: string, to: 'open' | 'close'): Promise<ChallengeSummary> {
  return call(opts, `/api/challenges/${encodeURIComponent(challenge)}/${to}`, { method: 'POST' });
}

/** Organisers: create a challenge from a challenge.yaml's text (draft until opened, unless `open`). */
export function createChallenge(opts: ClientOptions, yaml: string, open: boolean): Promise<ChallengeSummary> {
  return call(opts, '/api/challenges', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ yaml, open }) });
}
