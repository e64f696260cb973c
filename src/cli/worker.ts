/**
 * `sieve worker`: evaluates the server's queued submissions on this machine (docs/deploy.md).
 * SIGTERM or SIGINT: stop claiming, let the running jobs finish for up to --grace seconds, then
 * release what is left to the queue, revoke this worker's token and exit 0; a second signal
 * exits at once (the leases of what was running then expire and other workers take those
 * jobs; the token expires on its own). Safe to SIGKILL likewise.
 */
import type { Command } from 'commander';
import { SieveError } from '../util/errors.ts';
import { eventLog, intIn, ownFilesOnly, queueOptions, queueSettings, stopOnSignal, type QueueCliOptions } from './queue-options.ts';

interface WorkerCliOptions extends QueueCliOptions {
  db?: string;
  concurrency: string;
  server?: string;
  pools?: string;
  cache?: string;
  cacheMaxMb: string;
  name?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('worker')
    .description('evaluate the server\'s queued submissions on this machine, from its PostgreSQL database (docs/deploy.md)')
    .option('--db <url>', 'the server\'s database: postgres://USER:PASSWORD@HOST:5432/DATABASE (default: $SIEVE_DB)')
    .option('--concurrency <n>', 'jobs evaluated at once (one process each)', '1')
    .option('--server <url>', 'the server\'s address, to fetch challenges and pools by content hash (omit when this machine has the server\'s challenge folders at the same paths)')
    .option('--pools <dir>', 'a shared folder of pool folders (NAME/pool.json …) tried before the server; every file is checked against the manifest')
    .option('--cache <dir>', 'this worker\'s cache folder: fetched pools, hidden variant pools, evaluation caches (default: worker/ in sieve\'s cache folder)')
    .option('--cache-max-mb <n>', 'size limit of the cache folder; least recently used entries are removed beyond it', '20480')
    .option('--name <name>', 'this worker\'s name in the database and the logs (default: host/pid)');
  queueOptions(cmd, { json: 'log job events as JSON lines', grace: '30' })
    .addHelpText('after', `
Examples:
  sieve worker --db postgres://sieve:secret@db.example:5432/sieve --server http://sieve.example:8080 --concurrency 4
  sieve worker --db "$SIEVE_DB" --server http://10.0.0.5:8080 --pools /mnt/sieve/pools --cache /var/cache/sieve`)
    .action(async (opts: WorkerCliOptions) => {
      const db = opts.db ?? process.env.SIEVE_DB;
      ownFilesOnly(db);
      if (!db) throw new SieveError('no database given', { where: '--db', examples: ['sieve worker --db postgres://USER:PASSWORD@HOST:5432/DATABASE', 'or set SIEVE_DB'] });
      const { startWorker } = await import('../server/worker.ts');
      const q = queueSettings(opts);
      const log = eventLog(q.json);
      const worker = await startWorker({
        db,
        concurrency: intIn(opts.concurrency, '--concurrency', 1, 256),
        server: opts.server,
        pools: opts.pools,
        cache: opts.cache,
        cacheMaxBytes: intIn(opts.cacheMaxMb, '--cache-max-mb', 1, 100_000_000) * 1024 * 1024,
        jobTimeoutSeconds: q.jobTimeoutSeconds,
        leaseMs: q.leaseMs,
        name: opts.name,
        log,
      });
      stopOnSignal(log, { worker: worker.name }, () => worker.queue.busy, q.graceMs, (g) => worker.stop(g));
      log({ event: 'worker-started', worker: worker.name, db: worker.location, concurrency: Number(opts.concurrency), files: opts.server ? `${opts.pools ? `${opts.pools}, then ` : ''}${opts.server}` : 'the server\'s challenge folders on this machine', cache: worker.cache });
      await new Promise<never>(() => {});
    });
}
