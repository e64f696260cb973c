/**
 * The evaluation queue: N workers, each a loop that claims the oldest queued job from the store
 * (atomically), evaluates it in a child process of its own (src/server/job-child.ts) under a
 * wall-clock limit, and ends the attempt: the result written and the job marked done in one
 * transaction (idempotent on job and attempt), or the attempt failed, the job queued again
 * while attempts remain, else failed with the reason. Failed and cancelled jobs do not count
 * against a participant's quota (the store counts queued, running and done jobs only).
 *
 * Crash safety comes from the order of things: a job exists in the store before the client is
 * told its id; the child never writes anything; the parent writes the result only after the
 * child sent the whole record; at start-up every job still marked running was interrupted and
 * goes back to the queue (recoverInterrupted), so a server SIGKILLed at any moment loses no
 * submission, writes no partial result, and scores none twice.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ResultRecord } from '../evaluate/record.ts';
import type { JobReply, JobRequest } from './job-child.ts';
import type { ClaimedJob, ServerStore } from './store/types.ts';

export interface QueueOptions {
  workers: number;
  /** Wall-clock limit of one attempt, in seconds. */
  jobTimeoutSeconds: number;
  /** How often an idle worker looks for work besides being woken by a submission (ms). */
  pollMs?: number;
  /** One line per job event (the server prints them). */
  log?: (event: Record<string, unknown>) => void;
  /** Called after a result is written (the server warms that challenge's leaderboard comparisons). */
  onResult?: (challenge: string) => void;
}

/** Attempts a job gets before it is marked failed. */
export const MAX_ATTEMPTS = 3;

/** The child's module: job-child.js beside the compiled server, job-child.ts beside the sources (run through tsx). */
function childModule(): { path: string; execArgv: string[] } {
  const self = fileURLToPath(import.meta.url);
  const ts = self.endsWith('.ts');
  return { path: self.replace(/queue\.(ts|js)$/, ts ? 'job-child.ts' : 'job-child.js'), execArgv: ts ? ['--import', 'tsx'] : [] };
}

export class EvaluationQueue {
  private stopping = false;
  private wake: (() => void)[] = [];
  private loops: Promise<void>[] = [];
  private children = new Set<ChildProcess>();

  constructor(private readonly store: ServerStore, private readonly opts: QueueOptions) {}

  /** Starts the workers (after recoverInterrupted: nothing is running when the server starts). */
  start(): void {
    for (let w = 0; w < this.opts.workers; w++) this.loops.push(this.loop(w));
  }

  /** Wakes an idle worker: a job was queued. */
  notify(): void {
    const w = this.wake.shift();
    w?.();
  }

  /** Stops claiming, kills running children (their jobs are re-run on the next start) and waits for the loops. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const w of this.wake.splice(0)) w();
    for (const c of this.children) c.kill('SIGKILL');
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

  private async loop(worker: number): Promise<void> {
    while (!this.stopping) {
      let claimed: ClaimedJob | null = null;
      try {
        claimed = await this.store.claimJob(Date.now());
      } catch (err) {
        this.opts.log?.({ event: 'claim-error', worker, error: (err as Error).message });
      }
      if (!claimed) {
        await this.idle();
        continue;
      }
      await this.runJob(worker, claimed);
    }
  }

  private async runJob(worker: number, claimed: ClaimedJob): Promise<void> {
    const { job, attempt, submission } = claimed;
    const log = (event: string, extra: Record<string, unknown> = {}) =>
      this.opts.log?.({ event, job: job.id, submission: submission.id, challenge: job.challenge, attempt, worker, ...extra });
    log('started');
    const t0 = performance.now();
    const reply = await this.evaluate(claimed);
    if (this.stopping && !reply.ok && !reply.final) return; // killed by stop(): the job is re-run on the next start
    const now = Date.now();
    if (reply.ok) {
      const record = reply.record as ResultRecord;
      const ok = await this.store.completeJob(job.id, attempt, {
        submission: submission.id,
        primaryPublic: record.primary?.mean ?? null,
        record: JSON.stringify(record),
        createdAt: now,
      }, now);
      log(ok ? 'done' : 'stale-result', { seconds: Number(((performance.now() - t0) / 1000).toFixed(3)) });
      if (ok) this.opts.onResult?.(job.challenge);
    } else {
      const outcome = await this.store.failAttempt(job.id, attempt, reply.reason, !reply.final, now);
      log(outcome === 'queued' ? 'retry' : outcome === 'failed' ? 'failed' : 'stale-failure', { reason: reply.reason });
      if (outcome === 'queued') this.notify();
    }
  }

  private evaluate(claimed: ClaimedJob): Promise<JobReply> {
    const { path, execArgv } = childModule();
    const limit = this.opts.jobTimeoutSeconds;
    return new Promise<JobReply>((resolve) => {
      let settled = false;
      let stderr = '';
      const child = fork(path, [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      this.children.add(child);
      const finish = (r: JobReply) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.children.delete(child);
        if (child.exitCode === null) child.kill('SIGKILL');
        resolve(r);
      };
      const timer = setTimeout(() => finish({ ok: false, reason: `the evaluation ran longer than the time limit of ${limit} s`, final: false }), limit * 1000);
      child.stderr?.on('data', (d: Buffer) => { if (stderr.length < 4000) stderr += d.toString('utf8'); });
      child.on('message', (m: JobReply) => finish(m));
      child.on('error', (err) => finish({ ok: false, reason: `the evaluation process failed: ${err.message}`, final: false }));
      child.on('exit', (code, signal) => {
        const tail = stderr.trim().split('\n').slice(-3).join(' | ');
        finish({ ok: false, reason: `the evaluation process exited (${signal ?? `code ${code}`}) without a result${tail ? `: ${tail}` : ''}`, final: false });
      });
      const req: JobRequest = { challengeRef: claimed.challengeRef, fileName: claimed.submission.fileName, bytes: claimed.submission.bytes };
      child.send(req);
    });
  }
}
