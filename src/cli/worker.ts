/**
 * `sieve worker`: evaluates the server's queued submissions on this machine (docs/deploy.md).
 * SIGTERM or SIGINT: stop claiming, let the running jobs finish for up to --grace seconds, then
 * release what is left to the queue and exit 0; a second signal exits at once (the leases of
 * what was running then expire and other workers take those jobs). Safe to SIGKILL likewise.
 */
import type { Command } from 'commander';
import { SieveError } from '../util/errors.ts';

interface WorkerCliOptions {
  db?: string;
  concurrency: string;
  server?: string;
  pools?: string;
  cache?: string;
  cacheMaxMb: string;
  jobTimeout: string;
  lease: string;
  grace: string;
  name?: string;
  json?: boolean;
}

function intIn(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new SieveError(`${flag} must be an integer from ${min} to ${max}, got "${value}"`, { where: flag });
  return n;
}

export function register(program: Command): void {
  program
    .command('worker')
    .description('evaluate the server\'s queued submissions on this machine, from its PostgreSQL database (docs/deploy.md)')
    .option('--db <url>', 'the server\'s database: postgres://USER:PASSWORD@HOST:5432/DATABASE (default: $SIEVE_DB)')
    .option('--concurrency <n>', 'jobs evaluated at once (one process each)', '1')
    .option('--server <url>', 'the server\'s address, to fetch challenges and pools by content hash (omit when this machine has the server\'s challenge folders at the same paths)')
    .option('--pools <dir>', 'a shared folder of pool folders (NAME/pool.json …) tried before the server; every file is checked against the manifest')
    .option('--cache <dir>', 'where fetched pools are kept (default: worker/ in sieve\'s cache folder)')
    .option('--cache-max-mb <n>', 'size limit of the cache; least recently used pools are removed beyond it', '20480')
    .option('--job-timeout <seconds>', 'wall-clock limit of one evaluation attempt', '600')
    .option('--lease <seconds>', 'lease of a claimed job: without a heartbeat for this long, it is handed to another worker', '30')
    .option('--grace <seconds>', 'on SIGTERM, how long running jobs may take to finish before they are released', '30')
    .option('--name <name>', 'this worker\'s name in the database and the logs (default: host/pid)')
    .option('--json', 'log job events as JSON lines')
    .addHelpText('after', `
Examples:
  sieve worker --db postgres://sieve:secret@db.example:5432/sieve --server http://sieve.example:8080 --concurrency 4
  sieve worker --db "$SIEVE_DB" --server http://10.0.0.5:8080 --pools /mnt/sieve/pools --cache /var/cache/sieve`)
    .action(async (opts: WorkerCliOptions) => {
      const db = opts.db ?? process.env.SIEVE_DB;
      if (!db) throw new SieveError('no database given', { where: '--db', examples: ['sieve worker --db postgres://USER:PASSWORD@HOST:5432/DATABASE', 'or set SIEVE_DB'] });
      const { startWorker } = await import('../server/worker.ts');
      const json = opts.json === true;
      const log = (e: Record<string, unknown>) =>
        console.log(json ? JSON.stringify({ time: new Date().toISOString(), ...e }) : `${new Date().toISOString()} ${Object.entries(e).map(([k, v]) => `${k}=${v}`).join(' ')}`);
      const graceMs = intIn(opts.grace, '--grace', 0, 86_400) * 1000;
      const worker = await startWorker({
        db,
        concurrency: intIn(opts.concurrency, '--concurrency', 1, 256),
        server: opts.server,
        pools: opts.pools,
        cache: opts.cache,
        cacheMaxBytes: intIn(opts.cacheMaxMb, '--cache-max-mb', 1, 100_000_000) * 1024 * 1024,
        jobTimeoutSeconds: intIn(opts.jobTimeout, '--job-timeout', 1, 86_400),
        leaseMs: intIn(opts.lease, '--lease', 1, 3600) * 1000,
        name: opts.name,
        log,
      });
      // Replaces the CLI's exit-at-once handlers: a stopping worker first finishes or releases its jobs.
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        process.removeAllListeners(signal);
        process.once(signal, () => {
          log({ event: 'stopping', worker: worker.name, signal, running: worker.queue.busy, grace_seconds: graceMs / 1000 });
          process.once(signal, () => process.exit(128 + (signal === 'SIGTERM' ? 15 : 2)));
          void worker.stop(graceMs).then(() => {
            log({ event: 'stopped', worker: worker.name });
            process.exit(0);
          });
        });
      }
      log({ event: 'worker-started', worker: worker.name, db: worker.location, concurrency: Number(opts.concurrency), files: opts.server ? `${opts.pools ? `${opts.pools}, then ` : ''}${opts.server}` : 'the server\'s challenge folders on this machine', cache: worker.cache });
      await new Promise<never>(() => {});
    });
}
