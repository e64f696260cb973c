/**
 * `sieve submit <challenge> <file> --server URL --token T` and `sieve status JOB`: a
 * submission sent to a challenge server (docs/server.md), its result waited for and printed
 * as `sieve evaluate` prints one (the participant-visible view the server sends).
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { SieveError, fsError } from '../util/errors.ts';
import { printJson, printWrapped } from '../util/output.ts';
import { progressBar } from '../util/progress.ts';

export interface Remote {
  server?: string;
  token?: string;
  json?: boolean;
}

export function remote(opts: Remote): { server: string; token: string } {
  const server = opts.server ?? process.env.SIEVE_SERVER;
  const token = opts.token ?? process.env.SIEVE_TOKEN;
  if (!server) throw new SieveError('no server: give --server URL or set SIEVE_SERVER', { where: '--server' });
  // `export SIEVE_TOKEN=$(sieve register NAME)` after a failed register sets it to nothing.
  if (!token && opts.token === undefined && process.env.SIEVE_TOKEN === '') {
    throw new SieveError('SIEVE_TOKEN is set but empty: did `sieve register` fail? (its error is above this one); give --token or set SIEVE_TOKEN to the token it printed', { where: 'SIEVE_TOKEN (environment)' });
  }
  if (!token) throw new SieveError('no API token: give --token or set SIEVE_TOKEN (sieve register NAME gives one)', { where: '--token' });
  return { server, token };
}

export const remoteOptions = (cmd: Command) => cmd
  .option('--server <url>', 'the challenge server (default: $SIEVE_SERVER)')
  .option('--token <token>', 'your API token (default: $SIEVE_TOKEN)')
  .option('--json', 'print JSON');

export function register(program: Command): void {
  remoteOptions(program
    .command('submit')
    .description('send a submission to a challenge server, wait for its result and print it like sieve evaluate')
    .argument('<challenge>', 'challenge name on the server')
    .argument('<file>', 'submission file (.csv, .txt, .json, .parquet, .arrow) or strategy (.sql; .ts, .mts, .mjs, .js), run on the server'))
    .option('--no-wait', 'print the job id once the server has stored the submission, without waiting')
    .option('--timeout <seconds>', 'how long to wait for the result', '3600')
    .addHelpText('after', `
Examples:
  sieve submit credit-fair ids.csv --server http://127.0.0.1:8080 --token sieve_par_…
  # a strategy: run in the server's sandbox on the pool and its hidden variants (docs/strategies.md)
  sieve submit fashion-select mine.sql --server http://127.0.0.1:8080 --token sieve_par_…
  SIEVE_SERVER=http://127.0.0.1:8080 SIEVE_TOKEN=… sieve submit credit-fair ids.csv --no-wait   # then: sieve status JOB`)
    .action(async (challenge: string, file: string, opts: Remote & { wait: boolean; timeout: string }) => {
      const r = remote(opts);
      const timeout = Number(opts.timeout);
      if (!(timeout > 0)) throw new SieveError(`--timeout must be a positive number of seconds, got "${opts.timeout}"`, { where: '--timeout' });
      const bytes = new Uint8Array(await readFile(file).catch((err) => { throw fsError(err, 'read the submission', file) ?? err; }));
      const client = await import('../server/client.ts');
      const progress = progressBar({ enabled: !opts.json });
      const accepted = await client.submitFile(r, challenge, { name: basename(file), bytes }, progress);
      if (!opts.wait) {
        if (opts.json) printJson(accepted);
        else {
          const what = accepted.kind === 'strategy' ? `a ${accepted.strategy} strategy` : `${accepted.rows} rows`;
          console.log(`submitted ${file} to ${challenge}: ${what}, sha256 ${accepted.sha256.slice(0, 12)}…`);
          console.log(`job ${accepted.job} (queued); see it with: sieve status ${accepted.job}`);
        }
        return;
      }
      // Without a terminal no progress line shows the job id: say it once, so a lost wait can be picked up.
      if (!opts.json && !process.stderr.isTTY) console.error(`job ${accepted.job} queued; waiting for its result (or later: sieve status ${accepted.job})`);
      const job = await client.waitForJob(r, accepted.job, { timeoutSeconds: timeout, report: client.jobWaitReporter({ enabled: !opts.json }) });
      if (job.state !== 'done') {
        throw new SieveError(`job ${job.id} ${job.state}${job.error ? `: ${job.error}` : ''}`, {
          where: challenge,
          examples: job.state === 'failed'
            ? [job.charged ? 'your strategy failed: this submission counts against your quota' : 'a job that failed through no fault of yours does not count against your submissions']
            : [],
          exitCode: 1,
        });
      }
      const detail = await client.submissionDetail(r, job.submission);
      if (opts.json) printJson({ submission: job.submission, job: job.id, record: detail.record });
      else {
        const { printRecord } = await import('./evaluate.ts');
        await printRecord(detail.record as Parameters<typeof printRecord>[0], { server: true });
        console.log(`server      ${r.server}: submission ${job.submission}, job ${job.id}`);
      }
    });

  remoteOptions(program
    .command('status')
    .description("a server job's state: queued, running, done, failed (with why) or cancelled")
    .argument('<job>', 'the job id sieve submit printed'))
    .action(async (jobId: string, opts: Remote) => {
      const r = remote(opts);
      const { jobStatus, submissionDetail } = await import('../server/client.ts');
      const s = await jobStatus(r, jobId);
      // A done job's result is printed here as `sieve submit` prints it: after --no-wait this is
      // the way to read it (submitting again would spend another submission).
      const detail = s.state === 'done' ? await submissionDetail(r, s.submission) : null;
      if (opts.json) return printJson(detail ? { ...s, record: detail.record } : s);
      for (const line of statusLines(s)) printWrapped(line, line.startsWith('  ') ? 4 : 0);
      if (s.error) printWrapped(`reason: ${s.error}`);
      // A failed job exits 1, as `sieve submit` does when it waits for one.
      if (s.state === 'failed') process.exitCode = 1;
      if (detail) {
        const { printRecord } = await import('./evaluate.ts');
        await printRecord(detail.record as Parameters<typeof printRecord>[0], { server: true });
        console.log(`server      ${r.server}: submission ${s.submission}, job ${s.id}`);
      }
    });
}

interface StatusView {
  id: string;
  challenge: string;
  state: string;
  attempts: number;
  max_attempts: number;
  attempt_log: { attempt: number; outcome: string; reason: string | null; worker?: string | null }[];
  /** A failed job's retry is not run before this (its back-off). */
  retry_at?: string | null;
  /** Running, but its worker's lease ran out: waiting for a worker to take it again. */
  lease_expired?: boolean;
}

