/**
 * The evaluation queue's worker side, one implementation for the server's own workers and for
 * `sieve worker` on other machines: N slots, each a loop that claims a job from the store under
 * a lease (a visibility timeout), evaluates it in a child process of its own
 * (src/server/job-child.ts) under a wall-clock limit while a heartbeat renews the lease, and
 * ends the attempt: the result written and the job marked done in one transaction, or the
 * attempt failed (the job queued again while attempts remain, else failed with the reasons),
 * or, when the worker stops, the job released back to the queue. Failed and cancelled jobs do
 * not count against a participant's quota (the store counts queued, running and done jobs),
 * except a strategy that failed of the entrant's making (job-child.ts: it does not parse,
 * breaks a sandbox rule or a limit, returns a bad subset), which fails at once and is charged.
 *
 * After a result is written the attempt's child goes on to audit the scored rows (job-child.ts)
 * within what is left of the attempt's time limit; the slot stores that audit, or "not
 * available" with the reason, on the result afterwards (setAudit), so no audit ever delays or
 * fails a score. A worker that dies meanwhile leaves the audit 'running' past its deadline,
 * which the API reports as not available.
 *
 * Crash safety comes from the order of things and from the lease: a job exists in the store
 * before the client is told its id; the child never writes anything; the parent writes the
 * result only after the child sent the whole record, and the store accepts it only while this
 * worker's lease on this attempt is live (src/server/store/jobs-sql.ts), judged by the database's
 * clock (never this machine's: workers' clocks may disagree). A worker SIGKILLed or
 * cut off stops renewing; once its lease expires the next claim hands the job to another
 * worker, and a late result from the old lease is refused. A server on an exclusive store
 * (DuckDB) also puts every job it left running back at start-up (recoverInterrupted).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ResultRecord } from '../evaluate/record.ts';
import type { EventLogger, ServerEventName } from './events.ts';
import type { AuditReply, JobReply, JobRequest } from './job-child.ts';
import type { AttemptRef, ClaimedJob, RetryBackoff, ServerStore } from './store/types.ts';

export interface QueueOptions {
  /** Jobs evaluated at once (one child process each). */
  workers: number;
  /** Wall-clock limit of one attempt, in seconds. */
  jobTimeoutSeconds: number;
  /** Lease length (ms): a job whose worker sent no heartbeat for this long is handed out again. */
  leaseMs?: number;
  /** Heartbeat interval (ms); default a third of the lease. */
  heartbeatMs?: number;
  /** How often an idle slot looks for work besides being woken by a submission (ms). */
  pollMs?: number;
  /** Names this process's slots in the store and the logs (default host/pid). */
  workerName?: string;
  /** One line per job event: claimed, renewed, done, retry, failed, released, lease-lost, … (src/server/events.ts). */
  log?: EventLogger;
  /** Set in each job child's environment (a sieve worker points SIEVE_CACHE at its own --cache). */
  childEnv?: Record<string, string>;
  /** Called after a result is written (the server warms that challenge's leaderboard comparisons). */
  onResult?: (challenge: string) => void;
  /**
   * Makes what a claimed job needs available here (a remote worker fetches the challenge and
   * its pool by content hash, src/server/worker-files.ts) and says where: the challenge folder,
   * the pool folder when it is not where the challenge names it, and the refs the record should
   * name (the server's, not this machine's cache paths); `done` when the job is over. Default:
   * the claim's challenge folder as it is (the server's own workers, or a shared file system).
   */
  prepare?: (claimed: ClaimedJob) => Promise<PreparedFiles>;
  /** First wait (ms) of a slot that could not get a job's files, doubling to 60 s while it lasts; default 1000. */
  filesBackoffMs?: number;
  /** How long a failed job waits before its retry (default DEFAULT_RETRY_BACKOFF: 10 s, doubling, at most 5 minutes). */
  retryBackoff?: RetryBackoff;
}

export interface PreparedFiles {
  challengeRef: string;
  poolDir?: string;
  recordRefs?: { challenge: string; pool: string };
  done?: () => void;
}

/** Attempts a job gets before it is marked failed. */
export const MAX_ATTEMPTS = 3;
/** Default lease: long enough for a busy machine's heartbeat to get through, short enough that a dead worker's job waits half a minute. */
export const DEFAULT_LEASE_MS = 30_000;

