/**
 * One evaluation job in its own process (forked by src/server/queue.ts): receives the
 * challenge directory and the uploaded bytes over IPC, scores them with the same service as
 * `sieve evaluate` (evaluateSource over a bytes source, or over a strategy source for an
 * uploaded .sql / .ts / .mts / .mjs / .js strategy) and sends the record back. It never
 * touches the server's database: the parent writes the result and marks the job done in one
 * transaction, so a child killed at any moment leaves nothing half-written. It ends when its
 * parent goes away (the IPC disconnect, and a watchdog thread on a pipe from the parent for
 * when the main thread is busy), so a SIGKILLed server leaves no evaluation running.
 *
 * A strategy runs exactly as `sieve evaluate` runs one: under the sandbox layers of its kind
 * (src/strategy/sql.ts, src/strategy/code.ts: never without the OS layer on a server), on the
 * challenge's pool and then on each hidden variant (built or found in the variant cache,
 * evaluator-only). Each run's wall-clock limit is derived from the job's (strategyTimeoutMs),
 * so a strategy that runs too long fails as the strategy's fault before the job's own limit
 * would end the attempt as the system's.
 *
 * After the score is sent, the child audits the rows the submission selects (what
 * `sieve audit CHALLENGE --subset FILE` shows, the same numbers: src/audit/service.ts with the
 * pool-level part cached by content hash under the cache folder, src/audit/pool-cache.ts) and
 * sends that as a second message; the parent has written the score by then, so an audit that
 * fails or runs past the job's time limit costs the score nothing (queue.ts stores "not
 * available" with the reason). The audit reads only participant data: the challenge pool's
 * train split and the challenge's public model spec, never the test split, truth or variants.
 *
 * Who is at fault decides the quota (docs/server.md "Quota"): a strategy that fails on the
 * challenge's pool — it does not parse or compile, breaks a sandbox rule, exceeds a limit or
 * returns a subset that breaks the challenge's rules — is the entrant's doing: the job fails
 * at once (no retry) and still counts. Anything else (the server cannot isolate code, a
 * challenge or pool that does not load, a crash, the job's time limit) is the system's: it
 * does not count.
 */
import { homedir, tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Challenge } from '../challenge/schema.ts';
import type { ReadSubmission } from '../submission/parse.ts';
import type { SubmissionSource } from '../submission/sources/types.ts';
import type { SubmissionAudit } from '../report/submission-audit.ts';
import { SieveError } from '../util/errors.ts';
import { cacheDir } from '../util/cache-dir.ts';
import { watchParent } from '../util/parent-watchdog.ts';

export interface JobRequest {
  challengeRef: string;
  /** The challenge's pool, when a worker keeps it elsewhere than where the challenge names it (fetched by content hash). */
  poolDir?: string;
  fileName: string;
  bytes: Uint8Array;
  /** sha256 of the challenge.yaml the server serves: a spec edited on disk since is not what the job was submitted to. */
  specSha256?: string;
  /** The job's wall-clock limit (the parent kills the attempt after it); strategies get a share. */
  timeLimitSeconds: number;
}

export type JobReply =
  | { ok: true; record: unknown }
  | {
      ok: false;
      reason: string;
      /** true when the same input would fail the same way (a bad submission): no retry. */
      final: boolean;
      /** true when the failure is of the entrant's making (their strategy failed): it counts against their quota. */
      charge?: boolean;
    };

/** The child's second message, after a score: the audit of the submission's rows, or why there is none. */
export type AuditReply =
  | { kind: 'audit'; ok: true; audit: SubmissionAudit }
  | { kind: 'audit'; ok: false; reason: string };

/** Longest a strategy's runs may take together: this share of the job's time limit (the rest is scoring). */
export const STRATEGY_SHARE_OF_JOB = 0.5;

/**
 * The wall-clock limit of one run of a strategy in a job: the local default (60 s), or less
 * when the job's limit is short, so that its runs (the challenge's pool and each variant)
 * together stay within STRATEGY_SHARE_OF_JOB of the job's limit. Deterministic: the same
 * challenge and job limit give every submission the same limit, whatever the load.
 */
