/**
 * What `sieve serve` and `sieve worker` share, in one place: both run evaluation slots of the
 * same queue (src/server/queue.ts), so they take the same slot options (--job-timeout, --lease,
 * --grace, --json), parse them alike, print the same log lines (one JSON object a line with
 * --json, `time key=value …` without) and stop alike on SIGTERM/SIGINT: stop claiming, let
 * running jobs finish for up to --grace seconds, release the rest to the queue, exit 0 (a second
 * signal exits at once; the leases of what was running then expire and other workers take it).
 * Import-free (the `--help` path): services are loaded by the commands' actions.
 */
import { chmodSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { SieveError } from '../util/errors.ts';

export interface QueueCliOptions {
  jobTimeout: string;
  lease: string;
  grace: string;
  json?: boolean;
}

export interface QueueSettings {
  jobTimeoutSeconds: number;
  leaseMs: number;
  graceMs: number;
  json: boolean;
}

export function intIn(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new SieveError(`${flag} must be an integer from ${min} to ${max}, got "${value}"`, { where: flag });
  return n;
}

/**
 * Adds the slot options to `cmd`: `json` says what --json does for this command, `grace` is its
 * default --grace (a worker's systemd stop waits for running jobs; a server stopped by Ctrl-C
 * releases them at once, for the next start or a worker to run).
 */
export function queueOptions(cmd: Command, o: { json: string; grace: string }): Command {
  return cmd
    .option('--job-timeout <seconds>', 'wall-clock limit of one evaluation attempt', '600')
    .option('--lease <seconds>', 'lease of a claimed job: without a heartbeat for this long (by the database\'s clock), it is handed to another worker', '30')
    .option('--grace <seconds>', 'on SIGTERM, how long running jobs may take to finish before they are released to the queue', o.grace)
    .option('--json', o.json);
}

export function queueSettings(o: QueueCliOptions): QueueSettings {
  return {
    jobTimeoutSeconds: intIn(o.jobTimeout, '--job-timeout', 1, 86_400),
    leaseMs: intIn(o.lease, '--lease', 1, 3600) * 1000,
    graceMs: intIn(o.grace, '--grace', 0, 86_400) * 1000,
    json: o.json === true,
  };
}

/**
 * A server's and a worker's files are its own: the database (every record with its private
 * scores and per-row replays, whose test labels they hold), the variant pools, the caches. The
 * default umask left them readable by every local user (an adversary's tryout copied a served
 * DuckDB file as `nobody` and read the private scores of an open challenge). New files get
 * 0600 / 0700, and a DuckDB database file given by path (and its WAL) is made 0600 if it is not.
 */
export function ownFilesOnly(db?: string): void {
  process.umask(0o077);
  if (!db || /^postgres(ql)?:\/\//i.test(db)) return;
  for (const f of [db, `${db}.wal`]) {
    try {
      const st = statSync(f);
      if (st.isFile() && (st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) chmodSync(f, st.mode & 0o700);
    } catch {
      // absent: created under the umask above
    }
  }
}

export type EventLog = (event: Record<string, unknown>) => void;

/** One line per event on stdout: a JSON object with `time` first, or `time key=value …`. */
export function eventLog(json: boolean): EventLog {
  return (e) => console.log(json
    ? JSON.stringify({ time: new Date().toISOString(), ...e })
    : `${new Date().toISOString()} ${Object.entries(e).map(([k, v]) => `${k}=${typeof v === 'object' && v !== null ? JSON.stringify(v) : v}`).join(' ')}`);
}

/**
 * Replaces the CLI's exit-at-once handlers of SIGTERM and SIGINT (src/cli/main.ts): the first
 * signal logs `stopping`, runs `stop(graceMs)` (finish or release running jobs), logs `stopped`
 * and exits 0; a second one exits at once (128 + signal).
 */
export function stopOnSignal(log: EventLog, who: Record<string, unknown>, running: () => number, graceMs: number, stop: (graceMs: number) => Promise<void>): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.removeAllListeners(signal);
    process.once(signal, () => {
      log({ event: 'stopping', ...who, signal, running: running(), grace_seconds: graceMs / 1000 });
      process.once(signal, () => process.exit(128 + (signal === 'SIGTERM' ? 15 : 2)));
      void stop(graceMs).then(
        () => { log({ event: 'stopped', ...who }); process.exit(0); },
        (err: Error) => { log({ event: 'stopped', ...who, error: err.message }); process.exit(1); },
      );
    });
  }
}