/** The child's module: job-child.js beside the compiled server, job-child.ts beside the sources (run through tsx). */
function childModule(): { path: string; execArgv: string[] } {
  const self = fileURLToPath(import.meta.url);
  const ts = self.endsWith('.ts');
  return { path: self.replace(/queue\.(ts|js)$/, ts ? 'job-child.ts' : 'job-child.js'), execArgv: ts ? ['--import', 'tsx'] : [] };
}

/** One running attempt: its lease, its child, and why it was cut short (if it was). */
interface Running {
  ref: AttemptRef;
  claimed: ClaimedJob;
  child?: ChildProcess;
  /** Set when the attempt must end without a result: the worker is stopping (release) or lost its lease. */
  abort?: 'stop' | 'lease-lost';
  kill(): void;
}

export class EvaluationQueue {
  private stopping = false;
  private wake: (() => void)[] = [];
  /** Slots waiting out a files backoff: woken only by stop(), not by new submissions. */
  private halts: (() => void)[] = [];
  private loops: Promise<void>[] = [];
  private running = new Set<Running>();
  private readonly leaseMs: number;
  private readonly name: string;

  constructor(private readonly store: ServerStore, private readonly opts: QueueOptions) {
    this.leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
    this.name = opts.workerName ?? `${hostname()}/${process.pid}`;
  }

  /** Slot `n`'s worker id: unique per process start (the random part), so a restarted worker never holds an old lease. */
  private readonly nonce = randomBytes(3).toString('hex');
  workerId(slot: number): string {
    return `${this.name}/${slot}-${this.nonce}`;
  }

  /** Jobs this process is evaluating now. */
  get busy(): number {
    return this.running.size;
  }

  /** Starts the slots (a server on an exclusive store first runs recoverInterrupted). */
  start(): void {
    for (let w = 0; w < this.opts.workers; w++) this.loops.push(this.loop(w));
  }

  /** Wakes an idle slot: a job was queued. */
  notify(): void {
    const w = this.wake.shift();
    w?.();
  }