/**
 * What `sieve status` prints about a job's attempts. The bound of max_attempts counts failing
 * attempts only (an evaluation error, the time limit): an expired lease, a stopped server or a
 * worker releasing its job is not one, so "attempt 2 of at most 3" would mislead. Every earlier
 * attempt is listed with its outcome and worker.
 */
export function statusLines(s: StatusView): string[] {
  const log = s.attempt_log ?? [];
  // The last attempt is the job's own (running, done, or the one that failed it for good), not one "before it".
  const current = (s.state === 'running' || s.state === 'done' || s.state === 'failed') && log.length ? log[log.length - 1] : null;
  const earlier = current ? log.slice(0, -1) : log;
  const tally = new Map<string, number>();
  for (const a of earlier) tally.set(a.outcome, (tally.get(a.outcome) ?? 0) + 1);
  const before = [...tally].map(([o, n]) => `${n} ${o}`).join(', ');
  const at = current ? `, attempt ${current.attempt}` : '';
  const retry = s.state === 'queued' && s.retry_at ? `, retried at ${s.retry_at} at the earliest (back-off after a failed attempt)`
    : s.state === 'running' && s.lease_expired ? ": its worker's lease ran out (the worker stopped answering); waiting for a worker to take it again" : '';
  const out = [`job ${s.id} (${s.challenge}): ${s.state}${at}${before ? ` (before it: ${before})` : ''}${retry}`];
  if (earlier.length || s.state === 'failed') {
    for (const a of log) out.push(`  #${a.attempt} ${a.outcome}${a.worker ? ` on ${a.worker}` : ''}${a.reason && a.outcome !== 'done' ? `: ${a.reason}` : ''}`);
  }
  const failing = log.filter((a) => a.outcome === 'failed').length;
  const notCounted = earlier.filter((a) => a.outcome !== 'failed').length;
  if (s.state !== 'done' && s.state !== 'cancelled' || failing || notCounted) {
    // A failed job is final: "of at most N" would suggest a retry is coming.
    const bound = s.state === 'failed' ? ' (final: the job is not retried)' : ` of at most ${s.max_attempts}`;
    out.push(`failing attempts: ${failing}${bound}${notCounted ? ` (${notCounted} expired, interrupted or released: not counted)` : ''}`);
  }
  return out;
}