export function strategyTimeoutMs(timeLimitSeconds: number, variants: number, defaultMs: number): number {
  const runs = 1 + variants;
  return Math.max(1000, Math.min(defaultMs, Math.floor((timeLimitSeconds * 1000 * STRATEGY_SHARE_OF_JOB) / runs)));
}


// Only as the forked entry (queue.ts forks this file): importing it (tests) installs nothing.
if (process.send && process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.on('disconnect', () => process.exit(0));
  watchParent();
  process.once('message', (msg: JobRequest) => {
    void run(msg).then(async ({ reply, audit }) => {
      const folders = serverFolders(msg);
      if (!reply.ok) reply = { ...reply, reason: withoutServerPaths(reply.reason, folders) };
      await new Promise<void>((ok) => process.send?.(reply, () => ok()));
      if (reply.ok && audit) {
        let a = await audit();
        if (!a.ok) a = { ...a, reason: withoutServerPaths(a.reason, folders) };
        await new Promise<void>((ok) => process.send?.(a, () => ok()));
      }
      process.exit(0);
    });
  });
}

/**
 * A failure reason goes to the entrant (the job's status, the submission page), so it must not
 * tell them where this server keeps things: DuckDB's and Node's messages can name the server's
 * home, cache, temporary or challenge folders (a tryout's failed SQL strategy showed
 * `secret_directory=/home/…/.duckdb/stored_secrets`). Each such folder is replaced by `…`,
 * longest first, so a path inside another is cut at the deeper one.
 */
export function withoutServerPaths(text: string, folders: (string | undefined)[]): string {
  const cut = [...new Set(folders.filter((f): f is string => !!f && f.length > 1).map((f) => f.replace(/\/+$/, '')))]
    .sort((a, b) => b.length - a.length);
  let out = text;
  for (const f of cut) out = out.split(f).join('…');
  return out;
}

function serverFolders(req: JobRequest): string[] {
  const challengeDir = /^[./]/.test(req.challengeRef) || req.challengeRef.includes('/') ? dirname(resolve(req.challengeRef)) : undefined;
  return [homedir(), tmpdir(), process.cwd(), cacheDir(), req.poolDir && resolve(req.poolDir), challengeDir, process.env.SIEVE_WORKSPACE]
    .filter((f): f is string => !!f);
}

/** Errors of the entrant's making (thrown while their strategy ran or its output was validated). */
const entrantErrors = new WeakSet<object>();

/** The first read of a source (the run on the challenge's pool): the rows the score is of, for the audit. */
function remembering(source: SubmissionSource): { source: SubmissionSource; first(): ReadSubmission | undefined } {
  let first: ReadSubmission | undefined;
  let read = false;
  return {
    source: {
      ...source,
      async read(target) {
        const r = await source.read(target);
        if (!read) { read = true; first = r; }
        return r;
      },
    },
    first: () => first,
  };
}

async function run(req: JobRequest): Promise<{ reply: JobReply; audit?: () => Promise<AuditReply> }> {
  try {
    const [{ evaluateSource }, { loadChallenge }, { isStrategyPath }] = await Promise.all([
      import('../evaluate/runner.ts'), import('../challenge/load.ts'), import('../strategy/runners.ts'),
    ]);
    const bytes = new Uint8Array(req.bytes);
    const loaded = await loadChallenge(req.challengeRef);
    // An organiser who edits a served challenge.yaml (seeds, the public/private partition) would
    // otherwise change how later jobs are scored while the API still shows the old rules.
    if (req.specSha256 && loaded.specSha256 !== req.specSha256)
      return {
        reply: {
          ok: false, final: false,
          reason: `the challenge's challenge.yaml changed since the server loaded it (sha256 ${req.specSha256.slice(0, 12)}… served, ${loaded.specSha256.slice(0, 12)}… on disk): ` +
            'restart the server to serve the new version (or put the served file back); the job is tried again',
        },
      };
    const challenge = req.poolDir ? { ...loaded, poolRef: req.poolDir } : loaded;
    let record: unknown;
    let first: () => ReadSubmission | undefined;
    if (!isStrategyPath(req.fileName)) {
      const { bytesSource } = await import('../submission/sources/bytes.ts');
      const r = remembering(bytesSource(bytes, { name: req.fileName }));
      first = r.first;
      record = await evaluateSource(challenge, r.source);
    } else {
      const r = await evaluateStrategy(challenge, req, bytes);
      first = r.first;
      record = r.record;
    }
    return { reply: { ok: true, record }, audit: () => auditRows(challenge, first(), req.fileName) };
  } catch (err) {
    if (err instanceof SieveError) {
      const charge = entrantErrors.has(err);
      const examples = err.examples.length ? ` (${err.examples.slice(0, 3).join('; ')})` : '';
      // code.ts's runtime errors already begin with 'the strategy failed:'; say it once.
      const prefix = charge && !err.message.startsWith('the strategy failed') ? 'the strategy failed: ' : '';
      return { reply: { ok: false, reason: `${prefix}${err.message}${examples}`, final: true, charge } };
    }
    const e = err as Error;
    return { reply: { ok: false, reason: `evaluation failed: ${e?.message ?? String(err)}`, final: false } };
  }
}

