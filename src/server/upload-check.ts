/**
 * An uploaded submission file's validation, off the server's event loop. Parsing and checking
 * a file against the pool's ids is seconds of synchronous work for a large one (a tryout's
 * 15 MB CSV of 1.3 M lines: ~5 s each; three at once held /healthz for 16 s, long enough to
 * cost running jobs their leases), so it runs as an async job on a thread of the project's one
 * worker pool (compute/pool.ts): the same checkSubmission over the same bytes source as
 * `sieve evaluate` and the job child, in another thread. The request waits for it, so the API
 * keeps its contract: a 422 with the precise error (what, where, the first offending rows)
 * before anything is stored or counted, and a 202 only once the submission is persisted.
 *
 * Checks go to `threads` pool threads in turn (default: one on 2 cores, two from 3 up, so the
 * event loop keeps a core); one thread takes its checks one after another. A SieveError raised in the thread comes back
 * with its message, where, examples, count and problem code; anything else is an internal
 * error of the server.
 */
import { machineThreads, runPooled } from '../../compute/pool.ts';
import type { Challenge } from '../challenge/schema.ts';
import { SubmissionError, type SubmissionProblem } from '../submission/types.ts';
import { SieveError } from '../util/errors.ts';

/** What a multipart upload may hold beyond its file (framing, field names, a file name): the body cap is the file cap plus this. */
export const UPLOAD_FRAMING_BYTES = 64 * 1024;

export interface UploadCheckArgs {
  challenge: Challenge;
  fileName: string;
  bytes: Uint8Array;
  /** Tests only: the thread waits on it (Atomics, index 0) after saying "started" until it is set non-zero. */
  gate?: Int32Array;
}

/** What a check sends back: the file's hash and rows, or the SieveError's fields. */
export type UploadCheckReply =
  | { ok: true; sha256: string; rows: number }
  | { ok: false; error: { message: string; where?: string; examples: string[]; count?: number; problem?: SubmissionProblem } };

/** The pool job (runs in a worker thread): the same checkSubmission as every other submission path. */
export async function checkUploadJob(args: UploadCheckArgs, note: (n: unknown) => void): Promise<UploadCheckReply> {
  const [{ checkSubmission }, { bytesSource }] = await Promise.all([import('../evaluate/runner.ts'), import('../submission/sources/bytes.ts')]);
  note('started');
  if (args.gate) Atomics.wait(args.gate, 0, 0);
  try {
    const r = await checkSubmission(args.challenge, bytesSource(args.bytes, { name: args.fileName }));
    return { ok: true, sha256: r.sha256, rows: r.submission.indices.length };
  } catch (err) {
    if (!(err instanceof SieveError)) throw err;
    const problem = err instanceof SubmissionError ? err.problem : undefined;
    return { ok: false, error: { message: err.message, where: err.where, examples: err.examples, count: err.count, ...(problem ? { problem } : {}) } };
  }
}

/** One field of a multipart form as it crosses threads: a file's bytes with its name, or text. */
export type FormEntry = { name: string; file: true; fileName: string; type: string; bytes: Uint8Array } | { name: string; file: false; value: string };

/** The pool job that parses a multipart body (the same parser hono's parseBody uses: the platform's Response.formData). */
/**
 * Most fields a submission form may have: the file (or strategy) and the page's csrf field,
 * with room to spare. A form of 250,000 empty fields (13.5 MB, under the upload cap) otherwise
 * costs the main thread minutes to hand over.
 */
export const MAX_FORM_FIELDS = 16;

export async function readFormJob(args: { contentType: string; body: ArrayBuffer }): Promise<{ ok: true; entries: FormEntry[] } | { ok: false; fields?: number }> {
  let form: FormData;
  try {
    form = await new Response(args.body, { headers: { 'content-type': args.contentType } }).formData();
  } catch {
    return { ok: false };
  }
  let fields = 0;
  for (const _ of form.keys()) fields++;
  if (fields > MAX_FORM_FIELDS) return { ok: false, fields };
  const entries: FormEntry[] = [];
  for (const [name, v] of form.entries()) {
    if (typeof v === 'string') entries.push({ name, file: false, value: v });
    else entries.push({ name, file: true, fileName: v.name, type: v.type, bytes: new Uint8Array(await v.arrayBuffer()) });
  }
  return { ok: true, entries };
}