  /**
   * Stops claiming; lets running jobs finish for up to `graceMs` (SIGTERM), then kills what is
   * left and releases those jobs to the queue (another worker, or this one's next start, runs them).
   */
  async stop(graceMs = 0): Promise<void> {
    this.stopping = true;
    for (const w of this.wake.splice(0)) w();
    for (const h of this.halts.splice(0)) h();
    if (graceMs > 0 && this.running.size) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(this.loops), new Promise<void>((ok) => { timer = setTimeout(ok, graceMs); })]);
      clearTimeout(timer);
    }
    for (const r of this.running) { r.abort ??= 'stop'; r.kill(); }
    await Promise.all(this.loops);
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.opts.pollMs ?? 1000);
      const self = this;
      function done() {
        clearTimeout(timer);
        const i = self.wake.indexOf(done);
        if (i >= 0) self.wake.splice(i, 1);
        resolve();
      }
      this.wake.push(done);
    });
  }

  private async loop(slot: number): Promise<void> {
    const worker = this.workerId(slot);
    let backoff = 0;
    while (!this.stopping) {
      let claimed: ClaimedJob | null = null;
      try {
        claimed = await this.store.claimJob(worker, this.leaseMs);
      } catch (err) {
        this.opts.log?.({ event: 'claim-error', worker, error: (err as Error).message });
      }
      if (!claimed) {
        await this.idle();
        continue;
      }
      if ((await this.runJob(worker, claimed)) === 'no-files') {
        // The job went back to the queue; this slot waits before claiming again, so a worker cut
        // off from the server neither spins nor takes jobs from workers that can run them.
        backoff = Math.min(60_000, backoff ? backoff * 2 : (this.opts.filesBackoffMs ?? 1000));
        await this.pause(backoff);
      } else backoff = 0;
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const self = this;
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        const i = self.halts.indexOf(done);
        if (i >= 0) self.halts.splice(i, 1);
        resolve();
      }
      this.halts.push(done);
    });
  }

  /** Runs one claimed attempt; 'no-files' when its files could not be had here (the job was released). */
  private async runJob(worker: string, claimed: ClaimedJob): Promise<'no-files' | void> {
    const { job, attempt, submission } = claimed;
    const ref: AttemptRef = { job: job.id, attempt, worker };
    const log = (event: ServerEventName, extra: Record<string, unknown> = {}) =>
      this.opts.log?.({ event, job: job.id, submission: submission.id, challenge: job.challenge, attempt, worker, ...extra });
    log('claimed', { lease_expires_at: new Date(claimed.leaseExpiresAt).toISOString() });
    const t0 = performance.now();
    const seconds = () => Number(((performance.now() - t0) / 1000).toFixed(3));
    const run: Running = { ref, claimed, kill: () => { if (run.child && run.child.exitCode === null) run.child.kill('SIGKILL'); } };
    this.running.add(run);
    const heartbeat = setInterval(() => {
      void this.store.renewLease(ref, this.leaseMs).then(
        (ok) => {
          if (ok) log('renewed');
          else if (!run.abort) { run.abort = 'lease-lost'; run.kill(); }
        },
        (err: Error) => log('renew-error', { error: err.message }),
      );
    }, this.opts.heartbeatMs ?? Math.max(50, Math.floor(this.leaseMs / 3)));
    try {
      let reply: JobReply;
      let where: PreparedFiles;
      try {
        where = this.opts.prepare ? await this.opts.prepare(claimed) : { challengeRef: claimed.challengeRef };
      } catch (err) {
        // The job's files could not be had here (server unreachable, a hash mismatch). That is this
        // machine's trouble, not the submission's: the job is released (not a failed attempt) for
        // a worker that can reach them, and this slot backs off (loop).
        const filesError = (err as Error).message;
        log('files-error', { error: filesError });
        clearInterval(heartbeat);
        const released = await this.store.releaseJob(ref, undefined, `it could not get the job's files: ${filesError}`);
        log(released ? 'released' : 'lease-lost', { reason: `the worker could not get the job's files: ${filesError}`, seconds: seconds() });
        return 'no-files';
      }
      // The attempt's time limit bounds the score and the audit after it together. It is measured
      // here (a duration, on this machine's monotonic clock); the store turns what is left of it into
      // the audit's deadline by the database's clock, as it stamps the result with that clock.
      const deadline = performance.now() + this.opts.jobTimeoutSeconds * 1000;
      let audit: Promise<AuditReply>;
      try {
        ({ reply, audit } = await this.evaluate(run, {
          challengeRef: where.challengeRef, poolDir: where.poolDir, fileName: submission.fileName, bytes: submission.bytes, timeLimitSeconds: this.opts.jobTimeoutSeconds,
          specSha256: claimed.challengeSpecSha256,
        }));
      } catch (err) {
        where.done?.();
        throw err;
      }
      if (reply.ok && where.recordRefs) {
        // Where the challenge and pool were loaded from is this machine's cache; the record names them as the server does.
        const record = reply.record as ResultRecord;
        record.challenge.ref = where.recordRefs.challenge;
        record.pool.ref = where.recordRefs.pool;
      }
      clearInterval(heartbeat);
      // Whatever happens below, no audit outlives this attempt unless its score was written.
      let auditing = false;
      try {
        if (run.abort === 'lease-lost') {
          log('lease-lost', { seconds: seconds() });
          return;
        }
        if (run.abort === 'stop' && !reply.ok) {
          const released = await this.store.releaseJob(ref);
          log(released ? 'released' : 'lease-lost', { seconds: seconds() });
          return;
        }
        if (reply.ok) {
          const record = reply.record as ResultRecord;
          const ok = await this.store.completeJob(ref, {
            submission: submission.id,
            primaryPublic: record.primary?.mean ?? null,
            record: JSON.stringify(record),
            auditMs: Math.max(0, deadline - performance.now()),
          });
          log(ok ? 'done' : 'stale-result', { seconds: seconds() });
          if (ok) {
            this.opts.onResult?.(job.challenge);
            auditing = true;
          }
        } else {
          const outcome = await this.store.failAttempt(ref, reply.reason, !reply.final, undefined, reply.charge === true, this.opts.retryBackoff);
          // A retry waits out its back-off: the log says until when (the database's clock).
          const retryAt = outcome === 'queued' ? (await this.store.getJob(job.id))?.retryAt ?? null : null;
          log(outcome === 'queued' ? 'retry' : outcome === 'failed' ? 'failed' : 'stale-failure', {
            reason: reply.reason, seconds: seconds(), ...(reply.charge ? { charged: true } : {}), ...(retryAt !== null ? { retry_at: new Date(retryAt).toISOString() } : {}),
          });
          if (outcome === 'queued') this.notify();
        }
      } finally {
        if (!auditing) { run.kill(); where.done?.(); }
      }
      if (!auditing) return;
      // The score is written: the audit (still running in the child, within the attempt's limit) is stored after it.
      try {
        const a = await audit;
        const stored = await this.store.setAudit(submission.id, a.ok ? { state: 'done', audit: JSON.stringify(a.audit) } : { state: 'not available', reason: a.reason });
        if (a.ok) log('audit-done', { seconds: seconds(), audit_seconds: Number(a.audit.seconds.toFixed(3)), pool_cached: a.audit.pool_cached, stored });
        else log('audit-unavailable', { seconds: seconds(), reason: a.reason, stored });
      } finally {
        run.kill();
        where.done?.();
      }
    } catch (err) {
      // The store could not be written (database gone): the lease runs out and the job is handed out again.
      log('write-error', { error: (err as Error).message });
    } finally {
      clearInterval(heartbeat);
      this.running.delete(run);
    }
  }

  /**
   * One attempt's child: `reply` is its score (or why there is none), `audit` its second
   * message, the audit of the scored rows (or why there is none: the child failed or exited,
   * the attempt's time limit ran out, the worker stopped). The time limit ends the score first
   * and then, from the same start, the audit; a child that sent its score is left running for
   * its audit (runJob kills it once the audit is stored).
   */
  private evaluate(run: Running, req: JobRequest): Promise<{ reply: JobReply; audit: Promise<AuditReply> }> {
    const { path, execArgv } = childModule();
    const limit = this.opts.jobTimeoutSeconds;
    const none = (reason: string): AuditReply => ({ kind: 'audit', ok: false, reason });
    return new Promise((resolve) => {
      if (run.abort) {
        resolve({ reply: { ok: false, reason: 'stopped before the evaluation began', final: false }, audit: Promise.resolve(none('the submission was not scored')) });
        return;
      }
      let scored = false;
      let audited = false;
      let stderr = '';
      let auditDone: (a: AuditReply) => void = () => {};
      const audit = new Promise<AuditReply>((ok) => { auditDone = ok; });
      // fd 4: a pipe this process holds and never writes: when it dies (SIGKILL too) the child
      // reads its end and kills itself, however busy its main thread (job-child.ts).
      const child = fork(path, [], {
        execArgv, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc', 'pipe'],
        ...(this.opts.childEnv ? { env: { ...process.env, ...this.opts.childEnv } } : {}),
      });
      run.child = child;
      const endAudit = (a: AuditReply) => {
        if (audited) return;
        audited = true;
        clearTimeout(timer);
        if (child.exitCode === null) child.kill('SIGKILL');
        auditDone(a);
      };
      const finish = (r: JobReply) => {
        if (scored) return;
        scored = true;
        resolve({ reply: r, audit });
        if (!r.ok) endAudit(none('the submission was not scored'));
      };
      const timer = setTimeout(() => {
        if (!scored) finish({ ok: false, reason: `the evaluation ran longer than the time limit of ${limit} s`, final: false });
        else endAudit(none(`the audit did not finish within the job's time limit of ${limit} s (the score was written first)`));
      }, limit * 1000);
      child.stderr?.on('data', (d: Buffer) => { if (stderr.length < 4000) stderr += d.toString('utf8'); });
      child.on('message', (m: JobReply | AuditReply) => {
        if ('kind' in m && m.kind === 'audit') endAudit(m);
        else finish(m as JobReply);
      });
      child.on('error', (err) => {
        finish({ ok: false, reason: `the evaluation process failed: ${err.message}`, final: false });
        endAudit(none(`the audit process failed: ${err.message}`));
      });
      child.on('exit', (code, signal) => {
        const tail = stderr.trim().split('\n').slice(-3).join(' | ');
        finish({ ok: false, reason: `the evaluation process exited (${signal ?? `code ${code}`}) without a result${tail ? `: ${tail}` : ''}`, final: false });
        endAudit(none(run.abort === 'stop' ? 'the worker stopped before the audit finished'
          : `the audit process exited (${signal ?? `code ${code}`}) before the audit ended${tail ? `: ${tail}` : ''}`));
      });
      child.send(req);
    });
  }
}