/**
 * The audit of the rows a scored submission selects, as `sieve audit CHALLENGE --subset FILE`
 * runs it (seed 0, every analyser, the challenge's fixed model), the whole pool's part from
 * the cache when an earlier job stored it. Any failure is the audit's, never the score's.
 */
export async function auditRows(challenge: Challenge, read: ReadSubmission | undefined, name: string): Promise<AuditReply> {
  try {
    if (!read) return { kind: 'audit', ok: false, reason: 'the scored rows were not kept for the audit' };
    const t0 = performance.now();
    const [{ runAuditService }, { openChallengePool }, { submissionAudit }] = await Promise.all([
      import('../audit/service.ts'), import('../challenge/load.ts'), import('../report/submission-audit.ts'),
    ]);
    const run = await runAuditService({ target: { pool: await openChallengePool(challenge), challenge }, seed: 0, subset: { read, name }, poolCache: true });
    return { kind: 'audit', ok: true, audit: submissionAudit(run.bundle, { seconds: (performance.now() - t0) / 1000, poolCached: run.poolCached }) };
  } catch (err) {
    const e = err as Error;
    return { kind: 'audit', ok: false, reason: `the audit failed: ${e?.message ?? String(err)}` };
  }
}

async function evaluateStrategy(challenge: Challenge, req: JobRequest, bytes: Uint8Array): Promise<{ record: unknown; first(): ReadSubmission | undefined }> {
  const [{ evaluateSource }, { strategyFromBytes }, { strategySource }, { DEFAULT_STRATEGY_LIMITS }, { detectLayer }, { SubmissionError }] = await Promise.all([
    import('../evaluate/runner.ts'), import('../strategy/runners.ts'), import('../submission/sources/strategy.ts'),
    import('../strategy/limits.ts'), import('../strategy/sandbox/layers.ts'), import('../submission/types.ts'),
  ]);
  // The upload was checked when it was stored; checked again here, as a file would be.
  const strategy = strategyFromBytes(req.fileName, bytes);
  if (strategy.kind === 'code') {
    // A server never runs code without the OS layer (the CLI's --allow-network-unsandboxed has no server form).
    const { layer, reason } = detectLayer();
    if (!layer) throw new SieveError(`this server cannot isolate code strategies (${reason}); the submission is not counted`, { where: 'server' });
  }
  const timeoutMs = strategyTimeoutMs(req.timeLimitSeconds, challenge.variants?.pools.length ?? 0, DEFAULT_STRATEGY_LIMITS.timeoutMs);
  const inner = strategySource(strategy, { limits: { timeoutMs } });
  let publicRun = true;
  let first: ReadSubmission | undefined;
  const source: SubmissionSource = {
    ...inner,
    async read(target) {
      try {
        const r = await inner.read(target);
        if (publicRun) first = r;
        return r;
      } catch (err) {
        // The first read is the run on the challenge's pool; later ones are the variants' (their failures are recorded per variant).
        if (publicRun && err instanceof SieveError) entrantErrors.add(err);
        throw err;
      } finally {
        publicRun = false;
      }
    },
  };
  try {
    return { record: await evaluateSource(challenge, source), first: () => first };
  } catch (err) {
    // The output of the strategy broke the challenge's rules (unknown, duplicate or too many ids, bad labels).
    if (err instanceof SubmissionError) entrantErrors.add(err);
    throw err;
  }
}