/** A form's fields as hono's `parseBody({ all: true })` gives them: a repeated name holds an array. */
export type FormFields = Record<string, string | File | (string | File)[]>;

export interface UploadChecksOptions {
  /** Pool threads that take checks (default min(2, cores - 1), at least 1). */
  threads?: number;
  /** Tests only: every check waits on this gate in its thread (see UploadCheckArgs.gate). */
  gate?: Int32Array;
  /** Called when a check has started in its thread. */
  onStarted?: () => void;
}

/** A multipart form refused before its fields are handed over (too many of them); the message says why. */
export class FormRefused extends Error {}

export class UploadChecks {
  private next = 0;
  private readonly threads: number;

  constructor(private readonly opts: UploadChecksOptions = {}) {
    // Default: leave a core to the event loop (and the store): one thread on 2 cores, two from 3.
    this.threads = Math.max(1, Math.min(opts.threads ?? Math.min(2, machineThreads() - 1), machineThreads()));
  }

  /**
   * Reads a multipart/form-data body (an upload) in a pool thread: undici's parser is
   * JavaScript and takes a third of a second for 15 MB, on whichever thread runs it. Null when
   * the body claims to be multipart but cannot be read as such.
   */
  async readForm(req: Request): Promise<FormFields | null> {
    const contentType = req.headers.get('content-type') ?? '';
    // Any other body holds no file (hono's parseBody gives {} for it): the route says what to send.
    if (!/^multipart\/form-data\b/i.test(contentType)) return {};
    const body = await req.arrayBuffer();
    const [reply] = await runPooled<{ contentType: string; body: ArrayBuffer }, Awaited<ReturnType<typeof readFormJob>>>({
      module: new URL(import.meta.url),
      fn: 'readFormJob',
      jobs: [{ contentType, body }],
      workers: this.threads,
      owner: [1 + (this.next++ % this.threads)],
      onError: (_i, message) => new Error(`the upload's form could not be read in its thread: ${message}`),
    });
    if (!reply.ok) {
      if (reply.fields !== undefined) throw new FormRefused(`the form has ${reply.fields} fields; a submission sends at most ${MAX_FORM_FIELDS} (the file or strategy, once)`);
      return null;
    }
    const out: FormFields = {};
    for (const e of reply.entries) {
      const v = e.file ? new File([e.bytes as Uint8Array<ArrayBuffer>], e.fileName, { type: e.type }) : e.value;
      const had = out[e.name];
      if (had === undefined) out[e.name] = v;
      else if (Array.isArray(had)) had.push(v);
      else out[e.name] = [had, v];
    }
    return out;
  }

  /** Validates an uploaded submission file against its challenge; throws its SieveError (a SubmissionError when a rule is broken). */
  async check(challenge: Challenge, fileName: string, bytes: Uint8Array): Promise<{ sha256: string; rows: number }> {
    const owner = 1 + (this.next++ % this.threads);
    const [reply] = await runPooled<UploadCheckArgs, UploadCheckReply>({
      module: new URL(import.meta.url), // this module, compiled or not
      fn: 'checkUploadJob',
      jobs: [{ challenge, fileName, bytes, ...(this.opts.gate ? { gate: this.opts.gate } : {}) }],
      workers: this.threads,
      owner: [owner],
      onNote: (_i, n) => { if (n === 'started') this.opts.onStarted?.(); },
      onError: (_i, message) => new Error(`the upload's check failed in its thread: ${message}`),
    });
    if (reply.ok) return { sha256: reply.sha256, rows: reply.rows };
    const e = reply.error;
    const opts = { where: e.where, examples: e.examples, count: e.count };
    throw e.problem ? new SubmissionError(e.problem, e.message, opts) : new SieveError(e.message, opts);
  }
}
